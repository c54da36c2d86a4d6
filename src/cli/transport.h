/* transport.h - how the CLI reaches carved: the same request (a verb and a
 * JSON object of arguments) sent as POST /v1/call/{verb} over carved's unix
 * socket, the same result JSON back, rendered by the same renderer - so the
 * output is identical with and without the daemon.
 *
 * Which way a command runs:
 *   --local, or an option that only makes sense in-process (--db,
 *   --sysfs-root, --host-profile, --sim-state, --no-discover, or their
 *   environment variables CARVE_DB, CARVE_SYSFS_ROOT, CARVE_HOST_PROFILE,
 *   CARVE_SIM_STATE) -> in-process: a caller that names a store or a host
 *   means that one, not carved's (and scripts and tests that set them are
 *   not redirected by a daemon that happens to run);
 *   else, if the socket exists (--socket PATH, $CARVE_SOCKET, default
 *   /run/carve/carved.sock) -> carved;  else in-process (for the lean
 *   client, carve, that means executing carve-engine: client.c).
 * A socket that exists but refuses connections is an error
 * (DAEMON_UNREACHABLE), not a silent fallback: two writers on one host
 * would bypass carved's write lock.
 *
 * token-create is not a verb of the model: through carved it creates the
 * token in carved's token file; in-process (engine.c) it appends to
 * --token-file ($CARVE_TOKEN_FILE, default /etc/carve/tokens).  $CARVE_TOKEN,
 * when set, is sent as a bearer token (the socket then applies that token's
 * role).
 *
 * Remote (o->server, carve --server/-s): the same request over TCP to any
 * carved's listener, with TLS (tls.h) for https://; the token goes in the
 * Authorization header and nowhere else.  A 401 or 403 names where the
 * token came from (token_source) with carved's reason (which for 403 names
 * the role needed and the token's).  Remote and in-process do not mix
 * (--local with a server is an error).
 *
 * Errors from carved ({"code","message"} with an HTTP status) come back as a
 * struct carve_error with the same id and message the in-process call would
 * have produced.  Single-threaded; allocates only the result.
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "tls.h"
#include "util/error.h"

#define CARVE_DEFAULT_SOCKET "/run/carve/carved.sock"
#define CARVE_DEFAULT_TOKEN_FILE "/etc/carve/tokens"

struct carve_transport_opts {
	const char *socket;      /* NULL = $CARVE_SOCKET or the default */
	bool local;              /* run in-process */
	/* A remote carved: "https://HOST[:PORT]" ("http://": no TLS, warned
	 * about by the caller), or NULL for this host's socket.  tls.host is ignored: the connection takes it
	 * from the server. */
	const char *server;
	struct carve_tls_opts tls;
	/* The bearer token, and where it came from (for messages: never the
	 * token itself); NULL: $CARVE_TOKEN if set. */
	const char *token, *token_source;
};

/* 1 when carved answered (*result set), 0 when the caller should run the
 * request in-process, negative errno with err set on failure. */
int carve_transport_call(const struct carve_transport_opts *o, const char *verb, json_t *args, json_t **result,
			 struct carve_error *err);

/* Many requests on one kept-alive connection (carve --batch): open decides
 * as carve_transport_call does - 1 when carved is the one (c is then
 * usable, connected on the first call), 0 for in-process, negative errno;
 * call_conn sends one request (reconnecting once when carved had closed
 * the connection) with carve_transport_call's results; close is safe twice. */
struct carve_transport_conn {
	int fd;
	char sock[108];
	/* remote: */
	const struct carve_transport_opts *o; /* borrowed: outlives the connection */
	bool https;
	char host[256], port[8];
	struct carve_tls_opts tls;
	struct carve_tls *t;
};
int carve_transport_open(const struct carve_transport_opts *o, struct carve_transport_conn *c,
			 struct carve_error *err);
int carve_transport_call_conn(struct carve_transport_conn *c, const char *verb, json_t *args, json_t **result,
			      struct carve_error *err);
void carve_transport_close(struct carve_transport_conn *c);
