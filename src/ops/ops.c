/* ops.c - the dispatcher and the verbs that read or edit the model only. */
#include "ops.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "fields.h"
#include "records.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "verbs.h"
#include "vm.h"


void carve_ctx_close(struct carve_ctx *ctx)
{
	if (ctx->owns_model)
		carve_model_free(ctx->model);
	if (ctx->owns_inv)
		carve_hw_inventory_free(ctx->inv);
	ctx->model = NULL;
	ctx->inv = NULL;
	ctx->owns_model = ctx->owns_inv = false;
	carve_db_close(ctx->db);
	ctx->db = NULL;
}

int carve_ops_load_model(struct carve_ctx *ctx, struct carve_error *err)
{
	if (!ctx->model) {
		int r = carve_model_new(&ctx->model);
		if (r < 0)
			return carve_error_set(err, r, "OUT_OF_MEMORY", "out of memory");
		ctx->owns_model = true;
		return carve_model_load(ctx->model, ctx->db, err);
	}
	uint64_t gen = ctx->db->begun_generation;
	/* read by this transaction's begin (db.h), else now */
	bool begun = ctx->db->begun_generation_valid && ctx->db->txn_depth > 0;
	int r = begun ? 0 : carve_repo_generation(ctx->db, &gen, err);
	if (r < 0)
		return r;
	return gen == ctx->model->generation ? 0 : carve_model_load(ctx->model, ctx->db, err);
}

static int begin(struct carve_ctx *ctx, bool shared, struct carve_error *err)
{
	int r = shared ? carve_db_begin_shared(ctx->db, err) : carve_db_begin(ctx->db, err);
	if (r < 0 || ctx->db->txn_depth > 1)
		return r; /* nested: the outer level proved the model current */
	/* Under the store's writer lock (exclusive: no one else can move it
	 * now; shared: no one but the placement path, which locks rows). */
	if ((r = carve_ops_load_model(ctx, err)) < 0)
		carve_db_rollback(ctx->db);
	return r;
}

int carve_ops_begin(struct carve_ctx *ctx, struct carve_error *err)
{
	return begin(ctx, false, err);
}

int carve_ops_begin_shared(struct carve_ctx *ctx, struct carve_error *err)
{
	return begin(ctx, true, err);
}

int carve_ops_end(struct carve_ctx *ctx, int r, struct carve_error *err)
{
	bool top = ctx->db->txn_depth == 1;
	r = carve_db_end(ctx->db, r, err);
	if (r >= 0 && top && ctx->db->wrote && ctx->db->bumped)
		ctx->model->generation = ctx->db->generation;
	return r;
}

int carve_ops_batch_begin(struct carve_ctx *ctx, struct carve_error *err)
{
	int r = carve_db_batch_begin(ctx->db, err);
	if (r >= 0 && (r = carve_ops_load_model(ctx, err)) < 0)
		carve_db_rollback(ctx->db);
	return r;
}

int carve_ops_batch_end(struct carve_ctx *ctx, int r, struct carve_error *err)
{
	return carve_ops_end(ctx, r, err);
}

int carve_ctx_open_store(struct carve_ctx *ctx, const char *path, struct carve_error *err)
{
	int r = carve_db_open(path, &ctx->db, err);
	if (r < 0)
		return r;
	r = carve_db_migrate(ctx->db, err);
	if (r >= 0)
		ctx->db->begin_generation = true; /* the table exists now */
	if (r < 0) {
		carve_db_close(ctx->db);
		ctx->db = NULL;
	}
	return r;
}

/* ---- generic verbs over a class ---- */

