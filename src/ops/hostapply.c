/* hostapply.c - host-apply and host-config-get: a host configuration
 * (host/hostcfg.h, docs/host-config.md) compared with the host and brought
 * about in the order the hardware requires.
 *
 * The plan, per PGPU of this host in PCI order: the SR-IOV VF count first
 * (enabling VFs resets what hangs off them), then the enabled vGPU types.
 * It is refused whole, before anything changes, when a step would take a
 * VF from under a vGPU or a device carve did not create, or disable a type
 * that a vGPU on the PGPU is of; the error names every one.  Applying runs
 * the steps in order; when one fails, the completed ones are undone in
 * reverse order and the error says what failed and what was undone.  The
 * configuration is stored for the host once every step succeeded.  Errors:
 * HOST_CONFIG_INVALID (the file; a type or a PCI address no PGPU of this
 * host has), HOST_APPLY_REFUSED, HOST_APPLY_FAILED.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "host/host.h"
#include "host/hostcfg.h"
#include "host/vgpudm.h"
#include "model/catalog.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "verbs.h"
#include "vm.h"

/* In the order the hardware requires: enabling VFs resets the mode, and
 * the driver takes the mode only before the first vGPU. */
enum step_kind { STEP_MIG_MODE, STEP_VFS, STEP_MIXED, STEP_MIG_GIS, STEP_TYPES, STEP_PARAMS, STEP_SCHED };

static const char *const step_names[] = {[STEP_MIG_MODE] = "mig-mode",
					 [STEP_VFS] = "sriov-vfs",
					 [STEP_MIXED] = "mixed-size",
					 [STEP_MIG_GIS] = "mig-instances",
					 [STEP_TYPES] = "enabled-types",
					 [STEP_PARAMS] = "vgpu-params",
					 [STEP_SCHED] = "scheduler"};

struct step {
	enum step_kind kind;
	char pgpu[37], pci[13];
	uint32_t from_vfs, to_vfs;
	unsigned waited_ms; /* how long the new VFs took to appear */
	bool from_mixed, to_mixed;
	int8_t from_mig; /* -1: not known (not undone) */
	bool to_mig;
	struct carve_strv from_gis, to_gis;
	char from_params[256], to_params[256];
	bool has_from_sched; /* the file listed the GPU */
	struct carve_nvsched from_sched, to_sched;
	struct carve_strv from_types; /* type UUIDs enabled before */
	struct carve_strv to_names;   /* as the configuration names them */
	int line;                     /* of the configuration entry */
	enum { PLANNED, DONE, FAILED, UNDONE } state;
};

static const char *const state_names[] = {"planned", "done", "failed", "undone"};

struct plan {
	struct step *v;
	size_t n, cap;
	char modprobe_dir[256]; /* the host's, once a scheduler step needs it */
	struct carve_strv blockers; /* why the plan may not run, one line each */
};

static void plan_clear(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		carve_strv_clear(&p->v[i].from_types);
		carve_strv_clear(&p->v[i].to_names);
		carve_strv_clear(&p->v[i].from_gis);
		carve_strv_clear(&p->v[i].to_gis);
	}
	free(p->v);
	carve_strv_clear(&p->blockers);
	*p = (struct plan){0};
}

/* The model's 4-digit hex PCI id ("10de"). */
static uint16_t hex16(const char *s)
{
	uint32_t v = 0;
	return carve_parse_hex_u32(s, &v) == 0 && v <= 0xffff ? (uint16_t)v : 0;
}

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

static struct step *plan_add(struct plan *p, enum step_kind kind, const struct carve_obj_pgpu *g, int line)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct step *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->v = v;
		p->cap = cap;
	}
	struct step *s = &p->v[p->n++];
	*s = (struct step){.kind = kind, .line = line};
	snprintf(s->pgpu, sizeof(s->pgpu), "%s", g->uuid);
	snprintf(s->pci, sizeof(s->pci), "%s", carve_pgpu_place(g)->pci);
	return s;
}

