/* records.h - build the JSON records of each class from the store.
 *
 * Each builder returns a new JSON array of objects whose keys are the class's
 * field names (fields.h) in schema order.  uuid may be NULL for all objects
 * of the class, or a UUID to build just that one (an empty array when it does
 * not exist: callers decide whether that is an error).  Reads only; runs
 * inside whatever transaction the caller holds.
 */
#pragma once

#include <jansson.h>

#include "ops.h"

int carve_records_host(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);
int carve_records_pgpu(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);
int carve_records_vgpu_type(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);
int carve_records_gpu_group(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);
int carve_records_vm(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);
int carve_records_vgpu(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);

/* Builder for a class by name ("pgpu", ...); NULL if unknown. */
typedef int (*carve_records_fn)(struct carve_ctx *ctx, const char *uuid, json_t **out, struct carve_error *err);
carve_records_fn carve_records_for(const char *class_name);
