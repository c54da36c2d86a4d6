/* test-api.c - unit tests of carved's request layer: SHA-256 vectors, the
 * token file, routing, limits and argument validation.  Plain asserts (no
 * store, no sockets); exit status 0 = all passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "request.h"
#include "sha256.h"
#include "test-check.h"
#include "util/cleanup.h"

static void test_sha256(void)
{
	char hex[65];
	carve_sha256_hex("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	carve_sha256_hex("", 0, hex);
	CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	carve_sha256_hex(two, strlen(two), hex);
	CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
	/* a million 'a', fed in uneven pieces */
	struct carve_sha256 s;
	carve_sha256_init(&s);
	char chunk[997];
	memset(chunk, 'a', sizeof(chunk));
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		carve_sha256_update(&s, chunk, n);
		left -= n;
	}
	uint8_t d[32];
	carve_sha256_final(&s, d);
	CHECK(d[0] == 0xcd && d[1] == 0xc7 && d[31] == 0xd0);
}

static void test_tokens(void)
{
	char path[] = "/tmp/carve-test-tokens-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	struct carve_error err = {0};
	char a[CARVE_TOKEN_LEN + 1], b[CARVE_TOKEN_LEN + 1];
	CHECK(carve_token_create(path, CARVE_ROLE_READ_ONLY, "ro", a, &err) == 0);
	CHECK(carve_token_create(path, CARVE_ROLE_POOL_ADMIN, NULL, b, &err) == 0);
	CHECK(strlen(a) == CARVE_TOKEN_LEN && strncmp(a, "carve-", 6) == 0 && strcmp(a, b) != 0);
	CHECK(carve_token_create(path, CARVE_ROLE_READ_ONLY, "bad label", a, &err) == -EINVAL);
	struct carve_tokens *t = NULL;
	carve_error_clear(&err);
	CHECK(carve_tokens_load(path, &t, &err) == 0);
	CHECK(carve_tokens_count(t) == 2);
	enum carve_role role = CARVE_ROLE_POOL_ADMIN;
	CHECK(carve_tokens_lookup(t, a, &role) == 0 && role == CARVE_ROLE_READ_ONLY);
	CHECK(carve_tokens_lookup(t, b, &role) == 0 && role == CARVE_ROLE_POOL_ADMIN);
	CHECK(carve_tokens_lookup(t, "carve-00", &role) == -ENOENT);
	carve_tokens_free(t);
	/* The file holds hashes only. */
	FILE *f = fopen(path, "r");
	char line[512];
	bool leaked = false;
	while (f && fgets(line, sizeof(line), f))
		leaked |= strstr(line, a + 6) != NULL || strstr(line, b + 6) != NULL;
	if (f)
		fclose(f);
	CHECK(!leaked);
	/* The daemon's check follows the file. */
	struct carve_auth *au = NULL;
	CHECK(carve_auth_new(path, &au, &err) == 0);
	char hdr[128];
	snprintf(hdr, sizeof(hdr), "Bearer %s", a);
	CHECK(carve_auth_check(au, hdr, &role, &err) == 0 && role == CARVE_ROLE_READ_ONLY);
	carve_error_clear(&err);
	CHECK(carve_auth_check(au, NULL, &role, &err) == -EPERM);
	carve_error_clear(&err);
	CHECK(carve_auth_check(au, "Basic xyz", &role, &err) == -EPERM);
	char c[CARVE_TOKEN_LEN + 1];
	CHECK(carve_token_create(path, CARVE_ROLE_VM_OPERATOR, "later", c, &err) == 0);
	snprintf(hdr, sizeof(hdr), "Bearer %s", c);
	CHECK(carve_auth_check(au, hdr, &role, &err) == 0 && role == CARVE_ROLE_VM_OPERATOR);
	carve_auth_free(au);
	/* A malformed file is refused as a whole, naming the line. */
	f = fopen(path, "a");
	fputs("nothex pool-admin\n", f);
	fclose(f);
	carve_error_clear(&err);
	CHECK(carve_tokens_load(path, &t, &err) == -EINVAL && strstr(err.message, ":4:"));
	unlink(path);
}

static int build(const char *method, const char *path, const char *body, struct carve_api_request *out,
		 struct carve_error *err)
{
	struct carve_api_limits lim;
	carve_api_limits_default(&lim);
	carve_error_clear(err);
	return carve_api_request_build(method, path, NULL, 0, body, body ? strlen(body) : 0, &lim, out, err);
}

