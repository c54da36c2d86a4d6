/* records.c - the JSON records of each class, built from the resident
 * model: fields.c's table gives every field's name and place, and each
 * class's value() below maps a field id to its value, so a field is named
 * once.  No SQL: reads are answered from memory.
 *
 * List orders are the model's fixed ones (docs/api.md): hosts and groups
 * and VMs by name, then UUID; PGPUs by host name, then PCI address; vGPU
 * types by vendor, board, implementation, framebuffer, model name; vGPUs
 * by VM name, slot, UUID.
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "state/model.h"
#include "util/cleanup.h"

/* ---- value helpers ---- */

static json_t *jstr(const char *s)
{
	return json_string(s ? s : "");
}

/* A set from the lines of a text ("" = the empty set). */
static json_t *jlines(const char *v)
{
	json_t *a = json_array();
	while (a && v && *v) {
		size_t n = strcspn(v, "\n");
		json_array_append_new(a, json_stringn(v, n));
		v += n + (v[n] != '\0');
	}
	return a;
}

/* A set of UUIDs from objects (their first member is the UUID). */
static json_t *juuids(void *const *objs, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string((const char *)objs[i]));
	return a;
}

/* ---- orders ---- */

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int carve_records_cmp_type(const void *a, const void *b)
{
	const struct carve_obj_type *x = *(struct carve_obj_type *const *)a, *y = *(struct carve_obj_type *const *)b;
	int r;
	if ((r = cmp_str(x->vendor_name, y->vendor_name)) || (r = cmp_str(x->place.board, y->place.board)) ||
	    (r = cmp_str(x->place.implementation, y->place.implementation)))
		return r;
	if (x->framebuffer_size != y->framebuffer_size)
		return x->framebuffer_size < y->framebuffer_size ? -1 : 1;
	if ((r = cmp_str(x->model_name, y->model_name)))
		return r;
	return strcmp(x->place.uuid, y->place.uuid);
}

static int cmp_pgpu_pci(const void *a, const void *b)
{
	const struct carve_obj_pgpu *x = *(struct carve_obj_pgpu *const *)a, *y = *(struct carve_obj_pgpu *const *)b;
	int r = strcmp(carve_pgpu_place(x)->pci, carve_pgpu_place(y)->pci);
	return r ? r : strcmp(x->uuid, y->uuid);
}

int carve_records_cmp_pgpu(const void *a, const void *b)
{
	const struct carve_obj_pgpu *x = *(struct carve_obj_pgpu *const *)a, *y = *(struct carve_obj_pgpu *const *)b;
	int r = cmp_str(x->host->name_label, y->host->name_label);
	return r ? r : cmp_pgpu_pci(a, b);
}

static int cmp_host(const void *a, const void *b)
{
	const struct carve_obj_host *x = *(struct carve_obj_host *const *)a, *y = *(struct carve_obj_host *const *)b;
	int r = cmp_str(x->name_label, y->name_label);
	return r ? r : strcmp(x->uuid, y->uuid);
}

int carve_records_cmp_group(const void *a, const void *b)
{
	const struct carve_obj_group *x = *(struct carve_obj_group *const *)a, *y = *(struct carve_obj_group *const *)b;
	int r = cmp_str(x->name_label, y->name_label);
	return r ? r : strcmp(x->uuid, y->uuid);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct carve_obj_vm *x = *(struct carve_obj_vm *const *)a, *y = *(struct carve_obj_vm *const *)b;
	int r = cmp_str(x->name_label, y->name_label);
	return r ? r : strcmp(x->uuid, y->uuid);
}

static int cmp_vgpu(const void *a, const void *b)
{
	const struct carve_obj_vgpu *x = *(struct carve_obj_vgpu *const *)a, *y = *(struct carve_obj_vgpu *const *)b;
	int r = cmp_str(x->vm->name_label, y->vm->name_label);
	if (r)
		return r;
	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	return strcmp(x->uuid, y->uuid);
}

