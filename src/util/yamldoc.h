/* yamldoc.h - strict YAML documents for carve's configuration formats (host
 * profiles, host configurations): libyaml's document API, which gives every
 * node its line for the error messages, with the rules every format here
 * shares:
 *   - one document, a non-empty root, a size limit;
 *   - no aliases (a node reachable twice is refused: aliases would let a
 *     small file name one large subtree many times);
 *   - mappings with scalar keys, none given twice; scalars without NUL
 *     bytes; strings without control characters.
 * Every error is "<origin>:<line>: <key path>: <what>", with the format's
 * error id, and -EINVAL (-E2BIG for the size, -ENOMEM).
 *
 * A struct carve_yaml is one parse, used by one thread; carve_yaml_close()
 * frees it (and accepts one that failed to open). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "error.h"

struct carve_yaml {
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser, have_doc;
	const char *origin, *id; /* borrowed: must outlive the parse */
	struct carve_error *err;
	unsigned char *seen; /* one flag per node */
	size_t n_nodes;
	yaml_node_t *root;
};

/* Parse text (len bytes, at most max) as one document; y->root is set. */
int carve_yaml_open(struct carve_yaml *y, const char *text, size_t len, size_t max, const char *origin, const char *id,
		    struct carve_error *err);
void carve_yaml_close(struct carve_yaml *y);

int carve_yaml_line(const yaml_node_t *n);
/* An error at node n (NULL: line 1) for key path key (may be ""). */
int carve_yaml_err(struct carve_yaml *y, const yaml_node_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with another errno (-E2BIG for limits). */
int carve_yaml_err_code(struct carve_yaml *y, int code, const yaml_node_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The node id, refusing one already visited (an alias); NULL and *r < 0. */
yaml_node_t *carve_yaml_node(struct carve_yaml *y, int id, const char *key, int *r);
int carve_yaml_scalar(struct carve_yaml *y, yaml_node_t *n, const char *key, const char **out);
int carve_yaml_str(struct carve_yaml *y, yaml_node_t *n, const char *key, char *buf, size_t size);
int carve_yaml_u32(struct carve_yaml *y, yaml_node_t *n, const char *key, uint32_t max, uint32_t *out);
int carve_yaml_i32(struct carve_yaml *y, yaml_node_t *n, const char *key, int32_t min, int32_t max, int32_t *out);
int carve_yaml_bool(struct carve_yaml *y, yaml_node_t *n, const char *key, bool *out);
/* "VVVV:DDDD" (PCI vendor:device), hex. */
int carve_yaml_hex16_pair(struct carve_yaml *y, yaml_node_t *n, const char *key, uint16_t *a, uint16_t *b);

/* Each pair of mapping m, with its key's text and path ("path.key");
 * refuses a key given twice.  obj is the caller's. */
typedef int (*carve_yaml_pair_fn)(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
				  const char *path);
int carve_yaml_walk(struct carve_yaml *y, yaml_node_t *m, const char *path, void *obj, carve_yaml_pair_fn fn);
int carve_yaml_unknown_key(struct carve_yaml *y, yaml_node_t *kn, const char *kpath);
