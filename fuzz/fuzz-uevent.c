/* libFuzzer target: the kernel uevent parser and the dirty set
 * (src/host/uevent.c).  The input is one netlink datagram as the kernel
 * would send it.  Besides what ASan/UBSan catch, the contract: an error is
 * -EMSGSIZE, -ENAMETOOLONG or -EINVAL and leaves *out zeroed; a success has
 * NUL-terminated printable fields, an action name that matches the action,
 * an absolute devpath, and pci/uuid exactly when the kind says so, both
 * canonical.  The same input is then fed to a listener that lives across
 * inputs, whose batches never exceed CARVE_UEVENT_DIRTY_MAX addresses and
 * say "full" with no list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap, bool may_be_empty)
{
	size_t n = strnlen(s, cap);
	if (n >= cap || (!may_be_empty && n == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

static void check_event(const struct carve_uevent *ev)
{
	check_str(ev->action_name, sizeof(ev->action_name), false);
	check_str(ev->devpath, sizeof(ev->devpath), false);
	check_str(ev->subsystem, sizeof(ev->subsystem), false);
	check_str(ev->driver, sizeof(ev->driver), true);
	check_str(ev->mdev_state, sizeof(ev->mdev_state), true);
	if (ev->devpath[0] != '/')
		abort();
	if (ev->action != CARVE_UEVENT_OTHER && strcmp(carve_uevent_action_name(ev->action), ev->action_name) != 0)
		abort();
	if (ev->kind == CARVE_UEVENT_IGNORED) {
		if (ev->pci[0] || ev->uuid[0])
			abort();
		return;
	}
	char canon[CARVE_PCI_STRLEN + 1];
	if (carve_pci_normalize(ev->pci, canon) < 0 || strcmp(canon, ev->pci) != 0 || !strstr(ev->devpath, ev->pci))
		abort();
	if ((ev->kind == CARVE_UEVENT_MDEV) != (ev->uuid[0] != '\0'))
		abort();
	if (ev->uuid[0] && (!carve_uuid_valid(ev->uuid) || !strstr(ev->devpath, ev->uuid)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct carve_uevent zero;
	struct carve_uevent ev;
	memset(&ev, 0x5a, sizeof(ev));
	int r = carve_uevent_parse((const char *)data, size, &ev);
	if (r < 0) {
		if (r != -EMSGSIZE && r != -ENAMETOOLONG && r != -EINVAL)
			abort();
		if (memcmp(&ev, &zero, sizeof(ev)) != 0)
			abort();
	} else if (r == 0) {
		check_event(&ev);
	} else {
		abort();
	}

	/* One listener for the whole run (fixed memory whatever it is fed). */
	static struct carve_uevent_listener *l;
	static unsigned fed;
	if (!l) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0 || carve_uevent_open_fd(sv[0], &l, NULL) < 0)
			abort();
		close(sv[1]);
	}
	int f = carve_uevent_feed(l, (const char *)data, size);
	if (f != (r < 0 ? r : ev.kind != CARVE_UEVENT_IGNORED))
		abort();
	if (++fed % 512 == 0 || f < 0) {
		static struct carve_uevent_batch b;
		bool any = carve_uevent_take(l, &b);
		if (b.n > CARVE_UEVENT_DIRTY_MAX || (b.full && b.n) || any != (b.full || b.n > 0) || carve_uevent_pending(l))
			abort();
		for (size_t i = 0; i < b.n; i++)
			if (!carve_pci_valid(b.pci[i]))
				abort();
	}
	return 0;
}