static int block(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int block(struct plan *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return carve_strv_push(&p->blockers, line);
}

/* A vGPU as an operator knows it: with its VM's name and state. */
static void vgpu_label(const struct carve_obj_vgpu *v, char *buf, size_t size)
{
	snprintf(buf, size, "vGPU %s of %s VM '%s' (%s)", v->uuid, carve_power_state_name(v->vm->power),
		 v->vm->name_label, v->vm->uuid);
}

/* Does name, as an operator writes it, mean type t?  Its model name ("NVIDIA
 * L40S-24Q"), the part after the product prefix ("L40S-24Q") or the driver's
 * identifier ("1155", "nvidia-46"). */
static bool type_named(const struct carve_obj_type *t, const char *name)
{
	if (strcasecmp(t->model_name, name) == 0 || strcmp(t->identifier, name) == 0)
		return true;
	const char *sp = strrchr(t->model_name, ' ');
	return sp && strcasecmp(sp + 1, name) == 0;
}

/* The UUID of the type of PGPU g that name means, or NULL. */
static const char *resolve_type(struct carve_ctx *ctx, const struct carve_obj_pgpu *g, const char *name)
{
	const struct carve_place_pgpu *pl = carve_pgpu_place(g);
	for (size_t i = 0; i < pl->n_slots; i++) {
		const struct carve_obj_type *t = carve_model_type(ctx->model, pl->slots[i].type->uuid);
		if (t && !pl->slots[i].unsupported && type_named(t, name))
			return pl->slots[i].type->uuid;
	}
	return NULL;
}

/* The UUIDs of names on g into want, each once; *missing is the first
 * name g has no type for (NULL when none).  -ENOMEM or 0. */
static int resolve_types(struct carve_ctx *ctx, const struct carve_obj_pgpu *g, const struct carve_strv *names,
			 struct carve_strv *want, const char **missing)
{
	*missing = NULL;
	for (size_t i = 0; i < names->n; i++) {
		const char *u = resolve_type(ctx, g, names->v[i]);
		if (!u && !*missing)
			*missing = names->v[i];
		if (u && !carve_strv_contains(want, u) && carve_strv_push(want, u) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const char *type_name(struct carve_ctx *ctx, const char *uuid)
{
	const struct carve_obj_type *t = carve_model_type(ctx->model, uuid);
	return t ? t->model_name : uuid;
}

static int plan_vfs(struct carve_ctx *ctx, struct plan *p, const struct carve_obj_pgpu *g,
		    const struct carve_hostcfg_entry *e, const char *origin, struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	const struct carve_hw_gpu *hw = carve_hw_inventory_find(ctx->inv, pci);
	if (!hw)
		return block(p, "PGPU %s was not seen by this discovery: its VF count cannot be set", pci) < 0 ? oom(err) : 0;
	if (hw->sriov_totalvfs == 0) {
		if (e->select != CARVE_HOSTCFG_PCI)
			return 0; /* a wider selection means its SR-IOV GPUs */
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID", "%s:%d: sriov-vfs: %s is not an SR-IOV GPU",
				       origin, e->line, pci);
	}
	if (e->sriov_vfs > hw->sriov_totalvfs)
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID",
				       "%s:%d: sriov-vfs: %u VFs, but %s has at most %u (sriov_totalvfs)", origin, e->line,
				       e->sriov_vfs, pci, hw->sriov_totalvfs);
	if (e->sriov_vfs == hw->sriov_numvfs)
		return 0;
	/* The kernel takes VFs away (to 0 first) whenever the count changes:
	 * nothing may be on them. */
	for (size_t i = 0; i < hw->n_vfs; i++) {
		const struct carve_hw_vf *vf = &hw->vfs[i];
		if (!vf->in_use && strcmp(vf->driver, "vfio-pci") != 0)
			continue;
		char who[256] = "";
		for (uint32_t k = 0; k < g->n_vgpus && !who[0]; k++)
			if (strcmp(g->vgpus[k]->device_pci, vf->pci) == 0)
				vgpu_label(g->vgpus[k], who, sizeof(who));
		int r = who[0] ? block(p, "sriov-vfs %u -> %u on %s would take VF %s from %s", hw->sriov_numvfs,
				       e->sriov_vfs, pci, vf->pci, who)
			       : block(p, "sriov-vfs %u -> %u on %s would take VF %s from a device carve did not create "
					  "(driver %s)",
				       hw->sriov_numvfs, e->sriov_vfs, pci, vf->pci, vf->driver[0] ? vf->driver : "none");
		if (r < 0)
			return oom(err);
	}
	struct step *s = plan_add(p, STEP_VFS, g, e->line);
	if (!s)
		return oom(err);
	s->from_vfs = hw->sriov_numvfs;
	s->to_vfs = e->sriov_vfs;
	return 0;
}

static bool is_nvidia(enum carve_impl m)
{
	return m == CARVE_IMPL_NVIDIA_SRIOV || m == CARVE_IMPL_NVIDIA_MDEV;
}

/* A setting a GPU does not have: an error when the entry names that GPU by
 * address, skipped when a wider selection takes in GPUs of several kinds. */
static int not_for(const struct carve_hostcfg_entry *e, const char *origin, struct carve_error *err, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
static int not_for(const struct carve_hostcfg_entry *e, const char *origin, struct carve_error *err, const char *fmt,
		   ...)
{
	if (e->select != CARVE_HOSTCFG_PCI)
		return 0;
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID", "%s:%d: %s", origin, e->line, what);
}

/* The carve vGPU whose device on the host d is, or NULL. */
static const struct carve_obj_vgpu *vgpu_of_dev(const struct carve_obj_pgpu *g, const struct carve_hw_dev *d)
{
	for (uint32_t k = 0; k < g->n_vgpus; k++) {
		const struct carve_obj_vgpu *v = g->vgpus[k];
		if (d->uuid[0] ? strcmp(v->uuid, d->uuid) == 0 : strcmp(v->device_pci, d->parent) == 0)
			return v;
	}
	return NULL;
}

/* The driver takes a mode change only while no vGPU exists on the GPU:
 * each device there blocks it (what: "mixed-size off", ...). */
static int block_devices(struct plan *p, const struct carve_obj_pgpu *g, const struct carve_hw_gpu *hw,
			 const char *what, struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	size_t foreign = 0;
	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct carve_obj_vgpu *v = vgpu_of_dev(g, &hw->devs[i]);
		char who[256];
		if (!v) {
			foreign++;
			continue;
		}
		vgpu_label(v, who, sizeof(who));
		if (block(p, "%s for %s needs the GPU free of vGPUs, but it has %s", what, pci, who) < 0)
			return oom(err);
	}
	if (foreign && block(p, "%s for %s needs the GPU free of vGPUs, but it has %zu device(s) carve did not create",
			     what, pci, foreign) < 0)
		return oom(err);
	return 0;
}

/* The MIG slices of v's type (0: time-sliced). */
static unsigned vgpu_mig_slices(const struct carve_obj_vgpu *v, const struct carve_hw_gpu *hw)
{
	const struct carve_board *b = hw->board[0] ? carve_board_by_name(hw->board) : NULL;
	const struct carve_type_entry *t = b ? carve_catalog_type(b->short_name, v->type->identifier) : NULL;
	return t ? t->mig_slices : 0;
}

/* A running VM's vGPU must still be creatable after the change, whether
 * its device exists now or reconcile makes it again after a reboot (the
 * case of carved's start-up apply): fits() says whether it is. */
typedef bool (*fits_fn)(const struct carve_obj_vgpu *v, const struct carve_hw_gpu *hw, const void *arg);

static int block_stranded(struct plan *p, const struct carve_obj_pgpu *g, const struct carve_hw_gpu *hw,
			  const char *what, fits_fn fits, const void *arg, struct carve_error *err)
{
	for (uint32_t k = 0; k < g->n_vgpus; k++) {
		const struct carve_obj_vgpu *v = g->vgpus[k];
		if (v->vm->power == CARVE_POWER_HALTED || fits(v, hw, arg))
			continue;
		char who[256];
		vgpu_label(v, who, sizeof(who));
		if (block(p, "%s for %s would strand %s", what, carve_pgpu_place(g)->pci, who) < 0)
			return oom(err);
	}
	return 0;
}

/* MIG mode on: MIG-backed types only; off: time-sliced only. */
static bool fits_mig_mode(const struct carve_obj_vgpu *v, const struct carve_hw_gpu *hw, const void *arg)
{
	return (vgpu_mig_slices(v, hw) > 0) == *(const bool *)arg;
}

/* A layout of GPU instances: enough of each size for the running ones. */
struct layout {
	const struct carve_obj_pgpu *g;
	struct carve_hw_gi gis[CARVE_HW_MAX_GIS];
	uint8_t n;
};

static bool fits_layout(const struct carve_obj_vgpu *v, const struct carve_hw_gpu *hw, const void *arg)
{
	const struct layout *l = arg;
	unsigned want = vgpu_mig_slices(v, hw), have = 0, need = 0;
	for (uint8_t i = 0; i < l->n; i++)
		have += l->gis[i].slices == want;
	for (uint32_t k = 0; k < l->g->n_vgpus; k++)
		need += l->g->vgpus[k]->vm->power != CARVE_POWER_HALTED && vgpu_mig_slices(l->g->vgpus[k], hw) == want;
	return want > 0 && need <= have;
}

/* Mixed-size off: one type among the running vGPUs. */
static bool fits_one_type(const struct carve_obj_vgpu *v, const struct carve_hw_gpu *hw, const void *arg)
{
	(void)hw;
	const struct carve_obj_pgpu *g = arg;
	for (uint32_t k = 0; k < g->n_vgpus; k++)
		if (g->vgpus[k]->vm->power != CARVE_POWER_HALTED && g->vgpus[k]->type != v->type)
			return false;
	return true;
}

/* MIG: the mode before the VF count (the driver's order: MIG on, VFs,
 * GPU instances, types), the GPU instances after it (enabling VFs
 * destroys them).  *gis_step: a GPU instance step is due after the VFs. */
static int plan_mig_mode(struct carve_ctx *ctx, struct plan *p, const struct carve_obj_pgpu *g,
			 const struct carve_hostcfg_entry *e, const struct carve_hostcfg_entry *mixed, const char *origin,
			 struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	const struct carve_hw_gpu *hw = carve_hw_inventory_find(ctx->inv, pci);
	if (!hw)
		return block(p, "PGPU %s was not seen by this discovery: its MIG cannot be set", pci) < 0 ? oom(err) : 0;
	const struct carve_board *b = hw->board[0] ? carve_board_by_name(hw->board) : NULL;
	if (!carve_board_has_mig(b))
		return not_for(e, origin, err, "mig: %s (%s) has no MIG", pci,
			       hw->board[0] ? hw->board : carve_impl_name(hw->mechanism));
	struct carve_hw_gi gis[CARVE_HW_MAX_GIS];
	uint8_t n;
	struct carve_error e2 = {0};
	if (carve_mig_layout(b, pci, &e->mig, gis, &n, &e2) < 0)
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID", "%s:%d: mig: %s", origin, e->line, e2.message);
	if (e->mig.n > 0 && mixed && mixed->mixed)
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID",
				       "%s:%d: mixed-size mode and MIG exclude each other on %s (NVML refuses the mode "
				       "in MIG mode)",
				       origin, mixed->line, pci);
	bool want = e->mig.n > 0;
	if (hw->mig_mode == (want ? 1 : 0))
		return 0;
	const char *what = want ? "mig-mode on" : "mig-mode off";
	int r = block_devices(p, g, hw, what, err);
	if (r >= 0)
		r = block_stranded(p, g, hw, what, fits_mig_mode, &want, err);
	struct step *s = r < 0 ? NULL : plan_add(p, STEP_MIG_MODE, g, e->line);
	if (!s)
		return r < 0 ? r : oom(err);
	s->from_mig = hw->mig_mode;
	s->to_mig = want;
	return 0;
}

static int plan_mig_gis(struct carve_ctx *ctx, struct plan *p, const struct carve_obj_pgpu *g,
			const struct carve_hostcfg_entry *e, bool redo, struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	const struct carve_hw_gpu *hw = carve_hw_inventory_find(ctx->inv, pci);
	if (!hw || !carve_board_has_mig(hw->board[0] ? carve_board_by_name(hw->board) : NULL) || e->mig.n == 0)
		return 0; /* reported by plan_mig_mode; off has no instances */
	_cleanup_(carve_strv_clear) struct carve_strv now = {0};
	for (size_t i = 0; hw->mig_mode == 1 && i < hw->n_gis; i++)
		if (carve_strv_push(&now, hw->gis[i].profile) < 0)
			return oom(err);
	bool same = !redo && now.n == e->mig.n;
	for (size_t i = 0; same && i < now.n; i++)
		same = strcmp(now.v[i], e->mig.v[i]) == 0;
	if (same)
		return 0;
	struct layout l = {.g = g};
	struct carve_error ignore = {0};
	carve_mig_layout(carve_board_by_name(hw->board), pci, &e->mig, l.gis, &l.n, &ignore);
	if ((!redo && block_devices(p, g, hw, "mig-instances", err) < 0) ||
	    block_stranded(p, g, hw, "mig-instances", fits_layout, &l, err) < 0)
		return -ENOMEM;
	struct step *s = plan_add(p, STEP_MIG_GIS, g, e->line);
	if (!s)
		return oom(err);
	/* After the mode or the VFs change there are none to go back to. */
	if (!redo) {
		s->from_gis = now;
		now = (struct carve_strv){0};
	}
	for (size_t i = 0; i < e->mig.n; i++)
		if (carve_strv_push(&s->to_gis, e->mig.v[i]) < 0)
			return oom(err);
	return 0;
}

static int plan_mixed(struct carve_ctx *ctx, struct plan *p, const struct carve_obj_pgpu *g,
		      const struct carve_hostcfg_entry *e, bool vfs_change, const char *origin, struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	const struct carve_hw_gpu *hw = carve_hw_inventory_find(ctx->inv, pci);
	if (!hw)
		return block(p, "PGPU %s was not seen by this discovery: its mixed-size mode cannot be set", pci) < 0
			       ? oom(err)
			       : 0;
	if (!is_nvidia(hw->mechanism) || !hw->mixed_size_supported)
		return not_for(e, origin, err, "mixed-size: %s (%s) has no mixed-size (heterogeneous) mode", pci,
			       hw->board[0] ? hw->board : carve_impl_name(hw->mechanism));
	/* A VF count change resets the mode: it is off when this step runs. */
	bool now = vfs_change && hw->mechanism == CARVE_IMPL_NVIDIA_SRIOV ? false : hw->mixed_size;
	if (now == e->mixed)
		return 0;
	const char *what = e->mixed ? "mixed-size on" : "mixed-size off";
	if (block_devices(p, g, hw, what, err) < 0 ||
	    (!e->mixed && block_stranded(p, g, hw, what, fits_one_type, g, err) < 0))
		return -ENOMEM;
	struct step *s = plan_add(p, STEP_MIXED, g, e->line);
	if (!s)
		return oom(err);
	s->from_mixed = now;
	s->to_mixed = e->mixed;
	return 0;
}

/* The scheduler policy is read by the driver when it loads: the step
 * writes carve's modprobe.d file (nvsched.h), and the change is pending
 * until then.  Fixed share does not work with mixed-size mode (NVIDIA's
 * heterogeneous vGPU documentation). */
static int plan_sched(struct carve_ctx *ctx, struct plan *p, const struct carve_obj_pgpu *g,
		      const struct carve_hostcfg_entry *e, const struct carve_hostcfg_entry *mixed, const char *origin,
		      struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	const struct carve_hw_gpu *hw = carve_hw_inventory_find(ctx->inv, pci);
	if (!hw)
		return block(p, "PGPU %s was not seen by this discovery: its scheduler cannot be set", pci) < 0 ? oom(err)
														  : 0;
	if (!is_nvidia(hw->mechanism))
		return not_for(e, origin, err, "scheduler: %s (%s) is not an NVIDIA vGPU", pci,
			       hw->board[0] ? hw->board : carve_impl_name(hw->mechanism));
	bool will_mix = mixed ? mixed->mixed : hw->mixed_size;
	if (e->sched.policy == CARVE_NVSCHED_FIXED_SHARE && will_mix)
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID",
				       "%s:%d: scheduler: fixed-share does not work with mixed-size mode on %s (best-effort "
				       "or equal-share do)",
				       origin, e->line, pci);
	if (!p->modprobe_dir[0]) {
		struct carve_error e2 = {0};
		int r = ctx->host->ops->modprobe_dir
				? ctx->host->ops->modprobe_dir(ctx->host, p->modprobe_dir, sizeof(p->modprobe_dir), &e2)
				: carve_error_set(&e2, -ENOTSUP, "MODPROBE_DIR_UNKNOWN", "this host backend has no files");
		if (r < 0) {
			p->modprobe_dir[0] = '\0';
			return block(p, "scheduler on %s: %s", pci, e2.message) < 0 ? oom(err) : 0;
		}
	}
	struct carve_nvsched now = {CARVE_NVSCHED_BEST_EFFORT, 0}; /* the driver's default */
	int listed = carve_nvsched_get(p->modprobe_dir, pci, &now, err);
	if (listed < 0)
		return listed;
	if (now.policy == e->sched.policy && now.slice_ms == e->sched.slice_ms)
		return 0;
	struct step *s = plan_add(p, STEP_SCHED, g, e->line);
	if (!s)
		return oom(err);
	s->has_from_sched = listed > 0;
	s->from_sched = now;
	s->to_sched = e->sched;
	return 0;
}

