/* catalog.h - what carve knows about boards and vGPU types without asking
 * the hardware: compiled in from data/ (gpu-boards.csv, nvidia-vgpu-types.csv,
 * nvidia-sriov-types.csv, amd-mxgpu-types.csv, intel-gvt-types.csv) by
 * scripts/csv2c.py at build time; data/README.md says where each row comes from.  Read-only static data; every function is thread-safe.
 *
 * Needed because hardware does not always tell: NVIDIA's SR-IOV vendor-VFIO
 * model only lists types creatable *now* (the list shrinks as capacity is
 * used), so the supported set comes from here; AMD MxGPU VFs carry no type
 * names; multi-GPU boards are recognised by PCI ids.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "impl.h"

struct carve_board {
	const char *name;          /* "Tesla P40", "GRID K1", "NVIDIA L40S", "AMD FirePro S7150" */
	const char *short_name;    /* key into the type table: "P40", "K1", "L40S", "S7150" */
	uint16_t vendor_id, device_id, vf_device_id; /* vf_device_id 0 when none */
	uint8_t gpus_per_board;
	uint32_t fb_mib_per_gpu;   /* 0 when unknown / not applicable */
	const char *architecture;  /* "Pascal GP102" */
	enum carve_impl mechanism; /* default vGPU mechanism; PASSTHROUGH when none */
	bool sriov;                /* vGPUs live on SR-IOV VFs */
	bool mixed_size;           /* hardware can run different types side by side */
};

struct carve_type_entry {
	const char *type_id;   /* "nvidia-46", "k140q", "1155", "i915-GVTg_V5_4", "s7150-2" */
	const char *name;      /* "GRID P40-1Q" */
	const char *board;     /* short board name */
	uint32_t framebuffer_mib;
	uint32_t num_heads, max_res_x, max_res_y, frl_config, max_instance;
	bool cuda, multi_vgpu;
	char series;           /* 'A','B','C','Q' or 0 */
	uint8_t mig_slices;    /* 0 unless MIG-backed */
	/* Intel GVT-g only (0 otherwise), as i915 defines its types: graphics
	 * memory inside (low) and outside (high) the aperture, fence registers,
	 * scheduler weight.  framebuffer_mib is the aperture (low_gm_mib). */
	uint32_t low_gm_mib, high_gm_mib, fence, weight;
};

const struct carve_board *carve_board_by_ids(uint16_t vendor_id, uint16_t device_id);
const struct carve_board *carve_board_by_vf_ids(uint16_t vendor_id, uint16_t vf_device_id);
const struct carve_board *carve_board_by_name(const char *name); /* name or short name, case-insensitive */
size_t carve_board_count(void);
const struct carve_board *carve_board_at(size_t i);

/* Types of a board in table order; returns how many, *out points into static data. */
size_t carve_catalog_types(const char *board_short, const struct carve_type_entry *const **out);
const struct carve_type_entry *carve_catalog_type(const char *board_short, const char *type_id);
/* Look a type up by its model name ("NVIDIA L40S-4Q"). */
const struct carve_type_entry *carve_catalog_type_by_name(const char *name);

/* MIG GPU instances, for boards with MIG-backed vGPU types: a profile is
 * "<compute slices>g.<GB>gb" ("1g.5gb"), named as nvidia-smi names them
 * and derived from the board's MIG-backed types (one per profile).  The
 * GPU has CARVE_MIG_SLICES compute slices. */
#define CARVE_MIG_SLICES 7
bool carve_board_has_mig(const struct carve_board *b);
/* The profile of MIG-backed type e into buf; -EINVAL when e is not MIG-backed. */
int carve_mig_profile_of(const struct carve_type_entry *e, char *buf, size_t size);
/* The MIG-backed type of board b whose profile is name, or NULL. */
const struct carve_type_entry *carve_mig_type_by_profile(const struct carve_board *b, const char *name);

/* PCI vendor name as lspci prints it ("NVIDIA Corporation"); "Unknown" if unknown. */
const char *carve_vendor_name(uint16_t vendor_id);
