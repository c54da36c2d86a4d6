/* migrate.c - vm-migration-check: could a running VM move, live, to another
 * host of the pool, and where would its vGPUs go?
 *
 * Read-only; it answers from the resident model, as placement would decide
 * now.  The VM is compatible with the destination when all of these hold:
 *   - the VM runs, on another host than the destination; the destination is
 *     enabled and live (its carved heartbeats);
 *   - NVIDIA's driver is known on both hosts and is the same version (RHEL's
 *     and NVIDIA's vGPU migration documentation: source and destination run
 *     the same vGPU manager release);
 *   - every vGPU's type migrates at all: NVIDIA vGPU types of Pascal and
 *     later boards (mdev or vendor-specific VFIO), not passthrough, not AMD
 *     MxGPU or Intel GVT-g, not Maxwell or Kepler boards;
 *   - each vGPU has a PGPU of its group on the destination that takes its
 *     type now (supported, enabled, healthy, compatible, capacity: placement's
 *     rules; types are pool-wide, so it is the same profile there);
 *   - a P2P VM (vm p2p=required) keeps NVLink between its vGPUs there.
 * Every reason that fails is listed, not only the first.  Errors:
 * UUID_NOT_FOUND, HOST_NOT_FOUND, HOST_NAME_AMBIGUOUS. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "model/catalog.h"
#include "pool.h"
#include "state/model.h"
#include "util/cleanup.h"
#include "verbs.h"
#include "vm.h"

/* Does a vGPU of type t migrate at all (see above)? */
static const char *type_migrates(const struct carve_obj_type *t)
{
	if (t->impl != CARVE_IMPL_NVIDIA_MDEV && t->impl != CARVE_IMPL_NVIDIA_SRIOV)
		return "only NVIDIA vGPU types migrate live (not passthrough, AMD MxGPU or Intel GVT-g)";
	const struct carve_board *b = carve_board_by_name(t->place.board);
	const char *arch = b && b->architecture ? b->architecture : "";
	if (strncmp(arch, "Maxwell", 7) == 0 || strncmp(arch, "Kepler", 6) == 0)
		return "NVIDIA migrates vGPUs of Pascal and later GPUs only";
	return NULL;
}

static int add(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(json_t *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_array_append_new(a, json_string(buf));
}

int carve_op_vm_migration_check(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *to;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 || (r = carve_arg_str(args, "host", true, &to, err)) < 0)
		return r;
	const struct carve_obj_vm *vm = carve_model_vm(ctx->model, uuid);
	if (!vm)
		return carve_ops_not_found("vm", uuid, err);
	const struct carve_obj_host *dst = carve_pool_host_named(ctx, to, err);
	if (!dst)
		return err->code;
	const struct carve_obj_host *src = vm->resident_on;
	_cleanup_json_ json_t *why = json_array(), *vgpus = json_array();
	if (!why || !vgpus)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	if (vm->power != CARVE_POWER_RUNNING || !src)
		add(why, "VM_NOT_RUNNING: VM '%s' is %s: only a running VM migrates live", vm->name_label,
		    carve_power_state_name(vm->power));
	else if (src == dst)
		add(why, "SAME_HOST: VM '%s' runs on %s already", vm->name_label, dst->name_label);
	if (!dst->enabled)
		add(why, "HOST_DISABLED: %s is disabled (host-enable)", dst->name_label);
	else if (src != dst && !carve_model_host_live(ctx->model, dst))
		add(why, "HOST_OFFLINE: %s has no live carved (no heartbeat within pool.host-timeout-s)", dst->name_label);
	const char *ds = src ? src->driver_version : "", *dd = dst->driver_version;
	if (!*ds || !*dd)
		add(why, "DRIVER_UNKNOWN: NVIDIA's driver version is not known on %s (NVML)",
		    !*ds ? (src ? src->name_label : "the source") : dst->name_label);
	else if (strcmp(ds, dd) != 0)
		add(why, "DRIVER_MISMATCH: driver %s on %s, %s on %s: vGPUs migrate between the same driver version", ds,
		    src->name_label, dd, dst->name_label);

	struct carve_obj_pgpu *chosen[CARVE_MAX_VGPUS_PER_VM + 1] = {0};
	for (uint32_t i = 0; i < vm->n_vgpus && i < CARVE_MAX_VGPUS_PER_VM; i++) {
		const struct carve_obj_vgpu *v = vm->vgpus[i];
		const char *no = type_migrates(v->type);
		enum carve_place_reason pr = CARVE_PLACE_NOT_SUPPORTED;
		if (!no && v->group &&
		    (r = carve_model_place(ctx->model, v->group, dst, v->type, vm->numa_node, chosen, &chosen[i], &pr,
					   err)) < 0)
			return r;
		const struct carve_obj_pgpu *p = chosen[i];
		if (no)
			add(why, "TYPE_NOT_MIGRATABLE: vGPU %s (%s): %s", v->uuid, v->type->model_name, no);
		else if (!p)
			add(why, "%s: vGPU %s (%s): no PGPU of its group on %s takes it", carve_place_reason_id(pr), v->uuid,
			    v->type->model_name, dst->name_label);
		json_array_append_new(vgpus, json_pack("{s:s, s:s, s:s, s:s}", "uuid", v->uuid, "type", v->type->model_name,
						       "destination-pgpu", p ? p->uuid : "", "destination-pci",
						       p ? carve_pgpu_place(p)->pci : ""));
	}
	/* P2P: the chosen PGPUs must stay pairwise NVLink-joined. */
	for (uint32_t i = 0; vm->p2p == CARVE_P2P_REQUIRED && i < vm->n_vgpus && chosen[i]; i++)
		for (uint32_t j = i + 1; j < vm->n_vgpus && chosen[j]; j++) {
			bool joined = false;
			for (uint8_t k = 0; k < chosen[i]->n_nvlink && !joined; k++)
				joined = strcmp(chosen[i]->nvlink[k].peer, carve_pgpu_place(chosen[j])->pci) == 0;
			if (!joined) {
				add(why, "P2P_NOT_POSSIBLE: %s and %s on %s are not joined by NVLink (p2p=required)",
				    carve_pgpu_place(chosen[i])->pci, carve_pgpu_place(chosen[j])->pci, dst->name_label);
				i = vm->n_vgpus; /* once is enough */
				break;
			}
		}
	bool ok = json_array_size(why) == 0;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "virsh migrate --live --persistent --undefinesource %s qemu+ssh://%s/system",
		 vm->name_label, dst->hostname && *dst->hostname ? dst->hostname : dst->name_label);
	*result = json_pack("{s:b, s:s, s:s, s:O, s:O, s:s}", "compatible", ok, "source", src ? src->name_label : "",
			    "destination", dst->name_label, "vgpus", vgpus, "reasons", why, "libvirt",
			    ok ? cmd : "");
	return *result ? 0 : -ENOMEM;
}
