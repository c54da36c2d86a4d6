/* libFuzzer target: carved's request path (src/api/request.c) - the HTTP
 * request line and body bytes -> JSON -> route -> op argument validation.
 * This is everything an API caller controls before a store connection is
 * touched (the server adds only header parsing, done by libmicrohttpd).
 *
 * Input: "METHOD SP PATH[?QUERY] LF BODY".  The query is split on '&' and
 * '=' as libmicrohttpd hands it over (already decoded).  Besides what
 * ASan/UBSan catch, the contract: an error sets err with the same code and
 * leaves no args; a success yields an object of bounded size whose keys the
 * verb accepts, and a verb needing a role no weaker than read-only.
 *
 * request.c is compiled into this target (not taken from the library) so
 * that fuzz/meson.build's one-source-per-target pattern holds and the code
 * under test gets libFuzzer's coverage instrumentation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/api/request.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXQ 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t head_len = nl ? (size_t)(nl - (const char *)data) : size;
	if (head_len > 1024)
		return 0;
	char head[1025];
	memcpy(head, data, head_len);
	head[head_len] = '\0';
	if (strlen(head) != head_len)
		return 0; /* MHD never hands over a NUL inside the request line */
	const char *body = nl ? nl + 1 : "";
	size_t body_len = nl ? size - head_len - 1 : 0;

	char *sp = strchr(head, ' ');
	if (!sp)
		return 0;
	*sp = '\0';
	char *path = sp + 1;
	struct carve_api_query q[MAXQ];
	size_t nq = 0;
	char *qs = strchr(path, '?');
	if (qs) {
		*qs++ = '\0';
		for (char *save = NULL, *kv = strtok_r(qs, "&", &save); kv && nq < MAXQ; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			if (eq)
				*eq++ = '\0';
			q[nq++] = (struct carve_api_query){kv, eq};
		}
	}

	struct carve_api_limits lim;
	carve_api_limits_default(&lim);
	lim.body_bytes = 4096; /* small enough for the fuzzer to reach the edge */
	struct carve_api_request rq;
	struct carve_error err = {0};
	int r = carve_api_request_build(head, path, q, nq, body, body_len, &lim, &rq, &err);
	if (r < 0) {
		if (err.code != r || err.id[0] == '\0' || rq.args)
			abort();
		return 0;
	}
	if (r != 0 || !json_is_object(rq.args) || json_object_size(rq.args) > lim.max_args + 2 ||
	    (unsigned)rq.role > CARVE_ROLE_POOL_ADMIN)
		abort();
	if (rq.kind == CARVE_API_OP) {
		if (!rq.op || carve_api_validate_args(rq.op, rq.args, &lim, &err) < 0)
			abort();
		/* the write lock is taken for every verb that writes */
		if (rq.op->writes && !rq.writes)
			abort();
	}
	carve_api_request_clear(&rq);
	return 0;
}
