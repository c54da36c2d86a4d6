/* objects.h - carve's objects (XAPI's model) as typed structs, and the
 * enums of their states, each with one string table (enums.c): the names
 * are what the store keeps, the API shows and the schema's CHECK
 * constraints allow.
 *
 * Objects live in a struct carve_model (model.h), which owns them; the
 * pointers between objects (a vGPU's VM, type, PGPUs) stay valid as long as
 * both objects are in the model.  Strings are owned by their object unless
 * the comment says "interned" (owned by the model's string pool, shared).
 *
 * A PGPU's placement data (what src/place decides on) is not kept here but
 * in its placement view (model.h): see carve_pgpu_place().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "host/inventory.h"
#include "host/health.h"
#include "model/impl.h"
#include "place/capacity.h"
#include "place/place.h"

enum carve_power_state {
	CARVE_POWER_HALTED = 0,
	CARVE_POWER_STARTING,
	CARVE_POWER_RUNNING,
	CARVE_POWER_STOPPING,
	CARVE_POWER_SUSPENDED, /* saved by libvirt; its vGPUs kept where they are (vm-suspend) */
	CARVE_POWER__MAX,
};

/* A vGPU's life: defined (no device) -> reserved (placed, intent committed)
 * -> running (the device exists) -> stopping (its removal is under way)
 * -> defined. */
enum carve_vgpu_state {
	CARVE_VGPU_DEFINED = 0,
	CARVE_VGPU_RESERVED,
	CARVE_VGPU_RUNNING,
	CARVE_VGPU_STOPPING,
	CARVE_VGPU__MAX,
};

enum carve_vgpu_origin {
	CARVE_ORIGIN_CARVE = 0, /* created by carve */
	CARVE_ORIGIN_ADOPTED,   /* found on the host and taken over (vgpu-adopt) */
	CARVE_ORIGIN__MAX,
};

/* A VM's wish for peer-to-peer between its vGPUs over NVLink. */
enum carve_p2p {
	CARVE_P2P_NONE = 0,
	CARVE_P2P_PREFERRED,
	CARVE_P2P_REQUIRED,
	CARVE_P2P__MAX,
};

/* A VM's live migration to another host of the pool (vm-migrate; the
 * phases are described in src/store/schema/009_migrate_suspend.sql). */
enum carve_migration {
	CARVE_MIGRATION_NONE = 0,
	CARVE_MIGRATION_PREPARING,
	CARVE_MIGRATION_PREPARED,
	CARVE_MIGRATION_RELEASING,
	CARVE_MIGRATION_ABORTING,
	CARVE_MIGRATION__MAX,
};

/* Whether placement may use a group's degraded PGPUs (host/health.h). */
enum carve_degraded_policy {
	CARVE_DEGRADED_AVOID = 0,
	CARVE_DEGRADED_ALLOW,
	CARVE_DEGRADED__MAX,
};

/* Each returns the stored name ("halted"), or "" for an out-of-range value;
 * _from_name returns the value or -EINVAL. */
const char *carve_power_state_name(enum carve_power_state s);
int carve_power_state_from_name(const char *name);
/* Whether a VM in power state s is between states (starting, stopping):
 * an agent's work until it settles. */
bool carve_power_state_between(enum carve_power_state s);
const char *carve_vgpu_state_name(enum carve_vgpu_state s);
int carve_vgpu_state_from_name(const char *name);
const char *carve_vgpu_origin_name(enum carve_vgpu_origin o);
int carve_vgpu_origin_from_name(const char *name);
const char *carve_p2p_name(enum carve_p2p p);
int carve_p2p_from_name(const char *name);
const char *carve_migration_name(enum carve_migration m);
int carve_migration_from_name(const char *name);
const char *carve_degraded_policy_name(enum carve_degraded_policy p);
int carve_degraded_policy_from_name(const char *name);

struct carve_obj_host {
	char uuid[37];
	char *name_label, *name_description, *hostname, *backend;
	char last_discovery[24];
	char *discovery_problems; /* "ID: message" lines, "" when none */
	char *config;             /* the host configuration in force (YAML, docs/host-config.md), "" when none */
	char driver_version[32];  /* NVIDIA's driver (NVML), "" when not known */
	char inventory_hash[17];
	/* The pool: an operator's host-disable keeps it out of placement; its
	 * carved's heartbeat, as an age on the store server's clock when last
	 * read (-1: never beat), makes it live (carve_model_host_live). */
	bool enabled;
	int64_t heartbeat_age_ms, heartbeat_read_ms; /* read_ms: CLOCK_MONOTONIC ms when read */
	struct carve_view **views; /* its placement views, one per GPU group */
	uint32_t n_views;
};

