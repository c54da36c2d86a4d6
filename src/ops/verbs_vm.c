/* verbs_vm.c - VMs and vGPUs: define, start (place + create), shut down.
 *
 * vm-start follows "write intent, act, then confirm":
 *   1. one transaction places every vGPU of the VM (all or nothing), records
 *      scheduled_pgpu + state 'reserved' and the VM as 'starting', commits;
 *   2. the host backend creates each device and writes its vgpu_params;
 *   3. a second transaction confirms: resident_on, state 'running'.
 * A failure in 2 removes what was created and releases the reservation, so no
 * capacity leaks; a crash between 1 and 3 is finished by host-reconcile,
 * which rolls an interrupted start back and an interrupted shutdown forward.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "model/model.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "verbs.h"
#include "pool.h"
#include "vm.h"

static int require_halted(const struct carve_obj_vm *vm, const char *what, struct carve_error *err)
{
	if (vm->power != CARVE_POWER_HALTED)
		return carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE", "VM %s is %s; %s needs it halted", vm->uuid,
				       carve_power_state_name(vm->power), what);
	return 0;
}

/* vgpu_params syntax: key=value[,key=value]; keys [a-z][a-z0-9_]*, values
 * [A-Za-z0-9_.:-]*, at most 255 bytes in all.  Strict because it is written
 * to a kernel attribute. */
int carve_extra_args_valid(const char *s, struct carve_error *err)
{
	if (strlen(s) > 255)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "extra-args is longer than 255 characters");
	const char *p = s;
	while (*p) {
		if (!islower((unsigned char)*p))
			goto bad;
		while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
			p++;
		if (*p++ != '=')
			goto bad;
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':' || *p == '-')
			p++;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	return carve_error_set(err, -EINVAL, "INVALID_VALUE",
			       "invalid extra-args '%.64s' (expected key=value[,key=value], e.g. frame_rate_limiter=0)", s);
}

/* ---- VM ---- */

int carve_op_vm_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *label, *desc;
	int64_t numa = -1;
	int r;
	if ((r = carve_arg_str(args, "name-label", true, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_uuid(args, "uuid", false, uuid, err)) < 0 ||
	    (r = carve_arg_int(args, "numa-node", false, -1, 1023, &numa, err)) < 0)
		return r;
	if (strlen(label) > 255 || (desc && strlen(desc) > 255))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "name-label/name-description longer than 255 characters");
	if (!uuid[0])
		carve_uuid_generate(uuid);
	if ((r = carve_ops_begin(ctx, err)) < 0)
		return r;
	_cleanup_rows_ struct carve_rows *row = NULL;
	if (ctx->model->vms.n >= CARVE_MAX_VMS)
		r = carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "too many VMs (limit %d)", CARVE_MAX_VMS);
	else if (carve_model_vm(ctx->model, uuid))
		r = carve_error_set(err, -EEXIST, "UUID_ALREADY_EXISTS", "a VM with uuid %s already exists", uuid);
	else
		r = carve_repo_vm_insert(ctx->db, uuid, label, desc, (int32_t)numa, &row, err);
	if (r == -EEXIST) /* another writer's, between the model and the store */
		carve_error_reset(err, -EEXIST, "UUID_ALREADY_EXISTS", "a VM with uuid %s already exists", uuid);
	if (r >= 0)
		r = carve_pool_announce_vm(ctx, uuid, err);
	/* The row as inserted is the VM as the store has it: no reading back. */
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_set_vm(ctx->model, ctx->db, uuid, row, NULL, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}

/* The VM of a verb, inside its (exclusive) transaction: must exist
 * (UUID_NOT_FOUND).  Read again from the store first: a pool's placement
 * path changes VMs in shared transactions that the model may not have heard
 * of yet, and none runs while this transaction holds the writer lock. */
static int vm_of(struct carve_ctx *ctx, const char *uuid, struct carve_obj_vm **vm, struct carve_error *err)
{
	int r = carve_model_reload_vm(ctx->model, ctx->db, uuid, err);
	if (r < 0)
		return r;
	*vm = carve_model_vm(ctx->model, uuid);
	return *vm ? 0 : carve_ops_not_found("vm", uuid, err);
}

