/* config.c - YAML configuration (libyaml document API), strict. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/file.h"

void carved_config_default(struct carved_config *c)
{
	*c = (struct carved_config){
		.store = strdup("/var/lib/carve/carve.db"),
		.unix_path = strdup("/run/carve/carved.sock"),
		.unix_mode = 0660,
		.token_file = strdup("/etc/carve/tokens"),
		.refresh_interval_s = 60,
		.heartbeat_ms = 1000,
		.host_timeout_s = 10,
		.pool_wait_s = 20,
		.reconcile_interval_s = 300,
		.drain_timeout_s = 30,
		.uevents = true,
		.log_level = LOG_INFO,
	};
	carve_api_limits_default(&c->limits);
}

void carved_config_clear(struct carved_config *c)
{
	char **strs[] = {&c->store, &c->hostname, &c->sysfs_root, &c->host_profile, &c->sim_state, &c->nvidia_vgpu_pfs,
			 &c->unix_path,
			 &c->unix_group, &c->tcp, &c->tls_cert, &c->tls_key, &c->token_file, &c->migrate_command};
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

struct parse {
	const char *name;
	yaml_document_t *doc;
	struct carved_config *c;
	struct carve_error *err;
};

static int bad(struct parse *p, const char *key, const char *fmt, const char *got)
{
	return carve_error_set(p->err, -EINVAL, "CONFIG_INVALID", "%s: %s: %s%s%.64s%s", p->name, key, fmt,
			       got ? ", got '" : "", got ? got : "", got ? "'" : "");
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_str(struct parse *p, const char *key, yaml_node_t *n, char **out)
{
	const char *s = scalar(n);
	if (!s || !*s)
		return bad(p, key, "expected a non-empty string", NULL);
	if (strlen(s) > PATH_MAX)
		return bad(p, key, "value too long", NULL);
	char *d = strdup(s);
	if (!d)
		return -ENOMEM;
	free(*out);
	*out = d;
	return 0;
}

static int get_uint(struct parse *p, const char *key, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = scalar(n);
	if (!s)
		return bad(p, key, "expected an integer", NULL);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *s == '+' || *end || errno || v < min || v > max) {
		char range[96];
		snprintf(range, sizeof(range), "expected an integer from %llu to %llu", (unsigned long long)min,
			 (unsigned long long)max);
		return carve_error_set(p->err, -EINVAL, "CONFIG_INVALID", "%s: %s: %s, got '%.64s'", p->name, key, range, s);
	}
	*out = v;
	return 0;
}

/* YAML's booleans as carve spells them: true or false, nothing else. */
static int get_bool(struct parse *p, const char *key, yaml_node_t *n, bool *out)
{
	const char *s = scalar(n);
	if (s && strcmp(s, "true") == 0)
		*out = true;
	else if (s && strcmp(s, "false") == 0)
		*out = false;
	else
		return bad(p, key, "expected true or false", s);
	return 0;
}

#define UINT_FIELD(field, min, max)                                                                                \
	do {                                                                                                       \
		uint64_t v_;                                                                                       \
		if ((r = get_uint(p, full, v, min, max, &v_)) < 0)                                                \
			return r;                                                                                  \
		field = v_;                                                                                        \
	} while (0)

typedef int (*section_fn)(struct parse *p, const char *full, const char *key, yaml_node_t *v);

static int walk(struct parse *p, const char *prefix, yaml_node_t *map, section_fn fn)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return bad(p, prefix && *prefix ? prefix : "(top level)", "expected a mapping", NULL);
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const char *k = scalar(yaml_document_get_node(p->doc, pair->key));
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		if (!k)
			return bad(p, prefix && *prefix ? prefix : "(top level)", "keys must be plain strings", NULL);
		char full[128];
		snprintf(full, sizeof(full), "%s%s%s", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "", k);
		int r = fn(p, full, k, v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int unknown(struct parse *p, const char *full)
{
	return carve_error_set(p->err, -EINVAL, "CONFIG_INVALID", "%s: %s: unknown key", p->name, full);
}

/* NVIDIA vendor-VFIO PFs the operator declares, as seed 002's host.conf lists
 * them: a YAML list of "PCI[=BOARD]" or one comma-separated string.  Kept as
 * the comma-separated form the sysfs backend reads; it validates the items. */
static int get_pf_list(struct parse *p, const char *key, yaml_node_t *n, char **out)
{
	if (n && n->type == YAML_SEQUENCE_NODE) {
		char buf[1024] = "";
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			const char *s = scalar(yaml_document_get_node(p->doc, *it));
			if (!s || !*s || strchr(s, ',') || strlen(buf) + strlen(s) + 2 > sizeof(buf))
				return carve_error_set(p->err, -EINVAL, "CONFIG_INVALID",
						       "%s: %s: each item must be one PCI[=BOARD]", p->name, key);
			if (*buf)
				strcat(buf, ",");
			strcat(buf, s);
		}
		free(*out);
		*out = strdup(buf);
		return *out ? 0 : -ENOMEM;
	}
	return get_str(p, key, n, out);
}

