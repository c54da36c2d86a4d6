/* lifecycle.c - vm-start, vm-shutdown, host-reconcile, vgpu-adopt.
 *
 * vm-start follows "write intent, act, then confirm":
 *   1. one transaction places every vGPU of the VM on the resident model
 *      (the placement index, all or nothing), records scheduled_pgpu + state
 *      'reserved' (and the VF it will use) and the VM as 'starting', commits;
 *   2. the host backend creates each device, handed the GPU as this host last
 *      discovered it, and writes its vgpu_params - with the model unlocked,
 *      so that reads go on while the kernel works;
 *   3. a second transaction confirms (resident_on, 'running') and notes on
 *      the PGPUs the instances the act took, in the store, the model and
 *      this host's inventory alike; the GPU's other types' counts, which the
 *      driver's rules move too, come from reading the acted GPUs again:
 *      before the verb returns in the CLI, within a second and off the
 *      request path in carved (ops.h, defer_reread).
 * A failure in 2 removes what was created and releases the reservation, so no
 * capacity leaks; a crash between 1 and 3 is finished by host-reconcile,
 * which rolls an interrupted start back and an interrupted shutdown forward.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "emit/emit.h"
#include "model/model.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "verbs.h"
#include "vm.h"
#include "pool.h"
#include "place/p2p.h"
#include "util/crashpoint.h"

/* What an act needs of one vGPU, copied out of the model (whose objects
 * are replaced when reloaded). */
struct item {
	char vgpu[37], type[37], group[37], group_label[256];
	char identifier[65], model[128];
	char own[256];   /* the vGPU's extra-args */
	char extra[256]; /* what is written: own over its PGPU's defaults (item_params) */
	enum carve_impl impl;
	char pgpu[37], pgpu_pci[13];
	struct carve_vgpu_placement where;
	bool created;
	int64_t available_after; /* the driver's count on the PGPU after the act (note_store) */
};

struct items {
	struct item v[CARVE_MAX_VGPUS_PER_VM];
	size_t n;
};

/* One start of several taken up together: started here
 * (carve_ops_vm_start_many) or handed to this host
 * (carve_ops_realize_starts). */
struct started_vm {
	char vm[37];
	char target[37]; /* the host it was placed on */
	const char *on;  /* the host asked for (on=), NULL for any */
	struct items it;
	bool live;       /* still going: nothing failed it yet */
	bool ok;         /* its devices were made here */
	struct carve_error err;
};

/* x's vgpu_params on PGPU p (NULL: none yet): p's defaults (host-apply)
 * under the vGPU's own, which is what creation writes and reconcile keeps. */
static int item_params(struct item *x, const struct carve_obj_pgpu *p, struct carve_error *err)
{
	if (carve_vgpu_params_merge(p ? p->vgpu_params : "", x->own, x->extra, sizeof(x->extra)) < 0)
		return carve_error_set(err, -E2BIG, "INVALID_VALUE",
				       "vGPU %s: its extra-args with the default-vgpu-params of PGPU %s are longer than "
				       "%zu characters",
				       x->vgpu, p->uuid, sizeof(x->extra) - 1);
	return 0;
}

/* The vGPUs of a VM, by slot: where they run (or are placed), or with peer
 * a migration's other side (the scheduled PGPU and the device there).  More
 * than CARVE_MAX_VGPUS_PER_VM is an error (the store was written by
 * something else), never a silent truncation. */
static int load_side(const struct carve_obj_vm *vm, bool peer, struct items *it, struct carve_error *err)
{
	it->n = 0;
	if (vm->n_vgpus > CARVE_MAX_VGPUS_PER_VM)
		return carve_error_set(err, -E2BIG, "LIMIT_REACHED", "VM %s has %u vGPUs; at most %d are supported",
				       vm->uuid, vm->n_vgpus, CARVE_MAX_VGPUS_PER_VM);
	for (uint32_t i = 0; i < vm->n_vgpus; i++) {
		const struct carve_obj_vgpu *v = vm->vgpus[i];
		struct item *x = &it->v[it->n++];
		memset(x, 0, sizeof(*x));
		carve_strlcpy(x->vgpu, v->uuid, sizeof(x->vgpu));
		carve_strlcpy(x->type, v->type->place.uuid, sizeof(x->type));
		carve_strlcpy(x->group, v->group->uuid, sizeof(x->group));
		carve_strlcpy(x->group_label, v->group->name_label, sizeof(x->group_label));
		carve_strlcpy(x->identifier, v->type->identifier, sizeof(x->identifier));
		carve_strlcpy(x->model, v->type->model_name, sizeof(x->model));
		x->impl = v->type->impl;
		carve_strlcpy(x->own, v->extra_args, sizeof(x->own));
		const struct carve_obj_pgpu *p = peer ? v->scheduled : v->resident ? v->resident : v->scheduled;
		int r = item_params(x, p, err);
		if (r < 0)
			return r;
		if (p) {
			carve_strlcpy(x->pgpu, p->uuid, sizeof(x->pgpu));
			carve_strlcpy(x->pgpu_pci, carve_pgpu_place(p)->pci, sizeof(x->pgpu_pci));
		}
		carve_strlcpy(x->where.uuid, x->vgpu, sizeof(x->where.uuid));
		carve_strlcpy(x->where.device_pci, peer ? v->peer_device_pci : v->device_pci, sizeof(x->where.device_pci));
	}
	return 0;
}

static int load_items(const struct carve_obj_vm *vm, struct items *it, struct carve_error *err)
{
	return load_side(vm, false, it, err);
}

static bool vf_impl(enum carve_impl impl)
{
	return impl == CARVE_IMPL_NVIDIA_SRIOV || impl == CARVE_IMPL_AMD_MXGPU;
}

static bool mdev_impl(enum carve_impl impl)
{
	return impl == CARVE_IMPL_NVIDIA_MDEV || impl == CARVE_IMPL_GVT_G;
}

static void spec_of(const struct item *it, struct carve_vgpu_spec *s)
{
	memset(s, 0, sizeof(*s));
	carve_strlcpy(s->uuid, it->vgpu, sizeof(s->uuid));
	carve_strlcpy(s->pgpu_pci, it->pgpu_pci, sizeof(s->pgpu_pci));
	carve_strlcpy(s->type_id, it->identifier, sizeof(s->type_id));
	s->impl = it->impl;
	carve_strlcpy(s->params, it->extra, sizeof(s->params));
	if (vf_impl(it->impl)) /* the VF the intent recorded, if any */
		carve_strlcpy(s->vf_pci, it->where.device_pci, sizeof(s->vf_pci));
}

/* The device vGPU v holds on PGPU p: its own, or a migration's other side. */
static const char *device_on(const struct carve_obj_vgpu *v, const struct carve_obj_pgpu *p)
{
	return v->resident && v->resident != p ? v->peer_device_pci : v->device_pci;
}

/* Is a VF of this host named by a vGPU (other than `except`)?  A vGPU names
 * a VF only while it is reserved or running on a PGPU, and PCI addresses
 * are per host: another pool host's vGPU on the same address claims nothing
 * here. */
static bool vf_claimed(const struct carve_ctx *ctx, const char *pci, const char *except)
{
	carve_model_each(ctx->model, vgpus, struct carve_obj_vgpu, v) {
		const struct carve_obj_pgpu *on[2] = {v->resident ? v->resident : v->scheduled,
						      v->resident ? v->scheduled : NULL};
		for (size_t k = 0; k < 2; k++)
			if (on[k] && strcmp(on[k]->host->uuid, ctx->host_uuid) == 0 &&
			    strcmp(device_on(v, on[k]), pci) == 0 && (!except || strcmp(v->uuid, except) != 0))
				return true;
	}
	return false;
}

/* A VF-backed vGPU has no host-side UUID: the VF is its only identity.  The
 * intent records which VF the start will use (a free VF of the chosen PGPU
 * that no vGPU names), and the create is told to use it; so a start killed
 * after the create but before the confirm leaves an in-use VF that the store
 * names, and host-reconcile removes it.  "" when the PGPU has no free VF yet
 * (none enabled: the create enables them and picks the first free one). */
static void choose_vf(struct carve_ctx *ctx, const struct items *it, size_t i, char out[13])
{
	out[0] = '\0';
	const struct carve_hw_gpu *g = ctx->inv ? carve_hw_inventory_find(ctx->inv, it->v[i].pgpu_pci) : NULL;
	/* A vGPU naming a VF of this GPU is resident or scheduled on it. */
	const struct carve_obj_pgpu *p = carve_model_pgpu(ctx->model, it->v[i].pgpu);
	for (size_t v = 0; g && p && v < g->n_vfs; v++) {
		const struct carve_hw_vf *vf = &g->vfs[v];
		bool taken = vf->in_use;
		for (uint32_t k = 0; k < p->n_vgpus && !taken; k++)
			taken = strcmp(device_on(p->vgpus[k], p), vf->pci) == 0;
		for (size_t k = 0; k < i && !taken; k++) /* earlier vGPUs of this start */
			taken = strcmp(it->v[k].where.device_pci, vf->pci) == 0;
		if (!taken) {
			carve_strlcpy(out, vf->pci, 13);
			return;
		}
	}
}

/* NVLink links from a to b (both of one host). */
static uint8_t nvlinks_between(const struct carve_obj_pgpu *a, const struct carve_obj_pgpu *b)
{
	const char *pci = carve_pgpu_place(b)->pci;
	for (uint8_t i = 0; i < a->n_nvlink; i++)
		if (strcmp(a->nvlink[i].peer, pci) == 0)
			return a->nvlink[i].links;
	return 0;
}

static const char *reason_text(enum carve_place_reason r)
{
	switch (r) {
	case CARVE_PLACE_NO_CAPACITY: return "insufficient capacity";
	case CARVE_PLACE_INCOMPATIBLE: return "incompatible with the type already running";
	case CARVE_PLACE_DISCOVERY_PROBLEM: return "discovery could not read it";
	case CARVE_PLACE_UNHEALTHY: return "its health keeps vGPUs off it";
	case CARVE_PLACE_NOT_ENABLED: return "type not enabled";
	default: return "type not supported";
	}
}

static int cmp_pgpu_pci(const void *a, const void *b)
{
	return strcmp(carve_pgpu_place(*(struct carve_obj_pgpu *const *)a)->pci,
		      carve_pgpu_place(*(struct carve_obj_pgpu *const *)b)->pci);
}

/* Nothing of the group on this host takes the vGPU: say why, with the most
 * telling reason, the group's remaining capacity here and, when discovery
 * could not read the type, that problem. */
