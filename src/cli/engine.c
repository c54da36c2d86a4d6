/* carve-engine - the command line with the verbs in-process.
 *
 *   carve-engine [options] VERB [key=value ...]
 *
 * carve, the lean client (client.c), runs a request that does not go to
 * carved by executing this program with its own argument vector and --local
 * in front; run by hand, it is the whole CLI in one process and reaches
 * carved the same way carve does (cli.h).  In-process, the request runs on
 * the embedded store and the host (or its simulation) and the result is
 * rendered like xe, or as JSON with --json.  Errors are printed once, here,
 * as one line "carve: ID: message", with exit status 1 (usage errors 2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/auth.h"
#include "cli.h"
#include "host/host.h"
#include "ops/ops.h"
#include "render.h"
#include "transport.h"
#include "util/cleanup.h"
#include "util/str.h"

static char *default_db(void)
{
	const char *env = getenv("CARVE_DB");
	if (env && *env)
		return strdup(env);
	if (geteuid() == 0) {
		mkdir("/var/lib/carve", 0700);
		return strdup("/var/lib/carve/carve.db");
	}
	const char *home = getenv("HOME");
	if (!home)
		return NULL;
	_cleanup_free_ char *dir = carve_strdupf("%s/.local/share/carve", home);
	_cleanup_free_ char *parent = carve_strdupf("%s/.local/share", home);
	_cleanup_free_ char *gp = carve_strdupf("%s/.local", home);
	if (!dir || !parent || !gp)
		return NULL;
	mkdir(gp, 0700);
	mkdir(parent, 0700);
	mkdir(dir, 0700);
	return carve_strdupf("%s/carve.db", dir);
}

static int open_host(const struct carve_cli *o, struct carve_host **host, char **desc, struct carve_error *err)
{
	*host = NULL;
	if (o->model_only)
		return 0;
	if (o->profile) {
		*desc = carve_strdupf("sim:%s", o->profile);
		return carve_host_open_sim(o->profile, o->sim_state, host, err);
	}
	const char *root = o->sysfs_root ? o->sysfs_root : "/sys";
	*desc = carve_strdupf("sysfs:%s", root);
	return carve_host_open_sysfs(root, getenv("CARVE_NVIDIA_VGPU_PFS"), host, err);
}

/* token-create without carved: the token's hash goes to the token file. */
static int token_create_local(const char *path, json_t *args, json_t **result, struct carve_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v)
		if (strcasecmp(k, "role") != 0 && strcasecmp(k, "label") != 0)
			return carve_error_set(err, -EINVAL, "UNKNOWN_PARAMETER", "unknown parameter for token-create: %.64s", k);
	const char *role_s = json_string_value(json_object_get(args, "role"));
	const char *label = json_string_value(json_object_get(args, "label"));
	enum carve_role role;
	if (!role_s)
		return carve_error_set(err, -EINVAL, "MISSING_PARAMETER", "missing parameter: role");
	if (carve_role_parse(role_s, &role) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
				       "role: expected read-only, vm-operator or pool-admin, got '%.64s'", role_s);
	char tok[CARVE_TOKEN_LEN + 1];
	int r = carve_token_create(path, role, label, tok, err);
	if (r < 0)
		return r;
	*result = json_pack("{s:s, s:s}", "value", tok, "role", carve_role_name(role));
	return *result ? 0 : -ENOMEM;
}

/* The store and host of in-process requests, opened once: a batch's lines
 * share them and the model the first one loads. */
struct local {
	char *db_path, *backend_desc;
	char hostname[256];
	struct carve_ctx ctx;
	struct carve_host *host;
	bool open;
};

static int local_open(const struct carve_cli *cli, struct local *l, struct carve_error *err)
{
	if (l->open)
		return 0;
	if (!(l->db_path = cli->db ? strdup(cli->db) : default_db()))
		return carve_error_set(err, -EINVAL, "NO_DATABASE", "no database path: give --db or set CARVE_DB");
	if (cli->hostname)
		snprintf(l->hostname, sizeof(l->hostname), "%s", cli->hostname);
	else if (gethostname(l->hostname, sizeof(l->hostname) - 1) < 0)
		snprintf(l->hostname, sizeof(l->hostname), "localhost");
	int r = open_host(cli, &l->host, &l->backend_desc, err);
	if (r >= 0)
		r = carve_ctx_open_store(&l->ctx, l->db_path, err);
	if (r < 0)
		return r;
	l->ctx.host = l->host;
	l->ctx.hostname = l->hostname;
	l->ctx.backend_desc = l->backend_desc;
	l->ctx.migrate_command = getenv("CARVE_MIGRATE_COMMAND");
	l->open = true;
	return 0;
}

static void local_close(struct local *l)
{
	carve_ctx_close(&l->ctx);
	carve_host_free(l->host);
	free(l->db_path);
	free(l->backend_desc);
}

/* The request in-process: 1 with *result set, or a negative errno. */
static int run_local(struct carve_cli *cli, json_t **result, struct carve_error *err, void *data)
{
	struct local *l = data;
	if (strcmp(cli->verb, "token-create") == 0) {
		const char *path = cli->token_file ? cli->token_file : getenv("CARVE_TOKEN_FILE");
		int r = token_create_local(path && *path ? path : CARVE_DEFAULT_TOKEN_FILE, cli->args, result, err);
		return r < 0 ? r : 1;
	}
	int r = local_open(cli, l, err);
	if (r >= 0)
		r = carve_ops_call(&l->ctx, cli->verb, cli->args, result, err);
	return r < 0 ? r : 1;
}

int main(int argc, char **argv)
{
	struct carve_cli cli;
	int r = carve_cli_parse(&cli, argc, argv);
	if (r >= 0)
		return r;
	struct carve_error err = {0};
	struct local l = {0};
	if (cli.batch) { /* the client decided: in-process, one model for every line */
		r = carve_cli_batch(&cli, stdin, run_local, &l);
		local_close(&l);
		carve_cli_free(&cli);
		return r;
	}
	_cleanup_json_ json_t *result = NULL;
	if ((r = carve_cli_request(&cli, argc, argv, &err)) == 0 &&
	    (r = carve_cli_remote(&cli, &result, &err)) == 0)
		r = run_local(&cli, &result, &err, &l);
	if (r >= 0)
		r = carve_render_result(stdout, result, &cli.ro, &err);
	local_close(&l);
	carve_cli_free(&cli);
	return carve_cli_exit(r, &err);
}
