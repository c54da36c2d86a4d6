/* lifecycle.c - vm-start, vm-shutdown, host-reconcile, vgpu-adopt.
 * See verbs_vm.c for the intent/act/confirm protocol these follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "emit/emit.h"
#include "place/place.h"
#include "model/model.h"
#include "snapshot.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "vm.h"


#define MAX_ITEMS 16

struct item {
	char vgpu[37], type[37], group[37], group_label[256], algo[16];
	char identifier[65], impl[24], model[128], extra[256];
	char pgpu[37], pgpu_pci[13];
	struct carve_vgpu_placement where;
	bool created;
};

#define CP(dst, rows, i, col) snprintf((dst), sizeof(dst), "%s", carve_rows_get(rows, i, col) ? carve_rows_get(rows, i, col) : "")

/* The vGPUs of a VM with what placement and realization need. */
static int load_items(struct carve_ctx *ctx, const char *vm, struct item *items, size_t *n, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(ctx->db, &rows, err,
			       "SELECT v.uuid, v.vgpu_type_uuid, v.gpu_group_uuid, v.extra_args, v.scheduled_pgpu, "
			       "v.resident_on, v.device_pci, t.identifier, t.implementation, t.model_name, "
			       "g.allocation_algorithm, g.name_label, p.pci_id FROM vgpu v "
			       "JOIN vgpu_type t ON t.uuid = v.vgpu_type_uuid JOIN gpu_group g ON g.uuid = v.gpu_group_uuid "
			       "LEFT JOIN pgpu p ON p.uuid = COALESCE(v.resident_on, v.scheduled_pgpu) "
			       "WHERE v.vm_uuid=$1 ORDER BY v.device",
			       1, vm);
	if (r < 0)
		return r;
	*n = 0;
	for (size_t i = 0; i < rows->nrows && i < MAX_ITEMS; i++) {
		struct item *it = &items[(*n)++];
		memset(it, 0, sizeof(*it));
		CP(it->vgpu, rows, i, "uuid");
		CP(it->type, rows, i, "vgpu_type_uuid");
		CP(it->group, rows, i, "gpu_group_uuid");
		CP(it->extra, rows, i, "extra_args");
		CP(it->identifier, rows, i, "identifier");
		CP(it->impl, rows, i, "implementation");
		CP(it->model, rows, i, "model_name");
		CP(it->algo, rows, i, "allocation_algorithm");
		CP(it->group_label, rows, i, "name_label");
		CP(it->pgpu_pci, rows, i, "pci_id");
		const char *res = carve_rows_get(rows, i, "resident_on"), *sch = carve_rows_get(rows, i, "scheduled_pgpu");
		carve_strlcpy(it->pgpu, res ? res : sch ? sch : "", sizeof(it->pgpu));
		carve_strlcpy(it->where.uuid, it->vgpu, sizeof(it->where.uuid));
		CP(it->where.device_pci, rows, i, "device_pci");
	}
	return 0;
}

static bool vf_impl(const char *impl)
{
	return strcmp(impl, "nvidia-sriov") == 0 || strcmp(impl, "amd-mxgpu") == 0;
}

static void spec_of(const struct item *it, struct carve_vgpu_spec *s)
{
	memset(s, 0, sizeof(*s));
	carve_strlcpy(s->uuid, it->vgpu, sizeof(s->uuid));
	carve_strlcpy(s->pgpu_pci, it->pgpu_pci, sizeof(s->pgpu_pci));
	carve_strlcpy(s->type_id, it->identifier, sizeof(s->type_id));
	int impl = carve_impl_from_name(it->impl);
	s->impl = impl < 0 ? CARVE_IMPL_PASSTHROUGH : (enum carve_impl)impl;
	carve_strlcpy(s->params, it->extra, sizeof(s->params));
	if (vf_impl(it->impl)) /* the VF the intent recorded, if any */
		carve_strlcpy(s->vf_pci, it->where.device_pci, sizeof(s->vf_pci));
}

/* A VF-backed vGPU has no host-side UUID: the VF is its only identity.  The
 * intent records which VF the start will use (a free VF of the chosen PGPU
 * that no vGPU in the store names), and the create is told to use it; so a
 * start killed after the create but before the confirm leaves an in-use VF
 * that the store names, and host-reconcile removes it.  (Before, the VF was
 * learnt only from the create and recorded at the confirm: such a kill left
 * the VF in use with no vGPU, reported as an orphan forever -- found by
 * tests/crash on l40s-sriov.)  "" when the PGPU has no free VF yet (none
 * enabled: the create enables them and picks the first free one). */
