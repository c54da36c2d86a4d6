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
 * The pool's hot path (placing, realizing and releasing vGPUs) opens its
 * transactions with carve_db_begin_shared: on PostgreSQL they take that
 * lock shared, so they run side by side and are held apart by the row locks
 * they take (carve_db_for_update: FOR NO KEY UPDATE, which the foreign-key
 * checks of other writers' references do not wait for) on what they decide
 * on; they exclude, and
 * are excluded by, every other writer.  On SQLite it is carve_db_begin.
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

enum carve_db_mode {
	CARVE_DB_EXCLUSIVE, /* carve_db_begin */
	CARVE_DB_SHARED,    /* carve_db_begin_shared */
	CARVE_DB_SNAPSHOT,  /* carve_db_begin_snapshot */
};

struct carve_rows {
	size_t nrows, ncols;
	char **colnames; /* ncols */
	char **cells;    /* nrows * ncols, row-major; NULL = SQL NULL */
};

/* One statement of carve_db_exec_all. */
struct carve_db_stmt {
	const char *sql;
	const char *const *params;
	size_t nparams;
	struct carve_rows **out; /* NULL: no rows wanted */
};

/* The most statements one round trip carries (carve_db_exec_all, with the
 * unsent ones): more is -E2BIG. */
#define CARVE_DB_PIPELINE_MAX 256

struct carve_db_ops {
	const char *name;
	int (*exec)(struct carve_db *db, const char *sql, const char *const *params, size_t nparams,
		    struct carve_rows **out, struct carve_error *err);
	/* Several statements in one round trip (PostgreSQL's pipeline); NULL:
	 * one exec after the other, nothing to save (SQLite). */
	int (*exec_all)(struct carve_db *db, const struct carve_db_stmt *stmts, size_t n, struct carve_error *err);
	/* Open a top-level transaction of a mode; NULL means "BEGIN
	 * IMMEDIATE" for every mode. */
	int (*begin)(struct carve_db *db, enum carve_db_mode mode, struct carve_error *err);
	void (*close)(struct carve_db *db);
	/* LISTEN/NOTIFY (PostgreSQL): NULL where the backend has none. */
	int (*listen)(struct carve_db *db, const char *channel, struct carve_error *err);
	int (*next_note)(struct carve_db *db, char *channel, size_t clen, char *payload, size_t plen);
	int (*fd)(struct carve_db *db);
	/* SQL for the server's clock in ms since the epoch, and the suffix that
	 * locks the rows a SELECT returns ("" where the transaction holds the
	 * whole database already). */
	const char *now_ms_sql, *for_update;
	/* One row, one cell: 1 when the store has the table schema_version,
	 * else 0. */
	const char *has_versions_sql;
};

struct carve_db {
	const struct carve_db_ops *ops;
	int txn_depth; /* nested begin() calls collapse into one transaction */
	bool txn_failed;
	bool wrote;          /* the open transaction ran a statement that may write */
	bool shared;         /* the open transaction is not exclusive (carve_db_begin_shared, _snapshot) */
	uint64_t generation; /* the store generation the last committed write made */
	bool bumped;         /* the last commit moved it (a shared one on PostgreSQL does not) */
	/* A batch (carve_db_batch_begin): each level-2 transaction is a member
	 * with a savepoint of its own; member_failed is txn_failed for it. */
	bool batching;
	bool member_failed;
	/* Announcements (carve_db_announced): member_wrote and
	 * member_announced are the open member's (or the transaction's, outside
	 * a batch); unannounced says a committed member wrote without. */
	bool member_wrote, member_announced, unannounced;
	/* The store generation as the top-level transaction just begun saw
	 * it, read in begin's round trip where the backend can (begin_generation
	 * set: the schema has the table); valid only until the next begin. */
	bool begin_generation, begun_generation_valid;
	uint64_t begun_generation;
	/* Statements not sent yet - savepoints, and writes deferred with
	 * carve_db_exec_later (their parameters copied into pending_owned):
	 * they go out with the next statement, in its round trip (where
	 * exec_all pipelines). */
	struct carve_db_stmt pending[64];
	char *pending_owned[64];
	size_t n_pending;
	/* Notifications of the open top-level transaction not queued yet
	 * (carve_db_notify): one pg_notify per channel carries them all, a
	 * line each, queued before its COMMIT. */
	struct carve_db_note {
		char channel[64];
		char *text;
		size_t len;
	} notes[4];
	size_t n_notes;
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
/* Statements in order, in one round trip where the backend can (exec_all);
 * stops at the first that fails and returns its error (inside a
 * transaction the rest are not run).  Each out, where not NULL, is set. */
int carve_db_exec_all(struct carve_db *db, const struct carve_db_stmt *stmts, size_t n, struct carve_error *err);
/* A write whose result is not wanted, inside a transaction: sent with the
 * next statement (or the commit) in its round trip where the backend
 * pipelines, at once where it does not or outside a transaction.  Its
 * failure is then reported by that later statement's call, and fails the
 * transaction as any failed statement does: only for writes whose failure
 * the caller would not handle otherwise than by giving up.  sql must be a
 * static string; params are copied. */
int carve_db_exec_later(struct carve_db *db, const char *sql, const char *const *params, size_t nparams,
			struct carve_error *err);
int carve_db_execf_later(struct carve_db *db, struct carve_error *err, const char *sql, size_t nparams, ...);
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
/* A top-level transaction of the pool's hot path (above).  Where the backend
 * notifies (PostgreSQL), it moves no store generation: what it changed is
 * announced with carve_db_notify instead, so that concurrent placements do
 * not queue on the generation row.  Nested in another transaction it is
 * just a nested level. */
int carve_db_begin_shared(struct carve_db *db, struct carve_error *err);
/* A read-only transaction that sees one consistent state of the whole store
 * while shared transactions go on (PostgreSQL: REPEATABLE READ, the lock
 * shared); on SQLite carve_db_begin.  Roll it back when done. */
int carve_db_begin_snapshot(struct carve_db *db, struct carve_error *err);
/* Send a notification on channel when the open transaction commits (none if
 * it rolls back); 0 and nothing sent where the backend has no NOTIFY.
 * payload: one line, at most 7999 bytes.  The payloads a transaction sends
 * on one channel may arrive joined in one notification, a line each (up to
 * 7999 bytes): every listener splits at newlines.  (Each notification
 * costs every listening backend of the pool a wake-up and a message.) */
int carve_db_notify(struct carve_db *db, const char *channel, const char *payload, struct carve_error *err);
/* The open transaction (or, in a batch, the open member) announced every
 * object it writes with carve_db_notify, so that readers reload those
 * alone: on a store that notifies, a commit in which every writing member
 * said so leaves the store generation as it is, as a shared transaction
 * does.  Only for writes a notification fully describes (a VM and its
 * vGPUs: docs/architecture.md, PostgreSQL). */
void carve_db_announced(struct carve_db *db);
/* Does the backend notify (PostgreSQL)? */
bool carve_db_notifies(const struct carve_db *db);
/* Receive notifications on this connection: listen once per channel
 * (-ENOTSUP without NOTIFY); then next_note returns 1 and fills channel and
 * payload for each one already received, 0 when none is pending, a negative
 * errno when the connection failed (every LISTEN is gone with it); fd is
 * the socket to poll for readability (-1 when none). */
int carve_db_listen(struct carve_db *db, const char *channel, struct carve_error *err);
int carve_db_next_note(struct carve_db *db, char *channel, size_t clen, char *payload, size_t plen);
int carve_db_fd(struct carve_db *db);
/* The SQL expression for the server's clock (ms since the epoch) and the
 * row-lock suffix for a SELECT in a shared transaction. */
const char *carve_db_now_ms_sql(const struct carve_db *db);
const char *carve_db_for_update(const struct carve_db *db);
int carve_db_commit(struct carve_db *db, struct carve_error *err);
void carve_db_rollback(struct carve_db *db);
/* A batch: one exclusive top-level transaction that several requests'
 * transactions join, so that one commit - one fsync - makes them all
 * durable (group commit, api/service.h).  Inside it every transaction begun
 * at the second level is a member: it runs under a savepoint, its commit
 * releases the savepoint and its rollback (or its failure) rolls back to
 * it, undoing that member alone and leaving the batch usable - on
 * PostgreSQL too, where a failed statement otherwise aborts the whole
 * transaction.  Deeper levels nest in their member as usual.  The batch
 * ends with carve_db_commit (the store generation moves once for it) or
 * carve_db_rollback at the top level; txn_depth must be 0 to begin one.
 * Where statements pipeline (PostgreSQL), a member's savepoint and its
 * release travel with the statements next to them, and a member that ran
 * no statement costs none: a failed savepoint statement is reported by the
 * statement it travelled with, and fails the batch. */
int carve_db_batch_begin(struct carve_db *db, struct carve_error *err);
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
