/* transport.c - a minimal HTTP/1.1 client of carved: over its unix socket,
 * or over TCP (with TLS) to a remote one; one request per connection, or
 * many on one kept-alive connection (batch). */
#include "transport.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/str.h"

#define MAX_RESPONSE (64u << 20)
#define TIMEOUT_MS (600 * 1000) /* a vm-start on a slow vendor driver may take minutes */
#define HANDSHAKE_MS (30 * 1000)

static ssize_t conn_send(struct carve_transport_conn *c, const char *p, size_t n)
{
	if (c->t)
		return carve_tls_send(c->t, p, n);
	ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
	return w < 0 ? -errno : w;
}

static ssize_t conn_recv(struct carve_transport_conn *c, char *p, size_t n)
{
	if (c->t)
		return carve_tls_recv(c->t, p, n);
	ssize_t r = recv(c->fd, p, n, 0);
	return r < 0 ? -errno : r;
}

static int write_all(struct carve_transport_conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = conn_send(c, p, n);
		if (w == -EINTR || w == -EAGAIN)
			continue;
		if (w < 0)
			return (int)w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int status_errno(int status)
{
	switch (status) {
	case 400: case 405: return -EINVAL;
	case 401: return -EPERM;
	case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409: return -EBUSY;
	case 413: return -EMSGSIZE;
	case 501: return -EOPNOTSUPP;
	case 503: return -EAGAIN;
	default: return -EIO;
	}
}

static int connect_unix(const char *sock, int *fd, struct carve_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path))
		return carve_error_set(err, -ENAMETOOLONG, "DAEMON_UNREACHABLE", "socket path too long: %s", sock);
	strcpy(sa.sun_path, sock);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return carve_error_set(err, -e, "DAEMON_UNREACHABLE", "cannot connect to carved at %s: %s (use --local)",
				       sock, strerror(e));
	}
	return 0;
}

/* TCP to host:port, then TLS for https. */
static int connect_remote(struct carve_transport_conn *c, struct carve_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *ai = NULL;
	int e = getaddrinfo(c->host, c->port, &hints, &ai);
	if (e != 0)
		return carve_error_set(err, -EHOSTUNREACH, "DAEMON_UNREACHABLE", "cannot resolve %s: %s", c->host,
				       gai_strerror(e));
	int fd = -1, last = 0;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			last = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return carve_error_set(err, -(last ? last : ECONNREFUSED), "DAEMON_UNREACHABLE",
				       "cannot connect to carved at %s: %s", c->o->server, strerror(last ? last : ECONNREFUSED));
	int r = c->https ? carve_tls_connect(fd, &c->tls, HANDSHAKE_MS, &c->t, err) : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	c->fd = fd;
	return 0;
}

static int conn_connect(struct carve_transport_conn *c, struct carve_error *err)
{
	return c->o && c->o->server ? connect_remote(c, err) : connect_unix(c->sock, &c->fd, err);
}

/* Read one response: headers, then exactly Content-Length bytes (on a
 * closing connection without one, up to the end).  *out holds both; *body
 * points into it. */
static int read_response(struct carve_transport_conn *c, bool keep, char **out, char **body, size_t *blen)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	char *end = NULL;
	size_t want = 0;
	bool to_eof = false;
	for (;;) {
		if (end && !to_eof && n >= (size_t)(end + 4 - buf) + want)
			break;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int pr = c->t && carve_tls_pending(c->t) ? 1 : poll(&pfd, 1, TIMEOUT_MS);
		if (pr == 0 || (pr < 0 && errno != EINTR)) {
			free(buf);
			return pr == 0 ? -ETIMEDOUT : -errno;
		}
		if (n + 1 >= cap) {
			if (cap >= MAX_RESPONSE) {
				free(buf);
				return -EMSGSIZE;
			}
			size_t off = end ? (size_t)(end - buf) : 0;
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
			cap *= 2;
			if (end)
				end = buf + off;
		}
		ssize_t r = conn_recv(c, buf + n, cap - n - 1);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r == 0 && to_eof) {
			want = n - (size_t)(end + 4 - buf);
			break;
		}
		if (r <= 0) {
			free(buf);
			return r < 0 ? (int)r : -ECONNRESET;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			bool have = false;
			for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
				if (strncasecmp(line + 2, "Content-Length:", 15) == 0) {
					want = strtoul(line + 17, NULL, 10);
					have = true;
				}
			if (!have && keep) { /* no length: no way to tell where the next response begins */
				free(buf);
				return -EPROTO;
			}
			to_eof = !have;
		}
	}
	*end = '\0';
	*out = buf;
	*body = end + 4;
	*blen = want;
	return 0;
}

