/* uevent.c - kernel uevents: strict parser, netlink listener, dirty set. */
#include "uevent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "util/cleanup.h"

struct carve_uevent_listener {
	int fd;
	bool kernel_only; /* netlink: accept nl_pid 0 only */
	bool full;
	size_t n;
	char dirty[CARVE_UEVENT_DIRTY_MAX][CARVE_PCI_STRLEN + 1];
	struct carve_uevent_stats stats;
	/* One more byte than the largest message accepted, so that a longer one
	 * is seen as truncated whatever the socket family reports. */
	char buf[CARVE_UEVENT_MSG_MAX + 1];
};

static const char *const action_names[] = {
	[CARVE_UEVENT_OTHER] = "other",   [CARVE_UEVENT_ADD] = "add",       [CARVE_UEVENT_REMOVE] = "remove",
	[CARVE_UEVENT_CHANGE] = "change", [CARVE_UEVENT_MOVE] = "move",     [CARVE_UEVENT_ONLINE] = "online",
	[CARVE_UEVENT_OFFLINE] = "offline", [CARVE_UEVENT_BIND] = "bind", [CARVE_UEVENT_UNBIND] = "unbind",
};

const char *carve_uevent_action_name(enum carve_uevent_action a)
{
	return (size_t)a < ARRAY_SIZE(action_names) ? action_names[a] : "other";
}

/* ---- parsing ---- */

