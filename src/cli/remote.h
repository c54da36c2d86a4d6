/* remote.h - which remote carved a command goes to, and with what (carve
 * --server, like xe -s): the server, the TLS checks and the token.
 *
 * The server: --server/-s, else $CARVE_SERVER.  A value with "://" is a URL
 * (https://HOST[:PORT], the scheme's port when none); a value that names a
 * section of the config file takes that section's settings; any other
 * value is a host name, https://NAME:8443 (carved.conf's example port).
 * The config file ($CARVE_CLIENT_CONFIG, else $XDG_CONFIG_HOME/carve/config,
 * else ~/.config/carve/config; absent is fine) names servers as ssh's
 * config names hosts:
 *
 *     [gpu-pool]
 *     server = https://gpu-a.example.com:8443
 *     cacert = /etc/carve/pool-ca.pem
 *     token-file = ~/.config/carve/gpu-pool.token
 *     # pin = sha256:<64 hex>        (a self-signed host instead of a CA)
 *     # insecure = yes               (no check at all; warned about)
 *
 * Options given on the command line win over the section's.
 *
 * The token, never from the command line (so it is not in ps or a shell's
 * history): --token-file FILE, else $CARVE_TOKEN, else $CARVE_TOKEN_FILE,
 * else the section's token-file.  A token file holds the token on its first
 * line (what token-create printed); one that others may read is warned
 * about.  r->token_source says where the token came from, for messages.
 *
 * Errors: 0 or 1 (resolved), a negative errno with err set
 * (CONFIG_INVALID naming the file and line, TOKEN_FILE_INVALID,
 * INVALID_SERVER).  Owns its strings: carve_remote_clear frees them.
 */
#pragma once

#include <stdbool.h>

#include "util/error.h"

#define CARVE_REMOTE_DEFAULT_PORT "8443"

struct carve_remote_args {
	const char *server, *cacert, *pin, *token_file;
	bool insecure;
};

struct carve_remote {
	char *server, *cacert, *pin, *token_source;
	char token[128];
	bool insecure;
};

/* 0 with r->server NULL when no remote server was asked for; 1 when r is
 * filled in. */
int carve_remote_resolve(const struct carve_remote_args *a, struct carve_remote *r, struct carve_error *err);
void carve_remote_clear(struct carve_remote *r);
