#include "yamldoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

int carve_yaml_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 1;
}

static int vreport(struct carve_yaml *y, int code, const yaml_node_t *n, const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
static int vreport(struct carve_yaml *y, int code, const yaml_node_t *n, const char *key, const char *fmt, va_list ap)
{
	char msg[400];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (key && *key)
		return carve_error_set(y->err, code, y->id, "%s:%d: %s: %s", y->origin, carve_yaml_line(n), key, msg);
	return carve_error_set(y->err, code, y->id, "%s:%d: %s", y->origin, carve_yaml_line(n), msg);
}

int carve_yaml_err(struct carve_yaml *y, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vreport(y, -EINVAL, n, key, fmt, ap);
	va_end(ap);
	return r;
}

int carve_yaml_err_code(struct carve_yaml *y, int code, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vreport(y, code, n, key, fmt, ap);
	va_end(ap);
	return r;
}

static int syntax(struct carve_yaml *y)
{
	const yaml_parser_t *p = &y->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return carve_error_set(y->err, -ENOMEM, "OUT_OF_MEMORY", "%s: out of memory parsing YAML", y->origin);
	return carve_error_set(y->err, -EINVAL, y->id, "%s:%zu:%zu: YAML syntax error: %s%s%s", y->origin,
			       p->problem_mark.line + 1, p->problem_mark.column + 1,
			       p->problem ? p->problem : "malformed document", p->context ? " " : "",
			       p->context ? p->context : "");
}

int carve_yaml_open(struct carve_yaml *y, const char *text, size_t len, size_t max, const char *origin, const char *id,
		    struct carve_error *err)
{
	*y = (struct carve_yaml){.origin = origin, .id = id, .err = err};
	if (len > max)
		return carve_error_set(err, -E2BIG, id, "%s: larger than %zu bytes", origin, max);
	if (!yaml_parser_initialize(&y->parser))
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	y->have_parser = true;
	yaml_parser_set_input_string(&y->parser, (const unsigned char *)(text ? text : ""), len);
	if (!yaml_parser_load(&y->parser, &y->doc))
		return syntax(y);
	y->have_doc = true;
	if (!(y->root = yaml_document_get_root_node(&y->doc)))
		return carve_error_set(err, -EINVAL, id, "%s:1: empty document", origin);
	/* A second document would be silently ignored: refuse it. */
	yaml_document_t extra;
	if (!yaml_parser_load(&y->parser, &extra))
		return syntax(y);
	bool more = yaml_document_get_root_node(&extra) != NULL;
	yaml_document_delete(&extra);
	if (more)
		return carve_error_set(err, -EINVAL, id, "%s: more than one YAML document", origin);
	y->n_nodes = (size_t)(y->doc.nodes.top - y->doc.nodes.start);
	if (!(y->seen = calloc(y->n_nodes ? y->n_nodes : 1, 1)))
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	y->seen[0] = 1; /* the root */
	return 0;
}

void carve_yaml_close(struct carve_yaml *y)
{
	if (!y)
		return;
	if (y->have_doc)
		yaml_document_delete(&y->doc);
	if (y->have_parser)
		yaml_parser_delete(&y->parser);
	free(y->seen);
	y->have_doc = y->have_parser = false;
	y->seen = NULL;
}

yaml_node_t *carve_yaml_node(struct carve_yaml *y, int id, const char *key, int *r)
{
	yaml_node_t *n = yaml_document_get_node(&y->doc, id);
	*r = 0;
	if (!n) {
		*r = carve_error_set(y->err, -EINVAL, y->id, "%s: %s: dangling YAML node", y->origin, key);
		return NULL;
	}
	size_t idx = (size_t)(id - 1);
	if (idx < y->n_nodes) {
		if (y->seen[idx]) {
			*r = carve_yaml_err(y, n, key, "YAML aliases are not supported");
			return NULL;
		}
		y->seen[idx] = 1;
	}
	return n;
}

int carve_yaml_scalar(struct carve_yaml *y, yaml_node_t *n, const char *key, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return carve_yaml_err(y, n, key, "expected a single value");
	const char *s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length)
		return carve_yaml_err(y, n, key, "value contains a NUL byte");
	*out = s;
	return 0;
}

