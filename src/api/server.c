/* server.c - libmicrohttpd listeners, request life cycle, responses. */
#include "server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ui.h"
#include "util/cleanup.h"

#define MAX_QUERY 64

struct listener {
	struct carve_server *srv;
	struct MHD_Daemon *d;
	bool trusted;     /* unix socket: file permissions are the access control */
	const char *name; /* "unix", "tcp" */
};

struct carve_server {
	struct carve_service *svc;
	struct carve_auth *auth;
	pthread_mutex_t limits_lock;
	struct carve_api_limits limits; /* guarded by limits_lock */
	struct listener unix_l, tcp_l;
	char *unix_path;
	char tcp_addr[80];
	_Atomic unsigned in_flight;
	_Atomic bool draining;
};

/* One HTTP request, from its first handler call to MHD's completion notice. */
struct req {
	struct timespec t0;
	char *body;
	size_t len, cap;
	bool too_large;
	bool writes;
	int status;
	struct carve_api_limits lim;
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- responses ---- */

static enum MHD_Result send_buf(struct MHD_Connection *c, struct req *rq, int status, char *buf, size_t len,
				const char *ctype, const char *location, bool close)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"carve\"");
	if (status == 503)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	rq->status = status;
	enum MHD_Result r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_json(struct MHD_Connection *c, struct req *rq, int status, json_t *j, const char *location,
				 bool close)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return MHD_NO;
	size_t n = strlen(s);
	char *buf = realloc(s, n + 2);
	if (!buf) {
		free(s);
		return MHD_NO;
	}
	buf[n] = '\n';
	buf[n + 1] = '\0';
	return send_buf(c, rq, status, buf, n + 1, "application/json", location, close);
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct req *rq, struct carve_error *err, bool close)
{
	if (!carve_error_isset(err))
		carve_error_set(err, -EIO, "INTERNAL_ERROR", "internal error");
	int status = strcmp(err->id, "METHOD_NOT_ALLOWED") == 0 ? 405 : carve_error_http_status(err);
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s}", "code", err->id, "message", err->message);
	if (!j)
		return MHD_NO;
	/* A refused upload is not read: the connection cannot be reused. */
	return send_json(c, rq, status, j, NULL, close || status == 413);
}

/* ---- the request handler ---- */

struct query_acc {
	struct carve_api_query q[MAX_QUERY];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct query_acc *a = cls;
	if (a->n == MAX_QUERY) {
		a->overflow = true;
		return MHD_NO;
	}
	a->q[a->n++] = (struct carve_api_query){key, value};
	return MHD_YES;
}

/* The pool page's files (ui.h): open to all (the page asks for a token
 * before it reads anything), never cached stale, and allowed to load and
 * call nothing but this carved. */