static int host_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	if (strcmp(k, "sysfs-root") == 0)
		return get_str(p, full, v, &p->c->sysfs_root);
	if (strcmp(k, "profile") == 0)
		return get_str(p, full, v, &p->c->host_profile);
	if (strcmp(k, "sim-state") == 0)
		return get_str(p, full, v, &p->c->sim_state);
	if (strcmp(k, "nvidia-vgpu-pfs") == 0)
		return get_pf_list(p, full, v, &p->c->nvidia_vgpu_pfs);
	return unknown(p, full);
}

static int listen_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	if (strcmp(k, "unix") == 0) {
		const char *s = scalar(v);
		if (s && (strcmp(s, "") == 0 || strcmp(s, "none") == 0)) {
			free(p->c->unix_path);
			p->c->unix_path = NULL;
			return 0;
		}
		if (s && s[0] != '/')
			return bad(p, full, "expected an absolute path or 'none'", s);
		return get_str(p, full, v, &p->c->unix_path);
	}
	if (strcmp(k, "unix-mode") == 0) {
		const char *s = scalar(v);
		char *end;
		unsigned long m = s ? strtoul(s, &end, 8) : 0;
		if (!s || !*s || *end || m > 0777 || (m & 0600) != 0600)
			return bad(p, full, "expected an octal mode like \"0660\" that the owner can read and write", s);
		p->c->unix_mode = (mode_t)m;
		return 0;
	}
	if (strcmp(k, "unix-group") == 0)
		return get_str(p, full, v, &p->c->unix_group);
	if (strcmp(k, "tcp") == 0) {
		const char *s = scalar(v);
		if (s && (strcmp(s, "") == 0 || strcmp(s, "none") == 0)) {
			free(p->c->tcp);
			p->c->tcp = NULL;
			return 0;
		}
		if (!s || !strrchr(s, ':'))
			return bad(p, full, "expected ADDR:PORT (e.g. 127.0.0.1:8443) or 'none'", s);
		return get_str(p, full, v, &p->c->tcp);
	}
	return unknown(p, full);
}

static int tls_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	if (strcmp(k, "cert") == 0)
		return get_str(p, full, v, &p->c->tls_cert);
	if (strcmp(k, "key") == 0)
		return get_str(p, full, v, &p->c->tls_key);
	return unknown(p, full);
}

static int limits_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	struct carve_api_limits *l = &p->c->limits;
	int r;
	if (strcmp(k, "body-bytes") == 0)
		UINT_FIELD(l->body_bytes, 256, 16 << 20);
	else if (strcmp(k, "json-depth") == 0)
		UINT_FIELD(l->json_depth, 1, 64);
	else if (strcmp(k, "max-args") == 0)
		UINT_FIELD(l->max_args, 1, 1024);
	else if (strcmp(k, "arg-bytes") == 0)
		UINT_FIELD(l->arg_bytes, 64, 1 << 20);
	else if (strcmp(k, "header-bytes") == 0)
		UINT_FIELD(l->header_bytes, 4096, 1 << 20);
	else if (strcmp(k, "connections") == 0)
		UINT_FIELD(l->connections, 1, 65536);
	else if (strcmp(k, "in-flight") == 0)
		UINT_FIELD(l->in_flight, 1, 4096);
	else if (strcmp(k, "write-queue") == 0)
		UINT_FIELD(l->write_queue, 1, 65536);
	else if (strcmp(k, "write-wait-ms") == 0)
		UINT_FIELD(l->write_wait_ms, 1, 600000);
	else if (strcmp(k, "connection-timeout-s") == 0)
		UINT_FIELD(l->conn_timeout_s, 1, 3600);
	else
		return unknown(p, full);
	return 0;
}

static int reconcile_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	int r;
	if (strcmp(k, "refresh-interval-s") == 0)
		UINT_FIELD(p->c->refresh_interval_s, 0, 86400);
	else if (strcmp(k, "interval-s") == 0)
		UINT_FIELD(p->c->reconcile_interval_s, 0, 86400);
	else if (strcmp(k, "uevents") == 0)
		return get_bool(p, full, v, &p->c->uevents);
	else
		return unknown(p, full);
	return 0;
}

static int pool_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	int r;
	if (strcmp(k, "heartbeat-ms") == 0)
		UINT_FIELD(p->c->heartbeat_ms, 100, 60000);
	else if (strcmp(k, "host-timeout-s") == 0)
		UINT_FIELD(p->c->host_timeout_s, 1, 3600);
	else if (strcmp(k, "wait-s") == 0)
		UINT_FIELD(p->c->pool_wait_s, 1, 3600);
	else if (strcmp(k, "migrate-command") == 0) {
		if ((r = get_str(p, full, v, &p->c->migrate_command)) < 0)
			return r;
		if (p->c->migrate_command[0] != '/')
			return bad(p, full, "an absolute path", p->c->migrate_command);
	}
	else
		return unknown(p, full);
	return 0;
}

static const struct {
	const char *name;
	int prio;
} levels[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"notice", LOG_NOTICE}, {"warning", LOG_WARNING}, {"err", LOG_ERR}};

