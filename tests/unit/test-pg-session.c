/* What every PostgreSQL session of carve's runs with (store/pg.c) holds on
 * a connection the server dropped and carve opened again: synchronous
 * commit on although the database's default is off, and the planner's
 * settings.  Needs a server: CARVE_TEST_PG names a database
 * (tests/pool/run sets it); without it the test is skipped (exit 77).
 * The database's default synchronous_commit is set off for the test and
 * reset after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "util/cleanup.h"

static const char *conninfo;

static char *one(struct carve_db *db, const char *sql)
{
	struct carve_rows *rows = NULL;
	struct carve_error err = {0};
	int r = carve_db_exec(db, sql, NULL, 0, &rows, &err);
	if (r < 0)
		fail_msg("%s: %s", sql, err.message);
	assert_int_equal(rows->nrows, 1);
	char *v = strdup(carve_rows_cell(rows, 0, 0));
	carve_rows_free(rows);
	return v;
}

static void expect_setting(struct carve_db *db, const char *name, const char *want)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT current_setting('%s')", name);
	_cleanup_free_ char *v = one(db, sql);
	assert_string_equal(v, want);
}

static void test_session_revived(void **state)
{
	(void)state;
	struct carve_error err = {0};
	struct carve_db *admin = NULL, *db = NULL;
	assert_int_equal(carve_db_open(conninfo, &admin, &err), 0);
	/* A new session's default; the one carve opens below overrides it. */
	char alter[256];
	_cleanup_free_ char *dbname = one(admin, "SELECT current_database()");
	snprintf(alter, sizeof(alter), "ALTER DATABASE \"%s\" SET synchronous_commit = off", dbname);
	assert_int_equal(carve_db_exec(admin, alter, NULL, 0, NULL, &err), 0);

	assert_int_equal(carve_db_open(conninfo, &db, &err), 0);
	expect_setting(db, "synchronous_commit", "on");
	expect_setting(db, "random_page_cost", "1.1");
	expect_setting(db, "plan_cache_mode", "force_generic_plan");
	_cleanup_free_ char *pid = one(db, "SELECT pg_backend_pid()::text");

	/* The server ends the session (as a restart would); the next SELECT
	 * outside a transaction opens it again. */
	const char *p[] = {pid};
	assert_int_equal(carve_db_exec(admin, "SELECT pg_terminate_backend($1::int)", p, 1, NULL, &err), 0);
	for (int i = 0; i < 50; i++) {
		struct carve_rows *rows = NULL;
		if (carve_db_exec(admin, "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", p, 1, &rows, &err) < 0)
			fail_msg("%s", err.message);
		size_t n = rows->nrows;
		carve_rows_free(rows);
		if (n == 0)
			break;
		usleep(20000);
	}
	_cleanup_free_ char *pid2 = one(db, "SELECT pg_backend_pid()::text");
	assert_string_not_equal(pid, pid2);
	expect_setting(db, "synchronous_commit", "on");
	expect_setting(db, "random_page_cost", "1.1");
	expect_setting(db, "plan_cache_mode", "force_generic_plan");

	snprintf(alter, sizeof(alter), "ALTER DATABASE \"%s\" RESET synchronous_commit", dbname);
	assert_int_equal(carve_db_exec(admin, alter, NULL, 0, NULL, &err), 0);
	carve_db_close(db);
	carve_db_close(admin);
}

int main(void)
{
	conninfo = getenv("CARVE_TEST_PG");
	if (!conninfo || !*conninfo)
		return 77;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_revived),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
