/* The ops in process: every verb through carve_ops_call() against the
 * simulated demo host and an in-memory (or temporary) SQLite store, without
 * the CLI or carved around them.
 *
 * - the resident model after writes equals a model loaded afresh from the
 *   store (targeted reloads miss nothing);
 * - a vm-start whose create fails rolls back: store, model and host as
 *   before, capacity unchanged;
 * - host-reconcile after a "reboot" (a fresh sim) recreates the vGPUs with
 *   their UUIDs;
 * - a second process's write is seen: a write reloads a model the store
 *   moved past (store generation);
 * - the per-VM vGPU limit is an error wherever it is met, also when the
 *   store holds more than the limit (never a truncation);
 * - /metrics labels: escaped, and the vGPU states the model uses;
 * - arguments rendered from numbers do not alias;
 * - vm-starts taken up together fail alone where only they are at fault,
 *   and the placement's room sets follow capacity exactly.
 *
 * Environment (tests/unit/meson.build): CARVE_SRCDIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/metrics.h"
#include "host/host.h"
#include "host/sim.h"
#include "ops/args.h"
#include "ops/ops.h"
#include "place/index.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"

static char *demo_profile(void)
{
	const char *s = getenv("CARVE_SRCDIR");
	return carve_strdupf("%s/examples/hosts/demo.yaml", s ? s : ".");
}

/* A context on the demo sim host and a store at path (":memory:" when NULL). */
static void ctx_open(struct carve_ctx *ctx, const char *path)
{
	memset(ctx, 0, sizeof(*ctx));
	struct carve_error err = {0};
	_cleanup_free_ char *prof = demo_profile();
	if (carve_ctx_open_store(ctx, path ? path : ":memory:", &err) < 0 ||
	    carve_host_open_sim(prof, NULL, &ctx->host, &err) < 0)
		fail_msg("open: %s", err.message);
	ctx->hostname = "t";
	ctx->backend_desc = "sim:demo";
}

static void ctx_done(struct carve_ctx *ctx)
{
	carve_host_free(ctx->host);
	carve_ctx_close(ctx);
}

/* Run a verb with key=value arguments (NULL-terminated); the result or NULL. */
static json_t *callv(struct carve_ctx *ctx, int want, struct carve_error *err, const char *verb, va_list ap)
{
	json_t *args = json_object();
	for (const char *k; (k = va_arg(ap, const char *));)
		json_object_set_new(args, k, json_string(va_arg(ap, const char *)));
	json_t *res = NULL;
	carve_error_clear(err);
	int r = carve_ops_call(ctx, verb, args, &res, err);
	json_decref(args);
	if (want == 0 && r < 0)
		fail_msg("%s: %s: %s", verb, err->id, err->message);
	if (want < 0 && r != want)
		fail_msg("%s: expected %d, got %d (%s)", verb, want, r, err->message);
	return res;
}

static json_t *call(struct carve_ctx *ctx, const char *verb, ...)
{
	struct carve_error err = {0};
	va_list ap;
	va_start(ap, verb);
	json_t *r = callv(ctx, 0, &err, verb, ap);
	va_end(ap);
	return r;
}

