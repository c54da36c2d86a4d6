#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "util/cleanup.h"


/* Column helpers: SQL text -> JSON value. */
static json_t *jstr(const struct carve_rows *r, size_t i, const char *col)
{
	const char *v = carve_rows_get(r, i, col);
	return json_string(v ? v : "");
}

static json_t *jint(const struct carve_rows *r, size_t i, const char *col)
{
	const char *v = carve_rows_get(r, i, col);
	return json_integer(v ? strtoll(v, NULL, 10) : 0);
}

static json_t *jbool(const struct carve_rows *r, size_t i, const char *col)
{
	const char *v = carve_rows_get(r, i, col);
	return json_boolean(v && strcmp(v, "0") != 0);
}

/* A set-valued field from a text column of lines ("" = the empty set). */
static json_t *jlines(const struct carve_rows *r, size_t i, const char *col)
{
	const char *v = carve_rows_get(r, i, col);
	json_t *a = json_array();
	while (a && v && *v) {
		size_t n = strcspn(v, "\n");
		json_array_append_new(a, json_stringn(v, n));
		v += n + (v[n] != '\0');
	}
	return a;
}

/* A set-valued field: the first column of every row of a one-parameter query. */
static json_t *jset(struct carve_ctx *ctx, const char *sql, const char *param, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	if (carve_db_execf(ctx->db, &rows, err, sql, 1, param) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; a && i < rows->nrows; i++)
		json_array_append_new(a, json_string(carve_rows_cell(rows, i, 0)));
	return a;
}

/* Set a field; a NULL value (failed sub-query) poisons the record. */
static int put(json_t *o, const char *k, json_t *v)
{
	if (!v)
		return -EIO;
	return json_object_set_new(o, k, v) < 0 ? -ENOMEM : 0;
}

/* data: what the class's builder prepared for all its rows (NULL if nothing). */
typedef int (*row_fn)(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data,
		      struct carve_error *err);

static int build(struct carve_ctx *ctx, const char *sql_all, const char *sql_one, const char *uuid, row_fn fn,
		 void *data, json_t **out, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = uuid ? carve_db_execf(ctx->db, &rows, err, sql_one, 1, uuid)
		     : carve_db_execf(ctx->db, &rows, err, sql_all, 0);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *a = json_array();
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < rows->nrows; i++) {
		json_t *o = json_object();
		if (!o || json_array_append_new(a, o) < 0)
			return -ENOMEM;
		if ((r = fn(ctx, rows, i, o, data, err)) < 0)
			return carve_error_set(err, r, "INTERNAL_ERROR", "cannot build record");
	}
	*out = TAKE_PTR(a);
	return 0;
}

/* ---- host ---- */
static int host_row(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data, struct carve_error *err)
{
	(void)data;
	const char *uuid = carve_rows_get(r, i, "uuid");
	int e = 0;
	e |= put(o, "uuid", jstr(r, i, "uuid"));
	e |= put(o, "name-label", jstr(r, i, "name_label"));
	e |= put(o, "name-description", jstr(r, i, "name_description"));
	e |= put(o, "hostname", jstr(r, i, "hostname"));
	e |= put(o, "backend", jstr(r, i, "backend"));
	e |= put(o, "last-discovery", jstr(r, i, "last_discovery"));
	e |= put(o, "PGPU-uuids", jset(ctx, "SELECT uuid FROM pgpu WHERE host_uuid=$1 ORDER BY pci_id", uuid, err));
	e |= put(o, "discovery-problems", jlines(r, i, "discovery_problems"));
	return e ? -EIO : 0;
}

int carve_records_host(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err)
{
	return build(ctx, "SELECT * FROM host ORDER BY name_label", "SELECT * FROM host WHERE uuid=$1", uuid, host_row, NULL,
		     out, err);
}

/* ---- pgpu ---- */
#define PGPU_SELECT                                                                                                \
	"SELECT p.*, g.name_label AS group_label, h.name_label AS host_label FROM pgpu p "                         \
	"LEFT JOIN gpu_group g ON g.uuid = p.gpu_group_uuid JOIN host h ON h.uuid = p.host_uuid "

static json_t *pgpu_capacities(struct carve_ctx *ctx, const char *uuid, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	if (carve_db_execf(ctx->db, &rows, err,
			   "SELECT t.uuid, pt.max_instances FROM pgpu_type pt JOIN vgpu_type t ON t.uuid = "
			   "pt.vgpu_type_uuid WHERE pt.pgpu_uuid=$1 AND pt.supported=1 ORDER BY t.uuid",
			   1, uuid) < 0)
		return NULL;
	json_t *m = json_object();
	for (size_t i = 0; m && i < rows->nrows; i++)
		json_object_set_new(m, carve_rows_cell(rows, i, 0), json_integer(atoll(carve_rows_cell(rows, i, 1))));
	return m;
}

