/* db.h - the store contract: a small SQL interface that both backends
 * implement (embedded SQLite for one host, PostgreSQL for a pool).
 *
 * Everything above the store speaks portable SQL with $1..$N placeholders
 * and text parameters (NULL pointer = SQL NULL); results come back as text
 * (NULL cell = SQL NULL).  That keeps one set of queries for both backends.
 *
 * Durability: SQLite runs in WAL mode with synchronous=FULL and foreign keys
 * on; PostgreSQL uses synchronous commit.  A transaction acknowledged by
 * carve_db_commit() survives a crash of the process or the machine.
 *
 * Writers serialize: a top-level transaction holds the database's write lock
 * from begin to commit (SQLite: BEGIN IMMEDIATE; PostgreSQL: a pool-wide
 * advisory lock taken right after BEGIN, by every transaction - see pg.c).
 *
 * Threading: a carve_db is used by one thread at a time; open one per thread.
 * Errors: negative errno; -EBUSY when the database is locked past the busy
 * timeout, -EEXIST on a uniqueness violation, -EINVAL on a constraint
 * violation or a bad value, -EAGAIN on a serialization failure or deadlock
 * (retry), -ECONNREFUSED when the server cannot be reached, -EIO otherwise,
 * with err carrying the backend's message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cleanup.h"
#include "util/error.h"

struct carve_db;

struct carve_rows {
	size_t nrows, ncols;
	char **colnames; /* ncols */
	char **cells;    /* nrows * ncols, row-major; NULL = SQL NULL */
};

struct carve_db_ops {
	const char *name;
	int (*exec)(struct carve_db *db, const char *sql, const char *const *params, size_t nparams,
		    struct carve_rows **out, struct carve_error *err);
	/* Open a top-level transaction; NULL means "BEGIN IMMEDIATE". */
	int (*begin)(struct carve_db *db, struct carve_error *err);
	void (*close)(struct carve_db *db);
};

struct carve_db {
	const struct carve_db_ops *ops;
	int txn_depth; /* nested begin() calls collapse into one transaction */
	bool txn_failed;
	bool wrote;          /* the open transaction ran a statement that may write */
	uint64_t generation; /* the store generation the last committed write made */
};

/* Open a store by its specification: a PostgreSQL connection string (a URI
 * starting with postgresql:// or postgres://, or key=value conninfo naming
 * host= or dbname=) opens PostgreSQL, anything else is a SQLite file path.
 * The store is not migrated; see carve_db_migrate(). */
int carve_db_open(const char *spec, struct carve_db **out, struct carve_error *err);
bool carve_db_spec_is_pg(const char *spec);
int carve_db_open_sqlite(const char *path, struct carve_db **out, struct carve_error *err);
/* conninfo as libpq takes it (URI or key=value). */
int carve_db_open_pg(const char *conninfo, struct carve_db **out, struct carve_error *err);
void carve_db_close(struct carve_db *db);

/* Run one statement.  out may be NULL when no rows are wanted. */
int carve_db_exec(struct carve_db *db, const char *sql, const char *const *params, size_t nparams,
		  struct carve_rows **out, struct carve_error *err);
/* Convenience: up to 32 params given as a NULL-terminated-free vararg list of
 * const char *, count first. */
int carve_db_execf(struct carve_db *db, struct carve_rows **out, struct carve_error *err, const char *sql,
		   size_t nparams, ...);

/* Transactions; begin/commit nest (only the outermost commits).  On any
 * failure inside, callers roll back; rollback of an inner level marks the
 * whole transaction failed.  A top-level transaction that wrote bumps the
 * store generation (table store_generation) in the same commit and leaves
 * the new value in db->generation: every writer, of any process or host,
 * moves it, so a resident model can tell whether the store changed under
 * it (state/model.h). */
int carve_db_begin(struct carve_db *db, struct carve_error *err);
int carve_db_commit(struct carve_db *db, struct carve_error *err);
void carve_db_rollback(struct carve_db *db);
/* End the transaction opened by carve_db_begin() according to r, the result of
 * the work done inside it: commit when r >= 0, roll back (and return r) when
 * r < 0.  Returns r, or the commit's error. */
int carve_db_end(struct carve_db *db, int r, struct carve_error *err);

/* Apply schema migrations (src/store/schema/NNN_*.sql) not yet applied.
 * Safe when several processes migrate one database at once: the version is
 * read and the steps applied under the write lock. */
int carve_db_migrate(struct carve_db *db, struct carve_error *err);
int carve_db_schema_version(struct carve_db *db, int *out, struct carve_error *err);

void carve_rows_free(struct carve_rows *rows);
CARVE_DEFINE_CLEANUP(struct carve_rows, carve_rows_free)
#define _cleanup_rows_ _cleanup_(carve_rows_freep)
/* Cell by row and column name; NULL for SQL NULL or unknown column. */
const char *carve_rows_get(const struct carve_rows *rows, size_t row, const char *col);
static inline const char *carve_rows_cell(const struct carve_rows *rows, size_t row, size_t col)
{
	return rows->cells[row * rows->ncols + col];
}
