/* tree.c - see tree.h. */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/str.h"

/* Directory fds are cached by path: files are written directory by
 * directory, and walking every path from the root again would cost a dozen
 * syscalls per file. */
void tree_close(struct tree *t)
{
	for (size_t i = 0; i < TREE_DIR_CACHE; i++) {
		free(t->cache[i].path);
		if (t->cache[i].path)
			close(t->cache[i].fd);
		t->cache[i].path = NULL;
	}
	if (t->root >= 0)
		close(t->root);
	t->root = -1;
}

static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

/* Remember fd (owned by the cache from now on) as the directory rel. */
static void cache_put(struct tree *t, const char *rel, int fd)
{
	struct tree_dir_slot *victim = &t->cache[0];
	for (size_t i = 0; i < TREE_DIR_CACHE; i++) {
		if (!t->cache[i].path) {
			victim = &t->cache[i];
			break;
		}
		if (t->cache[i].used < victim->used)
			victim = &t->cache[i];
	}
	char *copy = strdup(rel);
	if (!copy) {
		close(fd);
		return;
	}
	if (victim->path) {
		free(victim->path);
		close(victim->fd);
	}
	victim->path = copy;
	victim->fd = fd;
	victim->used = ++t->tick;
}

/* The directory rel below the root (created as needed), as an fd borrowed
 * from the cache; -errno on failure.  Each component is opened with
 * O_NOFOLLOW from its parent, so nothing can lead outside the root. */
static int dir_fd(struct tree *t, const char *rel)
{
	if (!*rel)
		return t->root;
	size_t best = 0;
	int fd = t->root;
	for (size_t i = 0; i < TREE_DIR_CACHE; i++) {
		const char *cp = t->cache[i].path;
		if (!cp)
			continue;
		size_t n = strlen(cp);
		if (strcmp(cp, rel) == 0) {
			t->cache[i].used = ++t->tick;
			return t->cache[i].fd;
		}
		if (n > best && strncmp(rel, cp, n) == 0 && rel[n] == '/') {
			best = n;
			fd = t->cache[i].fd;
		}
	}
	const char *p = rel + best + (best ? 1 : 0);
	int cur = -1; /* owned fd of the walk, -1 while borrowing */
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char comp[256];
		if (!name_ok(p, len) || len >= sizeof(comp)) {
			if (cur >= 0)
				close(cur);
			return -EINVAL;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		int base = cur >= 0 ? cur : fd;
		int nfd = openat(base, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && mkdirat(base, comp, 0755) == 0)
			nfd = openat(base, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = -errno;
		if (cur >= 0)
			close(cur);
		if (nfd < 0)
			return e;
		cur = nfd;
		p += len;
		if (*p == '/')
			p++;
	}
	cache_put(t, rel, cur);
	return dir_fd(t, rel); /* now cached */
}

static int split(const char *rel, char *dir, size_t dsz, const char **base)
{
	const char *slash = strrchr(rel, '/');
	if (!slash) {
		dir[0] = '\0';
		*base = rel;
	} else {
		if ((size_t)(slash - rel) >= dsz)
			return -ENAMETOOLONG;
		memcpy(dir, rel, (size_t)(slash - rel));
		dir[slash - rel] = '\0';
		*base = slash + 1;
	}
	return name_ok(*base, strlen(*base)) ? 0 : -EINVAL;
}

static int fail(struct tree *t, const char *what, const char *rel, int r)
{
	fprintf(stderr, "carve-mkfixture: cannot %s %s/%s: %s\n", what, t->outdir, rel, strerror(-r));
	return r;
}

int tree_put_mode(struct tree *t, const char *rel, mode_t mode, const char *fmt, ...)
{
	char dir[1024];
	const char *base;
	int r = split(rel, dir, sizeof(dir), &base);
	if (r < 0)
		return fail(t, "create", rel, r);
	int dfd = dir_fd(t, dir);
	if (dfd < 0)
		return fail(t, "create", rel, dfd);
	_cleanup_close_ int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return fail(t, "create", rel, -errno);
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *text = NULL;
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return fail(t, "write", rel, -ENOMEM);
	if (n > 0 && write(fd, text, (size_t)n) != n)
		return fail(t, "write", rel, errno ? -errno : -EIO);
	return 0;
}

int tree_link(struct tree *t, const char *rel, const char *target)
{
	char dir[1024];
	const char *base;
	int r = split(rel, dir, sizeof(dir), &base);
	if (r < 0)
		return fail(t, "link", rel, r);
	int dfd = dir_fd(t, dir);
	if (dfd < 0)
		return fail(t, "link", rel, dfd);
	if (symlinkat(target, dfd, base) < 0)
		return fail(t, "link", rel, -errno);
	return 0;
}

int tree_mkdir(struct tree *t, const char *rel)
{
	int fd = dir_fd(t, rel);
	return fd < 0 ? fail(t, "create directory", rel, fd) : 0;
}


int tree_open(struct tree *t, const char *outdir)
{
	memset(t, 0, sizeof(*t));
	t->outdir = outdir;
	t->root = -1;
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "carve-mkfixture: cannot create %s: %s\n", outdir, strerror(errno));
		return -errno;
	}
	t->root = open(outdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->root < 0) {
		fprintf(stderr, "carve-mkfixture: cannot open %s: %s\n", outdir, strerror(errno));
		return -errno;
	}
	{
		_cleanup_closedir_ DIR *dir = fdopendir(dup(t->root));
		struct dirent *de;
		while (dir && (de = readdir(dir)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				fprintf(stderr, "carve-mkfixture: %s is not empty\n", outdir);
				return -ENOTEMPTY;
			}
	}
	/* The fixed skeleton: the bus and class directories exist on any host. */
	static const char *const skel_dirs[] = {"bus/pci/devices", "bus/pci/drivers", "bus/mdev/devices",
						"class/mdev_bus", "kernel/iommu_groups"};
	for (size_t i = 0; i < ARRAY_SIZE(skel_dirs); i++)
		TRY(tree_mkdir(t, skel_dirs[i]));
	return tree_put_mode(t, "bus/pci/drivers_probe", 0200, "%s", "");
}

int tree_finish(struct tree *t)
{
	/* Every driver directory gets bind/unbind, as the kernel's do. */
	int dfd = dir_fd(t, "bus/pci/drivers");
	_cleanup_closedir_ DIR *dir = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
	struct carve_strv drivers = {0};
	struct dirent *de;
	int r = dir ? 0 : -EIO;
	while (dir && (de = readdir(dir)))
		if (de->d_name[0] != '.' && carve_strv_push(&drivers, de->d_name) < 0)
			r = -ENOMEM;
	if (r == 0 && !carve_strv_contains(&drivers, "vfio-pci") && carve_strv_push(&drivers, "vfio-pci") < 0)
		r = -ENOMEM;
	for (size_t i = 0; i < drivers.n && r == 0; i++) {
		char p[256];
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/bind", drivers.v[i]);
		if ((r = tree_put_mode(t, p, 0200, "%s", "")) < 0)
			break;
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/unbind", drivers.v[i]);
		r = tree_put_mode(t, p, 0200, "%s", "");
	}
	carve_strv_clear(&drivers);
	tree_close(t);
	return r;
}
