/* mdevimport.c - mdevctl-import: the host's mdevctl definitions
 * (host/mdevctl_defs.h) taken over as carve vGPUs, leaving mdevctl's files
 * as they are.
 *
 * Each definition becomes a vGPU with the mdev's UUID, of the type its
 * mdev_type names on the PGPU its parent is (or whose VF it is), in the VM
 * named by vm= (found by UUID or name-label, created with that name-label
 * when no VM has it) or, without vm=, in a VM of its own that the import
 * creates ("mdevctl-<first 8 digits of the UUID>").  Its one attribute carve
 * can carry, nvidia/vgpu_params, becomes the vGPU's extra-args.  A device
 * that exists now (mdevctl started it) is adopted: its VM is running here.
 * Otherwise the vGPU is defined and its VM halted: carve creates the
 * device when the VM starts.
 *
 * One transaction per definition: one that cannot be taken (no such
 * parent or type, another attribute, a VM that is not halted, a UUID carve
 * already has) is listed under "skipped" with the reason and changes
 * nothing; the others are imported.  Running it again imports nothing
 * twice.  dry-run=true says what would be done and changes nothing.
 * Errors of the whole verb: INVALID_VALUE (dir), MDEVCTL_DIR_UNREADABLE,
 * NO_HOST_BACKEND, VM_NAME_AMBIGUOUS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "host/mdevctl_defs.h"
#include "model/model.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/sysfs.h"
#include "util/uuid.h"
#include "verbs.h"
#include "vm.h"

#define PARAMS_ATTR "nvidia/vgpu_params"

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

/* What one definition becomes. */
struct take {
	const struct carve_obj_pgpu *pgpu;
	const struct carve_hw_type *type;
	char type_uuid[37];
	const char *params; /* borrowed from the definition, "" when none */
	bool adopt;         /* the device exists now */
};

/* The VM vm= names: by UUID, else by name-label (unique).  *vm NULL and 0
 * when no VM has that name-label (the import creates it). */
static int named_vm(struct carve_ctx *ctx, const char *arg, const struct carve_obj_vm **vm, struct carve_error *err)
{
	*vm = NULL;
	if (carve_uuid_valid(arg)) {
		char u[37];
		carve_uuid_normalize(arg, u);
		*vm = carve_model_vm(ctx->model, u);
		return *vm ? 0 : carve_ops_not_found("vm", u, err);
	}
	carve_model_each(ctx->model, vms, struct carve_obj_vm, o) {
		if (strcmp(o->name_label, arg) != 0)
			continue;
		if (*vm)
			return carve_error_set(err, -EINVAL, "VM_NAME_AMBIGUOUS",
					       "more than one VM is named '%.64s': give vm=<uuid>", arg);
		*vm = o;
	}
	return 0;
}

