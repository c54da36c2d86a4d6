/* inventory.c - the host inventory: growable arrays, canonical order, and
 * the canonical JSON that golden files and `host-discover --json` use.
 *
 * Canonical means: the same hardware state gives byte-identical JSON no matter
 * which backend learned it or in which order directories were listed.  Every
 * field is always present (0, "" or false when unknown) except the GVT-g
 * budget fields, which appear only when nonzero so that NVIDIA types stay
 * short.
 */
#include "inventory.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "util/cleanup.h"
#include "util/pci.h"

static const char *const source_names[CARVE_HW_SOURCE__MAX] = {
	[CARVE_HW_SOURCE_NONE] = "none",         [CARVE_HW_SOURCE_CATALOG] = "catalog",
	[CARVE_HW_SOURCE_DRIVER] = "driver",     [CARVE_HW_SOURCE_NVML] = "nvml",
	[CARVE_HW_SOURCE_INFERRED] = "inferred", [CARVE_HW_SOURCE_DEFAULT] = "default",
};

const char *carve_hw_source_name(enum carve_hw_source s)
{
	return (unsigned)s < CARVE_HW_SOURCE__MAX ? source_names[s] : "none";
}

int carve_hw_source_from_name(const char *name)
{
	for (int i = 0; name && i < CARVE_HW_SOURCE__MAX; i++)
		if (strcmp(source_names[i], name) == 0)
			return i;
	return -EINVAL;
}

static void gpu_clear(struct carve_hw_gpu *g)
{
	free(g->vfs);
	free(g->types);
	free(g->devs);
	free(g->problems);
}

void carve_hw_inventory_clear(struct carve_hw_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n_gpus; i++)
		gpu_clear(&inv->gpus[i]);
	free(inv->gpus);
	free(inv->problems);
	inv->gpus = NULL;
	inv->n_gpus = 0;
	inv->problems = NULL;
	inv->n_problems = 0;
	inv->driver_version[0] = '\0';
}

void carve_hw_inventory_free(struct carve_hw_inventory *inv)
{
	if (!inv)
		return;
	carve_hw_inventory_clear(inv);
	free(inv);
}

/* Grow *arr of *n elements of size sz by one zeroed element.  The capacity
 * is what malloc says the block holds (malloc_usable_size), so an array may
 * be allocated exactly (dup_array, carve_hw_inventory_compact) and still
 * grow; when full it doubles. */
static void *grow(void **arr, size_t *n, size_t sz)
{
	size_t cur = *n;
	if (cur == SIZE_MAX / sz)
		return NULL;
	if (!*arr || malloc_usable_size(*arr) < (cur + 1) * sz) {
		size_t cap = cur ? cur * 2 : 1;
		if (cap > SIZE_MAX / sz)
			return NULL;
		void *p = realloc(*arr, cap * sz);
		if (!p)
			return NULL;
		*arr = p;
	}
	void *el = (char *)*arr + cur * sz;
	memset(el, 0, sz);
	(*n)++;
	return el;
}

struct carve_hw_gpu *carve_hw_inventory_add_gpu(struct carve_hw_inventory *inv)
{
	struct carve_hw_gpu *g = grow((void **)&inv->gpus, &inv->n_gpus, sizeof(*g));
	if (g) {
		g->numa_node = -1;
		g->mig_mode = -1;
		g->iommu_group = -1;
	}
	return g;
}

struct carve_hw_type *carve_hw_gpu_add_type(struct carve_hw_gpu *g)
{
	return grow((void **)&g->types, &g->n_types, sizeof(struct carve_hw_type));
}

struct carve_hw_dev *carve_hw_gpu_add_dev(struct carve_hw_gpu *g)
{
	return grow((void **)&g->devs, &g->n_devs, sizeof(struct carve_hw_dev));
}

struct carve_hw_vf *carve_hw_gpu_add_vf(struct carve_hw_gpu *g)
{
	struct carve_hw_vf *vf = grow((void **)&g->vfs, &g->n_vfs, sizeof(struct carve_hw_vf));
	if (vf)
		vf->iommu_group = -1;
	return vf;
}

static int add_problem(struct carve_hw_problem **arr, size_t *n, const char *pci, const char *type_id,
		       const struct carve_error *e)
{
	struct carve_hw_problem *p = grow((void **)arr, n, sizeof(**arr));
	if (!p)
		return -ENOMEM;
	snprintf(p->pci, sizeof(p->pci), "%s", pci ? pci : "");
	snprintf(p->type_id, sizeof(p->type_id), "%s", type_id ? type_id : "");
	snprintf(p->id, sizeof(p->id), "%s", e && e->id[0] ? e->id : "SYSFS_READ_FAILED");
	snprintf(p->message, sizeof(p->message), "%.*s", (int)sizeof(p->message) - 1,
		 e && e->message[0] ? e->message : "unreadable");
	return 0;
}