/* Default vgpu_params are the store's (the PGPU's default-vgpu-params),
 * written to each vGPU created afterwards.  A running vGPU keeps what it
 * was created with, so a change that would give it other params is
 * refused: reconcile would otherwise rewrite them under its VM. */
static int plan_params(struct plan *p, const struct carve_obj_pgpu *g,
		       const struct carve_hostcfg_entry *e, const char *origin, struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	if (!is_nvidia(g->impl))
		return not_for(e, origin, err, "vgpu-params: %s (%s) is not an NVIDIA vGPU", pci,
			       g->board ? g->board : carve_impl_name(g->impl));
	if (strcmp(g->vgpu_params, e->params) == 0)
		return 0;
	for (uint32_t k = 0; k < g->n_vgpus; k++) {
		const struct carve_obj_vgpu *v = g->vgpus[k];
		char before[256], after[256];
		if (v->vm->power == CARVE_POWER_HALTED ||
		    carve_vgpu_params_merge(g->vgpu_params, v->extra_args, before, sizeof(before)) < 0)
			continue;
		int r = carve_vgpu_params_merge(e->params, v->extra_args, after, sizeof(after));
		if (r >= 0 && strcmp(before, after) == 0)
			continue;
		char who[256];
		vgpu_label(v, who, sizeof(who));
		if (block(p, "vgpu-params on %s would change the vgpu_params of %s", pci, who) < 0)
			return oom(err);
	}
	struct step *s = plan_add(p, STEP_PARAMS, g, e->line);
	if (!s)
		return oom(err);
	snprintf(s->from_params, sizeof(s->from_params), "%s", g->vgpu_params);
	snprintf(s->to_params, sizeof(s->to_params), "%s", e->params);
	return 0;
}