/* The last group snapshot loaded: a list's PGPUs come grouped by host and
 * mostly share groups, so each (group, host) is loaded about once. */
struct snap_cache {
	char group[37], host[37];
	struct carve_snapshot *snap;
};

/* How many more of each supported type fit on the PGPU now, and which
 * budget decided each ("kernel", or the model's source: "catalog",
 * "driver"), as placement computes them. */
static int pgpu_remaining(struct carve_ctx *ctx, struct snap_cache *c, const char *group, const char *host,
			  const char *uuid, json_t **left, json_t **sources, struct carve_error *err)
{
	*left = json_object();
	*sources = json_object();
	if (!*left || !*sources)
		return -ENOMEM;
	if (!group || !host)
		return 0;
	if (!c->snap || strcmp(c->group, group) != 0 || strcmp(c->host, host) != 0) {
		carve_snapshot_free(c->snap);
		c->snap = NULL;
		int r = carve_snapshot_load_host(ctx, group, host, &c->snap, err);
		if (r < 0)
			return r;
		carve_strlcpy(c->group, group, sizeof(c->group));
		carve_strlcpy(c->host, host, sizeof(c->host));
	}
	for (size_t k = 0; k < c->snap->n_pgpus; k++) {
		const struct carve_place_pgpu *p = &c->snap->pgpus[k];
		if (strcmp(p->uuid, uuid) != 0)
			continue;
		for (size_t j = 0; j < p->n_slots; j++) {
			const struct carve_place_slot *sl = &p->slots[j];
			json_object_set_new(*left, sl->type->uuid, json_integer(carve_place_capacity(p, sl->type, NULL)));
			bool model = carve_place_capacity_source(p, sl->type) == CARVE_PLACE_SOURCE_MODEL;
			json_object_set_new(*sources, sl->type->uuid, json_string(model ? sl->budget_source : "kernel"));
		}
	}
	return 0;
}

#define TYPE_ORDER " ORDER BY t.vendor_name, t.board, t.implementation, t.framebuffer_size, t.model_name"

static int pgpu_row(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data, struct carve_error *err)
{
	const char *uuid = carve_rows_get(r, i, "uuid");
	int e = 0;
	e |= put(o, "uuid", jstr(r, i, "uuid"));
	e |= put(o, "vendor-name", jstr(r, i, "vendor_name"));
	e |= put(o, "device-name", jstr(r, i, "device_name"));
	e |= put(o, "gpu-group-uuid", jstr(r, i, "gpu_group_uuid"));
	e |= put(o, "gpu-group-name-label", jstr(r, i, "group_label"));
	e |= put(o, "host-uuid", jstr(r, i, "host_uuid"));
	e |= put(o, "host-name-label", jstr(r, i, "host_label"));
	e |= put(o, "pci-id", jstr(r, i, "pci_id"));
	e |= put(o, "vendor-id", jstr(r, i, "vendor_id"));
	e |= put(o, "device-id", jstr(r, i, "device_id"));
	e |= put(o, "subsystem-vendor-id", jstr(r, i, "subsystem_vendor_id"));
	e |= put(o, "subsystem-device-id", jstr(r, i, "subsystem_device_id"));
	e |= put(o, "board", jstr(r, i, "board"));
	e |= put(o, "driver", jstr(r, i, "driver"));
	e |= put(o, "implementation", jstr(r, i, "implementation"));
	e |= put(o, "numa-node", jint(r, i, "numa_node"));
	e |= put(o, "iommu-group", jint(r, i, "iommu_group"));
	e |= put(o, "sriov-totalvfs", jint(r, i, "sriov_totalvfs"));
	e |= put(o, "sriov-numvfs", jint(r, i, "sriov_numvfs"));
	e |= put(o, "mixed-size", jbool(r, i, "mixed_size"));
	e |= put(o, "mixed-size-source", jstr(r, i, "mixed_size_source"));
	e |= put(o, "mixed-size-supported", jbool(r, i, "mixed_size_supported"));
	e |= put(o, "is-system-display-device", jbool(r, i, "is_system_display_device"));
	e |= put(o, "dom0-access", jstr(r, i, "dom0_access"));
	e |= put(o, "present", jbool(r, i, "present"));
	e |= put(o, "size", jint(r, i, "size"));
	e |= put(o, "supported-VGPU-types",
		 jset(ctx,
		      "SELECT t.uuid FROM pgpu_type pt JOIN vgpu_type t ON t.uuid = pt.vgpu_type_uuid "
		      "WHERE pt.pgpu_uuid=$1 AND pt.supported=1" TYPE_ORDER,
		      uuid, err));
	e |= put(o, "enabled-VGPU-types",
		 jset(ctx,
		      "SELECT t.uuid FROM pgpu_type pt JOIN vgpu_type t ON t.uuid = pt.vgpu_type_uuid "
		      "WHERE pt.pgpu_uuid=$1 AND pt.supported=1 AND pt.enabled=1" TYPE_ORDER,
		      uuid, err));
	e |= put(o, "supported-VGPU-max-capacities", pgpu_capacities(ctx, uuid, err));
	json_t *left = NULL, *sources = NULL;
	if (pgpu_remaining(ctx, data, carve_rows_get(r, i, "gpu_group_uuid"), carve_rows_get(r, i, "host_uuid"), uuid,
			   &left, &sources, err) < 0)
		e = 1;
	e |= put(o, "remaining-VGPU-capacities", left);
	e |= put(o, "VGPU-capacity-sources", sources);
	e |= put(o, "resident-VGPUs",
		 jset(ctx, "SELECT uuid FROM vgpu WHERE resident_on=$1 ORDER BY uuid", uuid, err));
	e |= put(o, "discovery-problems", jlines(r, i, "discovery_problems"));
	return e ? -EIO : 0;
}

