/* schema.h - the schema migrations, embedded at build time from
 * src/store/schema/NNN_*.sql by scripts/embed-sql.py.  Steps are applied in
 * version order, each in the same transaction as its schema_version row. */
#pragma once

#include <stddef.h>

struct carve_schema_step {
	int version;
	const char *name;
	const char *sql;
};

extern const struct carve_schema_step carve_schema_steps[];
extern const size_t carve_schema_count;
