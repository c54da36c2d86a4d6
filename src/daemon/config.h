/* config.h - carved's configuration: /etc/carve/carved.conf (YAML) plus
 * command-line overrides.
 *
 *   store: /var/lib/carve/carve.db
 *   hostname: gpu-host-1                # default: gethostname()
 *   host:                               # one of sysfs-root / profile
 *     sysfs-root: /sys
 *     profile: /etc/carve/sim-host.yaml # simulated host (demo, tests)
 *     sim-state: /var/lib/carve/sim-state.json
 *   listen:
 *     unix: /run/carve/carved.sock
 *     unix-mode: "0660"
 *     unix-group: carve
 *     tcp: 127.0.0.1:8443               # optional
 *   tls: {cert: FILE, key: FILE}        # optional, TCP only
 *   tokens: /etc/carve/tokens
 *   limits: {body-bytes, json-depth, max-args, arg-bytes, header-bytes,
 *            connections, in-flight, write-queue, write-wait-ms,
 *            connection-timeout-s}
 *   reconcile: {refresh-interval-s: 60, interval-s: 300,
 *               uevents: true}           # rediscover on kernel uevents
 *   pool: {heartbeat-ms: 1000,          # this agent's heartbeat into the store
 *          host-timeout-s: 10,          # a host silent this long is not live
 *          wait-s: 20,                  # a hand-over to another host's agent (< limits.connection-timeout-s)
 *          migrate-command: PROGRAM}    # vm-migrate's libvirt step (docs/emit.md); absolute path
 *   drain-timeout-s: 30
 *   log-level: info                     # debug, info, notice, warning, err
 *
 * Every key is checked: an unknown key, a wrong type or an out-of-range value
 * fails with CONFIG_INVALID and a message naming the file and the dotted key
 * ("limits.body-bytes: ...").  A missing file is an error only when the path
 * was given explicitly.  Strings are owned by the struct
 * (carved_config_clear frees them).  Not thread-safe: load into a fresh
 * struct and hand the values over.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "api/request.h"
#include "util/error.h"

struct carved_config {
	char *store;
	char *hostname;
	char *sysfs_root, *host_profile, *sim_state;
	char *nvidia_vgpu_pfs; /* "PCI[=BOARD],..." (host.nvidia-vgpu-pfs), see CARVE_NVIDIA_VGPU_PFS */
	char *unix_path;
	mode_t unix_mode;
	char *unix_group;
	char *tcp;
	char *tls_cert, *tls_key;
	char *token_file;
	struct carve_api_limits limits;
	unsigned refresh_interval_s, reconcile_interval_s, drain_timeout_s;
	unsigned heartbeat_ms, host_timeout_s, pool_wait_s; /* pool.* (docs/pool.md) */
	char *migrate_command;                              /* pool.migrate-command */
	bool uevents; /* reconcile.uevents: listen to kernel uevents (sysfs host at /sys) */
	int log_level; /* syslog priority */
};

/* Command-line overrides; NULL = not given. */
struct carved_overrides {
	const char *config, *socket, *db, *host_profile, *sim_state, *sysfs_root, *hostname, *tcp, *token_file;
};

#define CARVED_DEFAULT_CONFIG "/etc/carve/carved.conf"

void carved_config_default(struct carved_config *c);
void carved_config_clear(struct carved_config *c);

/* Defaults, then the file (o->config or the default path), then overrides. */
int carved_config_load(const struct carved_overrides *o, struct carved_config *out, struct carve_error *err);

/* Parse YAML text onto c (keys, types, ranges); name is used in messages.
 * The checks across keys (one host backend, TLS needs TCP, some listener)
 * run in carved_config_load, after the command-line overrides. */
int carved_config_parse(const char *name, const char *text, size_t len, struct carved_config *c,
			struct carve_error *err);