int carve_records_pgpu(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err)
{
	struct snap_cache cache = {0};
	int r = build(ctx, PGPU_SELECT "ORDER BY h.name_label, p.pci_id", PGPU_SELECT "WHERE p.uuid=$1", uuid,
		      pgpu_row, &cache, out, err);
	carve_snapshot_free(cache.snap);
	return r;
}

/* ---- vgpu type ---- */
static int vgpu_type_row(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data,
			 struct carve_error *err)
{
	(void)data;
	const char *uuid = carve_rows_get(r, i, "uuid");
	const char *rx = carve_rows_get(r, i, "max_resolution_x"), *ry = carve_rows_get(r, i, "max_resolution_y");
	_cleanup_free_ char *res = carve_strdupf("%sx%s", rx ? rx : "0", ry ? ry : "0");
	int e = 0;
	e |= put(o, "uuid", jstr(r, i, "uuid"));
	e |= put(o, "vendor-name", jstr(r, i, "vendor_name"));
	e |= put(o, "model-name", jstr(r, i, "model_name"));
	e |= put(o, "framebuffer-size", jint(r, i, "framebuffer_size"));
	e |= put(o, "max-heads", jint(r, i, "max_heads"));
	e |= put(o, "max-resolution", json_string(res ? res : ""));
	e |= put(o, "frame-rate-limit", jint(r, i, "frl_config"));
	e |= put(o, "max-instances-per-pgpu", jint(r, i, "max_instances"));
	e |= put(o, "size", jint(r, i, "size"));
	e |= put(o, "implementation", jstr(r, i, "implementation"));
	e |= put(o, "identifier", jstr(r, i, "identifier"));
	e |= put(o, "board", jstr(r, i, "board"));
	e |= put(o, "series", jstr(r, i, "series"));
	e |= put(o, "multi-vgpu-supported", jbool(r, i, "multi_vgpu"));
	e |= put(o, "experimental", jbool(r, i, "experimental"));
	/* On one PGPU: the type itself, plus - on PGPUs whose hardware mixes
	 * sizes - the other types of the same board, implementation and series. */
	e |= put(o, "compatible-types-on-pgpu",
		 jset(ctx,
		      "SELECT t.uuid FROM vgpu_type t, vgpu_type s WHERE s.uuid=$1 AND (t.uuid = s.uuid OR "
		      "(t.implementation = s.implementation AND t.board = s.board AND t.series = s.series AND "
		      "t.implementation <> 'passthrough' AND EXISTS (SELECT 1 FROM pgpu_type a JOIN pgpu p ON "
		      "p.uuid = a.pgpu_uuid JOIN pgpu_type b ON b.pgpu_uuid = p.uuid WHERE p.mixed_size = 1 AND "
		      "a.vgpu_type_uuid = s.uuid AND b.vgpu_type_uuid = t.uuid)))" TYPE_ORDER,
		      uuid, err));
	/* In one VM: only types that allow several vGPUs per VM (seed 003:
	 * full-size profiles), of the same vendor. */
	e |= put(o, "compatible-types-in-vm",
		 jset(ctx,
		      "SELECT t.uuid FROM vgpu_type t, vgpu_type s WHERE s.uuid=$1 AND s.multi_vgpu = 1 AND "
		      "t.multi_vgpu = 1 AND t.vendor_name = s.vendor_name" TYPE_ORDER,
		      uuid, err));
	e |= put(o, "supported-on-PGPUs",
		 jset(ctx, "SELECT pgpu_uuid FROM pgpu_type WHERE vgpu_type_uuid=$1 AND supported=1 ORDER BY pgpu_uuid",
		      uuid, err));
	e |= put(o, "enabled-on-PGPUs",
		 jset(ctx,
		      "SELECT pgpu_uuid FROM pgpu_type WHERE vgpu_type_uuid=$1 AND supported=1 AND enabled=1 "
		      "ORDER BY pgpu_uuid",
		      uuid, err));
	e |= put(o, "supported-on-GPU-groups",
		 jset(ctx,
		      "SELECT DISTINCT p.gpu_group_uuid FROM pgpu_type pt JOIN pgpu p ON p.uuid = pt.pgpu_uuid "
		      "WHERE pt.vgpu_type_uuid=$1 AND pt.supported=1 AND p.gpu_group_uuid IS NOT NULL "
		      "ORDER BY p.gpu_group_uuid",
		      uuid, err));
	e |= put(o, "enabled-on-GPU-groups",
		 jset(ctx,
		      "SELECT DISTINCT p.gpu_group_uuid FROM pgpu_type pt JOIN pgpu p ON p.uuid = pt.pgpu_uuid "
		      "WHERE pt.vgpu_type_uuid=$1 AND pt.supported=1 AND pt.enabled=1 AND p.gpu_group_uuid IS NOT "
		      "NULL ORDER BY p.gpu_group_uuid",
		      uuid, err));
	e |= put(o, "VGPU-uuids", jset(ctx, "SELECT uuid FROM vgpu WHERE vgpu_type_uuid=$1 ORDER BY uuid", uuid, err));
	e |= put(o, "discovery-problems",
		 jset(ctx,
		      "SELECT p.pci_id || ': ' || pt.problem FROM pgpu_type pt JOIN pgpu p ON p.uuid = pt.pgpu_uuid "
		      "WHERE pt.vgpu_type_uuid=$1 AND pt.supported=1 AND pt.problem <> '' ORDER BY p.pci_id",
		      uuid, err));
	return e ? -EIO : 0;
}