int carve_hw_gpu_add_problem(struct carve_hw_gpu *g, const char *type_id, const struct carve_error *e)
{
	return add_problem(&g->problems, &g->n_problems, g->pci, type_id, e);
}

int carve_hw_inventory_add_problem(struct carve_hw_inventory *inv, const char *pci, const struct carve_error *e)
{
	return add_problem(&inv->problems, &inv->n_problems, pci, NULL, e);
}

int carve_hw_gpu_set_broken(struct carve_hw_gpu *g, const struct carve_error *e)
{
	free(g->vfs);
	free(g->types);
	free(g->devs);
	g->vfs = NULL;
	g->types = NULL;
	g->devs = NULL;
	g->n_vfs = g->n_types = g->n_devs = 0;
	g->mixed_size = false;
	g->mixed_size_source = CARVE_HW_SOURCE_NONE;
	g->broken = true;
	return carve_hw_gpu_add_problem(g, NULL, e);
}

const struct carve_hw_problem *carve_hw_gpu_find_problem(const struct carve_hw_gpu *g, const char *type_id)
{
	const char *want = type_id ? type_id : "";
	for (size_t i = 0; g && i < g->n_problems; i++)
		if (strcmp(g->problems[i].type_id, want) == 0)
			return &g->problems[i];
	return NULL;
}

size_t carve_hw_inventory_count_problems(const struct carve_hw_inventory *inv)
{
	size_t n = inv ? inv->n_problems : 0;
	for (size_t i = 0; inv && i < inv->n_gpus; i++)
		n += inv->gpus[i].n_problems;
	return n;
}

static void *dup_array(const void *src, size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (p && n)
		memcpy(p, src, n * sz);
	return p;
}

/* Shrink *arr to its n elements (NULL when none); a failed realloc leaves
 * it as it was. */
static void fit_array(void **arr, size_t n, size_t sz)
{
	if (!*arr)
		return;
	if (!n) {
		free(*arr);
		*arr = NULL;
		return;
	}
	void *p = realloc(*arr, n * sz);
	if (p)
		*arr = p;
}

void carve_hw_inventory_compact(struct carve_hw_inventory *inv)
{
	for (size_t i = 0; inv && i < inv->n_gpus; i++) {
		struct carve_hw_gpu *g = &inv->gpus[i];
		fit_array((void **)&g->types, g->n_types, sizeof(*g->types));
		fit_array((void **)&g->devs, g->n_devs, sizeof(*g->devs));
		fit_array((void **)&g->vfs, g->n_vfs, sizeof(*g->vfs));
		fit_array((void **)&g->problems, g->n_problems, sizeof(*g->problems));
	}
	if (inv) {
		fit_array((void **)&inv->gpus, inv->n_gpus, sizeof(*inv->gpus));
		fit_array((void **)&inv->problems, inv->n_problems, sizeof(*inv->problems));
	}
}

static int gpu_copy(struct carve_hw_gpu *dst, const struct carve_hw_gpu *src)
{
	*dst = *src;
	dst->vfs = dup_array(src->vfs, src->n_vfs, sizeof(*src->vfs));
	dst->types = dup_array(src->types, src->n_types, sizeof(*src->types));
	dst->devs = dup_array(src->devs, src->n_devs, sizeof(*src->devs));
	dst->problems = dup_array(src->problems, src->n_problems, sizeof(*src->problems));
	if (!dst->vfs || !dst->types || !dst->devs || !dst->problems) {
		gpu_clear(dst);
		memset(dst, 0, sizeof(*dst));
		return -ENOMEM;
	}
	if (!src->n_vfs) {
		free(dst->vfs);
		dst->vfs = NULL;
	}
	if (!src->n_types) {
		free(dst->types);
		dst->types = NULL;
	}
	if (!src->n_devs) {
		free(dst->devs);
		dst->devs = NULL;
	}
	if (!src->n_problems) {
		free(dst->problems);
		dst->problems = NULL;
	}
	return 0;
}

int carve_hw_inventory_add_copy(struct carve_hw_inventory *inv, const struct carve_hw_gpu *g)
{
	struct carve_hw_gpu *slot = carve_hw_inventory_add_gpu(inv);
	if (!slot)
		return -ENOMEM;
	if (gpu_copy(slot, g) < 0) {
		inv->n_gpus--;
		return -ENOMEM;
	}
	return 0;
}

static struct carve_hw_vf *vf_of(struct carve_hw_gpu *g, const char *pci)
{
	for (size_t i = 0; pci && pci[0] && i < g->n_vfs; i++)
		if (strcmp(g->vfs[i].pci, pci) == 0)
			return &g->vfs[i];
	return NULL;
}