static int choose_vf(struct carve_ctx *ctx, struct carve_hw_inventory *inv, bool *have_inv, struct item *it,
		     struct carve_error *err)
{
	it->where.device_pci[0] = '\0';
	if (!*have_inv) {
		int r = carve_host_discover(ctx->host, inv, err);
		if (r < 0)
			return r;
		*have_inv = true;
	}
	_cleanup_rows_ struct carve_rows *claimed = NULL;
	int r = carve_db_execf(ctx->db, &claimed, err, "SELECT device_pci FROM vgpu WHERE device_pci <> ''", 0);
	if (r < 0)
		return r;
	for (size_t g = 0; g < inv->n_gpus; g++) {
		if (strcmp(inv->gpus[g].pci, it->pgpu_pci) != 0)
			continue;
		for (size_t v = 0; v < inv->gpus[g].n_vfs; v++) {
			const struct carve_hw_vf *vf = &inv->gpus[g].vfs[v];
			bool taken = vf->in_use;
			for (size_t k = 0; k < claimed->nrows && !taken; k++)
				taken = strcmp(carve_rows_cell(claimed, k, 0), vf->pci) == 0;
			if (!taken) {
				carve_strlcpy(it->where.device_pci, vf->pci, sizeof(it->where.device_pci));
				return 0;
			}
		}
	}
	return 0;
}

static const char *reason_text(enum carve_place_reason r)
{
	switch (r) {
	case CARVE_PLACE_NO_CAPACITY: return "insufficient capacity";
	case CARVE_PLACE_INCOMPATIBLE: return "incompatible with the type already running";
	case CARVE_PLACE_NOT_ENABLED: return "type not enabled";
	case CARVE_PLACE_DISCOVERY_PROBLEM: return "discovery could not read it";
	default: return "type not supported";
	}
}

/* Place vGPU i of a VM (the ones before it excluded from its PGPU as
 * place requires) and record the reservation, with its VF when VF-backed. */
static int reserve_one(struct carve_ctx *ctx, int32_t numa, struct item *items, size_t i, const char **chosen,
		       struct carve_hw_inventory *inv, bool *have_inv, struct carve_error *err)
{
	struct item *it = &items[i];
	_cleanup_(carve_snapshot_freep) struct carve_snapshot *s = NULL;
	/* Only this host's PGPUs: the devices are created here. */
	int r = carve_snapshot_load_host(ctx, it->group, ctx->host_uuid, &s, err);
	if (r < 0)
		return r;
	const struct carve_place_type *t = carve_snapshot_type(s, it->type);
	enum carve_place_reason why = CARVE_PLACE_NOT_SUPPORTED;
	struct carve_place_request req = {
		.type = t, .algo = (enum carve_place_algo)carve_place_algo_from_name(it->algo),
		.numa_node = numa, .exclude = chosen};
	if ((int)req.algo < 0)
		req.algo = CARVE_PLACE_DEPTH_FIRST;
	ssize_t k = t ? carve_place_choose(s->pgpus, s->n_pgpus, &req, &why) : -1;
	if (k < 0) {
		int64_t total = 0;
		const char *problem = NULL, *pci = "";
		for (size_t j = 0; t && j < s->n_pgpus; j++) {
			total += carve_place_capacity(&s->pgpus[j], t, NULL);
			if (!problem && (problem = carve_place_problem(&s->pgpus[j], t)))
				pci = s->pgpus[j].pci;
		}
		if (why == CARVE_PLACE_DISCOVERY_PROBLEM) /* the problem is the reason: name it */
			return carve_error_set(err, -EIO, carve_place_reason_id(why),
					       "no PGPU of GPU group '%s' (%zu PGPUs) can take vGPU %s of type %s: "
					       "discovery could not read it on %s: %s",
					       it->group_label, s->n_pgpus, it->vgpu, it->model, pci, problem ? problem : "");
		return carve_error_set(err, why == CARVE_PLACE_NO_CAPACITY ? -ENOSPC : -EINVAL,
				       carve_place_reason_id(why),
				       "no PGPU of GPU group '%s' (%zu PGPUs) can take vGPU %s of type %s: %s "
				       "(remaining capacity for the type: %lld)",
				       it->group_label, s->n_pgpus, it->vgpu, it->model, reason_text(why),
				       (long long)total);
	}
	carve_strlcpy(it->pgpu, s->pgpus[k].uuid, sizeof(it->pgpu));
	carve_strlcpy(it->pgpu_pci, s->pgpus[k].pci, sizeof(it->pgpu_pci));
	chosen[i] = it->pgpu;
	if (vf_impl(it->impl) && (r = choose_vf(ctx, inv, have_inv, it, err)) < 0)
		return r;
	return carve_db_execf(ctx->db, NULL, err,
			      "UPDATE vgpu SET scheduled_pgpu=$2, device_pci=$3, state='reserved' WHERE uuid=$1", 3,
			      it->vgpu, it->pgpu, it->where.device_pci);
}