int carve_op_vm_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	struct carve_obj_vm *vm;
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = carve_ops_begin(ctx, err)) < 0)
		return r;
	/* Optimistic: the VM is read again (as vm_of does) and deleted in one
	 * round trip; if what was read says it may not go, the transaction
	 * (a batch member's savepoint) is rolled back and the model keeps the
	 * VM as read. */
	_cleanup_rows_ struct carve_rows *row = NULL, *vgpus = NULL;
	if ((r = carve_repo_vm_reread_delete(ctx->db, uuid, &row, &vgpus, err)) >= 0 &&
	    (r = carve_model_set_vm(ctx->model, ctx->db, uuid, row, vgpus, err)) >= 0)
		r = (vm = carve_model_vm(ctx->model, uuid)) ? require_halted(vm, "vm-destroy", err)
							    : carve_ops_not_found("vm", uuid, err);
	if (r >= 0)
		r = carve_pool_announce_vm(ctx, uuid, err);
	/* Deleted, with its vGPUs: gone from the model too, no reading back. */
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_set_vm(ctx->model, ctx->db, uuid, NULL, NULL, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_op_vm_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *label, *desc, *numa_s, *p2p;
	int64_t numa = -1;
	struct carve_obj_vm *vm;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "name-label", false, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_str(args, "numa-node", false, &numa_s, err)) < 0 ||
	    (r = carve_arg_int(args, "numa-node", false, -1, 1023, &numa, err)) < 0 ||
	    (r = carve_arg_str(args, "p2p", false, &p2p, err)) < 0)
		return r;
	if (p2p && carve_p2p_from_name(p2p) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "invalid p2p '%.64s' (expected none, preferred or required)",
				       p2p);
	if ((label && strlen(label) > 255) || (desc && strlen(desc) > 255))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "name-label/name-description longer than 255 characters");
	int32_t n32 = (int32_t)numa;
	if ((r = carve_ops_begin(ctx, err)) < 0)
		return r;
	if ((r = vm_of(ctx, uuid, &vm, err)) >= 0)
		r = carve_repo_vm_update(ctx->db, uuid, label, desc, numa_s ? &n32 : NULL, p2p, err);
	if (r >= 0)
		r = carve_pool_announce_vm(ctx, uuid, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

/* ---- vGPU definitions ---- */

int carve_vm_free_slot(const struct carve_obj_vm *vm, uint32_t *out, struct carve_error *err)
{
	for (uint32_t dev = 0; dev < CARVE_MAX_VGPUS_PER_VM; dev++) {
		bool used = false;
		for (uint32_t i = 0; i < vm->n_vgpus && !used; i++)
			used = vm->vgpus[i]->device == dev;
		if (!used) {
			*out = dev;
			return 0;
		}
	}
	return carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "VM %s already has %d vGPUs", vm->uuid,
			       CARVE_MAX_VGPUS_PER_VM);
}