int carve_records_vgpu_type(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err)
{
	return build(ctx, "SELECT * FROM vgpu_type t" TYPE_ORDER, "SELECT * FROM vgpu_type t WHERE t.uuid=$1", uuid,
		     vgpu_type_row, NULL, out, err);
}

/* ---- gpu group ---- */
static int gpu_group_row(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data,
			 struct carve_error *err)
{
	(void)data;
	const char *uuid = carve_rows_get(r, i, "uuid");
	int e = 0;
	e |= put(o, "uuid", jstr(r, i, "uuid"));
	e |= put(o, "name-label", jstr(r, i, "name_label"));
	e |= put(o, "name-description", jstr(r, i, "name_description"));
	e |= put(o, "PGPU-uuids", jset(ctx, "SELECT uuid FROM pgpu WHERE gpu_group_uuid=$1 ORDER BY pci_id", uuid, err));
	e |= put(o, "VGPU-uuids", jset(ctx, "SELECT uuid FROM vgpu WHERE gpu_group_uuid=$1 ORDER BY uuid", uuid, err));
	e |= put(o, "GPU-types",
		 jset(ctx,
		      "SELECT DISTINCT vendor_id || '/' || device_id AS t FROM pgpu WHERE gpu_group_uuid=$1 ORDER BY t",
		      uuid, err));
	e |= put(o, "allocation-algorithm", jstr(r, i, "allocation_algorithm"));
	e |= put(o, "supported-VGPU-types",
		 jset(ctx,
		      "SELECT DISTINCT t.uuid, t.vendor_name, t.board, t.implementation, t.framebuffer_size, "
		      "t.model_name FROM pgpu p JOIN pgpu_type pt ON pt.pgpu_uuid = p.uuid JOIN vgpu_type t ON "
		      "t.uuid = pt.vgpu_type_uuid WHERE p.gpu_group_uuid=$1 AND pt.supported=1" TYPE_ORDER,
		      uuid, err));
	e |= put(o, "enabled-VGPU-types",
		 jset(ctx,
		      "SELECT DISTINCT t.uuid, t.vendor_name, t.board, t.implementation, t.framebuffer_size, "
		      "t.model_name FROM pgpu p JOIN pgpu_type pt ON pt.pgpu_uuid = p.uuid JOIN vgpu_type t ON "
		      "t.uuid = pt.vgpu_type_uuid WHERE p.gpu_group_uuid=$1 AND pt.supported=1 AND pt.enabled=1" TYPE_ORDER,
		      uuid, err));
	return e ? -EIO : 0;
}

