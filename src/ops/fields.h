/* fields.h - the classes of the model as the CLI and API show them, with
 * xe's field names and access modes.
 *
 * Records built by the verbs carry every field of their class, in this order;
 * front ends choose which to show (xe's default subset, params=all, or a
 * list).  Field names are matched case-insensitively everywhere.  Depends on
 * libc and jansson only: the lean client renders with it (src/cli/client.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/error.h"

struct carve_field {
	const char *name;  /* xe spelling, e.g. "supported-VGPU-types" */
	const char *mode;  /* "RO", "RW", "SRO", "SRW", "MRO", "MRW" */
	bool in_default;   /* shown by a plain list verb */
	int id;            /* the class's enum below: records.c computes the value by it */
};

/* One enum per class, one value per field: the table in fields.c gives
 * names, modes and order; records.c only maps an id to its value. */
enum carve_host_field {
	CARVE_F_HOST_UUID,
	CARVE_F_HOST_NAME_LABEL,
	CARVE_F_HOST_NAME_DESCRIPTION,
	CARVE_F_HOST_HOSTNAME,
	CARVE_F_HOST_ENABLED,
	CARVE_F_HOST_LIVE,
	CARVE_F_HOST_BACKEND,
	CARVE_F_HOST_LAST_DISCOVERY,
	CARVE_F_HOST_PGPU_UUIDS,
	CARVE_F_HOST_DISCOVERY_PROBLEMS,
	CARVE_F_HOST_DRIVER_VERSION,
};

enum carve_pgpu_field {
	CARVE_F_PGPU_UUID,
	CARVE_F_PGPU_VENDOR_NAME,
	CARVE_F_PGPU_DEVICE_NAME,
	CARVE_F_PGPU_GPU_GROUP_UUID,
	CARVE_F_PGPU_GPU_GROUP_NAME_LABEL,
	CARVE_F_PGPU_HOST_UUID,
	CARVE_F_PGPU_HOST_NAME_LABEL,
	CARVE_F_PGPU_PCI_ID,
	CARVE_F_PGPU_VENDOR_ID,
	CARVE_F_PGPU_DEVICE_ID,
	CARVE_F_PGPU_SUBSYSTEM_VENDOR_ID,
	CARVE_F_PGPU_SUBSYSTEM_DEVICE_ID,
	CARVE_F_PGPU_BOARD,
	CARVE_F_PGPU_DRIVER,
	CARVE_F_PGPU_IMPLEMENTATION,
	CARVE_F_PGPU_NUMA_NODE,
	CARVE_F_PGPU_IOMMU_GROUP,
	CARVE_F_PGPU_SRIOV_TOTALVFS,
	CARVE_F_PGPU_SRIOV_NUMVFS,
	CARVE_F_PGPU_MIXED_SIZE,
	CARVE_F_PGPU_MIXED_SIZE_SOURCE,
	CARVE_F_PGPU_MIXED_SIZE_SUPPORTED,
	CARVE_F_PGPU_DEFAULT_VGPU_PARAMS,
	CARVE_F_PGPU_MIG_MODE,
	CARVE_F_PGPU_MIG_INSTANCES,
	CARVE_F_PGPU_NVLINK_PEERS,
	CARVE_F_PGPU_NVLINK_LINKS,
	CARVE_F_PGPU_ECC_MODE,
	CARVE_F_PGPU_ECC_ERRORS,
	CARVE_F_PGPU_RETIRED_PAGES,
	CARVE_F_PGPU_RETIRED_PAGES_PENDING,
	CARVE_F_PGPU_HEALTH,
	CARVE_F_PGPU_HEALTH_REASON,
	CARVE_F_PGPU_IS_SYSTEM_DISPLAY_DEVICE,
	CARVE_F_PGPU_DOM0_ACCESS,
	CARVE_F_PGPU_PRESENT,
	CARVE_F_PGPU_SIZE,
	CARVE_F_PGPU_SUPPORTED_VGPU_TYPES,
	CARVE_F_PGPU_ENABLED_VGPU_TYPES,
	CARVE_F_PGPU_SUPPORTED_VGPU_MAX_CAPACITIES,
	CARVE_F_PGPU_REMAINING_VGPU_CAPACITIES,
	CARVE_F_PGPU_VGPU_CAPACITY_SOURCES,
	CARVE_F_PGPU_RESIDENT_VGPUS,
	CARVE_F_PGPU_DISCOVERY_PROBLEMS,
};

