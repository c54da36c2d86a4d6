/* pool-load.c - the load client of bench-pool.sh: vm-starts (or any verb
 * taking uuid=) through carved agents' unix sockets, C connections per
 * agent at once, each a keep-alive HTTP/1.1 connection that sends its share
 * of the VMs one after the other.  A client in C, as pgbench is, so that
 * the ratio measures the pool and not an interpreter.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Every connection dialled before the clock starts. */
static pthread_barrier_t ready;

struct conn {
	pthread_t thread;
	const char *sock, *verb;
	char (*vms)[37];
	size_t n, ok, failed;
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

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One response: its status, its body (at most blen - 1 bytes kept). */
static int read_response(int fd, char *buf, size_t cap, int *status, char *body, size_t blen)
{
	size_t have = 0;
	char *end = NULL;
	while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
		if (have == cap)
			return -1;
		ssize_t r = read(fd, buf + have, cap - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	size_t head = (size_t)(end - buf) + 4, len = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (char *h = buf; h < end; h = strstr(h, "\r\n") + 2) {
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			len = strtoul(h + 15, NULL, 10);
		if (!strstr(h, "\r\n"))
			break;
	}
	size_t got = have - head;
	memmove(buf, buf + head, got);
	while (got < len) {
		if (got == cap)
			return -1;
		ssize_t r = read(fd, buf + got, cap - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	size_t keep = len < blen - 1 ? len : blen - 1;
	memcpy(body, buf, keep);
	body[keep] = '\0';
	return 0;
}

static void *run(void *arg)
{
	struct conn *c = arg;
	int fd = dial(c->sock);
	static __thread char buf[1 << 16];
	pthread_barrier_wait(&ready);
	for (size_t i = 0; i < c->n; i++) {
		char req[512], body[512];
		int blen = snprintf(body, sizeof(body), "{\"uuid\":\"%s\"}", c->vms[i]);
		int rlen = snprintf(req, sizeof(req),
				    "POST /v1/call/%s HTTP/1.1\r\nHost: carved\r\nContent-Type: application/json\r\n"
				    "Content-Length: %d\r\n\r\n%s",
				    c->verb, blen, body);
		int status = 0;
		if (fd < 0 || send_all(fd, req, (size_t)rlen) < 0 ||
		    read_response(fd, buf, sizeof(buf), &status, body, sizeof(body)) < 0) {
			snprintf(body, sizeof(body), "connection to %s failed", c->sock);
			status = 0;
		}
		if (status >= 200 && status < 300) {
			c->ok++;
		} else {
			if (!c->failed++)
				snprintf(c->first_error, sizeof(c->first_error), "%d %s", status, body);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s VERB CONCURRENCY SOCKET:VMFILE...\n", argv[0]);
		return 2;
	}
	const char *verb = argv[1];
	size_t conc = strtoul(argv[2], NULL, 10), n_agents = (size_t)argc - 3;
	if (conc == 0 || conc > 1024)
		return 2;
	struct conn *conns = calloc(n_agents * conc, sizeof(*conns));
	if (!conns)
		return 1;
	for (size_t a = 0; a < n_agents; a++) {
		char *spec = argv[3 + a], *colon = strrchr(spec, ':');
		if (!colon)
			return 2;
		*colon = '\0';
		FILE *f = fopen(colon + 1, "r");
		if (!f) {
			perror(colon + 1);
			return 1;
		}
		char (*vms)[37] = NULL;
		size_t n = 0, cap = 0;
		char line[128];
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (strlen(line) != 36)
				continue;
			if (n == cap && !(vms = realloc(vms, (cap = cap ? 2 * cap : 64) * sizeof(*vms))))
				return 1;
			memcpy(vms[n++], line, 37);
		}
		fclose(f);
		/* connection k takes VMs k, k + conc, ...: copied apart */
		for (size_t k = 0; k < conc; k++) {
			struct conn *c = &conns[a * conc + k];
			c->sock = spec;
			c->verb = verb;
			c->vms = calloc(n / conc + 1, sizeof(*c->vms));
			if (!c->vms)
				return 1;
			for (size_t i = k; i < n; i += conc)
				memcpy(c->vms[c->n++], vms[i], 37);
		}
		free(vms);
	}
	pthread_barrier_init(&ready, NULL, (unsigned)(n_agents * conc + 1));
	for (size_t i = 0; i < n_agents * conc; i++)
		if (pthread_create(&conns[i].thread, NULL, run, &conns[i]) != 0)
			return 1;
	pthread_barrier_wait(&ready);
	double t0 = now_s();
	size_t ok = 0, failed = 0;
	const char *first = NULL;
	for (size_t i = 0; i < n_agents * conc; i++) {
		pthread_join(conns[i].thread, NULL);
		ok += conns[i].ok;
		failed += conns[i].failed;
		if (!first && conns[i].failed)
			first = conns[i].first_error;
	}
	printf("%zu ok, %zu failed in %.4f s\n", ok, failed, now_s() - t0);
	if (first)
		printf("first refusal: %s\n", first);
	return failed ? 1 : 0;
}
