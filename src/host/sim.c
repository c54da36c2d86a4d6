/* sim.c - the simulated host backend (see sim.h).
 *
 * The model is itself a struct carve_hw_inventory (GPUs, VFs, types, devices)
 * whose `available` fields are not kept: discovery copies the model and
 * computes them from the rules, so the numbers can never drift from the
 * devices that exist.  The same rules decide create requests.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/catalog.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/pci.h"
#include "util/uuid.h"

#define STATE_FORMAT "carve-sim-state"
/* 2: "numvfs" (the enabled VF count of every SR-IOV GPU); 1 had none, its
 * GPUs keep the profile's boot count.  3: "mixed" (NVIDIA GPUs whose
 * mixed-size mode was set since boot); before it they keep the profile's. */
#define STATE_VERSION 3

struct sim_extra {
	char orig_driver[32];  /* restored when a passthrough assignment ends */
	/* GVT-g budgets of the whole GPU (see gvt_budgets) */
	uint64_t low, high;
	uint32_t fence, weight, max_vgpus;
	/* SR-IOV: the IOMMU group VF i gets whenever it is enabled (sriov_totalvfs
	 * entries), fixed when the model is built so that VFs enabled later, or
	 * again after a "reboot", look the same every time. */
	int32_t *vf_groups;
	/* The mixed-size mode changed since boot: kept in the state file. */
	bool mixed_set;
	/* A GPU reset changed its ECC facts: kept in the state file. */
	bool ecc_set;
};

struct sim {
	struct carve_host base;
	char profile_name[64];
	char *profile_origin;
	struct carve_hw_inventory model; /* sorted by PCI once built; `available` unused */
	struct sim_extra *extra;         /* parallel to model.gpus */
	char *state_path;
	unsigned long creates;           /* vgpu_create calls so far */
	unsigned long fail_nth;          /* CARVE_SIM_FAIL_CREATE, 0 = off */
	bool has_fail_after;
	unsigned long fail_after;
};

static const struct carve_host_ops sim_ops;

static struct sim *to_sim(struct carve_host *h)
{
	return (struct sim *)h;
}

/* ---- building the model from a profile ---- */

static const char *default_driver(const struct carve_board *b, int mech)
{
	switch (mech) {
	case CARVE_IMPL_NVIDIA_MDEV:
	case CARVE_IMPL_NVIDIA_SRIOV:
		return "nvidia";
	case CARVE_IMPL_AMD_MXGPU:
		return "gim";
	case CARVE_IMPL_GVT_G:
		return "i915";
	default:
		break;
	}
	switch (b->vendor_id) {
	case 0x10de: return "nvidia";
	case 0x1002: return "amdgpu";
	case 0x8086: return "i915";
	case 0x1a03: return "ast";
	case 0x102b: return "mgag200";
	default: return "vfio-pci";
	}
}

/* Data-centre NVIDIA boards are 3D controllers; Kepler/Maxwell GRID boards,
 * AMD, Intel and BMCs are VGA controllers. */
static uint32_t default_class(const struct carve_board *b)
{
	if (b->vendor_id == 0x10de && b->architecture && !carve_startswith(b->architecture, "Kepler") &&
	    !carve_startswith(b->architecture, "Maxwell"))
		return 0x030200;
	return 0x030000;
}

/* First VF's routing-ID offset from its PF (NVIDIA: 4; AMD MxGPU: 16). */
static unsigned vf_offset(const struct carve_board *b)
{
	return b->vendor_id == 0x1002 ? 16 : 4;
}

static void gvt_budgets(const struct carve_board *b, struct sim_extra *x)
{
	/* i915 splits the GPU's aperture (low GM), hidden GM and fences between
	 * vGPUs; the catalog gives each type's share and how many fit alone, so
	 * the budgets are the largest share * count over the board's types.  The
	 * weight budget models the scheduler's share the same way. */
	const struct carve_type_entry *const *tab;
	size_t n = carve_catalog_types(b->short_name, &tab);
	for (size_t i = 0; i < n; i++) {
		const struct carve_type_entry *t = tab[i];
		uint64_t low = (uint64_t)t->low_gm_mib * t->max_instance, high = (uint64_t)t->high_gm_mib * t->max_instance;
		uint32_t fence = t->fence * t->max_instance, weight = t->weight * t->max_instance;
		if (low > x->low)
			x->low = low;
		if (high > x->high)
			x->high = high;
		if (fence > x->fence)
			x->fence = fence;
		if (weight > x->weight)
			x->weight = weight;
		if (t->max_instance > x->max_vgpus)
			x->max_vgpus = t->max_instance;
	}
}

struct addr_use {
	uint32_t key;
	int line;
	size_t entry;
};

static uint32_t addr_key(const char *pci)
{
	struct carve_pci_addr a = {0};
	carve_pci_parse(pci, &a);
	return ((uint32_t)a.domain << 16) | ((uint32_t)a.bus << 8) | ((uint32_t)a.slot << 3) | a.func;
}

static int cmp_addr_use(const void *a, const void *b)
{
	const struct addr_use *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key ? 1 : (x->line > y->line) - (x->line < y->line);
}

struct addr_list {
	struct addr_use *v;
	size_t n, cap;
};

static int addr_push(struct addr_list *l, const char *pci, int line, size_t entry)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct addr_use *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct addr_use){addr_key(pci), line, entry};
	return 0;
}

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

/* Derived IOMMU groups: the next number no entry asked for explicitly. */
static int32_t alloc_group(int32_t *next, const bool *used, size_t n_used)
{
	while (*next < (int32_t)n_used && used[*next])
		(*next)++;
	return (*next)++;
}

/* The address of VF i of the PF at pf (routing IDs follow the PF's). */
static int vf_address(const char *pf, const struct carve_board *b, uint32_t i, char out[13])
{
	struct carve_pci_addr a;
	carve_pci_parse(pf, &a);
	unsigned devfn = ((unsigned)a.slot << 3 | a.func) + vf_offset(b) + i;
	if (devfn > 0xff)
		return -ERANGE;
	a.slot = (uint8_t)(devfn >> 3);
	a.func = (uint8_t)(devfn & 7);
	carve_pci_format(&a, out);
	return 0;
}

/* An AMD MxGPU type exists under one VF count (gim's vf_num); with no VF
 * enabled, any count within sriov_totalvfs could be set up. */
static bool amd_type_fits(const struct carve_hw_gpu *g, const struct carve_type_entry *e)
{
	return g->sriov_numvfs ? e->max_instance == g->sriov_numvfs : e->max_instance <= g->sriov_totalvfs;
}

/* (Re)build the types g's driver publishes: the catalog's for the board
 * under g's mechanism (subset: the profile's `types`, NULL for all), then
 * passthrough unless g is the console. */
static int publish_types(struct carve_hw_gpu *g, const struct carve_board *b, const struct carve_strv *subset,
			 struct carve_error *err)
{
	free(g->types);
	g->types = NULL;
	g->n_types = 0;
	const struct carve_type_entry *const *tab;
	size_t n = g->mechanism != CARVE_IMPL_PASSTHROUGH ? carve_catalog_types(b->short_name, &tab) : 0;
	for (size_t i = 0; i < n; i++) {
		char id[65];
		carve_hw_type_id_for(g->mechanism, tab[i]->type_id, id);
		if (subset && subset->n > 0 && !carve_strv_contains(subset, id))
			continue;
		if (g->mechanism == CARVE_IMPL_AMD_MXGPU && !amd_type_fits(g, tab[i]))
			continue;
		struct carve_hw_type *t = carve_hw_gpu_add_type(g);
		if (!t)
			return oom(err);
		carve_hw_type_from_catalog(t, tab[i], g->mechanism);
	}
	if (!g->is_system_display) {
		struct carve_hw_type *t = carve_hw_gpu_add_type(g);
		if (!t)
			return oom(err);
		carve_hw_type_passthrough(t, b);
	}
	return 0;
}

