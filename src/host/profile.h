/* profile.h - host profiles: a YAML description of a host's GPUs, from which
 * the simulated host (sim.c) and the fixture generator (carve-mkfixture)
 * build the same hardware.
 *
 *   name: p40x2
 *   description: two Tesla P40
 *   fail_create_after: 3          # optional, sim fault injection (see sim.h)
 *   gpus:
 *     - board: Tesla P40          # catalog board, full or short name
 *       pci: "0000:82:00.0"       # multi-GPU boards: GPU i sits on bus + i
 *       numa_node: 1              # default 0
 *       iommu_group: 40           # default: allocated in profile order
 *       types: [nvidia-46]        # mdev/GVT-g only: subset the driver publishes
 *       mechanism: nvidia-sriov   # override the board's default mechanism
 *       driver: vfio-pci          # override the bound driver (vfio-pci: passthrough only)
 *       vfs: 16                   # SR-IOV: sriov_totalvfs; numvfs: enabled at boot (default vfs;
 *                                 #   0: none, as after a reboot - creating a vGPU enables them)
 *       mixed_size: false         # NVIDIA: mixed-size (heterogeneous) mode; default off
 *       system_display: true      # boot_vga=1: the console, never handed out (first GPU of a board)
 *       subsystem: "10de:11d9"    # subsystem vendor:device (default vendor:device)
 *       class: "0x030200"         # PCI class (default: 3D controller for NVIDIA, VGA otherwise)
 *       vgpus:                    # vGPUs that exist at boot
 *         - {uuid: 070bcb42-18fc-4971-9aa9-67f5ee1281c3, type: nvidia-46, params: "frame_rate_limiter=0", gpu: 0}
 *       # What NVML says and sysfs does not (single-GPU boards, NVIDIA):
 *       nvlink: {"0000:07:00.0": 1, "0000:0b:00.0": 2}   # peer -> links (both ends list each other)
 *       ecc: {mode: true, pending: true, volatile_corrected: 0, volatile_uncorrected: 0,
 *             aggregate_corrected: 12, aggregate_uncorrected: 1, retired_sbe: 2, retired_dbe: 1,
 *             retired_pending: false, remap_pending: false, remap_failure: false}
 *   driver_version: "440.33.01"   # NVIDIA's driver (nvmlSystemGetDriverVersion)
 *
 * Two stages, kept apart so that a fuzz target can drive the first alone:
 * carve_profile_parse() checks YAML syntax, the schema (unknown or repeated
 * keys, wrong node kinds, no aliases), value formats (PCI address, UUID, type
 * identifiers, numbers) and resource limits; carve_profile_validate() checks
 * the profile against the catalog (boards, types, mechanisms, VF counts; with
 * numvfs 0 neither a type subset nor boot vGPUs, which need VFs).
 * Capacity (whether the boot vGPUs fit) is the sim's business.  Every error
 * names the file, the line and the key ("p.yaml:7: gpus[0].board: ...") and
 * returns -EINVAL (-E2BIG for limits, -ENOMEM, or the errno of reading).
 *
 * A struct carve_profile owns all its memory; carve_profile_free() accepts
 * NULL.  Profiles are immutable after loading and may be shared between
 * threads for reading.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/str.h"

#define CARVE_PROFILE_MAX_BYTES (1024 * 1024)
#define CARVE_PROFILE_MAX_GPUS 1024      /* entries; a multi-GPU board counts once */
#define CARVE_PROFILE_MAX_VGPUS 4096     /* boot vGPUs over the whole profile */
#define CARVE_PROFILE_MAX_VGPUS_PER_GPU 64
#define CARVE_PROFILE_MAX_TYPES 256      /* per GPU entry */
#define CARVE_PROFILE_MAX_VFS 256

/* Which keys of a GPU entry were given, and on which line (0 when absent). */
enum carve_profile_gpu_key {
	CARVE_PGK_BOARD,
	CARVE_PGK_PCI,
	CARVE_PGK_NUMA_NODE,
	CARVE_PGK_IOMMU_GROUP,
	CARVE_PGK_TYPES,
	CARVE_PGK_MECHANISM,
	CARVE_PGK_DRIVER,
	CARVE_PGK_VFS,
	CARVE_PGK_NUMVFS,
	CARVE_PGK_MIXED_SIZE,
	CARVE_PGK_SYSTEM_DISPLAY,
	CARVE_PGK_SUBSYSTEM,
	CARVE_PGK_CLASS,
	CARVE_PGK_VGPUS,
	CARVE_PGK_NVLINK,
	CARVE_PGK_ECC,
	CARVE_PGK__MAX,
};