static int plan_types(struct carve_ctx *ctx, struct plan *p, const struct carve_obj_pgpu *g,
		      const struct carve_hostcfg_entry *e, bool vfs_change, const char *origin, struct carve_error *err)
{
	const char *pci = carve_pgpu_place(g)->pci;
	_cleanup_(carve_strv_clear) struct carve_strv want = {0};
	const char *missing;
	if (resolve_types(ctx, g, &e->types, &want, &missing) < 0)
		return oom(err);
	/* After a VF count change (AMD MxGPU publishes the types of the
	 * count) the names are resolved when the step runs. */
	if (missing && !vfs_change)
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID",
				       "%s:%d: enabled-types: %s (%s) has no vGPU type '%s'", origin, e->line, pci,
				       g->board ? g->board : "?", missing);
	bool resolved = !missing;
	_cleanup_(carve_strv_clear) struct carve_strv now = {0};
	const struct carve_place_pgpu *pl = carve_pgpu_place(g);
	for (size_t i = 0; i < pl->n_slots; i++)
		if (pl->slots[i].enabled && !pl->slots[i].unsupported && carve_strv_push(&now, pl->slots[i].type->uuid) < 0)
			return oom(err);
	bool same = resolved && want.n == now.n;
	for (size_t i = 0; same && i < want.n; i++)
		same = carve_strv_contains(&now, want.v[i]);
	if (same)
		return 0;
	/* A type disabled under a vGPU of it would strand that vGPU. */
	for (size_t i = 0; resolved && i < now.n; i++) {
		if (carve_strv_contains(&want, now.v[i]))
			continue;
		for (uint32_t k = 0; k < g->n_vgpus; k++)
			if (strcmp(g->vgpus[k]->type->place.uuid, now.v[i]) == 0) {
				char who[256];
				vgpu_label(g->vgpus[k], who, sizeof(who));
				if (block(p, "enabled-types on %s would disable %s, the type of %s", pci,
					  type_name(ctx, now.v[i]), who) < 0)
					return oom(err);
			}
	}
	struct step *s = plan_add(p, STEP_TYPES, g, e->line);
	if (!s)
		return oom(err);
	s->from_types = now;
	now = (struct carve_strv){0};
	for (size_t i = 0; i < e->types.n; i++)
		if (carve_strv_push(&s->to_names, e->types.v[i]) < 0)
			return oom(err);
	return 0;
}

