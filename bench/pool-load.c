/* pool-load.c - the load client of bench-pool.sh: vm-starts (or any verb
 * taking uuid=) through carved agents' unix sockets, C keep-alive HTTP/1.1
 * connections per agent at once, each sending its share of the VMs one
 * after the other.  A client in C, as pgbench is, so that the ratio
 * measures the pool and not an interpreter; and, as pgbench does, one
 * thread multiplexing every connection, each connection dialled before
 * the clock starts and closed after it stops (a thread per connection,
 * started and ended in the timed window, cost the 2-CPU machine as much
 * as a tenth of the pool's throughput).
 *
 *   pool-load VERB CONCURRENCY SOCKET:VMFILE...
 *
 * VMFILE: one VM UUID a line.  Prints "N ok, M failed in S s" and the first
 * refusal's body; exits 0 when every call succeeded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF_CAP (1 << 16)

/* Connections with a request still to answer. */
static size_t active;

struct conn {
	int fd;
	const char *sock, *verb;
	char (*vms)[37];
	size_t n, next;    /* VMs, and the one whose answer is awaited */
	char req[512];     /* the request in flight */
	size_t req_len, sent;
	char *buf;         /* the answer so far */
	size_t have;
	size_t ok, failed;
	char first_error[600];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The next request of c, or none when c has sent them all. */
static void prepare(struct conn *c)
{
	c->sent = c->req_len = 0;
	c->have = 0;
	if (c->next >= c->n)
		return;
	char body[64];
	int blen = snprintf(body, sizeof(body), "{\"uuid\":\"%s\"}", c->vms[c->next]);
	c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
				      "POST /v1/call/%s HTTP/1.1\r\nHost: carved\r\nContent-Type: application/json\r\n"
				      "Content-Length: %d\r\n\r\n%s",
				      c->verb, blen, body);
}

/* Whether buf[0..have) holds a whole answer: 1 (status and body set),
 * 0 not yet, -1 malformed. */
static int parse(const char *buf, size_t have, int *status, const char **body, size_t *blen)
{
	const char *end = memmem(buf, have, "\r\n\r\n", 4);
	if (!end)
		return have == BUF_CAP ? -1 : 0;
	size_t head = (size_t)(end - buf) + 4, len = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (const char *h = buf; h < end;) {
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			len = strtoul(h + 15, NULL, 10);
		const char *nl = memmem(h, (size_t)(end - h), "\r\n", 2);
		h = nl ? nl + 2 : end;
	}
	if (head + len > BUF_CAP)
		return -1;
	if (have < head + len)
		return 0;
	*body = buf + head;
	*blen = len;
	return 1;
}

static void record(struct conn *c, int status, const char *body, size_t blen)
{
	if (status >= 200 && status < 300) {
		c->ok++;
	} else if (!c->failed++) {
		snprintf(c->first_error, sizeof(c->first_error), "%d %.*s", status, (int)(blen < 500 ? blen : 500),
			 body);
	}
}

/* c's connection failed: every call it had left fails. */
static void lost(struct conn *c)
{
	if (c->fd >= 0 && c->req_len != 0)
		active--;
	for (; c->next < c->n; c->next++)
		record(c, 0, c->sock, strlen(c->sock));
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->req_len = 0;
}

/* Sends what is left of c's request; whether all of it is out. */
static bool push(struct conn *c)
{
	while (c->sent < c->req_len) {
		ssize_t w = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return false;
		if (w <= 0) {
			lost(c);
			return true;
		}
		c->sent += (size_t)w;
	}
	return true;
}

/* Waits for c's next readiness: its answer, or room to send the rest. */
static void watch(int ep, struct conn *c, int op)
{
	if (c->fd < 0 || c->req_len == 0)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (c->sent < c->req_len ? EPOLLOUT : 0), .data.ptr = c};
	if (epoll_ctl(ep, op, c->fd, &ev) < 0)
		lost(c);
}

/* Progress on c after epoll said it is ready; whether its request is now
 * done (answered, or lost). */
