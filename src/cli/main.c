/* carve - the command line: xe's verbs over carve's model.
 *
 *   carve [options] VERB [key=value ...]
 *
 * The CLI turns its arguments into the request every front end uses (a verb
 * and a JSON object of arguments), runs it in-process on the embedded store
 * (--local, the default until a daemon socket is found), and renders the
 * result like xe, or as JSON with --json.  Errors are printed once, here, as
 * one line "carve: ID: message", with exit status 1 (usage errors 2).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"
#include "ops/ops.h"
#include "render.h"
#include "transport.h"
#include "util/cleanup.h"
#include "util/str.h"

struct cli_opts {
	const char *db;
	const char *sysfs_root;
	const char *profile;
	const char *sim_state;
	const char *hostname;
	const char *socket, *token_file;
	bool json, minimal, local, model_only;
	bool in_process_opt; /* an option that only makes sense in-process (transport.h) */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: carve [options] VERB [key=value ...]\n"
		   "\n"
		   "options:\n"
		   "  --local              run in-process, not through carved (default when no daemon runs)\n"
		   "  --socket PATH        carved's socket (default $CARVE_SOCKET, /run/carve/carved.sock)\n"
		   "  --token-file FILE    where an in-process token-create stores the token's hash\n"
		   "  --db STORE           SQLite file or PostgreSQL URI/conninfo (default $CARVE_DB,\n"
		   "                       /var/lib/carve/carve.db as root, else ~/.local/share/carve/carve.db)\n"
		   "  --sysfs-root DIR     discover GPUs under DIR instead of /sys\n"
		   "  --host-profile FILE  use a simulated host built from a profile (examples/hosts/)\n"
		   "  --sim-state FILE     keep the simulated host's devices in FILE across runs\n"
		   "  --hostname NAME      this host's name in the model (default: gethostname)\n"
		   "  --no-discover        work on the model only, without looking at the host\n"
		   "  --json               print results as JSON\n"
		   "  --minimal            print only UUIDs, comma-separated\n"
		   "  -h, --help           this text; 'carve help' lists the verbs\n"
		   "\n"
		   "carve token-create role=read-only|vm-operator|pool-admin [label=L] prints a new API token once.\n");
}

static void list_verbs(FILE *f)
{
	size_t n;
	const struct carve_op *ops = carve_ops_table(&n);
	fprintf(f, "verbs:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-34s %s\n", ops[i].verb, ops[i].summary);
}

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

/* key=value arguments -> JSON object; a repeated key is an error. */
static int parse_kv(int argc, char **argv, json_t **out, struct carve_error *err)
{
	_cleanup_json_ json_t *o = json_object();
	if (!o)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i])
			return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT",
					       "expected key=value, got '%.64s'", argv[i]);
		_cleanup_free_ char *key = strndup(argv[i], (size_t)(eq - argv[i]));
		if (!key)
			return -ENOMEM;
		if (json_object_get(o, key))
			return carve_error_set(err, -EINVAL, "DUPLICATE_PARAMETER", "parameter given twice: %s", key);
		json_t *v = json_string(eq + 1);
		if (!v)
			return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "value of %s is not valid UTF-8", key);
		json_object_set_new(o, key, v);
	}
	*out = TAKE_PTR(o);
	return 0;
}