int carve_hw_gpu_note_created(struct carve_hw_gpu *g, const char *uuid, const char *device_pci, const char *type_id,
			      const char *params)
{
	struct carve_hw_type *t = (struct carve_hw_type *)carve_hw_gpu_find_type(g, type_id);
	struct carve_hw_vf *vf = vf_of(g, device_pci);
	if (t && t->impl == CARVE_IMPL_PASSTHROUGH) {
		for (size_t i = 0; i < g->n_types; i++)
			g->types[i].available = 0; /* the whole GPU is given away */
	} else if (t && t->available > 0) {
		t->available--;
	}
	if (vf) {
		vf->in_use = true;
		if (t && t->impl == CARVE_IMPL_NVIDIA_SRIOV)
			snprintf(vf->current_type, sizeof(vf->current_type), "%s", type_id);
	}
	struct carve_hw_dev *d = carve_hw_gpu_add_dev(g);
	if (!d)
		return -ENOMEM;
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid && t && t->impl != CARVE_IMPL_PASSTHROUGH && !vf ? uuid : "");
	snprintf(d->type_id, sizeof(d->type_id), "%s", type_id);
	snprintf(d->parent, sizeof(d->parent), "%s", device_pci && device_pci[0] ? device_pci : g->pci);
	snprintf(d->params, sizeof(d->params), "%s", params ? params : "");
	g->hash = 0;
	return 0;
}

void carve_hw_gpu_note_removed(struct carve_hw_gpu *g, const char *uuid, const char *device_pci, const char *type_id)
{
	for (size_t i = 0; i < g->n_devs; i++) {
		struct carve_hw_dev *d = &g->devs[i];
		bool match = uuid && uuid[0] && d->uuid[0] ? strcmp(d->uuid, uuid) == 0
							   : device_pci && strcmp(d->parent, device_pci) == 0;
		if (!match || strcmp(d->type_id, type_id) != 0)
			continue;
		memmove(d, d + 1, (g->n_devs - i - 1) * sizeof(*d));
		g->n_devs--;
		struct carve_hw_type *t = (struct carve_hw_type *)carve_hw_gpu_find_type(g, type_id);
		if (t && (!t->max_instances || t->available < t->max_instances))
			t->available++;
		struct carve_hw_vf *vf = vf_of(g, device_pci);
		if (vf) {
			vf->in_use = false;
			snprintf(vf->current_type, sizeof(vf->current_type), "%s",
				 t && t->impl == CARVE_IMPL_NVIDIA_SRIOV ? "0" : "");
		}
		g->hash = 0;
		return;
	}
}

/* ---- canonical order ---- */

static int pci_str_cmp(const char *a, const char *b)
{
	struct carve_pci_addr x, y;
	bool okx = carve_pci_parse(a, &x) == 0, oky = carve_pci_parse(b, &y) == 0;
	if (okx && oky)
		return carve_pci_cmp(&x, &y);
	if (okx != oky)
		return okx ? -1 : 1; /* well-formed addresses first */
	return strcmp(a, b);
}

static int cmp_gpu(const void *a, const void *b)
{
	return pci_str_cmp(((const struct carve_hw_gpu *)a)->pci, ((const struct carve_hw_gpu *)b)->pci);
}

static int cmp_vf(const void *a, const void *b)
{
	return pci_str_cmp(((const struct carve_hw_vf *)a)->pci, ((const struct carve_hw_vf *)b)->pci);
}

static int cmp_dev(const void *a, const void *b)
{
	const struct carve_hw_dev *x = a, *y = b;
	int r = strcmp(x->uuid, y->uuid);
	if (r == 0)
		r = pci_str_cmp(x->parent, y->parent);
	if (r == 0)
		r = strcmp(x->type_id, y->type_id);
	return r;
}

void carve_hw_type_id_for(enum carve_impl mech, const char *catalog_id, char out[65])
{
	bool numeric = catalog_id[0] != '\0' && strspn(catalog_id, "0123456789") == strlen(catalog_id);
	if (mech == CARVE_IMPL_NVIDIA_SRIOV && carve_startswith(catalog_id, "nvidia-"))
		snprintf(out, 65, "%s", catalog_id + 7);
	else if (mech == CARVE_IMPL_NVIDIA_MDEV && numeric)
		snprintf(out, 65, "nvidia-%s", catalog_id);
	else
		snprintf(out, 65, "%s", catalog_id);
}

