/* render.h - print verb results the way xe does, or as JSON.
 *
 * Records print as blocks, one "name ( MODE): value" line per field with the
 * colons aligned, blocks separated by a blank line.  Which fields: the class's
 * default subset, "all", or a comma-separated list (params=...).  --minimal
 * prints the UUIDs comma-separated on one line.  --json prints the records as
 * a JSON array (filtered by params= when given).  Writes to f; returns 0 or
 * -EINVAL with err set for an unknown field in params=.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "util/error.h"

struct carve_render_opts {
	bool json;
	bool minimal;
	const char *params; /* NULL = default subset */
};

int carve_render_result(FILE *f, json_t *result, const struct carve_render_opts *o, struct carve_error *err);

/* The params= a list or param-list verb should be asked with so that only
 * the fields this rendering shows are computed ("uuid" for --minimal, the
 * class's default subset, the user's list); NULL when every field is needed
 * (--json without params=) or the verb returns no records.  malloc'ed. */
char *carve_render_wanted(const char *verb, const struct carve_render_opts *o);
