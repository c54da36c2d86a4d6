/* verbs.c - the dispatch table: every verb of the CLI and the API. */
#include <string.h>

#include "ops.h"
#include "util/cleanup.h"
#include "verbs.h"
#include "vm.h"

#define GENERIC(fn, verb)                                                                                          \
	static int fn(struct carve_ctx *c, json_t *a, json_t **r, struct carve_error *e)                          \
	{                                                                                                          \
		return carve_op_generic(c, verb, a, r, e);                                                         \
	}

GENERIC(host_list, "host-list")
GENERIC(host_param_list, "host-param-list")
GENERIC(host_param_get, "host-param-get")
GENERIC(pgpu_list, "pgpu-list")
GENERIC(pgpu_param_list, "pgpu-param-list")
GENERIC(pgpu_param_get, "pgpu-param-get")
GENERIC(vgpu_type_list, "vgpu-type-list")
GENERIC(vgpu_type_param_list, "vgpu-type-param-list")
GENERIC(vgpu_type_param_get, "vgpu-type-param-get")
GENERIC(gpu_group_list, "gpu-group-list")
GENERIC(gpu_group_param_list, "gpu-group-param-list")
GENERIC(gpu_group_param_get, "gpu-group-param-get")
GENERIC(vm_list, "vm-list")
GENERIC(vm_param_list, "vm-param-list")
GENERIC(vm_param_get, "vm-param-get")
GENERIC(vgpu_list, "vgpu-list")
GENERIC(vgpu_param_list, "vgpu-param-list")
GENERIC(vgpu_param_get, "vgpu-param-get")

static const char *const k_uuid[] = {"uuid", "params", NULL};
static const char *const k_get[] = {"uuid", "param-name", "param-key", NULL};
static const char *const k_pgpu_set[] = {"uuid", "gpu-group-uuid", "enabled-vgpu-types", NULL};
static const char *const k_addrm[] = {"uuid", "param-name", "param-key", NULL};
static const char *const k_group_create[] = {"name-label", "name-description", "allocation-algorithm", NULL};
static const char *const k_group_set[] = {"uuid", "name-label", "name-description", "allocation-algorithm", NULL};
static const char *const k_capacity[] = {"uuid", "vgpu-type-uuid", NULL};
static const char *const k_none[] = {NULL};
static const char *const k_vm_create[] = {"name-label", "name-description", "uuid", "numa-node", NULL};
static const char *const k_vm_set[] = {"uuid", "name-label", "name-description", "numa-node", NULL};
static const char *const k_vgpu_create[] = {"vm-uuid", "gpu-group-uuid", "vgpu-type-uuid", "device", "extra-args", NULL};
static const char *const k_vgpu_set[] = {"uuid", "extra-args", NULL};
static const char *const k_adopt[] = {"uuid", "vm-uuid", NULL};
static const char *const k_vm_emit[] = {"uuid", "vcpus", "memory-mib", "hugepages", "hyperv", "cpuset", NULL};
static const char *const k_one[] = {"uuid", NULL};
static const char *const k_gridd[] = {"server", "port", "feature-type", NULL};
static const char *const k_migrate[] = {"uuid", "pgpu-uuid", NULL};

#define RO CARVE_ROLE_READ_ONLY
#define ADMIN CARVE_ROLE_POOL_ADMIN
#define OPER CARVE_ROLE_VM_OPERATOR