static int no_place(struct carve_ctx *ctx, const struct carve_obj_group *g, const struct carve_obj_host *host,
		    const struct carve_obj_type *t, const struct item *it, size_t vm_vgpus, enum carve_place_reason why,
		    struct carve_error *err)
{
	_cleanup_free_ struct carve_obj_pgpu **ps = malloc((ctx->model->pgpus.n + 1) * sizeof(*ps));
	size_t n = 0;
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, p)
		if (ps && p->group == g && p->host == host)
			ps[n++] = p;
	if (ps)
		qsort(ps, n, sizeof(*ps), cmp_pgpu_pci);
	int64_t total = 0;
	const char *problem = NULL, *pci = "";
	const struct carve_obj_pgpu *sick = NULL;
	for (size_t i = 0; t && i < n; i++) {
		const struct carve_place_pgpu *pl = carve_pgpu_place(ps[i]);
		total += carve_place_capacity(pl, &t->place, NULL);
		if (!problem && (problem = carve_place_problem(pl, &t->place)))
			pci = pl->pci;
		if (!sick && pl->unhealthy)
			sick = ps[i];
	}
	if (why == CARVE_PLACE_NO_P2P) { /* the free PGPUs and how they are joined */
		char free_list[1024] = "";
		size_t off = 0;
		for (size_t i = 0; t && i < n && off < sizeof(free_list); i++) {
			if (carve_place_capacity(carve_pgpu_place(ps[i]), &t->place, NULL) <= 0)
				continue;
			off += (size_t)snprintf(free_list + off, sizeof(free_list) - off, "%s%s (NVLink to", off ? "; " : "",
						carve_pgpu_place(ps[i])->pci);
			bool any = false;
			for (size_t j = 0; j < n && off < sizeof(free_list); j++)
				if (j != i && carve_place_capacity(carve_pgpu_place(ps[j]), &t->place, NULL) > 0 &&
				    nvlinks_between(ps[i], ps[j]) > 0) {
					off += (size_t)snprintf(free_list + off, sizeof(free_list) - off, " %s",
								carve_pgpu_place(ps[j])->pci);
					any = true;
				}
			if (off < sizeof(free_list))
				off += (size_t)snprintf(free_list + off, sizeof(free_list) - off, "%s)", any ? "" : " none");
		}
		return carve_error_set(err, -ENOSPC, carve_place_reason_id(why),
				       "VM needs its %zu vGPUs of type %s on PGPUs pairwise joined by NVLink (p2p=required), "
				       "and no such set of group '%s' is free on host %s: free are %s",
				       vm_vgpus, it->model, it->group_label, host ? host->name_label : "?",
				       free_list[0] ? free_list : "none");
	}
	bool degraded = sick && sick->health == CARVE_HEALTH_DEGRADED;
	if (why == CARVE_PLACE_UNHEALTHY && sick) /* name the health that keeps it off */
		return carve_error_set(err, -EIO, carve_place_reason_id(why),
				       "no PGPU of GPU group '%s' (%zu PGPUs) can take vGPU %s of type %s: %s is %s: %s%s",
				       it->group_label, n, it->vgpu, it->model, carve_pgpu_place(sick)->pci,
				       carve_health_name(sick->health), carve_pgpu_place(sick)->unhealthy,
				       degraded ? " (a group takes degraded PGPUs with degraded-pgpus=allow)" : "");
	/* Full elsewhere: the PGPUs health keeps out are part of why. */
	char skipped[768] = "";
	for (size_t i = 0, off = 0; sick && i < n && off < sizeof(skipped); i++)
		if (carve_pgpu_place(ps[i])->unhealthy)
			off += (size_t)snprintf(skipped + off, sizeof(skipped) - off, "%s %s (%s)", off ? "," : "",
						carve_pgpu_place(ps[i])->pci, carve_health_name(ps[i]->health));
	if (why == CARVE_PLACE_DISCOVERY_PROBLEM) /* the problem is the reason: name it */
		return carve_error_set(err, -EIO, carve_place_reason_id(why),
				       "no PGPU of GPU group '%s' (%zu PGPUs) can take vGPU %s of type %s: "
				       "discovery could not read it on %s: %s",
				       it->group_label, n, it->vgpu, it->model, pci, problem ? problem : "");
	/* A host-level problem (a device discovery could not tell was a GPU)
	 * may be why a PGPU offers nothing: say so, with its first line. */
	const char *hp = host && host->discovery_problems ? host->discovery_problems : "";
	int hl = (int)strcspn(hp, "\n");
	return carve_error_set(err, why == CARVE_PLACE_NO_CAPACITY ? -ENOSPC : -EINVAL, carve_place_reason_id(why),
			       "no PGPU of GPU group '%s' (%zu PGPUs) can take vGPU %s of type %s: %s "
			       "(remaining capacity for the type: %lld)%s%s%s%.*s",
			       it->group_label, n, it->vgpu, it->model, reason_text(why), (long long)total,
			       skipped[0] ? "; kept out by their health (pgpu-param-get param-name=health-reason):" : "",
			       skipped, hl ? "; the host's last discovery could not read everything: " : "", hl, hp);
}

/* Make the model's picture of PGPU p exactly the store's, with p's row
 * locked for the rest of the transaction: every placement on p takes that
 * lock before it counts, so what p holds cannot change until the commit.
 * *changed: the model had it wrong (another agent placed or released on it
 * since the model last heard), so the choice must be made again. */
int carve_ops_pgpu_pin(struct carve_ctx *ctx, struct carve_obj_pgpu *p, bool *changed, struct carve_error *err)
{
	*changed = false;
	char uuid[37];
	carve_strlcpy(uuid, p->uuid, sizeof(uuid));
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_repo_pgpu_lock_vms(ctx->db, uuid, &rows, err);
	if (r < 0)
		return r;
	bool same = rows->nrows == p->n_vgpus;
	for (size_t i = 0; same && i < rows->nrows; i++) /* both by vGPU UUID */
		same = strcmp(carve_rows_get(rows, i, "uuid"), p->vgpus[i]->uuid) == 0;
	if (same)
		return 0;
	*changed = true;
	/* The VMs the store or the model has on p, read again (each reload
	 * moves that VM's vGPUs to where the store has them). */
	char (*vms)[37] = calloc(rows->nrows + p->n_vgpus + 1, sizeof(*vms));
	size_t n = 0;
	if (!vms)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	for (size_t i = 0; i < rows->nrows; i++)
		carve_strlcpy(vms[n++], carve_rows_get(rows, i, "vm_uuid"), 37);
	for (uint32_t i = 0; i < p->n_vgpus; i++)
		carve_strlcpy(vms[n++], p->vgpus[i]->vm->uuid, 37);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = carve_model_reload_vm(ctx->model, ctx->db, vms[i], err);
	free(vms);
	if (r >= 0)
		r = carve_model_reload_pgpu(ctx->model, ctx->db, uuid, err);
	return r;
}

/* P2P over NVLink (seed 003) is for VMs of several 1:1 vGPUs: full GPUs
 * (passthrough, or a type of one instance per GPU). */
static bool p2p_vm(const struct carve_obj_vm *vm, const struct items *it, struct carve_model *m)
{
	if (vm->p2p == CARVE_P2P_NONE || it->n < 2)
		return false;
	for (size_t i = 0; i < it->n; i++) {
		const struct carve_obj_type *t = carve_model_type(m, it->v[i].type);
		if (!t || t->place.mig_slices || !(t->place.passthrough || t->place.max_instances == 1))
			return false;
	}
	return true;
}

/* The candidates on host for a P2P VM's vGPUs: PGPUs of the first vGPU's
 * group that take its type now, in the order the group's algorithm prefers
 * (fuller first depth-first, emptier first breadth-first; then PCI). */
struct cand {
	struct carve_obj_pgpu *p;
	int64_t left;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->left != y->left)
		return x->left < y->left ? -1 : 1;
	return strcmp(carve_pgpu_place(x->p)->pci, carve_pgpu_place(y->p)->pci);
}

/* Every vGPU of a P2P VM on one host's PGPUs, pairwise NVLink-connected
 * (p2p.h ranks the sets): 1 with chosen[], 0 with *why when none (NO_P2P
 * when enough PGPUs are free but no connected set of them), or an error. */
static int place_p2p(struct carve_ctx *ctx, const struct carve_obj_vm *vm, const struct items *it,
		     const struct carve_obj_host *host, struct carve_obj_pgpu **chosen, enum carve_place_reason *why,
		     struct carve_error *err)
{
	const struct carve_obj_group *g = carve_model_group(ctx->model, it->v[0].group);
	const struct carve_obj_type *t = carve_model_type(ctx->model, it->v[0].type);
	struct cand c[CARVE_P2P_MAX_CANDIDATES];
	size_t n = 0;
	*why = CARVE_PLACE_NOT_SUPPORTED;
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, p) {
		if (!g || !t || p->host != host || p->group != g || n == CARVE_P2P_MAX_CANDIDATES)
			continue;
		int64_t left = 0;
		enum carve_place_reason w = CARVE_PLACE_NOT_SUPPORTED;
		int r = carve_model_capacity(ctx->model, p, t, &left, &w, err);
		if (r < 0)
			return r;
		if (left <= 0) {
			if (w > *why)
				*why = w;
			continue;
		}
		c[n++] = (struct cand){p, g->algo == CARVE_PLACE_BREADTH_FIRST ? -left : left};
	}
	/* The others must be of the first's group and type: one set serves all. */
	for (size_t i = 1; i < it->n; i++)
		if (strcmp(it->v[i].group, it->v[0].group) != 0 || strcmp(it->v[i].type, it->v[0].type) != 0)
			return *why = CARVE_PLACE_NO_P2P, 0;
	if (n < it->n) {
		if (n > 0 || *why < CARVE_PLACE_NO_CAPACITY)
			*why = n > 0 ? CARVE_PLACE_NO_CAPACITY : *why;
		return 0;
	}
	qsort(c, n, sizeof(*c), cmp_cand);
	struct carve_p2p_graph graph = {.n = n};
	for (size_t i = 0; i < n; i++) {
		graph.numa[i] = carve_pgpu_place(c[i].p)->numa_node;
		for (size_t j = 0; j < n; j++)
			graph.links[i][j] = i == j ? 0 : nvlinks_between(c[i].p, c[j].p);
	}
	size_t set[CARVE_P2P_MAX_SET];
	if (!carve_p2p_choose(&graph, it->n, vm->numa_node, set, NULL))
		return *why = CARVE_PLACE_NO_P2P, 0;
	memset(chosen, 0, (CARVE_MAX_VGPUS_PER_VM + 1) * sizeof(*chosen));
	for (size_t i = 0; i < it->n; i++)
		chosen[i] = c[set[i]].p;
	*why = CARVE_PLACE_OK;
	return 1;
}

/* Place every vGPU of the VM on one host's PGPUs (chosen[], in item order),
 * or say why not.  *score: how full the first one's PGPU is for its type (its
 * remaining capacity), which ranks hosts. */
static int place_on_host(struct carve_ctx *ctx, const struct carve_obj_vm *vm, const struct items *it,
			 const struct carve_obj_host *host, struct carve_obj_pgpu **chosen, int64_t *score,
			 enum carve_place_reason *why, struct carve_error *err)
{
	if (p2p_vm(vm, it, ctx->model)) {
		int r = place_p2p(ctx, vm, it, host, chosen, why, err);
		if (r > 0)
			r = carve_model_capacity(ctx->model, chosen[0], carve_model_type(ctx->model, it->v[0].type), score,
						 NULL, err) < 0
				    ? err->code
				    : 1;
		/* preferred: GPUs that are not connected are better than none */
		if (r != 0 || vm->p2p == CARVE_P2P_REQUIRED || *why != CARVE_PLACE_NO_P2P)
			return r;
	}
	memset(chosen, 0, (CARVE_MAX_VGPUS_PER_VM + 1) * sizeof(*chosen));
	for (size_t i = 0; i < it->n; i++) {
		const struct carve_obj_group *g = carve_model_group(ctx->model, it->v[i].group);
		const struct carve_obj_type *t = carve_model_type(ctx->model, it->v[i].type);
		*why = CARVE_PLACE_NOT_SUPPORTED;
		int r = g && t ? carve_model_place(ctx->model, g, host, t, vm->numa_node, chosen, &chosen[i], why, err) : 0;
		if (r < 0)
			return r;
		if (!chosen[i])
			return 0;
		if (i == 0 && (r = carve_model_capacity(ctx->model, chosen[0], t, score, NULL, err)) < 0)
			return r;
	}
	return 1;
}

/* The hosts a VM may start on: the one named by on=, else this host and
 * every other that is enabled and live (its carved heartbeats, so someone
 * will realize what is placed there), this host first so that it wins a
 * tie. */
