/* verbs_model.c - edits of the model that touch no device: group moves,
 * enabled types, GPU groups; and the remaining-capacity query.
 *
 * XAPI's rules hold: a PGPU moves only between groups of the same device and
 * only with no vGPU resident or scheduled on it; a type is disabled only when
 * no vGPU of it is on the PGPU; a group is destroyed only when empty.
 * Decisions are made on the model inside the write transaction
 * (carve_ops_begin proves it current); what changed is reloaded after the
 * commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "verbs.h"

#define CARVE_MAX_GROUPS 4096

/* vGPUs resident or scheduled on p (of type t, or of any type when NULL). */
static bool pgpu_busy(const struct carve_obj_pgpu *p, const struct carve_obj_type *t)
{
	for (uint32_t i = 0; i < p->n_vgpus; i++)
		if (!t || p->vgpus[i]->type == t)
			return true;
	return false;
}

static int move_pgpu(struct carve_ctx *ctx, struct carve_obj_pgpu *p, const char *group, struct carve_error *err)
{
	struct carve_obj_group *g = carve_model_group(ctx->model, group);
	if (!g)
		return carve_ops_not_found("gpu-group", group, err);
	if (pgpu_busy(p, NULL))
		return carve_error_set(err, -EBUSY, "PGPU_IN_USE_BY_VM",
				       "PGPU %s has vGPUs resident or scheduled; shut their VMs down first", p->uuid);
	/* The destination must hold only PGPUs of the same device. */
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, o)
		if (o->group == g && o != p && (strcmp(o->vendor_id, p->vendor_id) != 0 || strcmp(o->device_id, p->device_id) != 0))
			return carve_error_set(err, -EINVAL, "PGPU_NOT_COMPATIBLE_WITH_GPU_GROUP",
					       "GPU group %s holds GPUs of another device than PGPU %s", group, p->uuid);
	return carve_repo_pgpu_set_group(ctx->db, p->uuid, group, err);
}

static int set_enabled(struct carve_ctx *ctx, const struct carve_obj_pgpu *p, const char *type, bool on,
		       struct carve_error *err)
{
	struct carve_obj_type *t = carve_model_type(ctx->model, type);
	ssize_t k = t ? carve_pgpu_slot_of(p, t) : -1;
	if (k < 0 || carve_pgpu_place(p)->slots[k].unsupported) {
		if (!t)
			return carve_ops_not_found("vgpu-type", type, err);
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED",
				       "vGPU type %s is not supported on PGPU %s", type, p->uuid);
	}
	if (!on && pgpu_busy(p, t))
		return carve_error_set(err, -EBUSY, "PGPU_IN_USE_BY_VM",
				       "vGPUs of type %s are resident or scheduled on PGPU %s", type, p->uuid);
	return carve_repo_pgpu_type_set_enabled(ctx->db, p->uuid, type, on, err);
}

/* enabled-VGPU-types=a,b (xe also accepts ';'): enable exactly that set. */
static int set_enabled_list(struct carve_ctx *ctx, const struct carve_obj_pgpu *p, const char *list,
			    struct carve_error *err)
{
	_cleanup_free_ char *copy = strdup(list);
	struct carve_strv want = {0};
	if (!copy)
		return -ENOMEM;
	for (char *save = NULL, *tok = strtok_r(copy, ",;", &save); tok; tok = strtok_r(NULL, ",;", &save)) {
		char u[37];
		carve_strstrip(tok);
		if (!*tok)
			continue;
		if (carve_uuid_normalize(tok, u) < 0) {
			carve_strv_clear(&want);
			return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID in enabled-VGPU-types: '%.64s'",
					       tok);
		}
		carve_strv_push(&want, u);
	}
	int r = carve_ops_pgpu_enable_types(ctx, p, &want, err);
	carve_strv_clear(&want);
	return r;
}

int carve_ops_pgpu_enable_types(struct carve_ctx *ctx, const struct carve_obj_pgpu *p, const struct carve_strv *want,
				struct carve_error *err)
{
	int r = 0;
	for (size_t i = 0; r >= 0 && i < want->n; i++)
		r = set_enabled(ctx, p, want->v[i], true, err);
	const struct carve_place_pgpu *pl = carve_pgpu_place(p);
	for (size_t i = 0; r >= 0 && i < pl->n_slots; i++)
		if (!pl->slots[i].unsupported && !carve_strv_contains(want, pl->slots[i].type->uuid))
			r = set_enabled(ctx, p, pl->slots[i].type->uuid, false, err);
	return r;
}

