/* verbs_model.c - edits of the model that touch no device: group moves,
 * enabled types, GPU groups; and the remaining-capacity query.
 *
 * XAPI's rules hold: a PGPU moves only between groups of the same device and
 * only with no vGPU resident or scheduled on it; a type is disabled only when
 * no vGPU of it is on the PGPU; a group is destroyed only when empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "snapshot.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "verbs.h"


static int count(struct carve_ctx *ctx, const char *sql, const char *p1, const char *p2, long *out,
		 struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(ctx->db, &rows, err, sql, p2 ? 2 : p1 ? 1 : 0, p1, p2);
	if (r < 0)
		return r;
	*out = rows->nrows ? atol(carve_rows_cell(rows, 0, 0)) : 0;
	return 0;
}

static int must_exist(struct carve_ctx *ctx, const char *table, const char *uuid, struct carve_error *err)
{
	char sql[96];
	long n;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE uuid=$1", table);
	int r = count(ctx, sql, uuid, NULL, &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no %s with uuid %s",
				       strcmp(table, "gpu_group") == 0	 ? "gpu-group"
				       : strcmp(table, "vgpu_type") == 0 ? "vgpu-type"
									 : table,
				       uuid);
	return 0;
}

static int pgpu_busy(struct carve_ctx *ctx, const char *pgpu, const char *type, struct carve_error *err)
{
	long n;
	int r = type ? count(ctx,
			     "SELECT COUNT(*) FROM vgpu WHERE (resident_on=$1 OR scheduled_pgpu=$1) AND vgpu_type_uuid=$2",
			     pgpu, type, &n, err)
		     : count(ctx, "SELECT COUNT(*) FROM vgpu WHERE resident_on=$1 OR scheduled_pgpu=$1", pgpu, NULL, &n,
			     err);
	return r < 0 ? r : n > 0;
}

static int move_pgpu(struct carve_ctx *ctx, const char *pgpu, const char *group, struct carve_error *err)
{
	int r;
	long n;
	if ((r = must_exist(ctx, "gpu_group", group, err)) < 0)
		return r;
	if ((r = pgpu_busy(ctx, pgpu, NULL, err)) != 0)
		return r < 0 ? r
			     : carve_error_set(err, -EBUSY, "PGPU_IN_USE_BY_VM",
					       "PGPU %s has vGPUs resident or scheduled; shut their VMs down first", pgpu);
	/* The destination must hold only PGPUs of the same device. */
	if ((r = count(ctx,
		       "SELECT COUNT(*) FROM pgpu o, pgpu p WHERE p.uuid=$1 AND o.gpu_group_uuid=$2 AND o.uuid <> p.uuid "
		       "AND (o.vendor_id <> p.vendor_id OR o.device_id <> p.device_id)",
		       pgpu, group, &n, err)) < 0)
		return r;
	if (n > 0)
		return carve_error_set(err, -EINVAL, "PGPU_NOT_COMPATIBLE_WITH_GPU_GROUP",
				       "GPU group %s holds GPUs of another device than PGPU %s", group, pgpu);
	return carve_db_execf(ctx->db, NULL, err, "UPDATE pgpu SET gpu_group_uuid=$2 WHERE uuid=$1", 2, pgpu, group);
}

static int set_enabled(struct carve_ctx *ctx, const char *pgpu, const char *type, bool on, struct carve_error *err)
{
	long n;
	int r = count(ctx, "SELECT COUNT(*) FROM pgpu_type WHERE pgpu_uuid=$1 AND vgpu_type_uuid=$2 AND supported=1",
		      pgpu, type, &n, err);
	if (r < 0)
		return r;
	if (n == 0) {
		if ((r = must_exist(ctx, "vgpu_type", type, err)) < 0)
			return r;
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED",
				       "vGPU type %s is not supported on PGPU %s", type, pgpu);
	}
	if (!on && (r = pgpu_busy(ctx, pgpu, type, err)) != 0)
		return r < 0 ? r
			     : carve_error_set(err, -EBUSY, "PGPU_IN_USE_BY_VM",
					       "vGPUs of type %s are resident or scheduled on PGPU %s", type, pgpu);
	return carve_db_execf(ctx->db, NULL, err,
			      "UPDATE pgpu_type SET enabled=$3 WHERE pgpu_uuid=$1 AND vgpu_type_uuid=$2", 3, pgpu, type,
			      on ? "1" : "0");
}

/* enabled-VGPU-types=a,b (xe also accepts ';'): enable exactly that set. */
static int set_enabled_list(struct carve_ctx *ctx, const char *pgpu, const char *list, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_db_execf(ctx->db, &rows, err,
			       "SELECT vgpu_type_uuid FROM pgpu_type WHERE pgpu_uuid=$1 AND supported=1", 1, pgpu);
	if (r < 0)
		return r;
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
	for (size_t i = 0; r >= 0 && i < want.n; i++)
		r = set_enabled(ctx, pgpu, want.v[i], true, err);
	for (size_t i = 0; r >= 0 && i < rows->nrows; i++)
		if (!carve_strv_contains(&want, carve_rows_cell(rows, i, 0)))
			r = set_enabled(ctx, pgpu, carve_rows_cell(rows, i, 0), false, err);
	carve_strv_clear(&want);
	return r;
}

/* Run fn inside one transaction; a failure leaves the store untouched. */
#define IN_TXN(ctx, err, body)                                                                                     \
	({                                                                                                         \
		int _r = carve_db_begin((ctx)->db, err);                                                           \
		_r < 0 ? _r : carve_db_end((ctx)->db, (body), err);                                               \
	})

