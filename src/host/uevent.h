/* uevent.h - the kernel's device events (NETLINK_KOBJECT_UEVENT), reduced to
 * the PCI devices whose vGPU state they may have changed.
 *
 * carved listens so that it rediscovers a device when the kernel says it
 * changed, instead of waiting for its refresh timer.  Attribute writes
 * (nvidia/current_vgpu_type, vgpu_params, sriov_numvfs on some drivers) send
 * no event, so the timer still runs; this is an accelerator, not the only
 * source of truth.
 *
 * Two layers:
 *
 *   carve_uevent_parse()  a pure function from one kernel message to a struct
 *                         carve_uevent: strict validation, fixed buffers, no
 *                         allocation; it is fuzzed (fuzz/fuzz-uevent.c).
 *   the listener          a socket plus a bounded "dirty set" of PCI
 *                         addresses: carve_uevent_read() drains what is
 *                         readable (at most CARVE_UEVENT_READ_BUDGET messages
 *                         per call, never blocking), carve_uevent_take()
 *                         hands over what accumulated and resets it.
 *
 * What carve keeps (everything else is ignored):
 *   SUBSYSTEM=pci    add, remove, change, bind, unbind: PCI_SLOT_NAME (the
 *                    GPU, or a VF: SR-IOV enablement shows as add of each VF
 *                    plus change of the PF; vfio-pci / vendor driver binds).
 *                    Every PCI function: the class is not checked, as
 *                    declared vendor-VFIO PFs and accelerators are GPUs to
 *                    carve; the receiver ignores addresses it has no use for.
 *   SUBSYSTEM=mdev   add, remove, change, bind, unbind: the mdev UUID (last
 *                    DEVPATH component) and its parent (the component before
 *                    it), kept only when the parent is named like a PCI
 *                    function (NVIDIA, GVT-g, the testbed's emulated GPUs;
 *                    not ccw/ap/mtty parents).
 *   change with MDEV_STATE=   (any subsystem) an mdev parent registering or
 *                    unregistering (the mdev_bus class itself sends no
 *                    event): the device DEVPATH names, if it is a PCI name.
 *   SUBSYSTEM=vfio, vfio-dev  add, remove: the deepest PCI-named component
 *                    of DEVPATH (a VFIO device of an mdev or of a PCI
 *                    function); the vfio group nodes under /devices/virtual
 *                    name none and are ignored.
 * "PCI name" means the canonical long form DDDD:BB:SS.F (carve_pci_parse,
 * exactly 12 characters), the way sysfs names PCI functions and mdev parents.
 * Addresses may name a VF or an mdev parent rather than the PGPU: the
 * receiver maps them to its PGPUs.
 *
 * The dirty set holds at most CARVE_UEVENT_DIRTY_MAX distinct addresses.
 * Beyond that, when the kernel reports that it dropped events (ENOBUFS: the
 * socket's receive buffer overflowed), or when a kernel message was too long
 * to read whole, the listener sets "full" (rediscover everything) and stops
 * collecting addresses until the next take.  Memory is fixed at open: a
 * storm of any length costs CPU (bounded per read call), never memory.
 *
 * Errors: 0 or a negative errno, with err filled (UEVENT_UNAVAILABLE when
 * the socket cannot be opened, UEVENT_READ_FAILED for a socket error).
 * Threading: a listener is used by one thread at a time; the parser is
 * reentrant.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/pci.h"
#include "util/uuid.h"

/* The longest message accepted.  The kernel's are at most its uevent buffer
 * (2048 bytes of KEY=VALUE) plus "action@devpath". */
#define CARVE_UEVENT_MSG_MAX 8192
/* Buffer sizes of the fields carve keeps (NUL included); a longer value of
 * such a field is refused (-ENAMETOOLONG). */