/* Why d cannot be taken (into why), or 0 with *t filled. */
static int judge(struct carve_ctx *ctx, const struct carve_mdevctl_def *d, struct take *t, char *why, size_t size)
{
	*t = (struct take){.params = ""};
	if (carve_model_vgpu(ctx->model, d->uuid))
		return snprintf(why, size, "vGPU %s is carve's already", d->uuid), -EEXIST;
	const struct carve_hw_gpu *hw = carve_hw_inventory_find(ctx->inv, d->parent);
	/* NVIDIA's SR-IOV mdev GPUs (A100 before vendor-specific VFIO) have
	 * their VFs as mdev parents: the PGPU is the PF. */
	for (size_t g = 0; !hw && ctx->inv && g < ctx->inv->n_gpus; g++)
		for (size_t v = 0; v < ctx->inv->gpus[g].n_vfs; v++)
			if (strcmp(ctx->inv->gpus[g].vfs[v].pci, d->parent) == 0)
				hw = &ctx->inv->gpus[g];
	t->pgpu = hw ? carve_model_pgpu_at(ctx->model, ctx->host_uuid, hw->pci) : NULL;
	if (!t->pgpu)
		return snprintf(why, size, "no GPU of this host at %s", d->parent), -ENOENT;
	t->type = carve_hw_gpu_find_type(hw, d->type);
	if (!t->type || (t->type->impl != CARVE_IMPL_NVIDIA_MDEV && t->type->impl != CARVE_IMPL_GVT_G))
		return snprintf(why, size, "%s (%s) has no mdev type %s", hw->pci, hw->board[0] ? hw->board : hw->driver,
				d->type),
		       -EINVAL;
	if (carve_type_uuid(t->type->impl, t->type->name, t->type_uuid) < 0 || !carve_model_type(ctx->model, t->type_uuid))
		return snprintf(why, size, "type %s of %s is not in carve's model", d->type, hw->pci), -EINVAL;
	if (!t->pgpu->group)
		return snprintf(why, size, "PGPU %s is in no GPU group", hw->pci), -EINVAL;
	for (size_t i = 0; i < d->n_attrs; i++) {
		if (strcmp(d->attrs[i].key, PARAMS_ATTR) != 0)
			return snprintf(why, size, "attribute %.64s is not one carve sets (only " PARAMS_ATTR ")",
					d->attrs[i].key),
			       -EINVAL;
		struct carve_error e = {0};
		if (t->params[0] || carve_extra_args_valid(d->attrs[i].value, &e) < 0)
			return snprintf(why, size, "%.200s", t->params[0] ? PARAMS_ATTR " given twice" : e.message), -EINVAL;
		t->params = d->attrs[i].value;
	}
	const struct carve_hw_gpu *on;
	const struct carve_hw_dev *dev = carve_hw_inventory_find_dev(ctx->inv, d->uuid, &on);
	if (dev && strcmp(dev->type_id, d->type) != 0)
		return snprintf(why, size, "the device exists as %s, not %s", dev->type_id, d->type), -EINVAL;
	t->adopt = dev != NULL;
	return 0;
}

/* Take d into VM vm_uuid (created as label when create): one transaction. */
static int take(struct carve_ctx *ctx, const struct carve_mdevctl_def *d, const struct take *t, const char *vm_uuid,
		bool create, const char *label, struct carve_error *err)
{
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	if (create) {
		_cleanup_free_ char *desc = carve_strdupf("imported from mdevctl's %s", d->path);
		_cleanup_rows_ struct carve_rows *row = NULL;
		r = desc ? carve_repo_vm_insert(ctx->db, vm_uuid, label, desc, -1, &row, err) : oom(err);
		if (r >= 0)
			r = carve_model_set_vm(ctx->model, ctx->db, vm_uuid, row, NULL, err);
	}
	if (r >= 0 && t->adopt) {
		r = carve_ops_vgpu_adopt_dev(ctx, d->uuid, vm_uuid, err);
	} else if (r >= 0) {
		json_t *args = json_pack("{s:s, s:s, s:s, s:s}", "vm-uuid", vm_uuid, "gpu-group-uuid", t->pgpu->group->uuid,
					 "vgpu-type-uuid", t->type_uuid, "extra-args", t->params);
		char uuid[37], vm[37];
		r = args ? carve_ops_vgpu_define(ctx, args, d->uuid, uuid, vm, err) : oom(err);
		json_decref(args);
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0) {
		/* The VM's row went with the transaction: so does the model's. */
		if (create)
			carve_model_reload_vm(ctx->model, ctx->db, vm_uuid, &(struct carve_error){0});
		return r;
	}
	return carve_model_reload_vm(ctx->model, ctx->db, vm_uuid, err);
}

