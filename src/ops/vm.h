/* vm.h - VM and vGPU verbs (verbs_vm.c: definitions; lifecycle.c: start,
 * shutdown, reconcile, adopt). */
#pragma once

#include <jansson.h>

#include "ops.h"
#include "state/objects.h"

int carve_extra_args_valid(const char *s, struct carve_error *err);
struct carve_obj_vm;
/* The VM's lowest free vGPU slot; -ENOSPC (LIMIT_REACHED) when all are taken. */
int carve_vm_free_slot(const struct carve_obj_vm *vm, uint32_t *out, struct carve_error *err);

/* Inside a transaction (carve_ops_begin): define a vGPU as vgpu-create
 * does from args (vm-uuid, gpu-group-uuid, vgpu-type-uuid, device,
 * extra-args), with the UUID want_uuid (NULL: a new one) into uuid, its VM
 * into vm_uuid.  UUID_ALREADY_EXISTS when want_uuid is carve's already. */
int carve_ops_vgpu_define(struct carve_ctx *ctx, json_t *args, const char *want_uuid, char uuid[37], char vm_uuid[37],
			  struct carve_error *err);
/* Inside a transaction: take the host's existing device uuid into VM vm as
 * a running vGPU (vgpu-adopt); the VM becomes running here. */
int carve_ops_vgpu_adopt_dev(struct carve_ctx *ctx, const char *uuid, const char *vm, struct carve_error *err);

int carve_op_vm_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vgpu_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vgpu_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vgpu_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_start(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
/* vm-start (or the start of vm-resume, from its power state) of n VMs at
 * once (ops.h, carve_ops_call_many): args[i] lower-cased, calls[i] whose r
 * is negative already are skipped.  Model write-locked. */
void carve_ops_vm_start_many(struct carve_ctx *ctx, const char *verb, enum carve_power_state from,
			     struct carve_call *calls, json_t *const *args, size_t n);
/* The rest of a start placed on another host: its agent's outcome, then
 * the answer.  Model write-locked. */
int carve_ops_vm_start_wait(struct carve_ctx *ctx, const char *vm, const char *target, json_t **result,
			    struct carve_error *err);
int carve_op_vm_shutdown(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_reconcile(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vgpu_adopt(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_disable(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_enable(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_apply(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_config_get(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_migration_check(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_suspend(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_resume(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_migrate(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_migrate_confirm(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_migrate_abort(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_pgpu_reset(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_mdevctl_import(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_declare_dead(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