int carve_hw_type_catalog_index(const char *board_short, const char *type_id)
{
	const struct carve_type_entry *const *tab = NULL;
	size_t n = board_short ? carve_catalog_types(board_short, &tab) : 0;
	if (!type_id)
		return -1;
	/* The same NVIDIA type is "nvidia-1155" under mdev and "1155" under the
	 * vendor-VFIO interface: accept either spelling. */
	const char *bare = carve_startswith(type_id, "nvidia-") ? type_id + 7 : type_id;
	for (size_t i = 0; i < n; i++) {
		const char *c = tab[i]->type_id;
		const char *cbare = carve_startswith(c, "nvidia-") ? c + 7 : c;
		if (strcmp(c, type_id) == 0 || strcmp(cbare, bare) == 0)
			return (int)i;
	}
	return -1;
}

struct ranked_type {
	long rank;
	struct carve_hw_type t;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked_type *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strverscmp(x->t.id, y->t.id);
}

/* Catalog order first, then types the catalog does not know (by natural
 * order of their identifier), passthrough last. */
static void sort_types(struct carve_hw_gpu *g)
{
	if (g->n_types < 2)
		return;
	const struct carve_board *b = g->board[0] ? carve_board_by_name(g->board) : NULL;
	struct ranked_type *r = malloc(g->n_types * sizeof(*r));
	if (!r) {
		/* Degrade to identifier order rather than fail: sorting cannot report errors. */
		return;
	}
	for (size_t i = 0; i < g->n_types; i++) {
		r[i].t = g->types[i];
		int idx = b ? carve_hw_type_catalog_index(b->short_name, g->types[i].id) : -1;
		if (g->types[i].impl == CARVE_IMPL_PASSTHROUGH)
			r[i].rank = 1L << 30;
		else
			r[i].rank = idx >= 0 ? idx : (1L << 20);
	}
	qsort(r, g->n_types, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < g->n_types; i++)
		g->types[i] = r[i].t;
	free(r);
}

void carve_hw_inventory_sort(struct carve_hw_inventory *inv)
{
	if (!inv)
		return;
	if (inv->n_gpus > 1)
		qsort(inv->gpus, inv->n_gpus, sizeof(*inv->gpus), cmp_gpu);
	for (size_t i = 0; i < inv->n_gpus; i++) {
		struct carve_hw_gpu *g = &inv->gpus[i];
		if (g->n_vfs > 1)
			qsort(g->vfs, g->n_vfs, sizeof(*g->vfs), cmp_vf);
		if (g->n_devs > 1)
			qsort(g->devs, g->n_devs, sizeof(*g->devs), cmp_dev);
		sort_types(g);
	}
}

int carve_hw_inventory_replace(struct carve_hw_inventory *inv, const char *pci, const struct carve_hw_gpu *g)
{
	struct carve_hw_gpu *old = (struct carve_hw_gpu *)carve_hw_inventory_find(inv, pci);
	if (old && g) {
		struct carve_hw_gpu copy;
		if (gpu_copy(&copy, g) < 0)
			return -ENOMEM;
		gpu_clear(old);
		*old = copy;
		return 0;
	}
	if (old) {
		gpu_clear(old);
		size_t i = (size_t)(old - inv->gpus);
		memmove(old, old + 1, (inv->n_gpus - i - 1) * sizeof(*old));
		inv->n_gpus--;
		return 0;
	}
	if (!g)
		return 0;
	int r = carve_hw_inventory_add_copy(inv, g);
	if (r == 0)
		carve_hw_inventory_sort(inv);
	return r;
}

const struct carve_hw_gpu *carve_hw_inventory_find(const struct carve_hw_inventory *inv, const char *pci)
{
	char norm[CARVE_PCI_STRLEN + 1];
	if (!inv || carve_pci_normalize(pci, norm) < 0)
		return NULL;
	for (size_t i = 0; i < inv->n_gpus; i++)
		if (strcmp(inv->gpus[i].pci, norm) == 0)
			return &inv->gpus[i];
	return NULL;
}

const struct carve_hw_dev *carve_hw_inventory_find_dev(const struct carve_hw_inventory *inv, const char *uuid,
						       const struct carve_hw_gpu **gpu)
{
	for (size_t g = 0; inv && g < inv->n_gpus; g++)
		for (size_t d = 0; d < inv->gpus[g].n_devs; d++)
			if (strcmp(inv->gpus[g].devs[d].uuid, uuid) == 0) {
				if (gpu)
					*gpu = &inv->gpus[g];
				return &inv->gpus[g].devs[d];
			}
	return NULL;
}

const struct carve_hw_type *carve_hw_gpu_find_type(const struct carve_hw_gpu *g, const char *type_id)
{
	if (!g || !type_id)
		return NULL;
	for (size_t i = 0; i < g->n_types; i++)
		if (strcmp(g->types[i].id, type_id) == 0)
			return &g->types[i];
	return NULL;
}

/* ---- the NVIDIA time-sliced capacity rule ---- */