#define CARVE_UEVENT_DEVPATH_MAX 1024
#define CARVE_UEVENT_FIELD_MAX 64
/* Distinct addresses collected before falling back to "full". */
#define CARVE_UEVENT_DIRTY_MAX 256
/* Messages (and errors) one carve_uevent_read() call consumes at most. */
#define CARVE_UEVENT_READ_BUDGET 256
/* Receive buffer asked for (SO_RCVBUFFORCE when allowed, else SO_RCVBUF,
 * which the kernel caps at net.core.rmem_max). */
#define CARVE_UEVENT_RCVBUF (4 << 20)

enum carve_uevent_action {
	CARVE_UEVENT_OTHER = 0, /* an action this version does not know */
	CARVE_UEVENT_ADD,
	CARVE_UEVENT_REMOVE,
	CARVE_UEVENT_CHANGE,
	CARVE_UEVENT_MOVE,
	CARVE_UEVENT_ONLINE,
	CARVE_UEVENT_OFFLINE,
	CARVE_UEVENT_BIND,
	CARVE_UEVENT_UNBIND,
};

enum carve_uevent_kind {
	CARVE_UEVENT_IGNORED = 0, /* nothing carve models; pci and uuid are "" */
	CARVE_UEVENT_PCI,         /* a PCI function: pci = PCI_SLOT_NAME */
	CARVE_UEVENT_MDEV,        /* a mediated device: uuid, pci = its parent */
	CARVE_UEVENT_UNDER,       /* something of a PCI-named device (MDEV_STATE,
				   * vfio): pci = that device */
};

struct carve_uevent {
	enum carve_uevent_action action;
	enum carve_uevent_kind kind;
	uint64_t seqnum;
	char action_name[16];                 /* as sent ("add", ...) */
	char devpath[CARVE_UEVENT_DEVPATH_MAX]; /* "/devices/..." */
	char subsystem[CARVE_UEVENT_FIELD_MAX];
	char driver[CARVE_UEVENT_FIELD_MAX];  /* DRIVER, "" when absent */
	char mdev_state[CARVE_UEVENT_FIELD_MAX]; /* MDEV_STATE, "" when absent */
	char pci[CARVE_PCI_STRLEN + 1];       /* what it concerns (see kind) */
	char uuid[CARVE_UUID_STRLEN + 1];     /* CARVE_UEVENT_MDEV only */
};

/* Parse one message in the kernel's format:
 *   "ACTION@DEVPATH\0ACTION=...\0DEVPATH=...\0SUBSYSTEM=...\0SEQNUM=...\0..."
 * and classify it (kind, pci, uuid: see the top of this file).
 * Validation: 1..CARVE_UEVENT_MSG_MAX bytes, the last one NUL; every field
 * NUL-terminated and non-empty, free of control characters; the header is
 * ACTION@DEVPATH with a lower-case action and an absolute DEVPATH; every
 * other field KEY=VALUE with a key of [A-Za-z0-9_]; ACTION, DEVPATH,
 * SUBSYSTEM and SEQNUM present, ACTION and DEVPATH equal to the header's,
 * SEQNUM a decimal number; the fields carve keeps are printable ASCII, appear
 * once, and fit their buffers; a pci event names a valid PCI_SLOT_NAME equal
 * to the last DEVPATH component; an mdev event's last component is a UUID.
 * Nothing in the message is used as a path or trusted beyond these checks.
 * Returns 0 (out filled; out->kind says whether carve cares), -EMSGSIZE
 * (empty or longer than CARVE_UEVENT_MSG_MAX), -ENAMETOOLONG (a kept field
 * longer than its buffer) or -EINVAL (malformed); on error *out is zeroed.
 * Pure: no I/O, no allocation, no global state. */
int carve_uevent_parse(const char *buf, size_t len, struct carve_uevent *out);

struct carve_uevent_listener;

