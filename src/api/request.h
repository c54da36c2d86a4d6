/* request.h - from an HTTP request (method, path, query, body bytes) to a
 * validated call: which verb, with which JSON arguments, needing which role.
 *
 * This is the whole untrusted-input layer of carved and touches neither the
 * store nor the host, so fuzz/fuzz-request.c drives it directly.  Everything
 * a caller controls is bounded here (struct carve_api_limits): body size
 * (-EMSGSIZE -> 413), JSON nesting depth, number of arguments, size of each
 * value, path length.  Argument keys are checked against the verb's key list
 * (case-insensitively, as the ops layer matches them) so a bad request is
 * refused before it reaches a store connection; values must be strings,
 * integers, booleans or null (the ops layer's argument types).
 *
 * Routes (docs/api.md has the full table):
 *   POST /v1/call/{verb}                   any verb of the op table, and token-create
 *   GET  /v1/{collection}                  {class}-list, query parameters are filters
 *   GET  /v1/{collection}/{uuid}           {class}-param-list
 *   GET  /v1/{collection}/{uuid}/params/{field}   {class}-param-get (?param-key=)
 *   PATCH /v1/{collection}/{uuid}          {class}-param-set
 *   POST /v1/{collection}                  {class}-create (201)
 *   DELETE /v1/{collection}/{uuid}         {class}-destroy
 *   POST /v1/vms/{uuid}/start|shutdown     vm-start, vm-shutdown
 *   GET  /v1/gpu-groups/{uuid}/remaining-capacity?vgpu-type-uuid=  
 *   POST /v1/host/reconcile, GET /v1/host/discover
 *   POST /v1/tokens                        token-create (pool-admin)
 *   GET  /metrics, GET /v1/health
 * collections: hosts pgpus vgpu-types gpu-groups vms vgpus.
 *
 * Errors: negative errno with err set; -ENOENT NOT_FOUND for an unknown
 * path, -EINVAL METHOD_NOT_ALLOWED for a known path with another method (the
 * server answers 405 for that id), -EMSGSIZE REQUEST_TOO_LARGE, -EINVAL for
 * everything malformed.  Thread-safe; no global state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ops/ops.h"
#include "util/error.h"

struct carve_api_limits {
	size_t body_bytes;        /* request body; larger -> 413 */
	unsigned json_depth;      /* nesting of arrays/objects in a body */
	unsigned max_args;        /* keys in one call's arguments */
	size_t arg_bytes;         /* length of one string value */
	size_t header_bytes;      /* per-connection memory for request line + headers (MHD) */
	unsigned connections;     /* open connections per listener (MHD) */
	unsigned in_flight;       /* requests being served at once; more -> 503 */
	unsigned write_queue;     /* writers waiting for the write lock; more -> 503 */
	unsigned write_wait_ms;   /* longest wait for the write lock before 503 */
	unsigned conn_timeout_s;  /* idle connection timeout */
};

/* The defaults documented in docs/api.md and dist/carved.conf. */
void carve_api_limits_default(struct carve_api_limits *l);

enum carve_api_kind {
	CARVE_API_OP,           /* run op->verb with args */
	CARVE_API_TOKEN_CREATE, /* args: role, label */
	CARVE_API_METRICS,
	CARVE_API_HEALTH,
};

struct carve_api_request {
	enum carve_api_kind kind;
	const struct carve_op *op; /* CARVE_API_OP */
	json_t *args;              /* owned; always an object */
	enum carve_role role;      /* least role allowed */
	bool writes;               /* takes the write lock */
	int ok_status;             /* 200, or 201 for resource-style creates */
	char location_prefix[32];  /* for 201: "/v1/vms/" + result uuid */
};

struct carve_api_query {
	const char *key;
	const char *value; /* NULL for "?flag" without '=' */
};

/* Body bytes -> JSON object (empty body = {}).  Checks size and depth before
 * parsing, refuses duplicate keys and non-object documents. */
int carve_api_parse_body(const char *body, size_t len, const struct carve_api_limits *lim, json_t **out,
			 struct carve_error *err);

/* Everything at once: route + body + query + validation.  On success *out
 * holds a new args reference (clear with carve_api_request_clear). */
int carve_api_request_build(const char *method, const char *path, const struct carve_api_query *query,
			    size_t nquery, const char *body, size_t body_len, const struct carve_api_limits *lim,
			    struct carve_api_request *out, struct carve_error *err);

void carve_api_request_clear(struct carve_api_request *r);

/* Arguments against a verb: key set, value types and sizes. */
int carve_api_validate_args(const struct carve_op *op, json_t *args, const struct carve_api_limits *lim,
			    struct carve_error *err);
