/* model.c - the resident model (see model.h). */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "model/model.h"
#include "repo.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/uuid.h"

/* ---- UUID (and string) map: open addressing, linear probing ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static void *umap_get(const struct carve_umap *m, const char *key)
{
	if (!m->cap || !key)
		return NULL;
	for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		void *o = m->slot[i];
		if (!o)
			return NULL;
		if (strcmp((const char *)o, key) == 0)
			return o;
	}
}

static int umap_put(struct carve_umap *m, void *obj)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		void **slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slot[i])
				continue;
			size_t j = hash_str(m->slot[i]) & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = m->slot[i];
		}
		free(m->slot);
		m->slot = slot;
		m->cap = cap;
	}
	size_t i = hash_str(obj) & (m->cap - 1);
	while (m->slot[i] && m->slot[i] != obj)
		i = (i + 1) & (m->cap - 1);
	if (!m->slot[i])
		m->n++;
	m->slot[i] = obj;
	return 0;
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
static void umap_del(struct carve_umap *m, const void *obj)
{
	if (!m->cap)
		return;
	size_t i = hash_str(obj) & (m->cap - 1);
	while (m->slot[i] && m->slot[i] != obj)
		i = (i + 1) & (m->cap - 1);
	if (!m->slot[i])
		return;
	m->slot[i] = NULL;
	m->n--;
	for (size_t j = (i + 1) & (m->cap - 1); m->slot[j]; j = (j + 1) & (m->cap - 1)) {
		size_t home = hash_str(m->slot[j]) & (m->cap - 1);
		/* Move j back to i when i lies on j's probe path (cyclically). */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slot[i] = m->slot[j];
			m->slot[j] = NULL;
			i = j;
		}
	}
}

static int objs_add(struct carve_objs *o, void *obj)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		void **v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	if (umap_put(&o->map, obj) < 0)
		return -ENOMEM;
	o->v[o->n++] = obj;
	return 0;
}

static void objs_del(struct carve_objs *o, void *obj)
{
	umap_del(&o->map, obj);
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i] == obj) {
			o->v[i] = o->v[--o->n];
			return;
		}
}

const char *carve_model_intern(struct carve_model *m, const char *s)
{
	if (!s)
		s = "";
	const char *have = umap_get(&m->strings, s);
	if (have)
		return have;
	char *copy = strdup(s);
	if (!copy || umap_put(&m->strings, copy) < 0) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* ---- objects ---- */

static void host_free(struct carve_obj_host *h)
{
	if (!h)
		return;
	free(h->name_label);
	free(h->name_description);
	free(h->hostname);
	free(h->backend);
	free(h->discovery_problems);
	free(h->config);
	free(h->views);
	free(h);
}

static void group_free(struct carve_obj_group *g)
{
	if (!g)
		return;
	free(g->name_label);
	free(g->name_description);
	free(g->gpu_types);
	free(g->auto_key);
	free(g);
}

static void type_free(struct carve_obj_type *t)
{
	if (!t)
		return;
	free(t->type_key);
	free(t->vendor_name);
	free(t->model_name);
	free(t->identifier);
	free(t);
}

static void slots_free(struct carve_obj_pgpu *p, struct carve_place_pgpu *pl)
{
	for (size_t i = 0; pl && i < pl->n_slots; i++)
		free(p->ext[i].problem);
	free(p->ext);
	p->ext = NULL;
	if (pl) {
		free(pl->slots);
		pl->slots = NULL;
		pl->n_slots = 0;
	}
}

static void vm_free(struct carve_obj_vm *vm)
{
	if (!vm)
		return;
	free(vm->name_label);
	free(vm->name_description);
	free(vm->last_error);
	free(vm->vgpus);
	free(vm);
}

static void vgpu_free(struct carve_obj_vgpu *v)
{
	if (!v)
		return;
	free(v->extra_args);
	free(v);
}

/* ---- views ---- */

static struct carve_room *room_find(struct carve_rooms *rs, const struct carve_obj_group *g,
				    const struct carve_obj_type *t)
{
	for (size_t i = 0; rs && !rs->stale && i < rs->n; i++)
		if (rs->v[i].group == g && rs->v[i].type == t)
			return &rs->v[i];
	return NULL;
}

static int room_add(struct carve_room *r, struct carve_view *v)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct carve_view **a = realloc(r->views, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		r->views = a;
		r->cap = cap;
	}
	r->views[r->n++] = v;
	return 0;
}

static void room_del(struct carve_room *r, const struct carve_view *v)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->views[i] == v) {
			r->views[i] = r->views[--r->n];
			return;
		}
}

static void rooms_clear(struct carve_rooms *rs)
{
	for (size_t i = 0; rs && i < rs->n; i++)
		free(rs->v[i].views);
	if (rs) {
		free(rs->v);
		rs->v = NULL;
		rs->n = 0;
		rs->stale = false;
	}
}

/* Index e of view v has room, or not: its type's room set follows.  A set
 * that cannot grow is made stale (rebuilt on next use). */
static void room_note(struct carve_view *v, struct carve_view_index *e)
{
	bool has = carve_place_index_total(e->idx) > 0;
	if (has == e->room)
		return;
	e->room = has;
	struct carve_room *r = room_find(v->rooms, v->group, e->type);
	if (r && has && room_add(r, v) < 0)
		v->rooms->stale = true;
	else if (r && !has)
		room_del(r, v);
}

static void view_drop_indexes(struct carve_view *v)
{
	if (v->rooms && v->n_idx)
		v->rooms->stale = true;
	for (size_t i = 0; i < v->n_idx; i++)
		carve_place_index_free(v->idx[i].idx);
	free(v->idx);
	v->idx = NULL;
	v->n_idx = 0;
}

static void view_free(struct carve_view *v)
{
	if (!v)
		return;
	view_drop_indexes(v);
	free(v->pgpus);
	free(v->objs);
	free(v);
}

static struct carve_view *view_find(struct carve_model *m, const struct carve_obj_group *g,
				    const struct carve_obj_host *h, bool create)
{
	/* A host has a view per group it has PGPUs in: a few, however many
	 * hosts the pool has. */
	if (!h)
		return NULL;
	for (uint32_t i = 0; i < h->n_views; i++)
		if (h->views[i]->group == g)
			return h->views[i];
	if (!create)
		return NULL;
	struct carve_view **vs = realloc(m->views, (m->n_views + 1) * sizeof(*vs));
	if (!vs)
		return NULL;
	m->views = vs;
	struct carve_view **hv = realloc(h->views, (h->n_views + 1) * sizeof(*hv));
	if (!hv)
		return NULL;
	((struct carve_obj_host *)h)->views = hv;
	struct carve_view *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->group = (struct carve_obj_group *)g;
	v->host = (struct carve_obj_host *)h;
	v->rooms = m->rooms;
	if (m->rooms)
		m->rooms->stale = true; /* a view not in the sets */
	m->views[m->n_views++] = v;
	hv[((struct carve_obj_host *)h)->n_views++] = v;
	return v;
}

const struct carve_place_pgpu *carve_pgpu_place(const struct carve_obj_pgpu *p)
{
	return &p->view->pgpus[p->vi];
}

static struct carve_place_pgpu *place_of(struct carve_obj_pgpu *p)
{
	return &p->view->pgpus[p->vi];
}

/* Take p out of its view (its placement data is handed back in *out). */
static void view_remove(struct carve_obj_pgpu *p, struct carve_place_pgpu *out)
{
	struct carve_view *v = p->view;
	*out = v->pgpus[p->vi];
	size_t last = v->n - 1;
	if (p->vi != last) {
		v->pgpus[p->vi] = v->pgpus[last];
		v->objs[p->vi] = v->objs[last];
		v->objs[p->vi]->vi = p->vi;
	}
	v->n--;
	view_drop_indexes(v); /* the indexes borrow the array */
	p->view = NULL;
}

static int view_add(struct carve_view *v, struct carve_obj_pgpu *p, const struct carve_place_pgpu *pl)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct carve_place_pgpu *a = realloc(v->pgpus, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		v->pgpus = a;
		struct carve_obj_pgpu **o = realloc(v->objs, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		v->objs = o;
		v->cap = cap;
	}
	view_drop_indexes(v);
	v->pgpus[v->n] = *pl;
	v->objs[v->n] = p;
	p->view = v;
	p->vi = (uint32_t)v->n++;
	return 0;
}

