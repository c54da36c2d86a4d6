/* Kernel uevents (src/host/uevent.c): the parser on real kernel messages and
 * on malformed ones, coalescing into the dirty set and its overflow into
 * "rediscover everything", the listener over a socketpair (a storm of
 * 100,000 messages: memory fixed, every read call within its budget), and
 * the netlink socket itself (kernel senders only; a real overrun, ENOBUFS,
 * in a network namespace of its own).
 *
 * Messages marked "Debian 6.1" were recorded by tests/testbed/tools/
 * uevent-dump in the testbed (emulated GPUs are platform devices named like
 * PCI functions there; the VFs are QEMU's SR-IOV NVMe's); the NVIDIA ones
 * are the same kernel format (pci_uevent, mdev core) with a real board's
 * PCI ids and topology.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "host/uevent.h"
#include "util/cleanup.h"

#define MSG(s) s, sizeof(s) - 1 /* the literal's own final NUL is not sent */

CARVE_DEFINE_CLEANUP(struct carve_uevent_listener, carve_uevent_close)

struct want {
	const char *what;
	const char *buf;
	size_t len;
	enum carve_uevent_action action;
	enum carve_uevent_kind kind;
	const char *pci, *uuid, *driver;
};

#define UUID1 "040faa8e-7abc-4373-9efb-b0cf0210c459"
#define UUID2 "3b5e9c7a-1d2f-4e6b-8a9c-0d1e2f3a4b5c"

