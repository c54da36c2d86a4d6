// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-probe: open an mdev through the VFIO group/container API the way
 * QEMU does, check the emulated vGPU's PCI config space, optionally keep
 * the device open for a while (so a test can poke at it while "a VM is
 * running").  Built statically by tests/testbed/run, used inside the guest.
 *
 *   vfio-probe <mdev-uuid> [hold-seconds | /release/file]
 *
 * With a number, the device stays open that many seconds; with a path, it
 * stays open until that file exists (at most 120 s), so a test decides
 * exactly when the "VM" lets go.
 * Prints "vfio-probe: ok vendor=0x10de device=0x.... regions=N irqs=N"
 * and exits 0 on success; prints the failing step and exits 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>

static int die(const char *what)
{
	fprintf(stderr, "vfio-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX + 32], link[PATH_MAX];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	const char *uuid, *grp, *release = NULL;
	int container, group, dev, hold = 0;
	uint16_t ids[2];
	ssize_t n;

	if (argc < 2) {
		fprintf(stderr, "usage: vfio-probe <mdev-uuid> [hold-seconds | /release/file]\n");
		return 2;
	}
	uuid = argv[1];
	if (argc > 2) {
		if (argv[2][0] == '/')
			release = argv[2];
		else
			hold = atoi(argv[2]);
	}

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return die("readlink iommu_group");
	link[n] = '\0';
	grp = strrchr(link, '/');
	grp = grp ? grp + 1 : link;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return die("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return die("VFIO_GET_API_VERSION");
	if (!ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU))
		return die("no VFIO_TYPE1v2_IOMMU");

	snprintf(path, sizeof(path), "/dev/vfio/%s", grp);
	group = open(path, O_RDWR);
	if (group < 0)
		return die(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs))
		return die("VFIO_GROUP_GET_STATUS");
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EINVAL;
		return die("group not viable");
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return die("VFIO_SET_IOMMU");

	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (dev < 0)
		return die("VFIO_GROUP_GET_DEVICE_FD");
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &di))
		return die("VFIO_DEVICE_GET_INFO");
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI)) {
		errno = EINVAL;
		return die("not a vfio-pci device");
	}
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return die("VFIO_DEVICE_GET_REGION_INFO(config)");
	if (ri.size < 64) {
		errno = EINVAL;
		return die("config region too small");
	}
	if (pread(dev, &ids[0], 2, ri.offset) != 2 ||
	    pread(dev, &ids[1], 2, ri.offset + 2) != 2)
		return die("config read");
	if (ioctl(dev, VFIO_DEVICE_RESET))
		return die("VFIO_DEVICE_RESET");

	printf("vfio-probe: ok vendor=0x%04x device=0x%04x regions=%u irqs=%u group=%s\n",
	       ids[0], ids[1], di.num_regions, di.num_irqs, grp);
	fflush(stdout);
	if (hold > 0)
		sleep(hold);
	for (int i = 0; release && i < 120 * 20 && access(release, F_OK) != 0; i++)
		usleep(50000);
	close(dev);
	close(group);
	close(container);
	return 0;
}