enum carve_vgpu_type_field {
	CARVE_F_VTYPE_UUID,
	CARVE_F_VTYPE_VENDOR_NAME,
	CARVE_F_VTYPE_MODEL_NAME,
	CARVE_F_VTYPE_FRAMEBUFFER_SIZE,
	CARVE_F_VTYPE_MAX_HEADS,
	CARVE_F_VTYPE_MAX_RESOLUTION,
	CARVE_F_VTYPE_FRAME_RATE_LIMIT,
	CARVE_F_VTYPE_MAX_INSTANCES_PER_PGPU,
	CARVE_F_VTYPE_SIZE,
	CARVE_F_VTYPE_IMPLEMENTATION,
	CARVE_F_VTYPE_IDENTIFIER,
	CARVE_F_VTYPE_BOARD,
	CARVE_F_VTYPE_SERIES,
	CARVE_F_VTYPE_MULTI_VGPU_SUPPORTED,
	CARVE_F_VTYPE_EXPERIMENTAL,
	CARVE_F_VTYPE_COMPATIBLE_TYPES_ON_PGPU,
	CARVE_F_VTYPE_COMPATIBLE_TYPES_IN_VM,
	CARVE_F_VTYPE_SUPPORTED_ON_PGPUS,
	CARVE_F_VTYPE_ENABLED_ON_PGPUS,
	CARVE_F_VTYPE_SUPPORTED_ON_GPU_GROUPS,
	CARVE_F_VTYPE_ENABLED_ON_GPU_GROUPS,
	CARVE_F_VTYPE_VGPU_UUIDS,
	CARVE_F_VTYPE_DISCOVERY_PROBLEMS,
};

enum carve_gpu_group_field {
	CARVE_F_GROUP_UUID,
	CARVE_F_GROUP_NAME_LABEL,
	CARVE_F_GROUP_NAME_DESCRIPTION,
	CARVE_F_GROUP_PGPU_UUIDS,
	CARVE_F_GROUP_VGPU_UUIDS,
	CARVE_F_GROUP_GPU_TYPES,
	CARVE_F_GROUP_ALLOCATION_ALGORITHM,
	CARVE_F_GROUP_DEGRADED_PGPUS,
	CARVE_F_GROUP_SUPPORTED_VGPU_TYPES,
	CARVE_F_GROUP_ENABLED_VGPU_TYPES,
};

enum carve_vm_field {
	CARVE_F_VM_UUID,
	CARVE_F_VM_NAME_LABEL,
	CARVE_F_VM_POWER_STATE,
	CARVE_F_VM_NAME_DESCRIPTION,
	CARVE_F_VM_NUMA_NODE,
	CARVE_F_VM_RESIDENT_ON,
	CARVE_F_VM_VGPUS,
	CARVE_F_VM_LAST_ERROR,
	CARVE_F_VM_P2P,
	CARVE_F_VM_MIGRATION,
	CARVE_F_VM_MIGRATION_PEER,
};

enum carve_vgpu_field {
	CARVE_F_VGPU_UUID,
	CARVE_F_VGPU_VM_UUID,
	CARVE_F_VGPU_VM_NAME_LABEL,
	CARVE_F_VGPU_GPU_GROUP_UUID,
	CARVE_F_VGPU_TYPE_UUID,
	CARVE_F_VGPU_TYPE_MODEL_NAME,
	CARVE_F_VGPU_DEVICE,
	CARVE_F_VGPU_STATE,
	CARVE_F_VGPU_CURRENTLY_ATTACHED,
	CARVE_F_VGPU_SCHEDULED_TO_BE_RESIDENT_ON,
	CARVE_F_VGPU_RESIDENT_ON,
	CARVE_F_VGPU_DEVICE_PCI,
	CARVE_F_VGPU_EXTRA_ARGS,
	CARVE_F_VGPU_ORIGIN,
};


struct carve_class {
	const char *name;  /* "pgpu", "vgpu-type", ... */
	const struct carve_field *fields;
	size_t n_fields;
};

const struct carve_class *carve_class_find(const char *name);
/* The class a verb is about: the longest class name it starts with, then
 * '-' ("vgpu-type-list" -> vgpu-type); NULL for none (token-create). */
const struct carve_class *carve_class_of_verb(const char *verb);
/* Field by name, case-insensitive; NULL if the class has no such field. */
const struct carve_field *carve_class_field(const struct carve_class *c, const char *name);

/* params= as a caller writes it: NULL (the class's default fields), "all",
 * or a comma-separated list of field names (case-insensitive, blanks
 * trimmed, in the caller's order).  sel[] (room for every field of the
 * class) receives the fields; -EINVAL (UNKNOWN_FIELD) names the first name
 * the class lacks, -ENOMEM. */
int carve_class_select(const struct carve_class *cls, const char *params, const struct carve_field **sel, size_t *n,
		       struct carve_error *err);

/* A record value as xe prints it (sets joined by "; ", maps "k: v; ..."); the
 * caller frees it.  Used to render and to compare field filters alike. */
char *carve_value_text(json_t *v);