int carve_op_mdevctl_import(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	const char *dir = NULL, *vm_arg = NULL;
	bool dry = false;
	int r;
	if ((r = carve_arg_str(args, "dir", false, &dir, err)) < 0 || (r = carve_arg_str(args, "vm", false, &vm_arg, err)) < 0 ||
	    (r = carve_arg_bool(args, "dry-run", &dry, err)) < 0)
		return r;
	if (!dir)
		dir = CARVE_MDEVCTL_DIR;
	if (dir[0] != '/' || strlen(dir) > 255 || (dir[1] && !carve_sysfs_path_valid(dir + 1)))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "dir must be an absolute path without '..', '.' or empty components, at most 255 "
				       "characters: '%.64s'",
				       dir);
	if (vm_arg && (!vm_arg[0] || strlen(vm_arg) > 255))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "vm must be a VM's UUID or a name-label of 1 to 255 "
				       "characters");
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "mdevctl-import needs a host (drop --no-discover)");
	_cleanup_(carve_mdevctl_defs_clear) struct carve_mdevctl_defs defs = {0};
	if ((r = carve_mdevctl_defs_read(dir, &defs, err)) < 0)
		return r;
	/* The devices mdevctl started are looked for on the host as it is now. */
	carve_model_unlock(ctx->model);
	r = carve_ops_refresh(ctx, err);
	carve_model_wrlock(ctx->model);
	if (r < 0)
		return r;
	const struct carve_obj_vm *target = NULL;
	char target_uuid[37] = ""; /* vm='s VM once it exists */
	if (vm_arg && (r = named_vm(ctx, vm_arg, &target, err)) < 0)
		return r;
	if (target)
		carve_strlcpy(target_uuid, target->uuid, sizeof(target_uuid));

	_cleanup_json_ json_t *done = json_array(), *skipped = json_array();
	if (!done || !skipped)
		return oom(err);
	for (size_t i = 0; i < defs.skipped.n; i++)
		json_array_append_new(skipped, json_string(defs.skipped.v[i]));
	for (size_t i = 0; i < defs.n; i++) {
		const struct carve_mdevctl_def *d = &defs.v[i];
		struct take t;
		char why[640];
		if (judge(ctx, d, &t, why, sizeof(why)) < 0) {
			json_array_append_new(skipped, json_sprintf("%s: %s", d->path, why));
			continue;
		}
		/* vm= names one VM for all: the first definition creates it. */
		bool create = !vm_arg || !target_uuid[0];
		char vm_uuid[37], label[256];
		if (vm_arg && target_uuid[0])
			carve_strlcpy(vm_uuid, target_uuid, sizeof(vm_uuid));
		else
			carve_uuid_generate(vm_uuid);
		const struct carve_obj_vm *have = target_uuid[0] ? carve_model_vm(ctx->model, target_uuid) : NULL;
		if (have)
			snprintf(label, sizeof(label), "%s", have->name_label);
		else if (vm_arg)
			snprintf(label, sizeof(label), "%s", vm_arg);
		else
			snprintf(label, sizeof(label), "mdevctl-%.8s", d->uuid);
		struct carve_error e = {0};
		if (!dry && (r = take(ctx, d, &t, vm_uuid, create, label, &e)) < 0) {
			if (r == -ENOMEM)
				return oom(err);
			json_array_append_new(skipped, json_sprintf("%s: %s: %s", d->path, e.id, e.message));
			continue;
		}
		if (vm_arg && create && !dry)
			carve_strlcpy(target_uuid, vm_uuid, sizeof(target_uuid));
		const char *action = t.adopt ? (dry ? "would adopt the running device" : "adopted, running")
					     : (dry ? "would define" : "defined, halted");
		json_array_append_new(done, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "definition", d->path, "uuid",
						      d->uuid, "vm", dry && create ? "(new)" : vm_uuid, "vm-name-label", label,
						      "type", t.type->name,
						      "start", d->autostart ? "auto" : "manual", "action", action));
	}
	*result = json_pack("{s:O, s:O, s:b, s:s}", "imported", done, "skipped", skipped, "dry-run", dry, "note",
			    "mdevctl's files are untouched: mdevctl still starts its 'auto' definitions at boot "
			    "(mdevctl modify --manual, or mdevctl undefine, once carve manages them)");
	return *result ? 0 : oom(err);
}
