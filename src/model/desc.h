/* desc.h - parsers for the text vendor drivers publish in sysfs.
 *
 * - NVIDIA mdev `description`: "num_heads=4, frl_config=60, framebuffer=1024M,
 *   max_resolution=5120x2880, max_instance=24" - keys in any order, unknown
 *   keys ignored, known keys with malformed values rejected.
 * - Intel GVT-g `description`: lines "low_gm_size: 128MB", "high_gm_size: 384MB",
 *   "fence: 4", "resolution: 1920x1200", "weight: 4".
 * - NVIDIA SR-IOV `nvidia/creatable_vgpu_types`: a header line ("ID    : vGPU Name")
 *   then lines "1155  : NVIDIA L40S-1B"; an empty list is valid.
 *
 * `origin` names the file in error messages (e.g. the sysfs path).  Inputs
 * need not be NUL-terminated (len is authoritative) and may be hostile: the
 * parsers are fuzzed.  Return 0 or -EINVAL/-ERANGE/-ENOMEM with err set.
 * Trailing NUL bytes are ignored, any other NUL is an error; a known key given
 * twice is an error (not "last wins"); on error the result is zeroed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CARVE_DESC_HAS_HEADS (1u << 0)
#define CARVE_DESC_HAS_FRL (1u << 1)
#define CARVE_DESC_HAS_FB (1u << 2)
#define CARVE_DESC_HAS_RES (1u << 3)
#define CARVE_DESC_HAS_MAXINST (1u << 4)

struct carve_nv_desc {
	uint32_t num_heads, frl_config, max_instance;
	uint64_t framebuffer_mib; /* "1024M" -> 1024; "1G" -> 1024 */
	uint32_t max_res_x, max_res_y;
	unsigned have; /* CARVE_DESC_HAS_* bits for keys that were present */
};

struct carve_gvt_desc {
	uint64_t low_gm_mib, high_gm_mib;
	uint32_t fence, weight, res_x, res_y;
};

struct carve_sriov_entry {
	uint32_t id;
	char name[128];
};

int carve_nv_desc_parse(const char *text, size_t len, const char *origin, struct carve_nv_desc *out,
			struct carve_error *err);
int carve_gvt_desc_parse(const char *text, size_t len, const char *origin, struct carve_gvt_desc *out,
			 struct carve_error *err);
/* *out is malloc'ed (free() it), *n entries; at most 1024 entries accepted.
 * An empty list gives *out == NULL, *n == 0.  Entry ids are non-zero and
 * unique, names trimmed, printable ASCII, at most 127 bytes. */
int carve_sriov_creatable_parse(const char *text, size_t len, const char *origin, struct carve_sriov_entry **out,
				size_t *n, struct carve_error *err);