static const char *verb_class(const char *verb, char *buf, size_t len)
{
	/* "vgpu-type-param-list" -> "vgpu-type" */
	static const char *const suffixes[] = {"-list", "-param-list", "-param-get"};
	size_t vl = strlen(verb);
	for (int i = 2; i >= 0; i--) {
		size_t sl = strlen(suffixes[i]);
		if (vl > sl && strcmp(verb + vl - sl, suffixes[i]) == 0 && vl - sl < len) {
			memcpy(buf, verb, vl - sl);
			buf[vl - sl] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* params=: the fields a caller wants ("all", or a comma-separated list of
 * names), into want[] by the class's table; absent = all. */
static int want_fields(const struct carve_class *cls, json_t *args, bool *want, bool *all, struct carve_error *err)
{
	const char *params;
	int r = carve_arg_str(args, "params", false, &params, err);
	*all = r < 0 || !params || strcmp(params, "all") == 0;
	for (size_t i = 0; i < cls->n_fields; i++)
		want[i] = *all;
	if (r < 0 || *all)
		return r;
	_cleanup_free_ const struct carve_field **sel = calloc(cls->n_fields + 1, sizeof(*sel));
	size_t n = 0;
	if (!sel)
		return -ENOMEM;
	if ((r = carve_class_select(cls, params, sel, &n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		want[sel[i] - cls->fields] = true;
	return 0;
}

static int list_verb(struct carve_ctx *ctx, const char *cls_name, json_t *args, json_t **result,
		     struct carve_error *err)
{
	const struct carve_class *cls = carve_class_find(cls_name);
	carve_records_fn fn = carve_records_for(cls_name);
	bool want[64], all;
	int r = want_fields(cls, args, want, &all, err);
	if (r < 0)
		return r;
	/* Every argument other than params/minimal is a field filter (xe semantics). */
	const char *key;
	json_t *wanted_v;
	json_object_foreach(args, key, wanted_v) {
		if (strcmp(key, "params") == 0 || strcmp(key, "minimal") == 0)
			continue;
		const struct carve_field *f = carve_class_field(cls, key);
		if (!f)
			return carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "unknown parameter for %s-list: %s",
					       cls_name, key);
		want[f - cls->fields] = true; /* computed to filter by */
	}
	want[0] = true; /* the UUID, always */
	json_t *records = NULL;
	if ((r = fn(ctx, NULL, all ? NULL : want, &records, err)) < 0)
		return r;
	_cleanup_json_ json_t *kept = records;
	json_object_foreach(args, key, wanted_v) {
		if (strcmp(key, "params") == 0 || strcmp(key, "minimal") == 0)
			continue;
		const struct carve_field *f = carve_class_field(cls, key);
		_cleanup_free_ char *wanted = carve_value_text(wanted_v);
		json_t *next = json_array();
		size_t i;
		json_t *rec;
		json_array_foreach(kept, i, rec) {
			_cleanup_free_ char *have = carve_value_text(json_object_get(rec, f->name));
			if (have && wanted && strcmp(have, wanted) == 0)
				json_array_append(next, rec);
		}
		json_decref(kept);
		kept = next;
	}
	*result = json_pack("{s:s, s:O}", "class", cls_name, "records", kept);
	return *result ? 0 : -ENOMEM;
}

static int lookup_record(struct carve_ctx *ctx, const char *cls_name, const char *uuid, const bool *want, json_t **rec,
			 struct carve_error *err)
{
	json_t *records = NULL;
	int r = carve_records_for(cls_name)(ctx, uuid, want, &records, err);
	if (r < 0)
		return r;
	if (json_array_size(records) == 0) {
		json_decref(records);
		return carve_ops_not_found(cls_name, uuid, err);
	}
	*rec = json_incref(json_array_get(records, 0));
	json_decref(records);
	return 0;
}

static int param_list_verb(struct carve_ctx *ctx, const char *cls_name, json_t *args, json_t **result,
			   struct carve_error *err)
{
	char uuid[37];
	json_t *rec;
	bool want[64], all;
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0 || (r = want_fields(carve_class_find(cls_name), args, want, &all, err)) < 0 ||
	    (r = lookup_record(ctx, cls_name, uuid, all ? NULL : want, &rec, err)) < 0)
		return r;
	*result = json_pack("{s:s, s:[o]}", "class", cls_name, "records", rec);
	return *result ? 0 : -ENOMEM;
}

static int param_get_verb(struct carve_ctx *ctx, const char *cls_name, json_t *args, json_t **result,
			  struct carve_error *err)
{
	char uuid[37];
	const char *name, *key;
	_cleanup_json_ json_t *rec = NULL;
	int r;
	if ((r = carve_arg_uuid(args, "uuid", true, uuid, err)) < 0 ||
	    (r = carve_arg_str(args, "param-name", true, &name, err)) < 0 ||
	    (r = carve_arg_str(args, "param-key", false, &key, err)) < 0)
		return r;
	const struct carve_class *cls = carve_class_find(cls_name);
	const struct carve_field *f = carve_class_field(cls, name);
	if (!f)
		return carve_error_set(err, -EINVAL, "UNKNOWN_FIELD", "%s has no field '%.64s'", cls_name, name);
	bool want[64] = {false};
	want[f - cls->fields] = true;
	if ((r = lookup_record(ctx, cls_name, uuid, want, &rec, err)) < 0)
		return r;
	json_t *v = json_object_get(rec, f->name);
	if (key) {
		if (!json_is_object(v))
			return carve_error_set(err, -EINVAL, "INVALID_VALUE", "%s is not a map field", f->name);
		v = json_object_get(v, key);
		if (!v)
			return carve_error_set(err, -ENOENT, "MAP_KEY_NOT_FOUND", "%s has no key %.64s", f->name, key);
	}
	*result = json_pack("{s:O}", "value", v);
	return *result ? 0 : -ENOMEM;
}

int carve_op_generic(struct carve_ctx *ctx, const char *verb, json_t *args, json_t **result, struct carve_error *err)
{
	char cls[32];
	if (!verb_class(verb, cls, sizeof(cls)))
		return carve_error_set(err, -EINVAL, "UNKNOWN_COMMAND", "unknown command: %s", verb);
	const char *suffix = verb + strlen(cls);
	if (strcmp(suffix, "-param-list") == 0)
		return param_list_verb(ctx, cls, args, result, err);
	if (strcmp(suffix, "-param-get") == 0)
		return param_get_verb(ctx, cls, args, result, err);
	return list_verb(ctx, cls, args, result, err);
}

/* ---- dispatch ---- */

static json_t *lower_keys(json_t *args, struct carve_error *err)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	if (!out)
		return NULL;
	if (args && !json_is_object(args)) {
		json_decref(out);
		carve_error_set(err, -EINVAL, "INVALID_REQUEST", "arguments must be a JSON object");
		return NULL;
	}
	json_object_foreach(args, k, v) {
		char lk[128];
		size_t n = strlen(k);
		if (n == 0 || n >= sizeof(lk)) {
			json_decref(out);
			carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "bad parameter name");
			return NULL;
		}
		for (size_t i = 0; i <= n; i++)
			lk[i] = (char)tolower((unsigned char)k[i]);
		if (json_object_get(out, lk)) {
			json_decref(out);
			carve_error_set(err, -EINVAL, "DUPLICATE_PARAMETER", "parameter given twice: %s", lk);
			return NULL;
		}
		json_object_set(out, lk, v);
	}
	return out;
}

/* The verb's arguments with their keys in lower case, each one the verb
 * takes (*out a new reference). */
static int verb_args(const struct carve_op *op, json_t *args, json_t **out, struct carve_error *err)
{
	_cleanup_json_ json_t *a = lower_keys(args, err);
	if (!a)
		return carve_error_isset(err) ? err->code : -ENOMEM;
	if (!op->filters) {
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v) {
			bool ok = false;
			for (size_t i = 0; op->keys && op->keys[i]; i++)
				if (strcmp(op->keys[i], k) == 0)
					ok = true;
			if (!ok)
				return carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "unknown parameter for %s: %.64s",
						       op->verb, k);
		}
	}
	*out = json_incref(a);
	return 0;
}