static int top_key(struct parse *p, const char *full, const char *k, yaml_node_t *v)
{
	int r;
	if (strcmp(k, "store") == 0)
		return get_str(p, full, v, &p->c->store);
	if (strcmp(k, "hostname") == 0)
		return get_str(p, full, v, &p->c->hostname);
	if (strcmp(k, "tokens") == 0)
		return get_str(p, full, v, &p->c->token_file);
	if (strcmp(k, "host") == 0)
		return walk(p, full, v, host_key);
	if (strcmp(k, "listen") == 0)
		return walk(p, full, v, listen_key);
	if (strcmp(k, "tls") == 0)
		return walk(p, full, v, tls_key);
	if (strcmp(k, "limits") == 0)
		return walk(p, full, v, limits_key);
	if (strcmp(k, "reconcile") == 0)
		return walk(p, full, v, reconcile_key);
	if (strcmp(k, "pool") == 0)
		return walk(p, full, v, pool_key);
	if (strcmp(k, "drain-timeout-s") == 0) {
		UINT_FIELD(p->c->drain_timeout_s, 0, 3600);
		return 0;
	}
	if (strcmp(k, "log-level") == 0) {
		const char *s = scalar(v);
		for (size_t i = 0; s && i < ARRAY_SIZE(levels); i++)
			if (strcmp(s, levels[i].name) == 0) {
				p->c->log_level = levels[i].prio;
				return 0;
			}
		return bad(p, full, "expected debug, info, notice, warning or err", s);
	}
	return unknown(p, full);
}

/* Checks across keys, after the whole file is read. */
static int check(struct parse *p)
{
	struct carved_config *c = p->c;
	if (c->sysfs_root && c->host_profile)
		return bad(p, "host", "give either sysfs-root or profile, not both", NULL);
	if (c->sim_state && !c->host_profile)
		return bad(p, "host.sim-state", "needs host.profile", NULL);
	if (!!c->tls_cert != !!c->tls_key)
		return bad(p, "tls", "needs both cert and key", NULL);
	if (c->tls_cert && !c->tcp)
		return bad(p, "tls", "TLS applies to the TCP listener: set listen.tcp", NULL);
	if (!c->unix_path && !c->tcp)
		return bad(p, "listen", "no listener: set listen.unix or listen.tcp", NULL);
	return 0;
}

int carved_config_parse(const char *name, const char *text, size_t len, struct carved_config *c,
			struct carve_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int r = carve_error_set(err, -EINVAL, "CONFIG_INVALID", "%s:%zu: %s", name, parser.problem_mark.line + 1,
					parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return r;
	}
	struct parse p = {.name = name, .doc = &doc, .c = c, .err = err};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int r = 0;
	/* An empty file (or only comments) means all defaults.  Checks across
	 * keys wait for the command-line overrides (carved_config_load). */
	if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		r = walk(&p, "", root, top_key);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

static int read_file(const char *path, char **out, size_t *len, struct carve_error *err)
{
	int r = carve_file_read(path, 1 << 20, true, "CONFIG_UNREADABLE", out, len, err);
	if (r == -ENOENT)
		return carve_error_set(err, r, "CONFIG_NOT_FOUND", "cannot read %s: %s", path, strerror(ENOENT));
	return r;
}

static int override(char **field, const char *v)
{
	if (!v)
		return 0;
	char *d = strdup(v);
	if (!d)
		return -ENOMEM;
	free(*field);
	*field = d;
	return 0;
}

int carved_config_load(const struct carved_overrides *o, struct carved_config *out, struct carve_error *err)
{
	struct carved_config c;
	carved_config_default(&c);
	const char *path = o->config ? o->config : CARVED_DEFAULT_CONFIG;
	char *text = NULL;
	size_t len = 0;
	int r = read_file(path, &text, &len, err);
	if (r == -ENOENT && !o->config) {
		carve_error_clear(err);
		r = 0;
	} else if (r >= 0) {
		r = carved_config_parse(path, text, len, &c, err);
	}
	/* Command-line values win over the file; --host-profile replaces a
	 * configured sysfs root and vice versa. */
	if (r >= 0 && o->host_profile) {
		free(c.sysfs_root);
		c.sysfs_root = NULL;
	}
	if (r >= 0 && o->sysfs_root) {
		free(c.host_profile);
		c.host_profile = NULL;
		free(c.sim_state);
		c.sim_state = NULL;
	}
	if (r >= 0) {
		char **fields[] = {&c.unix_path, &c.store, &c.host_profile, &c.sim_state, &c.sysfs_root,
				   &c.hostname, &c.tcp, &c.token_file};
		const char *values[] = {o->socket, o->db, o->host_profile, o->sim_state, o->sysfs_root,
					o->hostname, o->tcp, o->token_file};
		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(fields); i++)
			r = override(fields[i], values[i]);
	}
	if (r >= 0) {
		struct parse p = {.name = text ? path : "configuration", .c = &c, .err = err};
		r = check(&p);
	}
	free(text);
	if (r < 0) {
		carved_config_clear(&c);
		return r;
	}
	*out = c;
	return 0;
}