/* A sorted copy of some objects (caller frees the array). */
static void **sorted(void *const *v, size_t n, int (*cmp)(const void *, const void *))
{
	void **a = malloc((n + 1) * sizeof(*a));
	if (a && n) {
		memcpy(a, v, n * sizeof(*a));
		qsort(a, n, sizeof(*a), cmp);
	}
	return a;
}

/* Collect the objects of class `objs` for which keep() holds, sorted. */
static json_t *set_where(const struct carve_objs *objs, bool (*keep)(const void *obj, const void *arg), const void *arg,
			 int (*cmp)(const void *, const void *))
{
	_cleanup_free_ void **a = malloc((objs->n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < objs->n; i++)
		if (keep(objs->v[i], arg))
			a[n++] = objs->v[i];
	qsort(a, n, sizeof(*a), cmp);
	return juuids(a, n);
}

/* ---- the per-class values ---- */

static bool pgpu_on_host(const void *o, const void *arg)
{
	return ((const struct carve_obj_pgpu *)o)->host == arg;
}

static json_t *host_value(struct carve_model *m, const void *obj, int id)
{
	const struct carve_obj_host *h = obj;
	switch ((enum carve_host_field)id) {
	case CARVE_F_HOST_UUID: return jstr(h->uuid);
	case CARVE_F_HOST_NAME_LABEL: return jstr(h->name_label);
	case CARVE_F_HOST_NAME_DESCRIPTION: return jstr(h->name_description);
	case CARVE_F_HOST_HOSTNAME: return jstr(h->hostname);
	case CARVE_F_HOST_ENABLED: return json_boolean(h->enabled);
	case CARVE_F_HOST_LIVE: return json_boolean(carve_model_host_live(m, h));
	case CARVE_F_HOST_BACKEND: return jstr(h->backend);
	case CARVE_F_HOST_LAST_DISCOVERY: return jstr(h->last_discovery);
	case CARVE_F_HOST_PGPU_UUIDS: return set_where(&m->pgpus, pgpu_on_host, h, cmp_pgpu_pci);
	case CARVE_F_HOST_DISCOVERY_PROBLEMS: return jlines(h->discovery_problems);
	case CARVE_F_HOST_DRIVER_VERSION: return jstr(h->driver_version);
	}
	return NULL;
}

/* The supported (and, with enabled, enabled) types of p, in type order. */
static json_t *pgpu_types(const struct carve_obj_pgpu *p, bool enabled)
{
	const struct carve_place_pgpu *pl = carve_pgpu_place(p);
	_cleanup_free_ const struct carve_obj_type **a = malloc((pl->n_slots + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < pl->n_slots; i++)
		if (!pl->slots[i].unsupported && (!enabled || pl->slots[i].enabled))
			a[n++] = (const struct carve_obj_type *)pl->slots[i].type; /* place is the type's first member */
	qsort(a, n, sizeof(*a), carve_records_cmp_type);
	return juuids((void *const *)a, n);
}

enum slot_map { MAP_MAX, MAP_REMAINING, MAP_SOURCE };

/* Per supported type (slot order = type UUID order): its maximum, what
 * fits now, or which budget decided that. */
static json_t *pgpu_map(struct carve_model *m, const struct carve_obj_pgpu *p, enum slot_map what)
{
	const struct carve_place_pgpu *pl = carve_pgpu_place(p);
	json_t *o = json_object();
	for (size_t i = 0; o && i < pl->n_slots; i++) {
		const struct carve_place_slot *s = &pl->slots[i];
		if (s->unsupported)
			continue;
		json_t *v;
		if (what == MAP_MAX) {
			v = json_integer(p->ext[i].max_instances);
		} else if (what == MAP_REMAINING) {
			int64_t n = 0;
			carve_model_capacity(m, p, (const struct carve_obj_type *)s->type, &n, NULL, NULL);
			v = json_integer(n);
		} else {
			bool model = carve_place_capacity_source(pl, s->type) == CARVE_PLACE_SOURCE_MODEL;
			v = json_string(model ? s->budget_source : "kernel");
		}
		json_object_set_new(o, s->type->uuid, v);
	}
	return o;
}

/* The NVLink peers as PGPUs of the same host: their UUIDs, or with links
 * a map UUID -> link count; peers carve does not know are left out. */
static json_t *pgpu_nvlink(struct carve_model *m, const struct carve_obj_pgpu *p, bool links)
{
	json_t *o = links ? json_object() : json_array();
	for (size_t i = 0; o && p->host && i < p->n_nvlink; i++) {
		const struct carve_obj_pgpu *q = carve_model_pgpu_at(m, p->host->uuid, p->nvlink[i].peer);
		if (!q)
			continue;
		if (links)
			json_object_set_new(o, q->uuid, json_integer(p->nvlink[i].links));
		else
			json_array_append_new(o, json_string(q->uuid));
	}
	return o;
}

/* ECC facts from the stored JSON (host/inventory.h's keys): "mode" is
 * on/off/unknown ("on, off after a reset" when a change is pending);
 * "errors" the four counters; "retired" the pages; "pending" whether a
 * retirement or remapping waits for a reset. */
static json_t *pgpu_ecc(const struct carve_obj_pgpu *p, const char *what)
{
	_cleanup_json_ json_t *e = p->ecc && *p->ecc ? json_loads(p->ecc, 0, NULL) : NULL;
	bool known = e != NULL;
	bool on = json_is_true(json_object_get(e, "enabled")), pending = json_is_true(json_object_get(e, "pending"));
	if (strcmp(what, "mode") == 0) {
		if (!known)
			return jstr("unknown");
		char buf[48];
		snprintf(buf, sizeof(buf), "%s%s", on ? "on" : "off",
			 on != pending ? (pending ? ", on after a reset" : ", off after a reset") : "");
		return jstr(buf);
	}
	if (strcmp(what, "errors") == 0) {
		json_t *o = json_object();
		static const char *const keys[] = {"volatile-corrected", "volatile-uncorrected", "aggregate-corrected",
						   "aggregate-uncorrected"};
		for (size_t i = 0; o && known && i < ARRAY_SIZE(keys); i++)
			json_object_set(o, keys[i], json_object_get(e, keys[i]));
		return o;
	}
	if (strcmp(what, "retired") == 0)
		return json_integer(json_integer_value(json_object_get(e, "retired-sbe")) +
				    json_integer_value(json_object_get(e, "retired-dbe")));
	return json_boolean(json_is_true(json_object_get(e, "retired-pending")) ||
			    json_is_true(json_object_get(e, "remap-pending")));
}

static json_t *pgpu_value(struct carve_model *m, const void *obj, int id)
{
	const struct carve_obj_pgpu *p = obj;
	const struct carve_place_pgpu *pl = carve_pgpu_place(p);
	switch ((enum carve_pgpu_field)id) {
	case CARVE_F_PGPU_UUID: return jstr(p->uuid);
	case CARVE_F_PGPU_VENDOR_NAME: return jstr(p->vendor_name);
	case CARVE_F_PGPU_DEVICE_NAME: return jstr(p->device_name);
	case CARVE_F_PGPU_GPU_GROUP_UUID: return jstr(p->group ? p->group->uuid : "");
	case CARVE_F_PGPU_GPU_GROUP_NAME_LABEL: return jstr(p->group ? p->group->name_label : "");
	case CARVE_F_PGPU_HOST_UUID: return jstr(p->host->uuid);
	case CARVE_F_PGPU_HOST_NAME_LABEL: return jstr(p->host->name_label);
	case CARVE_F_PGPU_PCI_ID: return jstr(pl->pci);
	case CARVE_F_PGPU_VENDOR_ID: return jstr(p->vendor_id);
	case CARVE_F_PGPU_DEVICE_ID: return jstr(p->device_id);
	case CARVE_F_PGPU_SUBSYSTEM_VENDOR_ID: return jstr(p->subsystem_vendor_id);
	case CARVE_F_PGPU_SUBSYSTEM_DEVICE_ID: return jstr(p->subsystem_device_id);
	case CARVE_F_PGPU_BOARD: return jstr(p->board);
	case CARVE_F_PGPU_DRIVER: return jstr(p->driver);
	case CARVE_F_PGPU_IMPLEMENTATION: return jstr(carve_impl_name(p->impl));
	case CARVE_F_PGPU_NUMA_NODE: return json_integer(pl->numa_node);
	case CARVE_F_PGPU_IOMMU_GROUP: return json_integer(p->iommu_group);
	case CARVE_F_PGPU_SRIOV_TOTALVFS: return json_integer(p->sriov_totalvfs);
	case CARVE_F_PGPU_SRIOV_NUMVFS: return json_integer(p->sriov_numvfs);
	case CARVE_F_PGPU_MIXED_SIZE: return json_boolean(pl->mixed_size);
	case CARVE_F_PGPU_MIXED_SIZE_SOURCE: return jstr(carve_hw_source_name(p->mixed_size_source));
	case CARVE_F_PGPU_MIXED_SIZE_SUPPORTED: return json_boolean(p->mixed_size_supported);
	case CARVE_F_PGPU_DEFAULT_VGPU_PARAMS: return jstr(p->vgpu_params);
	case CARVE_F_PGPU_MIG_MODE: return jstr(p->mig_mode[0] ? p->mig_mode : "unknown");
	case CARVE_F_PGPU_MIG_INSTANCES: return jlines(p->mig_instances);
	case CARVE_F_PGPU_NVLINK_PEERS: return pgpu_nvlink(m, p, false);
	case CARVE_F_PGPU_NVLINK_LINKS: return pgpu_nvlink(m, p, true);
	case CARVE_F_PGPU_ECC_MODE: return pgpu_ecc(p, "mode");
	case CARVE_F_PGPU_ECC_ERRORS: return pgpu_ecc(p, "errors");
	case CARVE_F_PGPU_RETIRED_PAGES: return pgpu_ecc(p, "retired");
	case CARVE_F_PGPU_RETIRED_PAGES_PENDING: return pgpu_ecc(p, "pending");
	case CARVE_F_PGPU_HEALTH: return jstr(carve_health_name(p->health));
	case CARVE_F_PGPU_HEALTH_REASON: return jstr(p->health_reason);
	case CARVE_F_PGPU_IS_SYSTEM_DISPLAY_DEVICE: return json_boolean(p->is_system_display);
	case CARVE_F_PGPU_DOM0_ACCESS: return jstr(p->dom0_access);
	case CARVE_F_PGPU_PRESENT: return json_boolean(pl->present);
	case CARVE_F_PGPU_SIZE: return json_integer(pl->size);
	case CARVE_F_PGPU_SUPPORTED_VGPU_TYPES: return pgpu_types(p, false);
	case CARVE_F_PGPU_ENABLED_VGPU_TYPES: return pgpu_types(p, true);
	case CARVE_F_PGPU_SUPPORTED_VGPU_MAX_CAPACITIES: return pgpu_map(m, p, MAP_MAX);
	case CARVE_F_PGPU_REMAINING_VGPU_CAPACITIES: return pgpu_map(m, p, MAP_REMAINING);
	case CARVE_F_PGPU_VGPU_CAPACITY_SOURCES: return pgpu_map(m, p, MAP_SOURCE);
	case CARVE_F_PGPU_RESIDENT_VGPUS: {
		json_t *a = json_array();
		for (uint32_t i = 0; a && i < p->n_vgpus; i++) /* kept by UUID */
			if (p->vgpus[i]->resident == p)
				json_array_append_new(a, json_string(p->vgpus[i]->uuid));
		return a;
	}
	case CARVE_F_PGPU_DISCOVERY_PROBLEMS: return jlines(p->discovery_problems);
	}
	return NULL;
}

static json_t *type_pgpus(const struct carve_model *m, const struct carve_obj_type *t, bool enabled)
{
	_cleanup_free_ const char **a = malloc((m->pgpus.n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < m->pgpus.n; i++)
		if (carve_pgpu_supports(m->pgpus.v[i], t, enabled))
			a[n++] = ((struct carve_obj_pgpu *)m->pgpus.v[i])->uuid;
	qsort(a, n, sizeof(*a), cmp_uuid);
	return juuids((void *const *)a, n);
}

static json_t *type_groups(const struct carve_model *m, const struct carve_obj_type *t, bool enabled)
{
	_cleanup_free_ const char **a = malloc((m->groups.n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t g = 0; g < m->groups.n; g++) {
		const struct carve_obj_group *grp = m->groups.v[g];
		bool any = false;
		for (size_t i = 0; i < m->pgpus.n && !any; i++) {
			const struct carve_obj_pgpu *p = m->pgpus.v[i];
			any = p->group == grp && carve_pgpu_supports(p, t, enabled);
		}
		if (any)
			a[n++] = grp->uuid;
	}
	qsort(a, n, sizeof(*a), cmp_uuid);
	return juuids((void *const *)a, n);
}

/* XAPI's compatible-types-on-pgpu, by placement's own rule
 * (carve_place_types_compatible): t itself unless it is passthrough (a
 * whole GPU shares with nothing, not even another passthrough), and every
 * type some PGPU supports beside t and would run next to it. */
static json_t *type_compatible_on_pgpu(const struct carve_model *m, const struct carve_obj_type *t)
{
	_cleanup_free_ const struct carve_obj_type **a = malloc((m->types.n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t k = 0; k < m->types.n; k++) {
		const struct carve_obj_type *o = m->types.v[k];
		bool ok = o == t && !t->place.passthrough;
		for (size_t i = 0; i < m->pgpus.n && !ok && o != t; i++) {
			const struct carve_obj_pgpu *p = m->pgpus.v[i];
			ok = carve_pgpu_supports(p, t, false) && carve_pgpu_supports(p, o, false) &&
			     carve_place_types_compatible(carve_pgpu_place(p), &t->place, &o->place);
		}
		if (ok)
			a[n++] = o;
	}
	qsort(a, n, sizeof(*a), carve_records_cmp_type);
	return juuids((void *const *)a, n);
}

static json_t *type_compatible_in_vm(const struct carve_model *m, const struct carve_obj_type *t)
{
	_cleanup_free_ const struct carve_obj_type **a = malloc((m->types.n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	/* Several vGPUs in one VM: multi-vGPU (full-size) types of one vendor. */
	for (size_t k = 0; t->multi_vgpu && k < m->types.n; k++) {
		const struct carve_obj_type *o = m->types.v[k];
		if (o->multi_vgpu && cmp_str(o->vendor_name, t->vendor_name) == 0)
			a[n++] = o;
	}
	qsort(a, n, sizeof(*a), carve_records_cmp_type);
	return juuids((void *const *)a, n);
}

static bool vgpu_of_type(const void *o, const void *arg)
{
	return ((const struct carve_obj_vgpu *)o)->type == arg;
}

static json_t *type_problems(const struct carve_model *m, const struct carve_obj_type *t)
{
	_cleanup_free_ const struct carve_obj_pgpu **a = malloc((m->pgpus.n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = m->pgpus.v[i];
		ssize_t k = carve_pgpu_slot_of(p, t);
		if (k >= 0 && !carve_pgpu_place(p)->slots[k].unsupported && p->ext[k].problem)
			a[n++] = p;
	}
	qsort(a, n, sizeof(*a), cmp_pgpu_pci);
	json_t *o = json_array();
	for (size_t i = 0; o && i < n; i++) {
		ssize_t k = carve_pgpu_slot_of(a[i], t);
		_cleanup_free_ char *line = carve_strdupf("%s: %s", carve_pgpu_place(a[i])->pci, a[i]->ext[k].problem);
		json_array_append_new(o, json_string(line ? line : ""));
	}
	return o;
}

static json_t *type_value(struct carve_model *m, const void *obj, int id)
{
	const struct carve_obj_type *t = obj;
	switch ((enum carve_vgpu_type_field)id) {
	case CARVE_F_VTYPE_UUID: return jstr(t->place.uuid);
	case CARVE_F_VTYPE_VENDOR_NAME: return jstr(t->vendor_name);
	case CARVE_F_VTYPE_MODEL_NAME: return jstr(t->model_name);
	case CARVE_F_VTYPE_FRAMEBUFFER_SIZE: return json_integer((json_int_t)t->framebuffer_size);
	case CARVE_F_VTYPE_MAX_HEADS: return json_integer(t->max_heads);
	case CARVE_F_VTYPE_MAX_RESOLUTION: {
		char res[32];
		snprintf(res, sizeof(res), "%ux%u", t->max_res_x, t->max_res_y);
		return json_string(res);
	}
	case CARVE_F_VTYPE_FRAME_RATE_LIMIT: return json_integer(t->frl_config);
	case CARVE_F_VTYPE_MAX_INSTANCES_PER_PGPU: return json_integer(t->place.max_instances);
	case CARVE_F_VTYPE_SIZE: return json_integer(t->place.size);
	case CARVE_F_VTYPE_IMPLEMENTATION: return jstr(t->place.implementation);
	case CARVE_F_VTYPE_IDENTIFIER: return jstr(t->identifier);
	case CARVE_F_VTYPE_BOARD: return jstr(t->place.board);
	case CARVE_F_VTYPE_SERIES: return jstr(t->place.series);
	case CARVE_F_VTYPE_MULTI_VGPU_SUPPORTED: return json_boolean(t->multi_vgpu);
	case CARVE_F_VTYPE_EXPERIMENTAL: return json_boolean(t->experimental);
	case CARVE_F_VTYPE_COMPATIBLE_TYPES_ON_PGPU: return type_compatible_on_pgpu(m, t);
	case CARVE_F_VTYPE_COMPATIBLE_TYPES_IN_VM: return type_compatible_in_vm(m, t);
	case CARVE_F_VTYPE_SUPPORTED_ON_PGPUS: return type_pgpus(m, t, false);
	case CARVE_F_VTYPE_ENABLED_ON_PGPUS: return type_pgpus(m, t, true);
	case CARVE_F_VTYPE_SUPPORTED_ON_GPU_GROUPS: return type_groups(m, t, false);
	case CARVE_F_VTYPE_ENABLED_ON_GPU_GROUPS: return type_groups(m, t, true);
	case CARVE_F_VTYPE_VGPU_UUIDS: return set_where(&m->vgpus, vgpu_of_type, t, cmp_uuid);
	case CARVE_F_VTYPE_DISCOVERY_PROBLEMS: return type_problems(m, t);
	}
	return NULL;
}

static bool pgpu_in_group(const void *o, const void *arg)
{
	return ((const struct carve_obj_pgpu *)o)->group == arg;
}

static bool vgpu_in_group(const void *o, const void *arg)
{
	return ((const struct carve_obj_vgpu *)o)->group == arg;
}

static json_t *group_types(const struct carve_model *m, const struct carve_obj_group *g, bool enabled)
{
	_cleanup_free_ const struct carve_obj_type **a = malloc((m->types.n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t n = 0;
	for (size_t k = 0; k < m->types.n; k++) {
		const struct carve_obj_type *t = m->types.v[k];
		if (carve_model_group_supports(m, g, t, enabled))
			a[n++] = t;
	}
	qsort(a, n, sizeof(*a), carve_records_cmp_type);
	return juuids((void *const *)a, n);
}

static json_t *group_gpu_types(const struct carve_model *m, const struct carve_obj_group *g)
{
	_cleanup_free_ char **a = calloc(m->pgpus.n + 1, sizeof(*a));
	json_t *o = json_array();
	if (!a || !o) {
		json_decref(o);
		return NULL;
	}
	size_t n = 0;
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = m->pgpus.v[i];
		if (p->group != g)
			continue;
		char *key = carve_strdupf("%s/%s", p->vendor_id, p->device_id);
		bool dup = false;
		for (size_t k = 0; key && k < n && !dup; k++)
			dup = strcmp(a[k], key) == 0;
		if (key && !dup)
			a[n++] = key;
		else
			free(key);
	}
	qsort(a, n, sizeof(*a), cmp_uuid);
	for (size_t k = 0; k < n; k++) {
		json_array_append_new(o, json_string(a[k]));
		free(a[k]);
	}
	return o;
}

static json_t *group_value(struct carve_model *m, const void *obj, int id)
{
	const struct carve_obj_group *g = obj;
	switch ((enum carve_gpu_group_field)id) {
	case CARVE_F_GROUP_UUID: return jstr(g->uuid);
	case CARVE_F_GROUP_NAME_LABEL: return jstr(g->name_label);
	case CARVE_F_GROUP_NAME_DESCRIPTION: return jstr(g->name_description);
	case CARVE_F_GROUP_PGPU_UUIDS: return set_where(&m->pgpus, pgpu_in_group, g, cmp_pgpu_pci);
	case CARVE_F_GROUP_VGPU_UUIDS: return set_where(&m->vgpus, vgpu_in_group, g, cmp_uuid);
	case CARVE_F_GROUP_GPU_TYPES: return group_gpu_types(m, g);
	case CARVE_F_GROUP_ALLOCATION_ALGORITHM: return jstr(carve_place_algo_name(g->algo));
	case CARVE_F_GROUP_DEGRADED_PGPUS: return jstr(carve_degraded_policy_name(g->degraded));
	case CARVE_F_GROUP_SUPPORTED_VGPU_TYPES: return group_types(m, g, false);
	case CARVE_F_GROUP_ENABLED_VGPU_TYPES: return group_types(m, g, true);
	}
	return NULL;
}

static json_t *vm_value(struct carve_model *m, const void *obj, int id)
{
	const struct carve_obj_vm *vm = obj;
	(void)m;
	switch ((enum carve_vm_field)id) {
	case CARVE_F_VM_UUID: return jstr(vm->uuid);
	case CARVE_F_VM_NAME_LABEL: return jstr(vm->name_label);
	case CARVE_F_VM_POWER_STATE: return jstr(carve_power_state_name(vm->power));
	case CARVE_F_VM_NAME_DESCRIPTION: return jstr(vm->name_description);
	case CARVE_F_VM_NUMA_NODE: return json_integer(vm->numa_node);
	case CARVE_F_VM_RESIDENT_ON: return jstr(vm->resident_on ? vm->resident_on->uuid : "");
	case CARVE_F_VM_VGPUS: return juuids((void *const *)vm->vgpus, vm->n_vgpus); /* by slot */
	case CARVE_F_VM_LAST_ERROR: return jstr(vm->last_error);
	case CARVE_F_VM_P2P: return jstr(carve_p2p_name(vm->p2p));
	case CARVE_F_VM_MIGRATION: return jstr(carve_migration_name(vm->migration));
	case CARVE_F_VM_MIGRATION_PEER: return jstr(vm->migration_peer);
	}
	return NULL;
}

static json_t *vgpu_value(struct carve_model *m, const void *obj, int id)
{
	const struct carve_obj_vgpu *v = obj;
	(void)m;
	switch ((enum carve_vgpu_field)id) {
	case CARVE_F_VGPU_UUID: return jstr(v->uuid);
	case CARVE_F_VGPU_VM_UUID: return jstr(v->vm->uuid);
	case CARVE_F_VGPU_VM_NAME_LABEL: return jstr(v->vm->name_label);
	case CARVE_F_VGPU_GPU_GROUP_UUID: return jstr(v->group->uuid);
	case CARVE_F_VGPU_TYPE_UUID: return jstr(v->type->place.uuid);
	case CARVE_F_VGPU_TYPE_MODEL_NAME: return jstr(v->type->model_name);
	case CARVE_F_VGPU_DEVICE: {
		char d[16];
		snprintf(d, sizeof(d), "%u", v->device);
		return json_string(d);
	}
	case CARVE_F_VGPU_STATE: return jstr(carve_vgpu_state_name(v->state));
	case CARVE_F_VGPU_CURRENTLY_ATTACHED: return json_boolean(v->state == CARVE_VGPU_RUNNING);
	case CARVE_F_VGPU_SCHEDULED_TO_BE_RESIDENT_ON: return jstr(v->scheduled ? v->scheduled->uuid : "");
	case CARVE_F_VGPU_RESIDENT_ON: return jstr(v->resident ? v->resident->uuid : "");
	case CARVE_F_VGPU_DEVICE_PCI: return jstr(v->device_pci);
	case CARVE_F_VGPU_EXTRA_ARGS: return jstr(v->extra_args);
	case CARVE_F_VGPU_ORIGIN: return jstr(carve_vgpu_origin_name(v->origin));
	}
	return NULL;
}

/* ---- building ---- */

typedef json_t *(*value_fn)(struct carve_model *m, const void *obj, int id);

static json_t *record(struct carve_model *m, const struct carve_class *cls, value_fn fn, const bool *want,
		      const void *obj)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < cls->n_fields; i++) {
		if (want && !want[i])
			continue;
		json_t *v = fn(m, obj, cls->fields[i].id);
		if (!v || json_object_set_new(o, cls->fields[i].name, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Records of all objects (sorted) or of the one with uuid (none if absent). */
static int build(struct carve_ctx *ctx, const char *cls_name, const struct carve_objs *objs,
		 int (*cmp)(const void *, const void *), value_fn fn, const char *uuid, const bool *want, json_t **out,
		 struct carve_error *err)
{
	const struct carve_class *cls = carve_class_find(cls_name);
	_cleanup_json_ json_t *a = json_array();
	if (!a)
		return -ENOMEM;
	if (uuid) {
		void *obj = carve_objs_get(objs, uuid);
		json_t *rec = obj ? record(ctx->model, cls, fn, want, obj) : NULL;
		if (obj && (!rec || json_array_append_new(a, rec) < 0))
			return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "cannot build record");
		*out = TAKE_PTR(a);
		return 0;
	}
	_cleanup_free_ void **v = sorted(objs->v, objs->n, cmp);
	if (!v)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	for (size_t i = 0; i < objs->n; i++) {
		json_t *rec = record(ctx->model, cls, fn, want, v[i]);
		if (!rec || json_array_append_new(a, rec) < 0)
			return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "cannot build record");
	}
	*out = TAKE_PTR(a);
	return 0;
}

#define BUILDER(name, cls, field, cmp, fn)                                                                          \
	int carve_records_##name(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out,          \
				 struct carve_error *err)                                                          \
	{                                                                                                          \
		return build(ctx, cls, &ctx->model->field, cmp, fn, uuid, want, out, err);                        \
	}

BUILDER(host, "host", hosts, cmp_host, host_value)
BUILDER(pgpu, "pgpu", pgpus, carve_records_cmp_pgpu, pgpu_value)
BUILDER(vgpu_type, "vgpu-type", types, carve_records_cmp_type, type_value)
BUILDER(gpu_group, "gpu-group", groups, carve_records_cmp_group, group_value)
BUILDER(vm, "vm", vms, cmp_vm, vm_value)
BUILDER(vgpu, "vgpu", vgpus, cmp_vgpu, vgpu_value)

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