/* A context of its own (the CLI) loads the model and looks at the host
 * once; carved's service does both itself and keeps them current. */
static int ctx_ready(struct carve_ctx *ctx, struct carve_error *err)
{
	int r;
	if (!ctx->model && (r = carve_ops_load_model(ctx, err)) < 0)
		return r;
	if (!ctx->refreshed && (r = carve_ops_refresh(ctx, err)) < 0)
		return r;
	return 0;
}

bool carve_ops_call_batches(const char *verb)
{
	return verb && strcmp(verb, "vm-start") == 0;
}

void carve_ops_call_many(struct carve_ctx *ctx, const char *verb, struct carve_call *calls, size_t n)
{
	json_t *args[CARVE_REALIZE_BATCH] = {0};
	const struct carve_op *op = carve_op_find(verb);
	struct carve_error e = {0};
	int r = !op || !carve_ops_call_batches(verb) || n > CARVE_REALIZE_BATCH
			? carve_error_set(&e, -EINVAL, "UNKNOWN_COMMAND", "%.64s does not take calls together",
					  verb ? verb : "")
			: ctx_ready(ctx, &e);
	for (size_t i = 0; i < n; i++) {
		calls[i].result = NULL;
		carve_error_clear(&calls[i].err);
		calls[i].r = r < 0 ? carve_error_reset(&calls[i].err, r, e.id, "%s", e.message)
				   : verb_args(op, calls[i].args, &args[i], &calls[i].err);
	}
	if (r < 0)
		return; /* n may be past args[] */
	carve_model_wrlock(ctx->model);
	carve_ops_vm_start_many(ctx, verb, CARVE_POWER_HALTED, calls, args, n);
	carve_model_unlock(ctx->model);
	for (size_t i = 0; i < n; i++)
		json_decref(args[i]);
}

int carve_ops_call_wait(struct carve_ctx *ctx, struct carve_call *call)
{
	carve_model_wrlock(ctx->model);
	call->r = carve_ops_vm_start_wait(ctx, call->vm, call->target, &call->result, &call->err);
	carve_model_unlock(ctx->model);
	return call->r;
}

int carve_ops_call(struct carve_ctx *ctx, const char *verb, json_t *args, json_t **result, struct carve_error *err)
{
	*result = NULL;
	const struct carve_op *op = carve_op_find(verb);
	if (!op)
		return carve_error_set(err, -EINVAL, "UNKNOWN_COMMAND", "unknown command: %.64s", verb ? verb : "");
	_cleanup_json_ json_t *a = NULL;
	int r = verb_args(op, args, &a, err);
	if (r < 0 || (r = ctx_ready(ctx, err)) < 0)
		return r;
	if (op->writes)
		carve_model_wrlock(ctx->model);
	else
		carve_model_rdlock_committed(ctx->model); /* nothing a batch may yet lose (model.h) */
	r = op->fn(ctx, a, result, err);
	carve_model_unlock(ctx->model);
	return r;
}

int carve_ops_not_found(const char *cls, const char *uuid, struct carve_error *err)
{
	return carve_error_set(err, -ENOENT, "UUID_NOT_FOUND", "no %s with uuid %s", cls, uuid);
}

int carve_ops_group_type(struct carve_ctx *ctx, const char *group, const char *type,
			 const struct carve_obj_group **g, const struct carve_obj_type **t, struct carve_error *err)
{
	if (!(*g = carve_model_group(ctx->model, group)))
		return carve_ops_not_found("gpu-group", group, err);
	if (!(*t = carve_model_type(ctx->model, type)))
		return carve_ops_not_found("vgpu-type", type, err);
	return 0;
}
