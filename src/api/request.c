/* request.c - routing and validation of API requests (see request.h). */
#include "request.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/uuid.h"

void carve_api_limits_default(struct carve_api_limits *l)
{
	*l = (struct carve_api_limits){
		.body_bytes = 64 * 1024,
		.json_depth = 8,
		.max_args = 64,
		.arg_bytes = 4096,
		.header_bytes = 32 * 1024,
		.connections = 512,
		.in_flight = 128,
		.write_queue = 256,
		.write_wait_ms = 10000,
		.conn_timeout_s = 30,
	};
}

void carve_api_request_clear(struct carve_api_request *r)
{
	if (!r)
		return;
	json_decref(r->args);
	r->args = NULL;
}

/* Nesting depth of a JSON text without parsing it, so that a hostile body
 * cannot make the parser recurse; strings (with escapes) are skipped. */
static unsigned json_text_depth(const char *s, size_t len, unsigned stop_after)
{
	unsigned depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max && (max = depth) > stop_after)
				return max;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return max;
}

int carve_api_parse_body(const char *body, size_t len, const struct carve_api_limits *lim, json_t **out,
			 struct carve_error *err)
{
	*out = NULL;
	if (len > lim->body_bytes)
		return carve_error_set(err, -EMSGSIZE, "REQUEST_TOO_LARGE", "request body of %zu bytes exceeds the limit of %zu",
				       len, lim->body_bytes);
	size_t i = 0;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i == len) {
		*out = json_object();
		return *out ? 0 : -ENOMEM;
	}
	if (json_text_depth(body, len, lim->json_depth) > lim->json_depth)
		return carve_error_set(err, -EINVAL, "JSON_TOO_DEEP", "request body nests deeper than %u levels",
				       lim->json_depth);
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return carve_error_set(err, -EINVAL, "INVALID_JSON", "request body is not valid JSON: %s (line %d, column %d)",
				       je.text, je.line, je.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return carve_error_set(err, -EINVAL, "INVALID_REQUEST", "request body must be a JSON object of arguments");
	}
	*out = j;
	return 0;
}

int carve_api_validate_args(const struct carve_op *op, json_t *args, const struct carve_api_limits *lim,
			    struct carve_error *err)
{
	if (!json_is_object(args))
		return carve_error_set(err, -EINVAL, "INVALID_REQUEST", "arguments must be a JSON object");
	if (json_object_size(args) > lim->max_args)
		return carve_error_set(err, -EINVAL, "TOO_MANY_PARAMETERS", "%zu parameters; at most %u are accepted",
				       json_object_size(args), lim->max_args);
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v) {
		size_t kl = strlen(k);
		if (kl == 0 || kl > 64)
			return carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "bad parameter name");
		if (json_is_string(v)) {
			if (json_string_length(v) > lim->arg_bytes)
				return carve_error_set(err, -EINVAL, "VALUE_TOO_LONG",
						       "value of %.64s is %zu bytes; at most %zu are accepted", k,
						       json_string_length(v), lim->arg_bytes);
		} else if (!json_is_integer(v) && !json_is_boolean(v) && !json_is_null(v)) {
			return carve_error_set(err, -EINVAL, "INVALID_VALUE",
					       "parameter %.64s must be a string, an integer or a boolean", k);
		}
		if (op && !op->filters) {
			bool known = false;
			for (size_t i = 0; op->keys && op->keys[i] && !known; i++)
				known = strcasecmp(op->keys[i], k) == 0;
			if (!known) {
				/* Worded as the ops layer words it (lower case), so the CLI prints
				 * the same line with and without carved. */
				char lk[65];
				for (size_t i = 0; i <= kl; i++)
					lk[i] = (char)tolower((unsigned char)k[i]);
				return carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "unknown parameter for %s: %s",
						       op->verb, lk);
			}
		}
	}
	return 0;
}

/* ---- routing ---- */

struct collection {
	const char *path;  /* under /v1/ */
	const char *cls;   /* verb prefix */
};

static const struct collection collections[] = {
	{"hosts", "host"}, {"pgpus", "pgpu"}, {"vgpu-types", "vgpu-type"},
	{"gpu-groups", "gpu-group"}, {"vms", "vm"}, {"vgpus", "vgpu"},
};

#define MAX_SEGS 6