static const struct carve_op ops[] = {
	{"host-list", host_list, RO, false, true, NULL, "list hosts"},
	{"host-param-list", host_param_list, RO, false, false, k_uuid, "all fields of a host"},
	{"host-param-get", host_param_get, RO, false, false, k_get, "one field of a host"},
	{"host-discover", carve_op_host_discover, RO, false, false, k_none, "what discovery sees on this host, raw"},
	{"pgpu-list", pgpu_list, RO, false, true, NULL, "list physical GPUs"},
	{"pgpu-param-list", pgpu_param_list, RO, false, false, k_uuid, "all fields of a PGPU"},
	{"pgpu-param-get", pgpu_param_get, RO, false, false, k_get, "one field of a PGPU"},
	{"pgpu-param-set", carve_op_pgpu_param_set, ADMIN, true, false, k_pgpu_set,
	 "move a PGPU to another GPU group, or set its enabled vGPU types"},
	{"pgpu-param-add", carve_op_pgpu_param_add, ADMIN, true, false, k_addrm, "enable a vGPU type on a PGPU"},
	{"pgpu-param-remove", carve_op_pgpu_param_remove, ADMIN, true, false, k_addrm, "disable a vGPU type on a PGPU"},
	{"vgpu-type-list", vgpu_type_list, RO, false, true, NULL, "list vGPU types"},
	{"vgpu-type-param-list", vgpu_type_param_list, RO, false, false, k_uuid, "all fields of a vGPU type"},
	{"vgpu-type-param-get", vgpu_type_param_get, RO, false, false, k_get, "one field of a vGPU type"},
	{"gpu-group-list", gpu_group_list, RO, false, true, NULL, "list GPU groups"},
	{"gpu-group-param-list", gpu_group_param_list, RO, false, false, k_uuid, "all fields of a GPU group"},
	{"gpu-group-param-get", gpu_group_param_get, RO, false, false, k_get, "one field of a GPU group"},
	{"gpu-group-param-set", carve_op_gpu_group_param_set, ADMIN, true, false, k_group_set,
	 "rename a GPU group or set its allocation algorithm"},
	{"gpu-group-create", carve_op_gpu_group_create, ADMIN, true, false, k_group_create, "create an empty GPU group"},
	{"gpu-group-destroy", carve_op_gpu_group_destroy, ADMIN, true, false, k_uuid, "destroy an empty GPU group"},
	{"gpu-group-get-remaining-capacity", carve_op_gpu_group_remaining_capacity, RO, false, false, k_capacity,
	 "how many more vGPUs of a type the group can take"},
	{"vm-list", vm_list, RO, false, true, NULL, "list VMs"},
	{"vm-param-list", vm_param_list, RO, false, false, k_uuid, "all fields of a VM"},
	{"vm-param-get", vm_param_get, RO, false, false, k_get, "one field of a VM"},
	{"vm-param-set", carve_op_vm_param_set, OPER, true, false, k_vm_set, "rename a VM or set its NUMA node"},
	{"vm-create", carve_op_vm_create, OPER, true, false, k_vm_create, "define a VM"},
	{"vm-destroy", carve_op_vm_destroy, OPER, true, false, k_uuid, "forget a halted VM and its vGPUs"},
	{"vm-start", carve_op_vm_start, OPER, true, false, k_uuid,
	 "place and create the VM's vGPUs; print its libvirt hostdevs and QEMU arguments"},
	{"vm-shutdown", carve_op_vm_shutdown, OPER, true, false, k_uuid, "remove the VM's vGPUs and release capacity"},
	{"vgpu-list", vgpu_list, RO, false, true, NULL, "list vGPUs"},
	{"vgpu-param-list", vgpu_param_list, RO, false, false, k_uuid, "all fields of a vGPU"},
	{"vgpu-param-get", vgpu_param_get, RO, false, false, k_get, "one field of a vGPU"},
	{"vgpu-param-set", carve_op_vgpu_param_set, OPER, true, false, k_vgpu_set, "set a vGPU's extra-args (vgpu_params)"},
	{"vgpu-create", carve_op_vgpu_create, OPER, true, false, k_vgpu_create,
	 "define a vGPU for a halted VM (no type = passthrough)"},
	{"vgpu-destroy", carve_op_vgpu_destroy, OPER, true, false, k_uuid, "remove a vGPU from a halted VM"},
	{"vgpu-adopt", carve_op_vgpu_adopt, ADMIN, true, false, k_adopt, "take over a device carve did not create"},
	{"host-reconcile", carve_op_host_reconcile, ADMIN, true, false, k_none,
	 "converge the host with the store: recreate, finish, roll back, report orphans"},
	{"vm-libvirt-xml", carve_op_vm_libvirt_xml, RO, false, false, k_vm_emit,
	 "libvirt domain XML of a running VM (vcpus=, memory-mib=, hugepages=, hyperv=, cpuset=)"},
	{"vm-qemu-args", carve_op_vm_qemu_args, RO, false, false, k_vm_emit, "QEMU arguments of a running VM's vGPUs"},
	{"vgpu-mdevctl-json", carve_op_vgpu_mdevctl_json, RO, false, false, k_one,
	 "mdevctl definition of an mdev-backed vGPU (mdevctl define --jsonfile)"},
	{"gridd-conf", carve_op_gridd_conf, RO, false, false, k_gridd,
	 "guest licence config /etc/nvidia/gridd.conf (server=, port=, feature-type=0|1|2|4)"},
	{"vgpu-migration-check", carve_op_vgpu_migration_check, RO, false, false, k_migrate,
	 "could this vGPU move to that PGPU (same type, enabled, capacity)"},
	{NULL, NULL, RO, false, false, NULL, NULL},
};

const struct carve_op *carve_op_find(const char *verb)
{
	for (size_t i = 0; verb && ops[i].verb; i++)
		if (strcmp(ops[i].verb, verb) == 0)
			return &ops[i];
	return NULL;
}

const struct carve_op *carve_ops_table(size_t *n)
{
	if (n)
		*n = ARRAY_SIZE(ops) - 1;
	return ops;
}