/* One request on the connection: 1 with *result, or a negative errno with
 * err set. */
static int exchange(struct carve_transport_conn *c, const char *verb, json_t *args, bool keep, json_t **result,
		    struct carve_error *err)
{
	_cleanup_free_ char *body = json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body)
		return -ENOMEM;
	const char *token = c->o && c->o->token ? c->o->token : getenv("CARVE_TOKEN");
	_cleanup_free_ char *auth = token && *token ? carve_strdupf("Authorization: Bearer %s\r\n", token) : strdup("");
	size_t blen = strlen(body);
	_cleanup_free_ char *head = carve_strdupf("POST /v1/call/%s HTTP/1.1\r\nHost: %s\r\n"
						  "User-Agent: carve\r\nAccept: application/json\r\n%s"
						  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
						  "Connection: %s\r\n\r\n",
						  verb, c->o && c->o->server ? c->host : "localhost", auth ? auth : "", blen,
						  keep ? "keep-alive" : "close");
	if (!head || !auth)
		return -ENOMEM;
	int r;
	if ((r = write_all(c, head, strlen(head))) < 0 || (r = write_all(c, body, blen)) < 0)
		return carve_error_set(err, r, "DAEMON_UNREACHABLE", "sending to carved: %s", strerror(-r));
	_cleanup_free_ char *resp = NULL;
	char *payload = NULL;
	size_t plen = 0;
	if ((r = read_response(c, keep, &resp, &payload, &plen)) < 0)
		return carve_error_set(err, r, r == -EPROTO ? "DAEMON_PROTOCOL_ERROR" : "DAEMON_UNREACHABLE",
				       "reading from carved: %s", strerror(-r));
	int status = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return carve_error_set(err, -EPROTO, "DAEMON_PROTOCOL_ERROR", "carved sent no HTTP status line");
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(payload, plen, 0, &je);
	if (!j)
		return carve_error_set(err, -EPROTO, "DAEMON_PROTOCOL_ERROR", "carved answered %d with a body that is not JSON",
				       status);
	if (status < 200 || status > 299) {
		const char *id = json_string_value(json_object_get(j, "code"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		if ((status == 401 || status == 403) && c->o && c->o->server)
			/* Which token: where it came from, never the token. */
			return carve_error_set(err, status_errno(status), id ? id : "DAEMON_ERROR",
					       token && *token ? "carved at %s: %s (the token from %s)"
							       : "carved at %s: %s (no token was given: --token-file, "
								 "$CARVE_TOKEN, $CARVE_TOKEN_FILE or the config's token-file%s)",
					       c->o->server, msg ? msg : "refused",
					       token && *token && c->o->token_source ? c->o->token_source : "");
		return carve_error_set(err, status_errno(status), id ? id : "DAEMON_ERROR", "%s",
				       msg ? msg : "carved returned an error");
	}
	*result = TAKE_PTR(j);
	return 1;
}

/* https://HOST[:PORT][/] (or http://) into the connection; HOST may be
 * [IPv6]. */
static int parse_server(const char *url, struct carve_transport_conn *c, struct carve_error *err)
{
	const char *p;
	if (strncmp(url, "https://", 8) == 0) {
		c->https = true;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return carve_error_set(err, -EINVAL, "INVALID_SERVER", "a server is https://HOST[:PORT], not '%.128s'", url);
	}
	const char *host = p, *hend;
	if (*p == '[') {
		host = p + 1;
		if (!(hend = strchr(host, ']')))
			return carve_error_set(err, -EINVAL, "INVALID_SERVER", "unclosed [ in '%.128s'", url);
		p = hend + 1;
	} else {
		hend = p + strcspn(p, ":/");
		p = hend;
	}
	size_t hl = (size_t)(hend - host);
	const char *port = c->https ? "443" : "80";
	size_t pl = strlen(port);
	if (*p == ':') {
		port = p + 1;
		pl = strcspn(port, "/");
		p = port + pl;
	}
	if (hl == 0 || hl >= sizeof(c->host) || pl == 0 || pl >= sizeof(c->port) || strspn(port, "0123456789") < pl ||
	    (*p && strcmp(p, "/") != 0))
		return carve_error_set(err, -EINVAL, "INVALID_SERVER", "a server is https://HOST[:PORT], not '%.128s'", url);
	memcpy(c->host, host, hl);
	c->host[hl] = '\0';
	memcpy(c->port, port, pl);
	c->port[pl] = '\0';
	c->tls.host = c->host;
	return 0;
}

/* Where a request goes: the socket (into *sock), or NULL for in-process;
 * a named socket that is not there is an error. */
static int target(const struct carve_transport_opts *o, const char **sock, struct carve_error *err)
{
	const char *s = o->socket ? o->socket : getenv("CARVE_SOCKET");
	bool named = s && *s; /* a socket asked for by name must be there */
	if (!named)
		s = CARVE_DEFAULT_SOCKET;
	*sock = NULL;
	struct stat st;
	if (o->local)
		return 0;
	if (stat(s, &st) == 0 && S_ISSOCK(st.st_mode)) {
		*sock = s;
		return 0;
	}
	if (named)
		return carve_error_set(err, -ENOENT, "DAEMON_UNREACHABLE", "no carved socket at %s (use --local)", s);
	return 0;
}

int carve_transport_open(const struct carve_transport_opts *o, struct carve_transport_conn *c,
			 struct carve_error *err)
{
	*c = (struct carve_transport_conn){.fd = -1, .o = o};
	if (o->server) {
		if (o->local)
			return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT",
					       "a remote server and in-process options (--local, --db, a host) do not mix");
		c->tls = o->tls;
		return parse_server(o->server, c, err) < 0 ? err->code : 1;
	}
	const char *sock;
	int r = target(o, &sock, err);
	if (r < 0 || !sock)
		return r;
	snprintf(c->sock, sizeof(c->sock), "%s", sock);
	return 1;
}