static int start_hosts(struct carve_ctx *ctx, const char *on, const struct carve_obj_host ***out, size_t *n,
		       struct carve_error *err)
{
	*n = 0;
	*out = calloc(ctx->model->hosts.n + 1, sizeof(**out));
	if (!*out)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	const struct carve_obj_host *self = carve_model_host(ctx->model, ctx->host_uuid);
	if (on) {
		const struct carve_obj_host *h = carve_pool_host_named(ctx, on, err);
		if (!h)
			return err->code;
		if (!h->enabled)
			return carve_error_set(err, -EBUSY, "HOST_DISABLED",
					       "host %s (%s) is disabled: nothing is placed on it until host-enable",
					       h->name_label, h->uuid);
		if (h != self && !carve_model_host_live(ctx->model, h))
			return carve_pool_host_offline(ctx, h, err);
		(*out)[(*n)++] = h;
		return 0;
	}
	if (self && self->enabled)
		(*out)[(*n)++] = self;
	carve_model_each(ctx->model, hosts, struct carve_obj_host, h)
		if (h != self && h->enabled && carve_model_host_live(ctx->model, h))
			(*out)[(*n)++] = h;
	return 0;
}

static bool acts_here(const struct carve_ctx *ctx, const char *host)
{
	return !host || strcmp(host, ctx->host_uuid) == 0;
}

/* The notifications of set_between (below). */
static int between_told(struct carve_ctx *ctx, const char *vm, const char *host, struct carve_error *err)
{
	if (acts_here(ctx, host))
		return 0;
	int r = carve_pool_hand_over(ctx, host, vm, err);
	return r < 0 ? r : carve_pool_note_vm(ctx, vm, err);
}

/* In the intent's transaction: the VM goes between states (starting or
 * stopping) on host, claimed by this host when it acts itself, else by no
 * one and handed over to that host's agent (pool.h); its last error is
 * cleared.  Every agent is told of a hand-over at once; of an act of this
 * host's own when it is confirmed or undone, which follows in
 * milliseconds: a placement elsewhere on these PGPUs locks and reads them
 * anyway (carve_ops_pgpu_pin), and each notification costs every listening
 * backend of the pool a wake-up. */
static int set_between(struct carve_ctx *ctx, const char *vm, enum carve_power_state power, const char *host,
		       struct carve_error *err)
{
	int r = carve_repo_vm_set_between(ctx->db, vm, power, host, acts_here(ctx, host) ? ctx->host_uuid : NULL, err);
	return r < 0 ? r : between_told(ctx, vm, host, err);
}

/* A batch's intent transaction: the PGPUs pinned (carve_ops_pgpu_pin) in
 * it - each once, since the model mirrors what the batch reserves on them
 * (mirror), so a second look would find it the same - and the
 * reservations, written together before the commit as one statement for
 * the vGPUs and one for the VMs (repo.h, carve_repo_vgpus_reserve).  A PGPU
 * is pinned before anything of the batch is reserved on it, so the store
 * that the pin reads lacks nothing the batch placed there. */
struct intent {
	char uuid[CARVE_REPO_SET_MAX][37]; /* a PGPU a vGPU at most: never full */
	size_t n;
	const char *vgpu[CARVE_REPO_SET_MAX], *pgpu[CARVE_REPO_SET_MAX], *pci[CARVE_REPO_SET_MAX];
	size_t n_vgpu;
	const char *vm[CARVE_REALIZE_BATCH], *host[CARVE_REALIZE_BATCH], *claim[CARVE_REALIZE_BATCH];
	size_t n_vm;
};

/* The batch's reservations, written (in the intent's transaction). */
static int intent_write(struct carve_ctx *ctx, const struct intent *p, struct carve_error *err)
{
	int r = carve_repo_vgpus_reserve(ctx->db, p->n_vgpu, p->vgpu, p->pgpu, p->pci, err);
	return r < 0 ? r : carve_repo_vms_set_between(ctx->db, p->n_vm, p->vm, CARVE_POWER_STARTING, p->host, p->claim, err);
}

static bool pinned(const struct intent *pins, const char *uuid)
{
	for (size_t i = 0; pins && i < pins->n; i++)
		if (strcmp(pins->uuid[i], uuid) == 0)
			return true;
	return false;
}

static int pin(struct carve_ctx *ctx, struct intent *pins, struct carve_obj_pgpu *p, bool *changed,
	       struct carve_error *err)
{
	*changed = false;
	if (pinned(pins, p->uuid))
		return 0;
	int r = carve_ops_pgpu_pin(ctx, p, changed, err);
	if (r >= 0 && pins && pins->n < ARRAY_SIZE(pins->uuid))
		carve_strlcpy(pins->uuid[pins->n++], p->uuid, 37);
	return r;
}

/* What a start wrote of vm and the vGPUs of it, mirrored in the model
 * (model.h, carve_model_vm_set_state): the VM power on host, claimed by
 * claim (the last error cleared with clear_error), each vGPU scheduled on
 * its PGPU (reserved) or resident there (running).  The VM's row is locked
 * by the writing transaction.  -ENOENT (the model lacks the VM) or
 * -ENOMEM where the model could not follow: the caller reads the VM
 * again. */
