/* carved - the carve daemon: the HTTP JSON API over the ops of `carve`.
 *
 *   carved [--config FILE] [--socket PATH] [--db FILE] [--host-profile FILE]
 *          [--sim-state FILE] [--sysfs-root DIR] [--hostname NAME]
 *          [--tcp ADDR:PORT] [--token-file FILE] [--foreground] [--check-config]
 *
 * Start-up: configuration (config.h), the host backend, the store, one
 * discovery refresh, the stored host configuration (host-apply) and a
 * host-reconcile - all before any listener opens, so
 * no write is ever served against an unreconciled host - then the listeners,
 * then READY=1 to systemd.  carved never forks (Type=notify), so
 * --foreground is accepted for compatibility and changes nothing.
 *
 * The main thread owns the signals (blocked everywhere, taken with
 * sigtimedwait) and the timers:
 *   SIGTERM/SIGINT  stop accepting, answer every request already being served
 *                   (up to drain-timeout-s), exit 0;
 *   SIGHUP          re-read the configuration; per-request limits, write
 *                   queue bounds, timers and log level apply at once, a
 *                   changed store/host/listener/TLS setting is reported as
 *                   needing a restart; a bad file keeps the old settings;
 *   timers          discovery refresh every reconcile.refresh-interval-s and
 *                   host-reconcile every reconcile.interval-s, under the write
 *                   lock (service.h);
 *   uevents         with reconcile.uevents and the sysfs host at /sys, the
 *                   kernel's device events (host/uevent.h) name what to
 *                   rediscover (carve_service_rediscover), at most once per
 *                   UEVENT_DEBOUNCE_MS; the refresh timer still runs, as
 *                   attribute writes send no event.
 * It waits in poll() on a signalfd and the uevent socket.
 * Exit status: 0 after a clean stop, 1 when start-up fails (the message names
 * the cause, e.g. the configuration key), 2 for usage errors.
 */
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/agent.h"
#include "api/auth.h"
#include "api/log.h"
#include "api/server.h"
#include "api/service.h"
#include "config.h"
#include "host/uevent.h"
#include "notify.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/str.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: carved [options]\n"
		   "\n"
		   "  --config FILE        configuration (default " CARVED_DEFAULT_CONFIG ", optional)\n"
		   "  --socket PATH        unix socket (default /run/carve/carved.sock)\n"
		   "  --tcp ADDR:PORT      also listen on TCP (bearer tokens required; port 0 = any)\n"
		   "  --db STORE           SQLite file or PostgreSQL URI/conninfo (default /var/lib/carve/carve.db)\n"
		   "  --sysfs-root DIR     discover GPUs under DIR (default /sys)\n"
		   "  --host-profile FILE  simulated host from a profile (examples/hosts/)\n"
		   "  --sim-state FILE     keep the simulated host's devices in FILE\n"
		   "  --hostname NAME      this host's name in the model (default: gethostname)\n"
		   "  --token-file FILE    API tokens (default /etc/carve/tokens)\n"
		   "  --version            print carved's version\n"
		   "  --foreground         accepted for compatibility; carved never forks\n"
		   "  --check-config       load and check the configuration, then exit\n"
		   "  -h, --help           this text\n");
}

static int read_pem(const char *path, char **out, struct carve_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return carve_error_set(err, -errno, "CONFIG_INVALID", "tls: cannot read %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -ENOMEM;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (1 << 20))
		fwrite(chunk, 1, n, m);
	fclose(m);
	*out = buf;
	return 0;
}

static int open_host(const struct carved_config *c, struct carve_host **host, char **desc, struct carve_error *err)
{
	if (c->host_profile) {
		*desc = carve_strdupf("sim:%s", c->host_profile);
		return carve_host_open_sim(c->host_profile, c->sim_state, host, err);
	}
	const char *root = c->sysfs_root ? c->sysfs_root : "/sys";
	*desc = carve_strdupf("sysfs:%s", root);
	return carve_host_open_sysfs(root, c->nvidia_vgpu_pfs, host, err);
}

static void log_reconcile(json_t *res)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(res, "actions"), i, a)
		carve_log(LOG_NOTICE, "reconcile: %s vm=%s vgpu=%s %s", json_string_value(json_object_get(a, "action")),
			  json_string_value(json_object_get(a, "vm")), json_string_value(json_object_get(a, "vgpu")),
			  json_string_value(json_object_get(a, "detail")));
}