struct carve_profile_vgpu {
	char uuid[37];       /* lower case; "" when not given (VF-backed types) */
	char type_id[65];
	char params[256];    /* "" when none */
	uint32_t gpu;        /* GPU index within a multi-GPU board */
	int line, line_type, line_uuid;
};

#define CARVE_PROFILE_MAX_NVLINK 16   /* peers per GPU */

struct carve_profile_nvlink {
	char peer[13];
	uint32_t links;
	int line;
};

/* ECC facts, NVML's counters (nvmlDeviceGetTotalEccErrors, ...). */
struct carve_profile_ecc {
	bool mode, pending, pending_given; /* pending: the mode after the next reset (default: mode) */
	uint64_t volatile_corrected, volatile_uncorrected, aggregate_corrected, aggregate_uncorrected;
	uint32_t retired_sbe, retired_dbe;
	bool retired_pending, remap_pending, remap_failure;
};

struct carve_profile_gpu {
	char board[64];
	char pci[13];                  /* canonical form */
	int32_t numa_node;             /* default 0 */
	int32_t iommu_group;           /* -1: derive */
	struct carve_strv types;       /* empty: all the catalog's types */
	int mechanism;                 /* enum carve_impl, or -1 for the board's default */
	char driver[32];               /* "" for the mechanism's default */
	uint32_t vfs, numvfs;          /* valid when the keys were given */
	int mixed_size;                /* -1 default, 0, 1 */
	bool system_display;
	uint16_t subsys_vendor, subsys_device;
	uint32_t class_code;
	struct carve_profile_vgpu *vgpus;
	size_t n_vgpus;
	struct carve_profile_nvlink nvlink[CARVE_PROFILE_MAX_NVLINK];
	size_t n_nvlink;
	struct carve_profile_ecc ecc;  /* valid when key_line[CARVE_PGK_ECC] */
	int line;                      /* line of the entry */
	int key_line[CARVE_PGK__MAX];  /* 0 = key absent */
};

struct carve_profile {
	char *origin;                  /* file name used in messages */
	char name[64];
	char description[256];
	char driver_version[32];       /* "" when not given */
	bool has_fail_create_after;
	uint32_t fail_create_after;
	int line_fail_create_after;
	struct carve_profile_gpu *gpus;
	size_t n_gpus;
};

/* Parse text (len bytes, need not be NUL-terminated). */
int carve_profile_parse(const char *text, size_t len, const char *origin, struct carve_profile **out,
			struct carve_error *err);
/* Check against the catalog. */
int carve_profile_validate(const struct carve_profile *p, struct carve_error *err);
/* Read path (at most CARVE_PROFILE_MAX_BYTES), parse and validate. */
int carve_profile_load(const char *path, struct carve_profile **out, struct carve_error *err);
void carve_profile_free(struct carve_profile *p);

/* A GPU entry with the catalog's defaults applied (valid after validation). */
struct carve_profile_resolved {
	const struct carve_board *board;
	int mechanism;                 /* enum carve_impl in effect */
	bool sriov;                    /* vGPUs live on VFs */
	uint32_t totalvfs, numvfs;     /* 0 unless sriov; default: the largest max_instance */
};
int carve_profile_gpu_resolve(const struct carve_profile_gpu *g, struct carve_profile_resolved *out);

struct carve_hw_gpu;
/* The NVML facts of entry e (NVLink peers, ECC) into g, as NVML would
 * report them: none when the entry gives none. */
void carve_hw_gpu_profile_facts(struct carve_hw_gpu *g, const struct carve_profile_gpu *e);

/* Report a problem at a line of the profile in the common format
 * "origin:line: key: message"; returns code. */
int carve_profile_error(const struct carve_profile *p, struct carve_error *err, int code, int line, const char *key,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));