static int mirror(struct carve_ctx *ctx, const char *vm, const struct items *it, enum carve_power_state power,
		  const char *host, const char *claim, bool clear_error, enum carve_vgpu_state state)
{
	struct carve_model *m = ctx->model;
	struct carve_obj_vm *o = carve_model_vm(m, vm);
	if (!o)
		return -ENOENT;
	carve_model_vm_set_state(m, o, power, carve_model_host(m, host), claim, clear_error);
	bool running = state == CARVE_VGPU_RUNNING;
	for (size_t i = 0; i < it->n; i++) {
		struct carve_obj_vgpu *v = carve_model_vgpu(m, it->v[i].vgpu);
		struct carve_obj_pgpu *p = carve_model_pgpu(m, it->v[i].pgpu);
		if (!v || !p ||
		    carve_model_vgpu_set_place(m, v, running ? p : v->resident, running ? NULL : p,
					       it->v[i].where.device_pci, state) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The hosts worth a look for a VM whose first vGPU is of group g0 and
 * type t0 (on= not given): those with room for it (carve_model_rooms),
 * enabled and live, this host first; *pruned false where the model keeps
 * no room sets (then every host, start_hosts). */
static int room_hosts(struct carve_ctx *ctx, const struct carve_obj_group *g0, const struct carve_obj_type *t0,
		      const struct carve_obj_host ***out, size_t *n, bool *pruned, struct carve_error *err)
{
	struct carve_view *const *views;
	size_t nv = 0;
	*pruned = g0 && t0 && carve_model_rooms(ctx->model, g0, t0, &views, &nv) >= 0;
	if (!*pruned)
		return start_hosts(ctx, NULL, out, n, err);
	*n = 0;
	if (!(*out = calloc(nv + 1, sizeof(**out))))
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	const struct carve_obj_host *self = carve_model_host(ctx->model, ctx->host_uuid);
	for (size_t i = 0; i < nv; i++)
		if (views[i]->host == self && self->enabled)
			(*out)[(*n)++] = self;
	for (size_t i = 0; i < nv; i++) {
		const struct carve_obj_host *h = views[i]->host;
		if (h != self && h->enabled && carve_model_host_live(ctx->model, h))
			(*out)[(*n)++] = h;
	}
	return 0;
}

/* Step 1: choose the host and PGPUs and record the reservation (caller's
 * transaction), as XAPI does: of the candidate hosts, the one whose best
 * PGPU for the first vGPU is fullest (depth-first) or emptiest
 * (breadth-first), within it the index's choice - looking only at hosts
 * with room for that vGPU (room_hosts), and at every host again when none
 * fits, to say why.  Each chosen PGPU is pinned (carve_ops_pgpu_pin, once
 * per transaction with pins); where the model was behind, the choice is
 * made again on the corrected model.  target: the chosen host's UUID.  The
 * reservation is mirrored in the model (mirror).  *fatal: the
 * failure is the store's, and the transaction is lost; else it is this
 * VM's alone (no place, a bad on=) and nothing was written. */
static int reserve(struct carve_ctx *ctx, const struct carve_obj_vm *vm, struct started_vm *sv, struct intent *pins,
		   bool *fatal, struct carve_error *err)
{
	struct items *it = &sv->it;
	const char *on = sv->on;
	char *target = sv->target;
	*fatal = false;
	const struct carve_obj_group *g0 = it->n ? carve_model_group(ctx->model, it->v[0].group) : NULL;
	const struct carve_obj_type *t0 = it->n ? carve_model_type(ctx->model, it->v[0].type) : NULL;
	bool breadth = g0 && g0->algo == CARVE_PLACE_BREADTH_FIRST;
	struct carve_obj_pgpu *chosen[CARVE_MAX_VGPUS_PER_VM + 1], *best[CARVE_MAX_VGPUS_PER_VM + 1] = {0};
	const struct carve_obj_host *best_host = NULL, *why_host = NULL;
	enum carve_place_reason why = CARVE_PLACE_NOT_SUPPORTED, best_why = CARVE_PLACE_OK;
	size_t n_hosts = 0;
	bool pruned = !on;
	int r = 0;
	for (int round = 0; round < 16; round++) {
		_cleanup_free_ const struct carve_obj_host **hosts = NULL;
		r = pruned ? room_hosts(ctx, g0, t0, &hosts, &n_hosts, &pruned, err)
			   : start_hosts(ctx, on, &hosts, &n_hosts, err);
		if (r < 0)
			return r;
		best_host = NULL;
		why_host = n_hosts ? hosts[0] : NULL;
		int64_t best_score = 0;
		best_why = CARVE_PLACE_OK;
		for (size_t h = 0; h < n_hosts; h++) {
			int64_t score = 0;
			if ((r = place_on_host(ctx, vm, it, hosts[h], chosen, &score, &why, err)) < 0)
				return r;
			if (r == 0) {
				if (why > best_why)
					best_why = why, why_host = hosts[h];
				continue;
			}
			if (!best_host || (breadth ? score > best_score : score < best_score)) {
				best_host = hosts[h];
				best_score = score;
				memcpy(best, chosen, sizeof(best));
			}
		}
		if (!best_host && pruned) { /* none with room fits: every host, for the reason */
			pruned = false;
			continue;
		}
		if (!best_host)
			break;
		bool changed = false;
		for (size_t i = 0; i < it->n && !changed && r >= 0; i++)
			r = pin(ctx, pins, best[i], &changed, err);
		if (r < 0)
			return *fatal = true, r;
		if (!changed)
			break;
		best_host = NULL; /* the model was behind: choose again on what the store holds */
	}
	if (!best_host) {
		size_t i = 0; /* the vGPU that did not fit: name the first */
		const struct carve_obj_group *g = carve_model_group(ctx->model, it->v[i].group);
		const struct carve_obj_type *t = carve_model_type(ctx->model, it->v[i].type);
		if (n_hosts == 0)
			return carve_error_set(err, -ENOSPC, "NO_HOSTS_AVAILABLE",
					       "no enabled, live host can take VM %s (host-list shows enabled and live)",
					       vm->uuid);
		return no_place(ctx, g, why_host, t, &it->v[i], it->n, best_why ? best_why : why, err);
	}
	carve_strlcpy(target, best_host->uuid, 37);
	for (size_t i = 0; i < it->n; i++) {
		struct item *x = &it->v[i];
		carve_strlcpy(x->pgpu, best[i]->uuid, sizeof(x->pgpu));
		carve_strlcpy(x->pgpu_pci, carve_pgpu_place(best[i])->pci, sizeof(x->pgpu_pci));
		if ((r = item_params(x, best[i], err)) < 0)
			return r;
		x->where.device_pci[0] = '\0';
	}
	*fatal = true; /* from here on, what fails is the store's */
	if (pins->n_vgpu + it->n > ARRAY_SIZE(pins->vgpu) || pins->n_vm == ARRAY_SIZE(pins->vm))
		return carve_error_set(err, -E2BIG, "INTERNAL_ERROR", "too many vGPUs in one batch");
	bool here = acts_here(ctx, target);
	for (size_t i = 0; i < it->n; i++) {
		struct item *x = &it->v[i];
		/* A VF is chosen where the devices are made: the requester knows
		 * only its own host's VFs. */
		if (vf_impl(x->impl) && here)
			choose_vf(ctx, it, i, x->where.device_pci);
		pins->vgpu[pins->n_vgpu] = x->vgpu;
		pins->pgpu[pins->n_vgpu] = x->pgpu;
		pins->pci[pins->n_vgpu++] = x->where.device_pci;
	}
	/* starting on target, as set_between writes it */
	pins->vm[pins->n_vm] = sv->vm;
	pins->host[pins->n_vm] = target;
	pins->claim[pins->n_vm++] = here ? ctx->host_uuid : NULL;
	if ((r = between_told(ctx, sv->vm, target, err)) < 0)
		return r;
	r = mirror(ctx, sv->vm, it, CARVE_POWER_STARTING, target, here ? ctx->host_uuid : NULL, true,
		   CARVE_VGPU_RESERVED);
	if (r == -ENOENT)
		return carve_ops_not_found("vm", sv->vm, err);
	return r < 0 ? carve_error_set(err, r, "OUT_OF_MEMORY", "out of memory") : 0;
}

int carve_ops_vm_release(struct carve_ctx *ctx, const char *vm, struct carve_error *err)
{
	int r = carve_repo_vm_vgpus_release(ctx->db, vm, err);
	if (r >= 0)
		r = carve_repo_vm_set_migration(ctx->db, vm, CARVE_MIGRATION_NONE, NULL, NULL, err);
	return r < 0 ? r : carve_repo_vm_set_power(ctx->db, vm, CARVE_POWER_HALTED, NULL, err);
}

static void remove_created(struct carve_ctx *ctx, struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		if (!it->v[i].created)
			continue;
		struct carve_vgpu_spec spec;
		spec_of(&it->v[i], &spec);
		/* best effort: reconcile reports what could not be removed */
		ctx->host->ops->vgpu_remove(ctx->host, &spec, &it->v[i].where, NULL);
		it->v[i].created = false;
	}
}

static json_t *start_result(const char *vm, const struct items *it, struct carve_error *err)
{
	struct carve_emit_vgpu ev[CARVE_MAX_VGPUS_PER_VM];
	json_t *vgpus = json_array();
	bool display = false;
	for (size_t i = 0; i < it->n; i++) {
		const struct item *x = &it->v[i];
		memset(&ev[i], 0, sizeof(ev[i]));
		carve_strlcpy(ev[i].uuid, x->vgpu, sizeof(ev[i].uuid));
		ev[i].impl = x->impl;
		carve_strlcpy(ev[i].device_pci, x->where.device_pci, sizeof(ev[i].device_pci));
		carve_strlcpy(ev[i].model_name, x->model, sizeof(ev[i].model_name));
		ev[i].display = mdev_impl(x->impl) && !display;
		display |= ev[i].display;
		json_array_append_new(vgpus, json_pack("{s:s, s:s, s:s, s:s}", "uuid", x->vgpu, "resident-on", x->pgpu,
						       "device-pci", x->where.device_pci, "implementation",
						       carve_impl_name(x->impl)));
	}
	struct carve_emit_vm evm = {.numa_node = -1};
	carve_strlcpy(evm.uuid, vm, sizeof(evm.uuid));
	_cleanup_free_ char *xml = NULL;
	json_t *qemu = NULL;
	if (carve_emit_libvirt_hostdevs(ev, it->n, &xml, err) < 0 || carve_emit_qemu_args(&evm, ev, it->n, &qemu, err) < 0) {
		json_decref(vgpus);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:s, s:o}", "vm", vm, "vgpus", vgpus, "libvirt-hostdevs", xml, "qemu-args", qemu);
}

/* After acting on GPUs, model unlocked: lock again, then the acts' outcome. */
static void relock(struct carve_ctx *ctx)
{
	carve_model_wrlock(ctx->model);
}

static const struct item *prior_item(const struct started_vm *prior, size_t n_prior, const struct item *x);
static int confirm_made(struct carve_ctx *ctx, struct started_vm *v, size_t n, bool peer, struct carve_error *err);

/* Does a VM of batch[from..n) that acted (ok) have an item on x's PGPU and
 * type? */
static bool later_item(const struct started_vm *batch, size_t from, size_t n, const struct item *x)
{
	for (size_t i = from; batch && i < n; i++)
		for (size_t k = 0; batch[i].ok && k < batch[i].it.n; k++)
			if (strcmp(batch[i].it.v[k].pgpu, x->pgpu) == 0 && strcmp(batch[i].it.v[k].type, x->type) == 0)
				return true;
	return false;
}

/* Note what the act did to each item's PGPU: in the store (inside the
 * caller's transaction) with delta (-1 made, +1 removed), then, after the
 * commit, in the model and the inventory (note_model, note_inventory).  Items
 * sharing a PGPU and type count one after the other - within it, and after
 * those of the VMs of batch acted on before it (batch[me] is it, of n; NULL
 * alone) in the same transaction; only the last of them writes the count
 * (a row updated twice in one transaction costs PostgreSQL its foreign-key
 * checks again). */
static int note_store_after(struct carve_ctx *ctx, struct items *it, int delta, const struct started_vm *batch,
			    size_t me, size_t n, struct carve_error *err)
{
	int r = 0;
	for (size_t i = 0; i < it->n && r >= 0; i++) {
		struct item *x = &it->v[i];
		struct carve_obj_pgpu *p = x->pgpu[0] ? carve_model_pgpu(ctx->model, x->pgpu) : NULL;
		const struct carve_obj_type *t = carve_model_type(ctx->model, x->type);
		ssize_t s = p && t ? carve_pgpu_slot_of(p, t) : -1;
		if (s < 0)
			continue; /* no such slot (the type left the PGPU): nothing to count */
		const struct item *last = prior_item(batch, batch ? me : 0, x);
		int64_t before = last ? last->available_after : carve_pgpu_place(p)->slots[s].host_available;
		for (size_t k = i; k-- > 0;)
			if (strcmp(it->v[k].pgpu, x->pgpu) == 0 && strcmp(it->v[k].type, x->type) == 0) {
				before = it->v[k].available_after;
				break;
			}
		x->available_after = carve_pgpu_available_after(before, p->ext[s].max_instances, delta);
		bool again = later_item(batch, me + 1, n, x);
		for (size_t k = i + 1; k < it->n && !again; k++)
			again = strcmp(it->v[k].pgpu, x->pgpu) == 0 && strcmp(it->v[k].type, x->type) == 0;
		if (!again)
			r = carve_repo_pgpu_type_set_available(ctx->db, x->pgpu, x->type, x->available_after, err);
	}
	return r;
}

static int note_store(struct carve_ctx *ctx, struct items *it, int delta, struct carve_error *err)
{
	return note_store_after(ctx, it, delta, NULL, 0, 0, err);
}

static void note_model(struct carve_ctx *ctx, const struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		const struct item *x = &it->v[i];
		struct carve_obj_pgpu *p = x->pgpu[0] ? carve_model_pgpu(ctx->model, x->pgpu) : NULL;
		const struct carve_obj_type *t = carve_model_type(ctx->model, x->type);
		if (p && t)
			carve_model_pgpu_set_available(p, t, x->available_after);
	}
}

static void note_acted(struct carve_ctx *ctx, const char *pci)
{
	for (size_t k = 0; k < ctx->n_acted; k++)
		if (strcmp(ctx->acted[k], pci) == 0)
			return;
	if (ctx->n_acted < ARRAY_SIZE(ctx->acted))
		carve_strlcpy(ctx->acted[ctx->n_acted++], pci, sizeof(ctx->acted[0]));
}

static void note_inventory(struct carve_ctx *ctx, const struct items *it, bool created)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->v[i].pgpu_pci[0])
			note_acted(ctx, it->v[i].pgpu_pci);
	for (size_t i = 0; ctx->inv && i < it->n; i++) {
		const struct item *x = &it->v[i];
		struct carve_hw_gpu *g = x->pgpu_pci[0] ? (struct carve_hw_gpu *)carve_hw_inventory_find(ctx->inv, x->pgpu_pci)
						       : NULL;
		if (!g)
			continue;
		if (created)
			carve_hw_gpu_note_created(g, x->vgpu, x->where.device_pci, x->identifier, x->extra);
		else
			carve_hw_gpu_note_removed(g, x->vgpu, x->where.device_pci, x->identifier);
	}
}

/* The CLI's context reads the GPUs the verb acted on again before it
 * returns (ops.h, defer_reread); a failure leaves the note in place until
 * the next discovery. */
static void reread_acted(struct carve_ctx *ctx)
{
	if (ctx->defer_reread || !ctx->n_acted)
		return;
	const char *pci[ARRAY_SIZE(ctx->acted)];
	for (size_t i = 0; i < ctx->n_acted; i++)
		pci[i] = ctx->acted[i];
	struct carve_error e = {0};
	carve_ops_rediscover_gpus(ctx, pci, ctx->n_acted, &e);
}

/* After an act's confirm committed: what the act did, in the inventory and
 * the model (note_inventory, note_model), the VM read again, the acted GPUs
 * looked at (reread_acted). */
static int acted(struct carve_ctx *ctx, const char *vm, const struct items *it, bool created, struct carve_error *err)
{
	note_inventory(ctx, it, created);
	note_model(ctx, it);
	int r = carve_model_reload_vm(ctx->model, ctx->db, vm, err);
	if (r >= 0)
		reread_acted(ctx);
	return r;
}

/* After a failed act (err says why): release the reservation (release), and
 * record the error on the VM for a requester on another host (record);
 * best effort, the act's own error is what the caller returns. */
static void failed(struct carve_ctx *ctx, const char *vm, bool release, bool record, const struct carve_error *err)
{
	_cleanup_free_ char *why = carve_strdupf("%s: %s", err->id, err->message);
	if (carve_ops_begin_shared(ctx, NULL) < 0)
		return;
	int r = release ? carve_ops_vm_release(ctx, vm, NULL) : 0;
	if (r >= 0 && record)
		r = carve_repo_vm_set_error(ctx->db, vm, why, NULL);
	if (r >= 0)
		r = carve_pool_note_vm(ctx, vm, NULL);
	if (carve_ops_end(ctx, r, NULL) >= 0)
		carve_model_reload_vm(ctx->model, ctx->db, vm, NULL);
}

/* Create each item's device with its vgpu_params (the model unlocked by
 * the caller); item.created says which exist. */
static int create_devices(struct carve_ctx *ctx, struct items *it, struct carve_error *err)
{
	int r = 0;
	for (size_t i = 0; i < it->n && r >= 0; i++) {
		struct carve_vgpu_spec spec;
		spec_of(&it->v[i], &spec);
		const struct carve_hw_gpu *known = ctx->inv ? carve_hw_inventory_find(ctx->inv, it->v[i].pgpu_pci) : NULL;
		r = ctx->host->ops->vgpu_create(ctx->host, known, &spec, &it->v[i].where, err);
		if (r >= 0)
			it->v[i].created = true;
		if (r >= 0 && it->v[i].extra[0] && ctx->host->ops->vgpu_set_params)
			r = ctx->host->ops->vgpu_set_params(ctx->host, &it->v[i].where, it->v[i].extra, err);
	}
	return r;
}

/* In the open transaction: the devices of the VMs of v that acted (ok)
 * exist - a start's vGPUs running here, or a migration's destination
 * (peer) prepared - with the driver's counts, chained from one VM to the
 * next (note_store_after).  A start's rows are written for all the VMs at
 * once (repo.h, carve_repo_vgpus_confirm). */