int carve_transport_call_conn(struct carve_transport_conn *c, const char *verb, json_t *args, json_t **result,
			      struct carve_error *err)
{
	/* A connection carved closed since (idle timeout, restart): once again. */
	for (int attempt = 0;; attempt++) {
		int r = c->fd >= 0 ? 0 : conn_connect(c, err);
		if (r < 0)
			return r;
		struct carve_error e = {0};
		r = exchange(c, verb, args, true, result, &e);
		if (r >= 0 || (strcmp(e.id, "DAEMON_UNREACHABLE") != 0) || attempt == 1) {
			if (r < 0)
				carve_error_set(err, r, e.id, "%s", e.message);
			if (strcmp(e.id, "DAEMON_UNREACHABLE") == 0 || strcmp(e.id, "DAEMON_PROTOCOL_ERROR") == 0)
				carve_transport_close(c);
			return r;
		}
		carve_transport_close(c);
	}
}

void carve_transport_close(struct carve_transport_conn *c)
{
	carve_tls_close(c->t);
	c->t = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int carve_transport_call(const struct carve_transport_opts *o, const char *verb, json_t *args, json_t **result,
			 struct carve_error *err)
{
	struct carve_transport_conn c;
	int r = carve_transport_open(o, &c, err);
	if (r <= 0)
		return r;
	if ((r = conn_connect(&c, err)) >= 0)
		r = exchange(&c, verb, args, false, result, err);
	carve_transport_close(&c);
	return r;
}