/* Something that decides p's capacity changed: the view's indexes learn it. */
static void view_changed(struct carve_obj_pgpu *p)
{
	for (size_t i = 0; i < p->view->n_idx; i++) {
		carve_place_index_update(p->view->idx[i].idx, p->vi);
		room_note(p->view, &p->view->idx[i]);
	}
}

static void drop_all_indexes(struct carve_model *m)
{
	for (size_t i = 0; i < m->n_views; i++)
		view_drop_indexes(m->views[i]);
}

/* The view's index for type t, built on first use.  Readers (remaining
 * capacity, a PGPU's capacity) hold only the model's read lock, so two of
 * them may get here at once: index_lock makes the lookup and the building
 * one step.  An index, once built, is only read until a writer (the write
 * lock excludes readers) changes or drops it. */
static int view_index(struct carve_model *m, struct carve_view *v, const struct carve_obj_type *t,
		      struct carve_place_index **out)
{
	pthread_mutex_lock(&m->index_lock);
	int r = 0;
	for (size_t i = 0; i < v->n_idx; i++)
		if (v->idx[i].type == t) {
			*out = v->idx[i].idx;
			goto out;
		}
	struct carve_view_index *a = realloc(v->idx, (v->n_idx + 1) * sizeof(*a));
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	v->idx = a;
	enum carve_place_algo algo = v->group ? v->group->algo : CARVE_PLACE_DEPTH_FIRST;
	if ((r = carve_place_index_new(v->pgpus, v->n, &t->place, algo, out)) >= 0) {
		v->idx[v->n_idx] = (struct carve_view_index){.type = t, .idx = *out};
		room_note(v, &v->idx[v->n_idx++]);
	}
out:
	pthread_mutex_unlock(&m->index_lock);
	return r;
}

int carve_model_rooms(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_type *t,
		      struct carve_view *const **views, size_t *n)
{
	if (!m->rooms)
		return -ENOMEM;
	if (m->rooms->stale)
		rooms_clear(m->rooms); /* a set's flags are reset as it is built */
	struct carve_room *r = room_find(m->rooms, g, t);
	if (!r) {
		struct carve_room *a = realloc(m->rooms->v, (m->rooms->n + 1) * sizeof(*a));
		if (!a)
			return -ENOMEM;
		m->rooms->v = a;
		r = &a[m->rooms->n++];
		*r = (struct carve_room){.group = g, .type = t};
		/* every view of the group whose index has room joins: as its
		 * index is built (room_note), or here */
		for (size_t i = 0; i < m->n_views; i++)
			for (size_t k = 0; m->views[i]->group == g && k < m->views[i]->n_idx; k++)
				if (m->views[i]->idx[k].type == t)
					m->views[i]->idx[k].room = false;
		for (size_t i = 0; i < m->n_views; i++) {
			struct carve_view *v = m->views[i];
			struct carve_place_index *idx;
			if (v->group != g || v->n == 0)
				continue;
			if (view_index(m, v, t, &idx) < 0)
				return m->rooms->stale = true, -ENOMEM;
			for (size_t k = 0; k < v->n_idx; k++) {
				struct carve_view_index *e = &v->idx[k];
				if (e->type != t || e->room || carve_place_index_total(e->idx) <= 0)
					continue;
				e->room = true;
				if (room_add(r, v) < 0)
					return m->rooms->stale = true, -ENOMEM;
			}
		}
		if (m->rooms->stale) /* it could not grow: none kept */
			return -ENOMEM;
	}
	*views = r->views;
	*n = r->n;
	return 0;
}

/* ---- a PGPU's vGPUs and what placement derives from them ---- */

static int cmp_vgpu_uuid(const void *a, const void *b)
{
	return strcmp((*(struct carve_obj_vgpu *const *)a)->uuid, (*(struct carve_obj_vgpu *const *)b)->uuid);
}

static int cmp_vgpu_device(const void *a, const void *b)
{
	const struct carve_obj_vgpu *x = *(struct carve_obj_vgpu *const *)a, *y = *(struct carve_obj_vgpu *const *)b;
	return (x->device > y->device) - (x->device < y->device);
}

/* Rebuild used[] and each slot's pending count from p's vGPUs. */
static int pgpu_derive(struct carve_obj_pgpu *p)
{
	struct carve_place_pgpu *pl = place_of(p);
	const struct carve_place_type **used = realloc((void *)pl->used, (p->n_vgpus + 1) * sizeof(*used));
	if (!used)
		return -ENOMEM;
	pl->used = used;
	pl->n_used = 0;
	for (size_t s = 0; s < pl->n_slots; s++)
		pl->slots[s].pending = 0;
	for (uint32_t i = 0; i < p->n_vgpus; i++) {
		struct carve_obj_vgpu *v = p->vgpus[i];
		used[pl->n_used++] = &v->type->place;
		/* Pending: placed here, the device not made yet - a start's
		 * reservation, or a migration's destination while it prepares. */
		if (v->resident == p || (v->resident && v->vm->migration != CARVE_MIGRATION_PREPARING))
			continue;
		for (size_t s = 0; s < pl->n_slots; s++)
			if (pl->slots[s].type == &v->type->place)
				pl->slots[s].pending++;
	}
	view_changed(p);
	return 0;
}

