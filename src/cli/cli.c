#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
#include "host/hostcfg.h"
#include "host/vgpudm.h"
#include "ops/verbinfo.h"
#include "transport.h"
#include "util/cleanup.h"
#include "util/file.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: carve [options] VERB [key=value ...]\n"
		   "\n"
		   "options:\n"
		   "  --local              run in-process, not through carved (default when no daemon runs)\n"
		   "  --socket PATH        carved's socket (default $CARVE_SOCKET, /run/carve/carved.sock)\n"
		   "  -s, --server SERVER  a remote carved: https://HOST[:PORT], a host (port 8443), or a\n"
		   "                       server named in ~/.config/carve/config (default $CARVE_SERVER)\n"
		   "  --token-file FILE    with a server: the file holding the token to send (else\n"
		   "                       $CARVE_TOKEN, $CARVE_TOKEN_FILE, the config's); in-process:\n"
		   "                       where token-create stores the token's hash\n"
		   "  --cacert FILE        with a server: trust the CAs in FILE (default: the system's)\n"
		   "  --pin sha256:HEX     with a server: trust only the certificate of that SHA-256\n"
		   "  --insecure           with a server: check no certificate (warned about)\n"
		   "  --batch              run one request per line of stdin (VERB key=value ...), one\n"
		   "                       connection to carved (or one in-process model) for all\n"
		   "  --db STORE           SQLite file or PostgreSQL URI/conninfo (default $CARVE_DB,\n"
		   "                       /var/lib/carve/carve.db as root, else ~/.local/share/carve/carve.db)\n"
		   "  --sysfs-root DIR     discover GPUs under DIR instead of /sys\n"
		   "  --host-profile FILE  use a simulated host built from a profile (examples/hosts/)\n"
		   "  --sim-state FILE     keep the simulated host's devices in FILE across runs\n"
		   "  --hostname NAME      this host's name in the model (default: gethostname)\n"
		   "  --no-discover        work on the model only, without looking at the host\n"
		   "  --json               print results as JSON\n"
		   "  --minimal            print only UUIDs, comma-separated\n"
		   "  -h, --help           this text; 'carve help' lists the verbs, 'carve help VERB' its keys\n"
		   "  --version            print carve's version\n"
		   "\n"
		   "carve token-create role=read-only|vm-operator|pool-admin [label=L] prints a new API token once.\n");
}

static void list_verbs(FILE *f)
{
	size_t n;
	const struct carve_verb_info *verbs = carve_verb_info_table(&n);
	fprintf(f, "verbs:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-34s %s\n", verbs[i].verb, verbs[i].summary);
}