static int build_gpu(struct sim *s, const struct carve_profile *p, size_t ei, unsigned idx, int32_t *next_group,
		     const bool *group_used, size_t n_group_used, struct addr_list *addrs, struct carve_error *err)
{
	const struct carve_profile_gpu *e = &p->gpus[ei];
	struct carve_profile_resolved r;
	if (carve_profile_gpu_resolve(e, &r) < 0)
		return carve_profile_error(p, err, -EINVAL, e->key_line[CARVE_PGK_BOARD], "board", "unknown board '%s'",
					   e->board);
	const struct carve_board *b = r.board;
	struct carve_hw_gpu *g = carve_hw_inventory_add_gpu(&s->model);
	if (!g)
		return oom(err);

#define NEXT_GROUP() alloc_group(next_group, group_used, n_group_used)

	struct carve_pci_addr a;
	carve_pci_parse(e->pci, &a);
	a.bus = (uint8_t)(a.bus + idx);
	carve_pci_format(&a, g->pci);
	g->vendor_id = b->vendor_id;
	g->device_id = b->device_id;
	g->subsys_vendor_id = e->key_line[CARVE_PGK_SUBSYSTEM] ? e->subsys_vendor : b->vendor_id;
	g->subsys_device_id = e->key_line[CARVE_PGK_SUBSYSTEM] ? e->subsys_device : b->device_id;
	g->class_code = e->key_line[CARVE_PGK_CLASS] ? e->class_code : default_class(b);
	snprintf(g->driver, sizeof(g->driver), "%s", e->driver[0] ? e->driver : default_driver(b, r.mechanism));
	g->numa_node = e->numa_node;
	g->iommu_group = e->iommu_group >= 0 ? e->iommu_group + (int32_t)idx : NEXT_GROUP();
	snprintf(g->board, sizeof(g->board), "%s", b->name);
	g->is_system_display = e->system_display && idx == 0;
	g->mechanism = (enum carve_impl)r.mechanism;
	/* As the drivers do: i915 always mixes types; NVIDIA's mode is off
	 * unless set (the profile's mixed_size, which the fixture tree carries
	 * as nvidia/vgpu_heterogeneous_mode), and discovery infers what it can
	 * (sim_discover).  The board says whether it is supported at all. */
	if (r.mechanism == CARVE_IMPL_GVT_G) {
		g->mixed_size = g->mixed_size_supported = true;
		g->mixed_size_source = CARVE_HW_SOURCE_DRIVER;
	} else if (r.mechanism == CARVE_IMPL_NVIDIA_MDEV || r.mechanism == CARVE_IMPL_NVIDIA_SRIOV) {
		g->mixed_size_supported = b->mixed_size;
		g->mixed_size = e->mixed_size == 1;
		g->mixed_size_source = e->mixed_size >= 0 ? CARVE_HW_SOURCE_DRIVER : CARVE_HW_SOURCE_DEFAULT;
	}
	if (addr_push(addrs, g->pci, e->line, ei) < 0)
		return oom(err);
	carve_hw_gpu_profile_facts(g, e);

	if (r.sriov) {
		g->sriov_totalvfs = r.totalvfs;
		g->sriov_numvfs = r.numvfs;
		/* Every VF that could be enabled occupies its address, enabled or not. */
		for (uint32_t i = 0; i < r.totalvfs; i++) {
			char vpci[13];
			if (vf_address(g->pci, b, i, vpci) < 0)
				return carve_profile_error(p, err, -EINVAL, e->line, "vfs",
							   "%u VFs of %s do not fit on bus %02x", r.totalvfs, g->pci, a.bus);
			if (addr_push(addrs, vpci, e->line, ei) < 0)
				return oom(err);
			if (i >= r.numvfs)
				continue;
			struct carve_hw_vf *vf = carve_hw_gpu_add_vf(g);
			if (!vf)
				return oom(err);
			snprintf(vf->pci, sizeof(vf->pci), "%s", vpci);
			vf->iommu_group = NEXT_GROUP();
			if (r.mechanism != CARVE_IMPL_AMD_MXGPU)
				snprintf(vf->driver, sizeof(vf->driver), "nvidia");
			if (r.mechanism == CARVE_IMPL_NVIDIA_SRIOV)
				snprintf(vf->current_type, sizeof(vf->current_type), "0");
		}
	}
#undef NEXT_GROUP

	/* The types the driver publishes.  With no VF enabled an SR-IOV GPU still
	 * has them, none available: discovery reports the catalog's then. */
	return publish_types(g, b, &e->types, err);
}

static int build_model(struct sim *s, const struct carve_profile *p, struct carve_error *err)
{
	/* Explicit IOMMU groups first, so derived ones never collide with them. */
	size_t n_used = 0;
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct carve_board *b = carve_board_by_name(p->gpus[i].board);
		if (p->gpus[i].iommu_group >= 0 && b) {
			size_t top = (size_t)p->gpus[i].iommu_group + b->gpus_per_board;
			if (top > n_used)
				n_used = top;
		}
	}
	_cleanup_free_ bool *used = calloc(n_used ? n_used : 1, sizeof(bool));
	if (!used)
		return oom(err);
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct carve_board *b = carve_board_by_name(p->gpus[i].board);
		if (p->gpus[i].iommu_group >= 0 && b)
			for (unsigned k = 0; k < b->gpus_per_board; k++)
				used[p->gpus[i].iommu_group + (int32_t)k] = true;
	}

	snprintf(s->model.driver_version, sizeof(s->model.driver_version), "%s", p->driver_version);
	struct addr_list addrs = {0};
	int32_t next_group = 1;
	int r = 0;
	for (size_t i = 0; i < p->n_gpus && r == 0; i++) {
		const struct carve_board *b = carve_board_by_name(p->gpus[i].board);
		unsigned count = b ? b->gpus_per_board : 1;
		for (unsigned k = 0; k < count && r == 0; k++)
			r = build_gpu(s, p, i, k, &next_group, used, n_used, &addrs, err);
	}
	if (r == 0 && addrs.n > 1) {
		qsort(addrs.v, addrs.n, sizeof(*addrs.v), cmp_addr_use);
		for (size_t i = 1; i < addrs.n && r == 0; i++)
			if (addrs.v[i].key == addrs.v[i - 1].key) {
				char key[32];
				snprintf(key, sizeof(key), "gpus[%zu].pci", addrs.v[i].entry);
				r = carve_profile_error(p, err, -EINVAL, addrs.v[i].line, key,
							"PCI address %04x:%02x:%02x.%x is already taken (line %d; "
							"multi-GPU boards and VFs use the following addresses)",
							addrs.v[i].key >> 16, (addrs.v[i].key >> 8) & 0xff,
							(addrs.v[i].key >> 3) & 0x1f, addrs.v[i].key & 7, addrs.v[i - 1].line);
			}
	}
	free(addrs.v);
	if (r < 0)
		return r;

	carve_hw_inventory_sort(&s->model);
	s->extra = calloc(s->model.n_gpus ? s->model.n_gpus : 1, sizeof(*s->extra));
	if (!s->extra)
		return oom(err);
	for (size_t i = 0; i < s->model.n_gpus; i++) {
		struct carve_hw_gpu *g = &s->model.gpus[i];
		snprintf(s->extra[i].orig_driver, sizeof(s->extra[i].orig_driver), "%s", g->driver);
		const struct carve_board *b = carve_board_by_name(g->board);
		if (b && g->mechanism == CARVE_IMPL_GVT_G)
			gvt_budgets(b, &s->extra[i]);
		if (g->sriov_totalvfs == 0)
			continue;
		if (!(s->extra[i].vf_groups = calloc(g->sriov_totalvfs, sizeof(int32_t))))
			return oom(err);
		for (size_t v = 0; v < g->n_vfs; v++)
			s->extra[i].vf_groups[v] = g->vfs[v].iommu_group;
	}
	/* Groups of the VFs not enabled at boot come after all the others, so
	 * that the groups of what the profile enables do not depend on them. */
	for (size_t i = 0; i < s->model.n_gpus; i++)
		for (size_t v = s->model.gpus[i].n_vfs; v < s->model.gpus[i].sriov_totalvfs; v++)
			s->extra[i].vf_groups[v] = alloc_group(&next_group, used, n_used);
	return 0;
}

/* ---- the rules ---- */

static struct carve_hw_gpu *find_gpu(struct sim *s, const char *pci, size_t *idx)
{
	for (size_t i = 0; i < s->model.n_gpus; i++)
		if (strcmp(s->model.gpus[i].pci, pci) == 0) {
			if (idx)
				*idx = i;
			return &s->model.gpus[i];
		}
	return NULL;
}

static struct carve_hw_type *find_type(struct carve_hw_gpu *g, const char *id)
{
	return (struct carve_hw_type *)carve_hw_gpu_find_type(g, id);
}

static bool has_passthrough(const struct carve_hw_gpu *g)
{
	for (size_t i = 0; i < g->n_devs; i++)
		if (strcmp(g->devs[i].type_id, "passthrough") == 0)
			return true;
	return false;
}