static int cmp_pgpu(const void *a, const void *b)
{
	return strcmp(carve_pgpu_place(*(struct carve_obj_pgpu *const *)a)->pci,
		      carve_pgpu_place(*(struct carve_obj_pgpu *const *)b)->pci);
}

static int make_plan(struct carve_ctx *ctx, const struct carve_hostcfg *cfg, const char *origin, struct plan *p,
		     struct carve_error *err)
{
	_cleanup_free_ struct carve_obj_pgpu **gs = calloc(ctx->model->pgpus.n + 1, sizeof(*gs));
	size_t n = 0;
	if (!gs)
		return oom(err);
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, g)
		if (g->host && strcmp(g->host->uuid, ctx->host_uuid) == 0 && carve_pgpu_place(g)->present)
			gs[n++] = g;
	qsort(gs, n, sizeof(*gs), cmp_pgpu);
	/* An address no PGPU here has is a mistake, not a no-op; one that
	 * discovery could not read this time cannot be configured now. */
	for (size_t k = 0; k < cfg->n; k++) {
		const struct carve_hostcfg_entry *e = &cfg->v[k];
		bool found = e->select != CARVE_HOSTCFG_PCI;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(carve_pgpu_place(gs[i])->pci, e->pci) == 0;
		if (found)
			continue;
		if (carve_model_pgpu_at(ctx->model, ctx->host_uuid, e->pci)) {
			const struct carve_obj_host *h = carve_model_host(ctx->model, ctx->host_uuid);
			const char *hp = h && h->discovery_problems ? h->discovery_problems : "";
			if (block(p, "%s was not seen by this discovery%s%.*s", e->pci, *hp ? ": " : "",
				  (int)strcspn(hp, "\n"), hp) < 0)
				return oom(err);
			continue;
		}
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID", "%s:%d: select: no PGPU of this host at %s",
				       origin, e->line, e->pci);
	}
	for (size_t i = 0; i < n; i++) {
		const struct carve_obj_pgpu *g = gs[i];
		const struct carve_board *b = g->board ? carve_board_by_name(g->board) : NULL;
		const struct carve_hostcfg_entry *vfs = NULL, *types = NULL, *mixed = NULL, *sched = NULL, *params = NULL,
						 *mig = NULL;
		for (size_t k = 0; k < cfg->n; k++) {
			const struct carve_hostcfg_entry *e = &cfg->v[k];
			/* "all" means the GPUs carve hands out, not the console */
			if (e->select == CARVE_HOSTCFG_ALL && g->is_system_display)
				continue;
			if (!carve_hostcfg_selects(e, carve_pgpu_place(g)->pci, g->board, b ? b->short_name : NULL,
						   hex16(g->vendor_id), hex16(g->device_id)))
				continue;
			if (e->has_vfs)
				vfs = e;
			if (e->has_types)
				types = e;
			if (e->has_mixed)
				mixed = e;
			if (e->has_sched)
				sched = e;
			if (e->has_params)
				params = e;
			if (e->has_mig)
				mig = e;
		}
		size_t before = p->n;
		int r = mig ? plan_mig_mode(ctx, p, g, mig, mixed, origin, err) : 0;
		bool mode_change = p->n > before;
		before = p->n;
		if (r >= 0 && vfs)
			r = plan_vfs(ctx, p, g, vfs, origin, err);
		bool vfs_change = p->n > before;
		if (r >= 0 && mixed)
			r = plan_mixed(ctx, p, g, mixed, vfs_change, origin, err);
		if (r >= 0 && mig)
			r = plan_mig_gis(ctx, p, g, mig, mode_change || vfs_change, err);
		if (r >= 0 && types)
			r = plan_types(ctx, p, g, types, vfs_change, origin, err);
		if (r >= 0 && params)
			r = plan_params(p, g, params, origin, err);
		if (r >= 0 && sched)
			r = plan_sched(ctx, p, g, sched, mixed, origin, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- running the steps ---- */

static int set_types(struct carve_ctx *ctx, const char *pgpu, const struct carve_strv *want, struct carve_error *err)
{
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	const struct carve_obj_pgpu *g = carve_model_pgpu(ctx->model, pgpu);
	r = g ? carve_ops_pgpu_enable_types(ctx, g, want, err) : carve_ops_not_found("pgpu", pgpu, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0)
		return r;
	return carve_model_reload_pgpu(ctx->model, ctx->db, pgpu, err);
}

/* After the host acted on s's GPU (result r): the store learns what the
 * host has now, whatever happened. */
static int rediscover(struct carve_ctx *ctx, const struct step *s, int r, struct carve_error *err)
{
	const char *pci[1] = {s->pci};
	struct carve_error e2 = {0};
	int r2 = carve_ops_rediscover_gpus(ctx, pci, 1, &e2);
	if (r >= 0 && r2 < 0) {
		*err = e2;
		r = r2;
	}
	return r;
}

static int set_params(struct carve_ctx *ctx, const struct step *s, const char *params, struct carve_error *err)
{
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	r = carve_repo_pgpu_set_vgpu_params(ctx->db, s->pgpu, params, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0)
		return r;
	return carve_model_reload_pgpu(ctx->model, ctx->db, s->pgpu, err);
}

static int set_mig_mode(struct carve_ctx *ctx, const struct step *s, bool on, struct carve_error *err)
{
	if (!ctx->host->ops->set_mig_mode)
		return carve_error_set(err, -EOPNOTSUPP, "MIG_UNSUPPORTED", "this host backend cannot set MIG");
	carve_model_unlock(ctx->model);
	int r = ctx->host->ops->set_mig_mode(ctx->host, s->pci, on, err);
	carve_model_wrlock(ctx->model);
	return rediscover(ctx, s, r, err);
}

static int set_mig_gis(struct carve_ctx *ctx, const struct step *s, const struct carve_strv *gis,
		       struct carve_error *err)
{
	if (!ctx->host->ops->set_mig_instances)
		return carve_error_set(err, -EOPNOTSUPP, "MIG_UNSUPPORTED", "this host backend cannot set MIG");
	carve_model_unlock(ctx->model);
	int r = ctx->host->ops->set_mig_instances(ctx->host, s->pci, gis, err);
	carve_model_wrlock(ctx->model);
	return rediscover(ctx, s, r, err);
}

static int set_vfs(struct carve_ctx *ctx, struct step *s, uint32_t n, struct carve_error *err)
{
	if (!ctx->host->ops->sriov_set_numvfs)
		return carve_error_set(err, -EOPNOTSUPP, "SRIOV_NOT_SUPPORTED", "this host backend cannot set VF counts");
	carve_model_unlock(ctx->model);
	int r = ctx->host->ops->sriov_set_numvfs(ctx->host, s->pci, n, &s->waited_ms, err);
	carve_model_wrlock(ctx->model);
	return rediscover(ctx, s, r, err);
}

static int set_mixed(struct carve_ctx *ctx, const struct step *s, bool on, struct carve_error *err)
{
	if (!ctx->host->ops->set_mixed_size)
		return carve_error_set(err, -EOPNOTSUPP, "MIXED_SIZE_UNSUPPORTED",
				       "this host backend cannot set the mixed-size mode");
	carve_model_unlock(ctx->model);
	int r = ctx->host->ops->set_mixed_size(ctx->host, s->pci, on, err);
	carve_model_wrlock(ctx->model);
	return rediscover(ctx, s, r, err);
}

static int run_step(struct carve_ctx *ctx, struct step *s, const char *dir, const char *origin,
		    struct carve_error *err)
{
	if (s->kind == STEP_VFS) {
		/* A count change goes through 0: failing half way may leave no VF
		 * at all, so the step itself puts back the count it found. */
		int r = set_vfs(ctx, s, s->to_vfs, err);
		struct carve_error ignore = {0};
		if (r < 0)
			set_vfs(ctx, s, s->from_vfs, &ignore);
		return r;
	}
	if (s->kind == STEP_MIXED)
		return set_mixed(ctx, s, s->to_mixed, err);
	if (s->kind == STEP_MIG_MODE)
		return set_mig_mode(ctx, s, s->to_mig, err);
	if (s->kind == STEP_MIG_GIS)
		return set_mig_gis(ctx, s, &s->to_gis, err);
	if (s->kind == STEP_SCHED)
		return carve_nvsched_set(dir, s->pci, &s->to_sched, err);
	if (s->kind == STEP_PARAMS)
		return set_params(ctx, s, s->to_params, err);
	const struct carve_obj_pgpu *g = carve_model_pgpu(ctx->model, s->pgpu);
	if (!g)
		return carve_ops_not_found("pgpu", s->pgpu, err);
	_cleanup_(carve_strv_clear) struct carve_strv want = {0};
	const char *missing;
	if (resolve_types(ctx, g, &s->to_names, &want, &missing) < 0)
		return oom(err);
	if (missing)
		return carve_error_set(err, -EINVAL, "HOST_CONFIG_INVALID",
				       "%s:%d: enabled-types: %s (%s) has no vGPU type '%s' with %u VFs", origin, s->line,
				       s->pci, g->board ? g->board : "?", missing, g->sriov_numvfs);
	return set_types(ctx, s->pgpu, &want, err);
}

static int undo_step(struct carve_ctx *ctx, struct step *s, const char *dir, struct carve_error *err)
{
	if (s->kind == STEP_VFS)
		return set_vfs(ctx, s, s->from_vfs, err);
	if (s->kind == STEP_MIXED)
		return set_mixed(ctx, s, s->from_mixed, err);
	if (s->kind == STEP_MIG_MODE)
		return s->from_mig < 0 ? 0 : set_mig_mode(ctx, s, s->from_mig == 1, err);
	if (s->kind == STEP_MIG_GIS)
		return set_mig_gis(ctx, s, &s->from_gis, err);
	if (s->kind == STEP_SCHED)
		return carve_nvsched_set(dir, s->pci, s->has_from_sched ? &s->from_sched : NULL, err);
	if (s->kind == STEP_PARAMS)
		return set_params(ctx, s, s->from_params, err);
	return set_types(ctx, s->pgpu, &s->from_types, err);
}

/* ---- the verbs ---- */

static json_t *plan_json(struct carve_ctx *ctx, const struct plan *p)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < p->n; i++) {
		const struct step *s = &p->v[i];
		char change[1024];
		if (s->kind == STEP_VFS) {
			int n = snprintf(change, sizeof(change), "%u -> %u VFs", s->from_vfs, s->to_vfs);
			/* Real drivers are slow to publish their VFs: say it. */
			if (s->waited_ms > 0 && n > 0 && (size_t)n < sizeof(change))
				snprintf(change + n, sizeof(change) - (size_t)n, " (they appeared after %u ms)", s->waited_ms);
		} else if (s->kind == STEP_MIXED) {
			snprintf(change, sizeof(change), "%s -> %s", s->from_mixed ? "on" : "off", s->to_mixed ? "on" : "off");
		} else if (s->kind == STEP_MIG_MODE) {
			snprintf(change, sizeof(change), "%s -> %s", s->from_mig < 0 ? "not set by carve" : s->from_mig ? "on" : "off",
				 s->to_mig ? "on" : "off");
		} else if (s->kind == STEP_MIG_GIS) {
			size_t off = (size_t)snprintf(change, sizeof(change), "[");
			for (size_t k = 0; k < s->from_gis.n && off < sizeof(change); k++)
				off += (size_t)snprintf(change + off, sizeof(change) - off, "%s%s", k ? ", " : "",
							s->from_gis.v[k]);
			for (size_t k = 0; k < s->to_gis.n && off < sizeof(change); k++)
				off += (size_t)snprintf(change + off, sizeof(change) - off, "%s%s", k ? ", " : "] -> [",
							s->to_gis.v[k]);
			if (off < sizeof(change))
				snprintf(change + off, sizeof(change) - off, "]");
		} else if (s->kind == STEP_PARAMS) {
			snprintf(change, sizeof(change), "\"%s\" -> \"%s\", for vGPUs created from now on", s->from_params,
				 s->to_params);
		} else if (s->kind == STEP_SCHED) {
			char from[96], to[96];
			carve_nvsched_describe(&s->from_sched, from, sizeof(from));
			carve_nvsched_describe(&s->to_sched, to, sizeof(to));
			snprintf(change, sizeof(change), "%s -> %s, when the nvidia driver loads again", from, to);
		} else {
			size_t off = 0;
			off += (size_t)snprintf(change + off, sizeof(change) - off, "[");
			/* a long list (everything enabled, as discovery leaves it) is a count */
			if (s->from_types.n > 6)
				off += (size_t)snprintf(change + off, sizeof(change) - off, "%zu types", s->from_types.n);
			for (size_t k = 0; s->from_types.n <= 6 && k < s->from_types.n && off < sizeof(change); k++)
				off += (size_t)snprintf(change + off, sizeof(change) - off, "%s%s", k ? ", " : "",
							type_name(ctx, s->from_types.v[k]));
			for (size_t k = 0; k < s->to_names.n && off < sizeof(change); k++)
				off += (size_t)snprintf(change + off, sizeof(change) - off, "%s%s", k ? ", " : "] -> [",
							s->to_names.v[k]);
			if (off < sizeof(change))
				snprintf(change + off, sizeof(change) - off, "%s]", s->to_names.n ? "" : "] -> [");
		}
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "step", step_names[s->kind], "pci", s->pci,
						   "pgpu", s->pgpu, "change", change, "state", state_names[s->state]));
	}
	return a;
}