static int ptr_push(struct carve_obj_vgpu ***arr, uint32_t *n, uint32_t *cap, struct carve_obj_vgpu *v)
{
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 4;
		struct carve_obj_vgpu **a = realloc(*arr, c * sizeof(*a));
		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

static void ptr_del(struct carve_obj_vgpu **arr, uint32_t *n, const struct carve_obj_vgpu *v)
{
	for (uint32_t i = 0; i < *n; i++)
		if (arr[i] == v) {
			memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
			(*n)--;
			return;
		}
}

/* The PGPUs a vGPU holds capacity on: where it runs or is placed, and
 * during a migration the other host's too (second, NULL when none). */
static struct carve_obj_pgpu *vgpu_where(const struct carve_obj_vgpu *v)
{
	return v->resident ? v->resident : v->scheduled;
}

static struct carve_obj_pgpu *vgpu_also(const struct carve_obj_vgpu *v)
{
	return v->resident && v->scheduled && v->scheduled != v->resident ? v->scheduled : NULL;
}

static int vgpu_attach(struct carve_obj_vgpu *v)
{
	int r = ptr_push(&v->vm->vgpus, &v->vm->n_vgpus, &v->vm->cap_vgpus, v);
	if (r < 0)
		return r;
	qsort(v->vm->vgpus, v->vm->n_vgpus, sizeof(*v->vm->vgpus), cmp_vgpu_device);
	struct carve_obj_pgpu *on[2] = {vgpu_where(v), vgpu_also(v)};
	for (size_t k = 0; k < 2 && on[k]; k++) {
		struct carve_obj_pgpu *p = on[k];
		if ((r = ptr_push(&p->vgpus, &p->n_vgpus, &p->cap_vgpus, v)) < 0)
			return r;
		qsort(p->vgpus, p->n_vgpus, sizeof(*p->vgpus), cmp_vgpu_uuid);
		if ((r = pgpu_derive(p)) < 0)
			return r;
	}
	return 0;
}

static void vgpu_detach(struct carve_obj_vgpu *v)
{
	ptr_del(v->vm->vgpus, &v->vm->n_vgpus, v);
	struct carve_obj_pgpu *on[2] = {vgpu_where(v), vgpu_also(v)};
	for (size_t k = 0; k < 2 && on[k]; k++) {
		ptr_del(on[k]->vgpus, &on[k]->n_vgpus, v);
		pgpu_derive(on[k]); /* shrinking cannot fail */
	}
}

size_t carve_model_pgpu_vgpus(const struct carve_model *m, const struct carve_obj_pgpu *p,
			      struct carve_obj_vgpu ***out)
{
	(void)m;
	*out = p->vgpus;
	return p->n_vgpus;
}

size_t carve_model_vm_vgpus(const struct carve_model *m, const struct carve_obj_vm *vm, struct carve_obj_vgpu ***out)
{
	(void)m;
	*out = vm->vgpus;
	return vm->n_vgpus;
}

/* "<pci> <links>" lines into p->nvlink (the rest ignored past the array). */
static void pgpu_set_nvlink(struct carve_obj_pgpu *p, const char *text)
{
	p->n_nvlink = 0;
	while (text && *text && p->n_nvlink < ARRAY_SIZE(p->nvlink)) {
		struct carve_obj_nvlink *l = &p->nvlink[p->n_nvlink];
		unsigned links = 0;
		int n = 0;
		if (sscanf(text, "%12s %u%n", l->peer, &links, &n) == 2 && links > 0 && links < 256) {
			l->links = (uint8_t)links;
			p->n_nvlink++;
		}
		text += strcspn(text, "\n");
		text += *text == '\n';
	}
}

static void pgpu_free(struct carve_obj_pgpu *p)
{
	if (!p)
		return;
	struct carve_place_pgpu pl = {0};
	if (p->view)
		view_remove(p, &pl);
	slots_free(p, &pl);
	free((void *)pl.used);
	free(p->discovery_problems);
	free(p->broken_reason);
	free(p->vgpu_params);
	free(p->mig_instances);
	free(p->ecc);
	free(p->health_reason);
	free(p->vgpus);
	free(p);
}

/* ---- life cycle ---- */

int carve_model_new(struct carve_model **out)
{
	struct carve_model *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->host_timeout_ms = 10000;
	if (!(m->rooms = calloc(1, sizeof(*m->rooms))) || pthread_rwlock_init(&m->lock, NULL) != 0) {
		free(m->rooms);
		free(m);
		return -ENOMEM;
	}
	if (pthread_mutex_init(&m->index_lock, NULL) != 0) {
		pthread_rwlock_destroy(&m->lock);
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->gate.mu, NULL); /* cannot fail (default attributes) */
	pthread_cond_init(&m->gate.cv, NULL);
	*out = m;
	return 0;
}

static void objs_clear(struct carve_objs *o, void (*fn)(void *))
{
	for (size_t i = 0; i < o->n; i++)
		fn(o->v[i]);
	free(o->v);
	free(o->map.slot);
	memset(o, 0, sizeof(*o));
}

/* Everything but the lock. */
static void model_clear(struct carve_model *m)
{
	objs_clear(&m->vgpus, (void (*)(void *))vgpu_free);
	objs_clear(&m->vms, (void (*)(void *))vm_free);
	objs_clear(&m->pgpus, (void (*)(void *))pgpu_free);
	objs_clear(&m->types, (void (*)(void *))type_free);
	objs_clear(&m->groups, (void (*)(void *))group_free);
	objs_clear(&m->hosts, (void (*)(void *))host_free);
	for (size_t i = 0; i < m->n_views; i++)
		view_free(m->views[i]);
	free(m->views);
	m->views = NULL;
	m->n_views = 0;
	rooms_clear(m->rooms);
	free(m->rooms);
	m->rooms = NULL;
	for (size_t i = 0; i < m->strings.cap; i++)
		free(m->strings.slot[i]);
	free(m->strings.slot);
	memset(&m->strings, 0, sizeof(m->strings));
	m->generation = 0;
}

void carve_model_free(struct carve_model *m)
{
	if (!m)
		return;
	model_clear(m);
	pthread_mutex_destroy(&m->index_lock);
	pthread_cond_destroy(&m->gate.cv);
	pthread_mutex_destroy(&m->gate.mu);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

void carve_model_rdlock(struct carve_model *m) { pthread_rwlock_rdlock(&m->lock); }
void carve_model_wrlock(struct carve_model *m) { pthread_rwlock_wrlock(&m->lock); }
void carve_model_unlock(struct carve_model *m) { pthread_rwlock_unlock(&m->lock); }

/* gate.uncommitted is written holding both the model's write lock and
 * gate.mu, so either lock makes reading it safe. */
void carve_model_set_uncommitted(struct carve_model *m, bool uncommitted)
{
	pthread_mutex_lock(&m->gate.mu);
	m->gate.uncommitted = uncommitted;
	if (!uncommitted)
		pthread_cond_broadcast(&m->gate.cv);
	pthread_mutex_unlock(&m->gate.mu);
}

void carve_model_rdlock_committed(struct carve_model *m)
{
	pthread_rwlock_rdlock(&m->lock);
	if (!m->gate.uncommitted)
		return;
	pthread_rwlock_unlock(&m->lock);
	pthread_mutex_lock(&m->gate.mu);
	m->gate.blocked++;
	for (;;) {
		while (m->gate.uncommitted)
			pthread_cond_wait(&m->gate.cv, &m->gate.mu);
		pthread_mutex_unlock(&m->gate.mu);
		pthread_rwlock_rdlock(&m->lock);
		if (!m->gate.uncommitted)
			break;
		/* A batch began before this reader got in (it came after the
		 * last await_readers): the next one's commit lets it in. */
		pthread_rwlock_unlock(&m->lock);
		pthread_mutex_lock(&m->gate.mu);
	}
	pthread_mutex_lock(&m->gate.mu);
	m->gate.blocked--;
	pthread_cond_broadcast(&m->gate.cv);
	pthread_mutex_unlock(&m->gate.mu);
}

void carve_model_await_readers(struct carve_model *m)
{
	pthread_mutex_lock(&m->gate.mu);
	while (m->gate.blocked > 0 && !m->gate.uncommitted)
		pthread_cond_wait(&m->gate.cv, &m->gate.mu);
	pthread_mutex_unlock(&m->gate.mu);
}

/* ---- lookups ---- */

void *carve_objs_get(const struct carve_objs *o, const char *uuid)
{
	return umap_get(&o->map, uuid);
}

struct carve_obj_host *carve_model_host(const struct carve_model *m, const char *uuid)
{
	return umap_get(&m->hosts.map, uuid);
}
struct carve_obj_group *carve_model_group(const struct carve_model *m, const char *uuid)
{
	return umap_get(&m->groups.map, uuid);
}
struct carve_obj_type *carve_model_type(const struct carve_model *m, const char *uuid)
{
	return umap_get(&m->types.map, uuid);
}
struct carve_obj_pgpu *carve_model_pgpu(const struct carve_model *m, const char *uuid)
{
	return umap_get(&m->pgpus.map, uuid);
}
struct carve_obj_vm *carve_model_vm(const struct carve_model *m, const char *uuid)
{
	return umap_get(&m->vms.map, uuid);
}
struct carve_obj_vgpu *carve_model_vgpu(const struct carve_model *m, const char *uuid)
{
	return umap_get(&m->vgpus.map, uuid);
}

struct carve_obj_pgpu *carve_model_pgpu_at(const struct carve_model *m, const char *host_uuid, const char *pci)
{
	char uuid[37];
	carve_pgpu_uuid(host_uuid, pci, uuid);
	return carve_model_pgpu(m, uuid);
}

ssize_t carve_pgpu_slot_of(const struct carve_obj_pgpu *p, const struct carve_obj_type *t)
{
	const struct carve_place_pgpu *pl = carve_pgpu_place(p);
	for (size_t i = 0; i < pl->n_slots; i++)
		if (pl->slots[i].type == &t->place)
			return (ssize_t)i;
	return -1;
}

bool carve_pgpu_supports(const struct carve_obj_pgpu *p, const struct carve_obj_type *t, bool enabled)
{
	ssize_t k = carve_pgpu_slot_of(p, t);
	if (k < 0)
		return false;
	const struct carve_place_slot *s = &carve_pgpu_place(p)->slots[k];
	return !s->unsupported && (!enabled || s->enabled);
}

int64_t carve_pgpu_available_after(int64_t available, uint32_t max_instances, int delta)
{
	int64_t n = available + delta;
	if (n < 0)
		return 0;
	if (max_instances > 0 && n > (int64_t)max_instances)
		return max_instances;
	return n;
}

int carve_model_pgpu_set_available(struct carve_obj_pgpu *p, const struct carve_obj_type *t, int64_t available)
{
	ssize_t s = carve_pgpu_slot_of(p, t);
	if (s < 0)
		return -ENOENT;
	place_of(p)->slots[s].host_available = available;
	view_changed(p);
	return 0;
}

bool carve_model_group_supports(const struct carve_model *m, const struct carve_obj_group *g,
				const struct carve_obj_type *t, bool enabled)
{
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = m->pgpus.v[i];
		if (p->group == g && carve_pgpu_supports(p, t, enabled))
			return true;
	}
	return false;
}

/* ---- rows -> objects ---- */


static const char *cell(const struct carve_rows *rows, size_t i, const char *col)
{
	const char *v = carve_rows_get(rows, i, col);
	return v ? v : "";
}

static bool cell_null(const struct carve_rows *rows, size_t i, const char *col)
{
	return carve_rows_get(rows, i, col) == NULL;
}

static int64_t cell_i64(const struct carve_rows *rows, size_t i, const char *col)
{
	return strtoll(cell(rows, i, col), NULL, 10);
}

static bool cell_bool(const struct carve_rows *rows, size_t i, const char *col)
{
	const char *v = cell(rows, i, col);
	return *v && strcmp(v, "0") != 0;
}

/* Replace *dst with a copy of the cell; -ENOMEM. */
static int set_str(char **dst, const struct carve_rows *rows, size_t i, const char *col)
{
	char *s = strdup(cell(rows, i, col));
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static void set_fixed(char *dst, size_t n, const struct carve_rows *rows, size_t i, const char *col)
{
	snprintf(dst, n, "%s", cell(rows, i, col));
}

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

/* A host's pool columns (host rows and carve_repo_host_liveness rows):
 * enabled, and the heartbeat's age, read now. */
static void host_set_pool(struct carve_obj_host *h, const struct carve_rows *rows, size_t i)
{
	h->enabled = cell_null(rows, i, "enabled") || cell_bool(rows, i, "enabled");
	h->heartbeat_age_ms = cell_null(rows, i, "heartbeat_age_ms") ? -1 : cell_i64(rows, i, "heartbeat_age_ms");
	h->heartbeat_read_ms = carve_mono_ms();
}

static int upsert_host(struct carve_model *m, const struct carve_rows *rows, size_t i)
{
	const char *uuid = cell(rows, i, "uuid");
	struct carve_obj_host *h = carve_model_host(m, uuid);
	bool fresh = !h;
	if (fresh && !(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	set_fixed(h->uuid, sizeof(h->uuid), rows, i, "uuid");
	set_fixed(h->last_discovery, sizeof(h->last_discovery), rows, i, "last_discovery");
	set_fixed(h->inventory_hash, sizeof(h->inventory_hash), rows, i, "inventory_hash");
	host_set_pool(h, rows, i);
	int r = 0;
	if (set_str(&h->name_label, rows, i, "name_label") < 0 ||
	    set_str(&h->name_description, rows, i, "name_description") < 0 ||
	    set_str(&h->hostname, rows, i, "hostname") < 0 || set_str(&h->backend, rows, i, "backend") < 0 ||
	    set_str(&h->discovery_problems, rows, i, "discovery_problems") < 0 ||
	    set_str(&h->config, rows, i, "config") < 0)
		r = -ENOMEM;
	set_fixed(h->driver_version, sizeof(h->driver_version), rows, i, "driver_version");
	if (fresh && (r < 0 || objs_add(&m->hosts, h) < 0)) {
		host_free(h);
		return -ENOMEM;
	}
	return r;
}

static int upsert_group(struct carve_model *m, const struct carve_rows *rows, size_t i)
{
	const char *uuid = cell(rows, i, "uuid");
	struct carve_obj_group *g = carve_model_group(m, uuid);
	bool fresh = !g;
	if (fresh && !(g = calloc(1, sizeof(*g))))
		return -ENOMEM;
	set_fixed(g->uuid, sizeof(g->uuid), rows, i, "uuid");
	int algo = carve_place_algo_from_name(cell(rows, i, "allocation_algorithm"));
	enum carve_place_algo was = g->algo;
	g->algo = algo < 0 ? CARVE_PLACE_DEPTH_FIRST : (enum carve_place_algo)algo;
	int deg = carve_degraded_policy_from_name(cell(rows, i, "degraded_pgpus"));
	g->degraded = deg < 0 ? CARVE_DEGRADED_AVOID : (enum carve_degraded_policy)deg;
	int r = 0;
	if (set_str(&g->name_label, rows, i, "name_label") < 0 ||
	    set_str(&g->name_description, rows, i, "name_description") < 0 ||
	    set_str(&g->gpu_types, rows, i, "gpu_types") < 0)
		r = -ENOMEM;
	free(g->auto_key);
	g->auto_key = cell_null(rows, i, "auto_key") ? NULL : strdup(cell(rows, i, "auto_key"));
	if (fresh && (r < 0 || objs_add(&m->groups, g) < 0)) {
		group_free(g);
		return -ENOMEM;
	}
	if (!fresh && was != g->algo) /* the indexes order by the algorithm */
		for (size_t k = 0; k < m->n_views; k++)
			if (m->views[k]->group == g)
				view_drop_indexes(m->views[k]);
	return r;
}

static int upsert_type(struct carve_model *m, const struct carve_rows *rows, size_t i)
{
	const char *uuid = cell(rows, i, "uuid");
	struct carve_obj_type *t = carve_model_type(m, uuid);
	bool fresh = !t;
	if (fresh && !(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	struct carve_place_type *pt = &t->place;
	int64_t old_size = pt->size;
	set_fixed(pt->uuid, sizeof(pt->uuid), rows, i, "uuid");
	pt->size = cell_i64(rows, i, "size");
	set_fixed(pt->implementation, sizeof(pt->implementation), rows, i, "implementation");
	pt->passthrough = strcmp(pt->implementation, "passthrough") == 0;
	set_fixed(pt->board, sizeof(pt->board), rows, i, "board");
	set_fixed(pt->series, sizeof(pt->series), rows, i, "series");
	const struct carve_board *b = carve_board_by_name(pt->board);
	const struct carve_type_entry *ce = b ? carve_catalog_type(b->short_name, cell(rows, i, "identifier")) : NULL;
	pt->mig_slices = ce ? ce->mig_slices : 0;
	uint32_t old_max = pt->max_instances;
	pt->max_instances = (uint32_t)cell_i64(rows, i, "max_instances");
	int impl = carve_impl_from_name(pt->implementation);
	t->impl = impl < 0 ? CARVE_IMPL_PASSTHROUGH : (enum carve_impl)impl;
	t->framebuffer_size = (uint64_t)cell_i64(rows, i, "framebuffer_size");
	t->max_heads = (uint32_t)cell_i64(rows, i, "max_heads");
	t->max_res_x = (uint32_t)cell_i64(rows, i, "max_resolution_x");
	t->max_res_y = (uint32_t)cell_i64(rows, i, "max_resolution_y");
	t->frl_config = (uint32_t)cell_i64(rows, i, "frl_config");
	t->multi_vgpu = cell_bool(rows, i, "multi_vgpu");
	t->experimental = cell_bool(rows, i, "experimental");
	int r = 0;
	if (set_str(&t->type_key, rows, i, "type_key") < 0 || set_str(&t->vendor_name, rows, i, "vendor_name") < 0 ||
	    set_str(&t->model_name, rows, i, "model_name") < 0 || set_str(&t->identifier, rows, i, "identifier") < 0)
		r = -ENOMEM;
	if (fresh && (r < 0 || objs_add(&m->types, t) < 0)) {
		type_free(t);
		return -ENOMEM;
	}
	if (!fresh && (old_size != pt->size || old_max != pt->max_instances))
		drop_all_indexes(m); /* every PGPU's capacity for it changed */
	return r;
}

/* A slot and its ext travel together while being sorted. */
struct slot_pair {
	struct carve_place_slot slot;
	struct carve_obj_slot_ext ext;
};

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct slot_pair *)a)->slot.type->uuid, ((const struct slot_pair *)b)->slot.type->uuid);
}

/* p's slots from pgpu_type rows idx[0..n) (all p's), in type UUID order,
 * replacing those in pl. */
static int pgpu_set_slots(struct carve_model *m, struct carve_obj_pgpu *p, struct carve_place_pgpu *pl,
			  const struct carve_rows *rows, const size_t *idx, size_t n, bool host_limited)
{
	_cleanup_free_ struct slot_pair *pairs = calloc(n + 1, sizeof(*pairs));
	struct carve_place_slot *slots = calloc(n + 1, sizeof(*slots));
	struct carve_obj_slot_ext *ext = calloc(n + 1, sizeof(*ext));
	if (!pairs || !slots || !ext) {
		free(slots);
		free(ext);
		return -ENOMEM;
	}
	size_t k = 0;
	int r = 0;
	for (size_t j = 0; j < n && r == 0; j++) {
		size_t i = idx[j];
		struct carve_obj_type *t = carve_model_type(m, cell(rows, i, "vgpu_type_uuid"));
		if (!t)
			continue; /* the foreign key forbids it; never trust it blindly */
		struct slot_pair *q = &pairs[k++];
		q->slot.type = &t->place;
		q->slot.unsupported = !cell_bool(rows, i, "supported");
		q->slot.enabled = cell_bool(rows, i, "enabled");
		q->slot.host_limited = host_limited;
		q->slot.host_available = cell_i64(rows, i, "available");
		int src = carve_hw_source_from_name(cell(rows, i, "max_instances_source"));
		q->ext.max_instances_source = src < 0 ? CARVE_HW_SOURCE_NONE : (enum carve_hw_source)src;
		q->slot.budget_source = carve_hw_source_name(q->ext.max_instances_source);
		q->ext.max_instances = (uint32_t)cell_i64(rows, i, "max_instances");
		const char *problem = cell(rows, i, "problem");
		if (*problem && !(q->ext.problem = strdup(problem)))
			r = -ENOMEM;
		q->slot.problem = q->ext.problem;
	}
	if (r < 0) {
		for (size_t j = 0; j < k; j++)
			free(pairs[j].ext.problem);
		free(slots);
		free(ext);
		return r;
	}
	qsort(pairs, k, sizeof(*pairs), cmp_pair);
	for (size_t j = 0; j < k; j++) {
		slots[j] = pairs[j].slot;
		ext[j] = pairs[j].ext;
	}
	slots_free(p, pl);
	pl->slots = slots;
	pl->n_slots = k;
	p->ext = ext;
	return 0;
}

static int cmp_row_pgpu(const void *a, const void *b, void *rows)
{
	return strcmp(cell(rows, *(const size_t *)a, "pgpu_uuid"), cell(rows, *(const size_t *)b, "pgpu_uuid"));
}

/* Every PGPU's slots from one result of pgpu_type rows: sorted by PGPU,
 * then each run handed to its PGPU. */
static int load_all_slots(struct carve_model *m, const struct carve_rows *rows)
{
	_cleanup_free_ size_t *idx = calloc(rows->nrows + 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < rows->nrows; i++)
		idx[i] = i;
	qsort_r(idx, rows->nrows, sizeof(*idx), cmp_row_pgpu, (void *)rows);
	for (size_t a = 0, b; a < rows->nrows; a = b) {
		const char *pu = cell(rows, idx[a], "pgpu_uuid");
		for (b = a + 1; b < rows->nrows && strcmp(cell(rows, idx[b], "pgpu_uuid"), pu) == 0; b++)
			;
		struct carve_obj_pgpu *p = carve_model_pgpu(m, pu);
		if (!p)
			continue;
		bool host_limited = p->sriov_totalvfs == 0 || p->sriov_numvfs > 0;
		int r = pgpu_set_slots(m, p, place_of(p), rows, idx + a, b - a, host_limited);
		if (r < 0)
			return r;
		view_drop_indexes(p->view);
		if ((r = pgpu_derive(p)) < 0)
			return r;
	}
	return 0;
}

/* Create or update the PGPU of row i (its slots from slot_rows). */
static int upsert_pgpu(struct carve_model *m, const struct carve_rows *rows, size_t i,
		       const struct carve_rows *slot_rows)
{
	const char *uuid = cell(rows, i, "uuid");
	struct carve_obj_host *host = carve_model_host(m, cell(rows, i, "host_uuid"));
	if (!host)
		return -ENOENT;
	struct carve_obj_group *group = cell_null(rows, i, "gpu_group_uuid")
						? NULL
						: carve_model_group(m, cell(rows, i, "gpu_group_uuid"));
	struct carve_obj_pgpu *p = carve_model_pgpu(m, uuid);
	bool fresh = !p;
	if (fresh && !(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	set_fixed(p->uuid, sizeof(p->uuid), rows, i, "uuid");
	/* Out of its view while it changes: it may move to another. */
	struct carve_place_pgpu pl = {0};
	if (p->view)
		view_remove(p, &pl);
	p->host = host;
	p->group = group;
	set_fixed(p->vendor_id, sizeof(p->vendor_id), rows, i, "vendor_id");
	set_fixed(p->device_id, sizeof(p->device_id), rows, i, "device_id");
	set_fixed(p->subsystem_vendor_id, sizeof(p->subsystem_vendor_id), rows, i, "subsystem_vendor_id");
	set_fixed(p->subsystem_device_id, sizeof(p->subsystem_device_id), rows, i, "subsystem_device_id");
	p->vendor_name = carve_model_intern(m, cell(rows, i, "vendor_name"));
	p->device_name = carve_model_intern(m, cell(rows, i, "device_name"));
	p->board = carve_model_intern(m, cell(rows, i, "board"));
	p->driver = carve_model_intern(m, cell(rows, i, "driver"));
	p->dom0_access = carve_model_intern(m, cell(rows, i, "dom0_access"));
	p->iommu_group = (int32_t)cell_i64(rows, i, "iommu_group");
	int impl = carve_impl_from_name(cell(rows, i, "implementation"));
	p->impl = impl < 0 ? CARVE_IMPL_PASSTHROUGH : (enum carve_impl)impl;
	p->is_system_display = cell_bool(rows, i, "is_system_display_device");
	p->mixed_size_supported = cell_bool(rows, i, "mixed_size_supported");
	p->broken = cell_bool(rows, i, "broken");
	int src = carve_hw_source_from_name(cell(rows, i, "mixed_size_source"));
	p->mixed_size_source = src < 0 ? CARVE_HW_SOURCE_NONE : (enum carve_hw_source)src;
	p->sriov_totalvfs = (uint32_t)cell_i64(rows, i, "sriov_totalvfs");
	p->sriov_numvfs = (uint32_t)cell_i64(rows, i, "sriov_numvfs");
	int r = set_str(&p->discovery_problems, rows, i, "discovery_problems");
	if (r == 0)
		r = set_str(&p->vgpu_params, rows, i, "vgpu_params");
	if (r == 0)
		r = set_str(&p->mig_instances, rows, i, "mig_instances");
	if (r == 0)
		r = set_str(&p->ecc, rows, i, "ecc");
	if (r == 0)
		r = set_str(&p->health_reason, rows, i, "health_reason");
	int health = carve_health_from_name(cell(rows, i, "health"));
	p->health = health < 0 ? CARVE_HEALTH_OK : (enum carve_health)health;
	pgpu_set_nvlink(p, cell(rows, i, "nvlink"));
	set_fixed(p->mig_mode, sizeof(p->mig_mode), rows, i, "mig_mode");
	free(p->broken_reason);
	p->broken_reason = NULL;
	if (r == 0 && p->broken) { /* its own first problem is the reason */
		const char *probs = *p->discovery_problems ? p->discovery_problems : "SYSFS_READ_FAILED: unreadable";
		if (!(p->broken_reason = strndup(probs, strcspn(probs, "\n"))))
			r = -ENOMEM;
	}
	snprintf(pl.uuid, sizeof(pl.uuid), "%s", p->uuid);
	set_fixed(pl.pci, sizeof(pl.pci), rows, i, "pci_id");
	pl.numa_node = (int32_t)cell_i64(rows, i, "numa_node");
	pl.mixed_size = cell_bool(rows, i, "mixed_size");
	pl.present = cell_bool(rows, i, "present");
	pl.size = cell_i64(rows, i, "size");
	pl.problem = p->broken_reason;
	bool avoid = p->health == CARVE_HEALTH_FAILED ||
		     (p->health == CARVE_HEALTH_DEGRADED && (!group || group->degraded == CARVE_DEGRADED_AVOID));
	pl.unhealthy = avoid ? (*p->health_reason ? p->health_reason : carve_health_name(p->health)) : NULL;
	/* The driver's figure means nothing on an SR-IOV PF without VFs yet. */
	bool host_limited = p->sriov_totalvfs == 0 || p->sriov_numvfs > 0;
	if (r == 0 && slot_rows) {
		_cleanup_free_ size_t *idx = calloc(slot_rows->nrows + 1, sizeof(*idx));
		size_t n = 0;
		for (size_t k = 0; idx && k < slot_rows->nrows; k++)
			if (strcmp(cell(slot_rows, k, "pgpu_uuid"), p->uuid) == 0)
				idx[n++] = k;
		r = idx ? pgpu_set_slots(m, p, &pl, slot_rows, idx, n, host_limited) : -ENOMEM;
	} else {
		for (size_t k = 0; k < pl.n_slots; k++)
			pl.slots[k].host_limited = host_limited;
	}
	if (!p->vendor_name || !p->device_name || !p->board || !p->driver || !p->dom0_access)
		r = -ENOMEM;
	struct carve_view *v = view_find(m, group, host, true);
	if (!v || view_add(v, p, &pl) < 0) {
		/* cannot place it anywhere: drop it whole */
		slots_free(p, &pl);
		free((void *)pl.used);
		if (!fresh)
			objs_del(&m->pgpus, p);
		p->view = NULL;
		p->n_vgpus = 0;
		pgpu_free(p);
		return -ENOMEM;
	}
	if (fresh && objs_add(&m->pgpus, p) < 0) {
		pgpu_free(p);
		return -ENOMEM;
	}
	int r2 = pgpu_derive(p);
	return r < 0 ? r : r2;
}

static int upsert_vm(struct carve_model *m, const struct carve_rows *rows, size_t i, struct carve_obj_vm **out)
{
	const char *uuid = cell(rows, i, "uuid");
	struct carve_obj_vm *vm = carve_model_vm(m, uuid);
	bool fresh = !vm;
	if (fresh && !(vm = calloc(1, sizeof(*vm))))
		return -ENOMEM;
	set_fixed(vm->uuid, sizeof(vm->uuid), rows, i, "uuid");
	vm->numa_node = (int32_t)cell_i64(rows, i, "numa_node");
	int ps = carve_power_state_from_name(cell(rows, i, "power_state"));
	vm->power = ps < 0 ? CARVE_POWER_HALTED : (enum carve_power_state)ps;
	vm->resident_on = cell_null(rows, i, "resident_on") ? NULL : carve_model_host(m, cell(rows, i, "resident_on"));
	set_fixed(vm->claimed_by, sizeof(vm->claimed_by), rows, i, "claimed_by");
	int p2p = carve_p2p_from_name(cell(rows, i, "p2p"));
	vm->p2p = p2p < 0 ? CARVE_P2P_NONE : (enum carve_p2p)p2p;
	int mig = carve_migration_from_name(cell(rows, i, "migration"));
	vm->migration = mig < 0 ? CARVE_MIGRATION_NONE : (enum carve_migration)mig;
	set_fixed(vm->migration_peer, sizeof(vm->migration_peer), rows, i, "migration_peer");
	int r = 0;
	if (set_str(&vm->last_error, rows, i, "last_error") < 0 || set_str(&vm->name_label, rows, i, "name_label") < 0 ||
	    set_str(&vm->name_description, rows, i, "name_description") < 0)
		r = -ENOMEM;
	if (fresh && (r < 0 || objs_add(&m->vms, vm) < 0)) {
		vm_free(vm);
		return -ENOMEM;
	}
	if (out)
		*out = vm;
	return r;
}

static int add_vgpu(struct carve_model *m, const struct carve_rows *rows, size_t i)
{
	struct carve_obj_vgpu *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	set_fixed(v->uuid, sizeof(v->uuid), rows, i, "uuid");
	v->vm = carve_model_vm(m, cell(rows, i, "vm_uuid"));
	v->type = carve_model_type(m, cell(rows, i, "vgpu_type_uuid"));
	v->group = carve_model_group(m, cell(rows, i, "gpu_group_uuid"));
	v->device = (uint32_t)cell_i64(rows, i, "device");
	v->scheduled = cell_null(rows, i, "scheduled_pgpu") ? NULL : carve_model_pgpu(m, cell(rows, i, "scheduled_pgpu"));
	v->resident = cell_null(rows, i, "resident_on") ? NULL : carve_model_pgpu(m, cell(rows, i, "resident_on"));
	set_fixed(v->device_pci, sizeof(v->device_pci), rows, i, "device_pci");
	set_fixed(v->peer_device_pci, sizeof(v->peer_device_pci), rows, i, "peer_device_pci");
	int st = carve_vgpu_state_from_name(cell(rows, i, "state"));
	v->state = st < 0 ? CARVE_VGPU_DEFINED : (enum carve_vgpu_state)st;
	int o = carve_vgpu_origin_from_name(cell(rows, i, "origin"));
	v->origin = o < 0 ? CARVE_ORIGIN_CARVE : (enum carve_vgpu_origin)o;
	if (!v->vm || !v->type || !v->group) { /* the foreign keys forbid it */
		vgpu_free(v);
		return -EINVAL;
	}
	if (!(v->extra_args = strdup(cell(rows, i, "extra_args"))) || objs_add(&m->vgpus, v) < 0) {
		vgpu_free(v);
		return -ENOMEM;
	}
	int r = vgpu_attach(v);
	if (r < 0) {
		vgpu_detach(v);
		objs_del(&m->vgpus, v);
		vgpu_free(v);
	}
	return r;
}

static void remove_vgpu(struct carve_model *m, struct carve_obj_vgpu *v)
{
	vgpu_detach(v);
	objs_del(&m->vgpus, v);
	vgpu_free(v);
}

/* ---- loading ---- */

static int select_rows(struct carve_db *db, enum carve_repo_table t, const char *key, struct carve_rows **out,
		       struct carve_error *err)
{
	return carve_repo_select(db, t, key, out, err);
}

static int load_into(struct carve_model *m, struct carve_db *db, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *hosts = NULL, *groups = NULL, *types = NULL, *pgpus = NULL, *slots = NULL,
					  *vms = NULL, *vgpus = NULL;
	int r;
	if ((r = select_rows(db, CARVE_REPO_HOST, NULL, &hosts, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_GROUP, NULL, &groups, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_TYPE, NULL, &types, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_PGPU, NULL, &pgpus, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_PGPU_TYPE, NULL, &slots, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_VM, NULL, &vms, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_VGPU, NULL, &vgpus, err)) < 0 ||
	    (r = carve_repo_generation(db, &m->generation, err)) < 0)
		return r;
	for (size_t i = 0; i < hosts->nrows; i++)
		if (upsert_host(m, hosts, i) < 0)
			return oom(err);
	for (size_t i = 0; i < groups->nrows; i++)
		if (upsert_group(m, groups, i) < 0)
			return oom(err);
	for (size_t i = 0; i < types->nrows; i++)
		if (upsert_type(m, types, i) < 0)
			return oom(err);
	/* pgpu_type rows by PGPU: one pass to group them (rows are few per PGPU). */
	for (size_t i = 0; i < pgpus->nrows; i++) {
		r = upsert_pgpu(m, pgpus, i, NULL);
		if (r < 0)
			return r == -ENOMEM ? oom(err)
					    : carve_error_set(err, r, "STORE_INCONSISTENT", "PGPU %s names an unknown host",
							      cell(pgpus, i, "uuid"));
	}
	if (slots->nrows && (r = load_all_slots(m, slots)) < 0)
		return oom(err);
	for (size_t i = 0; i < vms->nrows; i++)
		if (upsert_vm(m, vms, i, NULL) < 0)
			return oom(err);
	for (size_t i = 0; i < vgpus->nrows; i++)
		if ((r = add_vgpu(m, vgpus, i)) < 0)
			return r == -ENOMEM ? oom(err)
					    : carve_error_set(err, r, "STORE_INCONSISTENT", "vGPU %s names unknown objects",
							      cell(vgpus, i, "uuid"));
	return 0;
}

int carve_model_load(struct carve_model *m, struct carve_db *db, struct carve_error *err)
{
	m->version++;
	struct carve_model fresh;
	memset(&fresh, 0, sizeof(fresh));
	fresh.rooms = calloc(1, sizeof(*fresh.rooms)); /* NULL: none kept */
	/* One transaction: a consistent picture, even with writers about (the
	 * caller's, when it holds one). */
	bool own = db->txn_depth == 0;
	int r = own ? carve_db_begin_snapshot(db, err) : 0;
	if (r < 0)
		return r;
	r = load_into(&fresh, db, err);
	if (own)
		carve_db_rollback(db); /* read only */
	if (r < 0) {
		model_clear(&fresh);
		return r;
	}
	model_clear(m);
	fresh.version = m->version;
	fresh.host_timeout_ms = m->host_timeout_ms;
	/* The data only: other threads may be queued on the locks meanwhile. */
	size_t from = offsetof(struct carve_model, generation);
	memcpy((char *)m + from, (char *)&fresh + from, sizeof(*m) - from);
	return 0;
}

int carve_model_reload_host(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err)
{
	m->version++;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = select_rows(db, CARVE_REPO_HOST, uuid, &rows, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < rows->nrows; i++)
		if (upsert_host(m, rows, i) < 0)
			return oom(err);
	return 0;
}

int carve_model_reload_group(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err)
{
	m->version++;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = select_rows(db, CARVE_REPO_GROUP, uuid, &rows, err);
	if (r < 0)
		return r;
	if (rows->nrows == 0) {
		struct carve_obj_group *g = carve_model_group(m, uuid);
		if (!g)
			return 0;
		/* Destroyed: only an empty group can be (verbs_model.c), but its
		 * views may linger empty. */
		for (size_t i = 0; i < m->n_views;) {
			if (m->views[i]->group == g && m->views[i]->n == 0) {
				struct carve_obj_host *h = m->views[i]->host;
				for (uint32_t k = 0; k < h->n_views; k++)
					if (h->views[k] == m->views[i]) {
						h->views[k] = h->views[--h->n_views];
						break;
					}
				view_free(m->views[i]);
				m->views[i] = m->views[--m->n_views];
			} else {
				i++;
			}
		}
		objs_del(&m->groups, g);
		group_free(g);
		return 0;
	}
	return upsert_group(m, rows, 0) < 0 ? oom(err) : 0;
}

int carve_model_reload_type(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err)
{
	m->version++;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = select_rows(db, CARVE_REPO_TYPE, uuid, &rows, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < rows->nrows; i++)
		if (upsert_type(m, rows, i) < 0)
			return oom(err);
	return 0;
}

/* What a PGPU row names must be in the model before the PGPU is. */
static int ensure_refs(struct carve_model *m, struct carve_db *db, const struct carve_rows *pgpus,
		       const struct carve_rows *slots, struct carve_error *err)
{
	int r = 0;
	for (size_t i = 0; r >= 0 && i < pgpus->nrows; i++) {
		if (!carve_model_host(m, cell(pgpus, i, "host_uuid")))
			r = carve_model_reload_host(m, db, cell(pgpus, i, "host_uuid"), err);
		if (r >= 0 && !cell_null(pgpus, i, "gpu_group_uuid") &&
		    !carve_model_group(m, cell(pgpus, i, "gpu_group_uuid")))
			r = carve_model_reload_group(m, db, cell(pgpus, i, "gpu_group_uuid"), err);
	}
	for (size_t i = 0; r >= 0 && i < slots->nrows; i++)
		if (!carve_model_type(m, cell(slots, i, "vgpu_type_uuid")))
			r = carve_model_reload_type(m, db, cell(slots, i, "vgpu_type_uuid"), err);
	return r;
}

int carve_model_reload_pgpu(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err)
{
	m->version++;
	_cleanup_rows_ struct carve_rows *rows = NULL, *slots = NULL;
	int r;
	if ((r = select_rows(db, CARVE_REPO_PGPU, uuid, &rows, err)) < 0 ||
	    (r = select_rows(db, CARVE_REPO_PGPU_TYPE, uuid, &slots, err)) < 0 ||
	    (r = ensure_refs(m, db, rows, slots, err)) < 0)
		return r;
	for (size_t i = 0; i < rows->nrows; i++)
		if ((r = upsert_pgpu(m, rows, i, slots)) < 0)
			return r == -ENOMEM ? oom(err) : carve_error_set(err, r, "STORE_INCONSISTENT", "PGPU %s", uuid);
	return 0;
}

int carve_model_reload_host_pgpus(struct carve_model *m, struct carve_db *db, const char *host_uuid,
				  struct carve_error *err)
{
	m->version++;
	_cleanup_rows_ struct carve_rows *rows = NULL, *slots = NULL;
	int r;
	if ((r = carve_model_reload_host(m, db, host_uuid, err)) < 0 ||
	    (r = carve_repo_select_host_pgpus(db, host_uuid, &rows, &slots, err)) < 0 ||
	    (r = ensure_refs(m, db, rows, slots, err)) < 0)
		return r;
	/* Types known already may have new facts: refresh those named too. */
	for (size_t i = 0; r >= 0 && i < slots->nrows; i++) {
		const char *t = cell(slots, i, "vgpu_type_uuid");
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(cell(slots, k, "vgpu_type_uuid"), t) == 0;
		if (!seen)
			r = carve_model_reload_type(m, db, t, err);
	}
	for (size_t i = 0; r >= 0 && i < rows->nrows; i++)
		if ((r = upsert_pgpu(m, rows, i, NULL)) < 0)
			return r == -ENOMEM ? oom(err) : carve_error_set(err, r, "STORE_INCONSISTENT", "PGPU");
	if (r >= 0 && slots->nrows && load_all_slots(m, slots) < 0)
		return oom(err);
	return r;
}

/* The two reads of a VM (its row, locked with lock, and its vGPUs' rows)
 * into st[0..1], their rows into rows[0..1]; *uuid must outlive them. */
static void vm_reads(struct carve_db *db, const char **uuid, bool lock, char sql[2][256], struct carve_rows **rows,
		     struct carve_db_stmt st[2])
{
	carve_repo_select_stmt(db, CARVE_REPO_VM, uuid, sql[0], &rows[0], &st[0]);
	if (lock)
		strncat(sql[0], carve_db_for_update(db), 255 - strlen(sql[0]));
	carve_repo_select_stmt(db, CARVE_REPO_VGPU, uuid, sql[1], &rows[1], &st[1]);
}

static int reload_vm(struct carve_model *m, struct carve_db *db, const char *uuid, bool lock, bool *found,
		     struct carve_error *err)
{
	m->version++;
	struct carve_rows *rows[2] = {NULL, NULL};
	char sql[2][256];
	struct carve_db_stmt st[2];
	vm_reads(db, &uuid, lock, sql, rows, st);
	int r = carve_db_exec_all(db, st, 2, err); /* one round trip where the store pipelines */
	if (r >= 0 && found)
		*found = rows[0]->nrows > 0;
	if (r >= 0)
		r = carve_model_set_vm(m, db, uuid, rows[0], rows[1], err);
	carve_rows_free(rows[0]);
	carve_rows_free(rows[1]);
	return r;
}

int carve_model_reload_vm(struct carve_model *m, struct carve_db *db, const char *uuid, struct carve_error *err)
{
	return reload_vm(m, db, uuid, false, NULL, err);
}

int carve_model_lock_reload_vm(struct carve_model *m, struct carve_db *db, const char *uuid, bool *found,
			       struct carve_error *err)
{
	return reload_vm(m, db, uuid, true, found, err);
}

int carve_model_lock_reload_vms(struct carve_model *m, struct carve_db *db, const char *const *uuids, size_t n,
				bool *found, struct carve_error *err)
{
	if (n <= 1)
		return n ? reload_vm(m, db, uuids[0], true, found, err) : 0;
	m->version++;
	struct carve_rows **rows = calloc(2 * n, sizeof(*rows));
	struct carve_db_stmt *st = calloc(2 * n, sizeof(*st));
	char (*sql)[256] = calloc(2 * n, sizeof(*sql));
	int r = rows && st && sql ? 0 : oom(err);
	for (size_t i = 0; r >= 0 && i < n; i++)
		vm_reads(db, (const char **)&uuids[i], true, &sql[2 * i], &rows[2 * i], &st[2 * i]);
	if (r >= 0)
		r = carve_db_exec_all(db, st, 2 * n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		found[i] = rows[2 * i]->nrows > 0;
		r = carve_model_set_vm(m, db, uuids[i], rows[2 * i], rows[2 * i + 1], err);
	}
	for (size_t i = 0; rows && i < 2 * n; i++)
		carve_rows_free(rows[i]);
	free(rows);
	free(st);
	free(sql);
	return r;
}

void carve_model_vm_set_state(struct carve_model *m, struct carve_obj_vm *vm, enum carve_power_state power,
			      struct carve_obj_host *resident_on, const char *claimed_by, bool clear_error)
{
	m->version++;
	vm->power = power;
	vm->resident_on = resident_on;
	carve_strlcpy(vm->claimed_by, claimed_by ? claimed_by : "", sizeof(vm->claimed_by));
	if (clear_error && vm->last_error)
		vm->last_error[0] = '\0';
}

int carve_model_vgpu_set_place(struct carve_model *m, struct carve_obj_vgpu *v, struct carve_obj_pgpu *resident,
			       struct carve_obj_pgpu *scheduled, const char *device_pci, enum carve_vgpu_state state)
{
	m->version++;
	vgpu_detach(v);
	v->resident = resident;
	v->scheduled = scheduled;
	carve_strlcpy(v->device_pci, device_pci ? device_pci : "", sizeof(v->device_pci));
	v->state = state;
	return vgpu_attach(v);
}

int carve_model_set_vm(struct carve_model *m, struct carve_db *db, const char *uuid, const struct carve_rows *rows,
		       const struct carve_rows *vgpus, struct carve_error *err)
{
	m->version++;
	int r;
	struct carve_obj_vm *vm = carve_model_vm(m, uuid);
	/* Its vGPUs are replaced whole: detach the old ones first. */
	while (vm && vm->n_vgpus)
		remove_vgpu(m, vm->vgpus[vm->n_vgpus - 1]);
	if (!rows || rows->nrows == 0) {
		if (vm) {
			objs_del(&m->vms, vm);
			vm_free(vm);
		}
		return 0;
	}
	if (upsert_vm(m, rows, 0, &vm) < 0)
		return oom(err);
	for (size_t i = 0; vgpus && i < vgpus->nrows; i++) {
		/* a type, group or PGPU the model has not seen yet */
		if (!carve_model_type(m, cell(vgpus, i, "vgpu_type_uuid")) &&
		    (r = carve_model_reload_type(m, db, cell(vgpus, i, "vgpu_type_uuid"), err)) < 0)
			return r;
		if (!carve_model_group(m, cell(vgpus, i, "gpu_group_uuid")) &&
		    (r = carve_model_reload_group(m, db, cell(vgpus, i, "gpu_group_uuid"), err)) < 0)
			return r;
		if ((r = add_vgpu(m, vgpus, i)) < 0)
			return r == -ENOMEM ? oom(err)
					    : carve_error_set(err, r, "STORE_INCONSISTENT", "vGPU %s names unknown objects",
							      cell(vgpus, i, "uuid"));
	}
	return 0;
}

/* ---- placement ---- */

static int view_of(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_host *h,
		   struct carve_view **out)
{
	*out = view_find(m, g, h, false);
	return 0;
}

int carve_model_place(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_host *host,
		      const struct carve_obj_type *t, int32_t numa_node, struct carve_obj_pgpu *const *exclude,
		      struct carve_obj_pgpu **chosen, enum carve_place_reason *why, struct carve_error *err)
{
	*chosen = NULL;
	*why = CARVE_PLACE_NOT_SUPPORTED;
	struct carve_view *v;
	view_of(m, g, host, &v);
	if (!v || v->n == 0)
		return 0;
	struct carve_place_index *idx = NULL;
	int r = view_index(m, v, t, &idx);
	if (r < 0)
		return carve_error_set(err, r, "OUT_OF_MEMORY", "cannot build the placement index");
	const char *ex[CARVE_MAX_VGPUS_PER_VM + 1];
	size_t n_ex = 0;
	for (size_t i = 0; exclude && exclude[i] && n_ex < CARVE_MAX_VGPUS_PER_VM; i++)
		ex[n_ex++] = exclude[i]->uuid;
	ex[n_ex] = NULL;
	struct carve_place_request req = {.type = &t->place, .algo = g ? g->algo : CARVE_PLACE_DEPTH_FIRST,
					  .numa_node = numa_node, .exclude = n_ex ? ex : NULL};
	ssize_t k = -1;
	if ((r = carve_place_index_choose(idx, &req, &k, why)) < 0)
		return carve_error_set(err, r, "INTERNAL_ERROR", "placement index: %s", strerror(-r));
	if (k >= 0)
		*chosen = v->objs[k];
	return 0;
}

int carve_model_remaining(struct carve_model *m, const struct carve_obj_group *g, const struct carve_obj_type *t,
			  int64_t *out, struct carve_error *err)
{
	*out = 0;
	for (size_t i = 0; i < m->n_views; i++) {
		struct carve_view *v = m->views[i];
		if (v->group != g || v->n == 0 || !carve_model_host_counts(m, v->host))
			continue;
		struct carve_place_index *idx = NULL;
		int r = view_index(m, v, t, &idx);
		if (r < 0)
			return carve_error_set(err, r, "OUT_OF_MEMORY", "cannot build the placement index");
		*out += carve_place_index_total(idx);
	}
	return 0;
}

int carve_model_capacity(struct carve_model *m, const struct carve_obj_pgpu *p, const struct carve_obj_type *t,
			 int64_t *out, enum carve_place_reason *why, struct carve_error *err)
{
	struct carve_place_index *idx = NULL;
	int r = view_index(m, p->view, t, &idx);
	if (r < 0)
		return carve_error_set(err, r, "OUT_OF_MEMORY", "cannot build the placement index");
	*out = carve_place_index_capacity(idx, p->vi);
	if (why)
		carve_place_capacity(carve_pgpu_place(p), &t->place, why);
	return 0;
}

/* ---- size ---- */

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

size_t carve_model_bytes(const struct carve_model *m)
{
	size_t b = sizeof(*m);
	const struct carve_objs *all[] = {&m->hosts, &m->groups, &m->types, &m->pgpus, &m->vms, &m->vgpus};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		b += all[i]->cap * sizeof(void *) + all[i]->map.cap * sizeof(void *);
	b += m->strings.cap * sizeof(void *);
	for (size_t i = 0; i < m->strings.cap; i++)
		b += str_bytes(m->strings.slot[i]);
	for (size_t i = 0; i < m->hosts.n; i++) {
		const struct carve_obj_host *h = m->hosts.v[i];
		b += sizeof(*h) + str_bytes(h->name_label) + str_bytes(h->name_description) + str_bytes(h->hostname) +
		     str_bytes(h->backend) + str_bytes(h->discovery_problems) +
		     str_bytes(h->config);
	}
	for (size_t i = 0; i < m->groups.n; i++) {
		const struct carve_obj_group *g = m->groups.v[i];
		b += sizeof(*g) + str_bytes(g->name_label) + str_bytes(g->name_description) + str_bytes(g->gpu_types) +
		     str_bytes(g->auto_key);
	}
	for (size_t i = 0; i < m->types.n; i++) {
		const struct carve_obj_type *t = m->types.v[i];
		b += sizeof(*t) + str_bytes(t->type_key) + str_bytes(t->vendor_name) + str_bytes(t->model_name) +
		     str_bytes(t->identifier);
	}
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = m->pgpus.v[i];
		const struct carve_place_pgpu *pl = carve_pgpu_place(p);
		b += sizeof(*p) + sizeof(*pl) + sizeof(void *) + str_bytes(p->discovery_problems) +
		     str_bytes(p->vgpu_params) + str_bytes(p->mig_instances) + str_bytes(p->ecc) +
		     str_bytes(p->health_reason) + pl->n_slots * (sizeof(*pl->slots) + sizeof(*p->ext)) + p->cap_vgpus * sizeof(void *) +
		     pl->n_used * sizeof(void *);
	}
	for (size_t i = 0; i < m->vms.n; i++) {
		const struct carve_obj_vm *vm = m->vms.v[i];
		b += sizeof(*vm) + str_bytes(vm->name_label) + str_bytes(vm->name_description) +
		     vm->cap_vgpus * sizeof(void *);
	}
	for (size_t i = 0; i < m->vgpus.n; i++) {
		const struct carve_obj_vgpu *v = m->vgpus.v[i];
		b += sizeof(*v) + str_bytes(v->extra_args);
	}
	return b;
}

bool carve_model_host_live(const struct carve_model *m, const struct carve_obj_host *h)
{
	if (h->heartbeat_age_ms < 0)
		return false;
	return h->heartbeat_age_ms + (carve_mono_ms() - h->heartbeat_read_ms) <= m->host_timeout_ms;
}

void carve_model_set_liveness(struct carve_model *m, const struct carve_rows *rows)
{
	for (size_t i = 0; i < rows->nrows; i++) {
		struct carve_obj_host *h = carve_model_host(m, cell(rows, i, "uuid"));
		if (!h)
			continue;
		bool was_enabled = h->enabled, was_live = carve_model_host_live(m, h);
		host_set_pool(h, rows, i);
		if (h->enabled != was_enabled || carve_model_host_live(m, h) != was_live)
			m->version++;
	}
}

bool carve_model_host_counts(const struct carve_model *m, const struct carve_obj_host *h)
{
	return h->enabled && (h->heartbeat_age_ms < 0 || carve_model_host_live(m, h));
}
