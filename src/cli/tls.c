/* tls.c - the lean client's TLS: GnuTLS loaded on first use (tls.h). */
#include "tls.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "util/cleanup.h"

#define GNUTLS_SONAME "libgnutls.so.30"

/* The functions carve calls, typed from the header. */
#define GNUTLS_FUNCS(X)                                                                                            \
	X(gnutls_certificate_allocate_credentials)                                                                 \
	X(gnutls_certificate_set_x509_system_trust)                                                                \
	X(gnutls_certificate_set_x509_trust_file)                                                                  \
	X(gnutls_certificate_free_credentials)                                                                     \
	X(gnutls_init)                                                                                             \
	X(gnutls_set_default_priority)                                                                             \
	X(gnutls_credentials_set)                                                                                  \
	X(gnutls_server_name_set)                                                                                  \
	X(gnutls_session_set_verify_cert)                                                                          \
	X(gnutls_session_get_verify_cert_status)                                                                   \
	X(gnutls_certificate_verification_status_print)                                                            \
	X(gnutls_certificate_get_peers)                                                                            \
	X(gnutls_hash_fast)                                                                                        \
	X(gnutls_transport_set_int2)                                                                               \
	X(gnutls_handshake)                                                                                        \
	X(gnutls_handshake_set_timeout)                                                                            \
	X(gnutls_record_send)                                                                                      \
	X(gnutls_record_recv)                                                                                      \
	X(gnutls_record_check_pending)                                                                             \
	X(gnutls_bye)                                                                                              \
	X(gnutls_deinit)                                                                                           \
	X(gnutls_strerror)

static struct {
	void *lib;
#define FIELD(f) __typeof__(&f) f;
	GNUTLS_FUNCS(FIELD)
#undef FIELD
	gnutls_free_function *free_fn; /* gnutls_free is a variable holding the function */
} g;

static int load(struct carve_error *err)
{
	if (g.lib)
		return 0;
	void *lib = dlopen(GNUTLS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return carve_error_set(err, -ENOENT, "TLS_UNAVAILABLE",
				       "https needs GnuTLS (%s, Debian's libgnutls30): %s", GNUTLS_SONAME, dlerror());
#define SYM(f)                                                                                                     \
	{                                                                                                          \
		void *sym = dlsym(lib, #f);                                                                        \
		if (!sym) {                                                                                        \
			dlclose(lib);                                                                              \
			return carve_error_set(err, -ENOENT, "TLS_UNAVAILABLE", "%s has no %s", GNUTLS_SONAME, #f); \
		}                                                                                                  \
		memcpy(&g.f, &sym, sizeof(sym));                                                                   \
	}
	GNUTLS_FUNCS(SYM)
#undef SYM
	if (!(g.free_fn = dlsym(lib, "gnutls_free"))) {
		dlclose(lib);
		return carve_error_set(err, -ENOENT, "TLS_UNAVAILABLE", "%s has no gnutls_free", GNUTLS_SONAME);
	}
	g.lib = lib;
	return 0;
}

struct carve_tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
};

void carve_tls_close(struct carve_tls *t)
{
	if (!t)
		return;
	if (t->session) {
		g.gnutls_bye(t->session, GNUTLS_SHUT_WR);
		g.gnutls_deinit(t->session);
	}
	if (t->cred)
		g.gnutls_certificate_free_credentials(t->cred);
	free(t);
}
CARVE_DEFINE_CLEANUP(struct carve_tls, carve_tls_close)

static bool is_ip(const char *host)
{
	return strchr(host, ':') || strspn(host, "0123456789.") == strlen(host);
}

/* "sha256:AB:CD..." or "sha256:abcd..." -> 32 bytes. */
static int parse_pin(const char *pin, unsigned char out[32], struct carve_error *err)
{
	if (strncasecmp(pin, "sha256:", 7) != 0)
		return carve_error_set(err, -EINVAL, "INVALID_PIN", "a pin is sha256: and 64 hex digits, not '%.80s'", pin);
	size_t n = 0;
	for (const char *p = pin + 7; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || n == 32)
			return carve_error_set(err, -EINVAL, "INVALID_PIN", "a pin is sha256: and 64 hex digits, not '%.80s'",
					       pin);
		char hex[3] = {p[0], p[1], '\0'};
		out[n++] = (unsigned char)strtoul(hex, NULL, 16);
		p++;
	}
	if (n != 32)
		return carve_error_set(err, -EINVAL, "INVALID_PIN", "a pin is sha256: and 64 hex digits, not '%.80s'", pin);
	return 0;
}

static int refused(struct carve_tls *t, const char *host, struct carve_error *err)
{
	unsigned status = g.gnutls_session_get_verify_cert_status(t->session);
	gnutls_datum_t why = {0};
	if (status && g.gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) == 0 && why.data) {
		char *w = (char *)why.data;
		size_t n = strlen(w);
		while (n && w[n - 1] == ' ')
			w[--n] = '\0';
		carve_error_set(err, -EACCES, "TLS_CERTIFICATE_REFUSED", "%s's certificate is refused: %s", host, w);
		(*g.free_fn)(why.data);
		return err->code;
	}
	return carve_error_set(err, -EACCES, "TLS_CERTIFICATE_REFUSED", "%s's certificate is refused", host);
}

