/* verbs.h - verb implementations shared between the ops modules. */
#pragma once

#include <jansson.h>

#include "ops.h"

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
