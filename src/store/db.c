#include "db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema.h"

bool carve_db_spec_is_pg(const char *spec)
{
	return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0 ||
	       strstr(spec, "host=") || strstr(spec, "dbname=");
}

int carve_db_open(const char *spec, struct carve_db **out, struct carve_error *err)
{
	return carve_db_spec_is_pg(spec) ? carve_db_open_pg(spec, out, err) : carve_db_open_sqlite(spec, out, err);
}

static void notes_drop(struct carve_db *db);
static void pending_drop(struct carve_db *db, size_t from);

void carve_db_close(struct carve_db *db)
{
	if (!db)
		return;
	pending_drop(db, 0);
	notes_drop(db);
	db->ops->close(db);
}

/* Reads, transaction control and PRAGMAs do not change the model. */
static bool may_write(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t')
		sql++;
	static const char *const ro[] = {"SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SET ", "SHOW", "SAVEPOINT", "RELEASE"};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (strncasecmp(sql, ro[i], strlen(ro[i])) == 0)
			return false;
	return true;
}

/* Forget the unsent statements from index `from` on. */
static void pending_drop(struct carve_db *db, size_t from)
{
	for (size_t i = from; i < db->n_pending; i++) {
		free(db->pending_owned[i]);
		db->pending_owned[i] = NULL;
	}
	if (from < db->n_pending)
		db->n_pending = from;
}

int carve_db_exec_all(struct carve_db *db, const struct carve_db_stmt *stmts, size_t n, struct carve_error *err)
{
	struct carve_db_stmt all[CARVE_DB_PIPELINE_MAX];
	size_t np = db->n_pending;
	for (size_t i = 0; i < n; i++) {
		if (stmts[i].out)
			*stmts[i].out = NULL;
		if (db->txn_depth > 0 && !db->member_wrote && may_write(stmts[i].sql))
			db->wrote = db->member_wrote = true;
	}
	if (!db->ops->exec_all) {
		int r = 0;
		for (size_t i = 0; i < n && r >= 0; i++)
			r = db->ops->exec(db, stmts[i].sql, stmts[i].params, stmts[i].nparams, stmts[i].out, err);
		return r;
	}
	if (np == 0)
		return db->ops->exec_all(db, stmts, n, err);
	if (np + n > ARRAY_SIZE(all)) { /* the unsent first, then the rest */
		int r = carve_db_exec_all(db, NULL, 0, err);
		return r < 0 ? r : db->ops->exec_all(db, stmts, n, err);
	}
	for (size_t i = 0; i < np; i++)
		all[i] = db->pending[i];
	for (size_t i = 0; i < n; i++)
		all[np + i] = stmts[i];
	int r = db->ops->exec_all(db, all, np + n, err);
	pending_drop(db, 0);
	return r;
}

int carve_db_exec(struct carve_db *db, const char *sql, const char *const *params, size_t nparams,
		  struct carve_rows **out, struct carve_error *err)
{
	const struct carve_db_stmt st = {.sql = sql, .params = params, .nparams = nparams, .out = out};
	return carve_db_exec_all(db, &st, 1, err);
}

/* Room for one more unsent statement: the unsent go out when full. */
static int pending_room(struct carve_db *db, struct carve_error *err)
{
	return db->n_pending < ARRAY_SIZE(db->pending) ? 0 : carve_db_exec_all(db, NULL, 0, err);
}

/* A savepoint statement, sent with the next statement where the backend
 * pipelines, at once where it does not. */
static int defer(struct carve_db *db, const char *sql, struct carve_error *err)
{
	if (!db->ops->exec_all)
		return carve_db_exec(db, sql, NULL, 0, NULL, err);
	int r = pending_room(db, err);
	if (r >= 0)
		db->pending[db->n_pending++] = (struct carve_db_stmt){.sql = sql};
	return r;
}