static bool printable_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* Copy a kept value into dst[cap]; the caller has checked it is printable. */
static int keep(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Strict canonical PCI name of exactly n characters (not NUL-terminated). */
static bool pci_name(const char *s, size_t n, char out[CARVE_PCI_STRLEN + 1])
{
	if (n != CARVE_PCI_STRLEN)
		return false;
	char tmp[CARVE_PCI_STRLEN + 1];
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	struct carve_pci_addr a;
	if (carve_pci_parse(tmp, &a) < 0)
		return false;
	carve_pci_format(&a, out);
	/* sysfs names are lower case; a name in another spelling is not one. */
	return memcmp(out, tmp, n) == 0;
}

/* The last component of an absolute path (no trailing slash: checked). */
static const char *last_component(const char *path, size_t *n)
{
	const char *s = strrchr(path, '/');
	*n = strlen(s + 1);
	return s + 1;
}

/* The deepest PCI-named component of devpath, into out; false if none. */
static bool deepest_pci(const char *devpath, char out[CARVE_PCI_STRLEN + 1])
{
	bool found = false;
	const char *p = devpath;
	while (*p == '/') {
		const char *c = p + 1, *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		char tmp[CARVE_PCI_STRLEN + 1];
		if (pci_name(c, n, tmp)) {
			memcpy(out, tmp, sizeof(tmp));
			found = true;
		}
		p = c + n;
	}
	return found;
}

static enum carve_uevent_action action_of(const char *s)
{
	for (size_t i = 1; i < ARRAY_SIZE(action_names); i++)
		if (strcmp(s, action_names[i]) == 0)
			return (enum carve_uevent_action)i;
	return CARVE_UEVENT_OTHER;
}

/* What carve makes of a well-formed event (see uevent.h).  -EINVAL when a
 * kind carve keeps lacks what the kernel always sends with it. */
static int classify(struct carve_uevent *ev, bool have_slot, const char *slot, size_t slot_len)
{
	enum carve_uevent_action a = ev->action;
	bool lifecycle = a == CARVE_UEVENT_ADD || a == CARVE_UEVENT_REMOVE || a == CARVE_UEVENT_CHANGE ||
			 a == CARVE_UEVENT_BIND || a == CARVE_UEVENT_UNBIND;
	size_t ln;
	const char *last = last_component(ev->devpath, &ln);

	if (strcmp(ev->subsystem, "pci") == 0) {
		if (!lifecycle)
			return 0;
		if (!have_slot || !pci_name(slot, slot_len, ev->pci) || ln != slot_len || memcmp(last, slot, ln) != 0) {
			ev->pci[0] = '\0';
			return -EINVAL;
		}
		ev->kind = CARVE_UEVENT_PCI;
		return 0;
	}
	if (strcmp(ev->subsystem, "mdev") == 0) {
		if (!lifecycle)
			return 0;
		if (ln != CARVE_UUID_STRLEN)
			return -EINVAL;
		char u[CARVE_UUID_STRLEN + 1];
		memcpy(u, last, ln);
		u[ln] = '\0';
		if (carve_uuid_normalize(u, ev->uuid) < 0)
			return -EINVAL;
		/* The parent is the component before the UUID. */
		size_t dl = (size_t)(last - ev->devpath) - 1; /* up to the '/' before it */
		const char *pe = ev->devpath + dl, *ps = pe;
		while (ps > ev->devpath && ps[-1] != '/')
			ps--;
		if (!pci_name(ps, (size_t)(pe - ps), ev->pci)) {
			ev->pci[0] = ev->uuid[0] = '\0';
			return 0; /* a parent carve does not model (ccw, ap, mtty) */
		}
		ev->kind = CARVE_UEVENT_MDEV;
		return 0;
	}
	if (a == CARVE_UEVENT_CHANGE && ev->mdev_state[0]) {
		if (pci_name(last, ln, ev->pci))
			ev->kind = CARVE_UEVENT_UNDER;
		return 0;
	}
	if ((strcmp(ev->subsystem, "vfio") == 0 || strcmp(ev->subsystem, "vfio-dev") == 0) &&
	    (a == CARVE_UEVENT_ADD || a == CARVE_UEVENT_REMOVE)) {
		if (deepest_pci(ev->devpath, ev->pci))
			ev->kind = CARVE_UEVENT_UNDER;
		return 0;
	}
	return 0;
}

static int parse(const char *buf, size_t len, struct carve_uevent *ev)
{
	if (len == 0 || len > CARVE_UEVENT_MSG_MAX)
		return -EMSGSIZE;
	if (buf[len - 1] != '\0')
		return -EINVAL;

	/* Header: ACTION@DEVPATH. */
	size_t hl = strlen(buf);
	const char *at = memchr(buf, '@', hl);
	if (!at || !printable_ascii(buf, hl))
		return -EINVAL;
	size_t al = (size_t)(at - buf), dl = hl - al - 1;
	if (al == 0 || al >= sizeof(ev->action_name))
		return -EINVAL;
	for (size_t i = 0; i < al; i++)
		if (buf[i] < 'a' || buf[i] > 'z')
			return -EINVAL;
	const char *hdev = at + 1;
	if (dl < 2 || hdev[0] != '/' || hdev[dl - 1] == '/' || memmem(hdev, dl, "//", 2))
		return -EINVAL;
	int r = keep(ev->action_name, sizeof(ev->action_name), buf, al);
	if (r < 0)
		return r;
	if ((r = keep(ev->devpath, sizeof(ev->devpath), hdev, dl)) < 0)
		return r;
	ev->action = action_of(ev->action_name);

	bool have_action = false, have_devpath = false, have_subsystem = false, have_seqnum = false;
	bool have_driver = false, have_state = false, have_slot = false;
	const char *slot = NULL;
	size_t slot_len = 0;
	for (size_t off = hl + 1; off < len;) {
		const char *f = buf + off;
		size_t fl = strlen(f); /* the last byte is NUL: bounded */
		off += fl + 1;
		if (fl == 0)
			return -EINVAL;
		for (size_t i = 0; i < fl; i++)
			if ((unsigned char)f[i] < 0x20 || (unsigned char)f[i] == 0x7f)
				return -EINVAL;
		const char *eq = memchr(f, '=', fl);
		if (!eq || eq == f)
			return -EINVAL;
		size_t kl = (size_t)(eq - f), vl = fl - kl - 1;
		for (size_t i = 0; i < kl; i++) {
			char c = f[i];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
				return -EINVAL;
		}
		const char *v = eq + 1;
#define KEY(name) (kl == sizeof(name) - 1 && memcmp(f, name, kl) == 0)
		bool *seen = KEY("ACTION")	    ? &have_action
			     : KEY("DEVPATH")	    ? &have_devpath
			     : KEY("SUBSYSTEM")     ? &have_subsystem
			     : KEY("SEQNUM")	    ? &have_seqnum
			     : KEY("DRIVER")	    ? &have_driver
			     : KEY("MDEV_STATE")    ? &have_state
			     : KEY("PCI_SLOT_NAME") ? &have_slot
						    : NULL;
		if (!seen)
			continue; /* not kept: well-formed is all it must be */
		if (*seen || vl == 0 || !printable_ascii(v, vl))
			return -EINVAL;
		*seen = true;
		if (KEY("ACTION")) {
			if (vl != al || memcmp(v, buf, al) != 0)
				return -EINVAL;
		} else if (KEY("DEVPATH")) {
			if (vl != dl || memcmp(v, hdev, dl) != 0)
				return -EINVAL;
		} else if (KEY("SUBSYSTEM")) {
			if ((r = keep(ev->subsystem, sizeof(ev->subsystem), v, vl)) < 0)
				return r;
		} else if (KEY("SEQNUM")) {
			uint64_t n = 0;
			if (vl > 20)
				return -EINVAL;
			for (size_t i = 0; i < vl; i++) {
				if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
					return -EINVAL;
				n = n * 10 + (uint64_t)(v[i] - '0');
			}
			ev->seqnum = n;
		} else if (KEY("DRIVER")) {
			if ((r = keep(ev->driver, sizeof(ev->driver), v, vl)) < 0)
				return r;
		} else if (KEY("MDEV_STATE")) {
			if ((r = keep(ev->mdev_state, sizeof(ev->mdev_state), v, vl)) < 0)
				return r;
		} else {
			slot = v;
			slot_len = vl;
		}
#undef KEY
	}
	if (!have_action || !have_devpath || !have_subsystem || !have_seqnum)
		return -EINVAL;
	return classify(ev, have_slot, slot, slot_len);
}

int carve_uevent_parse(const char *buf, size_t len, struct carve_uevent *out)
{
	memset(out, 0, sizeof(*out));
	int r = buf ? parse(buf, len, out) : -EMSGSIZE;
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- the dirty set ---- */

static void set_full(struct carve_uevent_listener *l)
{
	if (!l->full)
		l->stats.overflows++;
	l->full = true;
	l->n = 0; /* everything is dirty: the list says nothing more */
}

static void mark(struct carve_uevent_listener *l, const char pci[CARVE_PCI_STRLEN + 1])
{
	if (l->full)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->dirty[i], pci, CARVE_PCI_STRLEN) == 0)
			return;
	if (l->n == CARVE_UEVENT_DIRTY_MAX) {
		set_full(l);
		return;
	}
	memcpy(l->dirty[l->n++], pci, CARVE_PCI_STRLEN + 1);
}