static uint32_t free_vfs(const struct carve_hw_gpu *g)
{
	uint32_t n = 0;
	for (size_t i = 0; i < g->n_vfs; i++)
		n += !g->vfs[i].in_use;
	return n;
}

static bool is_sriov(const struct carve_hw_gpu *g)
{
	return g->sriov_totalvfs > 0 &&
	       (g->mechanism == CARVE_IMPL_NVIDIA_MDEV || g->mechanism == CARVE_IMPL_NVIDIA_SRIOV ||
		g->mechanism == CARVE_IMPL_AMD_MXGPU);
}

static uint32_t gvt_available(const struct carve_hw_gpu *g, const struct sim_extra *x, const struct carve_hw_type *t)
{
	uint64_t low = 0, high = 0;
	uint32_t fence = 0, weight = 0, n = 0;
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct carve_hw_type *dt = carve_hw_gpu_find_type(g, g->devs[i].type_id);
		if (!dt)
			continue;
		low += dt->low_gm_mib;
		high += dt->high_gm_mib;
		fence += dt->fence;
		weight += dt->weight;
		n++;
	}
#define FIT(budget, used, each)                                                               \
	do {                                                                                  \
		uint64_t room = (budget) > (used) ? (uint64_t)(budget) - (uint64_t)(used) : 0; \
		if ((each) > 0 && room / (each) < avail)                                       \
			avail = (uint32_t)(room / (each));                                     \
	} while (0)
	uint32_t avail = x->max_vgpus > n ? x->max_vgpus - n : 0;
	FIT(x->low, low, t->low_gm_mib);
	FIT(x->high, high, t->high_gm_mib);
	FIT(x->fence, fence, t->fence);
	FIT(x->weight, weight, t->weight);
#undef FIT
	return avail;
}

static uint32_t available(const struct sim *s, size_t gi, const struct carve_hw_type *t)
{
	const struct carve_hw_gpu *g = &s->model.gpus[gi];
	bool vf_busy = free_vfs(g) < g->n_vfs;
	if (t->impl == CARVE_IMPL_PASSTHROUGH)
		return g->n_devs == 0 && !vf_busy ? 1 : 0;
	if (has_passthrough(g))
		return 0;
	uint32_t cap;
	switch (g->mechanism) {
	case CARVE_IMPL_NVIDIA_MDEV:
	case CARVE_IMPL_NVIDIA_SRIOV:
		cap = carve_hw_gpu_nv_capacity(g, t);
		if (is_sriov(g) && free_vfs(g) < cap)
			cap = free_vfs(g);
		return cap;
	case CARVE_IMPL_AMD_MXGPU:
		return free_vfs(g);
	case CARVE_IMPL_GVT_G:
		return gvt_available(g, &s->extra[gi], t);
	default:
		return 0;
	}
}

static struct carve_hw_dev *find_dev_uuid(struct sim *s, const char *uuid, struct carve_hw_gpu **gp)
{
	for (size_t i = 0; i < s->model.n_gpus; i++)
		for (size_t j = 0; j < s->model.gpus[i].n_devs; j++)
			if (strcasecmp(s->model.gpus[i].devs[j].uuid, uuid) == 0) {
				*gp = &s->model.gpus[i];
				return &s->model.gpus[i].devs[j];
			}
	return NULL;
}

static struct carve_hw_dev *find_dev_parent(struct sim *s, const char *parent, struct carve_hw_gpu **gp)
{
	for (size_t i = 0; i < s->model.n_gpus; i++)
		for (size_t j = 0; j < s->model.gpus[i].n_devs; j++)
			if (strcmp(s->model.gpus[i].devs[j].parent, parent) == 0) {
				*gp = &s->model.gpus[i];
				return &s->model.gpus[i].devs[j];
			}
	return NULL;
}

static struct carve_hw_vf *find_vf(struct carve_hw_gpu *g, const char *pci)
{
	for (size_t i = 0; i < g->n_vfs; i++)
		if (strcmp(g->vfs[i].pci, pci) == 0)
			return &g->vfs[i];
	return NULL;
}

/* ---- SR-IOV: enabling VFs ---- */

/* Make g (model GPU gi) have n enabled VFs, all free, as a fresh
 * sriov_numvfs write leaves them; gim's published type follows the count.
 * No rules here: callers check them (write_numvfs) or restore saved state. */
static int set_vfs(struct sim *s, size_t gi, uint32_t n, struct carve_error *err)
{
	struct carve_hw_gpu *g = &s->model.gpus[gi];
	const struct carve_board *b = carve_board_by_name(g->board);
	if (!b || n > g->sriov_totalvfs)
		return carve_error_set(err, -ERANGE, "SRIOV_NUMVFS_INVALID", "%s: %u VFs asked for, sriov_totalvfs is %u",
				       g->pci, n, g->sriov_totalvfs);
	free(g->vfs);
	g->vfs = NULL;
	g->n_vfs = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct carve_hw_vf *vf = carve_hw_gpu_add_vf(g);
		if (!vf)
			return oom(err);
		vf_address(g->pci, b, i, vf->pci); /* fits: checked when the model was built */
		vf->iommu_group = s->extra[gi].vf_groups[i];
		if (g->mechanism != CARVE_IMPL_AMD_MXGPU)
			snprintf(vf->driver, sizeof(vf->driver), "nvidia");
		if (g->mechanism == CARVE_IMPL_NVIDIA_SRIOV)
			snprintf(vf->current_type, sizeof(vf->current_type), "0");
	}
	/* sriov-manage destroys the MIG GPU instances (the mode stays). */
	if (n != g->sriov_numvfs)
		g->n_gis = 0;
	/* NVIDIA's sriov-manage clears the mixed-size mode with the VFs. */
	if (g->mechanism == CARVE_IMPL_NVIDIA_SRIOV && n != g->sriov_numvfs) {
		g->mixed_size = false;
		g->mixed_size_source = CARVE_HW_SOURCE_DRIVER;
		s->extra[gi].mixed_set = true;
	}
	g->sriov_numvfs = n;
	if (g->mechanism != CARVE_IMPL_AMD_MXGPU)
		return 0;
	return publish_types(g, b, NULL, err); /* catalog order: already canonical */
}

/* A VF that carries a vGPU or is handed to a VM, or NULL. */
static const struct carve_hw_vf *busy_vf(const struct carve_hw_gpu *g)
{
	for (size_t i = 0; i < g->n_vfs; i++)
		if (g->vfs[i].in_use || strcmp(g->vfs[i].driver, "vfio-pci") == 0)
			return &g->vfs[i];
	return NULL;
}

/* A write of n to the PF's sriov_numvfs, with the kernel's rules: beyond
 * sriov_totalvfs -ERANGE; the same count is a no-op; one non-zero count
 * does not turn into another (-EBUSY, "disable first"); and, the vendor
 * drivers', VFs are not torn from under a vGPU (-EBUSY). */
static int write_numvfs(struct sim *s, size_t gi, uint32_t n, struct carve_error *err)
{
	const struct carve_hw_gpu *g = &s->model.gpus[gi];
	if (n > g->sriov_totalvfs)
		return carve_error_set(err, -ERANGE, "SRIOV_NUMVFS_INVALID", "%s: %u VFs asked for, sriov_totalvfs is %u",
				       g->pci, n, g->sriov_totalvfs);
	if (n == g->sriov_numvfs)
		return 0;
	if (n != 0 && g->sriov_numvfs != 0)
		return carve_error_set(err, -EBUSY, "SYSFS_WRITE_FAILED",
				       "%s: %u VFs already enabled; disable before enabling %u (sriov_numvfs)", g->pci,
				       g->sriov_numvfs, n);
	const struct carve_hw_vf *vf = n == 0 ? busy_vf(g) : NULL;
	if (vf)
		return carve_error_set(err, -EBUSY, "SYSFS_WRITE_FAILED", "%s: %s: VF %s is in use (sriov_numvfs)",
				       g->driver, g->pci, vf->pci);
	return set_vfs(s, gi, n, err);
}

/* Change a PF's VF count the way the backends do: at most sriov_totalvfs,
 * through 0 when a count is already set, never while a VF is in use.
 * *changed tells whether the model changed (the caller persists it). */