int carve_db_exec_later(struct carve_db *db, const char *sql, const char *const *params, size_t nparams,
			struct carve_error *err)
{
	if (!db->ops->exec_all || db->txn_depth == 0)
		return carve_db_exec(db, sql, params, nparams, NULL, err);
	int r = pending_room(db, err);
	if (r < 0)
		return r;
	/* one block: the parameter array, then the strings */
	size_t len = nparams * sizeof(char *);
	for (size_t i = 0; i < nparams; i++)
		len += params[i] ? strlen(params[i]) + 1 : 0;
	char *block = malloc(len ? len : 1);
	if (!block)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	const char **copy = (const char **)(void *)block;
	char *text = block + nparams * sizeof(char *);
	for (size_t i = 0; i < nparams; i++) {
		if (!params[i]) {
			copy[i] = NULL;
			continue;
		}
		size_t l = strlen(params[i]) + 1;
		memcpy(text, params[i], l);
		copy[i] = text;
		text += l;
	}
	if (!db->member_wrote && may_write(sql))
		db->wrote = db->member_wrote = true;
	db->pending_owned[db->n_pending] = block;
	db->pending[db->n_pending++] = (struct carve_db_stmt){.sql = sql, .params = copy, .nparams = nparams};
	return 0;
}

static const char member_savepoint[] = "SAVEPOINT carve_member";

/* Is the member's savepoint still unsent - has the member run nothing? */
static bool savepoint_unsent(struct carve_db *db)
{
	return db->n_pending && db->pending[db->n_pending - 1].sql == member_savepoint;
}

/* execf's parameters: now (out where wanted) or later. */
static int execf(struct carve_db *db, bool later, struct carve_rows **out, struct carve_error *err, const char *sql,
		 size_t nparams, va_list ap)
{
	const char *params[32];
	if (nparams > 32)
		return carve_error_set(err, -E2BIG, "INTERNAL_ERROR", "too many SQL parameters");
	for (size_t i = 0; i < nparams; i++)
		params[i] = va_arg(ap, const char *);
	return later ? carve_db_exec_later(db, sql, params, nparams, err)
		     : carve_db_exec(db, sql, params, nparams, out, err);
}

int carve_db_execf(struct carve_db *db, struct carve_rows **out, struct carve_error *err, const char *sql,
		   size_t nparams, ...)
{
	va_list ap;
	va_start(ap, nparams);
	int r = execf(db, false, out, err, sql, nparams, ap);
	va_end(ap);
	return r;
}

int carve_db_execf_later(struct carve_db *db, struct carve_error *err, const char *sql, size_t nparams, ...)
{
	va_list ap;
	va_start(ap, nparams);
	int r = execf(db, true, NULL, err, sql, nparams, ap);
	va_end(ap);
	return r;
}

/* A batch's member level (carve_db_batch_begin). */
static bool member_level(const struct carve_db *db)
{
	return db->batching && db->txn_depth == 2;
}

static int begin(struct carve_db *db, enum carve_db_mode mode, struct carve_error *err)
{
	if (db->txn_depth++ > 0) {
		if (!member_level(db))
			return 0;
		db->member_failed = false;
		db->member_wrote = db->member_announced = false;
		int r = defer(db, member_savepoint, err);
		if (r < 0)
			db->txn_depth--;
		return r;
	}
	db->batching = false;
	notes_drop(db);
	pending_drop(db, 0);
	db->txn_failed = false;
	db->wrote = false;
	db->member_wrote = db->member_announced = db->unannounced = false;
	db->shared = mode != CARVE_DB_EXCLUSIVE;
	db->begun_generation_valid = false;
	int r = db->ops->begin ? db->ops->begin(db, mode, err)
			       : carve_db_exec(db, "BEGIN IMMEDIATE", NULL, 0, NULL, err);
	if (r < 0)
		db->txn_depth = 0;
	return r;
}

int carve_db_begin(struct carve_db *db, struct carve_error *err)
{
	return begin(db, CARVE_DB_EXCLUSIVE, err);
}

int carve_db_begin_shared(struct carve_db *db, struct carve_error *err)
{
	return begin(db, CARVE_DB_SHARED, err);
}

int carve_db_begin_snapshot(struct carve_db *db, struct carve_error *err)
{
	return begin(db, CARVE_DB_SNAPSHOT, err);
}

