/* verbs_emit.c - hand a VM what it needs: the libvirt domain document, QEMU
 * arguments, mdevctl definitions, the guest licence config, and whether a
 * vGPU could move to another PGPU.  Read-only verbs over the model; the
 * formats themselves live in src/emit (docs/emit.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "emit/emit.h"
#include "state/model.h"
#include "util/cleanup.h"
#include "verbs.h"

#define MAX_VGPUS CARVE_MAX_VGPUS_PER_VM

/* The realized vGPUs of a running VM, in slot order, display assigned. */
/* Are the VM's vGPUs on pairwise NVLink-connected GPUs (as placement
 * puts a P2P VM's, where it can)? */
static bool vgpus_nvlinked(const struct carve_obj_vm *o)
{
	for (uint32_t i = 0; i < o->n_vgpus; i++)
		for (uint32_t j = i + 1; j < o->n_vgpus; j++) {
			const struct carve_obj_pgpu *a = o->vgpus[i]->resident, *b = o->vgpus[j]->resident;
			bool joined = false;
			for (uint8_t k = 0; a && b && k < a->n_nvlink && !joined; k++)
				joined = strcmp(a->nvlink[k].peer, carve_pgpu_place(b)->pci) == 0;
			if (!joined)
				return false;
		}
	return true;
}

static int load_vm(struct carve_ctx *ctx, json_t *args, struct carve_emit_vm *vm, struct carve_emit_vgpu *v, size_t *n,
		   struct carve_error *err)
{
	char uuid[37];
	int64_t vcpus = 4, mem = 8192;
	bool huge = false, hyperv = false, display = true;
	const char *cpuset, *dtype;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "domain-type", false, &dtype, err)) < 0 ||
	    (r = carve_arg_bool(args, "display", &display, err)) < 0 ||
	    (r = carve_arg_int(args, "vcpus", false, 1, 512, &vcpus, err)) < 0 ||
	    (r = carve_arg_int(args, "memory-mib", false, 256, 16 * 1024 * 1024, &mem, err)) < 0 ||
	    (r = carve_arg_bool(args, "hugepages", &huge, err)) < 0 || (r = carve_arg_bool(args, "hyperv", &hyperv, err)) < 0 ||
	    (r = carve_arg_str(args, "cpuset", false, &cpuset, err)) < 0)
		return r;
	if (dtype && strcmp(dtype, "kvm") != 0 && strcmp(dtype, "qemu") != 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "domain-type: kvm (hardware virtualization) or qemu (emulation, TCG)");
	const struct carve_obj_vm *o = carve_model_vm(ctx->model, uuid);
	if (!o)
		return carve_ops_not_found("vm", uuid, err);
	if (o->power != CARVE_POWER_RUNNING)
		return carve_error_set(err, -EBUSY, "VM_BAD_POWER_STATE",
				       "VM %s is %s: its vGPUs exist only while it runs (vm-start first)", uuid,
				       carve_power_state_name(o->power));
	if (o->n_vgpus > MAX_VGPUS)
		return carve_error_set(err, -E2BIG, "LIMIT_REACHED", "VM %s has %u vGPUs; at most %d are supported", uuid,
				       o->n_vgpus, MAX_VGPUS);
	memset(vm, 0, sizeof(*vm));
	carve_strlcpy(vm->uuid, uuid, sizeof(vm->uuid));
	carve_strlcpy(vm->name, o->name_label, sizeof(vm->name));
	vm->numa_node = o->numa_node;
	vm->vcpus = (uint32_t)vcpus;
	vm->memory_mib = (uint32_t)mem;
	vm->hugepages_1g = huge;
	vm->hyperv = hyperv;
	vm->cpuset = cpuset;
	vm->emulated = dtype && strcmp(dtype, "qemu") == 0;
	vm->p2p = o->p2p != CARVE_P2P_NONE && o->n_vgpus > 1 && vgpus_nvlinked(o);
	*n = 0;
	for (uint32_t i = 0; i < o->n_vgpus; i++) { /* by slot */
		const struct carve_obj_vgpu *g = o->vgpus[i];
		if (g->state != CARVE_VGPU_RUNNING)
			continue;
		struct carve_emit_vgpu *e = &v[(*n)++];
		memset(e, 0, sizeof(*e));
		carve_strlcpy(e->uuid, g->uuid, sizeof(e->uuid));
		e->impl = g->type->impl;
		carve_strlcpy(e->device_pci, g->device_pci, sizeof(e->device_pci));
		carve_strlcpy(e->model_name, g->type->model_name, sizeof(e->model_name));
	}
	if (carve_emit_assign_display(v, *n) < 0)
		return carve_error_set(err, -EINVAL, "INTERNAL_ERROR", "cannot assign the display of VM %s", uuid);
	/* display=false: a headless VM (compute, or a vGPU without a console
	 * region): no vGPU drives a display, no graphics device. */
	for (size_t i = 0; !display && i < *n; i++)
		v[i].display = false;
	return 0;
}