/* Step 1: place every vGPU and record the reservation (caller's transaction). */
static int reserve(struct carve_ctx *ctx, const char *vm, int32_t numa, struct item *items, size_t n,
		   struct carve_error *err)
{
	const char *chosen[MAX_ITEMS + 1] = {0};
	struct carve_hw_inventory inv = {0};
	bool have_inv = false;
	int ret = 0;
	for (size_t i = 0; i < n && ret >= 0; i++)
		ret = reserve_one(ctx, numa, items, i, chosen, &inv, &have_inv, err);
	if (have_inv)
		carve_hw_inventory_clear(&inv);
	if (ret < 0)
		return ret;
	return carve_db_execf(ctx->db, NULL, err, "UPDATE vm SET power_state='starting', resident_on=$2 WHERE uuid=$1",
			      2, vm, ctx->host_uuid);
}

static int release_all(struct carve_ctx *ctx, const char *vm, struct carve_error *err)
{
	int r = carve_db_execf(ctx->db, NULL, err,
			       "UPDATE vgpu SET scheduled_pgpu=NULL, resident_on=NULL, device_pci='', state='defined' "
			       "WHERE vm_uuid=$1",
			       1, vm);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err,
				   "UPDATE vm SET power_state='halted', resident_on=NULL WHERE uuid=$1", 1, vm);
	return r;
}

static void remove_created(struct carve_ctx *ctx, struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].created)
			continue;
		struct carve_vgpu_spec spec;
		spec_of(&items[i], &spec);
		if (ctx->host->ops->vgpu_remove(ctx->host, &spec, &items[i].where, NULL) >= 0 ||
		    true) /* best effort: reconcile reports what could not be removed */
			items[i].created = false;
	}
}

static json_t *start_result(const char *vm, struct item *items, size_t n, struct carve_error *err)
{
	struct carve_emit_vgpu ev[MAX_ITEMS];
	json_t *vgpus = json_array();
	bool display = false;
	for (size_t i = 0; i < n; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		carve_strlcpy(ev[i].uuid, items[i].vgpu, sizeof(ev[i].uuid));
		int impl = carve_impl_from_name(items[i].impl);
		ev[i].impl = impl < 0 ? CARVE_IMPL_PASSTHROUGH : (enum carve_impl)impl;
		carve_strlcpy(ev[i].device_pci, items[i].where.device_pci, sizeof(ev[i].device_pci));
		carve_strlcpy(ev[i].model_name, items[i].model, sizeof(ev[i].model_name));
		bool mdev = ev[i].impl == CARVE_IMPL_NVIDIA_MDEV || ev[i].impl == CARVE_IMPL_GVT_G;
		ev[i].display = mdev && !display;
		display |= ev[i].display;
		json_array_append_new(vgpus, json_pack("{s:s, s:s, s:s, s:s}", "uuid", items[i].vgpu, "resident-on",
						       items[i].pgpu, "device-pci", items[i].where.device_pci,
						       "implementation", items[i].impl));
	}
	struct carve_emit_vm evm = {.numa_node = -1};
	carve_strlcpy(evm.uuid, vm, sizeof(evm.uuid));
	_cleanup_free_ char *xml = NULL;
	json_t *qemu = NULL;
	if (carve_emit_libvirt_hostdevs(ev, n, &xml, err) < 0 || carve_emit_qemu_args(&evm, ev, n, &qemu, err) < 0) {
		json_decref(vgpus);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:s, s:o}", "vm", vm, "vgpus", vgpus, "libvirt-hostdevs", xml, "qemu-args", qemu);
}