void carve_db_announced(struct carve_db *db)
{
	if (db->txn_depth > 0)
		db->member_announced = true;
}

bool carve_db_notifies(const struct carve_db *db)
{
	return db->ops->listen != NULL;
}

#define NOTE_MAX 7999

/* One notification, sent with the next statement or the commit. */
static int notify_later(struct carve_db *db, const char *channel, const char *payload, struct carve_error *err)
{
	return carve_db_execf_later(db, err, "SELECT pg_notify($1, $2)", 2, channel, payload);
}

static int note_queue(struct carve_db *db, struct carve_db_note *n, struct carve_error *err)
{
	int r = notify_later(db, n->channel, n->text, err);
	free(n->text);
	n->text = NULL;
	n->len = 0;
	return r;
}

static void notes_drop(struct carve_db *db)
{
	for (size_t i = 0; i < db->n_notes; i++)
		free(db->notes[i].text);
	db->n_notes = 0;
}

/* Queue the transaction's joined notifications (before its COMMIT). */
static int notes_queue(struct carve_db *db, struct carve_error *err)
{
	int r = 0;
	for (size_t i = 0; i < db->n_notes && r >= 0; i++)
		if (db->notes[i].len)
			r = note_queue(db, &db->notes[i], err);
	notes_drop(db);
	return r;
}

int carve_db_notify(struct carve_db *db, const char *channel, const char *payload, struct carve_error *err)
{
	if (!carve_db_notifies(db))
		return 0;
	size_t pl = strlen(payload);
	/* Joined only at the top level of a plain transaction: a batch's
	 * member may roll back to its savepoint, taking its own with it. */
	if (db->txn_depth != 1 || db->batching || strlen(channel) >= sizeof(db->notes[0].channel) || pl >= NOTE_MAX ||
	    strchr(payload, '\n'))
		return notify_later(db, channel, payload, err);
	struct carve_db_note *n = NULL;
	for (size_t i = 0; i < db->n_notes && !n; i++)
		if (strcmp(db->notes[i].channel, channel) == 0)
			n = &db->notes[i];
	if (!n && db->n_notes == ARRAY_SIZE(db->notes))
		return notify_later(db, channel, payload, err);
	if (!n) {
		n = &db->notes[db->n_notes++];
		*n = (struct carve_db_note){0};
		memcpy(n->channel, channel, strlen(channel) + 1);
	}
	int r;
	if (n->len && n->len + 1 + pl > NOTE_MAX && (r = note_queue(db, n, err)) < 0)
		return r;
	char *t = realloc(n->text, n->len + 1 + pl + 1);
	if (!t)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	n->text = t;
	if (n->len)
		t[n->len++] = '\n';
	memcpy(t + n->len, payload, pl + 1);
	n->len += pl;
	return 0;
}

int carve_db_listen(struct carve_db *db, const char *channel, struct carve_error *err)
{
	if (!db->ops->listen)
		return carve_error_set(err, -ENOTSUP, "NOT_SUPPORTED", "the %s store has no notifications", db->ops->name);
	return db->ops->listen(db, channel, err);
}

int carve_db_next_note(struct carve_db *db, char *channel, size_t clen, char *payload, size_t plen)
{
	return db->ops->next_note ? db->ops->next_note(db, channel, clen, payload, plen) : 0;
}

int carve_db_fd(struct carve_db *db)
{
	return db->ops->fd ? db->ops->fd(db) : -1;
}

const char *carve_db_now_ms_sql(const struct carve_db *db)
{
	return db->ops->now_ms_sql;
}

const char *carve_db_for_update(const struct carve_db *db)
{
	return db->ops->for_update ? db->ops->for_update : "";
}

int carve_db_batch_begin(struct carve_db *db, struct carve_error *err)
{
	if (db->txn_depth != 0)
		return carve_error_set(err, -EINVAL, "INTERNAL_ERROR", "a batch inside a transaction");
	int r = begin(db, CARVE_DB_EXCLUSIVE, err);
	db->batching = r >= 0;
	return r;
}

/* Undo a member: back to its savepoint, which then goes.  If even that
 * fails the batch cannot be trusted: it fails as a whole. */
