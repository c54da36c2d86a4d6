/* inventory.h - what a host reports about its GPUs, independent of how it was
 * learned (sysfs discovery or the simulated host).
 *
 * A carve_hw_inventory owns everything inside it; carve_hw_inventory_free()
 * accepts NULL.  GPUs are sorted by PCI address, types by identifier order as
 * the catalog lists them (discovery order is not stable across kernels, so
 * consumers must not rely on directory order), devices by UUID then parent.
 *
 * The JSON form (carve_hw_inventory_to_json) is the golden-file format of the
 * discovery tests and the payload of `carve host-discover --json`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/impl.h"
#include "util/error.h"

struct carve_board;
#include "util/str.h"

/* Where a fact carve decides with came from.  One string table
 * (carve_hw_source_name); the names appear in JSON, records and docs. */
enum carve_hw_source {
	CARVE_HW_SOURCE_NONE = 0, /* nobody says: unknown */
	CARVE_HW_SOURCE_CATALOG,  /* carve's tables (data/) */
	CARVE_HW_SOURCE_DRIVER,   /* the device's own files (description max_instance,
				   * nvidia/vgpu_heterogeneous_mode, the testbed's carve_emu/mixed) */
	CARVE_HW_SOURCE_NVML,     /* NVIDIA's management library */
	CARVE_HW_SOURCE_INFERRED, /* deduced from what the driver lists as creatable */
	CARVE_HW_SOURCE_DEFAULT,  /* the vendor driver's default (mixed-size mode off) */
	CARVE_HW_SOURCE__MAX,
};
const char *carve_hw_source_name(enum carve_hw_source s);
int carve_hw_source_from_name(const char *name); /* -EINVAL if unknown */

/* No driver publishes more instances of a type per GPU than this (NVIDIA:
 * 64, GVT-g: 8); a larger count in a file is junk, refused as malformed. */
#define CARVE_HW_MAX_INSTANCES 1024

/* A file of one GPU (or of one of its types) that could not be read or
 * parsed.  Discovery records it and goes on with everything else: one odd
 * device never hides the rest of the host. */
struct carve_hw_problem {
	char pci[13];      /* the device it concerns */
	char type_id[65];  /* the type it concerns; "" = the device itself */
	char id[48];       /* the error id: SYSFS_READ_FAILED, SYSFS_MALFORMED, VENDOR_DESCRIPTION_INVALID... */
	char message[512]; /* one line that names the file */
};

struct carve_hw_type {
	char id[65];           /* "nvidia-46", "k140q", "1155", "i915-GVTg_V5_4", "passthrough" */
	char name[128];        /* "GRID P40-1Q"; the id when the driver publishes no name */
	enum carve_impl impl;
	uint64_t framebuffer_mib;
	uint32_t num_heads, max_res_x, max_res_y, frl_config;
	uint32_t max_instances;    /* per PGPU; 0 = unknown (no budget: the kernel's count decides) */
	enum carve_hw_source max_instances_source; /* DRIVER, CATALOG or NONE */
	uint32_t available;        /* instances creatable now, as the driver reports it */
	bool broken;               /* its files could not be read: see the GPU's problems; available 0 */
	bool multi_vgpu;           /* may be one of several vGPUs in a VM */
	char series;               /* 'A','B','C','Q' or 0 */
	uint64_t low_gm_mib, high_gm_mib; /* GVT-g */
	uint32_t fence, weight;           /* GVT-g */
};

/* A vGPU instance that exists on the host now. */
struct carve_hw_dev {
	char uuid[37];     /* mdev UUID; empty for SR-IOV VF-backed vGPUs */
	char type_id[65];
	char parent[13];   /* mdev parent or the VF that carries it */
	char params[256];  /* vgpu_params as read back, "" when none */
};