int carve_uevent_feed(struct carve_uevent_listener *l, const char *buf, size_t len)
{
	struct carve_uevent ev;
	int r = carve_uevent_parse(buf, len, &ev);
	if (r < 0) {
		l->stats.malformed++;
		return r;
	}
	if (ev.kind == CARVE_UEVENT_IGNORED) {
		l->stats.ignored++;
		return 0;
	}
	l->stats.relevant++;
	mark(l, ev.pci);
	return 1;
}

bool carve_uevent_pending(const struct carve_uevent_listener *l)
{
	return l->full || l->n > 0;
}

bool carve_uevent_take(struct carve_uevent_listener *l, struct carve_uevent_batch *out)
{
	out->full = l->full;
	out->n = l->full ? 0 : l->n;
	for (size_t i = 0; i < out->n; i++)
		memcpy(out->pci[i], l->dirty[i], CARVE_PCI_STRLEN + 1);
	bool any = out->full || out->n > 0;
	if (any)
		l->stats.batches++;
	l->full = false;
	l->n = 0;
	return any;
}

void carve_uevent_get_stats(const struct carve_uevent_listener *l, struct carve_uevent_stats *out)
{
	*out = l->stats;
}

/* ---- the socket ---- */

int carve_uevent_fd(const struct carve_uevent_listener *l)
{
	return l->fd;
}

