/* fields.h - the classes of the model as the CLI and API show them, with
 * xe's field names and access modes.
 *
 * Records built by the verbs carry every field of their class, in this order;
 * front ends choose which to show (xe's default subset, params=all, or a
 * list).  Field names are matched case-insensitively everywhere.  Depends on
 * libc and jansson only: the lean client renders with it (src/cli/client.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct carve_field {
	const char *name;  /* xe spelling, e.g. "supported-VGPU-types" */
	const char *mode;  /* "RO", "RW", "SRO", "SRW", "MRO", "MRW" */
	bool in_default;   /* shown by a plain list verb */
};

struct carve_class {
	const char *name;  /* "pgpu", "vgpu-type", ... */
	const struct carve_field *fields;
	size_t n_fields;
};

const struct carve_class *carve_class_find(const char *name);
/* Field by name, case-insensitive; NULL if the class has no such field. */
const struct carve_field *carve_class_field(const struct carve_class *c, const char *name);

/* A record value as xe prints it (sets joined by "; ", maps "k: v; ..."); the
 * caller frees it.  Used to render and to compare field filters alike. */
char *carve_value_text(json_t *v);
