/* verbs.c - the dispatch table: every verb of the CLI and the API. */
#include <string.h>

#include "ops.h"
#include "util/cleanup.h"
#include "verbkeys.h"
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

#define RO CARVE_ROLE_READ_ONLY
#define ADMIN CARVE_ROLE_POOL_ADMIN
#define OPER CARVE_ROLE_VM_OPERATOR
#define W_NO CARVE_WRITE_NONE
#define W_STORE CARVE_WRITE_STORE
#define W_HOST CARVE_WRITE_HOST

static const struct carve_op ops[] = {
#define VERB(verb, fn, role, writes, filters, keys, summary) {verb, fn, role, writes, filters, keys, summary},
#include "verbs.def"
#undef VERB
	{NULL, NULL, RO, W_NO, false, NULL, NULL},
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