static int change_numvfs(struct sim *s, size_t gi, uint32_t want, bool *changed, struct carve_error *err)
{
	const struct carve_hw_gpu *g = &s->model.gpus[gi];
	*changed = false;
	if (want == g->sriov_numvfs)
		return 0;
	if (want > g->sriov_totalvfs)
		return carve_error_set(err, -ERANGE, "SRIOV_NUMVFS_INVALID", "%s: %u VFs asked for, sriov_totalvfs is %u",
				       g->pci, want, g->sriov_totalvfs);
	int r;
	if (g->sriov_numvfs != 0) {
		const struct carve_hw_vf *vf = busy_vf(g);
		if (vf)
			return carve_error_set(err, -EBUSY, "SRIOV_VF_IN_USE",
					       "%s: cannot change sriov_numvfs from %u to %u: VF %s is in use", g->pci,
					       g->sriov_numvfs, want, vf->pci);
		if ((r = write_numvfs(s, gi, 0, err)) < 0)
			return r;
		*changed = true;
	}
	if ((r = write_numvfs(s, gi, want, err)) < 0)
		return r;
	*changed = true;
	return 0;
}

/* Before a VF-backed create: enable the VFs the type needs, as the sysfs
 * backend does (sysfs_host.c ensure_vfs) - every VF for NVIDIA, the type's
 * count for AMD MxGPU - through 0 when a count is already set, never while
 * a VF is in use.  *changed tells whether the model changed.  Requests the
 * rules will refuse anyway (unknown type, passthrough assigned) change
 * nothing: create_core reports them. */
static int prepare_vfs(struct sim *s, const struct carve_vgpu_spec *spec, bool *changed, struct carve_error *err)
{
	*changed = false;
	char pci[13];
	size_t gi;
	struct carve_hw_gpu *g = carve_pci_normalize(spec->pgpu_pci, pci) == 0 ? find_gpu(s, pci, &gi) : NULL;
	const struct carve_board *b = g ? carve_board_by_name(g->board) : NULL;
	if (!g || !b || !is_sriov(g) || spec->impl == CARVE_IMPL_PASSTHROUGH || has_passthrough(g) ||
	    !carve_ident_valid(spec->type_id))
		return 0;
	uint32_t want = g->sriov_numvfs ? g->sriov_numvfs : g->sriov_totalvfs;
	if (g->mechanism == CARVE_IMPL_AMD_MXGPU) {
		const struct carve_type_entry *e = carve_catalog_type(b->short_name, spec->type_id);
		if (!e || spec->impl != CARVE_IMPL_AMD_MXGPU || e->max_instance == 0 ||
		    e->max_instance > g->sriov_totalvfs)
			return 0;
		want = e->max_instance;
	} else {
		const struct carve_hw_type *t = carve_hw_gpu_find_type(g, spec->type_id);
		if (!t || t->impl != spec->impl)
			return 0;
	}
	return change_numvfs(s, gi, want, changed, err);
}

/* Create without persistence or fault injection.  want_parent (may be NULL)
 * pins a VF-backed vGPU to a given VF, as when reloading state. */
static int create_core(struct sim *s, const struct carve_vgpu_spec *spec, const char *want_parent,
		       struct carve_vgpu_placement *out, struct carve_error *err)
{
	if (!carve_pci_valid(spec->pgpu_pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", spec->pgpu_pci);
	if (!carve_ident_valid(spec->type_id))
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "invalid vGPU type identifier '%.70s'",
				       spec->type_id);
	if (spec->uuid[0] && !carve_uuid_valid(spec->uuid))
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID '%.40s'", spec->uuid);
	char pci[13], uuid[37] = "";
	carve_pci_normalize(spec->pgpu_pci, pci);
	if (spec->uuid[0])
		carve_uuid_normalize(spec->uuid, uuid);
	size_t gi;
	struct carve_hw_gpu *g = find_gpu(s, pci, &gi);
	if (!g)
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "no GPU at %s", pci);
	struct carve_hw_type *t = find_type(g, spec->type_id);
	if (!t)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED", "%s: %s: vGPU type %s is not supported",
				       g->driver, pci, spec->type_id);
	if (spec->impl != t->impl)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "%s: %s: type %s is %s, not %s", g->driver, pci,
				       t->id, carve_impl_name(t->impl), carve_impl_name(spec->impl));
	bool mdev = t->impl == CARVE_IMPL_NVIDIA_MDEV || t->impl == CARVE_IMPL_GVT_G;
	if (mdev && !uuid[0])
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "%s: an mdev needs a UUID", pci);
	struct carve_hw_gpu *og;
	if (uuid[0] && find_dev_uuid(s, uuid, &og))
		return carve_error_set(err, -EEXIST, "VGPU_EXISTS", "mdev %s already exists (on %s)", uuid, og->pci);
	if (spec->params[0]) {
		if (t->impl != CARVE_IMPL_NVIDIA_MDEV && t->impl != CARVE_IMPL_NVIDIA_SRIOV)
			return carve_error_set(err, -EOPNOTSUPP, "VGPU_PARAMS_UNSUPPORTED",
					       "%s: %s: %s vGPUs have no vgpu_params", g->driver, pci,
					       carve_impl_name(t->impl));
		if (!carve_vgpu_params_valid(spec->params))
			return carve_error_set(err, -EINVAL, "VGPU_PARAMS_INVALID", "invalid vgpu_params '%.80s'",
					       spec->params);
	}
	if (available(s, gi, t) == 0)
		return carve_hw_gpu_refuse(g, t, err);

	/* Placement on the device itself or on a free VF. */
	struct carve_hw_vf *vf = NULL;
	if (t->impl != CARVE_IMPL_PASSTHROUGH && is_sriov(g)) {
		if (want_parent) {
			vf = find_vf(g, want_parent);
			if (!vf || vf->in_use)
				return carve_error_set(err, -EBUSY, "NO_FREE_VF", "%s: VF %s is not a free VF of %s",
						       g->driver, want_parent, pci);
		} else {
			for (size_t i = 0; i < g->n_vfs && !vf; i++)
				if (!g->vfs[i].in_use)
					vf = &g->vfs[i];
		}
		if (!vf) /* available() > 0 implies a free VF; be safe anyway */
			return carve_error_set(err, -ENOSPC, "NO_FREE_VF", "%s: %s: no free virtual function", g->driver,
					       pci);
	}
	/* Copy what we need before growing the device array (t points into g). */
	char type_id[65];
	snprintf(type_id, sizeof(type_id), "%s", t->id);
	enum carve_impl impl = t->impl;
	struct carve_hw_dev *d = carve_hw_gpu_add_dev(g);
	if (!d)
		return oom(err);
	snprintf(d->type_id, sizeof(d->type_id), "%s", type_id);
	snprintf(d->params, sizeof(d->params), "%s", spec->params);
	snprintf(d->parent, sizeof(d->parent), "%s", vf ? vf->pci : pci);
	/* VF-backed vGPUs have no host-side UUID (the kernel never sees one). */
	if (impl != CARVE_IMPL_NVIDIA_SRIOV && impl != CARVE_IMPL_AMD_MXGPU)
		snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	if (vf) {
		vf->in_use = true;
		if (impl == CARVE_IMPL_NVIDIA_SRIOV)
			snprintf(vf->current_type, sizeof(vf->current_type), "%s", type_id);
		if (impl == CARVE_IMPL_AMD_MXGPU)
			snprintf(vf->driver, sizeof(vf->driver), "vfio-pci");
	}
	if (impl == CARVE_IMPL_PASSTHROUGH)
		snprintf(g->driver, sizeof(g->driver), "vfio-pci");
	if (out) {
		memset(out, 0, sizeof(*out));
		snprintf(out->uuid, sizeof(out->uuid), "%s", mdev ? uuid : "");
		snprintf(out->device_pci, sizeof(out->device_pci), "%s", d->parent);
	}
	return 0;
}

static void remove_dev(struct sim *s, struct carve_hw_gpu *g, struct carve_hw_dev *d)
{
	struct carve_hw_vf *vf = find_vf(g, d->parent);
	if (vf) {
		vf->in_use = false;
		if (g->mechanism == CARVE_IMPL_NVIDIA_SRIOV)
			snprintf(vf->current_type, sizeof(vf->current_type), "0");
		if (g->mechanism == CARVE_IMPL_AMD_MXGPU)
			vf->driver[0] = '\0';
	}
	if (strcmp(d->type_id, "passthrough") == 0) {
		size_t gi = (size_t)(g - s->model.gpus);
		snprintf(g->driver, sizeof(g->driver), "%s", s->extra[gi].orig_driver);
	}
	size_t j = (size_t)(d - g->devs);
	memmove(&g->devs[j], &g->devs[j + 1], (g->n_devs - j - 1) * sizeof(*d));
	g->n_devs--;
	/* The array keeps its allocation: grow() derives capacity from n, and a
	 * power-of-two count now may under-report it, which only causes an early
	 * realloc to the same or a larger size. */
}

