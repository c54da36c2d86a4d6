/* test-batch.c - group commit (service.h) against a real store: the SQLite
 * file of a temporary directory, or the PostgreSQL database named by
 * CARVE_TEST_PG (a conninfo; tests/pool/run sets it).
 *
 *   1. (run second) A batch whose commit fails (injected by the commit hook) acknowledges
 *      none of its requests, every one of them fails with
 *      STORE_COMMIT_FAILED, and the model - read through the service - is
 *      as it was, as is the store; a read that came while that batch was
 *      open waited for it and never saw its VMs.
 *   2. (run first) In a batch that commits, a request whose own checks fail (a UUID
 *      that exists) fails alone; the others are acknowledged and durable.
 *
 * The hook holds the first batch (one request) open long enough for the
 * other writers to queue up behind it, so that they form the next batch
 * together.  Plain asserts; exit status 0 = all passed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"
#include "store/db.h"
#include "test-check.h"
#include "util/cleanup.h"

#define WRITERS 8

static struct carve_service *svc;
static const char *store;

struct writer {
	pthread_t thread;
	char uuid[37];
	int r;
	char id[64];
};

static _Atomic int started;

/* The hook's script for one round: the first batch is held, the second
 * fails (fail_second) or commits. */
static struct {
	_Atomic int calls;
	bool fail_second;
	size_t second_n;
	pthread_t reader;
	bool reader_started;
	char *read_during; /* vm-list answered to the reader that came during the second batch */
} hook_state;

static int call(const char *verb, json_t *args, json_t **res, char id[64])
{
	struct carve_error err = {0};
	json_t *out = NULL;
	int r = carve_service_call(svc, carve_op_find(verb), carve_op_find(verb)->writes != CARVE_WRITE_NONE, args,
				   &out, &err);
	if (id)
		snprintf(id, 64, "%s", r < 0 ? err.id : "");
	if (res)
		*res = out;
	else
		json_decref(out);
	return r;
}

static char *vm_list(void)
{
	json_t *res = NULL;
	_cleanup_json_ json_t *args = json_pack("{s:s}", "params", "uuid,name-label,power-state");
	if (call("vm-list", args, &res, NULL) < 0)
		return strdup("error");
	char *s = json_dumps(json_object_get(res, "records"), JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(res);
	return s;
}

static void *reader_main(void *arg)
{
	(void)arg;
	hook_state.read_during = vm_list();
	return NULL;
}

static int hook(void *data, size_t n, struct carve_error *err)
{
	(void)data;
	int k = atomic_fetch_add(&hook_state.calls, 1) + 1;
	if (k == 1) { /* hold the first batch while the others queue */
		for (int i = 0; i < 400 && atomic_load(&started) < WRITERS - 1; i++)
			usleep(5000);
		usleep(150000);
		return 0;
	}
	if (k != 2)
		return 0;
	hook_state.second_n = n;
	/* A read now: the model holds this batch's VMs, not yet durable. */
	hook_state.reader_started = pthread_create(&hook_state.reader, NULL, reader_main, NULL) == 0;
	usleep(100000);
	if (hook_state.fail_second)
		return carve_error_set(err, -EIO, "INJECTED", "injected: the disk refused the commit");
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	_cleanup_json_ json_t *args = json_pack("{s:s, s:s}", "name-label", "batched", "uuid", w->uuid);
	w->r = call("vm-create", args, NULL, w->id);
	return NULL;
}

/* The VM UUIDs the store holds, sorted, comma-separated, through a
 * connection of its own. */
static char *store_vms(void)
{
	struct carve_db *db = NULL;
	struct carve_error err = {0};
	struct carve_rows *rows = NULL;
	if (carve_db_open(store, &db, &err) < 0 ||
	    carve_db_exec(db, "SELECT uuid FROM vm ORDER BY uuid", NULL, 0, &rows, &err) < 0) {
		carve_db_close(db);
		return strdup("error");
	}
	size_t len = 1;
	for (size_t i = 0; i < rows->nrows; i++)
		len += strlen(carve_rows_cell(rows, i, 0)) + 1;
	char *s = calloc(1, len);
	for (size_t i = 0; s && i < rows->nrows; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, carve_rows_cell(rows, i, 0));
	}
	carve_rows_free(rows);
	carve_db_close(db);
	return s;
}

static bool listed(const char *list, const char *uuid)
{
	return list && strstr(list, uuid) != NULL;
}

static void run_round(struct writer *w, bool fail_second, const char *dup)
{
	memset(&hook_state, 0, sizeof(hook_state));
	hook_state.fail_second = fail_second;
	atomic_store(&started, 0);
	carve_service_set_commit_hook(svc, hook, NULL);
	for (int i = 0; i < WRITERS; i++) {
		snprintf(w[i].uuid, sizeof(w[i].uuid), "%08x-0000-4000-8000-%012x", fail_second ? 0xfa11u : 0xc0de, i);
		if (i == WRITERS / 2 && dup)
			snprintf(w[i].uuid, sizeof(w[i].uuid), "%s", dup);
		w[i].r = 1;
		pthread_create(&w[i].thread, NULL, writer_main, &w[i]);
		if (i == 0)
			while (atomic_load(&hook_state.calls) == 0) /* the first batch is held */
				usleep(1000);
		else
			atomic_fetch_add(&started, 1);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i].thread, NULL);
	if (hook_state.reader_started)
		pthread_join(hook_state.reader, NULL);
	carve_service_set_commit_hook(svc, NULL, NULL);
}

