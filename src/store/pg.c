/* pg.c - the pool store backend: PostgreSQL over libpq.
 *
 * Statements go out with PQexecParams in text mode: carve's portable SQL
 * already uses PostgreSQL's $1..$N placeholders and text parameters, and the
 * server infers each parameter's type from its use.  Two spellings differ
 * between the engines and are adapted here, as sqlite.c adapts $N:
 *   - CURRENT_TIMESTAMP: carve keeps timestamps in TEXT columns; SQLite
 *     writes 'YYYY-MM-DD HH:MM:SS' in UTC, so PostgreSQL is asked for the
 *     same text (the timestamptz text form would carry fractions and a zone).
 *   - PRAGMA: SQLite's; refused here with -EOPNOTSUPP without a round trip
 *     (carved's read cache asks for PRAGMA data_version and, refused, treats
 *     every read as possibly stale - correct, only slower).
 *
 * Writers: every top-level transaction takes one transaction-scoped
 * advisory lock right after BEGIN, as SQLite's BEGIN IMMEDIATE takes the
 * database's write lock - exclusively for ordinary writers, shared for the
 * placement path (db.h, carve_db_begin_shared), whose transactions run side
 * by side and are held apart by row locks (FOR NO KEY UPDATE on the VM and
 * the PGPUs they decide on, under which placement counts again), so two
 * agents can never book the same capacity.  The store layer does not know
 * which transactions will write, so read-only ones lock too; carve's reads
 * run outside transactions and do not wait.  lock_timeout (10 s, SQLite's
 * busy timeout here) turns a stuck holder into -EBUSY instead of a hang.
 * LISTEN/NOTIFY carry the pool's hand-overs and changes (ops/pool.h).
 *
 * Differences callers may meet: a failed statement aborts the whole
 * transaction (SQLite only fails the statement); COMMIT of such a
 * transaction is reported as an error, never as success.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "db.h"
#include "util/str.h"

/* The advisory lock key of carve's writers: "carve" in ASCII.  Any other
 * application sharing the database must not use it. */
#define CARVE_PG_LOCK_KEY "426836653669"

/* Prepared statements.  carve's SQL is a small fixed set of texts, so each
 * one a connection runs is parsed and planned once, as a named statement
 * (carve_<slot>), and then only bound and executed; at most STMT_CACHE
 * texts, any beyond run unnamed.  They live as long as the server session:
 * a connection opened again (revive) starts with none. */
#define STMT_CACHE 128

enum stmt_state { STMT_NONE, STMT_SENT, STMT_READY };

struct pg_stmt {
	char *sql; /* as carve wrote it (before adapt_sql) */
	enum stmt_state state;
};

struct pg_db {
	struct carve_db base;
	PGconn *conn;
	struct pg_stmt stmts[STMT_CACHE];
	size_t n_stmts;
	/* Re-opened, but carve's session settings (session_set_up) could not
	 * be set: nothing runs on it until a later revive sets them. */
	bool unset;
};

static void stmts_forget(struct pg_db *db)
{
	for (size_t i = 0; i < db->n_stmts; i++)
		free(db->stmts[i].sql);
	db->n_stmts = 0;
}

/* The slot of a statement worth preparing (DML and queries: what the
 * protocol's named statements are for), found or added; -1 for none. */
static int stmt_slot(struct pg_db *db, const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n')
		sql++;
	if (strncasecmp(sql, "SELECT", 6) != 0 && strncasecmp(sql, "INSERT", 6) != 0 &&
	    strncasecmp(sql, "UPDATE", 6) != 0 && strncasecmp(sql, "DELETE", 6) != 0)
		return -1;
	for (size_t i = 0; i < db->n_stmts; i++)
		if (strcmp(db->stmts[i].sql, sql) == 0)
			return (int)i;
	if (db->n_stmts == STMT_CACHE || !(db->stmts[db->n_stmts].sql = strdup(sql)))
		return -1;
	db->stmts[db->n_stmts].state = STMT_NONE;
	return (int)db->n_stmts++;
}

