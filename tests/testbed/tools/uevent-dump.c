// SPDX-License-Identifier: GPL-2.0
/*
 * uevent-dump: print the kernel's uevents (NETLINK_KOBJECT_UEVENT, group 1,
 * kernel senders only) as C string literals, one message per line, the way
 * tests/unit/test-uevent.c quotes them.  Built statically by
 * tests/testbed/run; guest scripts run it in the background to record what
 * the kernel said while they acted, so the unit tests' messages can be
 * checked against a real kernel's.
 *
 *   uevent-dump SECONDS [READY_FILE]
 *
 * Listens for SECONDS (at most 600), then exits 0.  With READY_FILE, creates
 * that file once the socket is bound, so a script can wait for it before it
 * acts.  Output: "<CLOCK_MONOTONIC ns> \"add@/devices/...\\0ACTION=add\\0...\""
 * with bytes outside printable ASCII, '"' and '\' escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char buf[16384];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	long secs;
	long long end;
	int fd;

	if (argc < 2 || argc > 3 || (secs = strtol(argv[1], NULL, 10)) <= 0 || secs > 600) {
		fprintf(stderr, "usage: uevent-dump SECONDS [READY_FILE]\n");
		return 2;
	}
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("uevent-dump: netlink");
		return 1;
	}
	if (argc == 3) {
		int r = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (r >= 0)
			close(r);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = now_ns() + secs * 1000000000LL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_nl from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		long long left = end - now_ns();
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)(left / 1000000) + 1) <= 0)
			continue;
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS)
				printf("%lld ENOBUFS\n", now_ns());
			continue;
		}
		if (from.nl_pid != 0)
			continue;
		printf("%lld \"", now_ns());
		for (ssize_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == 0)
				fputs("\\0", stdout);
			else if (c == '"' || c == '\\')
				printf("\\%c", c);
			else if (c < 0x20 || c >= 0x7f)
				printf("\\x%02x\"\"", c);
			else
				putchar(c);
		}
		printf("\"%s\n", (mh.msg_flags & MSG_TRUNC) ? " TRUNCATED" : "");
	}
	return 0;
}