static bool seg_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static int split_path(const char *path, char segs[MAX_SEGS][65], size_t *n, struct carve_error *err)
{
	*n = 0;
	if (!path || path[0] != '/' || strlen(path) > 512)
		return carve_error_set(err, -ENOENT, "NOT_FOUND", "no such resource");
	const char *p = path + 1;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0 && (!e || e[1] == '\0'))
			break; /* one trailing slash is tolerated */
		if (*n == MAX_SEGS || !seg_valid(p, len))
			return carve_error_set(err, -ENOENT, "NOT_FOUND", "no such resource");
		memcpy(segs[*n], p, len);
		segs[(*n)++][len] = '\0';
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static int method_not_allowed(const char *method, const char *path, struct carve_error *err)
{
	return carve_error_set(err, -EINVAL, "METHOD_NOT_ALLOWED", "%.8s is not allowed on %.128s", method, path);
}

static int set_str(json_t *args, const char *key, const char *value, struct carve_error *err)
{
	json_t *old = json_object_get(args, key);
	if (old) {
		/* The same argument in the path and the body must agree. */
		if (!json_is_string(old) || strcasecmp(json_string_value(old), value) != 0)
			return carve_error_set(err, -EINVAL, "INVALID_REQUEST", "%s in the body differs from the path", key);
		return 0;
	}
	return json_object_set_new(args, key, json_string(value)) == 0 ? 0 : -ENOMEM;
}

static int want_uuid(const char *s, struct carve_error *err)
{
	if (!carve_uuid_valid(s))
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID in path: '%.64s'", s);
	return 0;
}

/* Find the verb "<cls><suffix>" in the op table. */
static const struct carve_op *class_op(const char *cls, const char *suffix)
{
	char verb[64];
	snprintf(verb, sizeof(verb), "%s%s", cls, suffix);
	return carve_op_find(verb);
}

static int route(const char *method, const char *path, char segs[MAX_SEGS][65], size_t n,
		 struct carve_api_request *out, json_t *args, struct carve_error *err)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	int r;

	out->ok_status = 200;
	if (n == 1 && strcmp(segs[0], "metrics") == 0) {
		if (!get)
			return method_not_allowed(method, path, err);
		out->kind = CARVE_API_METRICS;
		out->role = CARVE_ROLE_READ_ONLY;
		return 0;
	}
	if (n < 2 || strcmp(segs[0], "v1") != 0)
		return carve_error_set(err, -ENOENT, "NOT_FOUND", "no such resource: %.128s", path);

	if (n == 2 && strcmp(segs[1], "health") == 0) {
		if (!get)
			return method_not_allowed(method, path, err);
		out->kind = CARVE_API_HEALTH;
		out->role = CARVE_ROLE_READ_ONLY;
		return 0;
	}
	if ((n == 3 && strcmp(segs[1], "call") == 0) || (n == 2 && strcmp(segs[1], "tokens") == 0)) {
		if (!post)
			return method_not_allowed(method, path, err);
		if (n == 2 || strcmp(segs[2], "token-create") == 0) {
			out->kind = CARVE_API_TOKEN_CREATE;
			out->role = CARVE_ROLE_POOL_ADMIN;
			out->writes = false;
			if (n == 2) {
				out->ok_status = 201;
			}
			return 0;
		}
		out->op = carve_op_find(segs[2]);
		if (!out->op)
			return carve_error_set(err, -EINVAL, "UNKNOWN_COMMAND", "unknown command: %.64s", segs[2]);
		out->kind = CARVE_API_OP;
		return 0;
	}
	if (strcmp(segs[1], "host") == 0 && n == 3) {
		if (strcmp(segs[2], "reconcile") == 0) {
			if (!post)
				return method_not_allowed(method, path, err);
			out->op = carve_op_find("host-reconcile");
		} else if (strcmp(segs[2], "discover") == 0) {
			if (!get)
				return method_not_allowed(method, path, err);
			out->op = carve_op_find("host-discover");
		} else {
			return carve_error_set(err, -ENOENT, "NOT_FOUND", "no such resource: %.128s", path);
		}
		out->kind = CARVE_API_OP;
		return 0;
	}

	const struct collection *c = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(collections); i++)
		if (strcmp(collections[i].path, segs[1]) == 0)
			c = &collections[i];
	if (!c)
		return carve_error_set(err, -ENOENT, "NOT_FOUND", "no such resource: %.128s", path);
	out->kind = CARVE_API_OP;

	if (n == 2) { /* the collection */
		if (get)
			out->op = class_op(c->cls, "-list");
		else if (post && (out->op = class_op(c->cls, "-create"))) {
			out->ok_status = 201;
			snprintf(out->location_prefix, sizeof(out->location_prefix), "/v1/%s/", c->path);
		}
		return out->op ? 0 : method_not_allowed(method, path, err);
	}
	if ((r = want_uuid(segs[2], err)) < 0)
		return r;
	if ((r = set_str(args, "uuid", segs[2], err)) < 0)
		return r;
	if (n == 3) { /* one object */
		if (get)
			out->op = class_op(c->cls, "-param-list");
		else if (strcmp(method, "PATCH") == 0)
			out->op = class_op(c->cls, "-param-set");
		else if (strcmp(method, "DELETE") == 0)
			out->op = class_op(c->cls, "-destroy");
		return out->op ? 0 : method_not_allowed(method, path, err);
	}
	if (n == 5 && strcmp(segs[3], "params") == 0) {
		if (!get)
			return method_not_allowed(method, path, err);
		out->op = class_op(c->cls, "-param-get");
		return set_str(args, "param-name", segs[4], err);
	}
	if (n == 4 && strcmp(c->cls, "vm") == 0 && (strcmp(segs[3], "start") == 0 || strcmp(segs[3], "shutdown") == 0)) {
		if (!post)
			return method_not_allowed(method, path, err);
		out->op = class_op("vm-", segs[3]);
		return 0;
	}
	if (n == 4 && strcmp(c->cls, "gpu-group") == 0 && strcmp(segs[3], "remaining-capacity") == 0) {
		if (!get)
			return method_not_allowed(method, path, err);
		out->op = carve_op_find("gpu-group-get-remaining-capacity");
		return 0;
	}
	return carve_error_set(err, -ENOENT, "NOT_FOUND", "no such resource: %.128s", path);
}