static int open_host(const struct cli_opts *o, struct carve_host **host, char **desc, struct carve_error *err)
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
	return carve_host_open_sysfs(root, host, err);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"sysfs-root", required_argument, NULL, 's'},
		{"host-profile", required_argument, NULL, 'p'},
		{"sim-state", required_argument, NULL, 'S'},
		{"hostname", required_argument, NULL, 'H'},
		{"json", no_argument, NULL, 'j'},
		{"minimal", no_argument, NULL, 'm'},
		{"local", no_argument, NULL, 'l'},
		{"no-discover", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"socket", required_argument, NULL, 'u'},
		{"token-file", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {.sysfs_root = getenv("CARVE_SYSFS_ROOT"),
			     .profile = getenv("CARVE_HOST_PROFILE"),
			     .sim_state = getenv("CARVE_SIM_STATE"),
			     .hostname = getenv("CARVE_HOSTNAME")};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.db = optarg; break;
		case 's': o.sysfs_root = optarg; o.profile = NULL; break;
		case 'p': o.profile = optarg; break;
		case 'S': o.sim_state = optarg; break;
		case 'H': o.hostname = optarg; break;
		case 'j': o.json = true; break;
		case 'm': o.minimal = true; break;
		case 'l': o.local = true; break;
		case 'n': o.model_only = true; break;
		case 'u': o.socket = optarg; break;
		case 'T': o.token_file = optarg; break;
		case 'h': usage(stdout); list_verbs(stdout); return 0;
		default: usage(stderr); return 2;
		}
		o.in_process_opt |= strchr("dspSn", c) != NULL;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[optind];
	if (strcmp(verb, "help") == 0) {
		usage(stdout);
		list_verbs(stdout);
		return 0;
	}

	struct carve_error err = {0};
	_cleanup_json_ json_t *args = NULL;
	_cleanup_json_ json_t *result = NULL;
	_cleanup_free_ char *db_path = o.db ? strdup(o.db) : default_db();
	_cleanup_free_ char *backend_desc = NULL;
	char hostname[256] = "";
	struct carve_ctx ctx = {0};
	struct carve_host *host = NULL;
	struct carve_render_opts ro = {.json = o.json, .minimal = o.minimal};
	_cleanup_free_ char *params = NULL;
	int r;

	if (o.hostname)
		snprintf(hostname, sizeof(hostname), "%s", o.hostname);
	else if (gethostname(hostname, sizeof(hostname) - 1) < 0)
		snprintf(hostname, sizeof(hostname), "localhost");

	if ((r = parse_kv(argc - optind - 1, argv + optind + 1, &args, &err)) < 0)
		goto out;
	/* params= and --minimal shape the output; the verb never sees params=. */
	json_t *p = json_object_get(args, "params");
	if (p) {
		params = strdup(json_string_value(p));
		ro.params = params;
		json_object_del(args, "params");
	}
	if (!carve_op_find(verb) && strcmp(verb, "token-create") != 0) {
		r = carve_error_set(&err, -EINVAL, "UNKNOWN_COMMAND", "unknown command: %.64s (try 'carve help')", verb);
		goto out;
	}
	/* carved runs the request when its socket is there (transport.h); naming
	 * a store or host, by option or environment, means in-process. */
	const char *env_db = getenv("CARVE_DB");
	struct carve_transport_opts to = {.socket = o.socket, .token_file = o.token_file,
					  .local = o.local || o.in_process_opt || o.sysfs_root || o.profile ||
						   o.sim_state || (env_db && *env_db)};
	if ((r = carve_transport_call(&to, verb, args, &result, &err)) != 0) {
		if (r > 0)
			r = carve_render_result(stdout, result, &ro, &err);
		goto out;
	}
	if (!db_path) {
		r = carve_error_set(&err, -EINVAL, "NO_DATABASE", "no database path: give --db or set CARVE_DB");
		goto out;
	}
	if ((r = open_host(&o, &host, &backend_desc, &err)) < 0)
		goto out;
	if ((r = carve_ctx_open_store(&ctx, db_path, &err)) < 0)
		goto out;
	ctx.host = host;
	ctx.hostname = hostname;
	ctx.backend_desc = backend_desc;
	if ((r = carve_ops_call(&ctx, verb, args, &result, &err)) < 0)
		goto out;
	r = carve_render_result(stdout, result, &ro, &err);
out:
	carve_db_close(ctx.db);
	carve_host_free(host);
	if (r < 0) {
		if (!carve_error_isset(&err))
			carve_error_set(&err, r, "INTERNAL_ERROR", "%s", strerror(-r));
		fprintf(stderr, "carve: %s: %s\n", err.id, err.message);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