static bool str_changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* SIGHUP: apply what can change while running, name what cannot. */
static void reload(const struct carved_overrides *ov, struct carved_config *cur, struct carve_server *srv,
		   struct carve_service *svc)
{
	carved_notify("RELOADING=1");
	struct carved_config n;
	struct carve_error err = {0};
	if (carved_config_load(ov, &n, &err) < 0) {
		carve_log(LOG_ERR, "reload failed, keeping the running configuration: %s", err.message);
		carved_notify("READY=1");
		return;
	}
	static const char *const restart_only[] = {"store", "hostname", "host.sysfs-root", "host.profile",
						   "host.sim-state", "listen.unix", "listen.unix-group", "listen.tcp",
						   "tls.cert", "tls.key", "tokens"};
	const char *olds[] = {cur->store, cur->hostname, cur->sysfs_root, cur->host_profile, cur->sim_state,
			      cur->unix_path, cur->unix_group, cur->tcp, cur->tls_cert, cur->tls_key, cur->token_file};
	const char *news[] = {n.store, n.hostname, n.sysfs_root, n.host_profile, n.sim_state,
			      n.unix_path, n.unix_group, n.tcp, n.tls_cert, n.tls_key, n.token_file};
	for (size_t i = 0; i < ARRAY_SIZE(restart_only); i++)
		if (str_changed(olds[i], news[i]))
			carve_log(LOG_WARNING, "reload: %s changed; it takes effect on restart", restart_only[i]);
	if (n.limits.connections != cur->limits.connections || n.limits.header_bytes != cur->limits.header_bytes ||
	    n.limits.conn_timeout_s != cur->limits.conn_timeout_s || n.unix_mode != cur->unix_mode)
		carve_log(LOG_WARNING, "reload: connection limits and socket mode take effect on restart");
	carve_server_set_limits(srv, &n.limits);
	carve_service_set_write_limits(svc, n.limits.write_queue, n.limits.write_wait_ms);
	carve_log_set_level(n.log_level);
	cur->limits = n.limits;
	cur->refresh_interval_s = n.refresh_interval_s;
	cur->reconcile_interval_s = n.reconcile_interval_s;
	cur->drain_timeout_s = n.drain_timeout_s;
	cur->uevents = n.uevents;
	cur->log_level = n.log_level;
	carved_config_clear(&n);
	carve_log(LOG_INFO, "configuration reloaded");
	carved_notify("READY=1");
}

static time_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}


/* ---- kernel uevents ---- */

/* Events arriving within this long of a rediscovery wait and are folded
 * into the next one, so a burst costs one rediscovery per interval. */
#define UEVENT_DEBOUNCE_MS 100

/* Open or close the listener to match the configuration (start-up, SIGHUP).
 * uevents describe the running kernel's /sys, so a fixture tree or a
 * simulated host gets none.  A socket that cannot be opened (a container
 * without netlink, a sandbox) is one warning; the timer still notices. */
static void uevents_update(const struct carved_config *c, struct carve_uevent_listener **uev)
{
	char real[PATH_MAX];
	bool on_sys = !c->host_profile && realpath(c->sysfs_root ? c->sysfs_root : "/sys", real) &&
		      strcmp(real, "/sys") == 0;
	bool want = c->uevents && on_sys;
	if (want == (*uev != NULL))
		return;
	if (!want) {
		carve_uevent_close(*uev);
		*uev = NULL;
		carve_log(LOG_INFO, "kernel uevents: not listening (reconcile.uevents is false)");
		return;
	}
	struct carve_error e = {0};
	if (carve_uevent_open(uev, &e) < 0)
		carve_log(LOG_WARNING, "%s; host changes are noticed by the refresh timer only", e.message);
	else
		carve_log(LOG_INFO, "kernel uevents: listening");
}

