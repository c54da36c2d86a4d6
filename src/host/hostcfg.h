/* hostcfg.h - a host configuration: the desired state of a host's GPUs,
 * which `carve host-apply` brings about and the store keeps per host
 * (docs/host-config.md has the format and examples):
 *
 *   version: 1
 *   gpus:
 *     - select: all                 # or {pci: "0000:41:00.0"},
 *                                   #    {board: "NVIDIA L40S"},
 *                                   #    {device-id: "10de:26b9"}
 *       sriov-vfs: 16               # SR-IOV GPUs: the VF count
 *       mixed-size: true            # NVIDIA: mixed-size (heterogeneous) mode
 *       scheduler: {policy: equal-share, time-slice-ms: 3}   # NVIDIA (RmPVMRL)
 *       vgpu-params: {frame_rate_limiter: 0}   # NVIDIA: defaults for new vGPUs
 *       mig: [3g.20gb, 2g.10gb, 1g.5gb]         # NVIDIA: MIG on, these GPU instances ([]: off)
 *       enabled-types: ["NVIDIA L40S-24Q", "1155"]   # model names or type ids
 *
 * Entries apply in order; for each setting a GPU takes it from the last
 * entry that selects it and sets it.  Parsing checks syntax and schema
 * (util/yamldoc.h rules, unknown keys, formats, limits); what the settings
 * mean for the host's GPUs is the plan's business (ops/hostapply.c).
 * Errors: HOST_CONFIG_INVALID naming the origin, line and key; -EINVAL,
 * -E2BIG (limits), -ENOMEM.  A struct carve_hostcfg owns its memory;
 * carve_hostcfg_clear() frees it (and accepts a zeroed one). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvsched.h"
#include "util/error.h"
#include "util/str.h"

#define CARVE_HOSTCFG_MAX_BYTES (64 * 1024)
#define CARVE_HOSTCFG_MAX_ENTRIES 256
#define CARVE_HOSTCFG_MAX_TYPES 128
#define CARVE_HOSTCFG_MAX_MIG 8 /* GPU instances per GPU */

enum carve_hostcfg_select {
	CARVE_HOSTCFG_ALL,
	CARVE_HOSTCFG_PCI,
	CARVE_HOSTCFG_BOARD,
	CARVE_HOSTCFG_DEVICE_ID,
};

struct carve_hostcfg_entry {
	enum carve_hostcfg_select select;
	char pci[13];              /* CARVE_HOSTCFG_PCI, normalized */
	char board[96];            /* CARVE_HOSTCFG_BOARD: full or short catalog name */
	uint16_t vendor, device;   /* CARVE_HOSTCFG_DEVICE_ID */
	bool has_vfs;
	uint32_t sriov_vfs;
	bool has_types;
	struct carve_strv types;   /* model names or type identifiers, as written */
	bool has_mixed, mixed;     /* NVIDIA mixed-size (heterogeneous) mode */
	bool has_sched;
	struct carve_nvsched sched; /* NVIDIA vGPU scheduler (at the next driver load) */
	bool has_params;
	char params[256];          /* NVIDIA default vgpu_params, "k=v,k=v" (host.h syntax) */
	bool has_mig;
	struct carve_strv mig;     /* MIG GPU instance profiles; empty: MIG mode off */
	int line;
};

struct carve_hostcfg {
	struct carve_hostcfg_entry *v;
	size_t n;
};

int carve_hostcfg_parse(const char *text, size_t len, const char *origin, struct carve_hostcfg *out,
			struct carve_error *err);
void carve_hostcfg_clear(struct carve_hostcfg *c);
/* Does entry e select the GPU at pci, of board (catalog full or short name,
 * may be NULL) and PCI vendor:device? */
bool carve_hostcfg_selects(const struct carve_hostcfg_entry *e, const char *pci, const char *board,
			   const char *board_short, uint16_t vendor, uint16_t device);