/* Common opening of vm-start / vm-shutdown: parse the VM, make sure there is a
 * host to act on, open the intent transaction and check the power state is one
 * of `allowed` (comma-separated).  On success the transaction is open and
 * state/numa describe the VM; on failure nothing is open. */
static int begin_vm_verb(struct carve_ctx *ctx, json_t *args, const char *verb, const char *allowed, char vm[37],
			 char state[16], int32_t *numa, struct carve_error *err)
{
	int r = carve_arg_uuid(args, "uuid", true, vm, err);
	if (r < 0)
		return r;
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "%s needs a host (drop --no-discover)", verb);
	if ((r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	_cleanup_rows_ struct carve_rows *vmr = NULL;
	r = carve_db_execf(ctx->db, &vmr, err, "SELECT power_state, numa_node FROM vm WHERE uuid=$1", 1, vm);
	if (r >= 0 && vmr->nrows == 0)
		r = carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no vm with uuid %s", vm);
	if (r >= 0) {
		carve_strlcpy(state, carve_rows_cell(vmr, 0, 0), 16);
		*numa = atoi(carve_rows_cell(vmr, 0, 1));
		char want[64];
		snprintf(want, sizeof(want), ",%s,", allowed);
		char have[20];
		snprintf(have, sizeof(have), ",%s,", state);
		if (!strstr(want, have))
			r = carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE", "VM %s is %s; %s needs it %s", vm, state,
					    verb, strchr(allowed, ',') ? "running" : allowed);
	}
	if (r < 0)
		carve_db_rollback(ctx->db);
	return r;
}

int carve_op_vm_start(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char vm[37], st[16];
	int32_t numa = -1;
	struct item items[MAX_ITEMS];
	size_t n = 0;

	/* 1. intent */
	int r = begin_vm_verb(ctx, args, "vm-start", "halted", vm, st, &numa, err);
	if (r < 0)
		return r;
	r = load_items(ctx, vm, items, &n, err);
	if (r >= 0)
		r = reserve(ctx, vm, numa, items, n, err);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;

	/* 2. act */
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct carve_vgpu_spec spec;
		spec_of(&items[i], &spec);
		r = ctx->host->ops->vgpu_create(ctx->host, &spec, &items[i].where, err);
		if (r >= 0)
			items[i].created = true;
		if (r >= 0 && items[i].extra[0] && ctx->host->ops->vgpu_set_params)
			r = ctx->host->ops->vgpu_set_params(ctx->host, &items[i].where, items[i].extra, err);
	}
	if (r < 0) {
		/* roll back: devices first, then the reservation */
		remove_created(ctx, items, n);
		int r2 = carve_db_begin(ctx->db, NULL);
		if (r2 >= 0)
			carve_db_end(ctx->db, release_all(ctx, vm, NULL), NULL);
		return r;
	}

	/* 3. confirm */
	if ((r = carve_db_begin(ctx->db, err)) < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = carve_db_execf(ctx->db, NULL, err,
				   "UPDATE vgpu SET resident_on=scheduled_pgpu, scheduled_pgpu=NULL, device_pci=$2, "
				   "state='running' WHERE uuid=$1",
				   2, items[i].vgpu, items[i].where.device_pci);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err, "UPDATE vm SET power_state='running' WHERE uuid=$1", 1, vm);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;
	*result = start_result(vm, items, n, err);
	return *result ? 0 : (carve_error_isset(err) ? err->code : -ENOMEM);
}

/* Remove the devices of a VM's vGPUs; -ENOENT (already gone) counts as done. */
static int remove_devices(struct carve_ctx *ctx, struct item *items, size_t n, struct carve_error *err)
{
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		if (!items[i].pgpu[0])
			continue;
		struct carve_vgpu_spec spec;
		spec_of(&items[i], &spec);
		int r = ctx->host->ops->vgpu_remove(ctx->host, &spec, &items[i].where, err);
		if (r < 0 && r != -ENOENT && ret == 0)
			ret = r;
	}
	if (ret == 0)
		carve_error_clear(err);
	return ret;
}