static void member_undo(struct carve_db *db)
{
	if (savepoint_unsent(db))
		pending_drop(db, db->n_pending - 1); /* it did nothing */
	else if (carve_db_exec(db, "ROLLBACK TO SAVEPOINT carve_member", NULL, 0, NULL, NULL) < 0 ||
		 defer(db, "RELEASE SAVEPOINT carve_member", NULL) < 0)
		db->txn_failed = true;
}

static int member_release(struct carve_db *db, struct carve_error *err)
{
	if (savepoint_unsent(db)) {
		pending_drop(db, db->n_pending - 1);
		return 0;
	}
	return defer(db, "RELEASE SAVEPOINT carve_member", err);
}

int carve_db_commit(struct carve_db *db, struct carve_error *err)
{
	if (db->txn_depth <= 0)
		return carve_error_set(err, -EINVAL, "INTERNAL_ERROR", "commit without a transaction");
	if (member_level(db)) {
		db->txn_depth--;
		int r = db->member_failed ? carve_error_set(err, -EIO, "INTERNAL_ERROR", "transaction was rolled back")
					  : member_release(db, err);
		if (r < 0)
			member_undo(db);
		else if (db->member_wrote && !db->member_announced)
			db->unannounced = true;
		return r;
	}
	if (--db->txn_depth > 0)
		return 0;
	if (!db->batching && db->member_wrote && !db->member_announced)
		db->unannounced = true;
	db->batching = false;
	int r = db->txn_failed ? 0 : notes_queue(db, err);
	if (db->txn_failed || r < 0) {
		notes_drop(db);
		pending_drop(db, 0);
		carve_db_exec(db, "ROLLBACK", NULL, 0, NULL, NULL);
		return r < 0 ? r : carve_error_set(err, -EIO, "INTERNAL_ERROR", "transaction was rolled back");
	}
	uint64_t gen = 0;
	/* A shared transaction announces itself (carve_db_notify) instead, and
	 * so does one whose every write was announced (carve_db_announced). */
	if (db->wrote && !((db->shared || !db->unannounced) && carve_db_notifies(db))) {
		/* The bump and the commit in one round trip where the store
		 * pipelines; a failed bump skips the commit. */
		_cleanup_rows_ struct carve_rows *rows = NULL;
		const struct carve_db_stmt st[] = {
			{.sql = "UPDATE store_generation SET n = n + 1 RETURNING n", .out = &rows},
			{.sql = "COMMIT"},
		};
		r = carve_db_exec_all(db, st, 2, err);
		if (r >= 0 && rows && rows->nrows == 1 && carve_rows_cell(rows, 0, 0))
			gen = strtoull(carve_rows_cell(rows, 0, 0), NULL, 10);
	} else {
		r = carve_db_exec(db, "COMMIT", NULL, 0, NULL, err);
	}
	if (r < 0) {
		pending_drop(db, 0);
		carve_db_exec(db, "ROLLBACK", NULL, 0, NULL, NULL);
		return r;
	}
	db->bumped = gen != 0;
	if (gen)
		db->generation = gen;
	return r;
}

void carve_db_rollback(struct carve_db *db)
{
	if (db->txn_depth <= 0)
		return;
	if (member_level(db)) {
		db->txn_depth--;
		member_undo(db);
		return;
	}
	if (--db->txn_depth > 0) {
		if (db->batching && db->txn_depth >= 2)
			db->member_failed = true;
		else
			db->txn_failed = true;
		return;
	}
	db->batching = false;
	notes_drop(db);
	pending_drop(db, 0); /* what is being rolled back */
	carve_db_exec(db, "ROLLBACK", NULL, 0, NULL, NULL);
}

int carve_db_end(struct carve_db *db, int r, struct carve_error *err)
{
	if (r < 0) {
		carve_db_rollback(db);
		return r;
	}
	return carve_db_commit(db, err);
}

int carve_db_schema_version(struct carve_db *db, int *out, struct carve_error *err)
{
	struct carve_rows *rows = NULL;
	int r = carve_db_exec(db, "SELECT MAX(version) FROM schema_version", NULL, 0, &rows, err);
	if (r < 0)
		return r;
	const char *v = rows->nrows ? carve_rows_cell(rows, 0, 0) : NULL;
	*out = v ? atoi(v) : 0;
	carve_rows_free(rows);
	return 0;
}