void carve_uevent_close(struct carve_uevent_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
CARVE_DEFINE_CLEANUP(struct carve_uevent_listener, carve_uevent_close)

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t sl = sizeof(*out);
	return getsockopt(fd, level, name, out, &sl) < 0 ? -errno : 0;
}

int carve_uevent_open_fd(int fd, struct carve_uevent_listener **out, struct carve_error *err)
{
	_cleanup_close_ int owned = fd;
	*out = NULL;
	int domain = 0, proto = 0, type = 0;
	int r = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &domain);
	if (r >= 0)
		r = sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type);
	if (r >= 0)
		r = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto);
	if (r < 0)
		return carve_error_set(err, r, "UEVENT_UNAVAILABLE",
				       "uevent listener: fd %d is not a usable socket: %s", fd, strerror(-r));
	bool kernel_only;
	if (domain == AF_NETLINK && proto == NETLINK_KOBJECT_UEVENT)
		kernel_only = true;
	else if (domain == AF_UNIX && type == SOCK_DGRAM)
		kernel_only = false;
	else
		return carve_error_set(err, -EINVAL, "UEVENT_UNAVAILABLE",
				       "uevent listener: fd %d is neither a uevent netlink socket "
				       "nor a unix datagram socket", fd);
	struct carve_uevent_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "uevent listener: out of memory");
	l->fd = TAKE_FD(owned);
	l->kernel_only = kernel_only;
	*out = l;
	return 0;
}

int carve_uevent_open(struct carve_uevent_listener **out, struct carve_error *err)
{
	*out = NULL;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return carve_error_set(err, -errno, "UEVENT_UNAVAILABLE", "cannot open a kernel uevent socket: %s",
				       strerror(errno));
	_cleanup_close_ int owned = fd;
	/* A storm queues in the kernel until the main loop reads it; beyond
	 * this the kernel drops and says ENOBUFS, which means "rediscover
	 * everything" - correct, only slower.  FORCE needs CAP_NET_ADMIN. */
	int sz = CARVE_UEVENT_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_pid = 0, .nl_groups = 1};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return carve_error_set(err, -errno, "UEVENT_UNAVAILABLE", "cannot listen to kernel uevents: %s",
				       strerror(errno));
	return carve_uevent_open_fd(TAKE_FD(owned), out, err);
}

int carve_uevent_read(struct carve_uevent_listener *l, struct carve_error *err)
{
	int got = 0;
	for (unsigned i = 0; i < CARVE_UEVENT_READ_BUDGET; i++) {
		struct sockaddr_nl from = {0};
		struct iovec iov = {.iov_base = l->buf, .iov_len = sizeof(l->buf)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* the kernel dropped events */
				set_full(l);
				got++;
				continue;
			}
			return carve_error_set(err, -errno, "UEVENT_READ_FAILED", "reading kernel uevents: %s",
					       strerror(errno));
		}
		l->stats.received++;
		if (l->kernel_only &&
		    (mh.msg_namelen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)) {
			l->stats.foreign++;
			continue;
		}
		if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > CARVE_UEVENT_MSG_MAX) {
			/* Too long to read whole: whatever it named is unknown. */
			l->stats.malformed++;
			set_full(l);
			got++;
			continue;
		}
		if (carve_uevent_feed(l, l->buf, (size_t)n) > 0)
			got++;
	}
	return got;
}