/* Run body in one write transaction; on success reload the PGPU. */
static int pgpu_write(struct carve_ctx *ctx, const char *uuid, int (*body)(struct carve_ctx *, struct carve_obj_pgpu *,
									   json_t *, struct carve_error *),
		      json_t *args, json_t **result, struct carve_error *err)
{
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	struct carve_obj_pgpu *p = carve_model_pgpu(ctx->model, uuid);
	r = p ? body(ctx, p, args, err) : carve_ops_not_found("pgpu", uuid, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_pgpu(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	*result = json_object();
	return *result ? 0 : -ENOMEM;
}

static int pgpu_set(struct carve_ctx *ctx, struct carve_obj_pgpu *p, json_t *args, struct carve_error *err)
{
	char group[37];
	const char *enabled;
	int r;
	if ((r = carve_arg_uuid(args, "gpu-group-uuid", false, group, err)) < 0 ||
	    (r = carve_arg_str(args, "enabled-vgpu-types", false, &enabled, err)) < 0)
		return r;
	if (group[0] && (r = move_pgpu(ctx, p, group, err)) < 0)
		return r;
	if (enabled && (r = set_enabled_list(ctx, p, enabled, err)) < 0)
		return r;
	return 0;
}

int carve_op_pgpu_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37], group[37];
	const char *enabled;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_uuid(args, "gpu-group-uuid", false, group, err)) < 0 ||
	    (r = carve_arg_str(args, "enabled-vgpu-types", false, &enabled, err)) < 0)
		return r;
	if (!group[0] && !enabled)
		return carve_error_set(err, -EINVAL, "MISSING_PARAMETER",
				       "pgpu-param-set needs gpu-group-uuid= or enabled-VGPU-types=");
	return pgpu_write(ctx, uuid, pgpu_set, args, result, err);
}

static int pgpu_add(struct carve_ctx *ctx, struct carve_obj_pgpu *p, json_t *args, struct carve_error *err)
{
	char type[37];
	int r = carve_arg_uuid(args, "param-key", true, type, err);
	return r < 0 ? r : set_enabled(ctx, p, type, true, err);
}

static int pgpu_remove(struct carve_ctx *ctx, struct carve_obj_pgpu *p, json_t *args, struct carve_error *err)
{
	char type[37];
	int r = carve_arg_uuid(args, "param-key", true, type, err);
	return r < 0 ? r : set_enabled(ctx, p, type, false, err);
}

static int pgpu_addrm(struct carve_ctx *ctx, json_t *args, bool on, json_t **result, struct carve_error *err)
{
	char uuid[37], type[37];
	const char *name;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "param-name", true, &name, err)) < 0)
		return r;
	if (strcasecmp(name, "enabled-VGPU-types") != 0)
		return carve_error_set(err, -EINVAL, "UNKNOWN_FIELD",
				       "only enabled-VGPU-types can be added to or removed from, not '%.64s'", name);
	if ((r = carve_arg_uuid(args, "param-key", true, type, err)) < 0)
		return r;
	return pgpu_write(ctx, uuid, on ? pgpu_add : pgpu_remove, args, result, err);
}

int carve_op_pgpu_param_add(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	return pgpu_addrm(ctx, args, true, result, err);
}

int carve_op_pgpu_param_remove(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	return pgpu_addrm(ctx, args, false, result, err);
}

static int check_algorithm(const char *algo, struct carve_error *err)
{
	if (algo && carve_place_algo_from_name(algo) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "invalid allocation-algorithm '%.64s' (expected depth-first or breadth-first)", algo);
	return 0;
}

static int check_label(const char *key, const char *v, struct carve_error *err)
{
	if (v && strlen(v) > 255)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "%s is longer than 255 characters", key);
	return 0;
}