int carve_op_vm_libvirt_xml(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	struct carve_emit_vm vm;
	struct carve_emit_vgpu v[MAX_VGPUS];
	size_t n;
	_cleanup_free_ char *xml = NULL;
	int r = load_vm(ctx, args, &vm, v, &n, err);
	if (r < 0 || (r = carve_emit_libvirt_domain(&vm, v, n, &xml, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "value", xml);
	return *result ? 0 : -ENOMEM;
}

int carve_op_vm_qemu_args(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	struct carve_emit_vm vm;
	struct carve_emit_vgpu v[MAX_VGPUS];
	size_t n;
	json_t *argv = NULL;
	int r = load_vm(ctx, args, &vm, v, &n, err);
	if (r < 0 || (r = carve_emit_qemu_args(&vm, v, n, &argv, err)) < 0)
		return r;
	*result = json_pack("{s:o}", "qemu-args", argv);
	return *result ? 0 : -ENOMEM;
}

int carve_op_vgpu_mdevctl_json(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0)
		return r;
	const struct carve_obj_vgpu *g = carve_model_vgpu(ctx->model, uuid);
	if (!g)
		return carve_ops_not_found("vgpu", uuid, err);
	struct carve_emit_vgpu e = {0};
	carve_strlcpy(e.uuid, uuid, sizeof(e.uuid));
	e.impl = g->type->impl;
	if (e.impl != CARVE_IMPL_NVIDIA_MDEV && e.impl != CARVE_IMPL_GVT_G)
		return carve_error_set(err, -EINVAL, "VGPU_NOT_MDEV", "vGPU %s is %s-backed: mdevctl manages only mdevs", uuid,
				       carve_impl_name(e.impl));
	carve_strlcpy(e.device_pci, g->device_pci, sizeof(e.device_pci));
	carve_strlcpy(e.model_name, g->type->model_name, sizeof(e.model_name));
	json_t *j = NULL;
	char params[256];
	const struct carve_obj_pgpu *p = g->resident ? g->resident : g->scheduled;
	if (carve_vgpu_params_merge(p ? p->vgpu_params : "", g->extra_args, params, sizeof(params)) < 0)
		return carve_error_set(err, -E2BIG, "INVALID_VALUE", "vGPU %s: its vgpu_params are too long", uuid);
	if ((r = carve_emit_mdevctl_json(&e, g->type->identifier, params[0] ? params : NULL, &j, err)) < 0)
		return r;
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return -ENOMEM;
	*result = json_pack("{s:s}", "value", text);
	free(text);
	return *result ? 0 : -ENOMEM;
}

int carve_op_gridd_conf(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	(void)ctx;
	const char *server;
	int64_t port = CARVE_EMIT_GRIDD_DEFAULT_PORT, feature = 1;
	_cleanup_free_ char *text = NULL;
	int r;
	if ((r = carve_arg_str(args, "server", true, &server, err)) < 0 ||
	    (r = carve_arg_int(args, "port", false, 1, 65535, &port, err)) < 0 ||
	    (r = carve_arg_int(args, "feature-type", false, 0, 4, &feature, err)) < 0 ||
	    (r = carve_emit_gridd_conf(server, (uint32_t)port, (uint32_t)feature, &text, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "value", text);
	return *result ? 0 : -ENOMEM;
}

/* Could this vGPU live on that PGPU (live migration, or a planned move)?
 * The same checks as placement, on the destination alone. */
int carve_op_vgpu_migration_check(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char vgpu[37], pgpu[37];
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, vgpu, err)) < 0 ||
	    (r = carve_arg_uuid(args, "pgpu-uuid", true, pgpu, err)) < 0)
		return r;
	const struct carve_obj_vgpu *v = carve_model_vgpu(ctx->model, vgpu);
	const struct carve_obj_pgpu *p = carve_model_pgpu(ctx->model, pgpu);
	if (!v)
		return carve_ops_not_found("vgpu", vgpu, err);
	if (!p || !p->group)
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no pgpu with uuid %s in a GPU group", pgpu);
	enum carve_place_reason why = CARVE_PLACE_NOT_SUPPORTED;
	int64_t cap = 0;
	if ((r = carve_model_capacity(ctx->model, p, v->type, &cap, &why, err)) < 0)
		return r;
	const char *here = v->resident ? v->resident->uuid : NULL;
	bool same = here && strcmp(here, pgpu) == 0;
	*result = json_pack("{s:b, s:s, s:I}", "compatible", !same && cap > 0, "reason",
			    same ? "ALREADY_RESIDENT" : carve_place_reason_id(why), "remaining-capacity", (json_int_t)cap);
	return *result ? 0 : -ENOMEM;
}