static void stmt_name(int slot, char name[16])
{
	snprintf(name, 16, "carve_%d", slot);
}

/* libpq prints NOTICEs (e.g. "relation already exists, skipping") to stderr
 * by default; carve's output is its own. */
static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The first line of a libpq/server message, without the trailing newline. */
static void one_line(const char *msg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", msg && *msg ? msg : "unknown error");
	buf[strcspn(buf, "\r\n")] = '\0';
}

static int map_sqlstate(const char *state)
{
	if (!state || strlen(state) != 5)
		return -EIO;
	if (strcmp(state, "23505") == 0)
		return -EEXIST;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return -EINVAL; /* integrity constraint / data exception (bad value) */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return -EAGAIN; /* serialization failure, deadlock: retry */
	if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		return -EBUSY; /* lock_timeout / statement cancelled */
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P03") == 0)
		return -ECONNREFUSED; /* connection exception, server shutting down or starting */
	if (strcmp(state, "53100") == 0)
		return -ENOSPC;
	if (strcmp(state, "53200") == 0)
		return -ENOMEM;
	if (strcmp(state, "53300") == 0)
		return -EAGAIN; /* too many connections */
	if (strcmp(state, "42501") == 0 || strncmp(state, "28", 2) == 0)
		return -EACCES;
	return -EIO;
}

static bool ident_char(char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Does sql start with word (case-insensitive, after blanks)? */
static bool starts_with_word(const char *sql, const char *word)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n')
		sql++;
	size_t n = strlen(word);
	return strncasecmp(sql, word, n) == 0 && !ident_char(sql[n]);
}

/* SQL with CURRENT_TIMESTAMP (outside string literals) replaced by SQLite's
 * text form of it; NULL when out of memory.  Returns sql itself (not a copy)
 * when there is nothing to replace - the common case. */
static const char *adapt_sql(const char *sql, char **owned)
{
	static const char word[] = "CURRENT_TIMESTAMP";
	static const char repl[] = "to_char(CURRENT_TIMESTAMP AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')";
	*owned = NULL;
	if (!strcasestr(sql, word))
		return sql;
	size_t wl = sizeof(word) - 1, rl = sizeof(repl) - 1, n = 0;
	for (const char *p = sql; (p = strcasestr(p, word)); p += wl)
		n++;
	char *out = malloc(strlen(sql) + n * rl + 1);
	if (!out)
		return NULL;
	char *o = out;
	bool in_str = false;
	for (const char *p = sql; *p;) {
		if (*p == '\'')
			in_str = !in_str;
		if (!in_str && strncasecmp(p, word, wl) == 0 && (p == sql || !ident_char(p[-1])) && !ident_char(p[wl])) {
			memcpy(o, repl, rl);
			o += rl;
			p += wl;
			continue;
		}
		*o++ = *p++;
	}
	*o = '\0';
	*owned = out;
	return out;
}

/* Error from a failed result (or from the connection when res is NULL). */
static int result_error(struct pg_db *db, PGresult *res, struct carve_error *err)
{
	char msg[400];
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	one_line(primary ? primary : PQerrorMessage(db->conn), msg, sizeof(msg));
	int code = map_sqlstate(state);
	if (!state && PQstatus(db->conn) != CONNECTION_OK)
		return carve_error_set(err, -EIO, "DATABASE_UNAVAILABLE", "database connection lost: %s", msg);
	if (code == -ECONNREFUSED)
		return carve_error_set(err, code, "DATABASE_UNAVAILABLE", "database unavailable: %s", msg);
	return carve_error_set(err, code, "DATABASE_ERROR", "database: %s", msg);
}