static void step(int ep, struct conn *c, uint32_t events)
{
	if (c->sent < c->req_len && (events & EPOLLOUT)) {
		if (push(c) && c->fd >= 0)
			watch(ep, c, EPOLL_CTL_MOD);
		return;
	}
	ssize_t r = recv(c->fd, c->buf + c->have, BUF_CAP - c->have, MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return lost(c);
	if (r < 0)
		return;
	c->have += (size_t)r;
	int status = 0;
	const char *body = NULL;
	size_t blen = 0;
	int p = parse(c->buf, c->have, &status, &body, &blen);
	if (p < 0)
		return lost(c);
	if (p == 0)
		return;
	record(c, status, body, blen);
	c->next++;
	prepare(c);
	if (c->req_len == 0) { /* done: the connection stays open till the clock stops */
		active--;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		return;
	}
	bool out = push(c);
	if (c->fd >= 0 && !out)
		watch(ep, c, EPOLL_CTL_MOD);
}

/* Reads the VMs of file into conns[0..conc) round-robin: connection k
 * takes VMs k, k + conc, ... */
static int deal(const char *file, const char *sock, const char *verb, struct conn *conns, size_t conc)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		return -1;
	}
	char (*vms)[37] = NULL;
	size_t n = 0, cap = 0;
	char line[128];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) != 36)
			continue;
		if (n == cap && !(vms = realloc(vms, (cap = cap ? 2 * cap : 64) * sizeof(*vms))))
			return -1;
		memcpy(vms[n++], line, 37);
	}
	fclose(f);
	for (size_t k = 0; k < conc; k++) {
		struct conn *c = &conns[k];
		c->sock = sock;
		c->verb = verb;
		c->vms = calloc(n / conc + 1, sizeof(*c->vms));
		c->buf = malloc(BUF_CAP);
		if (!c->vms || !c->buf)
			return -1;
		for (size_t i = k; i < n; i += conc)
			memcpy(c->vms[c->n++], vms[i], 37);
	}
	free(vms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s VERB CONCURRENCY SOCKET:VMFILE...\n", argv[0]);
		return 2;
	}
	const char *verb = argv[1];
	size_t conc = strtoul(argv[2], NULL, 10), n_agents = (size_t)argc - 3, nc;
	if (conc == 0 || conc > 1024)
		return 2;
	nc = n_agents * conc;
	struct conn *conns = calloc(nc, sizeof(*conns));
	if (!conns)
		return 1;
	for (size_t a = 0; a < n_agents; a++) {
		char *spec = argv[3 + a], *colon = strrchr(spec, ':');
		if (!colon)
			return 2;
		*colon = '\0';
		if (deal(colon + 1, spec, verb, &conns[a * conc], conc) < 0)
			return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 1;
	for (size_t i = 0; i < nc; i++) {
		conns[i].fd = dial(conns[i].sock);
		prepare(&conns[i]);
		if (conns[i].fd < 0)
			lost(&conns[i]);
	}
	double t0 = now_s();
	for (size_t i = 0; i < nc; i++) {
		struct conn *c = &conns[i];
		if (c->fd < 0 || c->req_len == 0)
			continue;
		active++;
		push(c);
		watch(ep, c, EPOLL_CTL_ADD);
	}
	struct epoll_event evs[256];
	while (active > 0) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("epoll_wait");
			return 1;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			if (c->fd >= 0 && c->req_len != 0)
				step(ep, c, evs[k].events);
		}
	}
	double t = now_s() - t0;
	size_t ok = 0, failed = 0;
	const char *first = NULL;
	for (size_t i = 0; i < nc; i++) {
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		ok += conns[i].ok;
		failed += conns[i].failed;
		if (!first && conns[i].failed)
			first = conns[i].first_error;
	}
	printf("%zu ok, %zu failed in %.4f s\n", ok, failed, t);
	if (first)
		printf("first refusal: %s\n", first);
	return failed ? 1 : 0;
}