static int cmp_vgpudm_gpu(const void *a, const void *b)
{
	return strcmp(((const struct carve_vgpudm_gpu *)a)->pci, ((const struct carve_vgpudm_gpu *)b)->pci);
}

/* vgpu-device-manager's configuration as carve's, for this host's NVIDIA
 * GPUs (its GPU indices: PCI order, no VFs; the PGPUs are the PFs). */
static int translate_vgpudm(struct carve_ctx *ctx, const char *text, const char *selector, char **out,
			    struct carve_error *err)
{
	_cleanup_free_ struct carve_vgpudm_gpu *gpus = calloc(ctx->model->pgpus.n + 1, sizeof(*gpus));
	size_t n = 0;
	if (!gpus)
		return oom(err);
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, g) {
		if (!g->host || strcmp(g->host->uuid, ctx->host_uuid) != 0 || !carve_pgpu_place(g)->present ||
		    hex16(g->vendor_id) != 0x10de)
			continue;
		snprintf(gpus[n].pci, sizeof(gpus[n].pci), "%s", carve_pgpu_place(g)->pci);
		gpus[n].vendor = hex16(g->vendor_id);
		gpus[n].device = hex16(g->device_id);
		n++;
	}
	qsort(gpus, n, sizeof(*gpus), cmp_vgpudm_gpu);
	return carve_vgpudm_translate(text, strlen(text), "config", selector, gpus, n, out, err);
}