/* Expect failure r; the error id is returned (static). */
static const char *call_fail(struct carve_ctx *ctx, int want, const char *verb, ...)
{
	static struct carve_error err;
	va_list ap;
	va_start(ap, verb);
	json_t *r = callv(ctx, want, &err, verb, ap);
	va_end(ap);
	json_decref(r);
	return err.id;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The UUID of the first record of a list verb filtered by key=value. */
static char *first_uuid(struct carve_ctx *ctx, const char *verb, const char *key, const char *value)
{
	_cleanup_json_ json_t *r = call(ctx, verb, key, value, NULL);
	json_t *rec = json_array_get(json_object_get(r, "records"), 0);
	assert_non_null(rec);
	return strdup(str(rec, "uuid"));
}

/* Every class, every field, as the model answers now. */
static json_t *everything(struct carve_ctx *ctx)
{
	static const char *const verbs[] = {"host-list", "pgpu-list", "vgpu-type-list", "gpu-group-list", "vm-list",
					    "vgpu-list"};
	json_t *all = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		json_object_set_new(all, verbs[i], call(ctx, verbs[i], "params", "all", NULL));
	return all;
}

static void expect_model_is_store(struct carve_ctx *ctx)
{
	_cleanup_json_ json_t *live = everything(ctx);
	/* A second context on the same store loads its model afresh. */
	struct carve_ctx fresh = {.db = ctx->db, .hostname = ctx->hostname, .backend_desc = ctx->backend_desc,
				  .refreshed = true};
	_cleanup_json_ json_t *loaded = everything(&fresh);
	carve_model_free(fresh.model);
	if (!json_equal(live, loaded)) {
		_cleanup_free_ char *a = json_dumps(live, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		_cleanup_free_ char *b = json_dumps(loaded, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		size_t i = 0;
		while (a[i] && a[i] == b[i])
			i++;
		fail_msg("the model differs from the store at:\n  model: %.200s\n  store: %.200s", a + i, b + i);
	}
}

static int64_t remaining(struct carve_ctx *ctx, const char *group, const char *type)
{
	_cleanup_json_ json_t *r =
		call(ctx, "gpu-group-get-remaining-capacity", "uuid", group, "vgpu-type-uuid", type, NULL);
	return json_integer_value(json_object_get(r, "value"));
}

struct world {
	char *group, *type, *full; /* the two P40s' group; P40-2Q (12 a GPU); P40-24Q (multi-vGPU) */
};

static void world_of(struct carve_ctx *ctx, struct world *w)
{
	w->group = first_uuid(ctx, "gpu-group-list", "name-label", "Group of NVIDIA Corporation Tesla P40 GPUs");
	w->type = first_uuid(ctx, "vgpu-type-list", "model-name", "GRID P40-2Q");
	w->full = first_uuid(ctx, "vgpu-type-list", "model-name", "GRID P40-24Q");
}

static void world_free(struct world *w)
{
	free(w->group);
	free(w->type);
	free(w->full);
}

/* A VM with one P40-2Q, or n > 1 full-size P40-24Q (only those combine). */
static char *vm_with(struct carve_ctx *ctx, const struct world *w, const char *name, int n)
{
	_cleanup_json_ json_t *vm = call(ctx, "vm-create", "name-label", name, NULL);
	char *uuid = strdup(str(vm, "uuid"));
	for (int i = 0; i < n; i++)
		json_decref(call(ctx, "vgpu-create", "vm-uuid", uuid, "gpu-group-uuid", w->group, "vgpu-type-uuid",
				 n > 1 ? w->full : w->type, NULL));
	return uuid;
}

static void test_model_matches_store(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	expect_model_is_store(&ctx);
	_cleanup_free_ char *a = vm_with(&ctx, &w, "a", 1), *b = vm_with(&ctx, &w, "b", 1);
	json_decref(call(&ctx, "vm-start", "uuid", a, NULL));
	expect_model_is_store(&ctx);
	json_decref(call(&ctx, "vm-start", "uuid", b, NULL));
	_cleanup_json_ json_t *g = call(&ctx, "gpu-group-create", "name-label", "mine", NULL);
	json_decref(call(&ctx, "gpu-group-param-set", "uuid", str(g, "uuid"), "allocation-algorithm", "breadth-first",
			 NULL));
	json_decref(call(&ctx, "vm-param-set", "uuid", a, "name-label", "a2", NULL));
	expect_model_is_store(&ctx);
	json_decref(call(&ctx, "vm-shutdown", "uuid", a, NULL));
	json_decref(call(&ctx, "vm-destroy", "uuid", a, NULL));
	json_decref(call(&ctx, "gpu-group-destroy", "uuid", str(g, "uuid"), NULL));
	expect_model_is_store(&ctx);
	/* 12 P40-2Q fit a P40; two of them, b holds one place */
	assert_int_equal(remaining(&ctx, w.group, w.type), 23);
	world_free(&w);
	ctx_done(&ctx);
}

static void test_rollback(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	_cleanup_free_ char *vm = vm_with(&ctx, &w, "r", 2);
	_cleanup_json_ json_t *before = everything(&ctx);
	int64_t cap = remaining(&ctx, w.group, w.type);
	setenv(CARVE_SIM_FAIL_ENV, "2", 1); /* the second create of this host fails */
	struct carve_host *failing = NULL;
	struct carve_error err = {0};
	_cleanup_free_ char *prof = demo_profile();
	assert_int_equal(carve_host_open_sim(prof, NULL, &failing, &err), 0);
	unsetenv(CARVE_SIM_FAIL_ENV);
	struct carve_host *good = ctx.host;
	ctx.host = failing;
	assert_string_equal(call_fail(&ctx, -EIO, "vm-start", "uuid", vm, NULL), "SIM_INJECTED_FAILURE");
	_cleanup_json_ json_t *after = everything(&ctx);
	/* host-list's last-discovery may move; everything else must not */
	json_object_del(before, "host-list");
	json_object_del(after, "host-list");
	assert_true(json_equal(before, after));
	assert_int_equal(remaining(&ctx, w.group, w.type), cap);
	expect_model_is_store(&ctx);
	struct carve_hw_inventory inv = {0};
	assert_int_equal(carve_host_discover(failing, &inv, &err), 0);
	for (size_t i = 0; i < inv.n_gpus; i++)
		assert_int_equal(inv.gpus[i].n_devs, 0); /* the first create was undone */
	carve_hw_inventory_clear(&inv);
	carve_host_free(failing);
	ctx.host = good;
	world_free(&w);
	ctx_done(&ctx);
}

static void test_reconcile_after_reboot(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	_cleanup_free_ char *vm = vm_with(&ctx, &w, "x", 2);
	_cleanup_free_ char *vgpu = first_uuid(&ctx, "vgpu-list", "vm-uuid", vm);
	json_decref(call(&ctx, "vgpu-param-set", "uuid", vgpu, "extra-args", "frame_rate_limiter=0", NULL));
	json_decref(call(&ctx, "vm-start", "uuid", vm, NULL));
	/* A reboot: the host forgets every device (a fresh sim, no state). */
	carve_host_free(ctx.host);
	_cleanup_free_ char *prof = demo_profile();
	struct carve_error err = {0};
	assert_int_equal(carve_host_open_sim(prof, NULL, &ctx.host, &err), 0);
	_cleanup_json_ json_t *res = call(&ctx, "host-reconcile", NULL);
	json_t *acts = json_object_get(res, "actions");
	assert_int_equal(json_array_size(acts), 2);
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(str(json_array_get(acts, i), "action"), "recreated");
	struct carve_hw_inventory inv = {0};
	assert_int_equal(carve_host_discover(ctx.host, &inv, &err), 0);
	_cleanup_json_ json_t *vgpus = call(&ctx, "vgpu-list", "vm-uuid", vm, "params", "all", NULL);
	size_t i, found = 0;
	json_t *v;
	json_array_foreach(json_object_get(vgpus, "records"), i, v)
		for (size_t g = 0; g < inv.n_gpus; g++)
			for (size_t d = 0; d < inv.gpus[g].n_devs; d++)
				found += strcmp(inv.gpus[g].devs[d].uuid, str(v, "uuid")) == 0;
	assert_int_equal(found, 2);
	carve_hw_inventory_clear(&inv);
	json_decref(res);
	res = call(&ctx, "host-reconcile", NULL); /* nothing left to do */
	assert_int_equal(json_array_size(json_object_get(res, "actions")), 0);
	expect_model_is_store(&ctx);
	world_free(&w);
	ctx_done(&ctx);
}

/* An act moves other types' counts too (the driver's rules: a homogeneous
 * P40 running a 2Q offers no 24Q; empty again, it does): after vm-start and
 * vm-shutdown the store and the model hold the kernel's counts for every
 * type of the GPU, not only the one acted on. */
static void test_act_rereads_gpu(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	int64_t full0 = remaining(&ctx, w.group, w.full);
	assert_true(full0 > 0);
	_cleanup_free_ char *vm = vm_with(&ctx, &w, "x", 1);
	json_decref(call(&ctx, "vm-start", "uuid", vm, NULL));
	assert_int_equal(remaining(&ctx, w.group, w.full), full0 - 1);
	expect_model_is_store(&ctx);
	json_decref(call(&ctx, "vm-shutdown", "uuid", vm, NULL));
	assert_int_equal(remaining(&ctx, w.group, w.full), full0);
	expect_model_is_store(&ctx);
	world_free(&w);
	ctx_done(&ctx);
}

static void test_other_writer(void **state)
{
	(void)state;
	char path[] = "/tmp/carve-test-ops-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct carve_ctx a, b;
	ctx_open(&a, path);
	ctx_open(&b, path);
	_cleanup_json_ json_t *la = call(&a, "vm-list", NULL); /* a's model is loaded */
	assert_int_equal(json_array_size(json_object_get(la, "records")), 0);
	uint64_t gen = a.model->generation;
	json_decref(call(&b, "vm-create", "name-label", "by-b", NULL));
	/* a's next write begins by proving its model current: it reloads */
	json_decref(call(&a, "vm-create", "name-label", "by-a", NULL));
	assert_int_equal(a.model->generation, gen + 2);
	_cleanup_json_ json_t *vms = call(&a, "vm-list", NULL);
	assert_int_equal(json_array_size(json_object_get(vms, "records")), 2);
	/* and a context's load notices the store moved on */
	json_decref(call(&b, "vm-create", "name-label", "by-b2", NULL));
	struct carve_error err = {0};
	assert_int_equal(carve_ops_load_model(&a, &err), 0);
	assert_int_equal(a.model->vms.n, 3);
	ctx_done(&a);
	ctx_done(&b);
	unlink(path);
	_cleanup_free_ char *wal = carve_strdupf("%s-wal", path), *shm = carve_strdupf("%s-shm", path);
	unlink(wal);
	unlink(shm);
}

static void test_vgpu_limit(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	/* full-size, multi-vGPU types may be combined: passthrough */
	_cleanup_free_ char *vm = vm_with(&ctx, &w, "big", 0);
	for (int i = 0; i < CARVE_MAX_VGPUS_PER_VM; i++)
		json_decref(call(&ctx, "vgpu-create", "vm-uuid", vm, "gpu-group-uuid", w.group, NULL));
	assert_string_equal(call_fail(&ctx, -ENOSPC, "vgpu-create", "vm-uuid", vm, "gpu-group-uuid", w.group, NULL),
			    "LIMIT_REACHED");
	/* More than the limit in the store (written by something else): an
	 * error, not the first 16. */
	struct carve_error err = {0};
	char dev[8];
	snprintf(dev, sizeof(dev), "%d", CARVE_MAX_VGPUS_PER_VM);
	_cleanup_json_ json_t *one = call(&ctx, "vgpu-list", "vm-uuid", vm, "params", "all", NULL);
	json_t *r0 = json_array_get(json_object_get(one, "records"), 0);
	assert_int_equal(carve_db_begin(ctx.db, &err), 0);
	struct carve_repo_vgpu v = {.uuid = "0badc0de-0000-4000-8000-000000000017", .vm = vm, .type = str(r0, "type-uuid"),
				    .group = w.group, .device = CARVE_MAX_VGPUS_PER_VM};
	assert_int_equal(carve_repo_vgpu_insert(ctx.db, &v, &err), 0);
	assert_int_equal(carve_db_commit(ctx.db, &err), 0);
	assert_string_equal(call_fail(&ctx, -E2BIG, "vm-start", "uuid", vm, NULL), "LIMIT_REACHED");
	world_free(&w);
	ctx_done(&ctx);
}

static void test_metrics_labels(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	json_decref(call(&ctx, "gpu-group-param-set", "uuid", w.group, "name-label", "P40 \"fast\" \\ pool", NULL));
	_cleanup_free_ char *vm = vm_with(&ctx, &w, "m", 1);
	json_decref(call(&ctx, "vm-start", "uuid", vm, NULL));
	struct carve_metrics *m = carve_metrics_new();
	char *text = NULL;
	size_t len = 0;
	struct carve_error err = {0};
	int r = carve_metrics_render(m, &ctx, &text, &len, &err);
	assert_int_equal(r, 0);
	assert_non_null(strstr(text, "gpu_group=\"P40 \\\"fast\\\" \\\\ pool\""));
	static const char *const states[] = {"defined", "reserved", "running", "stopping"};
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		_cleanup_free_ char *want = carve_strdupf("carve_vgpus{state=\"%s\"} %d\n", states[i],
							  strcmp(states[i], "running") == 0);
		if (!strstr(text, want))
			fail_msg("no '%s' in /metrics", want);
	}
	assert_null(strstr(text, "state=\"removing\""));
	assert_non_null(strstr(text, "\ncarve_model_bytes "));
	free(text);
	carve_metrics_free(m);
	world_free(&w);
	ctx_done(&ctx);
}

/* The room set of (group, type) is exactly the group's views whose index
 * has room: what placement prunes the pool's hosts with. */
static void expect_rooms_exact(struct carve_ctx *ctx, const char *group, const char *type)
{
	struct carve_model *m = ctx->model;
	carve_model_wrlock(m);
	const struct carve_obj_group *g = carve_model_group(m, group);
	const struct carve_obj_type *t = carve_model_type(m, type);
	struct carve_view *const *views;
	size_t n = 0, want = 0;
	assert_int_equal(carve_model_rooms(m, g, t, &views, &n), 0);
	for (size_t i = 0; i < m->n_views; i++) {
		struct carve_view *v = m->views[i];
		int64_t total = 0;
		for (size_t k = 0; v->group == g && k < v->n_idx; k++)
			if (v->idx[k].type == t)
				total = carve_place_index_total(v->idx[k].idx);
		bool in = false;
		for (size_t k = 0; k < n; k++)
			in |= views[k] == v;
		if (v->group == g && v->n)
			assert_true(in == (total > 0));
		else
			assert_false(in);
		want += v->group == g && total > 0;
	}
	assert_int_equal(n, want);
	carve_model_unlock(m);
}

/* vm-starts taken up together (carve_ops_call_many): each fails alone
 * where only it is at fault - an unknown VM, one named twice, one that no
 * longer fits - and the others start; model and store agree after. */
static void test_starts_together(void **state)
{
	(void)state;
	struct carve_ctx ctx;
	ctx_open(&ctx, NULL);
	struct world w;
	world_of(&ctx, &w);
	/* two P40s: two full-size vGPUs fit, a third does not */
	char *vm[4];
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "f%d", i);
		_cleanup_json_ json_t *v = call(&ctx, "vm-create", "name-label", name, NULL);
		vm[i] = strdup(str(v, "uuid"));
		json_decref(call(&ctx, "vgpu-create", "vm-uuid", vm[i], "gpu-group-uuid", w.group, "vgpu-type-uuid",
				 w.full, NULL));
	}
	expect_rooms_exact(&ctx, w.group, w.full);
	struct carve_call calls[5] = {0};
	json_t *args[5] = {
		json_pack("{s:s}", "uuid", vm[0]), json_pack("{s:s}", "uuid", "00000000-0000-4000-8000-000000000000"),
		json_pack("{s:s}", "uuid", vm[1]), json_pack("{s:s}", "uuid", vm[0]), json_pack("{s:s}", "uuid", vm[2]),
	};
	for (int i = 0; i < 5; i++)
		calls[i].args = args[i];
	carve_ops_call_many(&ctx, "vm-start", calls, 5);
	assert_int_equal(calls[0].r, 0);
	assert_string_equal(calls[1].err.id, "UUID_NOT_FOUND");
	assert_int_equal(calls[2].r, 0);
	assert_string_equal(calls[3].err.id, "VM_BAD_POWER_STATE"); /* starting already, in this batch */
	assert_true(calls[4].r < 0);                                   /* the P40s are full */
	assert_non_null(json_object_get(calls[0].result, "libvirt-hostdevs"));
	expect_model_is_store(&ctx);
	expect_rooms_exact(&ctx, w.group, w.full);
	assert_int_equal(remaining(&ctx, w.group, w.full), 0);
	json_decref(call(&ctx, "vm-shutdown", "uuid", vm[1], NULL));
	expect_rooms_exact(&ctx, w.group, w.full);
	json_decref(call(&ctx, "vm-start", "uuid", vm[2], NULL));
	expect_model_is_store(&ctx);
	for (int i = 0; i < 5; i++) {
		json_decref(args[i]);
		json_decref(calls[i].result);
	}
	for (int i = 0; i < 4; i++)
		free(vm[i]);
	world_free(&w);
	ctx_done(&ctx);
}

static void test_args_no_alias(void **state)
{
	(void)state;
	_cleanup_json_ json_t *args = json_pack("{s:i, s:i}", "vcpus", 8, "memory-mib", 4096);
	const char *a, *b;
	struct carve_error err = {0};
	assert_int_equal(carve_arg_str(args, "vcpus", true, &a, &err), 0);
	assert_int_equal(carve_arg_str(args, "memory-mib", true, &b, &err), 0);
	assert_string_equal(a, "8");
	assert_string_equal(b, "4096");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_matches_store), cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_reconcile_after_reboot), cmocka_unit_test(test_act_rereads_gpu),
		cmocka_unit_test(test_other_writer),
		cmocka_unit_test(test_vgpu_limit), cmocka_unit_test(test_metrics_labels),
		cmocka_unit_test(test_args_no_alias), cmocka_unit_test(test_starts_together),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