int carve_records_gpu_group(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err)
{
	return build(ctx, "SELECT * FROM gpu_group ORDER BY name_label, uuid", "SELECT * FROM gpu_group WHERE uuid=$1",
		     uuid, gpu_group_row, NULL, out, err);
}

/* ---- vm ---- */
static int vm_row(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data, struct carve_error *err)
{
	(void)data;
	const char *uuid = carve_rows_get(r, i, "uuid");
	int e = 0;
	e |= put(o, "uuid", jstr(r, i, "uuid"));
	e |= put(o, "name-label", jstr(r, i, "name_label"));
	e |= put(o, "power-state", jstr(r, i, "power_state"));
	e |= put(o, "name-description", jstr(r, i, "name_description"));
	e |= put(o, "numa-node", jint(r, i, "numa_node"));
	e |= put(o, "resident-on", jstr(r, i, "resident_on"));
	e |= put(o, "VGPUs", jset(ctx, "SELECT uuid FROM vgpu WHERE vm_uuid=$1 ORDER BY device, uuid", uuid, err));
	return e ? -EIO : 0;
}

int carve_records_vm(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err)
{
	return build(ctx, "SELECT * FROM vm ORDER BY name_label, uuid", "SELECT * FROM vm WHERE uuid=$1", uuid, vm_row, NULL,
		     out, err);
}

/* ---- vgpu ---- */
#define VGPU_SELECT                                                                                                \
	"SELECT v.*, m.name_label AS vm_label, t.model_name AS type_name FROM vgpu v JOIN vm m ON m.uuid = "     \
	"v.vm_uuid JOIN vgpu_type t ON t.uuid = v.vgpu_type_uuid "

static int vgpu_row(struct carve_ctx *ctx, const struct carve_rows *r, size_t i, json_t *o, void *data, struct carve_error *err)
{
	(void)data;
	(void)ctx;
	(void)err;
	const char *state = carve_rows_get(r, i, "state");
	int e = 0;
	e |= put(o, "uuid", jstr(r, i, "uuid"));
	e |= put(o, "vm-uuid", jstr(r, i, "vm_uuid"));
	e |= put(o, "vm-name-label", jstr(r, i, "vm_label"));
	e |= put(o, "gpu-group-uuid", jstr(r, i, "gpu_group_uuid"));
	e |= put(o, "type-uuid", jstr(r, i, "vgpu_type_uuid"));
	e |= put(o, "type-model-name", jstr(r, i, "type_name"));
	e |= put(o, "device", jstr(r, i, "device"));
	e |= put(o, "state", jstr(r, i, "state"));
	e |= put(o, "currently-attached", json_boolean(state && strcmp(state, "running") == 0));
	e |= put(o, "scheduled-to-be-resident-on", jstr(r, i, "scheduled_pgpu"));
	e |= put(o, "resident-on", jstr(r, i, "resident_on"));
	e |= put(o, "device-pci", jstr(r, i, "device_pci"));
	e |= put(o, "extra-args", jstr(r, i, "extra_args"));
	e |= put(o, "origin", jstr(r, i, "origin"));
	return e ? -EIO : 0;
}

int carve_records_vgpu(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err)
{
	return build(ctx, VGPU_SELECT "ORDER BY m.name_label, v.device, v.uuid", VGPU_SELECT "WHERE v.uuid=$1", uuid,
		     vgpu_row, NULL, out, err);
}

carve_records_fn carve_records_for(const char *class_name)
{
	static const struct {
		const char *name;
		carve_records_fn fn;
	} map[] = {
		{"host", carve_records_host}, {"pgpu", carve_records_pgpu}, {"vgpu-type", carve_records_vgpu_type},
		{"gpu-group", carve_records_gpu_group}, {"vm", carve_records_vm}, {"vgpu", carve_records_vgpu},
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcmp(map[i].name, class_name) == 0)
			return map[i].fn;
	return NULL;
}
