#include "fields.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/str.h"

#define F(n, m, d, id) {n, m, d, id}

static const struct carve_field host_fields[] = {
	F("uuid", "RO", true, CARVE_F_HOST_UUID),
	F("name-label", "RW", true, CARVE_F_HOST_NAME_LABEL),
	F("name-description", "RW", true, CARVE_F_HOST_NAME_DESCRIPTION),
	F("hostname", "RO", false, CARVE_F_HOST_HOSTNAME),
	F("enabled", "RO", false, CARVE_F_HOST_ENABLED),
	F("live", "RO", false, CARVE_F_HOST_LIVE),
	F("backend", "RO", false, CARVE_F_HOST_BACKEND),
	F("last-discovery", "RO", false, CARVE_F_HOST_LAST_DISCOVERY),
	F("PGPU-uuids", "SRO", false, CARVE_F_HOST_PGPU_UUIDS),
	F("discovery-problems", "SRO", false, CARVE_F_HOST_DISCOVERY_PROBLEMS),
	F("driver-version", "RO", false, CARVE_F_HOST_DRIVER_VERSION),
};

static const struct carve_field pgpu_fields[] = {
	F("uuid", "RO", true, CARVE_F_PGPU_UUID),
	F("vendor-name", "RO", true, CARVE_F_PGPU_VENDOR_NAME),
	F("device-name", "RO", true, CARVE_F_PGPU_DEVICE_NAME),
	F("gpu-group-uuid", "RW", true, CARVE_F_PGPU_GPU_GROUP_UUID),
	F("gpu-group-name-label", "RO", false, CARVE_F_PGPU_GPU_GROUP_NAME_LABEL),
	F("host-uuid", "RO", false, CARVE_F_PGPU_HOST_UUID),
	F("host-name-label", "RO", false, CARVE_F_PGPU_HOST_NAME_LABEL),
	F("pci-id", "RO", false, CARVE_F_PGPU_PCI_ID),
	F("vendor-id", "RO", false, CARVE_F_PGPU_VENDOR_ID),
	F("device-id", "RO", false, CARVE_F_PGPU_DEVICE_ID),
	F("subsystem-vendor-id", "RO", false, CARVE_F_PGPU_SUBSYSTEM_VENDOR_ID),
	F("subsystem-device-id", "RO", false, CARVE_F_PGPU_SUBSYSTEM_DEVICE_ID),
	F("board", "RO", false, CARVE_F_PGPU_BOARD),
	F("driver", "RO", false, CARVE_F_PGPU_DRIVER),
	F("implementation", "RO", false, CARVE_F_PGPU_IMPLEMENTATION),
	F("numa-node", "RO", false, CARVE_F_PGPU_NUMA_NODE),
	F("iommu-group", "RO", false, CARVE_F_PGPU_IOMMU_GROUP),
	F("sriov-totalvfs", "RO", false, CARVE_F_PGPU_SRIOV_TOTALVFS),
	F("sriov-numvfs", "RO", false, CARVE_F_PGPU_SRIOV_NUMVFS),
	F("mixed-size", "RO", false, CARVE_F_PGPU_MIXED_SIZE),
	F("mixed-size-source", "RO", false, CARVE_F_PGPU_MIXED_SIZE_SOURCE),
	F("mixed-size-supported", "RO", false, CARVE_F_PGPU_MIXED_SIZE_SUPPORTED),
	F("default-vgpu-params", "RO", false, CARVE_F_PGPU_DEFAULT_VGPU_PARAMS),
	F("mig-mode", "RO", false, CARVE_F_PGPU_MIG_MODE),
	F("mig-instances", "SRO", false, CARVE_F_PGPU_MIG_INSTANCES),
	F("nvlink-peers", "SRO", false, CARVE_F_PGPU_NVLINK_PEERS),
	F("nvlink-links", "MRO", false, CARVE_F_PGPU_NVLINK_LINKS),
	F("ecc-mode", "RO", false, CARVE_F_PGPU_ECC_MODE),
	F("ecc-errors", "MRO", false, CARVE_F_PGPU_ECC_ERRORS),
	F("retired-pages", "RO", false, CARVE_F_PGPU_RETIRED_PAGES),
	F("retired-pages-pending", "RO", false, CARVE_F_PGPU_RETIRED_PAGES_PENDING),
	F("health", "RO", false, CARVE_F_PGPU_HEALTH),
	F("health-reason", "RO", false, CARVE_F_PGPU_HEALTH_REASON),
	F("is-system-display-device", "RO", false, CARVE_F_PGPU_IS_SYSTEM_DISPLAY_DEVICE),
	F("dom0-access", "RO", false, CARVE_F_PGPU_DOM0_ACCESS),
	F("present", "RO", false, CARVE_F_PGPU_PRESENT),
	F("size", "RO", false, CARVE_F_PGPU_SIZE),
	F("supported-VGPU-types", "SRO", false, CARVE_F_PGPU_SUPPORTED_VGPU_TYPES),
	F("enabled-VGPU-types", "SRW", false, CARVE_F_PGPU_ENABLED_VGPU_TYPES),
	F("supported-VGPU-max-capacities", "MRO", false, CARVE_F_PGPU_SUPPORTED_VGPU_MAX_CAPACITIES),
	F("remaining-VGPU-capacities", "MRO", false, CARVE_F_PGPU_REMAINING_VGPU_CAPACITIES),
	F("VGPU-capacity-sources", "MRO", false, CARVE_F_PGPU_VGPU_CAPACITY_SOURCES),
	F("resident-VGPUs", "SRO", false, CARVE_F_PGPU_RESIDENT_VGPUS),
	F("discovery-problems", "SRO", false, CARVE_F_PGPU_DISCOVERY_PROBLEMS),
};

