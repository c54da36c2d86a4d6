/* server.h - carved's HTTP/1.1 front end (libmicrohttpd).
 *
 * Listeners: a unix socket (created here: stale sockets are replaced, a live
 * one is an error; mode and group applied before listen) and optionally TCP,
 * optionally with TLS (GnuTLS inside libmicrohttpd; PEM cert and key in
 * memory).  Each listener is one MHD daemon in thread-per-connection mode, so
 * reads run in parallel and a writer blocked on the write lock holds only its
 * own connection.
 *
 * Access: the unix socket trusts its file permissions (callers are
 * pool-admin) unless the request carries a bearer token, which then decides.
 * On TCP every request but GET /v1/health needs a valid token: none or an
 * unknown one -> 401, a role below the route's -> 403; both before anything
 * runs.
 *
 * Overload: at most limits.in_flight requests are served at once; beyond that
 * (and beyond the write queue, see service.h) the answer is 503 with
 * Retry-After at once.  libmicrohttpd itself bounds connections and header
 * memory (a request line + headers beyond header_bytes get 431/413 from MHD).
 *
 * Shutdown: carve_server_quiesce() stops accepting (listen sockets closed,
 * the unix path removed) and answers new requests on open connections with
 * 503 + "Connection: close"; carve_server_drain() waits until every request
 * already being served has been answered; carve_server_free() stops.
 *
 * Thread-safety: all functions may be called from any thread; the request
 * handlers run on libmicrohttpd's threads.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "auth.h"
#include "request.h"
#include "service.h"
#include "util/error.h"

struct carve_server;

struct carve_server_config {
	struct carve_service *svc;      /* borrowed; outlives the server */
	struct carve_auth *auth;        /* borrowed; NULL = no tokens (TCP refuses everything) */
	struct carve_api_limits limits;
	const char *unix_path;          /* NULL = no unix listener */
	mode_t unix_mode;               /* e.g. 0660 */
	gid_t unix_gid;                 /* (gid_t)-1 = leave the group alone */
	const char *tcp;                /* "ADDR:PORT", "[ADDR6]:PORT"; NULL = none; port 0 = any */
	const char *tls_cert_pem;       /* PEM contents; both or neither */
	const char *tls_key_pem;
};

int carve_server_start(const struct carve_server_config *cfg, struct carve_server **out, struct carve_error *err);
void carve_server_free(struct carve_server *s);

/* The TCP address actually bound ("127.0.0.1:41234"), "" when none. */
const char *carve_server_tcp_address(const struct carve_server *s);

/* New per-request limits (SIGHUP); connection-level ones need a restart. */
void carve_server_set_limits(struct carve_server *s, const struct carve_api_limits *l);

void carve_server_quiesce(struct carve_server *s);
/* Wait up to timeout_ms for in-flight requests; returns how many remain. */
unsigned carve_server_drain(struct carve_server *s, unsigned timeout_ms);
unsigned carve_server_in_flight(const struct carve_server *s);