static uint8_t mig_slices(const struct carve_board *b, const char *type_id)
{
	const struct carve_type_entry *const *tab = NULL;
	int idx = b ? carve_hw_type_catalog_index(b->short_name, type_id) : -1;
	if (idx < 0)
		return 0;
	carve_catalog_types(b->short_name, &tab);
	return tab[idx]->mig_slices;
}

uint32_t carve_hw_gpu_nv_capacity(const struct carve_hw_gpu *g, const struct carve_hw_type *t)
{
	const struct carve_board *b = g->board[0] ? carve_board_by_name(g->board) : NULL;
	uint8_t t_slices = mig_slices(b, t->id);
	uint32_t count = 0, used_slices = 0, total_slices = 0;
	uint64_t used_fb = 0, total_fb = 0;
	for (size_t i = 0; i < g->n_types; i++) {
		const struct carve_hw_type *x = &g->types[i];
		if (x->impl == CARVE_IMPL_PASSTHROUGH)
			continue;
		uint64_t fb = x->framebuffer_mib * x->max_instances;
		if (fb > total_fb)
			total_fb = fb;
		uint32_t sl = (uint32_t)mig_slices(b, x->id) * x->max_instances;
		if (sl > total_slices)
			total_slices = sl;
	}
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct carve_hw_dev *d = &g->devs[i];
		if (strcmp(d->type_id, "passthrough") == 0)
			return 0; /* the whole GPU belongs to one VM */
		uint8_t d_slices = mig_slices(b, d->type_id);
		if ((d_slices > 0) != (t_slices > 0))
			return 0; /* MIG-backed and time-sliced vGPUs never share a GPU */
		used_slices += d_slices;
		if (strcmp(d->type_id, t->id) == 0)
			count++;
		else if (!g->mixed_size && t_slices == 0)
			return 0; /* homogeneous: one type per physical GPU */
		const struct carve_hw_type *dt = carve_hw_gpu_find_type(g, d->type_id);
		used_fb += dt ? dt->framebuffer_mib : 0;
	}
	if (count >= t->max_instances)
		return 0;
	uint32_t cap = t->max_instances - count;
	if (g->mig_mode == 0 && t_slices > 0)
		return 0;
	if (g->mig_mode == 1) {
		if (t_slices == 0)
			return 0;
		/* One vGPU per GPU instance of its size. */
		uint32_t gis = 0, used = 0;
		for (size_t i = 0; i < g->n_gis; i++)
			gis += g->gis[i].slices == t_slices;
		for (size_t i = 0; i < g->n_devs; i++)
			used += mig_slices(b, g->devs[i].type_id) == t_slices;
		uint32_t by_gis = gis > used ? gis - used : 0;
		return by_gis < cap ? by_gis : cap;
	}
	if (t_slices > 0) {
		/* MIG instances of different sizes share the GPU's slices. */
		uint32_t by_slices = total_slices > used_slices ? (total_slices - used_slices) / t_slices : 0;
		return by_slices < cap ? by_slices : cap;
	}
	if (g->mixed_size && t->framebuffer_mib) {
		uint64_t free_fb = total_fb > used_fb ? total_fb - used_fb : 0;
		uint64_t by_fb = free_fb / t->framebuffer_mib;
		if (by_fb < cap)
			cap = (uint32_t)by_fb;
	}
	return cap;
}

static bool dev_type_running(const struct carve_hw_gpu *g, const char *type_id)
{
	for (size_t i = 0; i < g->n_devs; i++)
		if (strcmp(g->devs[i].type_id, type_id) == 0)
			return true;
	return false;
}

void carve_hw_gpu_infer_mixed_size(struct carve_hw_gpu *g)
{
	if (g->mechanism != CARVE_IMPL_NVIDIA_MDEV && g->mechanism != CARVE_IMPL_NVIDIA_SRIOV)
		return;
	if (g->mixed_size_source == CARVE_HW_SOURCE_DRIVER || g->mixed_size_source == CARVE_HW_SOURCE_NVML)
		return;
	const struct carve_board *b = g->board[0] ? carve_board_by_name(g->board) : NULL;
	bool running = false, other = false, own = false;
	for (size_t i = 0; i < g->n_devs; i++)
		running |= strcmp(g->devs[i].type_id, "passthrough") != 0 && mig_slices(b, g->devs[i].type_id) == 0;
	for (size_t i = 0; running && i < g->n_types; i++) {
		const struct carve_hw_type *t = &g->types[i];
		if (t->broken || t->available == 0 || t->impl == CARVE_IMPL_PASSTHROUGH || mig_slices(b, t->id) > 0)
			continue;
		if (dev_type_running(g, t->id))
			own = true;
		else
			other = true;
	}
	g->mixed_size = other;
	g->mixed_size_source = other || own ? CARVE_HW_SOURCE_INFERRED : CARVE_HW_SOURCE_DEFAULT;
}