/* ---- persistence ---- */

/* The state file is JSON as jansson writes it with JSON_INDENT(2) and
 * JSON_PRESERVE_ORDER (tests and operators read it).  Everything but the
 * devices comes from jansson; the devices - the part that grows, rewritten
 * at every create - are written here in the same form, which costs a tenth
 * of building and dumping them as a tree (most of a boot storm's sim time,
 * docs/performance.md). */
static json_t *state_head_to_json(const struct sim *s)
{
	/* Enabled VFs are kernel state too: a reboot (no state file) loses them. */
	_cleanup_json_ json_t *numvfs = json_object();
	if (!numvfs)
		return NULL;
	for (size_t i = 0; i < s->model.n_gpus; i++) {
		const struct carve_hw_gpu *g = &s->model.gpus[i];
		if (g->sriov_totalvfs > 0 && json_object_set_new(numvfs, g->pci, json_integer(g->sriov_numvfs)) < 0)
			return NULL;
	}
	/* So is the mixed-size mode, once the driver was told (host-apply) or
	 * reset it (a VF count change). */
	_cleanup_json_ json_t *mixed = json_object();
	if (!mixed)
		return NULL;
	for (size_t i = 0; i < s->model.n_gpus; i++) {
		const struct carve_hw_gpu *g = &s->model.gpus[i];
		if (s->extra[i].mixed_set && json_object_set_new(mixed, g->pci, json_boolean(g->mixed_size)) < 0)
			return NULL;
	}
	/* And MIG: the mode and the GPU instances, once carve set them. */
	_cleanup_json_ json_t *mig = json_object();
	if (!mig)
		return NULL;
	for (size_t i = 0; i < s->model.n_gpus; i++) {
		const struct carve_hw_gpu *g = &s->model.gpus[i];
		if (g->mig_mode < 0)
			continue;
		json_t *gis = json_array();
		for (size_t k = 0; gis && k < g->n_gis; k++)
			json_array_append_new(gis, json_string(g->gis[k].profile));
		if (!gis || json_object_set_new(mig, g->pci, json_pack("{s:b, s:o}", "mode", g->mig_mode == 1,
								      "instances", gis)) < 0)
			return NULL;
	}
	/* And the ECC facts a reset changed (the GPU's memory remembers). */
	_cleanup_json_ json_t *ecc = json_object();
	for (size_t i = 0; ecc && i < s->model.n_gpus; i++)
		if (s->extra[i].ecc_set &&
		    json_object_set_new(ecc, s->model.gpus[i].pci, carve_hw_ecc_to_json(&s->model.gpus[i].ecc)) < 0)
			return NULL;
	if (!ecc)
		return NULL;
	return json_pack("{s:s, s:i, s:s, s:O, s:O, s:O, s:O}", "format", STATE_FORMAT, "version", STATE_VERSION,
			 "profile", s->profile_name, "numvfs", numvfs, "mixed", mixed, "mig", mig, "ecc", ecc);
}

/* A JSON string as jansson writes it: ASCII escaped as jansson does (the
 * short escapes, \u00XX for the other control characters); anything else
 * through jansson itself. */
static bool put_json_string(FILE *f, const char *v)
{
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c >= 0x80) {
			_cleanup_json_ json_t *j = json_string(v);
			_cleanup_free_ char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
			return t && fputs(t, f) >= 0; /* not UTF-8: no JSON string */
		}
	putc_unlocked('"', f);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		const char *esc = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\b' ? "\\b" : *c == '\f' ? "\\f"
				: *c == '\n' ? "\\n" : *c == '\r' ? "\\r" : *c == '\t' ? "\\t" : NULL;
		if (esc)
			fputs(esc, f);
		else if (*c < 0x20)
			fprintf(f, "\\u%04X", *c);
		else
			putc_unlocked(*c, f);
	}
	return putc_unlocked('"', f) != EOF;
}

static int persist(struct sim *s, struct carve_error *err)
{
	if (!s->state_path)
		return 0;
	_cleanup_json_ json_t *j = state_head_to_json(s);
	_cleanup_free_ char *head = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	size_t hlen = head ? strlen(head) : 0;
	if (!head || hlen < 2 || strcmp(head + hlen - 2, "\n}") != 0)
		return oom(err);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return oom(err);
	fwrite(head, 1, hlen - 2, f);
	fputs(",\n  \"devices\": [", f);
	bool any = false, ok = true;
	for (size_t i = 0; i < s->model.n_gpus; i++) {
		const struct carve_hw_gpu *g = &s->model.gpus[i];
		for (size_t k = 0; k < g->n_devs; k++) {
			const struct carve_hw_dev *d = &g->devs[k];
			const char *key[] = {"pgpu", "uuid", "type", "parent", "params"};
			const char *val[] = {g->pci, d->uuid, d->type_id, d->parent, d->params};
			fputs(any ? ",\n    {" : "\n    {", f);
			for (size_t c = 0; c < 5; c++) {
				fprintf(f, "%s\n      \"%s\": ", c ? "," : "", key[c]);
				ok = put_json_string(f, val[c]) && ok;
			}
			fputs("\n    }", f);
			any = true;
		}
	}
	fputs(any ? "\n  ]\n}\n" : "]\n}\n", f);
	ok = !ferror(f) && ok;
	if (fclose(f) != 0 || !ok || !text)
		return oom(err);
	/* Kernel state survives carve's death, not the machine's. */
	return carve_file_replace(s->state_path, text, len, "SIM_STATE_WRITE_FAILED", err);
}

static int state_error(const struct sim *s, struct carve_error *err, size_t i, const char *detail)
{
	return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID", "%s: devices[%zu]: %s", s->state_path, i, detail);
}

