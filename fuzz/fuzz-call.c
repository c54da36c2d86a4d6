/* libFuzzer target: a JSON call body all the way into the verb - the
 * request layer (src/api/request.c: POST /v1/call/{verb}, argument keys and
 * value types) and then the verb's own argument checks and decisions
 * (src/ops: carve_ops_call) on a real SQLite store and a simulated host
 * (examples/hosts' demo profile, built in below).
 *
 * Input: one byte choosing the verb (an index into the op table), then the
 * body.  So that the fuzzer reaches past UUID_NOT_FOUND, the body's
 * placeholders @vm, @vm2 (a halted VM with a vGPU, and an empty one), @vgpu,
 * @group, @type, @pgpu and @host are replaced by the UUIDs of those objects
 * before the call.
 *
 * Every iteration starts from the same state: a verb that writes only the
 * store runs inside a batch (store/db.h) that is then rolled back, after
 * which the model is loaded again; a verb that acts on the host
 * (vm-start, vm-shutdown, host-reconcile: intent, act and confirm in
 * separate commits) is only validated, not run.
 *
 * The contract, besides what ASan/UBSan/LSan catch: a refused call sets err
 * with the same code and a stable id and returns no result; an accepted one
 * returns a JSON object; the store's generation is what it was before.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"
#include "ops/ops.h"
#include "state/model.h"
#include "store/db.h"
#include "util/cleanup.h"
#include "util/str.h"

/* compiled in, not from the library: fuzz/fuzz-request.c explains why */
#include "../src/api/request.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PROFILE[] = "name: fuzz\n"
			      "gpus:\n"
			      "  - {board: Tesla M10, pci: \"0000:05:00.0\"}\n"
			      "  - {board: Tesla M10, pci: \"0000:0a:00.0\"}\n"
			      "  - {board: Tesla P40, pci: \"0000:81:00.0\"}\n";

static struct carve_ctx ctx;
static const struct carve_op *ops;
static size_t n_ops;

enum { P_VM, P_VM2, P_VGPU, P_GROUP, P_TYPE, P_PGPU, P_HOST, P_N };
/* in matching order: @vm2 before @vm */
static const struct {
	const char *name;
	int idx;
} placeholder[P_N] = {{"@vm2", P_VM2}, {"@vm", P_VM},     {"@vgpu", P_VGPU}, {"@group", P_GROUP},
		      {"@type", P_TYPE}, {"@pgpu", P_PGPU}, {"@host", P_HOST}};
static char puuid[P_N][37];

static json_t *call(const char *verb, json_t *args)
{
	json_t *res = NULL;
	struct carve_error err = {0};
	if (carve_ops_call(&ctx, verb, args, &res, &err) < 0) {
		fprintf(stderr, "fuzz-call setup: %s: %s\n", verb, err.message);
		abort();
	}
	json_decref(args);
	return res;
}

/* The first record's uuid of a list verb. */
static void first_uuid(const char *verb, json_t *filter, char out[37])
{
	_cleanup_json_ json_t *res = call(verb, filter ? filter : json_object());
	json_t *rec = json_array_get(json_object_get(res, "records"), 0);
	const char *u = json_string_value(json_object_get(rec, "uuid"));
	if (!u)
		abort();
	snprintf(out, 37, "%s", u);
}

