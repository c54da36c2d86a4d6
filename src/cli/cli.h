/* cli.h - what both carve executables do before a verb runs: the options,
 * the request (a verb and a JSON object of key=value arguments), 'carve
 * help', the way to carved, and the one error line at the end.
 *
 * carve (client.c, the lean client) and carve-engine (engine.c, the verbs
 * in-process) share this code, so an argument vector means the same to both
 * and a request fails with the same words whichever process refuses it.
 * Depends on libc and jansson only.
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "render.h"
#include "util/error.h"

struct carve_cli {
	const char *db;
	const char *sysfs_root;
	const char *profile;
	const char *sim_state;
	const char *hostname;
	const char *socket, *token_file;
	bool json, minimal, local, model_only;
	bool in_process_opt; /* an option that only makes sense in-process (transport.h) */
	int verb_index;      /* argv[verb_index] is the verb */
	const char *verb;
	json_t *args;        /* the verb's arguments, params= taken out */
	char *params;
	struct carve_render_opts ro;
};

/* Options and their environment variables; prints help or usage.  Returns -1
 * when a verb is to run (cli->verb set), else the exit status: 0 after help,
 * 2 after a usage error. */
int carve_cli_parse(struct carve_cli *cli, int argc, char **argv);

/* The key=value arguments after the verb into cli->args, and the verb
 * checked (token-create is one too).  0, or a negative errno with err set. */
int carve_cli_request(struct carve_cli *cli, int argc, char **argv, struct carve_error *err);

/* Run the request through carved when the options, the environment and the
 * socket say so (transport.h): 1 with *result set, 0 when the request runs
 * in-process, a negative errno with err set when carved failed. */
int carve_cli_remote(const struct carve_cli *cli, json_t **result, struct carve_error *err);

/* The exit status for r (<0: an error, printed once as "carve: ID: message"),
 * or 1 when stdout cannot be flushed. */
int carve_cli_exit(int r, struct carve_error *err);

void carve_cli_free(struct carve_cli *cli);