static const struct carve_field vgpu_type_fields[] = {
	F("uuid", "RO", true, CARVE_F_VTYPE_UUID),
	F("vendor-name", "RO", true, CARVE_F_VTYPE_VENDOR_NAME),
	F("model-name", "RO", true, CARVE_F_VTYPE_MODEL_NAME),
	F("framebuffer-size", "RO", true, CARVE_F_VTYPE_FRAMEBUFFER_SIZE),
	F("max-heads", "RO", false, CARVE_F_VTYPE_MAX_HEADS),
	F("max-resolution", "RO", false, CARVE_F_VTYPE_MAX_RESOLUTION),
	F("frame-rate-limit", "RO", false, CARVE_F_VTYPE_FRAME_RATE_LIMIT),
	F("max-instances-per-pgpu", "RO", false, CARVE_F_VTYPE_MAX_INSTANCES_PER_PGPU),
	F("size", "RO", false, CARVE_F_VTYPE_SIZE),
	F("implementation", "RO", false, CARVE_F_VTYPE_IMPLEMENTATION),
	F("identifier", "RO", false, CARVE_F_VTYPE_IDENTIFIER),
	F("board", "RO", false, CARVE_F_VTYPE_BOARD),
	F("series", "RO", false, CARVE_F_VTYPE_SERIES),
	F("multi-vgpu-supported", "RO", false, CARVE_F_VTYPE_MULTI_VGPU_SUPPORTED),
	F("experimental", "RO", false, CARVE_F_VTYPE_EXPERIMENTAL),
	F("compatible-types-on-pgpu", "SRO", false, CARVE_F_VTYPE_COMPATIBLE_TYPES_ON_PGPU),
	F("compatible-types-in-vm", "SRO", false, CARVE_F_VTYPE_COMPATIBLE_TYPES_IN_VM),
	F("supported-on-PGPUs", "SRO", false, CARVE_F_VTYPE_SUPPORTED_ON_PGPUS),
	F("enabled-on-PGPUs", "SRO", false, CARVE_F_VTYPE_ENABLED_ON_PGPUS),
	F("supported-on-GPU-groups", "SRO", false, CARVE_F_VTYPE_SUPPORTED_ON_GPU_GROUPS),
	F("enabled-on-GPU-groups", "SRO", false, CARVE_F_VTYPE_ENABLED_ON_GPU_GROUPS),
	F("VGPU-uuids", "SRO", false, CARVE_F_VTYPE_VGPU_UUIDS),
	F("discovery-problems", "SRO", false, CARVE_F_VTYPE_DISCOVERY_PROBLEMS),
};

static const struct carve_field gpu_group_fields[] = {
	F("uuid", "RO", true, CARVE_F_GROUP_UUID),
	F("name-label", "RW", true, CARVE_F_GROUP_NAME_LABEL),
	F("name-description", "RW", true, CARVE_F_GROUP_NAME_DESCRIPTION),
	F("PGPU-uuids", "SRO", false, CARVE_F_GROUP_PGPU_UUIDS),
	F("VGPU-uuids", "SRO", false, CARVE_F_GROUP_VGPU_UUIDS),
	F("GPU-types", "SRO", false, CARVE_F_GROUP_GPU_TYPES),
	F("allocation-algorithm", "RW", false, CARVE_F_GROUP_ALLOCATION_ALGORITHM),
	F("degraded-pgpus", "RW", false, CARVE_F_GROUP_DEGRADED_PGPUS),
	F("supported-VGPU-types", "SRO", false, CARVE_F_GROUP_SUPPORTED_VGPU_TYPES),
	F("enabled-VGPU-types", "SRO", false, CARVE_F_GROUP_ENABLED_VGPU_TYPES),
};

