/* records.h - build the JSON records of each class from the resident model.
 *
 * Each builder returns a new JSON array of objects whose keys are the class's
 * field names (fields.h) in schema order: every field, or only those whose
 * index in the class's table is set in want (NULL = all; a front end that
 * shows a few fields asks for those, and the others are never computed).
 * uuid may be NULL for all objects of the class, or a UUID to build just
 * that one (an empty array when it does not exist: callers decide whether
 * that is an error).  Reads only: the caller holds the model's read lock.
 */
#pragma once

#include <jansson.h>

#include "ops.h"

typedef int (*carve_records_fn)(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out,
				struct carve_error *err);
int carve_records_host(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out, struct carve_error *err);
int carve_records_pgpu(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out, struct carve_error *err);
int carve_records_vgpu_type(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out,
			    struct carve_error *err);
int carve_records_gpu_group(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out,
			    struct carve_error *err);
int carve_records_vm(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out, struct carve_error *err);
int carve_records_vgpu(struct carve_ctx *ctx, const char *uuid, const bool *want, json_t **out, struct carve_error *err);

/* The lists' orders, qsort comparators over arrays of object pointers:
 * PGPUs by host name, then PCI address; GPU groups by name; vGPU types as
 * xe lists them (vendor, board, implementation, framebuffer...). */
int carve_records_cmp_pgpu(const void *a, const void *b);
int carve_records_cmp_group(const void *a, const void *b);
int carve_records_cmp_type(const void *a, const void *b);

/* Builder for a class by name ("pgpu", ...); NULL if unknown. */
carve_records_fn carve_records_for(const char *class_name);