int carve_op_host_apply(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	const char *text, *format = NULL, *selector = NULL;
	bool dry = false;
	int r;
	if ((r = carve_arg_str(args, "config", true, &text, err)) < 0 || (r = carve_arg_bool(args, "dry-run", &dry, err)) < 0 ||
	    (r = carve_arg_str(args, "format", false, &format, err)) < 0 ||
	    (r = carve_arg_str(args, "selector", false, &selector, err)) < 0)
		return r;
	bool vgpudm = format && strcmp(format, "vgpu-device-manager") == 0;
	if (format && !vgpudm && strcmp(format, "carve") != 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "format '%.32s': expected carve (the default) or vgpu-device-manager", format);
	if (selector && !vgpudm)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "selector= goes with format=vgpu-device-manager");
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "host-apply needs a host (drop --no-discover)");
	/* One look at the whole host: the plan compares with what is there. */
	carve_model_unlock(ctx->model);
	r = carve_ops_refresh(ctx, err);
	carve_model_wrlock(ctx->model);
	if (r < 0)
		return r;
	/* Another tool's file is kept as what it means here, in carve's format:
	 * that is what carved applies again at start-up. */
	_cleanup_free_ char *translated = NULL;
	if (vgpudm && (r = translate_vgpudm(ctx, text, selector, &translated, err)) < 0)
		return r;
	if (translated)
		text = translated;
	_cleanup_(carve_hostcfg_clear) struct carve_hostcfg cfg = {0};
	const char *origin = "config";
	if ((r = carve_hostcfg_parse(text, strlen(text), origin, &cfg, err)) < 0)
		return r;
	_cleanup_(plan_clear) struct plan p = {0};
	if ((r = make_plan(ctx, &cfg, origin, &p, err)) < 0)
		return r;
	if (p.blockers.n > 0) {
		/* Every reason, as far as the message holds them; then how many
		 * more there are. */
		char msg[sizeof(err->message)];
		size_t off = (size_t)snprintf(msg, sizeof(msg), "nothing was changed (%zu):", p.blockers.n), i;
		for (i = 0; i < p.blockers.n; i++) {
			size_t need = strlen(p.blockers.v[i]) + 2, tail = 32;
			if (off + need + tail >= sizeof(msg))
				break;
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? "; " : " ", p.blockers.v[i]);
		}
		if (i < p.blockers.n)
			snprintf(msg + off, sizeof(msg) - off, "; and %zu more", p.blockers.n - i);
		return carve_error_set(err, -EBUSY, "HOST_APPLY_REFUSED", "%s", msg);
	}
	if (!dry) {
		for (size_t i = 0; i < p.n; i++) {
			if ((r = run_step(ctx, &p.v[i], p.modprobe_dir, origin, err)) >= 0) {
				p.v[i].state = DONE;
				continue;
			}
			p.v[i].state = FAILED;
			char undone[512] = "";
			size_t off = 0;
			for (size_t k = i; k-- > 0;) {
				struct carve_error e2 = {0};
				bool ok = undo_step(ctx, &p.v[k], p.modprobe_dir, &e2) >= 0;
				p.v[k].state = ok ? UNDONE : DONE;
				if (off < sizeof(undone))
					off += (size_t)snprintf(undone + off, sizeof(undone) - off, "%s%s on %s%s%s",
								off ? ", " : "", step_names[p.v[k].kind], p.v[k].pci,
								ok ? "" : " NOT undone: ", ok ? "" : e2.message);
			}
			char msg[sizeof(err->message) + sizeof(undone) + 128];
			snprintf(msg, sizeof(msg), "step %zu (%s on %s) failed: %s; %s%s", i + 1, step_names[p.v[i].kind],
				 p.v[i].pci, err->message, undone[0] ? "undone: " : "no step before it",
				 undone);
			carve_error_clear(err);
			return carve_error_set(err, r, "HOST_APPLY_FAILED", "%s", msg);
		}
		if ((r = carve_ops_begin(ctx, err)) < 0 ||
		    (r = carve_ops_end(ctx, carve_repo_host_set_config(ctx->db, ctx->host_uuid, text, err), err)) < 0 ||
		    (r = carve_model_reload_host(ctx->model, ctx->db, ctx->host_uuid, err)) < 0)
			return r;
	}
	*result = json_pack("{s:o, s:b}", "plan", plan_json(ctx, &p), "dry-run", dry);
	if (*result && translated)
		json_object_set_new(*result, "translated", json_string(translated));
	return *result ? 0 : oom(err);
}

int carve_op_host_config_get(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_arg_uuid(args, "uuid", false, uuid, err);
	if (r < 0)
		return r;
	const struct carve_obj_host *h = carve_model_host(ctx->model, uuid[0] ? uuid : ctx->host_uuid);
	if (!h)
		return carve_ops_not_found("host", uuid[0] ? uuid : ctx->host_uuid, err);
	*result = json_pack("{s:s}", "value", h->config ? h->config : "");
	return *result ? 0 : oom(err);
}