static enum MHD_Result serve_ui(struct MHD_Connection *c, struct req *rq, const char *url, const char *method)
{
	struct carve_error err = {0};
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		carve_error_set(&err, -EINVAL, "METHOD_NOT_ALLOWED", "%.8s is not allowed on %.128s", method, url);
		return send_error(c, rq, &err, false);
	}
	const struct carve_ui_file *f = carve_ui_find(url);
	struct MHD_Response *resp;
	if (strcmp(url, "/ui") == 0) {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/ui/");
		rq->status = 301;
	} else if (f) {
		resp = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
					"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
		rq->status = 200;
	} else {
		carve_error_set(&err, -ENOENT, "NOT_FOUND", "no such resource: %.128s", url);
		return send_error(c, rq, &err, false);
	}
	enum MHD_Result r = MHD_queue_response(c, (unsigned)rq->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result serve(struct listener *l, struct MHD_Connection *c, const char *url, const char *method,
			     struct req *rq)
{
	struct carve_server *srv = l->srv;
	struct carve_error err = {0};
	int r;

	struct query_acc qa = {.n = 0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &qa);
	if (qa.overflow) {
		carve_error_set(&err, -EINVAL, "TOO_MANY_PARAMETERS", "more than %d query parameters", MAX_QUERY);
		return send_error(c, rq, &err, false);
	}

	if (strncmp(url, "/ui", 3) == 0 && (url[3] == '\0' || url[3] == '/'))
		return serve_ui(c, rq, url, method);

	/* Authenticate before looking at the request (health is open to probes). */
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	bool open_route = strcmp(url, "/v1/health") == 0;
	enum carve_role role = CARVE_ROLE_POOL_ADMIN;
	if (!open_route && (!l->trusted || authz)) {
		if (!srv->auth)
			r = carve_error_set(&err, -EPERM, "AUTHENTICATION_FAILED", "no token file is configured");
		else
			r = carve_auth_check(srv->auth, authz, &role, &err);
		if (r < 0)
			return send_error(c, rq, &err, false);
	}

	struct carve_api_request ar;
	r = carve_api_request_build(method, url, qa.q, qa.n, rq->body, rq->len, &rq->lim, &ar, &err);
	if (r < 0)
		return send_error(c, rq, &err, false);
	_cleanup_json_ json_t *args = ar.args;
	rq->writes = ar.writes;
	if (role < ar.role) {
		carve_error_set(&err, -EACCES, "RBAC_PERMISSION_DENIED", "%s needs role %s; this token has %s",
				ar.op ? ar.op->verb : url, carve_role_name(ar.role), carve_role_name(role));
		return send_error(c, rq, &err, false);
	}

	switch (ar.kind) {
	case CARVE_API_HEALTH: {
		_cleanup_json_ json_t *j = json_pack("{s:s, s:i, s:s}", "status",
						     atomic_load(&srv->draining) ? "draining" : "ok", "in-flight",
						     (int)atomic_load(&srv->in_flight) - 1, "version", CARVE_VERSION);
		return send_json(c, rq, 200, j, NULL, false);
	}
	case CARVE_API_METRICS: {
		char *text = NULL;
		size_t len = 0;
		if ((r = carve_service_metrics_text(srv->svc, &text, &len, &err)) < 0)
			return send_error(c, rq, &err, false);
		return send_buf(c, rq, 200, text, len, "text/plain; version=0.0.4; charset=utf-8", NULL, false);
	}
	case CARVE_API_TOKEN_CREATE: {
		enum carve_role want;
		json_t *jr = json_object_get(args, "role"), *jl = json_object_get(args, "label");
		if (!json_is_string(jr) || carve_role_parse(json_string_value(jr), &want) < 0) {
			carve_error_set(&err, -EINVAL, "INVALID_VALUE",
					"role: expected read-only, vm-operator or pool-admin");
			return send_error(c, rq, &err, false);
		}
		if (jl && !json_is_string(jl)) {
			carve_error_set(&err, -EINVAL, "INVALID_VALUE", "label must be a string");
			return send_error(c, rq, &err, false);
		}
		if (!srv->auth) {
			carve_error_set(&err, -EOPNOTSUPP, "NO_TOKEN_FILE", "carved runs without a token file");
			return send_error(c, rq, &err, false);
		}
		char tok[CARVE_TOKEN_LEN + 1];
		if ((r = carve_token_create(carve_auth_path(srv->auth), want, json_string_value(jl), tok, &err)) < 0)
			return send_error(c, rq, &err, false);
		carve_log(LOG_NOTICE, "token created with role %s over %s", carve_role_name(want), l->name);
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s}", "value", tok, "role", carve_role_name(want));
		return send_json(c, rq, ar.ok_status, j, NULL, false);
	}
	case CARVE_API_OP:
		break;
	}

	char *body = NULL, uuid[37];
	size_t len = 0;
	if ((r = carve_service_call_body(srv->svc, ar.op, ar.writes, args, &body, &len, uuid, &err)) < 0)
		return send_error(c, rq, &err, false);
	char location[96] = "";
	if (ar.ok_status == 201 && uuid[0])
		snprintf(location, sizeof(location), "%s%s", ar.location_prefix, uuid);
	return send_buf(c, rq, ar.ok_status, body, len, "application/json", location[0] ? location : NULL, false);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct listener *l = cls;
	struct carve_server *srv = l->srv;
	struct req *rq = *con_cls;
	struct carve_error err = {0};

	if (!rq) {
		/* First call: the headers are in.  Admission and size checks happen
		 * here, before any body is read. */
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		clock_gettime(CLOCK_MONOTONIC, &rq->t0);
		unsigned n = atomic_fetch_add(&srv->in_flight, 1) + 1;
		pthread_mutex_lock(&srv->limits_lock);
		rq->lim = srv->limits;
		pthread_mutex_unlock(&srv->limits_lock);
		if (atomic_load(&srv->draining)) {
			carve_error_set(&err, -EAGAIN, "SHUTTING_DOWN", "carved is shutting down; retry");
			return send_error(c, rq, &err, true);
		}
		if (n > rq->lim.in_flight && strcmp(url, "/v1/health") != 0) {
			carve_metrics_busy(carve_service_metrics(srv->svc));
			carve_error_set(&err, -EAGAIN, "BUSY", "%u requests are being served; retry", rq->lim.in_flight);
			return send_error(c, rq, &err, false);
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > rq->lim.body_bytes) {
			carve_error_set(&err, -EMSGSIZE, "REQUEST_TOO_LARGE",
					"request body of %.20s bytes exceeds the limit of %zu", cl, rq->lim.body_bytes);
			return send_error(c, rq, &err, true);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Chunked bodies have no Content-Length: count as they arrive. */
		if (!rq->too_large) {
			if (rq->len + *upload_size > rq->lim.body_bytes) {
				rq->too_large = true;
				free(rq->body);
				rq->body = NULL;
			} else {
				if (rq->len + *upload_size + 1 > rq->cap) {
					size_t cap = rq->cap ? rq->cap : 1024;
					while (cap < rq->len + *upload_size + 1)
						cap *= 2;
					char *b = realloc(rq->body, cap);
					if (!b)
						return MHD_NO;
					rq->body = b;
					rq->cap = cap;
				}
				memcpy(rq->body + rq->len, upload, *upload_size);
				rq->len += *upload_size;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->status)
		return MHD_YES; /* answered on the first call */
	if (rq->too_large) {
		carve_error_set(&err, -EMSGSIZE, "REQUEST_TOO_LARGE", "request body exceeds the limit of %zu bytes",
				rq->lim.body_bytes);
		return send_error(c, rq, &err, true);
	}
	return serve(l, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	struct listener *l = cls;
	struct req *rq = *con_cls;
	if (!rq)
		return;
	*con_cls = NULL;
	carve_metrics_request(carve_service_metrics(l->srv->svc), rq->writes, rq->status, since(&rq->t0));
	free(rq->body);
	free(rq);
	atomic_fetch_sub(&l->srv->in_flight, 1);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	carve_log(LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/* ---- listening sockets ---- */

static int unix_listen(const char *path, mode_t mode, gid_t gid, int *out, struct carve_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return carve_error_set(err, -ENAMETOOLONG, "INVALID_VALUE", "unix socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	/* The directory (e.g. /run/carve) is created if missing, not loosened. */
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return carve_error_set(err, -errno, "LISTEN_FAILED", "cannot create %s: %s", dir, strerror(errno));
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return carve_error_set(err, -EEXIST, "LISTEN_FAILED", "%s exists and is not a socket", path);
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return carve_error_set(err, -EADDRINUSE, "LISTEN_FAILED", "another carved is listening on %s", path);
		unlink(path); /* stale: left by a process that died */
	}
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return carve_error_set(err, -errno, "LISTEN_FAILED", "socket: %s", strerror(errno));
	/* Bind under a umask that leaves no window with looser permissions. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return carve_error_set(err, -errno, "LISTEN_FAILED", "bind %s: %s", path, strerror(errno));
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) || chmod(path, mode) < 0) {
		r = -errno;
		unlink(path);
		return carve_error_set(err, r, "LISTEN_FAILED", "cannot set owner/mode of %s: %s", path, strerror(-r));
	}
	if (listen(fd, 128) < 0) {
		r = -errno;
		unlink(path);
		return carve_error_set(err, r, "LISTEN_FAILED", "listen %s: %s", path, strerror(-r));
	}
	*out = TAKE_FD(fd);
	return 0;
}

static int tcp_listen(const char *spec, int *out, char *bound, size_t bound_len, struct carve_error *err)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "tcp listener: expected ADDR:PORT, got '%.64s'", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "tcp listener: bad port in '%.64s'", spec);
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return carve_error_set(err, -EINVAL, "INVALID_VALUE", "tcp listener: bad IPv6 address in '%.64s'", spec);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return carve_error_set(err, -EINVAL, "INVALID_VALUE",
					       "tcp listener: '%.64s' is not a numeric IPv4 or [IPv6] address", host);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	}
	_cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return carve_error_set(err, -errno, "LISTEN_FAILED", "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0)
		return carve_error_set(err, -errno, "LISTEN_FAILED", "cannot listen on %s: %s", spec, strerror(errno));
	/* Report the port actually bound (port 0 asks the kernel for one). */
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	char a[INET6_ADDRSTRLEN] = "?";
	if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) {
		if (got.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, a, sizeof(a));
			snprintf(bound, bound_len, "[%s]:%u", a, ntohs(((struct sockaddr_in6 *)&got)->sin6_port));
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, a, sizeof(a));
			snprintf(bound, bound_len, "%s:%u", a, ntohs(((struct sockaddr_in *)&got)->sin_port));
		}
	}
	*out = TAKE_FD(fd);
	return 0;
}

/* A connection's thread's stack.  The default (the stack rlimit, 8 MiB)
 * is more than glibc keeps cached for reuse (40 MiB: five stacks), so
 * under a burst of connections nearly every thread mapped a fresh stack
 * and unmapped it at exit - about a sixth of carved's CPU in a boot
 * storm (docs/performance.md).  512 KiB is over five times the deepest
 * call chain of a request (-fstack-usage: a vm-start's realize is the
 * largest frame, 40 KiB, under 30 KiB of callers and about as much of
 * libpq and jansson below it) and lets glibc keep 80 stacks. */
#define CARVE_SERVER_THREAD_STACK (512 * 1024)

static int start_daemon(struct carve_server *srv, struct listener *l, int fd, const struct carve_server_config *cfg,
			bool tls, struct carve_error *err)
{
	l->srv = srv;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC;
	if (tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[] = {
		{MHD_OPTION_LISTEN_SOCKET, fd, NULL},
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->limits.connections, NULL},
		{MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->limits.header_bytes, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->limits.conn_timeout_s, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, l},
		{MHD_OPTION_THREAD_STACK_SIZE, CARVE_SERVER_THREAD_STACK, NULL},
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
		{tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)cfg->tls_key_pem},
		{tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cfg->tls_cert_pem},
		{MHD_OPTION_END, 0, NULL},
	};
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, l, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!l->d) {
		close(fd);
		return carve_error_set(err, -EIO, "LISTEN_FAILED", "libmicrohttpd could not start the %s listener%s", l->name,
				       tls ? " (TLS: check the certificate and key)" : "");
	}
	return 0;
}

void carve_server_free(struct carve_server *s)
{
	if (!s)
		return;
	atomic_store(&s->draining, true);
	if (s->unix_l.d)
		MHD_stop_daemon(s->unix_l.d);
	if (s->tcp_l.d)
		MHD_stop_daemon(s->tcp_l.d);
	if (s->unix_path)
		unlink(s->unix_path);
	pthread_mutex_destroy(&s->limits_lock);
	free(s->unix_path);
	free(s);
}
CARVE_DEFINE_CLEANUP(struct carve_server, carve_server_free)

int carve_server_start(const struct carve_server_config *cfg, struct carve_server **out, struct carve_error *err)
{
	_cleanup_(carve_server_freep) struct carve_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->limits_lock, NULL);
	s->svc = cfg->svc;
	s->auth = cfg->auth;
	s->limits = cfg->limits;
	s->unix_l.name = "unix";
	s->unix_l.trusted = true;
	s->tcp_l.name = "tcp";
	bool tls = cfg->tls_cert_pem && cfg->tls_key_pem;
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return carve_error_set(err, -EOPNOTSUPP, "TLS_UNSUPPORTED", "this libmicrohttpd was built without TLS");
	if (!cfg->unix_path && !cfg->tcp)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "no listener configured");
	int fd, r;
	if (cfg->tcp) {
		if ((r = tcp_listen(cfg->tcp, &fd, s->tcp_addr, sizeof(s->tcp_addr), err)) < 0 ||
		    (r = start_daemon(s, &s->tcp_l, fd, cfg, tls, err)) < 0)
			return r;
	}
	if (cfg->unix_path) {
		if ((r = unix_listen(cfg->unix_path, cfg->unix_mode, cfg->unix_gid, &fd, err)) < 0)
			return r;
		if (!(s->unix_path = strdup(cfg->unix_path))) {
			close(fd);
			unlink(cfg->unix_path);
			return -ENOMEM;
		}
		if ((r = start_daemon(s, &s->unix_l, fd, cfg, false, err)) < 0)
			return r;
	}
	*out = TAKE_PTR(s);
	return 0;
}

const char *carve_server_tcp_address(const struct carve_server *s)
{
	return s->tcp_addr;
}

void carve_server_set_limits(struct carve_server *s, const struct carve_api_limits *l)
{
	pthread_mutex_lock(&s->limits_lock);
	s->limits = *l;
	pthread_mutex_unlock(&s->limits_lock);
}

void carve_server_quiesce(struct carve_server *s)
{
	atomic_store(&s->draining, true);
	struct listener *ls[] = {&s->unix_l, &s->tcp_l};
	for (size_t i = 0; i < ARRAY_SIZE(ls); i++) {
		if (!ls[i]->d)
			continue;
		MHD_socket fd = MHD_quiesce_daemon(ls[i]->d);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	if (s->unix_path) {
		unlink(s->unix_path);
		free(s->unix_path);
		s->unix_path = NULL;
	}
}

unsigned carve_server_in_flight(const struct carve_server *s)
{
	return atomic_load(&s->in_flight);
}

unsigned carve_server_drain(struct carve_server *s, unsigned timeout_ms)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned n;
	while ((n = atomic_load(&s->in_flight)) > 0 && since(&t0) * 1000 < timeout_ms) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return n;
}