static int fill_rows(PGresult *res, struct carve_rows **out)
{
	struct carve_rows *rows = calloc(1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	int nr = PQntuples(res), nc = PQnfields(res);
	rows->colnames = calloc(nc ? (size_t)nc : 1, sizeof(char *));
	rows->cells = calloc(nr && nc ? (size_t)nr * (size_t)nc : 1, sizeof(char *));
	if (!rows->colnames || !rows->cells)
		goto nomem;
	/* Every cell starts NULL, so a partial fill frees cleanly. */
	rows->ncols = (size_t)nc;
	rows->nrows = (size_t)nr;
	for (int c = 0; c < nc; c++)
		if (!(rows->colnames[c] = strdup(PQfname(res, c))))
			goto nomem;
	for (int i = 0; i < nr; i++)
		for (int c = 0; c < nc; c++) {
			char **cell = &rows->cells[(size_t)i * rows->ncols + (size_t)c];
			if (!PQgetisnull(res, i, c) && !(*cell = strdup(PQgetvalue(res, i, c))))
				goto nomem;
		}
	*out = rows;
	return 0;
nomem:
	carve_rows_free(rows);
	return -ENOMEM;
}

/* What every session of carve's runs with, set when it is opened and again
 * when it is re-opened (revive): durability must not depend on the
 * server's defaults - a commit carve acknowledges is on disk (DESIGN.md);
 * the lock timeout mirrors SQLite's busy timeout (sqlite.c).
 * random_page_cost: the store is small and hot (every agent reads it
 * whole into its model), so a row reached through an index costs about
 * what a row read in sequence does, not the 4x of the default, which
 * models a disk.  With 4, a batch's keyed writes (state/repo.c: 64 rows
 * joined by primary key) were planned as a sequential scan of the whole
 * VM or vGPU table from 64 rows of 8,000 on, measured 3-10x slower than
 * the 64 index lookups; 1.1 is the value PostgreSQL's documentation gives
 * for data that is cached.  plan_cache_mode: carve's statements reach rows
 * by key, so a prepared statement's plan does not depend on its
 * parameters; left to choose, the server planned some of them afresh at
 * every execution (a tenth of its CPU in a boot storm). */
static int session_set_up(struct pg_db *db, struct carve_error *err)
{
	PGresult *res = PQexec(db->conn, "SELECT set_config('synchronous_commit', 'on', false), "
					 "set_config('lock_timeout', '10s', false), "
					 "set_config('client_min_messages', 'warning', false), "
					 "set_config('client_encoding', 'UTF8', false), "
					 "set_config('random_page_cost', '1.1', false), "
					 "set_config('plan_cache_mode', 'force_generic_plan', false)");
	int r = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : result_error(db, res, err);
	PQclear(res);
	return r;
}

/* A connection the server dropped (restart, idle timeout; carved keeps its
 * connections for long) is re-opened, but only between transactions: inside
 * one, the work so far is lost and the caller must see the error.  A drop is
 * often noticed only by the statement that fails on it; that statement is
 * sent again once when repeating it cannot do anything twice (a SELECT
 * outside a transaction, a BEGIN). */
static bool revive(struct pg_db *db, bool between_txns)
{
	if ((PQstatus(db->conn) == CONNECTION_OK && !db->unset) || !between_txns)
		return false;
	PQreset(db->conn);
	stmts_forget(db); /* a new session: none prepared */
	if (PQstatus(db->conn) != CONNECTION_OK)
		return false;
	db->unset = session_set_up(db, NULL) < 0;
	return !db->unset;
}

/* A session without carve's settings runs nothing (durability among them). */
static int refuse_unset(const struct pg_db *db, struct carve_error *err)
{
	return db->unset ? carve_error_set(err, -EIO, "DATABASE_UNAVAILABLE",
					   "database: the re-opened session could not be set up")
			 : 0;
}

/* One statement, prepared first if it is worth it and not yet. */
static PGresult *run_one(struct pg_db *db, const char *sql, const char *q, const char *const *params, size_t n)
{
	int slot = stmt_slot(db, sql);
	char name[16];
	stmt_name(slot, name);
	if (slot >= 0 && db->stmts[slot].state != STMT_READY) {
		PGresult *p = PQprepare(db->conn, name, q, (int)n, NULL);
		if (p && PQresultStatus(p) == PGRES_COMMAND_OK)
			db->stmts[slot].state = STMT_READY;
		PQclear(p);
	}
	if (slot >= 0 && db->stmts[slot].state == STMT_READY)
		return PQexecPrepared(db->conn, name, (int)n, params, NULL, NULL, 0);
	return PQexecParams(db->conn, q, (int)n, NULL, params, NULL, NULL, 0);
}

/* The outcome of one statement's result: its error, or its rows. */
static int take_result(struct pg_db *db, const char *sql, PGresult *res, struct carve_rows **out,
		       struct carve_error *err)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return result_error(db, res, err);
	if (starts_with_word(sql, "COMMIT") && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		/* PostgreSQL answers COMMIT of an aborted transaction with a
		 * rollback, not an error: the work is lost and must not be
		 * acknowledged. */
		return carve_error_set(err, -EIO, "DATABASE_ERROR", "database: transaction was rolled back");
	if (out && fill_rows(res, out) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	return 0;
}

/* What is refused before it is sent. */
static int refused(const char *sql, size_t nparams, struct carve_error *err)
{
	if (starts_with_word(sql, "PRAGMA"))
		return carve_error_set(err, -EOPNOTSUPP, "DATABASE_ERROR", "database: PRAGMA is SQLite's, not PostgreSQL's");
	if (nparams > 65535)
		return carve_error_set(err, -E2BIG, "INTERNAL_ERROR", "too many SQL parameters");
	return 0;
}

static int pg_exec(struct carve_db *base, const char *sql, const char *const *params, size_t nparams,
		   struct carve_rows **out, struct carve_error *err)
{
	struct pg_db *db = (struct pg_db *)base;
	int r = refused(sql, nparams, err);
	if (r < 0)
		return r;
	char *owned;
	const char *q = adapt_sql(sql, &owned);
	if (!q)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	bool between = db->base.txn_depth == 0;
	revive(db, between);
	if ((r = refuse_unset(db, err)) < 0) {
		free(owned);
		return r;
	}
	PGresult *res = run_one(db, sql, q, params, nparams);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_FATAL_ERROR && starts_with_word(sql, "SELECT") && revive(db, between)) {
		PQclear(res);
		res = run_one(db, sql, q, params, nparams);
		st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	}
	free(owned);
	r = take_result(db, sql, res, out, err);
	PQclear(res);
	return r;
}

/* Statements inside a transaction, in one round trip: libpq's pipeline
 * mode sends them all and one Sync.  The server runs them in order and,
 * after a failure, skips the rest up to the Sync (PGRES_PIPELINE_ABORTED):
 * the first failure is the answer, and the transaction is aborted as after
 * any failed statement.  Not between transactions: there a dropped
 * connection is re-opened and a statement sent again (pg_exec), which a
 * pipeline cannot do safely. */
static int pg_exec_all(struct carve_db *base, const struct carve_db_stmt *st, size_t n, struct carve_error *err)
{
	struct pg_db *db = (struct pg_db *)base;
	if (n == 1 || base->txn_depth == 0 || PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF) {
		int r = 0;
		for (size_t i = 0; i < n && r >= 0; i++)
			r = pg_exec(base, st[i].sql, st[i].params, st[i].nparams, st[i].out, err);
		return r;
	}
	/* What goes out, in order: a statement's Parse (its first use) and
	 * the statement itself; each has its results and then a NULL. */
	struct item {
		size_t stmt;
		int slot;
		bool parse;
	} items[2 * CARVE_DB_PIPELINE_MAX];
	if (n > CARVE_DB_PIPELINE_MAX)
		return carve_error_set(err, -E2BIG, "INTERNAL_ERROR", "too many statements in one pipeline");
	int r = 0;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = refused(st[i].sql, st[i].nparams, err);
	if (r < 0)
		return r;
	if (!PQenterPipelineMode(db->conn))
		return result_error(db, NULL, err);
	size_t sent = 0;
	for (size_t k = 0; k < n && r >= 0; k++) {
		char *owned, name[16];
		const char *q = adapt_sql(st[k].sql, &owned);
		if (!q) {
			r = carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
			break;
		}
		int slot = stmt_slot(db, st[k].sql), ok = 1;
		stmt_name(slot, name);
		if (slot >= 0 && db->stmts[slot].state == STMT_NONE) {
			ok = PQsendPrepare(db->conn, name, q, (int)st[k].nparams, NULL);
			if (ok) {
				db->stmts[slot].state = STMT_SENT;
				items[sent++] = (struct item){.stmt = k, .slot = slot, .parse = true};
			}
		}
		if (ok)
			ok = slot >= 0 ? PQsendQueryPrepared(db->conn, name, (int)st[k].nparams, st[k].params, NULL, NULL, 0)
				       : PQsendQueryParams(db->conn, q, (int)st[k].nparams, NULL, st[k].params, NULL, NULL, 0);
		free(owned);
		if (!ok)
			r = result_error(db, NULL, err);
		else
			items[sent++] = (struct item){.stmt = k, .slot = slot, .parse = false};
	}
	if (!PQpipelineSync(db->conn) && r >= 0)
		r = result_error(db, NULL, err);
	/* A lost connection answers NULL from then on. */
	size_t i = 0;
	for (size_t guard = 0; guard < 4 * sent + 8; guard++) {
		PGresult *res = PQgetResult(db->conn);
		if (!res) {
			if (i < sent) {
				i++;
				continue;
			}
			if (r >= 0)
				r = result_error(db, NULL, err);
			break;
		}
		ExecStatusType s = PQresultStatus(res);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (i < sent && items[i].parse) {
			db->stmts[items[i].slot].state = s == PGRES_COMMAND_OK ? STMT_READY : STMT_NONE;
			if (s != PGRES_COMMAND_OK && s != PGRES_PIPELINE_ABORTED && r >= 0)
				r = result_error(db, res, err);
		} else if (s != PGRES_PIPELINE_ABORTED && i < sent && r >= 0) {
			int r2 = take_result(db, st[items[i].stmt].sql, res, st[items[i].stmt].out, err);
			if (r2 < 0)
				r = r2;
		}
		PQclear(res);
	}
	for (size_t k = 0; k < sent; k++) /* a Parse whose answer never came */
		if (items[k].parse && db->stmts[items[k].slot].state == STMT_SENT)
			db->stmts[items[k].slot].state = STMT_NONE;
	PQexitPipelineMode(db->conn);
	if (r < 0)
		for (size_t k = 0; k < n; k++)
			if (st[k].out) {
				carve_rows_free(*st[k].out);
				*st[k].out = NULL;
			}
	return r;
}

/* BEGIN and the pool-wide writer lock in one round trip (the simple query
 * protocol runs both; an error stops at the first).  Shared transactions
 * (db.h, carve_db_begin_shared) take it shared: they run side by side,
 * held apart by their row locks, and exclude every other writer. */
static int pg_begin(struct carve_db *base, enum carve_db_mode mode, struct carve_error *err)
{
	struct pg_db *db = (struct pg_db *)base;
	static const char *const sqls[] = {
		[CARVE_DB_EXCLUSIVE] = "BEGIN; SELECT pg_advisory_xact_lock(" CARVE_PG_LOCK_KEY ")",
		[CARVE_DB_SHARED] = "BEGIN; SELECT pg_advisory_xact_lock_shared(" CARVE_PG_LOCK_KEY ")",
		[CARVE_DB_SNAPSHOT] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
				      "SELECT pg_advisory_xact_lock_shared(" CARVE_PG_LOCK_KEY ")",
	};
	/* and the generation, where the caller wants it, in the same trip: a
	 * multi-statement query answers with its last statement's rows */
	char with_gen[160];
	const char *sql = sqls[mode];
	if (base->begin_generation) {
		snprintf(with_gen, sizeof(with_gen), "%s; SELECT n FROM store_generation", sqls[mode]);
		sql = with_gen;
	}
	/* Called for the top level only: nothing of the transaction has
	 * happened yet, so a dropped connection may be re-opened. */
	revive(db, true);
	int r = refuse_unset(db, err);
	if (r < 0)
		return r;
	PGresult *res = PQexec(db->conn, sql);
	if ((!res || PQresultStatus(res) == PGRES_FATAL_ERROR) && revive(db, true)) {
		PQclear(res);
		res = PQexec(db->conn, sql);
	}
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		r = result_error(db, res, err);
	else if (base->begin_generation && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		base->begun_generation = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		base->begun_generation_valid = true;
	}
	PQclear(res);
	if (r < 0 && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	return r;
}

static void pg_close(struct carve_db *base)
{
	struct pg_db *db = (struct pg_db *)base;
	stmts_forget(db);
	PQfinish(db->conn);
	free(db);
}

static int pg_listen(struct carve_db *base, const char *channel, struct carve_error *err)
{
	struct pg_db *db = (struct pg_db *)base;
	char *id = PQescapeIdentifier(db->conn, channel, strlen(channel));
	if (!id)
		return carve_error_set(err, -EINVAL, "DATABASE_ERROR", "bad channel name");
	_cleanup_free_ char *sql = carve_strdupf("LISTEN %s", id);
	PQfreemem(id);
	return sql ? pg_exec(base, sql, NULL, 0, NULL, err) : -ENOMEM;
}

static int pg_next_note(struct carve_db *base, char *channel, size_t clen, char *payload, size_t plen)
{
	struct pg_db *db = (struct pg_db *)base;
	if (PQstatus(db->conn) != CONNECTION_OK || !PQconsumeInput(db->conn))
		return -ECONNRESET;
	PGnotify *n = PQnotifies(db->conn);
	if (!n)
		return PQstatus(db->conn) == CONNECTION_OK ? 0 : -ECONNRESET;
	snprintf(channel, clen, "%s", n->relname);
	snprintf(payload, plen, "%s", n->extra ? n->extra : "");
	PQfreemem(n);
	return 1;
}

static int pg_fd(struct carve_db *base)
{
	return PQsocket(((struct pg_db *)base)->conn);
}

static const struct carve_db_ops pg_ops = {
	.name = "postgresql",
	.exec = pg_exec,
	.exec_all = pg_exec_all,
	.begin = pg_begin,
	.close = pg_close,
	.listen = pg_listen,
	.next_note = pg_next_note,
	.fd = pg_fd,
	.now_ms_sql = "(extract(epoch from clock_timestamp()) * 1000)::bigint",
	.for_update = " FOR NO KEY UPDATE",
	.has_versions_sql = "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND "
			    "tablename = 'schema_version'",
};

int carve_db_open_pg(const char *conninfo, struct carve_db **out, struct carve_error *err)
{
	struct pg_db *db = calloc(1, sizeof(*db));
	if (!db)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	db->base.ops = &pg_ops;
	db->conn = PQconnectdb(conninfo);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		char msg[400];
		one_line(db->conn ? PQerrorMessage(db->conn) : "out of memory", msg, sizeof(msg));
		int r = carve_error_set(err, db->conn ? -ECONNREFUSED : -ENOMEM, "DATABASE_UNAVAILABLE",
					"cannot connect to PostgreSQL: %s", msg);
		pg_close(&db->base);
		return r;
	}
	PQsetNoticeProcessor(db->conn, quiet_notices, NULL);
	int r = session_set_up(db, err);
	if (r < 0) {
		pg_close(&db->base);
		return r;
	}
	*out = &db->base;
	return 0;
}