struct carve_hw_vf {
	char pci[13];
	char driver[32];
	int32_t iommu_group;
	char current_type[65]; /* NVIDIA SR-IOV current_vgpu_type ("" or "0" when free); AMD: "" */
	bool in_use;           /* carries a vGPU now */
};

/* A MIG GPU instance (model/catalog.h's profiles); one MIG-backed vGPU each. */
#define CARVE_HW_MAX_GIS 8
struct carve_hw_gi {
	char profile[16]; /* "1g.5gb" */
	uint8_t slices;   /* compute slices */
};

/* What NVML says of a GPU and sysfs does not (src/host/nvml.h). */
#define CARVE_HW_MAX_NVLINK 16
struct carve_hw_nvlink {
	char peer[13];  /* the GPU at the other end (PCI address) */
	uint8_t links;  /* active links to it */
};

struct carve_hw_ecc {
	bool known;            /* NVML answered; the rest is meaningless otherwise */
	bool enabled, pending; /* ECC mode now, and after the next reboot/reset */
	uint64_t volatile_corrected, volatile_uncorrected;   /* since the driver loaded */
	uint64_t aggregate_corrected, aggregate_uncorrected; /* over the GPU's life */
	uint32_t retired_sbe, retired_dbe; /* pages retired: multiple single-bit, double-bit errors */
	bool retired_pending;  /* a page waits to be retired at the next reset */
	bool remap_pending, remap_failure; /* Ampere+ row remapping */
};

struct carve_hw_gpu {
	char pci[13];
	uint32_t vendor_id, device_id, subsys_vendor_id, subsys_device_id, class_code;
	char driver[32];
	int32_t numa_node;   /* -1 when unknown */
	int32_t iommu_group; /* -1 when none */
	char board[64];      /* catalog board name, "" when unknown */
	bool is_system_display;
	enum carve_impl mechanism; /* PASSTHROUGH when the GPU cannot be split */
	bool mixed_size;           /* the driver allows different types side by side now */
	enum carve_hw_source mixed_size_source; /* DRIVER, NVML, INFERRED or DEFAULT; NONE: not NVIDIA */
	bool mixed_size_supported; /* the board can run in mixed-size mode (catalog; GVT-g always) */
	/* MIG: -1 when not known to carve (a board without MIG, or a driver
	 * that does not say: MIG-backed types then share the GPU's slices as
	 * the driver's counts allow), 0 off, 1 on.  On, the GPU runs only
	 * MIG-backed vGPUs, one per free GPU instance of the type's profile;
	 * off, none. */
	int8_t mig_mode;
	struct carve_hw_gi gis[CARVE_HW_MAX_GIS];
	uint8_t n_gis;
	bool nvlink_known;     /* NVML answered for its links (none is an answer) */
	struct carve_hw_nvlink nvlinks[CARVE_HW_MAX_NVLINK];
	uint8_t n_nvlinks;
	struct carve_hw_ecc ecc;
	/* GPU-level problems make the GPU broken: its vGPU state could not be
	 * read, so it offers nothing (types and devices as far as read are
	 * dropped), placement skips it and reconcile leaves it alone. */
	bool broken;
	struct carve_hw_problem *problems; /* GPU-level and per-type, in discovery order */
	size_t n_problems;
	uint64_t hash; /* carve_hw_inventory_hash()'s cache of this GPU's; 0 = not computed */
	uint32_t sriov_totalvfs, sriov_numvfs;
	struct carve_hw_vf *vfs;
	size_t n_vfs;
	struct carve_hw_type *types; /* supported types (passthrough included) */
	size_t n_types;
	struct carve_hw_dev *devs;
	size_t n_devs;
};

struct carve_hw_inventory {
	struct carve_hw_gpu *gpus;
	size_t n_gpus;
	char driver_version[32]; /* NVIDIA's driver, from NVML; "" when not known */
	/* Devices that could not even be told to be GPUs (an unreadable class). */
	struct carve_hw_problem *problems;
	size_t n_problems;
};

