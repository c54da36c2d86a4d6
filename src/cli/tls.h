/* tls.h - TLS for the lean client's remote calls (carve --server https://...).
 *
 * GnuTLS is loaded with dlopen() on the first connect, not linked: carve
 * links libc and jansson only, and a command that talks to the local socket
 * or runs in-process never loads a TLS library (tests/cli/lean-client.sh).
 * The types and constants come from GnuTLS's header at build time; the
 * functions from libgnutls.so.30 at run time.
 *
 * Verification, in this order of precedence:
 *   insecure   nothing is checked (the caller warns);
 *   pin        the server's certificate is the one whose SHA-256 (of its
 *              DER encoding) is pinned - a self-signed host's, with no CA;
 *              neither its name nor its dates are checked, as with an ssh
 *              host key;
 *   otherwise  the chain up to a trusted CA (cacert's, else the system
 *              store), the dates, and the host name or IP address against
 *              the certificate's subjectAltName (and SNI for names).
 * A refused certificate fails the connect with TLS_CERTIFICATE_REFUSED and
 * GnuTLS's words for why (expired, signer not found, wrong name, ...).
 *
 * Errors: 0 or a negative errno with err set (TLS_UNAVAILABLE when the
 * library cannot be loaded, TLS_HANDSHAKE_FAILED, TLS_CERTIFICATE_REFUSED).
 * A session is used by one thread; carve_tls_close takes NULL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct carve_tls_opts {
	const char *host;   /* as in the URL: a DNS name or an IP address */
	const char *cacert; /* PEM file of the CAs to trust; NULL: the system store */
	const char *pin;    /* "sha256:" and 64 hex digits (colons allowed); NULL: none */
	bool insecure;
};

struct carve_tls;

/* Handshake on the connected socket fd (not owned) within timeout_ms. */
int carve_tls_connect(int fd, const struct carve_tls_opts *o, int timeout_ms, struct carve_tls **out,
		      struct carve_error *err);
/* Like send(2)/recv(2): bytes moved, 0 at the peer's close (recv), or a
 * negative errno.  recv blocks; call pending() before polling the socket:
 * what TLS has decrypted already is not readable on it. */
ssize_t carve_tls_send(struct carve_tls *t, const void *p, size_t n);
ssize_t carve_tls_recv(struct carve_tls *t, void *p, size_t n);
bool carve_tls_pending(struct carve_tls *t);
void carve_tls_close(struct carve_tls *t);