static void test_routes(void)
{
	struct carve_api_request rq;
	struct carve_error err;
	const char *u = "0d1b0f1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
	char path[128];

	CHECK(build("GET", "/v1/pgpus", NULL, &rq, &err) == 0 && strcmp(rq.op->verb, "pgpu-list") == 0 && !rq.writes);
	carve_api_request_clear(&rq);
	snprintf(path, sizeof(path), "/v1/pgpus/%s", u);
	CHECK(build("GET", path, NULL, &rq, &err) == 0 && strcmp(rq.op->verb, "pgpu-param-list") == 0 &&
	      strcmp(json_string_value(json_object_get(rq.args, "uuid")), u) == 0);
	carve_api_request_clear(&rq);
	CHECK(build("POST", "/v1/vms", "{\"name-label\":\"a\"}", &rq, &err) == 0 &&
	      strcmp(rq.op->verb, "vm-create") == 0 && rq.writes && rq.ok_status == 201);
	carve_api_request_clear(&rq);
	snprintf(path, sizeof(path), "/v1/vms/%s/start", u);
	CHECK(build("POST", path, NULL, &rq, &err) == 0 && strcmp(rq.op->verb, "vm-start") == 0 &&
	      rq.role == CARVE_ROLE_VM_OPERATOR);
	carve_api_request_clear(&rq);
	snprintf(path, sizeof(path), "/v1/vgpus/%s", u);
	CHECK(build("DELETE", path, NULL, &rq, &err) == 0 && strcmp(rq.op->verb, "vgpu-destroy") == 0);
	carve_api_request_clear(&rq);
	CHECK(build("POST", "/v1/host/reconcile", "", &rq, &err) == 0 && rq.role == CARVE_ROLE_POOL_ADMIN);
	carve_api_request_clear(&rq);
	CHECK(build("GET", "/v1/host/discover", "", &rq, &err) == 0 && rq.writes); /* uses the host */
	carve_api_request_clear(&rq);
	CHECK(build("POST", "/v1/call/vgpu-type-list", "{\"model-name\":\"GRID P40-2Q\"}", &rq, &err) == 0);
	carve_api_request_clear(&rq);
	CHECK(build("POST", "/v1/call/token-create", "{\"role\":\"read-only\"}", &rq, &err) == 0 &&
	      rq.kind == CARVE_API_TOKEN_CREATE && rq.role == CARVE_ROLE_POOL_ADMIN);
	carve_api_request_clear(&rq);
	CHECK(build("GET", "/metrics", NULL, &rq, &err) == 0 && rq.kind == CARVE_API_METRICS);
	carve_api_request_clear(&rq);

	/* errors */
	CHECK(build("GET", "/v1/nothing", NULL, &rq, &err) == -ENOENT && strcmp(err.id, "NOT_FOUND") == 0);
	CHECK(build("PUT", "/v1/pgpus", NULL, &rq, &err) == -EINVAL && strcmp(err.id, "METHOD_NOT_ALLOWED") == 0);
	CHECK(build("GET", "/v1/pgpus/not-a-uuid", NULL, &rq, &err) == -EINVAL && strcmp(err.id, "UUID_INVALID") == 0);
	CHECK(build("POST", "/v1/call/no-such-verb", NULL, &rq, &err) == -EINVAL && strcmp(err.id, "UNKNOWN_COMMAND") == 0);
	CHECK(build("POST", "/v1/vms", "{\"bogus\":1}", &rq, &err) == -EINVAL && strcmp(err.id, "UNKNOWN_PARAMETER") == 0);
	CHECK(build("POST", "/v1/vms", "{\"name-label\":1.5}", &rq, &err) == -EINVAL);
	CHECK(build("POST", "/v1/vms", "{\"name-label\":{\"a\":1}}", &rq, &err) == -EINVAL);
	CHECK(build("POST", "/v1/vms", "[1]", &rq, &err) == -EINVAL && strcmp(err.id, "INVALID_REQUEST") == 0);
	CHECK(build("POST", "/v1/vms", "{\"name-label\":", &rq, &err) == -EINVAL && strcmp(err.id, "INVALID_JSON") == 0);
	CHECK(build("POST", "/v1/vms", "{\"name-label\":\"a\",\"name-label\":\"b\"}", &rq, &err) == -EINVAL);
	CHECK(build("POST", "/v1/vms", "{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]}", &rq, &err) == -EINVAL &&
	      strcmp(err.id, "JSON_TOO_DEEP") == 0);
	snprintf(path, sizeof(path), "/v1/vms/%s", u);
	CHECK(build("PATCH", path, "{\"uuid\":\"11111111-2222-4333-8444-555555555555\"}", &rq, &err) == -EINVAL);
	CHECK(build("GET", "/v1/a/b/c/d/e/f/g", NULL, &rq, &err) == -ENOENT);
	CHECK(build("GET", "/v1/pgpus/../hosts", NULL, &rq, &err) < 0);

	struct carve_api_limits lim;
	carve_api_limits_default(&lim);
	size_t big = lim.body_bytes + 1;
	char *body = malloc(big + 1);
	memset(body, ' ', big);
	body[big] = '\0';
	carve_error_clear(&err);
	CHECK(carve_api_request_build("POST", "/v1/vms", NULL, 0, body, big, &lim, &rq, &err) == -EMSGSIZE);
	free(body);
	lim.max_args = 2;
	carve_error_clear(&err);
	const char *three = "{\"name-label\":\"a\",\"name-description\":\"b\",\"numa-node\":1}";
	CHECK(carve_api_request_build("POST", "/v1/vms", NULL, 0, three, strlen(three), &lim, &rq, &err) == -EINVAL &&
	      strcmp(err.id, "TOO_MANY_PARAMETERS") == 0);

	/* query parameters: list filters on GET only */
	struct carve_api_query q[] = {{"model-name", "GRID P40-2Q"}};
	carve_api_limits_default(&lim);
	carve_error_clear(&err);
	CHECK(carve_api_request_build("GET", "/v1/vgpu-types", q, 1, NULL, 0, &lim, &rq, &err) == 0 &&
	      json_object_size(rq.args) == 1);
	carve_api_request_clear(&rq);
	carve_error_clear(&err);
	CHECK(carve_api_request_build("POST", "/v1/vms", q, 1, NULL, 0, &lim, &rq, &err) == -EINVAL);
}

int main(void)
{
	test_sha256();
	test_tokens();
	test_routes();
	printf("api: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