/* The ECC facts as JSON ("enabled", "pending", "volatile-corrected", ...,
 * "remap-failure"): in the inventory and in the store alike. */
json_t *carve_hw_ecc_to_json(const struct carve_hw_ecc *e);

void carve_hw_inventory_free(struct carve_hw_inventory *inv);
/* Shrink every array to its length (what a long-lived copy, carved's last
 * discovery, should hold); the inventory stays usable and may still grow.
 * NULL is accepted. */
void carve_hw_inventory_compact(struct carve_hw_inventory *inv);
/* Clears the contents; the struct itself may live on the stack. */
void carve_hw_inventory_clear(struct carve_hw_inventory *inv);

/* Appenders: grow the arrays, return the new zeroed element or NULL (ENOMEM).
 * Growing may move the array: pointers to earlier elements are invalidated.
 * Arrays must only ever be grown through these functions. */
struct carve_hw_gpu *carve_hw_inventory_add_gpu(struct carve_hw_inventory *inv);
struct carve_hw_type *carve_hw_gpu_add_type(struct carve_hw_gpu *g);
struct carve_hw_dev *carve_hw_gpu_add_dev(struct carve_hw_gpu *g);
struct carve_hw_vf *carve_hw_gpu_add_vf(struct carve_hw_gpu *g);
/* Record a problem from an error (type_id NULL: the GPU itself); returns 0
 * or -ENOMEM.  It does not mark anything broken: the caller decides. */
int carve_hw_gpu_add_problem(struct carve_hw_gpu *g, const char *type_id, const struct carve_error *e);
/* Mark g broken after a GPU-level failure e: keep its identity (PCI
 * address, ids, driver, board), drop what it offers, record e.  -ENOMEM. */
int carve_hw_gpu_set_broken(struct carve_hw_gpu *g, const struct carve_error *e);
/* The first problem recorded for type_id ("" or NULL: the GPU's own), or NULL. */
const struct carve_hw_problem *carve_hw_gpu_find_problem(const struct carve_hw_gpu *g, const char *type_id);
/* Record a device-level problem in the inventory itself (-ENOMEM). */
int carve_hw_inventory_add_problem(struct carve_hw_inventory *inv, const char *pci, const struct carve_error *e);
/* All problems: the inventory's and every GPU's. */
size_t carve_hw_inventory_count_problems(const struct carve_hw_inventory *inv);

/* Sort into the canonical order described above. */
void carve_hw_inventory_sort(struct carve_hw_inventory *inv);

/* Record in g what carve itself just did to the GPU, until its next
 * discovery tells exactly: a vGPU of type_id made at `where` (an mdev UUID,
 * or the VF that carries it) takes one of the type's available instances
 * and, VF-backed, its VF; a removal gives them back.  Other types' counts
 * are left as they were (the driver's rules for them are its own; the
 * model's budgets and compatibility still hold).  -ENOMEM. */
int carve_hw_gpu_note_created(struct carve_hw_gpu *g, const char *uuid, const char *device_pci, const char *type_id,
			      const char *params);
void carve_hw_gpu_note_removed(struct carve_hw_gpu *g, const char *uuid, const char *device_pci, const char *type_id);

/* Deep copy of g appended to inv (canonical order kept). -ENOMEM. */
int carve_hw_inventory_add_copy(struct carve_hw_inventory *inv, const struct carve_hw_gpu *g);
/* The GPU at pci replaced by a deep copy of g, or removed when g is NULL
 * (appended when inv had none). -ENOMEM. */
int carve_hw_inventory_replace(struct carve_hw_inventory *inv, const char *pci, const struct carve_hw_gpu *g);

const struct carve_hw_gpu *carve_hw_inventory_find(const struct carve_hw_inventory *inv, const char *pci);
const struct carve_hw_type *carve_hw_gpu_find_type(const struct carve_hw_gpu *g, const char *type_id);
/* The device with mdev UUID uuid, and its GPU (gpu may be NULL); inv may be NULL. */
const struct carve_hw_dev *carve_hw_inventory_find_dev(const struct carve_hw_inventory *inv, const char *uuid,
						       const struct carve_hw_gpu **gpu);