void carve_hw_type_passthrough(struct carve_hw_type *t, const struct carve_board *b)
{
	snprintf(t->id, sizeof(t->id), "passthrough");
	snprintf(t->name, sizeof(t->name), "passthrough");
	t->impl = CARVE_IMPL_PASSTHROUGH;
	t->framebuffer_mib = b ? b->fb_mib_per_gpu : 0;
	t->max_instances = 1;
	t->max_instances_source = CARVE_HW_SOURCE_CATALOG;
	t->multi_vgpu = true; /* a VM may be given several whole GPUs */
}

static bool gpu_has_passthrough(const struct carve_hw_gpu *g)
{
	for (size_t i = 0; i < g->n_devs; i++)
		if (strcmp(g->devs[i].type_id, "passthrough") == 0)
			return true;
	return false;
}

static size_t gpu_free_vfs(const struct carve_hw_gpu *g)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n_vfs; i++)
		n += !g->vfs[i].in_use;
	return n;
}

int carve_hw_gpu_refuse(const struct carve_hw_gpu *g, const struct carve_hw_type *t, struct carve_error *err)
{
	if (t->impl == CARVE_IMPL_PASSTHROUGH)
		return carve_error_set(err, -EBUSY, "PGPU_IN_USE", "%s: %s: cannot pass through: %zu vGPU(s) exist on it",
				       g->driver, g->pci, g->n_devs);
	if (gpu_has_passthrough(g))
		return carve_error_set(err, -EBUSY, "PGPU_IN_USE", "%s: %s: device is bound to vfio-pci for passthrough",
				       g->driver, g->pci);
	if (g->mechanism == CARVE_IMPL_NVIDIA_MDEV || g->mechanism == CARVE_IMPL_NVIDIA_SRIOV) {
		const struct carve_board *b = g->board[0] ? carve_board_by_name(g->board) : NULL;
		bool t_mig = mig_slices(b, t->id) > 0;
		/* The driver fails a type write out of MIG's order with EIO. */
		if (g->mig_mode == 1 && !t_mig)
			return carve_error_set(err, -EIO, "VGPU_TYPE_INCOMPATIBLE",
					       "%s: %s: cannot create %s (%s): the GPU is in MIG mode (time-sliced types need "
					       "it off)",
					       g->driver, g->pci, t->id, t->name);
		if (g->mig_mode == 0 && t_mig)
			return carve_error_set(err, -EIO, "VGPU_TYPE_INCOMPATIBLE",
					       "%s: %s: cannot create %s (%s): MIG-backed types need MIG mode on and a GPU "
					       "instance",
					       g->driver, g->pci, t->id, t->name);
		if (g->mig_mode == 1 && carve_hw_gpu_nv_capacity(g, t) == 0 && t->max_instances > 0) {
			char prof[32] = "?";
			carve_mig_profile_of(carve_catalog_type(b ? b->short_name : "", t->id), prof, sizeof(prof));
			return carve_error_set(err, -EIO, "MIG_NO_FREE_INSTANCE",
					       "%s: %s: cannot create %s (%s): no free GPU instance of profile %s (%u GPU "
					       "instance(s) on the GPU)",
					       g->driver, g->pci, t->id, t->name, prof, (unsigned)g->n_gis);
		}
		for (size_t i = 0; i < g->n_devs; i++) {
			const char *other = g->devs[i].type_id;
			if (strcmp(other, t->id) == 0)
				continue;
			if ((mig_slices(b, other) > 0) != t_mig)
				return carve_error_set(err, -EBUSY, "VGPU_TYPE_INCOMPATIBLE",
						       "%s: %s: cannot create %s (%s): MIG-backed and time-sliced vGPUs "
						       "cannot share a GPU (it runs %s)",
						       g->driver, g->pci, t->id, t->name, other);
			if (!g->mixed_size && !t_mig)
				return carve_error_set(err, -EBUSY, "VGPU_TYPE_INCOMPATIBLE",
						       "%s: %s: cannot create %s (%s): the GPU runs %s and is not in "
						       "mixed-size mode (available_instances is 0)",
						       g->driver, g->pci, t->id, t->name, other);
		}
	}
	if (g->n_vfs > 0 && gpu_free_vfs(g) == 0 && t->impl != CARVE_IMPL_PASSTHROUGH)
		return carve_error_set(err, -ENOSPC, "NO_FREE_VF", "%s: %s: no free virtual function (%u of %u in use)",
				       g->driver, g->pci, g->sriov_numvfs, g->sriov_numvfs);
	return carve_error_set(err, -ENOSPC, "VGPU_CAPACITY_EXCEEDED",
			       "%s: %s: cannot create %s (%s): available_instances is 0 (%zu vGPU(s) on the GPU)", g->driver,
			       g->pci, t->id, t->name, g->n_devs);
}

