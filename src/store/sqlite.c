/* sqlite.c - the embedded store backend (one host, one file). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "faultvfs.h"

/* Prepared statements are cached by SQL text: compiling a statement costs
 * more than running it for carve's small queries (docs/performance.md). */
#define STMT_CACHE 128

struct stmt_entry {
	char *sql; /* as given by the caller */
	sqlite3_stmt *st;
	unsigned long last_use;
};

struct sqlite_db {
	struct carve_db base;
	sqlite3 *h;
	struct stmt_entry cache[STMT_CACHE];
	unsigned long tick;
};

/* Portable SQL uses $N placeholders (PostgreSQL's); SQLite spells them ?N.
 * Rewrite outside of string literals. */
static char *rewrite_placeholders(const char *sql)
{
	char *out = strdup(sql);
	if (!out)
		return NULL;
	bool in_str = false;
	for (char *p = out; *p; p++) {
		if (*p == '\'')
			in_str = !in_str;
		else if (!in_str && *p == '$' && p[1] >= '0' && p[1] <= '9')
			*p = '?';
	}
	return out;
}

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_CONSTRAINT:
		return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EINVAL;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	default: return -EIO;
	}
}

static int add_row(struct carve_rows *rows, sqlite3_stmt *st, size_t *cap)
{
	if (rows->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **cells = realloc(rows->cells, ncap * rows->ncols * sizeof(char *));
		if (!cells)
			return -ENOMEM;
		rows->cells = cells;
		*cap = ncap;
	}
	char **row = rows->cells + rows->nrows * rows->ncols;
	for (size_t c = 0; c < rows->ncols; c++) {
		const unsigned char *t = sqlite3_column_text(st, (int)c);
		row[c] = t ? strdup((const char *)t) : NULL;
		if (t && !row[c]) {
			for (size_t k = 0; k < c; k++)
				free(row[k]);
			return -ENOMEM;
		}
	}
	rows->nrows++;
	return 0;
}

static void release_stmt(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* A ready statement for sql: from the cache, or compiled and cached (the
 * least recently used entry makes room).  Statements stay owned by the cache;
 * callers hand them back with release_stmt(). */
static int get_stmt(struct sqlite_db *db, const char *sql, sqlite3_stmt **out)
{
	struct stmt_entry *victim = &db->cache[0];
	db->tick++;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct stmt_entry *e = &db->cache[i];
		if (e->sql && strcmp(e->sql, sql) == 0) {
			e->last_use = db->tick;
			*out = e->st;
			return SQLITE_OK;
		}
		if (!e->sql || (victim->sql && e->last_use < victim->last_use))
			victim = e;
	}
	char *q = rewrite_placeholders(sql);
	if (!q)
		return SQLITE_NOMEM;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(db->h, q, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	free(q);
	if (rc != SQLITE_OK)
		return rc;
	char *copy = strdup(sql);
	if (!copy) {
		sqlite3_finalize(st);
		return SQLITE_NOMEM;
	}
	if (victim->sql) {
		sqlite3_finalize(victim->st);
		free(victim->sql);
	}
	victim->sql = copy;
	victim->st = st;
	victim->last_use = db->tick;
	*out = st;
	return SQLITE_OK;
}

static int sqlite_exec(struct carve_db *base, const char *sql, const char *const *params, size_t nparams,
		       struct carve_rows **out, struct carve_error *err)
{
	struct sqlite_db *db = (struct sqlite_db *)base;
	sqlite3_stmt *st = NULL;
	int rc = get_stmt(db, sql, &st);
	if (rc != SQLITE_OK)
		return carve_error_set(err, map_rc(rc), "DATABASE_ERROR", "database: %s", sqlite3_errmsg(db->h));
	for (size_t i = 0; i < nparams; i++) {
		rc = params[i] ? sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, (int)i + 1);
		if (rc != SQLITE_OK) {
			release_stmt(st);
			return carve_error_set(err, map_rc(rc), "DATABASE_ERROR", "database: %s", sqlite3_errmsg(db->h));
		}
	}
	struct carve_rows *rows = NULL;
	size_t cap = 0;
	if (out) {
		rows = calloc(1, sizeof(*rows));
		if (!rows)
			goto nomem;
		rows->ncols = (size_t)sqlite3_column_count(st);
		rows->colnames = calloc(rows->ncols ? rows->ncols : 1, sizeof(char *));
		if (!rows->colnames)
			goto nomem;
		for (size_t c = 0; c < rows->ncols; c++)
			if (!(rows->colnames[c] = strdup(sqlite3_column_name(st, (int)c))))
				goto nomem;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows && add_row(rows, st, &cap) < 0)
			goto nomem;
	}
	if (rc != SQLITE_DONE) {
		int r = carve_error_set(err, map_rc(sqlite3_extended_errcode(db->h)), "DATABASE_ERROR", "database: %s",
					sqlite3_errmsg(db->h));
		release_stmt(st);
		carve_rows_free(rows);
		return r;
	}
	release_stmt(st);
	if (out)
		*out = rows;
	return 0;
nomem:
	release_stmt(st);
	carve_rows_free(rows);
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

static void sqlite_close(struct carve_db *base)
{
	struct sqlite_db *db = (struct sqlite_db *)base;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	sqlite3_close_v2(db->h);
	free(db);
}

static const struct carve_db_ops sqlite_ops = {
	.name = "sqlite",
	.exec = sqlite_exec,
	.close = sqlite_close,
	.now_ms_sql = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
	.has_versions_sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
};

int carve_db_open_sqlite(const char *path, struct carve_db **out, struct carve_error *err)
{
	struct sqlite_db *db = calloc(1, sizeof(*db));
	if (!db)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	db->base.ops = &sqlite_ops;
	int rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 carve_faultvfs_name());
	if (rc != SQLITE_OK) {
		int r = carve_error_set(err, map_rc(rc), "DATABASE_UNAVAILABLE", "cannot open database %s: %s", path,
					db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		sqlite3_close_v2(db->h);
		free(db);
		return r;
	}
	sqlite3_busy_timeout(db->h, 10000);
	static const char *const pragmas[] = {
		"PRAGMA journal_mode=WAL",
		"PRAGMA synchronous=FULL",
		"PRAGMA foreign_keys=ON",
		/* Reads are answered by the resident model: a writer's connection
		 * needs little cache (SQLite's default is 2 MiB per connection). */
		"PRAGMA cache_size=-512",
	};
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		int r = sqlite_exec(&db->base, pragmas[i], NULL, 0, NULL, err);
		if (r < 0) {
			sqlite_close(&db->base);
			return r;
		}
	}
	*out = &db->base;
	return 0;
}