static void setup(void)
{
	char dir[] = "/tmp/carve-fuzz-call-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	_cleanup_free_ char *prof = carve_strdupf("%s/fuzz.yaml", dir);
	_cleanup_free_ char *db = carve_strdupf("%s/carve.db", dir);
	FILE *f = fopen(prof, "w");
	if (!f || fputs(PROFILE, f) < 0 || fclose(f) != 0)
		abort();
	struct carve_error err = {0};
	struct carve_host *h = NULL;
	if (carve_host_open_sim(prof, NULL, &h, &err) < 0 || carve_ctx_open_store(&ctx, db, &err) < 0) {
		fprintf(stderr, "fuzz-call setup: %s\n", err.message);
		abort();
	}
	/* The store lives in the temporary directory until exit; the names
	 * are gone from it at once (SQLite keeps its descriptors). */
	unlink(prof);
	ctx.host = h;
	ctx.hostname = "fuzz-host";
	ctx.backend_desc = "sim:fuzz";
	ops = carve_ops_table(&n_ops);

	first_uuid("host-list", NULL, puuid[P_HOST]);
	first_uuid("pgpu-list", NULL, puuid[P_PGPU]);
	first_uuid("vgpu-type-list", json_pack("{s:s}", "model-name", "GRID M10-2Q"), puuid[P_TYPE]);
	first_uuid("gpu-group-list", NULL, puuid[P_GROUP]);
	json_decref(call("vm-create", json_pack("{s:s, s:s}", "name-label", "fuzz-vm", "uuid",
					       "00000000-0000-4000-8000-000000000001")));
	json_decref(call("vm-create", json_pack("{s:s, s:s}", "name-label", "fuzz-vm2", "uuid",
					       "00000000-0000-4000-8000-000000000002")));
	snprintf(puuid[P_VM], 37, "00000000-0000-4000-8000-000000000001");
	snprintf(puuid[P_VM2], 37, "00000000-0000-4000-8000-000000000002");
	/* the group of the type's PGPUs */
	_cleanup_json_ json_t *pg = call("pgpu-list", json_pack("{s:s}", "params", "uuid,gpu-group-uuid,supported-VGPU-types"));
	json_t *rec;
	size_t i;
	json_array_foreach(json_object_get(pg, "records"), i, rec) {
		const char *sup = json_string_value(json_object_get(rec, "supported-VGPU-types"));
		if (sup && strstr(sup, puuid[P_TYPE])) {
			snprintf(puuid[P_GROUP], 37, "%s", json_string_value(json_object_get(rec, "gpu-group-uuid")));
			snprintf(puuid[P_PGPU], 37, "%s", json_string_value(json_object_get(rec, "uuid")));
		}
	}
	_cleanup_json_ json_t *v = call("vgpu-create", json_pack("{s:s, s:s, s:s}", "vm-uuid", puuid[P_VM],
							       "gpu-group-uuid", puuid[P_GROUP], "vgpu-type-uuid",
							       puuid[P_TYPE]));
	snprintf(puuid[P_VGPU], 37, "%s", json_string_value(json_object_get(v, "uuid")));
}

/* body with every placeholder replaced. */
static char *expand(const char *body, size_t len)
{
	size_t cap = len * 37 + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	for (size_t i = 0; i < len;) {
		size_t p;
		for (p = 0; p < P_N; p++) {
			size_t pl = strlen(placeholder[p].name);
			if (len - i >= pl && memcmp(body + i, placeholder[p].name, pl) == 0) {
				memcpy(out + n, puuid[placeholder[p].idx], 36);
				n += 36;
				i += pl;
				break;
			}
		}
		if (p == P_N)
			out[n++] = body[i++];
	}
	out[n] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ops)
		setup();
	if (size < 1 || size > 4096)
		return 0;
	const struct carve_op *op = &ops[data[0] % n_ops];
	_cleanup_free_ char *body = expand((const char *)data + 1, size - 1);
	size_t body_len = strlen(body); /* a NUL ends the body, as it would a C string from MHD's buffer */
	char path[96];
	snprintf(path, sizeof(path), "/v1/call/%s", op->verb);

	struct carve_api_limits lim;
	carve_api_limits_default(&lim);
	struct carve_api_request rq;
	struct carve_error err = {0};
	int r = carve_api_request_build("POST", path, NULL, 0, body, body_len, &lim, &rq, &err);
	if (r < 0) {
		if (err.code != r || err.id[0] == '\0' || rq.args)
			abort();
		return 0;
	}
	if (rq.kind != CARVE_API_OP || rq.op != op || carve_api_validate_args(rq.op, rq.args, &lim, &err) < 0)
		abort();
	if (op->writes == CARVE_WRITE_HOST) {
		carve_api_request_clear(&rq);
		return 0;
	}

	uint64_t gen = ctx.db->generation;
	json_t *res = NULL;
	if (op->writes == CARVE_WRITE_STORE) {
		carve_model_wrlock(ctx.model);
		if (carve_ops_batch_begin(&ctx, &err) < 0)
			abort();
		carve_model_unlock(ctx.model);
	}
	r = carve_ops_call(&ctx, op->verb, rq.args, &res, &err);
	if (r < 0 ? err.code != r || err.id[0] == '\0' || res : !json_is_object(res))
		abort();
	json_decref(res);
	if (op->writes == CARVE_WRITE_STORE) {
		struct carve_error e2 = {0};
		carve_model_wrlock(ctx.model);
		if (carve_ops_batch_end(&ctx, -ECANCELED, &e2) != -ECANCELED || carve_model_load(ctx.model, ctx.db, &e2) < 0)
			abort();
		carve_model_unlock(ctx.model);
	}
	if (ctx.db->generation != gen)
		abort();
	carve_api_request_clear(&rq);
	return 0;
}
