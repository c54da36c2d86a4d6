/* vgpudm.h - NVIDIA vgpu-device-manager's configuration file (format v1),
 * translated into a carve host configuration (hostcfg.h) for one host:
 *
 *   version: v1
 *   vgpu-configs:                       # named configurations, one selected
 *     mixed:                            # a list of specs, applied in order
 *       - devices: [0]                  # "all", or GPU indices
 *         device-filter: "0x20B510DE"   # optional: (device << 16) | vendor,
 *                                       #   or a list of them
 *         vgpu-devices: {"A100-1-5C": 7}   # type: count; {}: no vGPUs
 *
 * becomes, for the selected configuration:
 *
 *   # carve host configuration: vgpu-device-manager config 'mixed' of FILE
 *   # The counts are not applied: carve creates vGPUs per VM.
 *   version: 1
 *   gpus:
 *     - select: {pci: "0000:3b:00.0"}  # device 0, 0x20B510DE: vgpu-configs.mixed[0], line 4
 *       enabled-types: ["A100-1-5C"]   # vgpu-device-manager counts: A100-1-5C=7
 *
 * Which GPU a spec selects follows vgpu-device-manager's walk over the
 * host (cmd/nvidia-vgpu-dm/assert, WalkSelectedVGPUConfigForEachGPU):
 *   - gpus[i] is GPU index i: the host's NVIDIA GPUs (display class, no
 *     VFs) in PCI address order, as go-nvlib's nvpci GetGPUs() lists them;
 *     the caller supplies them in that order;
 *   - a spec selects GPU i when its device-filter (if any) names the GPU's
 *     device and vendor, and devices is "all" or lists i;
 *   - an index the host does not have selects nothing and is no error:
 *     vgpu-device-manager skips it, so that one file serves hosts with
 *     fewer GPUs;
 *   - when several specs select a GPU, the last one wins, whole: the specs
 *     are applied in order and each replaces the GPU's vGPUs (its
 *     SetVGPUConfig clears the GPU first), so nothing is merged;
 *   - a GPU no spec selects gets no entry and stays as it is;
 *   - vgpu-devices {} gives enabled-types [] (vgpu-device-manager deletes
 *     the GPU's vGPUs; carve enables no type, and refuses the plan while a
 *     vGPU of a type to disable exists).
 * Types are written as given ("T4-1Q"): host-apply resolves such a name as
 * the model name after the product prefix.  The counts are checked (1 to
 * CARVE_VGPUDM_MAX_COUNT) and kept in a comment but not applied: carve
 * creates vGPUs per VM, it does not pre-create a count.  Neither SR-IOV VF
 * counts nor MIG geometry are derived: vgpu-device-manager leaves VFs to
 * the host's sriov-manage and MIG instances to mig-parted.
 *
 * The whole file is checked, not only the selected configuration, as
 * vgpu-device-manager does: version "v1" (required); no unknown keys;
 * vgpu-configs a non-empty mapping of names (no control characters) to
 * non-empty lists of specs; each spec with devices and vgpu-devices;
 * devices "all" or a list of indices 0 to INT32_MAX (plain numbers);
 * device-filter a string or a non-empty list of strings, each a 32-bit
 * number with a 0x, 0o, 0b, 0 (octal) prefix or none (decimal), no
 * subsystem part ("DEV:SUB" needs subsystem ids carve does not pass);
 * type names as carve_vgpudm_type_kind() describes, not time-sliced and
 * MIG-backed types in one spec; counts plain decimal numbers.  Stricter
 * than vgpu-device-manager, which ignores a filter it cannot parse, takes
 * an empty string or list as no filter, and reads null as empty.  Plus
 * the util/yamldoc.h rules (no aliases, no key twice, one document).
 *
 * selector names the configuration; NULL or "" takes the file's only one
 * (vgpu-device-manager without --selected-config); otherwise the error
 * lists the names the file has.
 *
 * Returns 0 and *out, a malloc'd NUL-terminated carve host configuration
 * (version 1) that carve_hostcfg_parse() accepts, with "gpus: []" when no
 * spec selects a GPU; the caller frees it.  On error *out is NULL and err
 * is HOST_CONFIG_INVALID "<origin>:<line>: <key path>: <what>" with -EINVAL,
 * or -E2BIG for a limit, the translation's among them (more entries than
 * CARVE_HOSTCFG_MAX_ENTRIES, more text than CARVE_HOSTCFG_MAX_BYTES), or
 * OUT_OF_MEMORY with -ENOMEM; a gpus list that is not valid (NULL with
 * n_gpus > 0, a PCI address that does not parse) is INTERNAL_ERROR,
 * -EINVAL.  origin (NULL: a placeholder) and selector are borrowed; they
 * appear in comments and messages with non-printable bytes as '?'. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* NVIDIA's own example file (every type of every board) has over 700
 * configurations in 68 KB and grows with each vGPU release: the limits
 * leave room for it, bounded all the same. */
#define CARVE_VGPUDM_MAX_BYTES (1024 * 1024)
#define CARVE_VGPUDM_MAX_CONFIGS 4096
#define CARVE_VGPUDM_MAX_SPECS 256     /* per configuration */
#define CARVE_VGPUDM_MAX_INDICES 256   /* per devices list */
#define CARVE_VGPUDM_MAX_FILTERS 64    /* per device-filter list */
#define CARVE_VGPUDM_MAX_TYPES 128     /* per vgpu-devices: CARVE_HOSTCFG_MAX_TYPES */
#define CARVE_VGPUDM_MAX_COUNT 4096    /* per type */
#define CARVE_VGPUDM_MAX_NAME 128      /* configuration name, bytes */
#define CARVE_VGPUDM_MAX_TYPE_NAME 64  /* type name, bytes */

struct carve_vgpudm_gpu {
	char pci[13];            /* "0000:41:00.0"; other spellings carve_pci_normalize() takes */
	uint16_t vendor, device; /* PCI ids */
};

int carve_vgpudm_translate(const char *text, size_t len, const char *origin, const char *selector,
			   const struct carve_vgpudm_gpu *gpus, size_t n_gpus, char **out, struct carve_error *err);

enum carve_vgpudm_kind {
	CARVE_VGPUDM_TIME_SLICED = 1,
	CARVE_VGPUDM_MIG_BACKED = 2,
};

/* The kind of a vGPU type name in vgpu-device-manager's grammar
 * (pkg/types/vgpu_type.go), or -EINVAL:
 *   time-sliced  <GPU>(-<letters>)*-<GB><S>      "T4-1Q", "A100D-80C"
 *   MIG-backed   <GPU>-<G>-<GB><S>[<attr>]       "A100-1-5C", "A100-1-5CME"
 * GPU [A-Z0-9]+, G 1-9, GB 0 or a number without leading zero (at most 6
 * digits), S one of A B C Q, attr one of ME NOME MEALL GFX; at most
 * CARVE_VGPUDM_MAX_TYPE_NAME bytes. */
int carve_vgpudm_type_kind(const char *name);

/* A device-filter value: (device << 16) | vendor as a 32-bit number, in
 * Go's base-0 spelling without underscores: "0x1EB810DE", "0o...",
 * "0b...", "0..." (octal), decimal.  -EINVAL, or -ERANGE over 32 bits. */
int carve_vgpudm_parse_device_id(const char *s, uint32_t *out);