static int check_pin(struct carve_tls *t, const char *host, const unsigned char want[32], struct carve_error *err)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = g.gnutls_certificate_get_peers(t->session, &n);
	unsigned char got[32];
	if (!certs || n == 0 || g.gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[0].data, certs[0].size, got) < 0)
		return carve_error_set(err, -EACCES, "TLS_CERTIFICATE_REFUSED", "%s sent no certificate to check the pin against",
				       host);
	if (memcmp(got, want, 32) == 0)
		return 0;
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", got[i]);
	return carve_error_set(err, -EACCES, "TLS_CERTIFICATE_REFUSED",
			       "%s's certificate is not the pinned one (it is sha256:%s)", host, hex);
}

int carve_tls_connect(int fd, const struct carve_tls_opts *o, int timeout_ms, struct carve_tls **out,
		      struct carve_error *err)
{
	unsigned char pin[32];
	int r;
	if (o->pin && !o->insecure && (r = parse_pin(o->pin, pin, err)) < 0)
		return r;
	if ((r = load(err)) < 0)
		return r;
	_cleanup_(carve_tls_closep) struct carve_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int e = g.gnutls_certificate_allocate_credentials(&t->cred);
	bool chain = !o->insecure && !o->pin;
	if (e >= 0 && chain)
		e = o->cacert ? g.gnutls_certificate_set_x509_trust_file(t->cred, o->cacert, GNUTLS_X509_FMT_PEM)
			      : g.gnutls_certificate_set_x509_system_trust(t->cred);
	if (e == 0 && chain && o->cacert)
		return carve_error_set(err, -EINVAL, "TLS_CA_INVALID", "no CA certificate in %s", o->cacert);
	if (e < 0)
		return carve_error_set(err, -EINVAL, "TLS_CA_INVALID", "cannot load %s: %s",
				       o->cacert ? o->cacert : "the system's CA certificates", g.gnutls_strerror(e));
	if ((e = g.gnutls_init(&t->session, GNUTLS_CLIENT)) < 0 || (e = g.gnutls_set_default_priority(t->session)) < 0 ||
	    (e = g.gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0 ||
	    (!is_ip(o->host) && (e = g.gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, o->host, strlen(o->host))) < 0))
		return carve_error_set(err, -EIO, "TLS_HANDSHAKE_FAILED", "TLS set-up: %s", g.gnutls_strerror(e));
	if (chain)
		g.gnutls_session_set_verify_cert(t->session, o->host, 0);
	g.gnutls_transport_set_int2(t->session, fd, fd);
	g.gnutls_handshake_set_timeout(t->session, (unsigned)timeout_ms);
	do
		e = g.gnutls_handshake(t->session);
	while (e < 0 && (e == GNUTLS_E_AGAIN || e == GNUTLS_E_INTERRUPTED));
	if (e == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		return refused(t, o->host, err);
	if (e < 0)
		return carve_error_set(err, -ECONNABORTED, "TLS_HANDSHAKE_FAILED", "TLS with %s: %s", o->host,
				       g.gnutls_strerror(e));
	if (o->pin && !o->insecure && (r = check_pin(t, o->host, pin, err)) < 0)
		return r;
	*out = TAKE_PTR(t);
	return 0;
}

static ssize_t io_errno(ssize_t e)
{
	if (e == GNUTLS_E_PREMATURE_TERMINATION)
		return -ECONNRESET;
	if (e == GNUTLS_E_AGAIN)
		return -EAGAIN;
	if (e == GNUTLS_E_INTERRUPTED)
		return -EINTR;
	return -EIO;
}

ssize_t carve_tls_send(struct carve_tls *t, const void *p, size_t n)
{
	ssize_t w = g.gnutls_record_send(t->session, p, n);
	return w >= 0 ? w : io_errno(w);
}

ssize_t carve_tls_recv(struct carve_tls *t, void *p, size_t n)
{
	ssize_t r = g.gnutls_record_recv(t->session, p, n);
	return r >= 0 ? r : io_errno(r);
}

bool carve_tls_pending(struct carve_tls *t)
{
	return g.gnutls_record_check_pending(t->session) > 0;
}