static int confirm_in(struct carve_ctx *ctx, struct started_vm *v, size_t n, bool peer, struct carve_error *err)
{
	size_t nv = 0, nm = 0;
	for (size_t i = 0; i < n; i++)
		nv += v[i].ok ? v[i].it.n : 0;
	_cleanup_free_ const char **vgpu = calloc(nv + 1, sizeof(*vgpu)), **pci = calloc(nv + 1, sizeof(*pci)),
				  **vm = calloc(n + 1, sizeof(*vm));
	if (!vgpu || !pci || !vm)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int r = 0;
	nv = 0;
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct items *it = &v[i].it;
		if (!v[i].ok)
			continue;
		for (size_t k = 0; k < it->n && r >= 0; k++)
			if (peer)
				r = carve_repo_vgpu_schedule_peer(ctx->db, it->v[k].vgpu, it->v[k].pgpu,
								  it->v[k].where.device_pci, err);
			else
				vgpu[nv] = it->v[k].vgpu, pci[nv++] = it->v[k].where.device_pci;
		if (r >= 0 && peer)
			r = carve_repo_vm_set_migration(ctx->db, v[i].vm, CARVE_MIGRATION_PREPARED, ctx->host_uuid, NULL,
							err);
		vm[nm++] = v[i].vm;
		if (r >= 0)
			r = note_store_after(ctx, it, -1, v, i, n, err);
		if (r >= 0)
			r = carve_pool_note_vm(ctx, v[i].vm, err);
	}
	if (r >= 0 && !peer)
		r = carve_repo_vgpus_confirm(ctx->db, nv, vgpu, pci, err);
	if (r >= 0 && !peer)
		r = carve_repo_vms_set_power(ctx->db, nm, vm, CARVE_POWER_RUNNING, ctx->host_uuid, err);
	return r;
}

/* confirm_in, its own transaction, retried when the commit meets another
 * placement's locks in a deadlock (PostgreSQL breaks it by failing one). */
static int confirm_made(struct carve_ctx *ctx, struct started_vm *v, size_t n, bool peer, struct carve_error *err)
{
	int r;
	for (int attempt = 0;; attempt++) {
		if ((r = carve_ops_begin_shared(ctx, err)) < 0)
			return r;
		r = confirm_in(ctx, v, n, peer, err);
		if ((r = carve_ops_end(ctx, r, err)) != -EAGAIN || attempt == 8)
			return r;
		carve_error_clear(err);
	}
}

/* The VM of vm-start / vm-shutdown, and a host to act on. */
static int vm_verb_args(struct carve_ctx *ctx, json_t *args, const char *verb, char vm[37], struct carve_error *err)
{
	int r = carve_arg_uuid(args, "uuid", true, vm, err);
	if (r >= 0 && !ctx->host)
		r = carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "%s needs a host (drop --no-discover)", verb);
	return r;
}

/* The VM exists (obj) and is in one of the power states allowed (a bit
 * each) for verb. */
static int vm_in_power(const struct carve_obj_vm *obj, const char *vm, const char *verb, unsigned allowed,
		       struct carve_error *err)
{
	if (!obj)
		return carve_ops_not_found("vm", vm, err);
	if (allowed & (1u << obj->power))
		return 0;
	char want[64] = "";
	for (int p = 0, n = 0; p < CARVE_POWER__MAX; p++)
		if (allowed & (1u << p) && p != CARVE_POWER_STOPPING) /* a retry's state, not one to ask for */
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", n++ ? " or " : "",
				 carve_power_state_name((enum carve_power_state)p));
	return carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE", "VM %s is %s; %s needs it %s", vm,
			       carve_power_state_name(obj->power), verb, want);
}

/* verbs.h */
int carve_ops_vm_lock_begin(struct carve_ctx *ctx, const char *vm, const char *verb, unsigned allowed,
			    struct carve_obj_vm **out, struct carve_error *err)
{
	bool found = false;
	int r = carve_ops_begin_shared(ctx, err);
	if (r < 0)
		return r;
	r = carve_model_lock_reload_vm(ctx->model, ctx->db, vm, &found, err);
	*out = r >= 0 && found ? carve_model_vm(ctx->model, vm) : NULL;
	if (r >= 0)
		r = vm_in_power(*out, vm, verb, allowed, err);
	if (r < 0)
		carve_db_rollback(ctx->db);
	return r;
}

/* The answer of a start, from the model (after the start was confirmed,
 * here or on another host). */
