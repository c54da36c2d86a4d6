/* carve - the command line: xe's verbs over carve's model.
 *
 *   carve [options] VERB [key=value ...]
 *
 * The lean client.  It turns its arguments into the request every front end
 * uses (a verb and a JSON object of arguments, cli.h), sends it to carved
 * over its unix socket when carved is the one to run it (transport.h) and
 * renders the result like xe, or as JSON with --json.  It links libc and
 * jansson only: a command that talks to carved, and 'carve help', need
 * neither the store nor the host, and loading libpq, SQLite, libyaml and
 * their dependencies cost more than the whole request.
 *
 * A request that runs in-process (--local, a store or host named, no carved)
 * is handed to carve-engine (engine.c) by execv(): the same process, the same
 * argument vector with --local in front, so its output and exit status are
 * the engine's, which parses and checks the request with the same code.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "render.h"
#include "transport.h"
#include "util/cleanup.h"

#ifndef CARVE_ENGINE_PATH
#error "CARVE_ENGINE_PATH: where meson installs carve-engine"
#endif

/* Execute the engine: $CARVE_ENGINE when set (an explicit choice is never
 * passed over), else carve-engine beside this executable (the build tree,
 * or both copied together), else where it is installed.  Returns only on
 * failure, with err set. */
static int exec_engine(int argc, char **argv, struct carve_error *err)
{
	_cleanup_free_ char **args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		return -ENOMEM;
	args[0] = argv[0];
	args[1] = (char *)"--local"; /* decided here: the engine does not look for carved again */
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];

	const char *env = getenv("CARVE_ENGINE");
	if (env && *env) {
		execv(env, args);
		return carve_error_set(err, -errno, "ENGINE_NOT_FOUND",
				       "cannot run the in-process engine %s ($CARVE_ENGINE): %s", env, strerror(errno));
	}
	char self[PATH_MAX], beside[PATH_MAX + 16] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash = n > 0 ? memrchr(self, '/', (size_t)n) : NULL;
	if (slash) {
		*slash = '\0';
		snprintf(beside, sizeof(beside), "%s/carve-engine", self);
		execv(beside, args);
		if (errno != ENOENT)
			return carve_error_set(err, -errno, "ENGINE_NOT_FOUND", "cannot run the in-process engine %s: %s",
					       beside, strerror(errno));
	}
	execv(CARVE_ENGINE_PATH, args);
	if (errno != ENOENT)
		return carve_error_set(err, -errno, "ENGINE_NOT_FOUND", "cannot run the in-process engine %s: %s",
				       CARVE_ENGINE_PATH, strerror(errno));
	return carve_error_set(err, -ENOENT, "ENGINE_NOT_FOUND",
			       "cannot run in-process: no carve-engine %s%s%sat %s (set CARVE_ENGINE)",
			       *beside ? "at " : "", beside, *beside ? " or " : "", CARVE_ENGINE_PATH);
}

static int run_remote(struct carve_cli *cli, json_t **result, struct carve_error *err, void *conn)
{
	(void)cli;
	return carve_transport_call_conn(conn, cli->verb, cli->args, result, err);
}

int main(int argc, char **argv)
{
	struct carve_error err = {0};
	/* getopt_long() reorders argv; the engine gets it as it was typed. */
	_cleanup_free_ char **typed = malloc(((size_t)argc + 1) * sizeof(*typed));
	if (!typed)
		return carve_cli_exit(-ENOMEM, &err);
	memcpy(typed, argv, ((size_t)argc + 1) * sizeof(*typed));
	struct carve_cli cli;
	int r = carve_cli_parse(&cli, argc, argv);
	if (r >= 0)
		return r;
	if (cli.batch) { /* all lines to carved on one connection, or all in the engine */
		struct carve_transport_conn conn;
		if ((r = carve_cli_open_remote(&cli, &conn, &err)) > 0) {
			r = carve_cli_batch(&cli, stdin, run_remote, &conn);
			carve_transport_close(&conn);
			carve_cli_free(&cli);
			return r;
		}
		if (r == 0)
			r = exec_engine(argc, typed, &err);
		carve_cli_free(&cli);
		return carve_cli_exit(r, &err);
	}
	_cleanup_json_ json_t *result = NULL;
	if ((r = carve_cli_request(&cli, argc, argv, &err)) == 0 &&
	    (r = carve_cli_remote(&cli, &result, &err)) == 0)
		r = exec_engine(argc, typed, &err);
	if (r > 0)
		r = carve_render_result(stdout, result, &cli.ro, &err);
	carve_cli_free(&cli);
	return carve_cli_exit(r, &err);
}