static const struct carve_field vm_fields[] = {
	F("uuid", "RO", true, CARVE_F_VM_UUID),
	F("name-label", "RW", true, CARVE_F_VM_NAME_LABEL),
	F("power-state", "RO", true, CARVE_F_VM_POWER_STATE),
	F("name-description", "RW", false, CARVE_F_VM_NAME_DESCRIPTION),
	F("numa-node", "RW", false, CARVE_F_VM_NUMA_NODE),
	F("resident-on", "RO", false, CARVE_F_VM_RESIDENT_ON),
	F("VGPUs", "SRO", false, CARVE_F_VM_VGPUS),
	F("last-error", "RO", false, CARVE_F_VM_LAST_ERROR),
	F("p2p", "RW", false, CARVE_F_VM_P2P),
	F("migration", "RO", false, CARVE_F_VM_MIGRATION),
	F("migration-peer", "RO", false, CARVE_F_VM_MIGRATION_PEER),
};

static const struct carve_field vgpu_fields[] = {
	F("uuid", "RO", true, CARVE_F_VGPU_UUID),
	F("vm-uuid", "RO", true, CARVE_F_VGPU_VM_UUID),
	F("vm-name-label", "RO", false, CARVE_F_VGPU_VM_NAME_LABEL),
	F("gpu-group-uuid", "RO", true, CARVE_F_VGPU_GPU_GROUP_UUID),
	F("type-uuid", "RO", false, CARVE_F_VGPU_TYPE_UUID),
	F("type-model-name", "RO", false, CARVE_F_VGPU_TYPE_MODEL_NAME),
	F("device", "RO", false, CARVE_F_VGPU_DEVICE),
	F("state", "RO", false, CARVE_F_VGPU_STATE),
	F("currently-attached", "RO", false, CARVE_F_VGPU_CURRENTLY_ATTACHED),
	F("scheduled-to-be-resident-on", "RO", false, CARVE_F_VGPU_SCHEDULED_TO_BE_RESIDENT_ON),
	F("resident-on", "RO", false, CARVE_F_VGPU_RESIDENT_ON),
	F("device-pci", "RO", false, CARVE_F_VGPU_DEVICE_PCI),
	F("extra-args", "RW", false, CARVE_F_VGPU_EXTRA_ARGS),
	F("origin", "RO", false, CARVE_F_VGPU_ORIGIN),
};

#define C(n, f) {n, f, ARRAY_SIZE(f)}
static const struct carve_class classes[] = {
	C("host", host_fields),           C("pgpu", pgpu_fields), C("vgpu-type", vgpu_type_fields),
	C("gpu-group", gpu_group_fields), C("vm", vm_fields),     C("vgpu", vgpu_fields),
};

const struct carve_class *carve_class_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if (strcmp(classes[i].name, name) == 0)
			return &classes[i];
	return NULL;
}

const struct carve_class *carve_class_of_verb(const char *verb)
{
	const struct carve_class *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; verb && i < ARRAY_SIZE(classes); i++) {
		size_t n = strlen(classes[i].name);
		if (n > best_len && strncmp(verb, classes[i].name, n) == 0 && verb[n] == '-') {
			best = &classes[i];
			best_len = n;
		}
	}
	return best;
}

const struct carve_field *carve_class_field(const struct carve_class *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_fields; i++)
		if (strcasecmp(c->fields[i].name, name) == 0)
			return &c->fields[i];
	return NULL;
}

int carve_class_select(const struct carve_class *cls, const char *params, const struct carve_field **sel, size_t *n,
		       struct carve_error *err)
{
	*n = 0;
	if (!params || strcmp(params, "all") == 0) {
		for (size_t i = 0; i < cls->n_fields; i++)
			if (params || cls->fields[i].in_default)
				sel[(*n)++] = &cls->fields[i];
		return 0;
	}
	_cleanup_free_ char *copy = strdup(params);
	if (!copy)
		return -ENOMEM;
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct carve_field *f = carve_class_field(cls, carve_strstrip(tok));
		if (!f)
			return carve_error_set(err, -EINVAL, "UNKNOWN_FIELD", "%s has no field '%.64s'", cls->name, tok);
		if (*n < cls->n_fields)
			sel[(*n)++] = f;
	}
	return 0;
}

char *carve_value_text(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v))
		return carve_strdupf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			_cleanup_free_ char *s = carve_value_text(e);
			fprintf(f, "%s%s", i ? "; " : "", s ? s : "");
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *e;
		bool first = true;
		json_object_foreach(v, k, e) {
			_cleanup_free_ char *s = carve_value_text(e);
			fprintf(f, "%s%s: %s", first ? "" : "; ", k, s ? s : "");
			first = false;
		}
	}
	fclose(f);
	return buf;
}