int carve_op_vm_shutdown(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char vm[37], st[16];
	int32_t numa;
	struct item items[MAX_ITEMS];
	size_t n = 0;
	int r = begin_vm_verb(ctx, args, "vm-shutdown", "running,stopping", vm, st, &numa, err);
	if (r < 0)
		return r;
	r = load_items(ctx, vm, items, &n, err);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err, "UPDATE vgpu SET state='removing' WHERE vm_uuid=$1", 1, vm);
	if (r >= 0)
		r = carve_db_execf(ctx->db, NULL, err, "UPDATE vm SET power_state='stopping' WHERE uuid=$1", 1, vm);
	if ((r = carve_db_end(ctx->db, r, err)) < 0)
		return r;
	if ((r = remove_devices(ctx, items, n, err)) < 0)
		return r; /* stays 'stopping'; host-reconcile retries */
	if ((r = carve_db_begin(ctx->db, err)) < 0 || (r = carve_db_end(ctx->db, release_all(ctx, vm, err), err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

/* ---- reconcile ---- */

static const struct carve_hw_dev *find_dev(const struct carve_hw_inventory *inv, const char *uuid,
					   const struct carve_hw_gpu **gpu)
{
	for (size_t g = 0; g < inv->n_gpus; g++)
		for (size_t d = 0; d < inv->gpus[g].n_devs; d++)
			if (strcmp(inv->gpus[g].devs[d].uuid, uuid) == 0) {
				if (gpu)
					*gpu = &inv->gpus[g];
				return &inv->gpus[g].devs[d];
			}
	return NULL;
}

static const struct carve_hw_vf *find_vf(const struct carve_hw_inventory *inv, const char *pci)
{
	for (size_t g = 0; pci[0] && g < inv->n_gpus; g++)
		for (size_t v = 0; v < inv->gpus[g].n_vfs; v++)
			if (strcmp(inv->gpus[g].vfs[v].pci, pci) == 0)
				return &inv->gpus[g].vfs[v];
	return NULL;
}

static bool mdev_impl(const char *impl)
{
	return strcmp(impl, "nvidia-mdev") == 0 || strcmp(impl, "gvt-g") == 0;
}

/* An interrupted start's VF (recorded by the intent, see choose_vf) is in
 * use: it is this vGPU's only if no other vGPU names it (a start that let the
 * backend choose may have taken it after this one's kill) and, NVIDIA, it
 * carries this vGPU's type.  Otherwise it is not removed. */
static bool vf_is_ours(struct carve_ctx *ctx, const struct carve_hw_inventory *inv, const struct item *it)
{
	const struct carve_hw_vf *vf = find_vf(inv, it->where.device_pci);
	if (!vf || !vf->in_use)
		return false;
	if (strcmp(it->impl, "nvidia-sriov") == 0 && strcmp(vf->current_type, it->identifier) != 0)
		return false;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	if (carve_db_execf(ctx->db, &rows, NULL, "SELECT COUNT(*) FROM vgpu WHERE device_pci=$1 AND uuid<>$2", 2,
			   it->where.device_pci, it->vgpu) < 0)
		return false;
	return atol(carve_rows_cell(rows, 0, 0)) == 0;
}

/* Does the host still carry this vGPU's device? */
static bool item_present(const struct carve_hw_inventory *inv, const struct item *it)
{
	if (mdev_impl(it->impl))
		return find_dev(inv, it->vgpu, NULL) != NULL;
	if (strcmp(it->impl, "passthrough") == 0)
		return true; /* a whole GPU cannot vanish from under a VM short of a reboot */
	const struct carve_hw_vf *vf = find_vf(inv, it->where.device_pci);
	return vf && vf->in_use;
}

static void act(json_t *actions, const char *what, const char *vm, const char *vgpu, const char *detail)
{
	json_array_append_new(actions, json_pack("{s:s, s:s, s:s, s:s}", "action", what, "vm", vm ? vm : "", "vgpu",
						 vgpu ? vgpu : "", "detail", detail ? detail : ""));
}

static int reconcile_vm(struct carve_ctx *ctx, const struct carve_hw_inventory *inv, const char *vm, const char *st,
			json_t *actions, struct carve_error *err)
{
	struct item items[MAX_ITEMS];
	size_t n;
	int r = load_items(ctx, vm, items, &n, err);
	if (r < 0)
		return r;
	/* A PGPU discovery could not read says nothing about its devices: what
	 * looks lost may be running.  Leave the VM as it is until it reads. */
	for (size_t i = 0; i < n; i++) {
		const struct carve_hw_gpu *g = items[i].pgpu_pci[0] ? carve_hw_inventory_find(inv, items[i].pgpu_pci) : NULL;
		if (g && g->broken) {
			const struct carve_hw_problem *p = carve_hw_gpu_find_problem(g, NULL);
			_cleanup_free_ char *why = carve_strdupf("%s: discovery problem: %s", g->pci, p ? p->message : "");
			act(actions, "deferred", vm, items[i].vgpu, why);
			return 0;
		}
	}
	if (strcmp(st, "starting") == 0 || strcmp(st, "stopping") == 0) {
		/* An unacknowledged start is rolled back; a shutdown is finished. */
		for (size_t i = 0; i < n; i++)
			if (item_present(inv, &items[i]) && strcmp(items[i].impl, "passthrough") != 0)
				items[i].created = !vf_impl(items[i].impl) || vf_is_ours(ctx, inv, &items[i]);
		remove_created(ctx, items, n);
		if ((r = carve_db_begin(ctx->db, err)) < 0 || (r = carve_db_end(ctx->db, release_all(ctx, vm, err), err)) < 0)
			return r;
		act(actions, strcmp(st, "starting") == 0 ? "rolled-back-start" : "finished-shutdown", vm, NULL, NULL);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		struct carve_vgpu_spec spec;
		spec_of(it, &spec);
		if (!item_present(inv, it)) {
			/* lost with a reboot: recreate with the same identity and params
			 * (on whichever VF is free: the old one may not be) */
			struct carve_error e2 = {0};
			spec.vf_pci[0] = '\0';
			r = ctx->host->ops->vgpu_create(ctx->host, &spec, &it->where, &e2);
			if (r >= 0 && it->extra[0] && ctx->host->ops->vgpu_set_params)
				r = ctx->host->ops->vgpu_set_params(ctx->host, &it->where, it->extra, &e2);
			if (r < 0) {
				act(actions, "recreate-failed", vm, it->vgpu, e2.message);
				continue;
			}
			carve_db_execf(ctx->db, NULL, NULL, "UPDATE vgpu SET device_pci=$2 WHERE uuid=$1", 2, it->vgpu,
				       it->where.device_pci);
			act(actions, "recreated", vm, it->vgpu, it->pgpu_pci);
			continue;
		}
		const struct carve_hw_dev *d = mdev_impl(it->impl) ? find_dev(inv, it->vgpu, NULL) : NULL;
		if (d && it->extra[0] && strcmp(d->params, it->extra) != 0 && ctx->host->ops->vgpu_set_params) {
			struct carve_error e2 = {0};
			if (ctx->host->ops->vgpu_set_params(ctx->host, &it->where, it->extra, &e2) >= 0)
				act(actions, "params-restored", vm, it->vgpu, it->extra);
		}
	}
	return 0;
}

int carve_op_host_reconcile(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	(void)args;
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "host-reconcile needs a host (drop --no-discover)");
	struct carve_hw_inventory inv = {0};
	int r = carve_host_discover(ctx->host, &inv, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *actions = json_array();
	_cleanup_rows_ struct carve_rows *vms = NULL, *known = NULL;
	r = carve_db_execf(ctx->db, &vms, err,
			   "SELECT uuid, power_state FROM vm WHERE power_state <> 'halted' AND resident_on=$1 ORDER BY uuid",
			   1, ctx->host_uuid);
	for (size_t i = 0; r >= 0 && i < vms->nrows; i++)
		r = reconcile_vm(ctx, &inv, carve_rows_cell(vms, i, 0), carve_rows_cell(vms, i, 1), actions, err);
	/* Devices carve did not create: reported, never removed.  Against the
	 * host as it is now: a rolled-back start's VF was in use at the first
	 * discovery and is free now, with no vGPU naming it any more (it would
	 * read as an orphan VF; found by tests/crash). */
	if (r >= 0 && vms->nrows > 0) {
		carve_hw_inventory_clear(&inv);
		r = carve_host_discover(ctx->host, &inv, err);
	}
	if (r >= 0)
		r = carve_db_execf(ctx->db, &known, err, "SELECT uuid, device_pci FROM vgpu", 0);
	for (size_t g = 0; r >= 0 && g < inv.n_gpus; g++) {
		const struct carve_hw_gpu *gpu = &inv.gpus[g];
		for (size_t d = 0; d < gpu->n_devs; d++) {
			bool ours = false;
			for (size_t k = 0; k < known->nrows && !ours; k++)
				ours = strcmp(carve_rows_cell(known, k, 0), gpu->devs[d].uuid) == 0;
			if (!ours && gpu->devs[d].uuid[0]) {
				char detail[160];
				snprintf(detail, sizeof(detail), "type %s on %s (carve vgpu-adopt uuid=%s vm-uuid=...)",
					 gpu->devs[d].type_id, gpu->devs[d].parent, gpu->devs[d].uuid);
				act(actions, "orphan", NULL, gpu->devs[d].uuid, detail);
			}
		}
		for (size_t v = 0; v < gpu->n_vfs; v++) {
			bool ours = false;
			for (size_t k = 0; k < known->nrows && !ours; k++)
				ours = strcmp(carve_rows_cell(known, k, 1), gpu->vfs[v].pci) == 0;
			if (gpu->vfs[v].in_use && !ours)
				act(actions, "orphan-vf", NULL, NULL, gpu->vfs[v].pci);
		}
	}
	carve_hw_inventory_clear(&inv);
	if (r < 0)
		return r;
	*result = json_pack("{s:O}", "actions", actions);
	return 0;
}

static int adopt(struct carve_ctx *ctx, const struct carve_hw_inventory *inv, const char *uuid, const char *vm,
		 struct carve_error *err)
{
	const struct carve_hw_gpu *gpu = NULL;
	const struct carve_hw_dev *d = find_dev(inv, uuid, &gpu);
	if (!d)
		return carve_error_set(err, -ENOENT, "DEVICE_NOT_FOUND", "no device %s on this host", uuid);
	_cleanup_rows_ struct carve_rows *rows = NULL, *p = NULL;
	int r = carve_db_execf(ctx->db, &rows, err, "SELECT COUNT(*) FROM vgpu WHERE uuid=$1", 1, uuid);
	if (r < 0)
		return r;
	if (atol(carve_rows_cell(rows, 0, 0)) > 0)
		return carve_error_set(err, -EEXIST, "UUID_ALREADY_EXISTS", "vGPU %s is already known to carve", uuid);
	const struct carve_hw_type *t = carve_hw_gpu_find_type(gpu, d->type_id);
	if (!t)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED", "device %s has unknown type %s", uuid,
				       d->type_id);
	char key[256], kname[300], type_uuid[37];
	carve_type_key(t->impl, t->name, key, sizeof(key));
	snprintf(kname, sizeof(kname), "vgpu-type/%s", key);
	carve_uuid_from_name(CARVE_UUID_NS, kname, type_uuid);
	r = carve_db_execf(ctx->db, &p, err,
			   "SELECT p.uuid, p.gpu_group_uuid, "
			   "(SELECT power_state FROM vm WHERE uuid=$3) AS st FROM pgpu p WHERE p.host_uuid=$1 AND p.pci_id=$2",
			   3, ctx->host_uuid, gpu->pci, vm);
	if (r < 0)
		return r;
	if (p->nrows == 0 || !carve_rows_get(p, 0, "st"))
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no vm with uuid %s", vm);
	const char *st = carve_rows_get(p, 0, "st");
	if (strcmp(st, "halted") != 0 && strcmp(st, "running") != 0)
		return carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE", "VM %s is %s", vm, st);
	char dev[16];
	if ((r = carve_vm_free_slot(ctx, vm, dev, err)) < 0)
		return r;
	r = carve_db_execf(ctx->db, NULL, err,
			   "INSERT INTO vgpu (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, resident_on, "
			   "device_pci, extra_args, state, origin) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'running','adopted')",
			   8, uuid, vm, type_uuid, carve_rows_get(p, 0, "gpu_group_uuid"), dev, carve_rows_get(p, 0, "uuid"),
			   d->parent, d->params);
	if (r < 0)
		return r;
	/* The device exists and is in use: the VM it belongs to is running here. */
	return carve_db_execf(ctx->db, NULL, err, "UPDATE vm SET power_state='running', resident_on=$2 WHERE uuid=$1", 2,
			      vm, ctx->host_uuid);
}

int carve_op_vgpu_adopt(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37];
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 || (r = carve_arg_uuid(args, "vm-uuid", true, vm, err)) < 0)
		return r;
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "vgpu-adopt needs a host");
	struct carve_hw_inventory inv = {0};
	if ((r = carve_host_discover(ctx->host, &inv, err)) < 0)
		return r;
	if ((r = carve_db_begin(ctx->db, err)) >= 0)
		r = carve_db_end(ctx->db, adopt(ctx, &inv, uuid, vm, err), err);
	carve_hw_inventory_clear(&inv);
	if (r < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}