static int load_state(struct sim *s, json_t *root, struct carve_error *err)
{
	const char *format = NULL, *profile = NULL;
	int version = 0;
	json_t *devs = NULL, *numvfs = NULL, *mixed = NULL, *mig = NULL, *ecc = NULL;
	json_error_t je;
	if (json_unpack_ex(root, &je, JSON_STRICT, "{s:s, s:i, s:s, s?o, s?o, s?o, s?o, s:o}", "format", &format,
			   "version", &version, "profile", &profile, "numvfs", &numvfs, "mixed", &mixed, "mig", &mig,
			   "ecc", &ecc, "devices", &devs) < 0 ||
	    strcmp(format, STATE_FORMAT) != 0 || version < 1 || version > STATE_VERSION ||
	    (version == 1) != (numvfs == NULL) || (version == 3) != (mixed != NULL) || (version == 3) != (mig != NULL) ||
	    (numvfs && !json_is_object(numvfs)) || (mixed && !json_is_object(mixed)) || (mig && !json_is_object(mig)) ||
	    !json_is_array(devs))
		return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID", "%s: not a carve sim state (version %d): %s",
				       s->state_path, STATE_VERSION, je.text[0] ? je.text : "wrong format or version");
	if (strcmp(profile, s->profile_name) != 0)
		return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID",
				       "%s: state of profile '%s', not of '%s' (remove it to start afresh)", s->state_path,
				       profile, s->profile_name);
	/* VFs first: the devices live on them. */
	const char *pf;
	json_t *v;
	json_object_foreach(numvfs, pf, v) {
		size_t gi;
		struct carve_hw_gpu *g = find_gpu(s, pf, &gi);
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
		if (!g || !is_sriov(g) || n < 0 || n > (json_int_t)g->sriov_totalvfs)
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID",
					       "%s: numvfs.%.16s: not an SR-IOV GPU of the profile, or not 0 to its "
					       "sriov_totalvfs",
					       s->state_path, pf);
		/* Restoring the count is not a driver's VF enablement: the
		 * mode stays as the profile (or "mixed" below) has it. */
		bool m = g->mixed_size, mset = s->extra[gi].mixed_set;
		enum carve_hw_source ms = g->mixed_size_source;
		int r = set_vfs(s, gi, (uint32_t)n, err);
		if (r < 0)
			return r;
		g->mixed_size = m;
		g->mixed_size_source = ms;
		s->extra[gi].mixed_set = mset;
		if (g->mechanism == CARVE_IMPL_AMD_MXGPU && n > 0 && g->n_types == (g->is_system_display ? 0u : 1u))
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID",
					       "%s: numvfs.%s: gim has no %s configuration with %u VFs", s->state_path,
					       pf, g->board, (unsigned)n);
	}
	json_object_foreach(mixed, pf, v) {
		size_t gi;
		struct carve_hw_gpu *g = find_gpu(s, pf, &gi);
		if (!g || !json_is_boolean(v) ||
		    (g->mechanism != CARVE_IMPL_NVIDIA_SRIOV && g->mechanism != CARVE_IMPL_NVIDIA_MDEV))
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID",
					       "%s: mixed.%.16s: not an NVIDIA GPU of the profile, or not true/false",
					       s->state_path, pf);
		g->mixed_size = json_is_true(v);
		g->mixed_size_source = CARVE_HW_SOURCE_DRIVER;
		s->extra[gi].mixed_set = true;
	}
	json_object_foreach(mig, pf, v) {
		size_t gi;
		struct carve_hw_gpu *g = find_gpu(s, pf, &gi);
		json_t *mode = json_object_get(v, "mode"), *list = json_object_get(v, "instances");
		_cleanup_(carve_strv_clear) struct carve_strv profiles = {0};
		size_t k;
		json_t *p;
		bool ok = g && carve_board_has_mig(carve_board_by_name(g->board)) && json_is_boolean(mode) &&
			  json_is_array(list) && json_object_size(v) == 2;
		json_array_foreach(ok ? list : NULL, k, p)
			ok = json_is_string(p) && carve_strv_push(&profiles, json_string_value(p)) >= 0;
		struct carve_error inner = {0};
		if (!ok || carve_mig_layout(carve_board_by_name(g->board), g->pci, &profiles, g->gis, &g->n_gis, &inner) < 0)
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID", "%s: mig.%.16s: %s", s->state_path, pf,
					       ok ? inner.message : "not a MIG GPU of the profile, or not {mode, instances}");
		g->mig_mode = json_is_true(mode) ? 1 : 0;
	}
	json_object_foreach(ecc, pf, v) {
		size_t gi;
		struct carve_hw_gpu *g = find_gpu(s, pf, &gi);
		struct carve_hw_ecc e = {.known = true};
		json_int_t vc, vu, ac, au;
		int sbe, dbe, en, pe, rp, mp, mf;
		if (!g || json_unpack_ex(v, &je, JSON_STRICT, "{s:b, s:b, s:I, s:I, s:I, s:I, s:i, s:i, s:b, s:b, s:b}",
					 "enabled", &en, "pending", &pe, "volatile-corrected", &vc, "volatile-uncorrected",
					 &vu, "aggregate-corrected", &ac, "aggregate-uncorrected", &au, "retired-sbe", &sbe,
					 "retired-dbe", &dbe, "retired-pending", &rp, "remap-pending", &mp, "remap-failure",
					 &mf) < 0 ||
		    vc < 0 || vu < 0 || ac < 0 || au < 0 || sbe < 0 || dbe < 0)
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID", "%s: ecc.%.16s: not ECC facts of a GPU of "
					       "the profile", s->state_path, pf);
		e.enabled = en, e.pending = pe, e.retired_pending = rp, e.remap_pending = mp, e.remap_failure = mf;
		e.volatile_corrected = (uint64_t)vc, e.volatile_uncorrected = (uint64_t)vu;
		e.aggregate_corrected = (uint64_t)ac, e.aggregate_uncorrected = (uint64_t)au;
		e.retired_sbe = (uint32_t)sbe, e.retired_dbe = (uint32_t)dbe;
		g->ecc = e;
		s->extra[gi].ecc_set = true;
	}
	size_t i;
	json_t *d;
	json_array_foreach(devs, i, d) {
		const char *pgpu, *uuid, *type, *parent, *params;
		if (json_unpack_ex(d, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:s}", "pgpu", &pgpu, "uuid", &uuid,
				   "type", &type, "parent", &parent, "params", &params) < 0)
			return state_error(s, err, i, je.text);
		struct carve_vgpu_spec spec = {0};
		if (strlen(pgpu) >= sizeof(spec.pgpu_pci) || strlen(uuid) >= sizeof(spec.uuid) ||
		    strlen(type) >= sizeof(spec.type_id) || strlen(params) >= sizeof(spec.params) ||
		    !carve_pci_valid(parent))
			return state_error(s, err, i, "field too long or malformed");
		snprintf(spec.pgpu_pci, sizeof(spec.pgpu_pci), "%s", pgpu);
		snprintf(spec.uuid, sizeof(spec.uuid), "%s", uuid);
		snprintf(spec.type_id, sizeof(spec.type_id), "%s", type);
		snprintf(spec.params, sizeof(spec.params), "%s", params);
		struct carve_hw_gpu *g = find_gpu(s, pgpu, NULL);
		const struct carve_hw_type *t = g ? carve_hw_gpu_find_type(g, type) : NULL;
		spec.impl = t ? t->impl : CARVE_IMPL_PASSTHROUGH;
		struct carve_error inner = {0};
		if (create_core(s, &spec, parent, NULL, &inner) < 0)
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID", "%s: devices[%zu]: %s", s->state_path,
					       i, inner.message);
	}
	return 0;
}

static int apply_boot_vgpus(struct sim *s, const struct carve_profile *p, struct carve_error *err)
{
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct carve_profile_gpu *e = &p->gpus[i];
		struct carve_profile_resolved res;
		carve_profile_gpu_resolve(e, &res);
		for (size_t j = 0; j < e->n_vgpus; j++) {
			const struct carve_profile_vgpu *v = &e->vgpus[j];
			struct carve_vgpu_spec spec = {0};
			struct carve_pci_addr a;
			carve_pci_parse(e->pci, &a);
			a.bus = (uint8_t)(a.bus + v->gpu);
			carve_pci_format(&a, spec.pgpu_pci);
			snprintf(spec.uuid, sizeof(spec.uuid), "%s", v->uuid);
			snprintf(spec.type_id, sizeof(spec.type_id), "%s", v->type_id);
			snprintf(spec.params, sizeof(spec.params), "%s", v->params);
			spec.impl = (enum carve_impl)res.mechanism;
			struct carve_error inner = {0};
			int r = create_core(s, &spec, NULL, NULL, &inner);
			if (r < 0) {
				char key[64];
				snprintf(key, sizeof(key), "gpus[%zu].vgpus[%zu]", i, j);
				return carve_profile_error(p, err, r, v->line, key, "%s", inner.message);
			}
		}
	}
	return 0;
}

/* ---- backend ops ---- */

/* What the driver reports of every GPU (only_pci NULL) or of one. */
static int sim_report(struct sim *s, const char *only_pci, struct carve_hw_inventory *out, struct carve_error *err)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->driver_version, s->model.driver_version, sizeof(out->driver_version));
	for (size_t i = 0; i < s->model.n_gpus; i++) {
		const struct carve_hw_gpu *src = &s->model.gpus[i];
		if (only_pci && strcmp(src->pci, only_pci) != 0)
			continue;
		struct carve_hw_gpu *g = carve_hw_inventory_add_gpu(out);
		if (!g)
			goto fail;
		*g = *src;
		g->vfs = NULL;
		g->types = NULL;
		g->devs = NULL;
		g->problems = NULL;
		g->n_vfs = g->n_types = g->n_devs = g->n_problems = 0;
		for (size_t j = 0; j < src->n_vfs; j++) {
			struct carve_hw_vf *v = carve_hw_gpu_add_vf(g);
			if (!v)
				goto fail;
			*v = src->vfs[j];
		}
		for (size_t j = 0; j < src->n_devs; j++) {
			struct carve_hw_dev *d = carve_hw_gpu_add_dev(g);
			if (!d)
				goto fail;
			*d = src->devs[j];
		}
		for (size_t j = 0; j < src->n_types; j++) {
			struct carve_hw_type *t = carve_hw_gpu_add_type(g);
			if (!t)
				goto fail;
			*t = src->types[j];
			t->available = available(s, i, &src->types[j]);
		}
		carve_hw_gpu_infer_mixed_size(g);
	}
	carve_hw_inventory_sort(out);
	return 0;
fail:
	carve_hw_inventory_clear(out);
	return oom(err);
}

static int sim_discover(struct carve_host *h, struct carve_hw_inventory *out, struct carve_error *err)
{
	return sim_report(to_sim(h), NULL, out, err);
}