static int pgpu_set(struct carve_ctx *ctx, json_t *args, struct carve_error *err)
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
	if ((r = must_exist(ctx, "pgpu", uuid, err)) < 0)
		return r;
	if (group[0] && (r = move_pgpu(ctx, uuid, group, err)) < 0)
		return r;
	if (enabled && (r = set_enabled_list(ctx, uuid, enabled, err)) < 0)
		return r;
	return 0;
}

int carve_op_pgpu_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	int r = IN_TXN(ctx, err, pgpu_set(ctx, args, err));
	if (r >= 0)
		*result = json_object();
	return r;
}

static int pgpu_addrm(struct carve_ctx *ctx, json_t *args, bool on, struct carve_error *err)
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
	if ((r = carve_arg_uuid(args, "param-key", true, type, err)) < 0 || (r = must_exist(ctx, "pgpu", uuid, err)) < 0)
		return r;
	return set_enabled(ctx, uuid, type, on, err);
}

int carve_op_pgpu_param_add(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	int r = IN_TXN(ctx, err, pgpu_addrm(ctx, args, true, err));
	if (r >= 0)
		*result = json_object();
	return r;
}

int carve_op_pgpu_param_remove(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	int r = IN_TXN(ctx, err, pgpu_addrm(ctx, args, false, err));
	if (r >= 0)
		*result = json_object();
	return r;
}

static int check_algorithm(const char *algo, struct carve_error *err)
{
	if (algo && strcmp(algo, "depth-first") != 0 && strcmp(algo, "breadth-first") != 0)
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
	long n;
	if ((r = count(ctx, "SELECT COUNT(*) FROM gpu_group", NULL, NULL, &n, err)) < 0)
		return r;
	if (n >= 4096)
		return carve_error_set(err, -ENOSPC, "LIMIT_REACHED", "too many GPU groups (limit 4096)");
	char uuid[37];
	carve_uuid_generate(uuid);
	r = carve_db_execf(ctx->db, NULL, err,
			   "INSERT INTO gpu_group (uuid, name_label, name_description, allocation_algorithm) "
			   "VALUES ($1, $2, $3, $4)",
			   4, uuid, label, desc ? desc : "", algo ? algo : "depth-first");
	if (r < 0)
		return r;
	*result = json_pack("{s:s}", "uuid", uuid);
	return 0;
}

static int group_destroy(struct carve_ctx *ctx, const char *uuid, struct carve_error *err)
{
	long n;
	int r;
	if ((r = must_exist(ctx, "gpu_group", uuid, err)) < 0 ||
	    (r = count(ctx, "SELECT COUNT(*) FROM pgpu WHERE gpu_group_uuid=$1", uuid, NULL, &n, err)) < 0)
		return r;
	if (n > 0)
		return carve_error_set(err, -EBUSY, "GPU_GROUP_CONTAINS_PGPU", "GPU group %s still holds %ld PGPU(s)", uuid,
				       n);
	if ((r = count(ctx, "SELECT COUNT(*) FROM vgpu WHERE gpu_group_uuid=$1", uuid, NULL, &n, err)) < 0)
		return r;
	if (n > 0)
		return carve_error_set(err, -EBUSY, "GPU_GROUP_CONTAINS_VGPU", "GPU group %s still holds %ld vGPU(s)", uuid,
				       n);
	return carve_db_execf(ctx->db, NULL, err, "DELETE FROM gpu_group WHERE uuid=$1", 1, uuid);
}

int carve_op_gpu_group_destroy(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r >= 0)
		r = IN_TXN(ctx, err, group_destroy(ctx, uuid, err));
	if (r >= 0)
		*result = json_object();
	return r;
}

static int group_set(struct carve_ctx *ctx, json_t *args, struct carve_error *err)
{
	char uuid[37];
	const char *label, *desc, *algo;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "name-label", false, &label, err)) < 0 ||
	    (r = carve_arg_str(args, "name-description", false, &desc, err)) < 0 ||
	    (r = carve_arg_str(args, "allocation-algorithm", false, &algo, err)) < 0 ||
	    (r = check_algorithm(algo, err)) < 0 || (r = check_label("name-label", label, err)) < 0 ||
	    (r = check_label("name-description", desc, err)) < 0 || (r = must_exist(ctx, "gpu_group", uuid, err)) < 0)
		return r;
	if (!label && !desc && !algo)
		return carve_error_set(err, -EINVAL, "MISSING_PARAMETER",
				       "gpu-group-param-set needs name-label=, name-description= or allocation-algorithm=");
	return carve_db_execf(ctx->db, NULL, err,
			      "UPDATE gpu_group SET name_label=COALESCE($2, name_label), "
			      "name_description=COALESCE($3, name_description), "
			      "allocation_algorithm=COALESCE($4, allocation_algorithm) WHERE uuid=$1",
			      4, uuid, label, desc, algo);
}

int carve_op_gpu_group_param_set(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	int r = IN_TXN(ctx, err, group_set(ctx, args, err));
	if (r >= 0)
		*result = json_object();
	return r;
}

int carve_op_gpu_group_remaining_capacity(struct carve_ctx *ctx, json_t *args, json_t **result,
					  struct carve_error *err)
{
	char group[37], type[37];
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, group, err)) < 0 ||
	    (r = carve_arg_uuid(args, "vgpu-type-uuid", true, type, err)) < 0 ||
	    (r = must_exist(ctx, "gpu_group", group, err)) < 0 || (r = must_exist(ctx, "vgpu_type", type, err)) < 0)
		return r;
	_cleanup_(carve_snapshot_freep) struct carve_snapshot *s = NULL;
	if ((r = carve_snapshot_load(ctx, group, &s, err)) < 0)
		return r;
	int64_t total = 0;
	const struct carve_place_type *t = carve_snapshot_type(s, type);
	for (size_t i = 0; t && i < s->n_pgpus; i++)
		total += carve_place_capacity(&s->pgpus[i], t, NULL);
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
