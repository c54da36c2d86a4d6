/* transport.c - a minimal HTTP/1.1 client over carved's unix socket (one
 * request per connection). */
#include "transport.h"

#include <errno.h>
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

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, char **out, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, TIMEOUT_MS);
		if (pr == 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (pr < 0 && errno != EINTR) {
			free(buf);
			return -errno;
		}
		if (n + 1 >= cap) {
			if (cap >= MAX_RESPONSE) {
				free(buf);
				return -EMSGSIZE;
			}
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
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

static int http_call(const char *sock, const char *verb, json_t *args, json_t **result, struct carve_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path))
		return carve_error_set(err, -ENAMETOOLONG, "DAEMON_UNREACHABLE", "socket path too long: %s", sock);
	strcpy(sa.sun_path, sock);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return carve_error_set(err, -errno, "DAEMON_UNREACHABLE", "cannot connect to carved at %s: %s (use --local)",
				       sock, strerror(errno));
	_cleanup_free_ char *body = json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body)
		return -ENOMEM;
	const char *token = getenv("CARVE_TOKEN");
	_cleanup_free_ char *auth = token && *token ? carve_strdupf("Authorization: Bearer %s\r\n", token) : strdup("");
	size_t blen = strlen(body);
	_cleanup_free_ char *head = carve_strdupf("POST /v1/call/%s HTTP/1.1\r\nHost: localhost\r\n"
						  "User-Agent: carve\r\nAccept: application/json\r\n%s"
						  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
						  "Connection: close\r\n\r\n",
						  verb, auth ? auth : "", blen);
	if (!head || !auth)
		return -ENOMEM;
	int r;
	if ((r = write_all(fd, head, strlen(head))) < 0 || (r = write_all(fd, body, blen)) < 0)
		return carve_error_set(err, r, "DAEMON_UNREACHABLE", "sending to carved: %s", strerror(-r));
	_cleanup_free_ char *resp = NULL;
	size_t len = 0;
	if ((r = read_all(fd, &resp, &len)) < 0)
		return carve_error_set(err, r, "DAEMON_UNREACHABLE", "reading from carved: %s", strerror(-r));

	int status = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return carve_error_set(err, -EPROTO, "DAEMON_PROTOCOL_ERROR", "carved sent no HTTP status line");
	char *hdr_end = strstr(resp, "\r\n\r\n");
	if (!hdr_end)
		return carve_error_set(err, -EPROTO, "DAEMON_PROTOCOL_ERROR", "carved's response has no end of headers");
	const char *payload = hdr_end + 4;
	size_t plen = len - (size_t)(payload - resp);
	/* Content-Length bounds the body when present (the connection closes anyway). */
	*hdr_end = '\0';
	for (char *line = strstr(resp, "\r\n"); line; line = strstr(line + 2, "\r\n"))
		if (strncasecmp(line + 2, "Content-Length:", 15) == 0) {
			size_t cl = strtoul(line + 17, NULL, 10);
			if (cl < plen)
				plen = cl;
		}
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(payload, plen, 0, &je);
	if (!j)
		return carve_error_set(err, -EPROTO, "DAEMON_PROTOCOL_ERROR", "carved answered %d with a body that is not JSON",
				       status);
	if (status < 200 || status > 299) {
		const char *id = json_string_value(json_object_get(j, "code"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		return carve_error_set(err, status_errno(status), id ? id : "DAEMON_ERROR", "%s",
				       msg ? msg : "carved returned an error");
	}
	*result = TAKE_PTR(j);
	return 1;
}

int carve_transport_call(const struct carve_transport_opts *o, const char *verb, json_t *args, json_t **result,
			 struct carve_error *err)
{
	const char *sock = o->socket ? o->socket : getenv("CARVE_SOCKET");
	bool named = sock && *sock; /* a socket asked for by name must be there */
	if (!named)
		sock = CARVE_DEFAULT_SOCKET;
	struct stat st;
	if (!o->local) {
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return http_call(sock, verb, args, result, err);
		if (named)
			return carve_error_set(err, -ENOENT, "DAEMON_UNREACHABLE", "no carved socket at %s (use --local)", sock);
	}
	return 0;
}
