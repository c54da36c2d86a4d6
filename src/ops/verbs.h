/* verbs.h - verb implementations shared between the ops modules. */
#pragma once

#include <jansson.h>

#include "ops.h"
#include "util/str.h"

struct carve_obj_pgpu;

/* A write transaction with the model proven current (reloaded when the
 * store moved on), under the store's writer lock. */
int carve_ops_begin(struct carve_ctx *ctx, struct carve_error *err);
/* End it by r (commit when r >= 0); after a commit that wrote, the model's
 * generation follows the store's.  The caller then reloads into the model
 * what it touched (carve_model_reload_*).  Returns r or the commit's error. */
int carve_ops_end(struct carve_ctx *ctx, int r, struct carve_error *err);
/* The same for the pool's hot path (store/db.h, carve_db_begin_shared):
 * other agents' placements go on meanwhile, so what the verb decides on it
 * locks and reads again (carve_repo_vm_lock, _pgpu_lock). */
int carve_ops_begin_shared(struct carve_ctx *ctx, struct carve_error *err);

/* After acting on GPUs (the model's write lock held): read them again from
 * the host into the context's inventory (rediscover_into), fold them into
 * the store inside the caller's transaction (sync_gpus), reload them into
 * the model after its commit (reload_gpus); rediscover_gpus does all three
 * in a transaction of its own. */
int carve_ops_rediscover_into(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err);
int carve_ops_sync_gpus(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err);
int carve_ops_reload_gpus(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err);
int carve_ops_rediscover_gpus(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err);

/* In the caller's transaction: exactly the types of want (UUIDs) enabled on
 * PGPU p, each supported there; disabling a type resident or scheduled on
 * p is refused (PGPU_IN_USE_BY_VM).  The caller reloads p. */
int carve_ops_pgpu_enable_types(struct carve_ctx *ctx, const struct carve_obj_pgpu *p, const struct carve_strv *want,
				struct carve_error *err);

/* In the caller's transaction: every vGPU of the VM released (no PGPU, no
 * device, defined) and the VM halted, resident nowhere, claimed by no one. */
int carve_ops_vm_release(struct carve_ctx *ctx, const char *vm, struct carve_error *err);

struct carve_obj_vm;
/* Open a shared transaction with the VM's row locked and the model's copy
 * of it read again (another agent may have moved it), and check its power
 * state is one of `allowed` (bits of enum carve_power_state;
 * VM_BAD_POWER_STATE).  On success the transaction is open and *out is the
 * model's VM; on failure it is rolled back. */
int carve_ops_vm_lock_begin(struct carve_ctx *ctx, const char *vm, const char *verb, unsigned allowed,
			    struct carve_obj_vm **out, struct carve_error *err);
/* In the caller's transaction: make the model's picture of PGPU p exactly
 * the store's, p's row locked until the commit (every placement on p takes
 * that lock before it counts).  *changed: the model was behind (another
 * agent placed or released on p), so a choice made on it must be made
 * again. */
int carve_ops_pgpu_pin(struct carve_ctx *ctx, struct carve_obj_pgpu *p, bool *changed, struct carve_error *err);
/* VM_MIGRATING (-EBUSY): verb waits for the VM's migration to end. */
int carve_ops_vm_migrating(struct carve_ctx *ctx, const struct carve_obj_vm *vm, const char *verb,
			   struct carve_error *err);

/* UUID_NOT_FOUND (-ENOENT) naming the class ("vm", "gpu-group"...) and uuid. */
int carve_ops_not_found(const char *cls, const char *uuid, struct carve_error *err);
struct carve_obj_group;
struct carve_obj_type;
/* A GPU group and a vGPU type of the model by UUID, both or an error
 * (UUID_NOT_FOUND naming the first missing). */
int carve_ops_group_type(struct carve_ctx *ctx, const char *group, const char *type,
			 const struct carve_obj_group **g, const struct carve_obj_type **t, struct carve_error *err);

/* xe-style list / param-list / param-get for the class named by the verb. */
int carve_op_generic(struct carve_ctx *ctx, const char *verb, json_t *args, json_t **result, struct carve_error *err);

/* Model-only edits (verbs_model.c). */
int carve_op_pgpu_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_pgpu_param_add(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_pgpu_param_remove(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_gpu_group_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_gpu_group_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_gpu_group_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_gpu_group_remaining_capacity(struct carve_ctx *ctx, json_t *args, json_t **result,
					  struct carve_error *err);
int carve_op_vm_libvirt_xml(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vm_qemu_args(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vgpu_mdevctl_json(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_gridd_conf(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_vgpu_migration_check(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
int carve_op_host_discover(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);