static int sim_discover_gpu(struct carve_host *h, const char *pci, struct carve_hw_inventory *out,
			    struct carve_error *err)
{
	char norm[13];
	if (carve_pci_normalize(pci, norm) < 0)
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", pci);
	int r = sim_report(to_sim(h), norm, out, err);
	if (r == 0 && out->n_gpus == 0)
		r = carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "sim: no GPU %s", norm);
	return r;
}

static bool fail_injected(struct sim *s)
{
	s->creates++;
	if (s->fail_nth && s->creates == s->fail_nth)
		return true;
	return s->has_fail_after && s->creates > s->fail_after;
}

static int sim_create(struct carve_host *h, const struct carve_hw_gpu *known, const struct carve_vgpu_spec *spec,
		      struct carve_vgpu_placement *out, struct carve_error *err)
{
	(void)known; /* the sim's own state is authoritative and in memory */
	struct sim *s = to_sim(h);
	if (fail_injected(s))
		return carve_error_set(err, -EIO, "SIM_INJECTED_FAILURE",
				       "sim: injected failure of vgpu_create call %lu (%s) for %s on %.16s", s->creates,
				       s->fail_nth ? CARVE_SIM_FAIL_ENV : "fail_create_after", spec->type_id,
				       spec->pgpu_pci);
	/* VFs enabled for the request stay enabled even if the create fails, as
	 * the kernel's would: persist them on their own. */
	char pci[13];
	size_t gi = 0;
	const struct carve_hw_gpu *pg = carve_pci_normalize(spec->pgpu_pci, pci) == 0 ? find_gpu(s, pci, &gi) : NULL;
	uint32_t numvfs_before = pg ? pg->sriov_numvfs : 0;
	bool changed;
	int r = prepare_vfs(s, spec, &changed, err);
	if (changed && (r < 0 || (r = persist(s, err)) < 0)) {
		/* Half done or not durable: back to what the state file says. */
		struct carve_error ignore = {0};
		set_vfs(s, gi, numvfs_before, &ignore);
	}
	if (r < 0)
		return r;
	bool vf_backed = spec->impl == CARVE_IMPL_NVIDIA_SRIOV || spec->impl == CARVE_IMPL_AMD_MXGPU;
	r = create_core(s, spec, vf_backed && spec->vf_pci[0] ? spec->vf_pci : NULL, out, err);
	if (r < 0)
		return r;
	if ((r = persist(s, err)) < 0) {
		/* Not durable, so it did not happen: the state file stays the truth
		 * (pci is valid: create_core succeeded). */
		struct carve_hw_gpu *g = find_gpu(s, pci, NULL);
		remove_dev(s, g, &g->devs[g->n_devs - 1]);
	}
	return r;
}

/* The device a request names: by UUID when it has one, else by the device
 * (VF or whole GPU) that carries it. */
static struct carve_hw_dev *lookup(struct sim *s, const char *uuid, const char *device_pci, struct carve_hw_gpu **gp,
				   struct carve_error *err, int *r)
{
	*r = 0;
	if (uuid && uuid[0]) {
		if (!carve_uuid_valid(uuid)) {
			*r = carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID '%.40s'", uuid);
			return NULL;
		}
		struct carve_hw_dev *d = find_dev_uuid(s, uuid, gp);
		char pci[13];
		/* A VF-backed vGPU has no host-side UUID: try the VF it lives on. */
		if (!d && device_pci && carve_pci_normalize(device_pci, pci) == 0) {
			d = find_dev_parent(s, pci, gp);
			if (d && d->uuid[0])
				d = NULL;
		}
		if (!d)
			*r = carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "mdev %s does not exist", uuid);
		return d;
	}
	char pci[13];
	if (!device_pci || carve_pci_normalize(device_pci, pci) < 0) {
		*r = carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'",
				     device_pci ? device_pci : "");
		return NULL;
	}
	struct carve_hw_dev *d = find_dev_parent(s, pci, gp);
	if (!d)
		*r = carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "no vGPU on %s", pci);
	return d;
}

static int sim_remove(struct carve_host *h, const struct carve_vgpu_spec *spec, const struct carve_vgpu_placement *where,
		      struct carve_error *err)
{
	struct sim *s = to_sim(h);
	const char *uuid = where && where->uuid[0] ? where->uuid : NULL;
	const char *dev = where && where->device_pci[0] ? where->device_pci : NULL;
	/* mdevs are named by UUID; VF-backed and passthrough vGPUs by the device
	 * that carries them, whatever UUID the caller holds for them. */
	bool mdev_impl = spec && (spec->impl == CARVE_IMPL_NVIDIA_MDEV || spec->impl == CARVE_IMPL_GVT_G);
	if (spec && !mdev_impl && dev)
		uuid = NULL;
	if (!uuid && !dev && spec)
		uuid = spec->uuid;
	struct carve_hw_gpu *g = NULL;
	int r;
	struct carve_hw_dev *d = lookup(s, uuid, dev, &g, err, &r);
	if (!d)
		return r;
	/* Enough to put it back if the removal cannot be made durable. */
	struct carve_vgpu_spec undo = {0};
	char parent[13];
	const struct carve_hw_type *t = carve_hw_gpu_find_type(g, d->type_id);
	undo.impl = t ? t->impl : CARVE_IMPL_PASSTHROUGH;
	snprintf(undo.uuid, sizeof(undo.uuid), "%s", d->uuid);
	snprintf(undo.pgpu_pci, sizeof(undo.pgpu_pci), "%s", g->pci);
	snprintf(undo.type_id, sizeof(undo.type_id), "%s", d->type_id);
	snprintf(undo.params, sizeof(undo.params), "%s", d->params);
	snprintf(parent, sizeof(parent), "%s", d->parent);
	remove_dev(s, g, d);
	if ((r = persist(s, err)) < 0) {
		struct carve_error ignore = {0};
		create_core(s, &undo, parent, NULL, &ignore);
	}
	return r;
}

static int sim_set_params(struct carve_host *h, const struct carve_vgpu_placement *where, const char *params,
			  struct carve_error *err)
{
	struct sim *s = to_sim(h);
	if (!where)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no vGPU given");
	struct carve_hw_gpu *g = NULL;
	int r;
	struct carve_hw_dev *d = lookup(s, where->uuid[0] ? where->uuid : NULL, where->device_pci, &g, err, &r);
	if (!d)
		return r;
	if (g->mechanism != CARVE_IMPL_NVIDIA_MDEV && g->mechanism != CARVE_IMPL_NVIDIA_SRIOV)
		return carve_error_set(err, -EOPNOTSUPP, "VGPU_PARAMS_UNSUPPORTED", "%s: %s vGPUs have no vgpu_params",
				       g->pci, carve_impl_name(g->mechanism));
	if (!params || strlen(params) >= sizeof(d->params) || !carve_vgpu_params_valid(params))
		return carve_error_set(err, -EINVAL, "VGPU_PARAMS_INVALID", "invalid vgpu_params '%.80s'",
				       params ? params : "");
	char old[sizeof(d->params)];
	snprintf(old, sizeof(old), "%s", d->params);
	snprintf(d->params, sizeof(d->params), "%s", params);
	int pr = persist(s, err);
	if (pr < 0)
		snprintf(d->params, sizeof(d->params), "%s", old);
	return pr;
}

static void sim_free(struct carve_host *h)
{
	struct sim *s = to_sim(h);
	if (!s)
		return;
	for (size_t i = 0; s->extra && i < s->model.n_gpus; i++)
		free(s->extra[i].vf_groups);
	carve_hw_inventory_clear(&s->model);
	free(s->extra);
	free(s->state_path);
	free(s->profile_origin);
	free(s);
}

static int sim_set_numvfs(struct carve_host *h, const char *pf_pci, uint32_t n, unsigned *waited_ms,
			  struct carve_error *err)
{
	if (waited_ms)
		*waited_ms = 0; /* the sim's VFs are there at once */
	struct sim *s = to_sim(h);
	char pci[13];
	size_t gi;
	struct carve_hw_gpu *g = carve_pci_normalize(pf_pci, pci) == 0 ? find_gpu(s, pci, &gi) : NULL;
	if (!g)
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "sim: no GPU %.16s", pf_pci);
	if (!is_sriov(g))
		return carve_error_set(err, -EINVAL, "SRIOV_NOT_SUPPORTED", "%s: not an SR-IOV GPU", g->pci);
	uint32_t before = g->sriov_numvfs;
	bool changed;
	int r = change_numvfs(s, gi, n, &changed, err);
	if (changed && r >= 0)
		r = persist(s, err);
	if (changed && r < 0) {
		struct carve_error ignore = {0};
		set_vfs(s, gi, before, &ignore);
	}
	return r;
}

