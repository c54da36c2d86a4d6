#include "fields.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/str.h"

#define F(n, m, d) {n, m, d}

static const struct carve_field host_fields[] = {
	F("uuid", "RO", true),           F("name-label", "RW", true),  F("name-description", "RW", true),
	F("hostname", "RO", false),      F("backend", "RO", false),    F("last-discovery", "RO", false),
	F("PGPU-uuids", "SRO", false),   F("discovery-problems", "SRO", false),
};

static const struct carve_field pgpu_fields[] = {
	F("uuid", "RO", true),
	F("vendor-name", "RO", true),
	F("device-name", "RO", true),
	F("gpu-group-uuid", "RW", true),
	F("gpu-group-name-label", "RO", false),
	F("host-uuid", "RO", false),
	F("host-name-label", "RO", false),
	F("pci-id", "RO", false),
	F("vendor-id", "RO", false),
	F("device-id", "RO", false),
	F("subsystem-vendor-id", "RO", false),
	F("subsystem-device-id", "RO", false),
	F("board", "RO", false),
	F("driver", "RO", false),
	F("implementation", "RO", false),
	F("numa-node", "RO", false),
	F("iommu-group", "RO", false),
	F("sriov-totalvfs", "RO", false),
	F("sriov-numvfs", "RO", false),
	F("mixed-size", "RO", false),
	F("mixed-size-source", "RO", false),
	F("mixed-size-supported", "RO", false),
	F("is-system-display-device", "RO", false),
	F("dom0-access", "RO", false),
	F("present", "RO", false),
	F("size", "RO", false),
	F("supported-VGPU-types", "SRO", false),
	F("enabled-VGPU-types", "SRW", false),
	F("supported-VGPU-max-capacities", "MRO", false),
	F("remaining-VGPU-capacities", "MRO", false),
	F("VGPU-capacity-sources", "MRO", false),
	F("resident-VGPUs", "SRO", false),
	F("discovery-problems", "SRO", false),
};

static const struct carve_field vgpu_type_fields[] = {
	F("uuid", "RO", true),
	F("vendor-name", "RO", true),
	F("model-name", "RO", true),
	F("framebuffer-size", "RO", true),
	F("max-heads", "RO", false),
	F("max-resolution", "RO", false),
	F("frame-rate-limit", "RO", false),
	F("max-instances-per-pgpu", "RO", false),
	F("size", "RO", false),
	F("implementation", "RO", false),
	F("identifier", "RO", false),
	F("board", "RO", false),
	F("series", "RO", false),
	F("multi-vgpu-supported", "RO", false),
	F("experimental", "RO", false),
	F("compatible-types-on-pgpu", "SRO", false),
	F("compatible-types-in-vm", "SRO", false),
	F("supported-on-PGPUs", "SRO", false),
	F("enabled-on-PGPUs", "SRO", false),
	F("supported-on-GPU-groups", "SRO", false),
	F("enabled-on-GPU-groups", "SRO", false),
	F("VGPU-uuids", "SRO", false),
	F("discovery-problems", "SRO", false),
};

static const struct carve_field gpu_group_fields[] = {
	F("uuid", "RO", true),
	F("name-label", "RW", true),
	F("name-description", "RW", true),
	F("PGPU-uuids", "SRO", false),
	F("VGPU-uuids", "SRO", false),
	F("GPU-types", "SRO", false),
	F("allocation-algorithm", "RW", false),
	F("supported-VGPU-types", "SRO", false),
	F("enabled-VGPU-types", "SRO", false),
};

static const struct carve_field vm_fields[] = {
	F("uuid", "RO", true),         F("name-label", "RW", true),   F("power-state", "RO", true),
	F("name-description", "RW", false), F("numa-node", "RW", false), F("resident-on", "RO", false),
	F("VGPUs", "SRO", false),
};

static const struct carve_field vgpu_fields[] = {
	F("uuid", "RO", true),
	F("vm-uuid", "RO", true),
	F("vm-name-label", "RO", false),
	F("gpu-group-uuid", "RO", true),
	F("type-uuid", "RO", false),
	F("type-model-name", "RO", false),
	F("device", "RO", false),
	F("state", "RO", false),
	F("currently-attached", "RO", false),
	F("scheduled-to-be-resident-on", "RO", false),
	F("resident-on", "RO", false),
	F("device-pci", "RO", false),
	F("extra-args", "RW", false),
	F("origin", "RO", false),
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

const struct carve_field *carve_class_field(const struct carve_class *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_fields; i++)
		if (strcasecmp(c->fields[i].name, name) == 0)
			return &c->fields[i];
	return NULL;
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