int carve_hw_gpu_refuse_problem(const struct carve_hw_gpu *g, const char *type_id, struct carve_error *err)
{
	const struct carve_hw_type *t = carve_hw_gpu_find_type(g, type_id);
	const struct carve_hw_problem *p = g->broken ? carve_hw_gpu_find_problem(g, NULL)
			: t && t->broken ? carve_hw_gpu_find_problem(g, t->id) : NULL;
	if (!g->broken && !(t && t->broken))
		return 0;
	return carve_error_set(err, -EIO, "DISCOVERY_PROBLEM", "%s: cannot create %s: %s: %s", g->pci,
			       type_id ? type_id : "a vGPU", p ? p->id : "SYSFS_READ_FAILED",
			       p ? p->message : "unreadable");
}

/* ---- JSON ---- */

static json_t *hex_str(uint32_t v, int width)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%0*x", width, v);
	return json_string(buf);
}

static json_t *type_to_json(const struct carve_hw_type *t)
{
	char res[32] = "";
	if (t->max_res_x || t->max_res_y)
		snprintf(res, sizeof(res), "%ux%u", t->max_res_x, t->max_res_y);
	char series[2] = {t->series, '\0'};
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:s, s:I, s:b, s:s}", "id", t->id, "name",
			      t->name, "implementation", carve_impl_name(t->impl), "framebuffer_mib",
			      (json_int_t)t->framebuffer_mib, "num_heads", (json_int_t)t->num_heads, "max_resolution",
			      res, "frl_config", (json_int_t)t->frl_config, "max_instances",
			      (json_int_t)t->max_instances, "max_instances_source",
			      carve_hw_source_name(t->max_instances_source), "available", (json_int_t)t->available,
			      "multi_vgpu", (int)t->multi_vgpu, "series", series);
	if (!o)
		return NULL;
	/* Only where it happened: healthy types stay as short as before. */
	if (t->broken)
		json_object_set_new(o, "broken", json_true());
	if (t->low_gm_mib)
		json_object_set_new(o, "low_gm_mib", json_integer((json_int_t)t->low_gm_mib));
	if (t->high_gm_mib)
		json_object_set_new(o, "high_gm_mib", json_integer((json_int_t)t->high_gm_mib));
	if (t->fence)
		json_object_set_new(o, "fence", json_integer(t->fence));
	if (t->weight)
		json_object_set_new(o, "weight", json_integer(t->weight));
	return o;
}

static json_t *problems_to_json(const struct carve_hw_problem *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "pci", p[i].pci, "type", p[i].type_id,
						       "id", p[i].id, "message", p[i].message)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *carve_hw_ecc_to_json(const struct carve_hw_ecc *e)
{
	return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:i, s:i, s:b, s:b, s:b}", "enabled", e->enabled, "pending",
			 e->pending, "volatile-corrected", (json_int_t)e->volatile_corrected, "volatile-uncorrected",
			 (json_int_t)e->volatile_uncorrected, "aggregate-corrected", (json_int_t)e->aggregate_corrected,
			 "aggregate-uncorrected", (json_int_t)e->aggregate_uncorrected, "retired-sbe", (int)e->retired_sbe,
			 "retired-dbe", (int)e->retired_dbe, "retired-pending", e->retired_pending, "remap-pending",
			 e->remap_pending, "remap-failure", e->remap_failure);
}