/* Open a NETLINK_KOBJECT_UEVENT socket bound to the kernel's multicast group
 * 1 (the kernel's own events; udev's re-broadcasts are group 2), non-blocking
 * and close-on-exec, with a receive buffer of CARVE_UEVENT_RCVBUF where the
 * kernel allows it.  Only messages whose sender port id is 0 (the kernel)
 * are read; anything a process sends to the socket is dropped and counted
 * as foreign.  -EACCES/-EPERM/-EAFNOSUPPORT etc. when the socket cannot be
 * made (a container without netlink, seccomp, RestrictAddressFamilies);
 * *out is NULL then.  The kernel sends device events only to network
 * namespaces owned by the initial user namespace: in a user-namespaced
 * container this succeeds and stays silent. */
int carve_uevent_open(struct carve_uevent_listener **out, struct carve_error *err);

/* The same around an existing socket, whose ownership passes to the listener
 * (closed on failure too).  The sender check depends on the socket:
 *   AF_NETLINK, protocol NETLINK_KOBJECT_UEVENT: as carve_uevent_open, only
 *     kernel senders (nl_pid 0) are read;
 *   AF_UNIX, SOCK_DGRAM (one end of a socketpair): no sender check - the
 *     caller vouches for whoever holds the other end; for tests that feed
 *     messages (a datagram socket has no end-of-file to spin on);
 * anything else is refused with -EINVAL (-ENOTSOCK for a non-socket).
 * Reads use MSG_DONTWAIT, so a blocking socket never blocks either. */
int carve_uevent_open_fd(int fd, struct carve_uevent_listener **out, struct carve_error *err);

/* Close the socket and free; NULL is accepted. */
void carve_uevent_close(struct carve_uevent_listener *l);

/* The socket, to poll for POLLIN.  Owned by the listener. */
int carve_uevent_fd(const struct carve_uevent_listener *l);

/* Read what is readable, at most CARVE_UEVENT_READ_BUDGET messages (the fd
 * stays readable when more are queued: poll again), and fold each relevant
 * one into the dirty set.  Never blocks; EINTR is retried within the budget.
 * Returns the number of relevant messages plus kernel overflows read in this
 * call (0: nothing new), or a negative errno for a socket error other than
 * EAGAIN/EINTR/ENOBUFS (UEVENT_READ_FAILED); what was collected before the
 * error stays collected. */
int carve_uevent_read(struct carve_uevent_listener *l, struct carve_error *err);

/* Parse one message as if it had been read from the socket (sender already
 * checked) and fold it in.  1: relevant, 0: ignored, <0: malformed (as
 * carve_uevent_parse; counted).  The seam carve_uevent_read uses. */
int carve_uevent_feed(struct carve_uevent_listener *l, const char *buf, size_t len);

/* Has anything accumulated since the last take? */
bool carve_uevent_pending(const struct carve_uevent_listener *l);

struct carve_uevent_batch {
	bool full;   /* rediscover everything; n is 0 then */
	size_t n;    /* distinct addresses, in the order first seen */
	char pci[CARVE_UEVENT_DIRTY_MAX][CARVE_PCI_STRLEN + 1];
};

/* Hand over what accumulated and reset the set and the full flag.  Returns
 * whether there is anything to rediscover (full or n > 0). */
bool carve_uevent_take(struct carve_uevent_listener *l, struct carve_uevent_batch *out);

/* Counters since open, for logs and tests. */
struct carve_uevent_stats {
	uint64_t received;  /* messages read, any sender */
	uint64_t foreign;   /* dropped: not sent by the kernel */
	uint64_t malformed; /* dropped: carve_uevent_parse refused them */
	uint64_t ignored;   /* well-formed, nothing carve models */
	uint64_t relevant;  /* folded into the dirty set */
	uint64_t overflows; /* times "full" was set: ENOBUFS, a truncated message,
			     * more than CARVE_UEVENT_DIRTY_MAX addresses */
	uint64_t batches;   /* takes that had something to hand over */
};
void carve_uevent_get_stats(const struct carve_uevent_listener *l, struct carve_uevent_stats *out);

const char *carve_uevent_action_name(enum carve_uevent_action a);