static int sim_set_mixed_size(struct carve_host *h, const char *pci_in, bool on, struct carve_error *err)
{
	struct sim *s = to_sim(h);
	char pci[13];
	size_t gi;
	struct carve_hw_gpu *g = carve_pci_normalize(pci_in, pci) == 0 ? find_gpu(s, pci, &gi) : NULL;
	if (!g)
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "sim: no GPU %.16s", pci_in);
	int r = carve_mixed_size_changeable(g, on, err);
	if (r != 0)
		return r < 0 ? r : 0;
	bool before = g->mixed_size, set_before = s->extra[gi].mixed_set;
	enum carve_hw_source src_before = g->mixed_size_source;
	g->mixed_size = on;
	g->mixed_size_source = CARVE_HW_SOURCE_DRIVER;
	s->extra[gi].mixed_set = true;
	if ((r = persist(s, err)) < 0) {
		g->mixed_size = before;
		g->mixed_size_source = src_before;
		s->extra[gi].mixed_set = set_before;
	}
	return r;
}

/* The GPU at pci of a board with MIG, free of vGPUs, or an error. */
static int mig_gpu(struct sim *s, const char *pci_in, struct carve_hw_gpu **out, struct carve_error *err)
{
	char pci[13];
	struct carve_hw_gpu *g = carve_pci_normalize(pci_in, pci) == 0 ? find_gpu(s, pci, NULL) : NULL;
	if (!g)
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "sim: no GPU %.16s", pci_in);
	*out = g;
	return carve_mig_changeable(g, carve_board_by_name(g->board), err);
}

static int sim_set_mig_mode(struct carve_host *h, const char *pci, bool on, struct carve_error *err)
{
	struct sim *s = to_sim(h);
	struct carve_hw_gpu *g;
	int r = mig_gpu(s, pci, &g, err);
	if (r < 0 || g->mig_mode == (on ? 1 : 0))
		return r;
	struct carve_hw_gpu before = *g;
	g->mig_mode = on ? 1 : 0;
	g->n_gis = 0; /* nvidia-smi -mig 0 needs them gone; on, there are none yet */
	if ((r = persist(s, err)) < 0) {
		g->mig_mode = before.mig_mode;
		g->n_gis = before.n_gis;
	}
	return r;
}

static int sim_set_mig_instances(struct carve_host *h, const char *pci, const struct carve_strv *profiles,
				 struct carve_error *err)
{
	struct sim *s = to_sim(h);
	struct carve_hw_gpu *g;
	int r = mig_gpu(s, pci, &g, err);
	if (r < 0)
		return r;
	if (g->mig_mode != 1)
		return carve_error_set(err, -EIO, "MIG_MODE_OFF", "%s: GPU instances need MIG mode on", g->pci);
	struct carve_hw_gi gis[CARVE_HW_MAX_GIS], saved[CARVE_HW_MAX_GIS];
	uint8_t n, n_saved = g->n_gis;
	if ((r = carve_mig_layout(carve_board_by_name(g->board), g->pci, profiles, gis, &n, err)) < 0)
		return r;
	memcpy(saved, g->gis, sizeof(saved));
	memcpy(g->gis, gis, sizeof(gis));
	g->n_gis = n;
	if ((r = persist(s, err)) < 0) {
		memcpy(g->gis, saved, sizeof(saved));
		g->n_gis = n_saved;
	}
	return r;
}

static int sim_gpu_reset(struct carve_host *h, const char *pci_in, struct carve_error *err)
{
	struct sim *s = to_sim(h);
	char pci[13];
	struct carve_hw_gpu *g = carve_pci_normalize(pci_in, pci) == 0 ? find_gpu(s, pci, NULL) : NULL;
	if (!g)
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "sim: no GPU %.16s", pci_in);
	int r = carve_hw_gpu_refuse_busy(g, "PGPU_IN_USE", "reset", err);
	if (r < 0)
		return r;
	struct carve_hw_ecc *e = &g->ecc;
	/* A pending retirement maps the page out; a double-bit error's page is
	 * among the DBE pages from now on. */
	if (e->retired_pending && e->volatile_uncorrected > 0)
		e->retired_dbe++;
	e->retired_pending = e->remap_pending = false;
	e->enabled = e->pending;
	e->volatile_corrected = e->volatile_uncorrected = 0;
	s->extra[g - s->model.gpus].ecc_set = true;
	return persist(s, err);
}

/* Files on the simulated host's disk outlive its kernel state: beside the
 * state file, which a simulated reboot removes. */
static int sim_modprobe_dir(struct carve_host *h, char *buf, size_t size, struct carve_error *err)
{
	struct sim *s = to_sim(h);
	const char *env = getenv("CARVE_MODPROBE_DIR");
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return 0;
	}
	if (!s->state_path)
		return carve_error_set(err, -ENOTSUP, "MODPROBE_DIR_UNKNOWN",
				       "this simulated host keeps no files (no sim state file; or set $CARVE_MODPROBE_DIR)");
	if ((size_t)snprintf(buf, size, "%s.modprobe.d", s->state_path) >= size)
		return carve_error_set(err, -ENAMETOOLONG, "MODPROBE_DIR_UNKNOWN", "%s: path too long", s->state_path);
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return carve_error_set(err, -errno, "MODPROBE_DIR_UNKNOWN", "cannot create %s: %s", buf, strerror(errno));
	return 0;
}

static const struct carve_host_ops sim_ops = {
	.name = "sim",
	.discover = sim_discover,
	.discover_gpu = sim_discover_gpu,
	.vgpu_create = sim_create,
	.vgpu_remove = sim_remove,
	.vgpu_set_params = sim_set_params,
	.sriov_set_numvfs = sim_set_numvfs,
	.set_mixed_size = sim_set_mixed_size,
	.modprobe_dir = sim_modprobe_dir,
	.gpu_reset = sim_gpu_reset,
	.set_mig_mode = sim_set_mig_mode,
	.set_mig_instances = sim_set_mig_instances,
	.free = sim_free,
};

/* ---- opening ---- */

static void sim_freep(struct sim **s)
{
	if (*s)
		sim_free(&(*s)->base);
}

int carve_host_open_sim_profile(const struct carve_profile *p, const char *state_path, struct carve_host **out,
				struct carve_error *err)
{
	*out = NULL;
	_cleanup_(sim_freep) struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return oom(err);
	s->base.ops = &sim_ops;
	snprintf(s->profile_name, sizeof(s->profile_name), "%s", p->name);
	if (!(s->profile_origin = strdup(p->origin ? p->origin : "<profile>")))
		return oom(err);
	if (state_path && !(s->state_path = strdup(state_path)))
		return oom(err);
	s->has_fail_after = p->has_fail_create_after;
	s->fail_after = p->fail_create_after;
	const char *env = getenv(CARVE_SIM_FAIL_ENV);
	if (env && *env) {
		uint32_t n;
		if (carve_parse_u32(env, &n) < 0)
			return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "%s='%.32s' is not a number",
					       CARVE_SIM_FAIL_ENV, env);
		s->fail_nth = n;
	}
	int r = build_model(s, p, err);
	if (r < 0)
		return r;

	json_error_t je;
	_cleanup_json_ json_t *state = NULL;
	if (state_path) {
		state = json_load_file(state_path, JSON_REJECT_DUPLICATES, &je);
		if (!state && access(state_path, F_OK) == 0)
			return carve_error_set(err, -EINVAL, "SIM_STATE_INVALID", "%s:%d: %s", state_path, je.line,
					       je.text);
	}
	if (state)
		r = load_state(s, state, err);
	else
		r = apply_boot_vgpus(s, p, err);
	if (r < 0)
		return r;
	/* Write the initial state at once, so a reopen sees the same devices
	 * even if nothing changes before the process dies. */
	if (!state && (r = persist(s, err)) < 0)
		return r;
	*out = &TAKE_PTR(s)->base;
	return 0;
}

int carve_host_open_sim(const char *profile_path, const char *state_path, struct carve_host **out,
			struct carve_error *err)
{
	*out = NULL;
	struct carve_profile *p = NULL;
	int r = carve_profile_load(profile_path, &p, err);
	if (r < 0)
		return r;
	r = carve_host_open_sim_profile(p, state_path, out, err);
	carve_profile_free(p);
	return r;
}