static void test_failed_batch(void)
{
	_cleanup_free_ char *before = vm_list();
	_cleanup_free_ char *store_before = store_vms();

	struct writer w[WRITERS];
	run_round(w, true, NULL);
	CHECK(w[0].r == 0); /* the held first batch committed */
	CHECK(hook_state.second_n >= 2);
	size_t failed = 0, ok = 1;
	for (int i = 1; i < WRITERS; i++) {
		if (w[i].r < 0) {
			failed++;
			CHECK(strcmp(w[i].id, "STORE_COMMIT_FAILED") == 0);
		} else {
			ok++;
		}
	}
	CHECK(failed == hook_state.second_n); /* every request of the failed batch, no other */
	/* The model and the store: as before, plus what was acknowledged. */
	_cleanup_free_ char *after = vm_list();
	_cleanup_free_ char *store_after = store_vms();
	size_t in_model = 0, in_store = 0;
	for (int i = 0; i < WRITERS; i++) {
		CHECK(listed(after, w[i].uuid) == (w[i].r == 0));
		CHECK(listed(store_after, w[i].uuid) == (w[i].r == 0));
		CHECK(!listed(hook_state.read_during, w[i].uuid) || w[i].r == 0);
		in_model += listed(after, w[i].uuid);
		in_store += listed(store_after, w[i].uuid);
	}
	CHECK(in_model == ok && in_store == ok);
	CHECK(hook_state.read_during && strcmp(hook_state.read_during, "error") != 0);
	/* Nothing else moved: each VM that was there is there, unchanged. */
	json_t *b = json_loads(before, 0, NULL), *a = json_loads(after, 0, NULL);
	size_t i;
	json_t *rec;
	json_array_foreach(b, i, rec) {
		bool same = false;
		size_t k;
		json_t *rec2;
		json_array_foreach(a, k, rec2) same = same || json_equal(rec, rec2);
		CHECK(same);
	}
	CHECK(json_array_size(a) == json_array_size(b) + ok);
	json_decref(a);
	json_decref(b);
	CHECK(store_before && strlen(store_before) > 0);
	free(hook_state.read_during);
	/* The service takes writes again. */
	_cleanup_json_ json_t *args = json_pack("{s:s}", "name-label", "later");
	CHECK(call("vm-create", args, NULL, NULL) == 0);
}

static void test_member_fails_alone(void)
{
	char dup[37];
	snprintf(dup, sizeof(dup), "%08x-0000-4000-8000-%012x", 0xbeefu, 0); /* exists (main) */
	struct writer w[WRITERS];
	run_round(w, false, dup);
	CHECK(hook_state.second_n >= 2);
	_cleanup_free_ char *after = vm_list();
	_cleanup_free_ char *in_store = store_vms();
	for (int i = 0; i < WRITERS; i++) {
		if (i == WRITERS / 2) {
			CHECK(w[i].r == -EEXIST && strcmp(w[i].id, "UUID_ALREADY_EXISTS") == 0);
			continue;
		}
		CHECK(w[i].r == 0);
		CHECK(listed(after, w[i].uuid));
		CHECK(listed(in_store, w[i].uuid));
	}
	free(hook_state.read_during);
}

int main(void)
{
	char dir[] = "/tmp/carve-test-batch-XXXXXX";
	char path[64];
	store = getenv("CARVE_TEST_PG");
	if (!store || !*store) {
		if (!mkdtemp(dir))
			return 1;
		snprintf(path, sizeof(path), "%s/carve.db", dir);
		store = path;
	}
	struct carve_error err = {0};
	struct carve_service_config cfg = {.db_path = store, .hostname = "batch-test", .max_connections = 64};
	if (carve_service_new(&cfg, &svc, &err) < 0) {
		fprintf(stderr, "test-batch: %s\n", err.message);
		return 1;
	}
	/* What is there before. */
	for (int i = 0; i < 3; i++) {
		char u[37];
		snprintf(u, sizeof(u), "%08x-0000-4000-8000-%012x", 0xbeefu, i);
		_cleanup_json_ json_t *args = json_pack("{s:s, s:s}", "name-label", "before", "uuid", u);
		CHECK(call("vm-create", args, NULL, NULL) == 0);
	}
	/* First: its reader opens a second store connection (waiting for the
	 * batch while it migrates), so that the reader of the failed batch
	 * finds one open and meets the model's gate, not the store's lock. */
	test_member_fails_alone();
	test_failed_batch();
	carve_service_free(svc);
	if (store == path) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
	printf("test-batch (%s): %d checks, %d failed\n", store == path ? "sqlite" : "postgresql", checks, failures);
	return failures ? 1 : 0;
}