int carve_cli_parse(struct carve_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"sysfs-root", required_argument, NULL, 'y'},
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
		{"batch", no_argument, NULL, 'B'},
		{"server", required_argument, NULL, 'R'},
		{"cacert", required_argument, NULL, 'C'},
		{"pin", required_argument, NULL, 'P'},
		{"insecure", no_argument, NULL, 'I'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	*cli = (struct carve_cli){.sysfs_root = getenv("CARVE_SYSFS_ROOT"),
				  .profile = getenv("CARVE_HOST_PROFILE"),
				  .sim_state = getenv("CARVE_SIM_STATE"),
				  .hostname = getenv("CARVE_HOSTNAME")};
	int c;
	while ((c = getopt_long(argc, argv, "hs:", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': cli->db = optarg; break;
		case 'y': cli->sysfs_root = optarg; cli->profile = NULL; break;
		case 'p': cli->profile = optarg; break;
		case 'S': cli->sim_state = optarg; break;
		case 'H': cli->hostname = optarg; break;
		case 'j': cli->json = true; break;
		case 'm': cli->minimal = true; break;
		case 'l': cli->local = true; break;
		case 'n': cli->model_only = true; break;
		case 'u': cli->socket = optarg; break;
		case 'T': cli->token_file = optarg; break;
		case 'B': cli->batch = true; break;
		case 's': /* -s is --server, as xe's */
		case 'R': cli->server = optarg; break;
		case 'C': cli->cacert = optarg; break;
		case 'P': cli->pin = optarg; break;
		case 'I': cli->insecure = true; break;
		case 'h': usage(stdout); list_verbs(stdout); return 0;
		case 'V': printf("carve %s\n", CARVE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
		cli->in_process_opt |= strchr("dypSn", c) != NULL;
	}
	if (cli->batch) { /* the verbs come from stdin */
		if (optind < argc) {
			usage(stderr);
			return 2;
		}
		cli->ro = (struct carve_render_opts){.json = cli->json, .minimal = cli->minimal};
		return -1;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cli->verb_index = optind;
	cli->verb = argv[optind];
	if (strcmp(cli->verb, "help") == 0) {
		if (optind + 1 < argc)
			return carve_help_verb(stdout, argv[optind + 1]);
		usage(stdout);
		list_verbs(stdout);
		return 0;
	}
	if (strcmp(cli->verb, "__complete") == 0) /* for shells: complete.h */
		return carve_complete(stdout, argc - optind - 1, argv + optind + 1);
	cli->ro = (struct carve_render_opts){.json = cli->json, .minimal = cli->minimal};
	return -1;
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

/* host-apply config=FILE: the file's text is what goes to the verb (and
 * over the API to carved), read here, where the file is, within the
 * format's limit. */
static int read_config_arg(json_t *args, struct carve_error *err)
{
	const char *path = json_string_value(json_object_get(args, "config"));
	if (!path)
		return 0;
	/* vgpu-device-manager's files are larger (NVIDIA's example: 68 KB). */
	const char *format = json_string_value(json_object_get(args, "format"));
	size_t max = format && strcmp(format, "vgpu-device-manager") == 0 ? CARVE_VGPUDM_MAX_BYTES : CARVE_HOSTCFG_MAX_BYTES;
	_cleanup_free_ char *buf = NULL;
	size_t n;
	int r = carve_file_read(path, max, false, "CONFIG_UNREADABLE", &buf, &n, err);
	if (r < 0)
		return r;
	if (strlen(buf) != n)
		return carve_error_set(err, -EINVAL, "CONFIG_UNREADABLE", "%s contains a NUL byte", path);
	json_t *v = json_string(buf);
	if (!v)
		return carve_error_set(err, -EINVAL, "CONFIG_UNREADABLE", "%s is not valid UTF-8", path);
	return json_object_set_new(args, "config", v) < 0 ? -ENOMEM : 0;
}

/* The request of verb with key=value words kv[0..n). */
static int request_of(struct carve_cli *cli, int n, char **kv, struct carve_error *err)
{
	int r = parse_kv(n, kv, &cli->args, err);
	if (r >= 0 && strcmp(cli->verb, "host-apply") == 0)
		r = read_config_arg(cli->args, err);
	if (r < 0)
		return r;
	/* params= and --minimal shape the output; the verb is asked for just
	 * the fields that will show, so that it computes no others. */
	json_t *p = json_object_get(cli->args, "params");
	if (p) {
		cli->params = strdup(json_string_value(p));
		cli->ro.params = cli->params;
		json_object_del(cli->args, "params");
	}
	_cleanup_free_ char *wanted = carve_render_wanted(cli->verb, &cli->ro);
	if (wanted && json_object_set_new(cli->args, "params", json_string(wanted)) < 0)
		return -ENOMEM;
	if (!carve_verb_exists(cli->verb) && strcmp(cli->verb, "token-create") != 0)
		return carve_error_set(err, -EINVAL, "UNKNOWN_COMMAND", "unknown command: %.64s (try 'carve help')",
				       cli->verb);
	return 0;
}

int carve_cli_request(struct carve_cli *cli, int argc, char **argv, struct carve_error *err)
{
	return request_of(cli, argc - cli->verb_index - 1, argv + cli->verb_index + 1, err);
}

#define BATCH_MAX_WORDS 64
#define BATCH_MAX_LINE (64 * 1024)

/* Split line (modified in place) into words; -1 on an unclosed quote or
 * too many words. */
static int split_words(char *line, char **w)
{
	int n = 0;
	char *p = line, *o;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		if (n == BATCH_MAX_WORDS)
			return -1;
		w[n++] = o = p;
		bool quoted = false;
		for (; *p && (quoted || (*p != ' ' && *p != '\t')); p++) {
			if (*p == '"')
				quoted = !quoted;
			else
				*o++ = *p;
		}
		if (quoted)
			return -1;
		char *next = *p ? p + 1 : p;
		*o = '\0';
		p = next;
	}
}

int carve_cli_batch(struct carve_cli *cli, FILE *in, carve_cli_run_fn run, void *data)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0, failed = 0;
	const struct carve_render_opts ro = cli->ro;
	while ((len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *w[BATCH_MAX_WORDS];
		struct carve_error err = {0};
		int n = len > BATCH_MAX_LINE ? -1 : split_words(line, w);
		if (n == 0 || (n > 0 && w[0][0] == '#'))
			continue;
		_cleanup_json_ json_t *result = NULL;
		int r;
		cli->ro = ro;
		if (n < 0) {
			r = carve_error_set(&err, -EINVAL, "INVALID_ARGUMENT",
					    "cannot split the line into words (an unclosed \" or over %d words or %d bytes)",
					    BATCH_MAX_WORDS, BATCH_MAX_LINE);
		} else {
			cli->verb = w[0];
			r = request_of(cli, n - 1, w + 1, &err);
			if (r >= 0 && (r = run(cli, &result, &err, data)) > 0)
				r = carve_render_result(stdout, result, &cli->ro, &err);
		}
		json_decref(cli->args);
		cli->args = NULL;
		free(cli->params);
		cli->params = NULL;
		if (r < 0) {
			failed++;
			if (!carve_error_isset(&err))
				carve_error_set(&err, r, "INTERNAL_ERROR", "%s", strerror(-r));
			fprintf(stderr, "carve: line %u: %s: %s\n", lineno, err.id, err.message);
		}
		fflush(stdout);
	}
	free(line);
	cli->verb = NULL;
	return failed || fflush(stdout) != 0 ? 1 : 0;
}

/* Where the request goes, into cli->to: a remote carved (remote.h), or -
 * naming a store or host, by option or environment, means in-process -
 * this host's. */
static int route(struct carve_cli *cli, struct carve_error *err)
{
	const char *env_db = getenv("CARVE_DB");
	bool in_process = cli->local || cli->in_process_opt || cli->sysfs_root || cli->profile || cli->sim_state;
	struct carve_remote_args a = {.server = cli->server, .cacert = cli->cacert, .pin = cli->pin,
				      .token_file = cli->token_file, .insecure = cli->insecure};
	carve_remote_clear(&cli->remote);
	int r = carve_remote_resolve(&a, &cli->remote, err);
	if (r < 0)
		return r;
	cli->to = (struct carve_transport_opts){.socket = cli->socket, .local = in_process || (env_db && *env_db)};
	if (!cli->remote.server) {
		if (cli->cacert || cli->pin || cli->insecure)
			return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT",
					       "--cacert, --pin and --insecure go with a server (--server)");
		return 0;
	}
	/* Remote: CARVE_DB in the environment is this host's business. */
	cli->to.local = in_process;
	cli->to.server = cli->remote.server;
	cli->to.tls = (struct carve_tls_opts){.cacert = cli->remote.cacert, .pin = cli->remote.pin,
					      .insecure = cli->remote.insecure};
	cli->to.token = cli->remote.token[0] ? cli->remote.token : NULL;
	cli->to.token_source = cli->remote.token_source;
	if (cli->remote.insecure)
		fprintf(stderr, "carve: warning: --insecure: carved's certificate is not checked; whoever is in the way "
				"can read the token and the answers\n");
	else if (strncmp(cli->remote.server, "http://", 7) == 0)
		fprintf(stderr, "carve: warning: %s: no TLS; the token and the answers cross the network in clear\n",
			cli->remote.server);
	return 0;
}

int carve_cli_remote(struct carve_cli *cli, json_t **result, struct carve_error *err)
{
	int r = route(cli, err);
	return r < 0 ? r : carve_transport_call(&cli->to, cli->verb, cli->args, result, err);
}

int carve_cli_open_remote(struct carve_cli *cli, struct carve_transport_conn *conn, struct carve_error *err)
{
	int r = route(cli, err);
	return r < 0 ? r : carve_transport_open(&cli->to, conn, err);
}

int carve_cli_exit(int r, struct carve_error *err)
{
	if (r < 0) {
		if (!carve_error_isset(err))
			carve_error_set(err, r, "INTERNAL_ERROR", "%s", strerror(-r));
		fprintf(stderr, "carve: %s: %s\n", err->id, err->message);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

void carve_cli_free(struct carve_cli *cli)
{
	carve_remote_clear(&cli->remote);
	json_decref(cli->args);
	free(cli->params);
	cli->args = NULL;
	cli->params = NULL;
}