int carve_yaml_str(struct carve_yaml *y, yaml_node_t *n, const char *key, char *buf, size_t size)
{
	const char *s = NULL;
	int r = carve_yaml_scalar(y, n, key, &s);
	if (r < 0)
		return r;
	if (strlen(s) >= size)
		return carve_yaml_err(y, n, key, "value longer than %zu characters", size - 1);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return carve_yaml_err(y, n, key, "value contains a control character");
	snprintf(buf, size, "%s", s);
	return 0;
}

int carve_yaml_u32(struct carve_yaml *y, yaml_node_t *n, const char *key, uint32_t max, uint32_t *out)
{
	const char *s = NULL;
	int r = carve_yaml_scalar(y, n, key, &s);
	if (r < 0)
		return r;
	if (carve_parse_u32(s, out) < 0 || *out > max)
		return carve_yaml_err(y, n, key, "'%.64s' is not a number from 0 to %u", s, max);
	return 0;
}

int carve_yaml_i32(struct carve_yaml *y, yaml_node_t *n, const char *key, int32_t min, int32_t max, int32_t *out)
{
	const char *s = NULL;
	int r = carve_yaml_scalar(y, n, key, &s);
	if (r < 0)
		return r;
	if (carve_parse_i32(s, out) < 0 || *out < min || *out > max)
		return carve_yaml_err(y, n, key, "'%.64s' is not a number from %d to %d", s, min, max);
	return 0;
}

int carve_yaml_bool(struct carve_yaml *y, yaml_node_t *n, const char *key, bool *out)
{
	const char *s = NULL;
	int r = carve_yaml_scalar(y, n, key, &s);
	if (r < 0)
		return r;
	if (carve_parse_bool(s, out) < 0)
		return carve_yaml_err(y, n, key, "'%.64s' is not true or false", s);
	return 0;
}

int carve_yaml_hex16_pair(struct carve_yaml *y, yaml_node_t *n, const char *key, uint16_t *a, uint16_t *b)
{
	const char *s = NULL;
	int r = carve_yaml_scalar(y, n, key, &s);
	if (r < 0)
		return r;
	char buf[16];
	uint32_t x, v;
	const char *colon = strchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return carve_yaml_err(y, n, key, "'%.64s' is not VVVV:DDDD", s);
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (carve_parse_hex_u32(buf, &x) < 0 || carve_parse_hex_u32(colon + 1, &v) < 0 || x > 0xffff || v > 0xffff)
		return carve_yaml_err(y, n, key, "'%.64s' is not VVVV:DDDD", s);
	*a = (uint16_t)x;
	*b = (uint16_t)v;
	return 0;
}

int carve_yaml_walk(struct carve_yaml *y, yaml_node_t *m, const char *path, void *obj, carve_yaml_pair_fn fn)
{
	if (m->type != YAML_MAPPING_NODE)
		return carve_yaml_err(y, m, path, "expected a mapping (key: value)");
	struct carve_strv seen = {0};
	int r = 0;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = carve_yaml_node(y, p->key, path, &r);
		if (!kn)
			break;
		const char *key;
		if ((r = carve_yaml_scalar(y, kn, path, &key)) < 0)
			break;
		char kpath[160];
		snprintf(kpath, sizeof(kpath), "%s%s%.48s", path, *path ? "." : "", key);
		if (carve_strv_contains(&seen, key)) {
			r = carve_yaml_err(y, kn, kpath, "key given twice");
			break;
		}
		if ((r = carve_strv_push(&seen, key)) < 0) {
			r = carve_error_set(y->err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
			break;
		}
		yaml_node_t *vn = carve_yaml_node(y, p->value, kpath, &r);
		if (!vn)
			break;
		if ((r = fn(y, obj, key, kn, vn, kpath)) < 0)
			break;
	}
	carve_strv_clear(&seen);
	return r;
}

int carve_yaml_unknown_key(struct carve_yaml *y, yaml_node_t *kn, const char *kpath)
{
	return carve_yaml_err(y, kn, kpath, "unknown key");
}