static int started(struct carve_ctx *ctx, const char *vm, json_t **result, struct carve_error *err)
{
	struct items it;
	const struct carve_obj_vm *obj = carve_model_vm(ctx->model, vm);
	if (!obj)
		return carve_ops_not_found("vm", vm, err);
	int r = load_items(obj, &it, err);
	if (r < 0)
		return r;
	*result = start_result(vm, &it, err);
	return *result ? 0 : (carve_error_isset(err) ? err->code : -ENOMEM);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Step 1 for the VMs of v at once: one transaction locks them all (in UUID
 * order, so that two batches never wait on each other in a cycle), places
 * each on the model as the ones before it left it, records the
 * reservations and commits.  A VM that cannot start fails alone (live
 * false, its error in err); a failure of the store fails them all, after
 * retrying a deadlock as a single start does. */
static void start_intents(struct carve_ctx *ctx, struct started_vm *v, size_t n, const char *verb,
			  enum carve_power_state from)
{
	const char *order[CARVE_REALIZE_BATCH];
	bool wanted[CARVE_REALIZE_BATCH], found[CARVE_REALIZE_BATCH];
	size_t n_order = 0;
	for (size_t i = 0; i < n; i++) {
		wanted[i] = v[i].live;
		bool seen = false;
		for (size_t k = 0; k < n_order && !seen; k++)
			seen = strcmp(order[k], v[i].vm) == 0;
		if (v[i].live && !seen)
			order[n_order++] = v[i].vm;
	}
	qsort(order, n_order, sizeof(*order), cmp_str);
	_cleanup_free_ struct intent *pins = malloc(sizeof(*pins));
	struct carve_error e = {0};
	int r = pins ? 0 : carve_error_set(&e, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	for (int attempt = 0; r >= 0; attempt++) {
		pins->n = pins->n_vgpu = pins->n_vm = 0;
		if ((r = carve_ops_begin_shared(ctx, &e)) < 0)
			break;
		r = carve_model_lock_reload_vms(ctx->model, ctx->db, order, n_order, found, &e);
		for (size_t i = 0; r >= 0 && i < n; i++) {
			if (!(v[i].live = wanted[i]))
				continue;
			carve_error_clear(&v[i].err);
			bool fatal = false;
			const struct carve_obj_vm *obj = carve_model_vm(ctx->model, v[i].vm);
			int ri = vm_in_power(obj, v[i].vm, verb, 1u << from, &v[i].err);
			if (ri >= 0 && (ri = load_items(obj, &v[i].it, &v[i].err)) >= 0)
				ri = reserve(ctx, obj, &v[i], pins, &fatal, &v[i].err);
			if (ri < 0 && fatal) {
				r = ri;
				carve_error_reset(&e, ri, v[i].err.id, "%s", v[i].err.message);
			} else if (ri < 0) {
				v[i].live = false;
			}
		}
		if (r >= 0)
			r = intent_write(ctx, pins, &e);
		if ((r = carve_ops_end(ctx, r, &e)) >= 0)
			return;
		/* the model mirrors what was rolled back: read the VMs again */
		for (size_t k = 0; k < n_order; k++)
			carve_model_reload_vm(ctx->model, ctx->db, order[k], NULL);
		if (r != -EAGAIN || attempt == 8)
			break;
		carve_error_clear(&e);
		r = 0;
	}
	for (size_t i = 0; i < n; i++)
		if (wanted[i]) {
			v[i].live = false;
			carve_error_reset(&v[i].err, e.code, e.id, "%s", e.message);
		}
}

/* A start confirmed (committed) here: the model, the inventory and the
 * acted GPUs as acted() leaves them, the VM mirrored rather than read back
 * (its row was locked by the confirming transaction). */
static int started_here(struct carve_ctx *ctx, const char *vm, const struct items *it, struct carve_error *err)
{
	note_inventory(ctx, it, true);
	note_model(ctx, it);
	int r = mirror(ctx, vm, it, CARVE_POWER_RUNNING, ctx->host_uuid, NULL, false, CARVE_VGPU_RUNNING) < 0
			? carve_model_reload_vm(ctx->model, ctx->db, vm, err)
			: 0;
	if (r >= 0)
		reread_acted(ctx);
	return r;
}

/* Steps 2 and 3 for the VMs of v placed here: their devices created (the
 * model open to readers meanwhile), the ones made confirmed in one
 * transaction; a VM whose act fails is undone alone, its error recorded on
 * it when a requester on another host waits for it (handed). */
static int realize_here(struct carve_ctx *ctx, struct started_vm *v, size_t n, bool handed, struct carve_error *err)
{
	carve_model_unlock(ctx->model);
	for (size_t i = 0; i < n; i++) {
		v[i].ok = v[i].live && acts_here(ctx, v[i].target) && create_devices(ctx, &v[i].it, &v[i].err) >= 0;
		if (v[i].live && !v[i].ok)
			remove_created(ctx, &v[i].it); /* devices first, then the reservation */
	}
	relock(ctx);
	for (size_t i = 0; i < n; i++)
		if (v[i].live && !v[i].ok && acts_here(ctx, v[i].target)) {
			failed(ctx, v[i].vm, true, handed, &v[i].err);
			v[i].live = false;
		}
	int r = confirm_made(ctx, v, n, false, err);
	for (size_t i = 0; i < n; i++) {
		if (!v[i].ok)
			continue;
		if (r < 0) { /* reconcile rolls the unconfirmed starts back */
			v[i].live = v[i].ok = false;
			carve_error_reset(&v[i].err, err->code, err->id, "%s", err->message);
			carve_model_reload_vm(ctx->model, ctx->db, v[i].vm, NULL);
		} else if (started_here(ctx, v[i].vm, &v[i].it, &v[i].err) < 0) {
			v[i].live = v[i].ok = false;
		}
	}
	return r;
}

void carve_ops_vm_start_many(struct carve_ctx *ctx, const char *verb, enum carve_power_state from,
			     struct carve_call *calls, json_t *const *args, size_t n)
{
	_cleanup_free_ struct started_vm *v = calloc(n ? n : 1, sizeof(*v));
	if (!v || n > CARVE_REALIZE_BATCH) {
		for (size_t i = 0; i < n; i++)
			if (calls[i].r >= 0)
				calls[i].r = carve_error_set(&calls[i].err, v ? -E2BIG : -ENOMEM,
							     v ? "INTERNAL_ERROR" : "OUT_OF_MEMORY",
							     v ? "too many starts at once" : "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (calls[i].r < 0)
			continue;
		int r = vm_verb_args(ctx, args[i], verb, v[i].vm, &calls[i].err);
		if (r >= 0)
			r = carve_arg_str(args[i], "on", false, &v[i].on, &calls[i].err);
		calls[i].r = r < 0 ? r : 0;
		v[i].live = r >= 0;
	}
	struct carve_error e = {0};
	start_intents(ctx, v, n, verb, from);
	realize_here(ctx, v, n, false, &e); /* each VM has its own error */
	for (size_t i = 0; i < n; i++) {
		struct carve_call *c = &calls[i];
		if (c->r < 0)
			continue;
		if (!v[i].live) {
			c->r = v[i].err.code < 0 ? v[i].err.code : -EIO;
			carve_error_reset(&c->err, c->r, v[i].err.id, "%s", v[i].err.message);
		} else if (!v[i].ok) { /* 2, 3 on the chosen host, by its carved (carve_ops_realize) */
			c->r = CARVE_CALL_WAIT;
			carve_strlcpy(c->vm, v[i].vm, sizeof(c->vm));
			carve_strlcpy(c->target, v[i].target, sizeof(c->target));
		} else if (!(c->result = start_result(v[i].vm, &v[i].it, &c->err))) {
			c->r = carve_error_isset(&c->err) ? c->err.code : -ENOMEM;
		}
	}
}

int carve_ops_vm_start_wait(struct carve_ctx *ctx, const char *vm, const char *target, json_t **result,
			    struct carve_error *err)
{
	int r = carve_pool_wait(ctx, vm, target, CARVE_POWER_STARTING, err);
	return r < 0 ? r : started(ctx, vm, result, err);
}

/* vm-start, and vm-resume of a VM that lost its reservation: `from` the
 * power state the VM must be in.  A batch of one. */
static int start_vm(struct carve_ctx *ctx, json_t *args, const char *verb, enum carve_power_state from,
		    json_t **result, struct carve_error *err)
{
	struct carve_call call = {.args = args};
	carve_ops_vm_start_many(ctx, verb, from, &call, &args, 1);
	if (call.r == CARVE_CALL_WAIT)
		call.r = carve_ops_vm_start_wait(ctx, call.vm, call.target, &call.result, &call.err);
	if (call.r < 0) {
		carve_error_reset(err, call.r, call.err.id, "%s", call.err.message);
		return call.r;
	}
	*result = call.result;
	return 0;
}

int carve_op_vm_start(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	return start_vm(ctx, args, "vm-start", CARVE_POWER_HALTED, result, err);
}

/* vm-suspend: libvirt saved the VM (virsh managedsave); its vGPUs stay
 * where they are, devices and capacity, so that it resumes there.  Only
 * the store changes. */
int carve_op_vm_suspend(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char vm[37];
	struct carve_obj_vm *obj;
	int r = carve_arg_uuid(args, "uuid", true, vm, err);
	if (r < 0 || (r = carve_ops_vm_lock_begin(ctx, vm, "vm-suspend", 1u << CARVE_POWER_RUNNING, &obj, err)) < 0)
		return r;
	if (obj->migration != CARVE_MIGRATION_NONE) {
		r = carve_ops_vm_migrating(ctx, obj, "vm-suspend", err);
		carve_db_rollback(ctx->db);
		return r;
	}
	r = carve_repo_vm_set_power(ctx->db, vm, CARVE_POWER_SUSPENDED, obj->resident_on ? obj->resident_on->uuid : NULL,
				    err);
	if (r >= 0)
		r = carve_pool_note_vm(ctx, vm, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	*result = json_pack("{s:s, s:s}", "vm", vm, "power-state", "suspended");
	return *result ? 0 : -ENOMEM;
}

/* vm-resume: a suspended VM that kept its reservation runs again where its
 * vGPUs are (the answer is vm-start's); one whose reservation was freed
 * (its host declared dead) is placed again as vm-start places (on= pins a
 * host).  A resume refused at placement leaves it suspended. */
int carve_op_vm_resume(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char vm[37];
	struct carve_obj_vm *obj;
	struct items it;
	int r = vm_verb_args(ctx, args, "vm-resume", vm, err);
	if (r < 0 || (r = carve_ops_vm_lock_begin(ctx, vm, "vm-resume", 1u << CARVE_POWER_SUSPENDED, &obj, err)) < 0)
		return r;
	bool kept = obj->resident_on != NULL;
	for (uint32_t i = 0; i < obj->n_vgpus; i++)
		kept &= obj->vgpus[i]->resident != NULL;
	if (!kept) {
		carve_db_rollback(ctx->db);
		return start_vm(ctx, args, "vm-resume", CARVE_POWER_SUSPENDED, result, err);
	}
	const struct carve_obj_host *h = obj->resident_on;
	if (strcmp(h->uuid, ctx->host_uuid) != 0 && !carve_model_host_live(ctx->model, h)) {
		r = carve_pool_host_offline(ctx, h, err);
		carve_db_rollback(ctx->db);
		return r;
	}
	r = load_items(obj, &it, err);
	if (r >= 0)
		r = carve_repo_vm_set_power(ctx->db, vm, CARVE_POWER_RUNNING, h->uuid, err);
	if (r >= 0)
		r = carve_pool_note_vm(ctx, vm, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	*result = start_result(vm, &it, err);
	return *result ? 0 : (carve_error_isset(err) ? err->code : -ENOMEM);
}

/* Remove the devices of a VM's vGPUs; -ENOENT (already gone) counts as done. */
static int remove_devices(struct carve_ctx *ctx, struct items *it, struct carve_error *err)
{
	int ret = 0;
	for (size_t i = 0; i < it->n; i++) {
		if (!it->v[i].pgpu[0])
			continue;
		struct carve_vgpu_spec spec;
		spec_of(&it->v[i], &spec);
		int r = ctx->host->ops->vgpu_remove(ctx->host, &spec, &it->v[i].where, err);
		if (r < 0 && r != -ENOENT && ret == 0)
			ret = r;
	}
	if (ret == 0)
		carve_error_clear(err);
	return ret;
}

/* The devices of it are gone: say so - a shutdown's VM released and
 * halted, or a migration's other side (peer) forgotten - with the
 * driver's counts. */
static int confirm_removed(struct carve_ctx *ctx, const char *vm, struct items *it, bool peer,
			   struct carve_error *err)
{
	int r = carve_ops_begin_shared(ctx, err);
	if (r < 0)
		return r;
	r = peer ? carve_repo_vm_migration_clear(ctx->db, vm, err) : carve_ops_vm_release(ctx, vm, err);
	if (r >= 0)
		r = note_store(ctx, it, +1, err);
	if (r >= 0)
		r = carve_pool_note_vm(ctx, vm, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0)
		return r;
	return acted(ctx, vm, it, false, err);
}

/* The act and confirm of a shutdown this host took up: remove the devices,
 * then release.  A failed removal leaves the VM stopping (host-reconcile
 * retries) with the error recorded. */
static int realize_stop(struct carve_ctx *ctx, const char *vm, struct items *it, bool handed,
			struct carve_error *err)
{
	carve_model_unlock(ctx->model);
	int r = remove_devices(ctx, it, err);
	relock(ctx);
	if (r < 0) {
		if (!handed)
			return r;
		failed(ctx, vm, false, true, err);
		return r; /* stays 'stopping'; host-reconcile retries */
	}
	return confirm_removed(ctx, vm, it, false, err);
}

int carve_op_vm_shutdown(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char vm[37], host[37] = "";
	struct carve_obj_vm *obj;
	struct items it;
	int r = vm_verb_args(ctx, args, "vm-shutdown", vm, err);
	if (r < 0)
		return r;
	if ((r = carve_ops_vm_lock_begin(ctx, vm, "vm-shutdown",
					 1u << CARVE_POWER_RUNNING | 1u << CARVE_POWER_STOPPING | 1u << CARVE_POWER_SUSPENDED,
					 &obj,
				 err)) < 0)
		return r;
	if (obj->migration != CARVE_MIGRATION_NONE) {
		r = carve_ops_vm_migrating(ctx, obj, "vm-shutdown", err);
		carve_db_rollback(ctx->db);
		return r;
	}
	if (obj->resident_on)
		carve_strlcpy(host, obj->resident_on->uuid, sizeof(host));
	bool here = !host[0] || strcmp(host, ctx->host_uuid) == 0;
	/* Another host's VM: only its live carved can remove the devices. */
	if (!here && !carve_model_host_live(ctx->model, obj->resident_on)) {
		r = carve_pool_host_offline(ctx, obj->resident_on, err);
		carve_db_rollback(ctx->db);
		return r;
	}
	r = load_items(obj, &it, err);
	if (r >= 0)
		r = carve_repo_vm_vgpus_set_state(ctx->db, vm, CARVE_VGPU_STOPPING, err);
	if (r >= 0)
		r = set_between(ctx, vm, CARVE_POWER_STOPPING, host[0] ? host : NULL, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	if (!here)
		r = carve_pool_wait(ctx, vm, host, CARVE_POWER_STOPPING, err);
	else
		r = realize_stop(ctx, vm, &it, false, err);
	if (r < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_ops_vm_migrating(struct carve_ctx *ctx, const struct carve_obj_vm *vm, const char *verb,
			   struct carve_error *err)
{
	const struct carve_obj_host *peer = carve_model_host(ctx->model, vm->migration_peer);
	return carve_error_set(err, -EBUSY, "VM_MIGRATING",
			       "VM %s is migrating (%s, on host %s): %s waits until vm-migrate-confirm or "
			       "vm-migrate-abort uuid=%s ends it",
			       vm->uuid, carve_migration_name(vm->migration), peer ? peer->name_label : "?", verb, vm->uuid);
}

/* ---- a migration's acts on the host named migration_peer ----
 *
 * preparing (the destination): create the devices with the same UUIDs and
 *   vgpu_params, then confirm 'prepared' - or remove what was made and
 *   forget the migration, the error recorded for the requester;
 * releasing (the source, the VM now runs on the destination) and aborting
 *   (the destination, the move given up): remove this side's devices, then
 *   forget the other side.  A removal that fails leaves the phase claimed
 *   by this host with the error recorded; host-reconcile retries it.
 * The VM runs where resident_on says throughout: nothing here touches it. */

/* Forget the migration, the error recorded on the VM (best effort: the
 * act's own error is what the caller returns). */
static void migration_failed(struct carve_ctx *ctx, const char *vm, const struct carve_error *err)
{
	_cleanup_free_ char *why = carve_strdupf("%s: %s", err->id, err->message);
	if (carve_ops_begin_shared(ctx, NULL) < 0)
		return;
	int r = carve_repo_vm_migration_clear(ctx->db, vm, NULL);
	if (r >= 0)
		r = carve_repo_vm_set_error(ctx->db, vm, why, NULL);
	if (r >= 0)
		r = carve_pool_note_vm(ctx, vm, NULL);
	if (carve_ops_end(ctx, r, NULL) >= 0)
		carve_model_reload_vm(ctx->model, ctx->db, vm, NULL);
}

static int realize_prepare(struct carve_ctx *ctx, const char *vm, struct items *it, struct carve_error *err)
{
	carve_model_unlock(ctx->model);
	int r = create_devices(ctx, it, err);
	if (r >= 0)
		carve_crash_point("migrate-prepare-created");
	else
		remove_created(ctx, it);
	relock(ctx);
	if (r < 0) {
		migration_failed(ctx, vm, err);
		return r;
	}
	struct started_vm one = {.it = *it, .ok = true};
	carve_strlcpy(one.vm, vm, sizeof(one.vm));
	if ((r = confirm_made(ctx, &one, 1, true, err)) < 0)
		return r; /* still preparing, claimed here: host-reconcile rolls it back */
	*it = one.it; /* with the counts noted */
	carve_crash_point("migrate-prepared");
	return acted(ctx, vm, it, true, err);
}

static int realize_drop(struct carve_ctx *ctx, const char *vm, struct items *it, enum carve_migration phase,
			struct carve_error *err)
{
	carve_model_unlock(ctx->model);
	int r = remove_devices(ctx, it, err);
	if (r >= 0)
		carve_crash_point(phase == CARVE_MIGRATION_RELEASING ? "migrate-release-removed" : "migrate-abort-removed");
	relock(ctx);
	if (r < 0) {
		failed(ctx, vm, false, true, err);
		return r; /* the phase stays claimed here; host-reconcile retries */
	}
	return confirm_removed(ctx, vm, it, true, err);
}

/* In the claim's transaction: a VF for each VF-backed item the requester
 * could not choose one for (another host's VFs), recorded as a start's
 * reservation or (peer) a migration destination's device. */
static int reserve_vfs(struct carve_ctx *ctx, struct items *it, bool peer, struct carve_error *err)
{
	int r = 0;
	for (size_t i = 0; r >= 0 && i < it->n; i++) {
		struct item *x = &it->v[i];
		if (!vf_impl(x->impl) || x->where.device_pci[0])
			continue;
		choose_vf(ctx, it, i, x->where.device_pci);
		r = peer ? carve_repo_vgpu_schedule_peer(ctx->db, x->vgpu, x->pgpu, x->where.device_pci, err)
			 : carve_repo_vgpu_reserve(ctx->db, x->vgpu, x->pgpu, x->where.device_pci, err);
	}
	return r;
}

/* Take up what another host left to this one: a start or shutdown placed
 * here, or a migration's phase this host acts in.  Claim it (for a start,
 * or a migration's destination, recording the VFs it will use, which only
 * this host can choose), then act and confirm as a local one would. */
int carve_ops_realize(struct carve_ctx *ctx, const char *vm, struct carve_error *err)
{
	bool claimed = false, peer = false;
	struct items it;
	const struct carve_obj_vm *obj = NULL;
	int r = carve_ops_begin_shared(ctx, err);
	if (r < 0)
		return r;
	r = carve_repo_vm_claim(ctx->db, vm, ctx->host_uuid, &claimed, err);
	if (r >= 0 && claimed && (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) >= 0 &&
	    (obj = carve_model_vm(ctx->model, vm))) {
		peer = obj->migration != CARVE_MIGRATION_NONE && strcmp(obj->migration_peer, ctx->host_uuid) == 0;
		bool making = peer ? obj->migration == CARVE_MIGRATION_PREPARING : obj->power == CARVE_POWER_STARTING;
		r = load_side(obj, peer, &it, err);
		if (r >= 0 && making)
			r = reserve_vfs(ctx, &it, peer, err);
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0) {
		carve_model_reload_vm(ctx->model, ctx->db, vm, NULL);
		return r;
	}
	if (!claimed || !obj)
		return 0; /* not this host's to do, or taken up already */
	enum carve_migration phase = obj->migration;
	bool starting = obj->power == CARVE_POWER_STARTING;
	if ((r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	if (peer)
		return phase == CARVE_MIGRATION_PREPARING ? realize_prepare(ctx, vm, &it, err)
							  : realize_drop(ctx, vm, &it, phase, err);
	if (!starting)
		return realize_stop(ctx, vm, &it, true, err);
	struct started_vm one = {.it = it, .live = true};
	carve_strlcpy(one.vm, vm, sizeof(one.vm));
	carve_strlcpy(one.target, ctx->host_uuid, sizeof(one.target));
	if ((r = realize_here(ctx, &one, 1, true, err)) >= 0 && !one.ok)
		r = carve_error_reset(err, one.err.code, one.err.id, "%s", one.err.message);
	return r;
}

/* The last item of the acted VMs in prior on x's PGPU and type, if any. */
static const struct item *prior_item(const struct started_vm *prior, size_t n_prior, const struct item *x)
{
	for (size_t i = n_prior; i-- > 0;)
		for (size_t k = prior[i].ok ? prior[i].it.n : 0; k-- > 0;)
			if (strcmp(prior[i].it.v[k].pgpu, x->pgpu) == 0 && strcmp(prior[i].it.v[k].type, x->type) == 0)
				return &prior[i].it.v[k];
	return NULL;
}

static int claim_starts(struct carve_ctx *ctx, struct started_vm *v, size_t *n, struct carve_error *err)
{
	*n = 0;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_ops_begin_shared(ctx, err);
	if (r < 0)
		return r;
	r = carve_repo_vm_claim_starts(ctx->db, ctx->host_uuid, CARVE_REALIZE_BATCH, &rows, err);
	/* read again in one round trip (the claim holds their rows already) */
	const char *claimed[CARVE_REALIZE_BATCH];
	bool found[CARVE_REALIZE_BATCH];
	size_t n_claimed = 0;
	for (size_t i = 0; r >= 0 && i < rows->nrows && n_claimed < CARVE_REALIZE_BATCH; i++)
		claimed[n_claimed++] = carve_rows_get(rows, i, "uuid");
	if (r >= 0)
		r = carve_model_lock_reload_vms(ctx->model, ctx->db, claimed, n_claimed, found, err);
	for (size_t i = 0; r >= 0 && i < n_claimed; i++) {
		struct started_vm *x = &v[*n];
		memset(x, 0, sizeof(*x));
		carve_strlcpy(x->vm, claimed[i], sizeof(x->vm));
		const struct carve_obj_vm *obj = carve_model_vm(ctx->model, x->vm);
		if (!obj)
			continue;
		(*n)++;
		x->live = true;
		carve_strlcpy(x->target, ctx->host_uuid, sizeof(x->target));
		if ((r = load_items(obj, &x->it, err)) < 0 || (r = reserve_vfs(ctx, &x->it, false, err)) < 0)
			break;
		/* the VFs chosen, in the model: the next VM's choice skips them */
		if (mirror(ctx, x->vm, &x->it, CARVE_POWER_STARTING, ctx->host_uuid, ctx->host_uuid, false,
			   CARVE_VGPU_RESERVED) < 0 &&
		    (r = carve_model_reload_vm(ctx->model, ctx->db, x->vm, err)) < 0)
			break;
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0) {
		for (size_t i = 0; i < *n; i++)
			carve_model_reload_vm(ctx->model, ctx->db, v[i].vm, NULL);
		*n = 0;
	}
	return r;
}

int carve_ops_realize_starts(struct carve_ctx *ctx, size_t *done, struct carve_error *err)
{
	*done = 0;
	_cleanup_free_ struct started_vm *v = calloc(CARVE_REALIZE_BATCH, sizeof(*v));
	size_t n = 0;
	if (!v)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int r = claim_starts(ctx, v, &n, err);
	if (r < 0 || n == 0)
		return r;
	r = realize_here(ctx, v, n, true, err);
	for (size_t i = 0; i < n; i++)
		*done += v[i].ok;
	return r;
}

/* ---- reconcile ---- */


static const struct carve_hw_vf *find_vf(const struct carve_hw_inventory *inv, const char *pci)
{
	for (size_t g = 0; inv && pci[0] && g < inv->n_gpus; g++)
		for (size_t v = 0; v < inv->gpus[g].n_vfs; v++)
			if (strcmp(inv->gpus[g].vfs[v].pci, pci) == 0)
				return &inv->gpus[g].vfs[v];
	return NULL;
}

/* An interrupted start's VF (recorded by the intent, see choose_vf) is in
 * use: it is this vGPU's only if no other vGPU names it (a start that let the
 * backend choose may have taken it after this one's kill) and, NVIDIA, it
 * carries this vGPU's type.  Otherwise it is not removed. */
static bool vf_is_ours(struct carve_ctx *ctx, const struct item *it)
{
	const struct carve_hw_vf *vf = find_vf(ctx->inv, it->where.device_pci);
	if (!vf || !vf->in_use)
		return false;
	if (it->impl == CARVE_IMPL_NVIDIA_SRIOV && strcmp(vf->current_type, it->identifier) != 0)
		return false;
	return !vf_claimed(ctx, it->where.device_pci, it->vgpu);
}

/* Does the host still carry this vGPU's device? */
static bool item_present(const struct carve_hw_inventory *inv, const struct item *it)
{
	if (mdev_impl(it->impl))
		return carve_hw_inventory_find_dev(inv, it->vgpu, NULL) != NULL;
	if (it->impl == CARVE_IMPL_PASSTHROUGH)
		return true; /* a whole GPU cannot vanish from under a VM short of a reboot */
	const struct carve_hw_vf *vf = find_vf(inv, it->where.device_pci);
	return vf && vf->in_use;
}

/* An interrupted act's devices, removed: those present that are its own
 * (a VF only when vf_is_ours; never a whole passthrough GPU). */
static void remove_interrupted(struct carve_ctx *ctx, struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		if (item_present(ctx->inv, &it->v[i]) && it->v[i].impl != CARVE_IMPL_PASSTHROUGH)
			it->v[i].created = !vf_impl(it->v[i].impl) || vf_is_ours(ctx, &it->v[i]);
	remove_created(ctx, it);
}

/* The VF a lost VF-backed vGPU is made again on: its own when free (the
 * old one may not be), else a free one that no other vGPU names - another
 * lost vGPU's, which that one will take back; "" when there is none (no VF
 * enabled: the backend enables them and picks). */
static void recreate_vf(struct carve_ctx *ctx, const struct item *x, char out[13])
{
	out[0] = '\0';
	const struct carve_hw_gpu *g = vf_impl(x->impl) ? carve_hw_inventory_find(ctx->inv, x->pgpu_pci) : NULL;
	const struct carve_hw_vf *own = g ? find_vf(ctx->inv, x->where.device_pci) : NULL;
	if (own && !own->in_use) {
		carve_strlcpy(out, own->pci, 13);
		return;
	}
	for (size_t v = 0; g && v < g->n_vfs; v++)
		if (!g->vfs[v].in_use && !vf_claimed(ctx, g->vfs[v].pci, x->vgpu)) {
			carve_strlcpy(out, g->vfs[v].pci, 13);
			return;
		}
}

static void act(json_t *actions, const char *what, const char *vm, const char *vgpu, const char *detail)
{
	json_array_append_new(actions, json_pack("{s:s, s:s, s:s, s:s}", "action", what, "vm", vm ? vm : "", "vgpu",
						 vgpu ? vgpu : "", "detail", detail ? detail : ""));
}

static int reconcile_vm(struct carve_ctx *ctx, const char *vm, json_t *actions, struct carve_error *err)
{
	const struct carve_obj_vm *obj = carve_model_vm(ctx->model, vm);
	if (!obj)
		return 0;
	enum carve_power_state st = obj->power;
	struct items it;
	int r = load_items(obj, &it, err);
	if (r < 0)
		return r;
	/* A PGPU discovery could not read, or did not see at all (a read that
	 * failed may have hidden it: its class, its link to a VF), says
	 * nothing about its devices: what looks lost may be running, and a
	 * device recreated elsewhere would leave the running one an orphan.
	 * Leave the VM as it is until its PGPUs read. */
	for (size_t i = 0; i < it.n; i++) {
		if (!it.v[i].pgpu_pci[0])
			continue;
		const struct carve_hw_gpu *g = carve_hw_inventory_find(ctx->inv, it.v[i].pgpu_pci);
		if (!g || g->broken) {
			const struct carve_hw_problem *p = g ? carve_hw_gpu_find_problem(g, NULL) : NULL;
			_cleanup_free_ char *why =
				g ? carve_strdupf("%s: discovery problem: %s", g->pci, p ? p->message : "")
				  : carve_strdupf("%s: not seen by this discovery", it.v[i].pgpu_pci);
			act(actions, "deferred", vm, it.v[i].vgpu, why);
			return 0;
		}
	}
	if (carve_power_state_between(st) && !obj->claimed_by[0]) {
		/* Another host placed it here and no agent took it up yet: do it
		 * now, as this host's carved would on the hand-over. */
		struct carve_error e2 = {0};
		r = carve_ops_realize(ctx, vm, &e2);
		act(actions, r < 0 ? "hand-over-failed" : st == CARVE_POWER_STARTING ? "realized-start" : "realized-shutdown",
		    vm, NULL, r < 0 ? e2.message : NULL);
		return 0;
	}
	if (carve_power_state_between(st)) {
		/* An unacknowledged start is rolled back; a shutdown is finished. */
		remove_interrupted(ctx, &it);
		if ((r = carve_ops_begin(ctx, err)) < 0 || (r = carve_ops_end(ctx, carve_ops_vm_release(ctx, vm, err), err)) < 0 ||
		    (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
			return r;
		act(actions, st == CARVE_POWER_STARTING ? "rolled-back-start" : "finished-shutdown", vm, NULL, NULL);
		return 0;
	}
	for (size_t i = 0; i < it.n; i++) {
		struct item *x = &it.v[i];
		struct carve_vgpu_spec spec;
		spec_of(x, &spec);
		if (!item_present(ctx->inv, x)) {
			/* lost with a reboot: recreate with the same identity and params */
			struct carve_error e2 = {0};
			recreate_vf(ctx, x, spec.vf_pci);
			const struct carve_hw_gpu *known = carve_hw_inventory_find(ctx->inv, x->pgpu_pci);
			r = ctx->host->ops->vgpu_create(ctx->host, known, &spec, &x->where, &e2);
			if (r >= 0 && x->extra[0] && ctx->host->ops->vgpu_set_params)
				r = ctx->host->ops->vgpu_set_params(ctx->host, &x->where, x->extra, &e2);
			if (r < 0) {
				act(actions, "recreate-failed", vm, x->vgpu, e2.message);
				continue;
			}
			/* The inventory is this look's: a VF handed out now is in use
			 * for the next lost vGPU's create, which picks from it. */
			struct carve_hw_vf *taken = (struct carve_hw_vf *)find_vf(ctx->inv, x->where.device_pci);
			if (taken)
				taken->in_use = true;
			if (carve_ops_begin(ctx, NULL) >= 0 &&
			    carve_ops_end(ctx, carve_repo_vgpu_set_device_pci(ctx->db, x->vgpu, x->where.device_pci, NULL),
					  NULL) >= 0)
				carve_model_reload_vm(ctx->model, ctx->db, vm, NULL);
			act(actions, "recreated", vm, x->vgpu, x->pgpu_pci);
			continue;
		}
		const struct carve_hw_dev *d = mdev_impl(x->impl) ? carve_hw_inventory_find_dev(ctx->inv, x->vgpu, NULL) : NULL;
		if (d && x->extra[0] && strcmp(d->params, x->extra) != 0 && ctx->host->ops->vgpu_set_params) {
			struct carve_error e2 = {0};
			if (ctx->host->ops->vgpu_set_params(ctx->host, &x->where, x->extra, &e2) >= 0)
				act(actions, "params-restored", vm, x->vgpu, x->extra);
		}
	}
	return 0;
}

/* A migration this host acts in, after a restart: what was taken up and
 * not finished is rolled back (preparing: the devices made are removed) or
 * finished (releasing, aborting); what no one took up is taken up now; a
 * prepared one whose devices are gone (a reboot) is given up - the VM
 * still runs on its source. */
static int reconcile_migration(struct carve_ctx *ctx, const char *vm, json_t *actions, struct carve_error *err)
{
	const struct carve_obj_vm *obj = carve_model_vm(ctx->model, vm);
	if (!obj || obj->migration == CARVE_MIGRATION_NONE || strcmp(obj->migration_peer, ctx->host_uuid) != 0)
		return 0;
	enum carve_migration phase = obj->migration;
	struct items it;
	int r = load_side(obj, true, &it, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < it.n; i++)
		if (it.v[i].pgpu_pci[0] && !carve_hw_inventory_find(ctx->inv, it.v[i].pgpu_pci)) {
			act(actions, "deferred", vm, it.v[i].vgpu, "a PGPU of the migration is not seen by this discovery");
			return 0;
		}
	if (!obj->claimed_by[0] && phase != CARVE_MIGRATION_PREPARED) {
		struct carve_error e2 = {0};
		r = carve_ops_realize(ctx, vm, &e2);
		act(actions, r < 0 ? "hand-over-failed" : "realized-migration", vm, NULL,
		    r < 0 ? e2.message : carve_migration_name(phase));
		return 0;
	}
	bool lost = false;
	for (size_t i = 0; i < it.n; i++)
		if (!item_present(ctx->inv, &it.v[i]))
			lost = true;
	if (phase == CARVE_MIGRATION_PREPARED && !lost)
		return 0;
	if (phase == CARVE_MIGRATION_RELEASING || phase == CARVE_MIGRATION_ABORTING) {
		carve_model_unlock(ctx->model);
		r = remove_devices(ctx, &it, err);
		relock(ctx);
		if (r < 0 || (r = confirm_removed(ctx, vm, &it, true, err)) < 0)
			return r;
		act(actions, "finished-migration", vm, NULL, carve_migration_name(phase));
		return 0;
	}
	/* preparing, taken up here and cut short; or prepared and lost */
	remove_interrupted(ctx, &it);
	struct carve_error why = {0};
	carve_error_set(&why, -EIO, "MIGRATION_FAILED",
			phase == CARVE_MIGRATION_PREPARING
				? "host %s restarted while it prepared the migration; the VM still runs on its source"
				: "host %s lost the devices it prepared (a restart); the VM still runs on its source",
			ctx->hostname ? ctx->hostname : ctx->host_uuid);
	migration_failed(ctx, vm, &why);
	act(actions, "rolled-back-migration", vm, NULL, why.message);
	return 0;
}

/* Add p's PCI address (copied) to the GPUs reconcile reads again, once. */
static void note_pci(const char **pci, size_t *n, size_t max, const struct carve_obj_pgpu *p)
{
	bool seen = !p || *n == max;
	for (size_t j = 0; j < *n && !seen; j++)
		seen = strcmp(pci[j], carve_pgpu_place(p)->pci) == 0;
	if (!seen)
		pci[(*n)++] = strdup(carve_pgpu_place(p)->pci);
}

int carve_op_host_reconcile(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	(void)args;
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "host-reconcile needs a host (drop --no-discover)");
	/* One look at the whole host: converging needs what is there now. */
	carve_model_unlock(ctx->model);
	int r = carve_ops_refresh(ctx, err);
	relock(ctx);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *actions = json_array();
	/* The VMs this host runs or is between states with, by UUID. */
	_cleanup_free_ char **vms = calloc(ctx->model->vms.n + 1, sizeof(*vms));
	size_t n = 0;
	if (!vms || !actions)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	carve_model_each(ctx->model, vms, struct carve_obj_vm, vm)
		if (vm->power != CARVE_POWER_HALTED && vm->resident_on && strcmp(vm->resident_on->uuid, ctx->host_uuid) == 0)
			if (!(vms[n++] = strdup(vm->uuid)))
				r = -ENOMEM;
	qsort(vms, n, sizeof(*vms), cmp_str);
	/* The GPUs reconcile acts on are read again before orphans are named:
	 * a rolled-back start's VF was in use at the first look and is free now,
	 * with no vGPU naming it any more (found by tests/crash). */
	const char *pci[64];
	size_t n_pci = 0;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct carve_obj_vm *vm = carve_model_vm(ctx->model, vms[i]);
		for (uint32_t k = 0; vm && k < vm->n_vgpus; k++)
			note_pci(pci, &n_pci, ARRAY_SIZE(pci),
				 vm->vgpus[k]->resident ? vm->vgpus[k]->resident : vm->vgpus[k]->scheduled);
		r = reconcile_vm(ctx, vms[i], actions, err);
	}
	for (size_t i = 0; i < n; i++)
		free(vms[i]);
	/* The migrations this host acts in (their VMs run elsewhere). */
	n = 0;
	carve_model_each(ctx->model, vms, struct carve_obj_vm, vm)
		if (r >= 0 && vm->migration != CARVE_MIGRATION_NONE && strcmp(vm->migration_peer, ctx->host_uuid) == 0)
			if (!(vms[n++] = strdup(vm->uuid)))
				r = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct carve_obj_vm *vm = carve_model_vm(ctx->model, vms[i]);
		for (uint32_t k = 0; r >= 0 && vm && k < vm->n_vgpus; k++)
			note_pci(pci, &n_pci, ARRAY_SIZE(pci), vm->vgpus[k]->scheduled);
		if (r >= 0)
			r = reconcile_migration(ctx, vms[i], actions, err);
		free(vms[i]);
	}
	if (r >= 0 && n_pci > 0)
		r = carve_ops_rediscover_gpus(ctx, pci, n_pci, err);
	for (size_t i = 0; i < n_pci; i++)
		free((char *)pci[i]);
	/* Devices carve did not create: reported, never removed. */
	for (size_t g = 0; r >= 0 && g < ctx->inv->n_gpus; g++) {
		const struct carve_hw_gpu *gpu = &ctx->inv->gpus[g];
		for (size_t d = 0; d < gpu->n_devs; d++) {
			if (!gpu->devs[d].uuid[0] || carve_model_vgpu(ctx->model, gpu->devs[d].uuid))
				continue;
			char detail[160];
			snprintf(detail, sizeof(detail), "type %s on %s (carve vgpu-adopt uuid=%s vm-uuid=...)",
				 gpu->devs[d].type_id, gpu->devs[d].parent, gpu->devs[d].uuid);
			act(actions, "orphan", NULL, gpu->devs[d].uuid, detail);
		}
		for (size_t v = 0; v < gpu->n_vfs; v++)
			if (gpu->vfs[v].in_use && !vf_claimed(ctx, gpu->vfs[v].pci, NULL))
				act(actions, "orphan-vf", NULL, NULL, gpu->vfs[v].pci);
	}
	if (r < 0)
		return r;
	*result = json_pack("{s:O}", "actions", actions);
	return 0;
}

int carve_ops_vgpu_adopt_dev(struct carve_ctx *ctx, const char *uuid, const char *vm, struct carve_error *err)
{
	const struct carve_hw_gpu *gpu = NULL;
	const struct carve_hw_dev *d = carve_hw_inventory_find_dev(ctx->inv, uuid, &gpu);
	if (!d)
		return carve_error_set(err, -ENOENT, "DEVICE_NOT_FOUND", "no device %s on this host", uuid);
	if (carve_model_vgpu(ctx->model, uuid))
		return carve_error_set(err, -EEXIST, "UUID_ALREADY_EXISTS", "vGPU %s is already known to carve", uuid);
	const struct carve_hw_type *t = carve_hw_gpu_find_type(gpu, d->type_id);
	if (!t)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED", "device %s has unknown type %s", uuid,
				       d->type_id);
	char type_uuid[37];
	if (carve_type_uuid(t->impl, t->name, type_uuid) < 0)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED", "device %s: type name too long", uuid);
	const struct carve_obj_pgpu *p = carve_model_pgpu_at(ctx->model, ctx->host_uuid, gpu->pci);
	const struct carve_obj_vm *o = carve_model_vm(ctx->model, vm);
	if (!p || !o)
		return carve_ops_not_found("vm", vm, err);
	if (o->power != CARVE_POWER_HALTED && o->power != CARVE_POWER_RUNNING)
		return carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE", "VM %s is %s", vm, carve_power_state_name(o->power));
	uint32_t dev;
	int r = carve_vm_free_slot(o, &dev, err);
	if (r < 0)
		return r;
	struct carve_repo_vgpu v = {.uuid = uuid, .vm = vm, .type = type_uuid, .group = p->group ? p->group->uuid : NULL,
				    .device = dev, .extra_args = d->params, .state = CARVE_VGPU_RUNNING,
				    .origin = CARVE_ORIGIN_ADOPTED, .resident_on = p->uuid, .device_pci = d->parent};
	if ((r = carve_repo_vgpu_insert(ctx->db, &v, err)) < 0)
		return r;
	/* The device exists and is in use: the VM it belongs to is running here. */
	return carve_repo_vm_set_power(ctx->db, vm, CARVE_POWER_RUNNING, ctx->host_uuid, err);
}

int carve_op_vgpu_adopt(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37];
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 || (r = carve_arg_uuid(args, "vm-uuid", true, vm, err)) < 0)
		return r;
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "vgpu-adopt needs a host");
	/* A device made by hand since the last look: look at the host once. */
	if (!carve_hw_inventory_find_dev(ctx->inv, uuid, NULL)) {
		carve_model_unlock(ctx->model);
		r = carve_ops_refresh(ctx, err);
		relock(ctx);
		if (r < 0)
			return r;
	}
	if ((r = carve_ops_begin(ctx, err)) < 0 || (r = carve_ops_end(ctx, carve_ops_vgpu_adopt_dev(ctx, uuid, vm, err), err)) < 0 ||
	    (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}
