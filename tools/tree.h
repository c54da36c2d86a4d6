/* tree.h - write a sysfs-shaped tree below a directory, safely: every
 * component is opened with O_NOFOLLOW from its parent (nothing can lead
 * outside the root), names are checked (no "/", "." or ".."), files are
 * created with O_EXCL, and the root must be an empty, real directory.  Used
 * by carve-mkfixture for host profiles and for listings of real hosts.
 * Functions return 0 or a negative errno, having printed what failed. */
#pragma once

#include <stdarg.h>
#include <sys/types.h>

#define TREE_DIR_CACHE 16

struct tree_dir_slot {
	char *path;
	int fd;
	unsigned long used;
};

struct tree {
	int root;
	const char *outdir;
	struct tree_dir_slot cache[TREE_DIR_CACHE];
	unsigned long tick;
};

/* Open outdir (created if absent; it must be empty) and write the skeleton
 * every host has: bus/pci/{devices,drivers,drivers_probe}, bus/mdev/devices,
 * class/mdev_bus, kernel/iommu_groups. */
int tree_open(struct tree *t, const char *outdir);
/* Give every driver directory bind/unbind (vfio-pci always exists), close. */
int tree_finish(struct tree *t);
void tree_close(struct tree *t);

int tree_put_mode(struct tree *t, const char *rel, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define tree_put(t, rel, ...) tree_put_mode(t, rel, 0644, __VA_ARGS__)
int tree_link(struct tree *t, const char *rel, const char *target);
int tree_mkdir(struct tree *t, const char *rel);

#define TRY(x)                     \
	do {                       \
		int _r = (x);      \
		if (_r < 0)        \
			return _r; \
	} while (0)