struct carve_obj_group {
	char uuid[37];
	char *name_label, *name_description;
	enum carve_place_algo algo;
	enum carve_degraded_policy degraded;
	char *gpu_types;
	char *auto_key; /* NULL for groups an operator created */
};

struct carve_obj_type {
	/* uuid, size (0: no budget known), passthrough, board, implementation,
	 * series, max_instances: what placement needs, kept once. */
	struct carve_place_type place;
	char *type_key, *vendor_name, *model_name, *identifier;
	uint64_t framebuffer_size;
	uint32_t max_heads, max_res_x, max_res_y, frl_config;
	enum carve_impl impl;
	bool multi_vgpu, experimental;
};

/* A pgpu_type row beyond what placement keeps in the slot of the same
 * index: the operator's enabled flag lives in the slot, the rest here. */
struct carve_obj_slot_ext {
	uint32_t max_instances;
	enum carve_hw_source max_instances_source;
	char *problem; /* "ID: message" when discovery could not read the type here; NULL when none */
};

struct carve_view;

struct carve_obj_pgpu {
	char uuid[37];
	struct carve_obj_host *host;
	struct carve_obj_group *group;   /* NULL when in none */
	struct carve_view *view;         /* its (group, host) placement view */
	uint32_t vi;                     /* its index there */
	char vendor_id[5], device_id[5], subsystem_vendor_id[5], subsystem_device_id[5];
	const char *vendor_name, *device_name, *board, *driver, *dom0_access; /* interned */
	int32_t iommu_group;
	enum carve_impl impl;
	bool is_system_display, mixed_size_supported, broken;
	enum carve_hw_source mixed_size_source;
	uint32_t sriov_totalvfs, sriov_numvfs;
	char *discovery_problems; /* "ID: message" lines, "" when none */
	char *broken_reason;      /* its own first problem when broken (placement's problem), else NULL */
	char *vgpu_params;        /* defaults for vGPUs created here (host-apply), "" when none */
	char mig_mode[4];         /* "", "off", "on" (discovery) */
	char *mig_instances;      /* GPU instance profiles, one per line */
	/* NVML's facts: NVLink peers (PCI addresses on the same host), the
	 * ECC counters (JSON, "" when not known), health and why. */
	struct carve_obj_nvlink {
		char peer[13];
		uint8_t links;
	} nvlink[16];
	uint8_t n_nvlink;
	char *ecc;
	enum carve_health health;
	char *health_reason;
	struct carve_obj_slot_ext *ext;  /* parallel to the placement slots */
	struct carve_obj_vgpu **vgpus;   /* resident or scheduled here, by UUID */
	uint32_t n_vgpus, cap_vgpus;
};

struct carve_obj_vm {
	char uuid[37];
	char *name_label, *name_description;
	int32_t numa_node;
	enum carve_power_state power;
	struct carve_obj_host *resident_on;
	char claimed_by[37];            /* the agent acting on it between states, "" when none */
	char *last_error;               /* its last failed start or shutdown, "" when none */
	enum carve_p2p p2p;
	enum carve_migration migration;  /* CARVE_MIGRATION_NONE unless it moves to another host */
	char migration_peer[37];         /* the host that acts in the migration's phase, "" when none */
	struct carve_obj_vgpu **vgpus;   /* by slot */
	uint32_t n_vgpus, cap_vgpus;
};

struct carve_obj_vgpu {
	char uuid[37];
	struct carve_obj_vm *vm;
	struct carve_obj_type *type;
	struct carve_obj_group *group;
	uint32_t device;                  /* slot in the VM, 0..CARVE_MAX_VGPUS_PER_VM-1 */
	struct carve_obj_pgpu *scheduled; /* placed, not realized yet; a migration's other side */
	struct carve_obj_pgpu *resident;  /* realized */
	char device_pci[13];              /* the VF or GPU that carries it; "" for an mdev not running */
	char peer_device_pci[13];         /* a migration's: the device on the scheduled PGPU's host */
	char *extra_args;                 /* vgpu_params, "" when none */
	enum carve_vgpu_state state;
	enum carve_vgpu_origin origin;
};

/* The most vGPUs one VM may have (slots 0..N-1): a VM over it is an error
 * wherever it is met, never truncated. */
#define CARVE_MAX_VGPUS_PER_VM 16
/* The most VMs a store may hold (a resource a caller can create). */
#define CARVE_MAX_VMS 65536