/* The identifier a catalog type has under a mechanism: NVIDIA's vendor-VFIO
 * interface names types by number ("1155"), its mdev interface "nvidia-1155";
 * everything else keeps the catalog's identifier. */
void carve_hw_type_id_for(enum carve_impl mech, const char *catalog_id, char out[65]);

struct carve_type_entry;
/* Fill a reported type from its catalog entry (everything but `available`),
 * as the driver would publish it under mechanism `mech`. */
void carve_hw_type_from_catalog(struct carve_hw_type *t, const struct carve_type_entry *e, enum carve_impl mech);

/* Position of a type in the catalog's table for a board (short name), or -1.
 * "nvidia-1155" and "1155" name the same NVIDIA type (mdev vs vendor VFIO). */
int carve_hw_type_catalog_index(const char *board_short, const char *type_id);

/* NVIDIA's rule for how many more vGPUs of type t fit on GPU g, ignoring VF
 * availability: 0 while a passthrough assignment exists; homogeneous (one type
 * per physical GPU) unless g->mixed_size, then also a framebuffer budget (the
 * largest framebuffer * max_instances among g's types); MIG-backed types
 * (catalog mig_slices) never share a GPU with time-sliced ones and mix among
 * themselves within the GPU's slices.  Shared by the sim and
 * by sysfs discovery where the driver publishes only a creatable list, so the
 * two cannot disagree. */
uint32_t carve_hw_gpu_nv_capacity(const struct carve_hw_gpu *g, const struct carve_hw_type *t);

/* Decide g's mixed-size mode where no file or NVML said it (source not
 * DRIVER/NVML), from what the driver lists as creatable beside what runs
 * (each type's `available` as the driver reported it, before any capping):
 * a running time-sliced type next to another creatable time-sliced type
 * means mixed-size mode is on; running vGPUs with only their own type still
 * creatable mean it is off; anything else tells nothing and NVIDIA's default
 * (off) applies.  MIG-backed and passthrough types say nothing about the
 * mode.  NVIDIA mechanisms only; shared by sysfs discovery and the sim. */
void carve_hw_gpu_infer_mixed_size(struct carve_hw_gpu *g);

/* A passthrough type for g's board b (NULL: unknown), available when nothing
 * runs on g or its VFs. */
void carve_hw_type_passthrough(struct carve_hw_type *t, const struct carve_board *b);

/* Set err to the most telling reason why type t cannot be created on g now
 * (its available count is 0), in the kernel drivers' words, and return it:
 * -EBUSY when what runs there excludes t (passthrough, another type on a
 * homogeneous GPU, vGPUs when passthrough is asked), -ENOSPC when capacity or
 * free VFs ran out. */
int carve_hw_gpu_refuse(const struct carve_hw_gpu *g, const struct carve_hw_type *t, struct carve_error *err);

/* Refuse to create type_id on g when g is broken or the type is (its files
 * could not be read): -EIO, DISCOVERY_PROBLEM, the problem as the reason.
 * 0 when neither. */
int carve_hw_gpu_refuse_problem(const struct carve_hw_gpu *g, const char *type_id, struct carve_error *err);

/* A hash of the inventory's canonical JSON that tells whether anything
 * changed: the sum of one hash per GPU (cached in the GPU, so that after one
 * GPU was read again only that one is hashed) and one of the inventory's own
 * problems.  A GPU's cache must be reset (0) when it is changed in place;
 * copies from discovery start at 0. */
uint64_t carve_hw_inventory_hash(struct carve_hw_inventory *inv);

/* Canonical JSON (new reference). */
json_t *carve_hw_inventory_to_json(const struct carve_hw_inventory *inv);
