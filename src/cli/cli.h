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

#include "remote.h"
#include "render.h"
#include "transport.h"
#include "util/error.h"

struct carve_cli {
	const char *db;
	const char *sysfs_root;
	const char *profile;
	const char *sim_state;
	const char *hostname;
	const char *socket, *token_file;
	bool json, minimal, local, model_only, batch;
	bool in_process_opt; /* an option that only makes sense in-process (transport.h) */
	int verb_index;      /* argv[verb_index] is the verb */
	const char *verb;
	json_t *args;        /* the verb's arguments, params= taken out */
	char *params;
	struct carve_render_opts ro;
	/* A remote carved (--server/-s, $CARVE_SERVER, a name from the config
	 * file; transport.h): what the options said, then what carve_cli_remote
	 * resolved (owned strings, the token read from its file). */
	const char *server, *cacert, *pin;
	bool insecure;
	struct carve_remote remote;
	struct carve_transport_opts to; /* where the request goes (route(), cli.c) */
};

/* Options and their environment variables; prints help or usage.  Returns -1
 * when a verb is to run (cli->verb set; NULL with --batch, which reads its
 * verbs from stdin), else the exit status: 0 after help, 2 after a usage
 * error. */
int carve_cli_parse(struct carve_cli *cli, int argc, char **argv);

/* The key=value arguments after the verb into cli->args, and the verb
 * checked (token-create is one too).  0, or a negative errno with err set. */
int carve_cli_request(struct carve_cli *cli, int argc, char **argv, struct carve_error *err);

/* Run the request through carved when the options, the environment and the
 * socket say so (transport.h): 1 with *result set, 0 when the request runs
 * in-process, a negative errno with err set when carved failed. */
int carve_cli_remote(struct carve_cli *cli, json_t **result, struct carve_error *err);

struct carve_transport_conn;
/* carve_cli_remote's decision for a batch: 1 with conn ready for carved,
 * 0 for in-process, a negative errno with err set. */
int carve_cli_open_remote(struct carve_cli *cli, struct carve_transport_conn *conn, struct carve_error *err);

/* The exit status for r (<0: an error, printed once as "carve: ID: message"),
 * or 1 when stdout cannot be flushed. */
int carve_cli_exit(int r, struct carve_error *err);

void carve_cli_free(struct carve_cli *cli);

/* carve --batch: one request per line of `in`, "VERB key=value ..." (words
 * split at blanks, a "..." span keeps its blanks, no other escapes; blank
 * lines and lines starting with # are skipped; at most 64 words and 64 KiB a
 * line).  Each runs through run() - 1 with *result set, or a negative
 * errno with err set - and is rendered as the same command alone would be; a failure is printed as "carve: line N: ID:
 * message" and the next line runs.  Returns the exit status: 0 when every
 * request succeeded, 1 otherwise. */
typedef int (*carve_cli_run_fn)(struct carve_cli *cli, json_t **result, struct carve_error *err, void *data);
int carve_cli_batch(struct carve_cli *cli, FILE *in, carve_cli_run_fn run, void *data);