int carve_ops_vgpu_define(struct carve_ctx *ctx, json_t *args, const char *want_uuid, char uuid[37], char vm_uuid[37],
			  struct carve_error *err)
{
	char group[37], type[37];
	const char *device, *extra;
	int r;
	if ((r = carve_arg_uuid(args, "vm-uuid", true, vm_uuid, err)) < 0 ||
	    (r = carve_arg_uuid(args, "gpu-group-uuid", true, group, err)) < 0 ||
	    (r = carve_arg_uuid(args, "vgpu-type-uuid", false, type, err)) < 0 ||
	    (r = carve_arg_str(args, "device", false, &device, err)) < 0 ||
	    (r = carve_arg_str(args, "extra-args", false, &extra, err)) < 0)
		return r;
	if (extra && (r = carve_extra_args_valid(extra, err)) < 0)
		return r;
	if (!type[0]) /* no type means passthrough, as in XAPI */
		carve_uuid_from_name(CARVE_UUID_NS, "vgpu-type/passthrough", type);
	uint32_t dev = 0;
	if (device && (carve_parse_u32(device, &dev) < 0 || dev >= CARVE_MAX_VGPUS_PER_VM))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "device must be a slot number from 0 to %d, not '%.32s'",
				       CARVE_MAX_VGPUS_PER_VM - 1, device);
	struct carve_obj_vm *vm;
	if ((r = vm_of(ctx, vm_uuid, &vm, err)) < 0 || (r = require_halted(vm, "vgpu-create", err)) < 0)
		return r;
	const struct carve_obj_group *g;
	const struct carve_obj_type *t;
	if ((r = carve_ops_group_type(ctx, group, type, &g, &t, err)) < 0)
		return r;
	bool supported = false;
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, p) {
		ssize_t k = p->group == g ? carve_pgpu_slot_of(p, t) : -1;
		supported |= k >= 0 && !carve_pgpu_place(p)->slots[k].unsupported;
	}
	if (!supported)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED",
				       "vGPU type %s (%s) is not supported by any PGPU of GPU group %s", type, t->model_name,
				       group);
	if (vm->n_vgpus >= CARVE_MAX_VGPUS_PER_VM)
		return carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "VM %s already has %d vGPUs", vm_uuid,
				       CARVE_MAX_VGPUS_PER_VM);
	/* Several vGPUs in one VM: every pair must allow it (multi-vGPU types of one vendor). */
	for (uint32_t i = 0; i < vm->n_vgpus; i++) {
		const struct carve_obj_type *o = vm->vgpus[i]->type;
		if (!(t->multi_vgpu && o->multi_vgpu && strcmp(t->vendor_name, o->vendor_name) == 0))
			return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_COMPATIBLE",
					       "vGPU type %s cannot share VM %s with its %s vGPU: only multi-vGPU "
					       "(full-size) types of one vendor can be combined",
					       t->model_name, vm_uuid, o->model_name);
	}
	if (device) {
		for (uint32_t i = 0; i < vm->n_vgpus; i++)
			if (vm->vgpus[i]->device == dev)
				return carve_error_set(err, -EEXIST, "DEVICE_ALREADY_EXISTS",
						       "VM %s already has a vGPU in slot %u", vm_uuid, dev);
	} else if ((r = carve_vm_free_slot(vm, &dev, err)) < 0) {
		return r;
	}
	if (want_uuid && carve_model_vgpu(ctx->model, want_uuid))
		return carve_error_set(err, -EEXIST, "UUID_ALREADY_EXISTS", "vGPU %s is already known to carve", want_uuid);
	if (want_uuid)
		carve_strlcpy(uuid, want_uuid, 37);
	else
		carve_uuid_generate(uuid);
	struct carve_repo_vgpu v = {.uuid = uuid, .vm = vm_uuid, .type = type, .group = group, .device = dev,
				    .extra_args = extra, .state = CARVE_VGPU_DEFINED, .origin = CARVE_ORIGIN_CARVE};
	r = carve_repo_vgpu_insert(ctx->db, &v, err);
	if (r == -EEXIST)
		return carve_error_reset(err, -EEXIST, "DEVICE_ALREADY_EXISTS", "VM %s already has a vGPU in slot %u",
					 vm_uuid, dev);
	return r < 0 ? r : carve_pool_announce_vm(ctx, vm_uuid, err);
}

int carve_op_vgpu_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37];
	int r = carve_ops_begin(ctx, err);
	if (r < 0 || (r = carve_ops_end(ctx, carve_ops_vgpu_define(ctx, args, NULL, uuid, vm, err), err)) < 0 ||
	    (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}

/* The vGPU of a verb and its (halted) VM. */
static int vgpu_of_halted(struct carve_ctx *ctx, const char *uuid, const char *what, struct carve_obj_vgpu **v,
			  struct carve_error *err)
{
	*v = carve_model_vgpu(ctx->model, uuid);
	if (!*v)
		return carve_ops_not_found("vgpu", uuid, err);
	char vm[37];
	struct carve_obj_vm *o;
	carve_strlcpy(vm, (*v)->vm->uuid, sizeof(vm));
	int r = vm_of(ctx, vm, &o, err); /* the VM as the store has it (vm_of) */
	if (r < 0)
		return r;
	if (!(*v = carve_model_vgpu(ctx->model, uuid)))
		return carve_ops_not_found("vgpu", uuid, err);
	return require_halted((*v)->vm, what, err);
}

int carve_op_vgpu_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37] = "";
	struct carve_obj_vgpu *v;
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = carve_ops_begin(ctx, err)) < 0)
		return r;
	if ((r = vgpu_of_halted(ctx, uuid, "vgpu-destroy", &v, err)) >= 0) {
		snprintf(vm, sizeof(vm), "%s", v->vm->uuid);
		r = carve_repo_vgpu_delete(ctx->db, uuid, err);
		if (r >= 0)
			r = carve_pool_announce_vm(ctx, vm, err);
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_op_vgpu_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], vm[37] = "";
	const char *extra;
	struct carve_obj_vgpu *v;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "extra-args", true, &extra, err)) < 0 || (r = carve_extra_args_valid(extra, err)) < 0)
		return r;
	if ((r = carve_ops_begin(ctx, err)) < 0)
		return r;
	/* vgpu_params are read by the vendor manager when the VM starts. */
	if ((r = vgpu_of_halted(ctx, uuid, "changing extra-args", &v, err)) >= 0) {
		snprintf(vm, sizeof(vm), "%s", v->vm->uuid);
		r = carve_repo_vgpu_set_extra_args(ctx->db, uuid, extra, err);
		if (r >= 0)
			r = carve_pool_announce_vm(ctx, vm, err);
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_vm(ctx->model, ctx->db, vm, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}