int carve_op_gpu_group_create(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	const char *label, *desc, *algo;
	int r;
	if ((r = carve_arg_str(args, "name-label", true, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_str(args, "allocation-algorithm", false, &algo, err)) < 0 ||
	    (r = check_algorithm(algo, err)) < 0 || (r = check_label("name-label", label, err)) < 0 ||
	    (r = check_label("name-description", desc, err)) < 0)
		return r;
	char uuid[37];
	carve_uuid_generate(uuid);
	if ((r = carve_ops_begin(ctx, err)) < 0)
		return r;
	if (ctx->model->groups.n >= CARVE_MAX_GROUPS)
		r = carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "too many GPU groups (limit %d)", CARVE_MAX_GROUPS);
	else
		r = carve_repo_group_insert(ctx->db, uuid, label, desc,
					    algo ? (enum carve_place_algo)carve_place_algo_from_name(algo)
						 : CARVE_PLACE_DEPTH_FIRST,
					    err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_group(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}

static int group_destroy(struct carve_ctx *ctx, const char *uuid, struct carve_error *err)
{
	struct carve_obj_group *g = carve_model_group(ctx->model, uuid);
	if (!g)
		return carve_ops_not_found("gpu-group", uuid, err);
	long n = 0;
	carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, p)
		n += p->group == g;
	if (n > 0)
		return carve_error_set(err, -EBUSY, "GPU_GROUP_CONTAINS_PGPU", "GPU group %s still holds %ld PGPU(s)", uuid,
				       n);
	carve_model_each(ctx->model, vgpus, struct carve_obj_vgpu, v)
		n += v->group == g;
	if (n > 0)
		return carve_error_set(err, -EBUSY, "GPU_GROUP_CONTAINS_VGPU", "GPU group %s still holds %ld vGPU(s)", uuid,
				       n);
	return carve_repo_group_delete(ctx->db, uuid, err);
}

int carve_op_gpu_group_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = carve_ops_begin(ctx, err)) < 0)
		return r;
	if ((r = carve_ops_end(ctx, group_destroy(ctx, uuid, err), err)) < 0 ||
	    (r = carve_model_reload_group(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_op_gpu_group_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	const char *label, *desc, *algo, *degraded;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "name-label", false, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_str(args, "allocation-algorithm", false, &algo, err)) < 0 ||
	    (r = carve_arg_str(args, "degraded-pgpus", false, &degraded, err)) < 0 ||
	    (r = check_algorithm(algo, err)) < 0 || (r = check_label("name-label", label, err)) < 0 ||
	    (r = check_label("name-description", desc, err)) < 0)
		return r;
	if (degraded && carve_degraded_policy_from_name(degraded) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "invalid degraded-pgpus '%.64s' (expected avoid or allow)",
				       degraded);
	if ((r = carve_ops_begin(ctx, err)) < 0)
		return r;
	if (!carve_model_group(ctx->model, uuid))
		r = carve_ops_not_found("gpu-group", uuid, err);
	else if (!label && !desc && !algo && !degraded)
		r = carve_error_set(err, -EINVAL, "MISSING_PARAMETER",
				    "gpu-group-param-set needs name-label=, name-description=, allocation-algorithm= or "
				    "degraded-pgpus=");
	else
		r = carve_repo_group_update(ctx->db, uuid, label, desc, algo ? carve_place_algo_from_name(algo) : -1,
					    degraded, err);
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_group(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	/* The policy decides which of the group's PGPUs placement may use. */
	if (degraded)
		carve_model_each(ctx->model, pgpus, struct carve_obj_pgpu, p)
			if (p->group && strcmp(p->group->uuid, uuid) == 0 &&
			    (r = carve_model_reload_pgpu(ctx->model, ctx->db, p->uuid, err)) < 0)
				return r;
	*result = json_object();
	return 0;
}

int carve_op_gpu_group_remaining_capacity(struct carve_ctx *ctx, json_t *args, json_t **result,
					  struct carve_error *err)
{
	char group[37], type[37];
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, group, err)) < 0 ||
	    (r = carve_arg_uuid(args, "vgpu-type-uuid", true, type, err)) < 0)
		return r;
	const struct carve_obj_group *g;
	const struct carve_obj_type *t;
	if ((r = carve_ops_group_type(ctx, group, type, &g, &t, err)) < 0)
		return r;
	int64_t total = 0;
	if ((r = carve_model_remaining(ctx->model, g, t, &total, err)) < 0)
		return r;
	*result = json_pack("{s:I}", "value", (json_int_t)total);
	return 0;
}

int carve_op_host_discover(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	(void)args;
	if (!ctx->host)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "no host backend (give --sysfs-root or --host-profile)");
	struct carve_hw_inventory inv = {0};
	int r = carve_host_discover(ctx->host, &inv, err);
	if (r >= 0) {
		*result = carve_hw_inventory_to_json(&inv);
		if (!*result)
			r = -ENOMEM;
	}
	carve_hw_inventory_clear(&inv);
	return r;
}