static const struct want real[] = {
	/* Debian 6.1, the testbed */
	{"mdev add under an emulated GPU",
	 MSG("add@/devices/platform/0000:41:00.0/" UUID1 "\0ACTION=add\0DEVPATH=/devices/platform/0000:41:00.0/" UUID1
	     "\0SUBSYSTEM=mdev\0SEQNUM=628\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_MDEV, "0000:41:00.0", UUID1, ""},
	{"mdev bind to the vendor driver",
	 MSG("bind@/devices/platform/0000:41:00.0/" UUID1 "\0ACTION=bind\0DEVPATH=/devices/platform/0000:41:00.0/" UUID1
	     "\0SUBSYSTEM=mdev\0DRIVER=nvidia\0SEQNUM=631\0"),
	 CARVE_UEVENT_BIND, CARVE_UEVENT_MDEV, "0000:41:00.0", UUID1, "nvidia"},
	{"mdev unbind",
	 MSG("unbind@/devices/platform/0000:41:00.0/" UUID1 "\0ACTION=unbind\0DEVPATH=/devices/platform/0000:41:00.0/" UUID1
	     "\0SUBSYSTEM=mdev\0SEQNUM=634\0"),
	 CARVE_UEVENT_UNBIND, CARVE_UEVENT_MDEV, "0000:41:00.0", UUID1, ""},
	{"mdev remove",
	 MSG("remove@/devices/platform/0000:41:00.0/" UUID1 "\0ACTION=remove\0DEVPATH=/devices/platform/0000:41:00.0/" UUID1
	     "\0SUBSYSTEM=mdev\0SEQNUM=635\0"),
	 CARVE_UEVENT_REMOVE, CARVE_UEVENT_MDEV, "0000:41:00.0", UUID1, ""},
	{"the mdev's VFIO device",
	 MSG("add@/devices/platform/0000:41:00.0/" UUID1 "/vfio-dev/vfio0\0ACTION=add\0DEVPATH=/devices/platform/0000:41:00.0/" UUID1
	     "/vfio-dev/vfio0\0SUBSYSTEM=vfio-dev\0SEQNUM=630\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_UNDER, "0000:41:00.0", "", ""},
	{"a parent registers with the mdev core",
	 MSG("change@/devices/platform/0000:41:00.0\0ACTION=change\0DEVPATH=/devices/platform/0000:41:00.0\0SUBSYSTEM=platform\0"
	     "MDEV_STATE=registered\0DRIVER=nvidia\0MODALIAS=platform:0000:41:00.0\0SEQNUM=624\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_UNDER, "0000:41:00.0", "", "nvidia"},
	{"and unregisters",
	 MSG("change@/devices/platform/0000:41:00.0\0ACTION=change\0DEVPATH=/devices/platform/0000:41:00.0\0SUBSYSTEM=platform\0"
	     "MDEV_STATE=unregistered\0DRIVER=nvidia\0MODALIAS=platform:0000:41:00.0\0SEQNUM=665\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_UNDER, "0000:41:00.0", "", "nvidia"},
	{"PF bound to its driver",
	 MSG("bind@/devices/pci0000:00/0000:00:04.0\0ACTION=bind\0DEVPATH=/devices/pci0000:00/0000:00:04.0\0SUBSYSTEM=pci\0"
	     "DRIVER=nvme\0PCI_CLASS=10802\0PCI_ID=1B36:0010\0PCI_SUBSYS_ID=1AF4:1100\0PCI_SLOT_NAME=0000:00:04.0\0"
	     "MODALIAS=pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02\0SEQNUM=649\0"),
	 CARVE_UEVENT_BIND, CARVE_UEVENT_PCI, "0000:00:04.0", "", "nvme"},
	{"SR-IOV: a VF appears",
	 MSG("add@/devices/pci0000:00/0000:00:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0"
	     "PCI_CLASS=10802\0PCI_ID=1B36:0010\0PCI_SUBSYS_ID=1AF4:1100\0PCI_SLOT_NAME=0000:00:04.1\0"
	     "MODALIAS=pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02\0SEQNUM=655\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_PCI, "0000:00:04.1", "", ""},
	{"SR-IOV: the PF changes once its VFs are enabled",
	 MSG("change@/devices/pci0000:00/0000:00:04.0\0ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:04.0\0SUBSYSTEM=pci\0"
	     "DRIVER=nvme\0PCI_CLASS=10802\0PCI_ID=1B36:0010\0PCI_SUBSYS_ID=1AF4:1100\0PCI_SLOT_NAME=0000:00:04.0\0"
	     "MODALIAS=pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02\0SEQNUM=659\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_PCI, "0000:00:04.0", "", "nvme"},
	{"SR-IOV: a VF bound to the vendor VFIO driver",
	 MSG("bind@/devices/pci0000:00/0000:00:04.1\0ACTION=bind\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0"
	     "DRIVER=carve_vf_emu\0PCI_CLASS=10802\0PCI_ID=1B36:0010\0PCI_SUBSYS_ID=1AF4:1100\0PCI_SLOT_NAME=0000:00:04.1\0"
	     "MODALIAS=pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02\0SEQNUM=660\0"),
	 CARVE_UEVENT_BIND, CARVE_UEVENT_PCI, "0000:00:04.1", "", "carve_vf_emu"},
	{"SR-IOV: a VF unbound (no DRIVER)",
	 MSG("unbind@/devices/pci0000:00/0000:00:04.1\0ACTION=unbind\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0"
	     "PCI_CLASS=10802\0PCI_ID=1B36:0010\0PCI_SUBSYS_ID=1AF4:1100\0PCI_SLOT_NAME=0000:00:04.1\0SEQNUM=661\0"),
	 CARVE_UEVENT_UNBIND, CARVE_UEVENT_PCI, "0000:00:04.1", "", ""},
	{"SR-IOV: a VF goes",
	 MSG("remove@/devices/pci0000:00/0000:00:04.2\0ACTION=remove\0DEVPATH=/devices/pci0000:00/0000:00:04.2\0SUBSYSTEM=pci\0"
	     "PCI_CLASS=10802\0PCI_ID=1B36:0010\0PCI_SUBSYS_ID=1AF4:1100\0PCI_SLOT_NAME=0000:00:04.2\0"
	     "MODALIAS=pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02\0SEQNUM=663\0"),
	 CARVE_UEVENT_REMOVE, CARVE_UEVENT_PCI, "0000:00:04.2", "", ""},
	{"a synthetic change (echo change > uevent)",
	 MSG("change@/devices/pci0000:00/0000:00:00.0\0ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:00.0\0SUBSYSTEM=pci\0"
	     "SYNTH_UUID=0\0PCI_CLASS=60000\0PCI_ID=8086:0D57\0PCI_SUBSYS_ID=0000:0000\0PCI_SLOT_NAME=0000:00:00.0\0"
	     "MODALIAS=pci:v00008086d00000D57sv00000000sd00000000bc06sc00i00\0SEQNUM=820\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_PCI, "0000:00:00.0", "", ""},
	/* Debian 6.1: things carve does not model */
	{"the VFIO group node (no device named)",
	 MSG("add@/devices/virtual/vfio/0\0ACTION=add\0DEVPATH=/devices/virtual/vfio/0\0SUBSYSTEM=vfio\0MAJOR=246\0MINOR=0\0"
	     "DEVNAME=vfio/0\0SEQNUM=629\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	{"the emulated GPU's platform device itself",
	 MSG("add@/devices/platform/0000:41:00.0\0ACTION=add\0DEVPATH=/devices/platform/0000:41:00.0\0SUBSYSTEM=platform\0"
	     "MODALIAS=platform:0000:41:00.0\0SEQNUM=623\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	{"a driver registers",
	 MSG("add@/bus/mdev/drivers/nvidia\0ACTION=add\0DEVPATH=/bus/mdev/drivers/nvidia\0SUBSYSTEM=drivers\0SEQNUM=621\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	{"a module loads",
	 MSG("add@/module/carve_vgpu_emu\0ACTION=add\0DEVPATH=/module/carve_vgpu_emu\0SUBSYSTEM=module\0SEQNUM=627\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	{"a class device under a PCI function",
	 MSG("change@/devices/pci0000:00/0000:00:04.0/nvme/nvme0\0ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:04.0/nvme/nvme0\0"
	     "SUBSYSTEM=nvme\0NVME_EVENT=connected\0MAJOR=245\0MINOR=0\0DEVNAME=nvme0\0NVME_TRTYPE=pcie\0SEQNUM=654\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_IGNORED, "", "", ""},
	{"hwmon under a PCI function",
	 MSG("add@/devices/pci0000:00/0000:00:04.0/nvme/nvme0/hwmon0\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.0/nvme/nvme0/hwmon0\0"
	     "SUBSYSTEM=hwmon\0SEQNUM=653\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	/* An NVIDIA host: Tesla P40 (10de:1b38) behind a root port */
	{"P40 appears",
	 MSG("add@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=add\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0"
	     "SUBSYSTEM=pci\0PCI_CLASS=30200\0PCI_ID=10DE:1B38\0PCI_SUBSYS_ID=10DE:11D9\0PCI_SLOT_NAME=0000:82:00.0\0"
	     "MODALIAS=pci:v000010DEd00001B38sv000010DEsd000011D9bc03sc02i00\0SEQNUM=4021\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_PCI, "0000:82:00.0", "", ""},
	{"P40 bound to nvidia",
	 MSG("bind@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=bind\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0"
	     "SUBSYSTEM=pci\0DRIVER=nvidia\0PCI_CLASS=30200\0PCI_ID=10DE:1B38\0PCI_SUBSYS_ID=10DE:11D9\0PCI_SLOT_NAME=0000:82:00.0\0"
	     "MODALIAS=pci:v000010DEd00001B38sv000010DEsd000011D9bc03sc02i00\0SEQNUM=4022\0"),
	 CARVE_UEVENT_BIND, CARVE_UEVENT_PCI, "0000:82:00.0", "", "nvidia"},
	{"P40 registers as an mdev parent (a pci change)",
	 MSG("change@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=change\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0"
	     "SUBSYSTEM=pci\0MDEV_STATE=registered\0DRIVER=nvidia\0PCI_CLASS=30200\0PCI_ID=10DE:1B38\0PCI_SUBSYS_ID=10DE:11D9\0"
	     "PCI_SLOT_NAME=0000:82:00.0\0MODALIAS=pci:v000010DEd00001B38sv000010DEsd000011D9bc03sc02i00\0SEQNUM=4023\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_PCI, "0000:82:00.0", "", "nvidia"},
	{"P40 vGPU created",
	 MSG("add@/devices/pci0000:80/0000:80:02.0/0000:82:00.0/" UUID2 "\0ACTION=add\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0/" UUID2
	     "\0SUBSYSTEM=mdev\0SEQNUM=4100\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_MDEV, "0000:82:00.0", UUID2, ""},
	{"P40 vGPU removed",
	 MSG("remove@/devices/pci0000:80/0000:80:02.0/0000:82:00.0/" UUID2 "\0ACTION=remove\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0/" UUID2
	     "\0SUBSYSTEM=mdev\0SEQNUM=4107\0"),
	 CARVE_UEVENT_REMOVE, CARVE_UEVENT_MDEV, "0000:82:00.0", UUID2, ""},
	{"P40 unbound",
	 MSG("unbind@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=unbind\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0"
	     "SUBSYSTEM=pci\0PCI_CLASS=30200\0PCI_ID=10DE:1B38\0PCI_SUBSYS_ID=10DE:11D9\0PCI_SLOT_NAME=0000:82:00.0\0SEQNUM=4200\0"),
	 CARVE_UEVENT_UNBIND, CARVE_UEVENT_PCI, "0000:82:00.0", "", ""},
	{"P40 removed",
	 MSG("remove@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=remove\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0"
	     "SUBSYSTEM=pci\0PCI_CLASS=30200\0PCI_ID=10DE:1B38\0PCI_SUBSYS_ID=10DE:11D9\0PCI_SLOT_NAME=0000:82:00.0\0"
	     "MODALIAS=pci:v000010DEd00001B38sv000010DEsd000011D9bc03sc02i00\0SEQNUM=4201\0"),
	 CARVE_UEVENT_REMOVE, CARVE_UEVENT_PCI, "0000:82:00.0", "", ""},
	{"an A16 VF behind a switch port (NVIDIA SR-IOV)",
	 MSG("add@/devices/pci0000:40/0000:40:01.1/0000:41:00.0/0000:42:08.0/0000:45:00.4\0ACTION=add\0"
	     "DEVPATH=/devices/pci0000:40/0000:40:01.1/0000:41:00.0/0000:42:08.0/0000:45:00.4\0SUBSYSTEM=pci\0PCI_CLASS=30200\0"
	     "PCI_ID=10DE:25B6\0PCI_SUBSYS_ID=10DE:14A9\0PCI_SLOT_NAME=0000:45:00.4\0"
	     "MODALIAS=pci:v000010DEd000025B6sv000010DEsd000014A9bc03sc02i00\0SEQNUM=5120\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_PCI, "0000:45:00.4", "", ""},
	{"a VF's VFIO device (vendor VFIO, kernel 6.2+)",
	 MSG("add@/devices/pci0000:40/0000:40:01.1/0000:45:00.4/vfio-dev/vfio3\0ACTION=add\0"
	     "DEVPATH=/devices/pci0000:40/0000:40:01.1/0000:45:00.4/vfio-dev/vfio3\0SUBSYSTEM=vfio-dev\0MAJOR=511\0MINOR=3\0"
	     "DEVNAME=vfio/devices/vfio3\0SEQNUM=5130\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_UNDER, "0000:45:00.4", "", ""},
	/* more to ignore */
	{"display hotplug on a GPU's DRM card",
	 MSG("change@/devices/pci0000:00/0000:00:02.0/drm/card0\0ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:02.0/drm/card0\0"
	     "SUBSYSTEM=drm\0HOTPLUG=1\0MAJOR=226\0MINOR=0\0DEVNAME=dri/card0\0DEVTYPE=drm_minor\0SEQNUM=2762\0"),
	 CARVE_UEVENT_CHANGE, CARVE_UEVENT_IGNORED, "", "", ""},
	{"an mdev whose parent is no PCI function (mtty sample)",
	 MSG("add@/devices/virtual/mtty/mtty/" UUID2 "\0ACTION=add\0DEVPATH=/devices/virtual/mtty/mtty/" UUID2
	     "\0SUBSYSTEM=mdev\0SEQNUM=77\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	{"PCI devices neither move nor go online",
	 MSG("online@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=online\0DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0"
	     "SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:82:00.0\0SEQNUM=9\0"),
	 CARVE_UEVENT_ONLINE, CARVE_UEVENT_IGNORED, "", "", ""},
	{"an input device whose NAME has spaces, quotes and UTF-8",
	 MSG("add@/devices/platform/i8042/serio0/input/input3\0ACTION=add\0DEVPATH=/devices/platform/i8042/serio0/input/input3\0"
	     "SUBSYSTEM=input\0PRODUCT=11/1/1/ab41\0NAME=\"Caf\xc3\xa9 AT Translated Set 2 keyboard\"\0PHYS=\"isa0060/serio0/input0\"\0"
	     "PROP=0\0EV=120013\0KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe\0MODALIAS=input:b0011v0001p0001eAB41-e0\0"
	     "SEQNUM=1203\0"),
	 CARVE_UEVENT_ADD, CARVE_UEVENT_IGNORED, "", "", ""},
	{"an action this version does not know",
	 MSG("frobnicate@/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0ACTION=frobnicate\0"
	     "DEVPATH=/devices/pci0000:80/0000:80:02.0/0000:82:00.0\0SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:82:00.0\0SEQNUM=9\0"),
	 CARVE_UEVENT_OTHER, CARVE_UEVENT_IGNORED, "", "", ""},
};

static void test_parse_real(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
		const struct want *w = &real[i];
		struct carve_uevent ev;
		int r = carve_uevent_parse(w->buf, w->len, &ev);
		if (r != 0)
			fail_msg("%s: parse returned %d", w->what, r);
		if (ev.action != w->action || ev.kind != w->kind)
			fail_msg("%s: action %d kind %d, expected %d %d", w->what, ev.action, ev.kind, w->action, w->kind);
		if (strcmp(ev.pci, w->pci) != 0 || strcmp(ev.uuid, w->uuid) != 0 || strcmp(ev.driver, w->driver) != 0)
			fail_msg("%s: pci '%s' uuid '%s' driver '%s'", w->what, ev.pci, ev.uuid, ev.driver);
		/* The header and the keys agree, and the devpath is kept whole. */
		assert_string_equal(ev.action_name, strtok(strdupa(w->buf), "@"));
		assert_string_equal(ev.devpath, strchr(w->buf, '@') + 1);
		assert_true(ev.seqnum > 0);
		assert_true(ev.subsystem[0] != '\0');
	}
	struct carve_uevent ev;
	assert_int_equal(carve_uevent_parse(real[0].buf, real[0].len, &ev), 0);
	assert_int_equal(ev.seqnum, 628);
	assert_string_equal(ev.subsystem, "mdev");
	assert_string_equal(carve_uevent_action_name(ev.action), "add");
	assert_int_equal(carve_uevent_parse(real[5].buf, real[5].len, &ev), 0);
	assert_string_equal(ev.mdev_state, "registered");
}

/* Every prefix and every single-byte corruption of every real message is
 * either refused with *out zeroed or parsed into something consistent. */
static void test_parse_mutations(void **state)
{
	(void)state;
	static const struct carve_uevent zero;
	char buf[CARVE_UEVENT_MSG_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
		const struct want *w = &real[i];
		/* every prefix (len < w->len, flip -1), then the whole message with
		 * each byte changed in turn */
		for (size_t k = 0; k < 2 * w->len + 1; k++) {
			size_t len = k <= w->len ? k : w->len;
			int flip = k <= w->len ? -1 : (int)(k - w->len - 1);
			for (int pass = 0; pass < (flip >= 0 ? 3 : 1); pass++) {
				memcpy(buf, w->buf, len);
				if (flip >= 0)
					buf[flip] = (char)(buf[flip] ^ (pass == 0 ? 0x20 : pass == 1 ? 0x01 : 0xff));
				struct carve_uevent ev;
				memset(&ev, 0xa5, sizeof(ev));
				int r = carve_uevent_parse(buf, len, &ev);
				if (r < 0) {
					assert_memory_equal(&ev, &zero, sizeof(ev));
					assert_true(r == -EINVAL || r == -EMSGSIZE || r == -ENAMETOOLONG);
				} else {
					assert_int_equal(r, 0);
					assert_true(ev.kind == CARVE_UEVENT_IGNORED ? ev.pci[0] == '\0' : carve_pci_valid(ev.pci));
					assert_true(ev.kind == CARVE_UEVENT_MDEV ? carve_uuid_valid(ev.uuid) : ev.uuid[0] == '\0');
				}
			}
		}
	}
}

static void test_parse_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *what, *buf;
		size_t len;
		int err;
	} bad[] = {
		{"empty", "", 0, -EMSGSIZE},
		{"no final NUL", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1"), -EINVAL},
		{"a udev (libudev) message", MSG("libudev\0\xfe\xed\xca\xfe\0\0\0\0"), -EINVAL},
		{"header without @", MSG("add/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"empty action", MSG("@/devices/x\0ACTION=\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"upper-case action", MSG("ADD@/devices/x\0ACTION=ADD\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"action too long",
		 MSG("addaddaddaddaddadd@/devices/x\0ACTION=addaddaddaddaddadd\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"),
		 -EINVAL},
		{"relative devpath", MSG("add@devices/x\0ACTION=add\0DEVPATH=devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"devpath /", MSG("add@/\0ACTION=add\0DEVPATH=/\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"devpath ending in /", MSG("add@/devices/x/\0ACTION=add\0DEVPATH=/devices/x/\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"devpath with //", MSG("add@/devices//x\0ACTION=add\0DEVPATH=/devices//x\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"control character in the header",
		 MSG("add@/devices/\tx\0ACTION=add\0DEVPATH=/devices/\tx\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"no ACTION key", MSG("add@/devices/x\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"no DEVPATH key", MSG("add@/devices/x\0ACTION=add\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"no SUBSYSTEM", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SEQNUM=1\0"), -EINVAL},
		{"no SEQNUM", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"), -EINVAL},
		{"header only", MSG("add@/devices/x\0"), -EINVAL},
		{"ACTION differs from the header",
		 MSG("add@/devices/x\0ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SEQNUM=1\0"), -EINVAL},
		{"DEVPATH differs from the header",
		 MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/y\0SUBSYSTEM=block\0SEQNUM=1\0"), -EINVAL},
		{"SUBSYSTEM twice",
		 MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SUBSYSTEM=pci\0SEQNUM=1\0"), -EINVAL},
		{"empty SUBSYSTEM", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=\0SEQNUM=1\0"), -EINVAL},
		{"empty field", MSG("add@/devices/x\0ACTION=add\0\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SEQNUM=1\0"), -EINVAL},
		{"field without =", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0JUNK\0SEQNUM=1\0"), -EINVAL},
		{"empty key", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0=x\0SEQNUM=1\0"), -EINVAL},
		{"key with -", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0A-B=x\0SEQNUM=1\0"), -EINVAL},
		{"control character in another value",
		 MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0NAME=a\x1b[2Jb\0SEQNUM=1\0"), -EINVAL},
		{"non-ASCII SUBSYSTEM", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=p\xc3\xa9\0SEQNUM=1\0"), -EINVAL},
		{"SEQNUM not a number", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SEQNUM=12a\0"), -EINVAL},
		{"SEQNUM beyond 64 bits",
		 MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SEQNUM=18446744073709551616\0"), -EINVAL},
		{"SEQNUM negative", MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0SEQNUM=-1\0"), -EINVAL},
		{"pci without PCI_SLOT_NAME",
		 MSG("add@/devices/pci0000:00/0000:00:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0SEQNUM=1\0"),
		 -EINVAL},
		{"PCI_SLOT_NAME not the device's",
		 MSG("add@/devices/pci0000:00/0000:00:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0"
		     "PCI_SLOT_NAME=0000:00:04.2\0SEQNUM=1\0"),
		 -EINVAL},
		{"PCI_SLOT_NAME in the short form",
		 MSG("add@/devices/pci0000:00/00:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/00:04.1\0SUBSYSTEM=pci\0"
		     "PCI_SLOT_NAME=00:04.1\0SEQNUM=1\0"),
		 -EINVAL},
		{"PCI_SLOT_NAME in upper case",
		 MSG("add@/devices/pci0000:00/0000:0A:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:0A:04.1\0SUBSYSTEM=pci\0"
		     "PCI_SLOT_NAME=0000:0A:04.1\0SEQNUM=1\0"),
		 -EINVAL},
		{"PCI_SLOT_NAME with a path in it",
		 MSG("add@/devices/pci0000:00/0000:00:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0"
		     "PCI_SLOT_NAME=../../../etc\0SEQNUM=1\0"),
		 -EINVAL},
		{"PCI_SLOT_NAME twice",
		 MSG("add@/devices/pci0000:00/0000:00:04.1\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.1\0SUBSYSTEM=pci\0"
		     "PCI_SLOT_NAME=0000:00:04.1\0PCI_SLOT_NAME=0000:00:04.1\0SEQNUM=1\0"),
		 -EINVAL},
		{"an mdev not named by a UUID",
		 MSG("add@/devices/pci0000:00/0000:00:04.0/notauuid\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.0/notauuid\0"
		     "SUBSYSTEM=mdev\0SEQNUM=1\0"),
		 -EINVAL},
		{"an mdev named by a UUID with junk",
		 MSG("add@/devices/pci0000:00/0000:00:04.0/" UUID1 "x\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.0/" UUID1
		     "x\0SUBSYSTEM=mdev\0SEQNUM=1\0"),
		 -EINVAL},
		{"DRIVER longer than kept",
		 MSG("bind@/devices/x\0ACTION=bind\0DEVPATH=/devices/x\0SUBSYSTEM=block\0"
		     "DRIVER=0123456789012345678901234567890123456789012345678901234567890123456789\0SEQNUM=1\0"),
		 -ENAMETOOLONG},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct carve_uevent ev;
		memset(&ev, 0x5a, sizeof(ev));
		int r = carve_uevent_parse(bad[i].buf, bad[i].len, &ev);
		if (r != bad[i].err)
			fail_msg("%s: got %d, expected %d", bad[i].what, r, bad[i].err);
		static const struct carve_uevent zero;
		assert_memory_equal(&ev, &zero, sizeof(ev));
	}

	/* Size limits: a message over CARVE_UEVENT_MSG_MAX, a devpath over its
	 * buffer. */
	struct carve_uevent ev;
	_cleanup_free_ char *big = calloc(1, CARVE_UEVENT_MSG_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', CARVE_UEVENT_MSG_MAX);
	assert_int_equal(carve_uevent_parse(big, CARVE_UEVENT_MSG_MAX + 1, &ev), -EMSGSIZE);
	assert_int_equal(carve_uevent_parse(NULL, 10, &ev), -EMSGSIZE);
	char path[CARVE_UEVENT_DEVPATH_MAX + 8];
	memset(path, 'd', sizeof(path));
	path[0] = '/';
	path[CARVE_UEVENT_DEVPATH_MAX] = '\0'; /* a devpath of exactly the buffer size: one too long */
	int n = snprintf(big, CARVE_UEVENT_MSG_MAX, "add@%s%cACTION=add%cDEVPATH=%s%cSUBSYSTEM=block%cSEQNUM=1%c", path, 0, 0,
			 path, 0, 0, 0);
	assert_int_equal(carve_uevent_parse(big, (size_t)n, &ev), -ENAMETOOLONG);
	path[CARVE_UEVENT_DEVPATH_MAX - 1] = '\0'; /* the longest that fits */
	n = snprintf(big, CARVE_UEVENT_MSG_MAX, "add@%s%cACTION=add%cDEVPATH=%s%cSUBSYSTEM=block%cSEQNUM=1%c", path, 0, 0,
		     path, 0, 0, 0);
	assert_int_equal(carve_uevent_parse(big, (size_t)n, &ev), 0);
	assert_int_equal(strlen(ev.devpath), CARVE_UEVENT_DEVPATH_MAX - 1);
}

/* ---- the listener ---- */

static struct carve_uevent_listener *pair_listener(int *peer)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	/* Room for thousands of messages, so a read call finds more than its
	 * budget queued.  FORCE needs CAP_NET_ADMIN; the plain size is capped
	 * at net.core.wmem_max. */
	int sz = 16 << 20;
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	int fl = fcntl(sv[1], F_GETFL);
	assert_int_equal(fcntl(sv[1], F_SETFL, fl | O_NONBLOCK), 0);
	struct carve_uevent_listener *l = NULL;
	struct carve_error err = {0};
	assert_int_equal(carve_uevent_open_fd(sv[0], &l, &err), 0);
	assert_int_equal(carve_uevent_fd(l), sv[0]);
	*peer = sv[1];
	return l;
}

/* A pci add event of function f (0 .. 0x1fffff: bus, slot, function). */
static size_t pci_msg(char *buf, size_t cap, unsigned f, unsigned long seq)
{
	char a[13];
	snprintf(a, sizeof(a), "0000:%02x:%02x.%x", (f >> 8) & 0xff, (f >> 3) & 0x1f, f & 7);
	int n = snprintf(buf, cap,
			 "add@/devices/pci0000:00/%s%cACTION=add%cDEVPATH=/devices/pci0000:00/%s%cSUBSYSTEM=pci%c"
			 "PCI_CLASS=30200%cPCI_ID=10DE:1B38%cPCI_SLOT_NAME=%s%cSEQNUM=%lu%c",
			 a, 0, 0, a, 0, 0, 0, 0, a, 0, seq, 0);
	return (size_t)n;
}

static void test_coalesce(void **state)
{
	(void)state;
	int peer;
	_cleanup_(carve_uevent_closep) struct carve_uevent_listener *l = pair_listener(&peer);
	_cleanup_close_ int peer_fd = peer; /* closed on return; the test writes through peer */
	(void)peer_fd;
	struct carve_uevent_batch b;
	char buf[512];

	assert_false(carve_uevent_pending(l));
	assert_false(carve_uevent_take(l, &b));
	assert_false(b.full);
	assert_int_equal(b.n, 0);

	/* The same GPU many times, its mdevs, its registration: one address. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(carve_uevent_feed(l, real[20 + i % 5].buf, real[20 + i % 5].len), 1);
	assert_int_equal(carve_uevent_feed(l, real[29].buf, real[29].len), 0); /* ignored */
	assert_int_equal(carve_uevent_feed(l, "junk", 4), -EINVAL);
	assert_true(carve_uevent_pending(l));
	assert_true(carve_uevent_take(l, &b));
	assert_false(b.full);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.pci[0], "0000:82:00.0");
	assert_false(carve_uevent_pending(l));
	assert_false(carve_uevent_take(l, &b));

	/* Distinct addresses, in the order first seen, up to the maximum. */
	for (unsigned f = 0; f < CARVE_UEVENT_DIRTY_MAX; f++) {
		size_t n = pci_msg(buf, sizeof(buf), f, f + 1);
		assert_int_equal(carve_uevent_feed(l, buf, n), 1);
		assert_int_equal(carve_uevent_feed(l, buf, n), 1); /* a repeat costs nothing */
	}
	assert_true(carve_uevent_take(l, &b));
	assert_false(b.full);
	assert_int_equal(b.n, CARVE_UEVENT_DIRTY_MAX);
	assert_string_equal(b.pci[0], "0000:00:00.0");
	assert_string_equal(b.pci[9], "0000:00:01.1");
	assert_string_equal(b.pci[CARVE_UEVENT_DIRTY_MAX - 1], "0000:00:1f.7");

	/* One more than the maximum: "everything", and no list. */
	for (unsigned f = 0; f <= CARVE_UEVENT_DIRTY_MAX; f++) {
		size_t n = pci_msg(buf, sizeof(buf), f + 1000, f + 1);
		assert_int_equal(carve_uevent_feed(l, buf, n), 1);
	}
	struct carve_uevent_stats st;
	carve_uevent_get_stats(l, &st);
	assert_int_equal(st.overflows, 1);
	assert_true(carve_uevent_take(l, &b));
	assert_true(b.full);
	assert_int_equal(b.n, 0);
	/* The take reset it: addresses are collected again. */
	assert_int_equal(carve_uevent_feed(l, real[0].buf, real[0].len), 1);
	assert_true(carve_uevent_take(l, &b));
	assert_false(b.full);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.pci[0], "0000:41:00.0");
	carve_uevent_get_stats(l, &st);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.ignored, 1);
	assert_int_equal(st.relevant, 5 + 2 * CARVE_UEVENT_DIRTY_MAX + CARVE_UEVENT_DIRTY_MAX + 1 + 1);
	assert_int_equal(st.batches, 4);
}

static void test_socketpair_read(void **state)
{
	(void)state;
	int peer;
	_cleanup_(carve_uevent_closep) struct carve_uevent_listener *l = pair_listener(&peer);
	_cleanup_close_ int peer_fd = peer; /* closed on return; the test writes through peer */
	(void)peer_fd;
	struct carve_error err = {0};
	struct carve_uevent_batch b;

	assert_int_equal(carve_uevent_read(l, &err), 0); /* nothing queued: returns at once */
	for (size_t i = 0; i < ARRAY_SIZE(real); i++)
		assert_int_equal(send(peer, real[i].buf, real[i].len, 0), (ssize_t)real[i].len);
	assert_int_equal(send(peer, "x", 1, 0), 1); /* malformed */
	size_t relevant = 0;
	for (size_t i = 0; i < ARRAY_SIZE(real); i++)
		relevant += real[i].kind != CARVE_UEVENT_IGNORED;
	assert_int_equal(carve_uevent_read(l, &err), (int)relevant);
	assert_int_equal(carve_uevent_read(l, &err), 0);
	assert_true(carve_uevent_take(l, &b));
	assert_false(b.full);
	const char *expect[] = {"0000:41:00.0", "0000:00:04.0", "0000:00:04.1", "0000:00:04.2",
				"0000:00:00.0", "0000:82:00.0", "0000:45:00.4"};
	assert_int_equal(b.n, ARRAY_SIZE(expect));
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++)
		assert_string_equal(b.pci[i], expect[i]);
	struct carve_uevent_stats st;
	carve_uevent_get_stats(l, &st);
	assert_int_equal(st.received, ARRAY_SIZE(real) + 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.foreign, 0); /* a socketpair has no sender check */

	/* A datagram longer than any kernel message: whatever it named is
	 * unknown, so everything is dirty. */
	_cleanup_free_ char *big = malloc(CARVE_UEVENT_MSG_MAX + 100);
	assert_non_null(big);
	memset(big, 'a', CARVE_UEVENT_MSG_MAX + 100);
	assert_int_equal(send(peer, big, CARVE_UEVENT_MSG_MAX + 100, 0), CARVE_UEVENT_MSG_MAX + 100);
	assert_int_equal(carve_uevent_read(l, &err), 1);
	assert_true(carve_uevent_take(l, &b));
	assert_true(b.full);
	assert_int_equal(err.code, 0);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A storm: 100,000 messages (4 in 5 relevant, over 2,000 distinct
 * addresses; the rest ignored or malformed) through the socket while the
 * "main loop" reads and takes.  Memory does not grow, a batch never holds
 * more than the maximum, every read call returns within its budget even
 * with more queued, and every message is accounted for. */
static void test_storm(void **state)
{
	(void)state;
	enum { TOTAL = 100000 };
	int peer;
	_cleanup_(carve_uevent_closep) struct carve_uevent_listener *l = pair_listener(&peer);
	_cleanup_close_ int peer_fd = peer; /* closed on return; the test writes through peer */
	(void)peer_fd;
	struct carve_error err = {0};
	static struct carve_uevent_batch b;
	char buf[512];
	unsigned long sent = 0, want_relevant = 0, want_ignored = 0, want_malformed = 0;
	unsigned calls = 0, calls_at_budget = 0, takes_full = 0, takes = 0;
	double worst = 0, t0 = now_s();

	struct mallinfo2 m0 = mallinfo2();
	struct carve_uevent_stats st = {0};
	while (sent < TOTAL || st.received < TOTAL || carve_uevent_pending(l)) {
		/* Queue as much as the socket takes. */
		while (sent < TOTAL) {
			size_t n;
			const char *p = buf;
			switch (sent % 5) {
			case 4:
				if (sent % 10 == 4) {
					p = real[29].buf; /* ignored */
					n = real[29].len;
				} else {
					n = 3;
					memcpy(buf, "a@b", 3); /* malformed */
				}
				break;
			default:
				n = pci_msg(buf, sizeof(buf), (unsigned)(sent * 7919 % 2000), sent + 1);
			}
			if (send(peer, p, n, MSG_DONTWAIT) < 0) {
				assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
				break;
			}
			if (sent % 5 != 4)
				want_relevant++;
			else if (sent % 10 == 4)
				want_ignored++;
			else
				want_malformed++;
			sent++;
		}
		/* Drain the way carved does: read calls, a take now and then. */
		for (int k = 0; k < 4; k++) {
			struct carve_uevent_stats before, after;
			carve_uevent_get_stats(l, &before);
			double t = now_s();
			int r = carve_uevent_read(l, &err);
			t = now_s() - t;
			carve_uevent_get_stats(l, &after);
			assert_true(r >= 0 && r <= CARVE_UEVENT_READ_BUDGET);
			assert_true(after.received - before.received <= CARVE_UEVENT_READ_BUDGET);
			if (after.received - before.received == CARVE_UEVENT_READ_BUDGET) {
				calls_at_budget++;
				/* More was queued: the fd is still readable. */
				struct pollfd pfd = {.fd = carve_uevent_fd(l), .events = POLLIN};
				if (poll(&pfd, 1, 0) == 1)
					assert_true(pfd.revents & POLLIN);
			}
			if (t > worst)
				worst = t;
			calls++;
		}
		if (carve_uevent_take(l, &b)) {
			takes++;
			takes_full += b.full;
			assert_true(b.n <= CARVE_UEVENT_DIRTY_MAX);
			assert_true(!b.full || b.n == 0);
		}
		struct mallinfo2 m = mallinfo2();
		/* Nothing is allocated after open: allow the allocator's noise. */
		assert_true(m.uordblks <= m0.uordblks + 4096);
		carve_uevent_get_stats(l, &st);
	}
	double total = now_s() - t0;
	assert_int_equal(st.received, TOTAL);
	assert_int_equal(st.relevant, want_relevant);
	assert_int_equal(st.ignored, want_ignored);
	assert_int_equal(st.malformed, want_malformed);
	assert_true(calls_at_budget > 0); /* the bound was reached, and held */
	assert_true(takes_full > 0);      /* 2,000 addresses overflowed the set */
	/* 256 messages are parsed in well under a millisecond; leave room for
	 * sanitizers and a loaded machine. */
	assert_true(worst < 0.25);
	print_message("storm: %d messages in %.3f s, %u read calls (%u at the budget of %d), worst %.3f ms; "
		      "%u batches (%u full)\n",
		      TOTAL, total, calls, calls_at_budget, CARVE_UEVENT_READ_BUDGET, worst * 1e3, takes, takes_full);
}

static void test_open_fd_refuses(void **state)
{
	(void)state;
	struct carve_uevent_listener *l = (void *)1;
	struct carve_error err = {0};
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(carve_uevent_open_fd(p[0], &l, &err), -ENOTSOCK);
	assert_null(l);
	assert_string_equal(err.id, "UEVENT_UNAVAILABLE");
	assert_int_equal(fcntl(p[0], F_GETFD), -1); /* ownership passed: closed */
	assert_int_equal(errno, EBADF);
	close(p[1]);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	carve_error_clear(&err);
	assert_int_equal(carve_uevent_open_fd(s, &l, &err), -EINVAL);
	assert_null(l);
	assert_int_equal(fcntl(s, F_GETFD), -1);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* its end of file would read as messages */
	assert_true(s >= 0);
	assert_int_equal(carve_uevent_open_fd(s, &l, &err), -EINVAL);
	assert_null(l);
	int nl = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	if (nl >= 0) {
		assert_int_equal(carve_uevent_open_fd(nl, &l, &err), -EINVAL);
		assert_null(l);
	}
	carve_uevent_close(NULL);
}

/* The real socket: bound to group 1, non-blocking, close-on-exec; a
 * message sent to it by a process (root may) is foreign and dropped. */
static void test_netlink(void **state)
{
	(void)state;
	_cleanup_(carve_uevent_closep) struct carve_uevent_listener *l = NULL;
	struct carve_error err = {0};
	int r = carve_uevent_open(&l, &err);
	if (r < 0) {
		assert_null(l);
		assert_string_equal(err.id, "UEVENT_UNAVAILABLE");
		skip(); /* a sandbox without netlink: carved then warns and uses its timer */
	}
	int fd = carve_uevent_fd(l);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct sockaddr_nl me;
	socklen_t sl = sizeof(me);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &sl), 0);
	assert_int_equal(me.nl_groups, 1);
	int rcv = 0;
	sl = sizeof(rcv);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &sl), 0);
	print_message("netlink: port %u, receive buffer %d bytes\n", me.nl_pid, rcv);
	assert_true(carve_uevent_read(l, &err) >= 0); /* whatever the machine sent meanwhile */

	/* A forged "P40 appears" from user space, straight to our port. */
	_cleanup_close_ int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	assert_true(s >= 0);
	struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = me.nl_pid};
	const struct want *w = &real[20];
	if (sendto(s, w->buf, w->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		assert_true(errno == EPERM || errno == EACCES);
		skip(); /* unprivileged senders are refused by the kernel already */
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct carve_uevent_stats st = {0};
	for (int i = 0; i < 100 && st.foreign == 0; i++) {
		(void)poll(&pfd, 1, 10);
		assert_true(carve_uevent_read(l, &err) >= 0);
		carve_uevent_get_stats(l, &st);
	}
	assert_true(st.foreign >= 1);
	struct carve_uevent_batch b;
	carve_uevent_take(l, &b);
	for (size_t i = 0; i < b.n; i++) /* a real event may have come in meanwhile */
		assert_string_not_equal(b.pci[i], "0000:82:00.0");
}

/* The kernel drops events when the socket's queue is full and says so with
 * ENOBUFS: that must become "rediscover everything".  Made for real in a
 * network namespace of its own (a broadcast from user space stays in its
 * namespace, so no other listener on the machine sees it): a second socket
 * broadcasts to group 1 of a listener whose queue was shrunk.  The kernel's
 * own events reach that namespace too, so a real one may be among them.  Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); skipped
 * otherwise.  Runs in a child so the test process keeps its namespace. */
static int enobufs_child(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	struct carve_uevent_listener *l = NULL;
	if (carve_uevent_open(&l, NULL) < 0)
		return 77;
	int small = 1; /* the kernel rounds it up to its minimum */
	if (setsockopt(carve_uevent_fd(l), SOL_SOCKET, SO_RCVBUFFORCE, &small, sizeof(small)) < 0)
		return 77;
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	struct sockaddr_nl grp = {.nl_family = AF_NETLINK, .nl_groups = 1};
	for (int i = 0; i < 200; i++)
		if (sendto(s, real[20].buf, real[20].len, MSG_DONTWAIT, (struct sockaddr *)&grp, sizeof(grp)) < 0)
			return errno == EPERM ? 77 : 10;
	struct carve_error err = {0};
	int got = 0, r;
	while ((r = carve_uevent_read(l, &err)) > 0)
		got += r;
	if (r < 0)
		return 11;
	struct carve_uevent_stats st;
	carve_uevent_get_stats(l, &st);
	struct carve_uevent_batch b;
	bool any = carve_uevent_take(l, &b);
	/* The forged messages that fitted are foreign; the overrun is real. */
	int rc = got >= 1 && st.overflows == 1 && st.foreign >= 1 && any && b.full && b.n == 0 ? 0 : 12;
	if (rc)
		fprintf(stderr, "enobufs: got %d overflows %lu foreign %lu relevant %lu full %d\n", got,
			(unsigned long)st.overflows, (unsigned long)st.foreign, (unsigned long)st.relevant, b.full);
	carve_uevent_close(l);
	close(s);
	return rc;
}

static void test_enobufs(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(enobufs_child());
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(carve_uevent_action_name(CARVE_UEVENT_UNBIND), "unbind");
	assert_string_equal(carve_uevent_action_name(CARVE_UEVENT_OTHER), "other");
	assert_string_equal(carve_uevent_action_name((enum carve_uevent_action)99), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_real),	    cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_parse_malformed),   cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_socketpair_read),   cmocka_unit_test(test_storm),
		cmocka_unit_test(test_open_fd_refuses),   cmocka_unit_test(test_netlink),
		cmocka_unit_test(test_enobufs),	    cmocka_unit_test(test_action_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