int carve_db_migrate(struct carve_db *db, struct carve_error *err)
{
	/* Everything under the write lock, the creation of schema_version
	 * included: two processes migrating a new database at once would
	 * otherwise both apply step 1 (or, on PostgreSQL, race in CREATE). */
	int have, r;
	bool applied = false;
	/* A store at the newest version (every connection a pool agent opens
	 * meets one) needs no lock: the write lock would hold up every other
	 * writer of the pool for a look.  A version only grows, so what is
	 * read outside a transaction stays true. */
	int newest = 0;
	for (size_t i = 0; i < carve_schema_count; i++)
		if (carve_schema_steps[i].version > newest)
			newest = carve_schema_steps[i].version;
	_cleanup_rows_ struct carve_rows *has = NULL;
	if (carve_db_exec(db, db->ops->has_versions_sql, NULL, 0, &has, NULL) >= 0 && has->nrows == 1 &&
	    carve_rows_cell(has, 0, 0) && strcmp(carve_rows_cell(has, 0, 0), "1") == 0 &&
	    carve_db_schema_version(db, &have, NULL) >= 0 && have >= newest)
		return 0;
	if ((r = carve_db_begin(db, err)) < 0)
		return r;
	if ((r = carve_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied TEXT)",
			       NULL, 0, NULL, err)) < 0 ||
	    (r = carve_db_schema_version(db, &have, err)) < 0)
		goto fail;
	for (size_t i = 0; i < carve_schema_count; i++) {
		const struct carve_schema_step *s = &carve_schema_steps[i];
		if (s->version <= have)
			continue;
		/* Statements are separated by lines holding only "--;" so that
		 * both backends can run them one at a time. */
		char *sql = strdup(s->sql);
		if (!sql) {
			r = -ENOMEM;
			goto fail;
		}
		char *p = sql;
		while (p && *p) {
			char *next = strstr(p, "\n--;");
			if (next) {
				*next = '\0';
				next += 4;
			}
			char *q = p;
			for (;;) { /* blanks and comment lines before the statement */
				while (*q == ' ' || *q == '\n' || *q == '\t')
					q++;
				if (strncmp(q, "--", 2) != 0 || q[2] == '@')
					break;
				q += strcspn(q, "\n");
			}
			/* "--@sqlite" / "--@postgresql" on a statement's first line: that
			 * backend only (what one of them cannot say portably). */
			if (strncmp(q, "--@", 3) == 0) {
				size_t n = strcspn(q + 3, "\n");
				bool mine = n == strlen(db->ops->name) && strncmp(q + 3, db->ops->name, n) == 0;
				q = mine ? q + 3 + n : q + strlen(q);
			}
			if (*q && (r = carve_db_exec(db, q, NULL, 0, NULL, err)) < 0) {
				free(sql);
				goto fail;
			}
			p = next;
		}
		free(sql);
		char ver[16];
		snprintf(ver, sizeof(ver), "%d", s->version);
		r = carve_db_execf(db, NULL, err,
				   "INSERT INTO schema_version (version, applied) VALUES ($1, CURRENT_TIMESTAMP)", 1, ver);
		if (r < 0)
			goto fail;
		applied = true;
	}
	/* Looking is not writing: an up-to-date store keeps its generation. */
	db->wrote = applied;
	return carve_db_commit(db, err);
fail:
	carve_db_rollback(db);
	return r;
}

void carve_rows_free(struct carve_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->ncols; i++)
		free(rows->colnames[i]);
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->colnames);
	free(rows->cells);
	free(rows);
}

const char *carve_rows_get(const struct carve_rows *rows, size_t row, const char *col)
{
	if (!rows || row >= rows->nrows)
		return NULL;
	for (size_t c = 0; c < rows->ncols; c++)
		if (strcmp(rows->colnames[c], col) == 0)
			return carve_rows_cell(rows, row, c);
	return NULL;
}