static json_t *gpu_to_json(const struct carve_hw_gpu *g)
{
	_cleanup_json_ json_t *vfs = json_array(), *types = json_array(), *devs = json_array(),
			      *probs = problems_to_json(g->problems, g->n_problems);
	if (!vfs || !types || !devs || !probs)
		return NULL;
	for (size_t i = 0; i < g->n_vfs; i++) {
		const struct carve_hw_vf *v = &g->vfs[i];
		if (json_array_append_new(vfs, json_pack("{s:s, s:s, s:i, s:s, s:b}", "pci", v->pci, "driver",
							 v->driver, "iommu_group", (int)v->iommu_group,
							 "current_type", v->current_type, "in_use",
							 (int)v->in_use)) < 0)
			return NULL;
	}
	for (size_t i = 0; i < g->n_types; i++)
		if (json_array_append_new(types, type_to_json(&g->types[i])) < 0)
			return NULL;
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct carve_hw_dev *d = &g->devs[i];
		if (json_array_append_new(devs, json_pack("{s:s, s:s, s:s, s:s}", "uuid", d->uuid, "type",
							  d->type_id, "parent", d->parent, "params", d->params)) < 0)
			return NULL;
	}
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:i, s:s, s:b, s:s, s:b, s:s, s:b, s:I, s:I, "
			      "s:O, s:O, s:O}",
			      "pci", g->pci, "vendor_id", hex_str(g->vendor_id, 4), "device_id",
			      hex_str(g->device_id, 4), "subsystem_vendor_id", hex_str(g->subsys_vendor_id, 4),
			      "subsystem_device_id", hex_str(g->subsys_device_id, 4), "class",
			      hex_str(g->class_code, 6), "driver", g->driver, "numa_node", (int)g->numa_node,
			      "iommu_group", (int)g->iommu_group, "board", g->board, "is_system_display",
			      (int)g->is_system_display, "mechanism", carve_impl_name(g->mechanism), "mixed_size",
			      (int)g->mixed_size, "mixed_size_source", carve_hw_source_name(g->mixed_size_source),
			      "mixed_size_supported", (int)g->mixed_size_supported, "sriov_totalvfs",
			      (json_int_t)g->sriov_totalvfs, "sriov_numvfs", (json_int_t)g->sriov_numvfs, "vfs", vfs,
			      "types", types, "devices", devs);
	if (o && g->nvlink_known) {
		json_t *links = json_object();
		for (size_t i = 0; links && i < g->n_nvlinks; i++)
			json_object_set_new(links, g->nvlinks[i].peer, json_integer(g->nvlinks[i].links));
		json_object_set_new(o, "nvlink", links ? links : json_null());
	}
	if (o && g->ecc.known)
		json_object_set_new(o, "ecc", carve_hw_ecc_to_json(&g->ecc));
	if (o && g->mig_mode >= 0) {
		json_t *gis = json_array();
		for (size_t i = 0; gis && i < g->n_gis; i++)
			json_array_append_new(gis, json_string(g->gis[i].profile));
		json_object_set_new(o, "mig_mode", json_boolean(g->mig_mode == 1));
		json_object_set_new(o, "gpu_instances", gis ? gis : json_null());
	}
	if (o && (g->broken || g->n_problems)) {
		json_object_set_new(o, "broken", json_boolean(g->broken));
		json_object_set(o, "problems", probs);
	}
	return o;
}

static uint64_t fnv1a_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = text ? text : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	free(text);
	return h ? h : 1;
}

uint64_t carve_hw_inventory_hash(struct carve_hw_inventory *inv)
{
	uint64_t h = inv->n_problems ? fnv1a_json(problems_to_json(inv->problems, inv->n_problems)) : 0;
	for (size_t i = 0; i < inv->n_gpus; i++) {
		struct carve_hw_gpu *g = &inv->gpus[i];
		if (!g->hash)
			g->hash = fnv1a_json(gpu_to_json(g));
		h += g->hash;
	}
	return h;
}

json_t *carve_hw_inventory_to_json(const struct carve_hw_inventory *inv)
{
	_cleanup_json_ json_t *gpus = json_array();
	if (!gpus || !inv)
		return NULL;
	for (size_t i = 0; i < inv->n_gpus; i++)
		if (json_array_append_new(gpus, gpu_to_json(&inv->gpus[i])) < 0)
			return NULL;
	json_t *o = json_pack("{s:O}", "gpus", gpus);
	/* Only where there are any: healthy hosts keep their golden files. */
	if (o && inv->n_problems)
		json_object_set_new(o, "problems", problems_to_json(inv->problems, inv->n_problems));
	return o;
}

void carve_hw_type_from_catalog(struct carve_hw_type *t, const struct carve_type_entry *e, enum carve_impl mech)
{
	carve_hw_type_id_for(mech, e->type_id, t->id);
	snprintf(t->name, sizeof(t->name), "%s", e->name);
	t->impl = mech;
	t->framebuffer_mib = e->framebuffer_mib;
	t->num_heads = e->num_heads;
	t->max_res_x = e->max_res_x;
	t->max_res_y = e->max_res_y;
	t->frl_config = e->frl_config;
	t->max_instances = e->max_instance;
	/* NVIDIA's mdev driver publishes the maximum in each type's description;
	 * elsewhere it is carve's table. */
	t->max_instances_source = !e->max_instance		  ? CARVE_HW_SOURCE_NONE
				  : mech == CARVE_IMPL_NVIDIA_MDEV ? CARVE_HW_SOURCE_DRIVER
								   : CARVE_HW_SOURCE_CATALOG;
	t->multi_vgpu = e->multi_vgpu;
	t->series = e->series;
	t->low_gm_mib = e->low_gm_mib;
	t->high_gm_mib = e->high_gm_mib;
	t->fence = e->fence;
	t->weight = e->weight;
}