static const char *const token_keys[] = {"role", "label", NULL};
static const struct carve_op token_op = {
	.verb = "token-create", .role = CARVE_ROLE_POOL_ADMIN, .keys = token_keys,
};

int carve_api_request_build(const char *method, const char *path, const struct carve_api_query *query,
			    size_t nquery, const char *body, size_t body_len, const struct carve_api_limits *lim,
			    struct carve_api_request *out, struct carve_error *err)
{
	*out = (struct carve_api_request){0};
	char segs[MAX_SEGS][65];
	size_t n;
	int r;
	if (!method)
		return carve_error_set(err, -EINVAL, "INVALID_REQUEST", "no method");
	if ((r = split_path(path, segs, &n, err)) < 0)
		return r;
	_cleanup_json_ json_t *args = NULL;
	if ((r = carve_api_parse_body(body, body_len, lim, &args, err)) < 0)
		return r;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (get && json_object_size(args) > 0)
		return carve_error_set(err, -EINVAL, "INVALID_REQUEST", "GET takes its arguments as query parameters");
	/* Query parameters are arguments of GETs (list filters, param-key, ...). */
	for (size_t i = 0; i < nquery; i++) {
		if (!get)
			return carve_error_set(err, -EINVAL, "INVALID_REQUEST",
					       "query parameters are only accepted on GET; send a JSON body");
		const char *k = query[i].key;
		if (!k || !*k || strlen(k) > 64)
			return carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "bad query parameter name");
		if (json_object_get(args, k))
			return carve_error_set(err, -EINVAL, "DUPLICATE_PARAMETER", "parameter given twice: %.64s", k);
		if (json_object_set_new(args, k, json_string(query[i].value ? query[i].value : "")) < 0)
			return carve_error_set(err, -EINVAL, "INVALID_VALUE", "query parameter %.64s is not valid UTF-8", k);
	}
	if ((r = route(method, path, segs, n, out, args, err)) < 0)
		return r;
	if (out->kind == CARVE_API_OP) {
		out->role = out->op->role;
		/* host-discover reads the shared host backend: it runs under the write lock. */
		out->writes = out->op->writes || strcmp(out->op->verb, "host-discover") == 0;
		r = carve_api_validate_args(out->op, args, lim, err);
	} else if (out->kind == CARVE_API_TOKEN_CREATE) {
		r = carve_api_validate_args(&token_op, args, lim, err);
	} else if (json_object_size(args) > 0) {
		r = carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "%.128s takes no parameters", path);
	}
	if (r < 0)
		return r;
	out->args = TAKE_PTR(args);
	return 0;
}