/* Hand what the events named to the service, as one rediscovery. */
static void uevents_rediscover(struct carve_service *svc, struct carve_uevent_listener *uev, long long *last_full_log)
{
	static struct carve_uevent_batch b; /* main thread only; 3 KiB off the stack */
	if (!carve_uevent_take(uev, &b))
		return;
	const char *pci[CARVE_UEVENT_DIRTY_MAX];
	char list[128] = "";
	for (size_t i = 0; i < b.n; i++) {
		pci[i] = b.pci[i];
		if (i < 8)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " " : "", b.pci[i]);
	}
	if (b.full && carve_mono_ms() - *last_full_log >= 60000) {
		/* Once a minute at most: a storm would repeat it every interval. */
		carve_log(LOG_NOTICE, "kernel uevents: too many to follow one by one (or dropped by the kernel); "
				      "rediscovering the whole host");
		*last_full_log = carve_mono_ms();
	}
	struct carve_error e = {0};
	long long t0 = carve_mono_ms();
	if (carve_service_rediscover(svc, pci, b.n, b.full, &e) < 0)
		carve_log(LOG_WARNING, "rediscovery after uevents failed: %s: %s", e.id, e.message);
	else
		carve_log(LOG_DEBUG, "kernel uevents: rediscovered %s%s in %lld ms", b.full ? "the whole host" : list,
			  b.n > 8 ? " ..." : "", carve_mono_ms() - t0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},   {"socket", required_argument, NULL, 'u'},
		{"db", required_argument, NULL, 'd'},       {"host-profile", required_argument, NULL, 'p'},
		{"sim-state", required_argument, NULL, 'S'}, {"sysfs-root", required_argument, NULL, 's'},
		{"hostname", required_argument, NULL, 'H'}, {"tcp", required_argument, NULL, 't'},
		{"token-file", required_argument, NULL, 'T'}, {"foreground", no_argument, NULL, 'f'},
		{"check-config", no_argument, NULL, 'C'},   {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct carved_overrides ov = {0};
	bool check_only = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': ov.config = optarg; break;
		case 'u': ov.socket = optarg; break;
		case 'd': ov.db = optarg; break;
		case 'p': ov.host_profile = optarg; break;
		case 'S': ov.sim_state = optarg; break;
		case 's': ov.sysfs_root = optarg; break;
		case 'H': ov.hostname = optarg; break;
		case 't': ov.tcp = optarg; break;
		case 'T': ov.token_file = optarg; break;
		case 'f': break;
		case 'C': check_only = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("carved %s\n", CARVE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	struct carve_error err = {0};
	struct carved_config cfg;
	if (carved_config_load(&ov, &cfg, &err) < 0) {
		carve_log(LOG_ERR, "%s: %s", err.id, err.message);
		return 1;
	}
	carve_log_set_level(cfg.log_level);
	if (check_only) {
		printf("carved: configuration ok\n");
		carved_config_clear(&cfg);
		return 0;
	}

	/* Signals belong to the main thread; every thread created later inherits
	 * the mask.  A client closing early must not kill the process. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	json_object_seed(0);
	/* carved gives memory back itself, after start-up and each refresh
	 * (malloc_trim below).  glibc's own trimming after a free returned a
	 * request's pages to the kernel only for the next request to fault them
	 * back in: on a small host that was a third of a vm-start's time. */
	mallopt(M_TRIM_THRESHOLD, 1 << 20);

	char hostname[256] = "";
	if (cfg.hostname)
		snprintf(hostname, sizeof(hostname), "%s", cfg.hostname);
	else if (gethostname(hostname, sizeof(hostname) - 1) < 0)
		snprintf(hostname, sizeof(hostname), "localhost");

	struct carve_service *svc = NULL;
	struct carve_server *srv = NULL;
	struct carve_auth *auth = NULL;
	struct carve_host *host = NULL;
	struct carve_uevent_listener *uev = NULL;
	struct carve_agent *agent = NULL;
	_cleanup_close_ int sigfd = -1;
	_cleanup_free_ char *desc = NULL, *cert = NULL, *key = NULL;
	int r = 0, rc = 1;

	gid_t gid = (gid_t)-1;
	if (cfg.unix_group) {
		struct group *g = getgrnam(cfg.unix_group);
		if (!g) {
			carve_error_set(&err, -EINVAL, "CONFIG_INVALID", "listen.unix-group: no such group '%s'", cfg.unix_group);
			goto fail;
		}
		gid = g->gr_gid;
	}
	if (cfg.tls_cert && ((r = read_pem(cfg.tls_cert, &cert, &err)) < 0 || (r = read_pem(cfg.tls_key, &key, &err)) < 0))
		goto fail;
	if ((r = carve_auth_new(cfg.token_file, &auth, &err)) < 0)
		goto fail;
	if ((r = open_host(&cfg, &host, &desc, &err)) < 0)
		goto fail;
	/* The parent of the store is created like the CLI does for its default. */
	if (strcmp(cfg.store, "/var/lib/carve/carve.db") == 0)
		mkdir("/var/lib/carve", 0700);
	struct carve_service_config sc = {
		.db_path = cfg.store, .hostname = hostname, .backend_desc = desc, .host = TAKE_PTR(host),
		.max_connections = cfg.limits.in_flight + 8,
	};
	if ((r = carve_service_new(&sc, &svc, &err)) < 0)
		goto fail;
	carve_service_set_write_limits(svc, cfg.limits.write_queue, cfg.limits.write_wait_ms);

	if ((sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		r = carve_error_set(&err, -errno, "INTERNAL_ERROR", "signalfd: %s", strerror(errno));
		goto fail;
	}
	/* Listen before the start-up refresh: what changes during it and the
	 * reconcile is queued and rediscovered by the first turn of the loop. */
	uevents_update(&cfg, &uev);

	/* Reconcile before the first write can arrive: listeners open after. */
	if ((r = carve_service_refresh(svc, &err)) < 0)
		goto fail;
	/* The host configuration first (a reboot lost VFs and modes), so that
	 * reconcile finds them when it recreates the running VMs' vGPUs.  A
	 * configuration that no longer applies is logged, not fatal: the host
	 * still serves what it has. */
	json_t *res = NULL;
	struct carve_error cerr = {0};
	if (carve_service_apply_config(svc, &res, &cerr) < 0)
		carve_log(LOG_ERR, "start-up host configuration not applied: %s: %s", cerr.id, cerr.message);
	else if (res)
		carve_log(LOG_INFO, "start-up host configuration: %zu step(s) applied",
			  json_array_size(json_object_get(res, "plan")));
	json_decref(res);
	res = NULL;
	if ((r = carve_service_reconcile(svc, &res, &err)) < 0)
		goto fail;
	carve_log(LOG_INFO, "start-up reconcile: %zu action(s)", json_array_size(json_object_get(res, "actions")));
	/* Loading, the first discovery and its sync built and dropped far more
	 * than the model keeps: give it back (RSS, docs/performance.md). */
	malloc_trim(0);
	log_reconcile(res);
	json_decref(res);
	/* A pool's agent: heartbeats, hears other agents, takes up hand-overs. */
	struct carve_agent_config ac = {.heartbeat_ms = cfg.heartbeat_ms, .host_timeout_ms = cfg.host_timeout_s * 1000,
					.wait_ms = cfg.pool_wait_s * 1000};
	if ((r = carve_agent_start(svc, &ac, &agent, &err)) < 0)
		goto fail;
	if (carve_service_set_migrate_command(svc, cfg.migrate_command) < 0) {
		r = carve_error_set(&err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
		goto fail;
	}

	struct carve_server_config scfg = {
		.svc = svc, .auth = auth, .limits = cfg.limits, .unix_path = cfg.unix_path, .unix_mode = cfg.unix_mode,
		.unix_gid = gid, .tcp = cfg.tcp, .tls_cert_pem = cert, .tls_key_pem = key,
	};
	if ((r = carve_server_start(&scfg, &srv, &err)) < 0)
		goto fail;
	carve_log(LOG_INFO, "serving %s on%s%s%s%s%s (store %s, host %s)", hostname, cfg.unix_path ? " unix:" : "",
		  cfg.unix_path ? cfg.unix_path : "", cfg.tcp ? (cert ? " https://" : " http://") : "",
		  cfg.tcp ? carve_server_tcp_address(srv) : "", "", cfg.store, desc);
	carved_notify("READY=1\nSTATUS=serving");

	time_t next_refresh = mono() + (time_t)cfg.refresh_interval_s;
	time_t next_reconcile = mono() + (time_t)cfg.reconcile_interval_s;
	long long last_rediscover = carve_mono_ms() - UEVENT_DEBOUNCE_MS, last_full_log = LLONG_MIN / 2;
	for (;;) {
		time_t now = mono(), wake = now + 3600;
		if (cfg.refresh_interval_s && next_refresh < wake)
			wake = next_refresh;
		if (cfg.reconcile_interval_s && next_reconcile < wake)
			wake = next_reconcile;
		long long timeout = (long long)(wake > now ? wake - now : 0) * 1000;
		if (uev && carve_uevent_pending(uev)) {
			long long due = last_rediscover + UEVENT_DEBOUNCE_MS - carve_mono_ms();
			if (due < timeout)
				timeout = due > 0 ? due : 0;
		}
		long long deferred = carve_service_deferred_ms(svc);
		if (deferred >= 0 && deferred < timeout)
			timeout = deferred;
		struct pollfd pfd[3] = {{.fd = sigfd, .events = POLLIN},
					{.fd = uev ? carve_uevent_fd(uev) : -1, .events = POLLIN},
					{.fd = carve_service_wake_fd(svc), .events = POLLIN}};
		int sig = 0;
		struct signalfd_siginfo si;
		if (poll(pfd, 3, (int)timeout) > 0 && (pfd[0].revents & POLLIN) &&
		    read(sigfd, &si, sizeof(si)) == sizeof(si))
			sig = (int)si.ssi_signo;
		if (pfd[2].revents & POLLIN)
			carve_service_wake_ack(svc); /* an act made a GPU quiet: the timeout is recomputed below */
		if (sig == SIGTERM || sig == SIGINT) {
			carve_log(LOG_INFO, "%s: draining %u request(s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
				  carve_server_in_flight(srv));
			carved_notify("STOPPING=1");
			carve_server_quiesce(srv);
			unsigned left = carve_server_drain(srv, cfg.drain_timeout_s * 1000);
			if (left)
				carve_log(LOG_WARNING, "drain timeout: %u request(s) still running", left);
			break;
		}
		if (sig == SIGHUP) {
			reload(&ov, &cfg, srv, svc);
			uevents_update(&cfg, &uev);
			continue;
		}
		if (uev && (pfd[1].revents & (POLLIN | POLLERR))) {
			struct carve_error e = {0};
			if (carve_uevent_read(uev, &e) < 0) {
				carve_log(LOG_WARNING, "%s; host changes are noticed by the refresh timer only",
					  e.message);
				carve_uevent_close(TAKE_PTR(uev));
			}
		}
		if (uev && carve_uevent_pending(uev) && carve_mono_ms() - last_rediscover >= UEVENT_DEBOUNCE_MS) {
			uevents_rediscover(svc, uev, &last_full_log);
			last_rediscover = carve_mono_ms();
		}
		if (carve_service_deferred_ms(svc) == 0) {
			struct carve_error e = {0};
			if (carve_service_flush_deferred(svc, &e) < 0)
				carve_log(LOG_WARNING, "rediscovery after carve's own acts failed: %s: %s", e.id, e.message);
		}
		now = mono();
		if (cfg.refresh_interval_s && now >= next_refresh) {
			struct carve_error e = {0};
			if (carve_service_refresh(svc, &e) < 0)
				carve_log(LOG_WARNING, "refresh failed: %s: %s", e.id, e.message);
			malloc_trim(0);
			next_refresh = now + (time_t)cfg.refresh_interval_s;
		}
		if (cfg.reconcile_interval_s && now >= next_reconcile) {
			struct carve_error e = {0};
			json_t *rr = NULL;
			if (carve_service_reconcile(svc, &rr, &e) < 0)
				carve_log(LOG_WARNING, "reconcile failed: %s: %s", e.id, e.message);
			log_reconcile(rr);
			json_decref(rr);
			next_reconcile = now + (time_t)cfg.reconcile_interval_s;
		}
	}
	rc = 0;
	goto out;
fail:
	carve_log(LOG_ERR, "%s: %s", err.id[0] ? err.id : "INTERNAL_ERROR",
		  err.message[0] ? err.message : strerror(-r));
out:
	carve_server_free(srv);
	carve_uevent_close(uev);
	carve_agent_stop(agent);
	carve_service_free(svc);
	carve_host_free(host);
	carve_auth_free(auth);
	carved_config_clear(&cfg);
	if (rc == 0)
		carve_log(LOG_INFO, "stopped");
	return rc;
}
