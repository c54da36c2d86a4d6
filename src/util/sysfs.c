#include "sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fault.h"

struct carve_sysfs {
	int rootfd;
	char *root;
};

/* The test-only write hook (sysfs.h); NULL in production. */
static carve_sysfs_write_fault_fn write_fault;
static void *write_fault_data;

void carve_sysfs_set_write_fault(carve_sysfs_write_fault_fn fn, void *data)
{
	write_fault = fn;
	write_fault_data = data;
}

/* by enum carve_sysfs_op_class; "any" first, the plan's default */
static const char *const class_names[] = {"any", "read", "write"};

/* The fault plan (sysfs.h): one per process, read from the environment
 * once, or set by carve_sysfs_set_fault_plan. */
static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	unsigned long target; /* 0: no fault */
	int fault;            /* -errno, or CARVE_FAULT_SHORT */
	enum carve_sysfs_op_class cls;
	unsigned long count[ARRAY_SIZE(class_names)];
	char *log;
	bool armed; /* a plan or a log: operations are counted */
} plan = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};


static void plan_from_env(void)
{
	const char *spec = getenv(CARVE_SYSFS_FAULT_ENV);
	unsigned cls = CARVE_SYSFS_OP_ANY;
	if (spec && carve_fault_parse(spec, class_names, ARRAY_SIZE(class_names), &plan.target, &plan.fault, &cls) <
			    0) {
		/* A test that asked for a fault must not silently run without it. */
		fprintf(stderr, "carve: %s=%s: expected N:EIO|EBUSY|ENODEV|ENOSPC|ENOENT|EINVAL|short[:read|write|any]\n",
			CARVE_SYSFS_FAULT_ENV, spec);
		abort();
	}
	plan.cls = (enum carve_sysfs_op_class)cls;
	const char *log = getenv(CARVE_SYSFS_FAULT_LOG_ENV);
	if (log && *log)
		plan.log = strdup(log);
	plan.armed = spec || plan.log;
}

void carve_sysfs_set_fault_plan(unsigned long n, int fault, enum carve_sysfs_op_class cls)
{
	pthread_once(&plan.once, plan_from_env);
	pthread_mutex_lock(&plan.lock);
	plan.target = n;
	plan.fault = fault;
	plan.cls = cls;
	plan.armed = true; /* counted from now on, even with no fault planned */
	memset(plan.count, 0, sizeof(plan.count));
	pthread_mutex_unlock(&plan.lock);
}

unsigned long carve_sysfs_fault_count(void)
{
	pthread_once(&plan.once, plan_from_env);
	pthread_mutex_lock(&plan.lock);
	unsigned long n = plan.count[CARVE_SYSFS_OP_ANY];
	pthread_mutex_unlock(&plan.lock);
	return n;
}

/* Count one operation; the planned fault when this is the planned one. */
static int fault_take(enum carve_sysfs_op_class cls, const char *root, const char *path, const char *attr)
{
	pthread_once(&plan.once, plan_from_env);
	if (!plan.armed)
		return 0;
	pthread_mutex_lock(&plan.lock);
	unsigned long nth = ++plan.count[cls];
	unsigned long any = ++plan.count[CARVE_SYSFS_OP_ANY];
	unsigned long mine = plan.cls == CARVE_SYSFS_OP_ANY ? any : plan.cls == cls ? nth : 0;
	int f = plan.target && mine == plan.target ? plan.fault : 0;
	if (plan.log) {
		FILE *lf = fopen(plan.log, "ae");
		if (lf) {
			fprintf(lf, "%lu %s %s/%s%s%s%s\n", any, class_names[cls], root, path, attr ? "/" : "",
				attr ? attr : "", f ? " FAULT" : "");
			fclose(lf);
		}
	}
	pthread_mutex_unlock(&plan.lock);
	return f;
}

/* A read's turn in the plan: 0, or the planned fault as the error of
 * reading path ("what" says how: "read", "list", "read link"); a read's
 * "short" is EIO. */
static int read_fault(struct carve_sysfs *s, const char *what, const char *path, struct carve_error *err)
{
	int f = fault_take(CARVE_SYSFS_OP_READ, s->root, path, NULL);
	if (!f)
		return 0;
	if (f == CARVE_FAULT_SHORT)
		f = -EIO;
	return carve_error_set(err, f, "SYSFS_READ_FAILED", "cannot %s %s/%s: %s (injected)", what, s->root, path,
			       strerror(-f));
}

/* openat2 with RESOLVE_IN_ROOT or RESOLVE_BENEATH fails with EAGAIN when a
 * rename anywhere on the mount raced the lookup of a ".." (the kernel cannot
 * then prove the walk stayed inside): the documented answer is to try
 * again.  sysfs's relative links are full of "..", and a busy host renames
 * files all the time; the bound only stops a livelock. */
#define OPENAT2_EAGAIN_TRIES 1000

static int sys_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)flags, .resolve = resolve};
	for (int i = 0;; i++) {
		long r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (r >= 0)
			return (int)r;
		if ((errno != EAGAIN && errno != EINTR) || i == OPENAT2_EAGAIN_TRIES)
			return -errno;
	}
}

bool carve_sysfs_path_valid(const char *path)
{
	if (!path || !*path || path[0] == '/' || strlen(path) > 1024)
		return false;
	const char *p = path;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return false;
		p += len;
		if (*p == '/')
			p++;
		if (slash && !*p)
			return false; /* trailing slash */
	}
	return true;
}

int carve_sysfs_open(const char *root, struct carve_sysfs **out, struct carve_error *err)
{
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return carve_error_set(err, -errno, "SYSFS_ROOT_UNREADABLE", "cannot open sysfs root %s: %s",
				       root, strerror(errno));
	struct carve_sysfs *s = calloc(1, sizeof(*s));
	if (!s || !(s->root = strdup(root))) {
		free(s);
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	}
	s->rootfd = TAKE_FD(fd);
	*out = s;
	return 0;
}

void carve_sysfs_close(struct carve_sysfs *s)
{
	if (!s)
		return;
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->root);
	free(s);
}

const char *carve_sysfs_root(const struct carve_sysfs *s)
{
	return s->root;
}

static int open_in_root(struct carve_sysfs *s, const char *path, int flags)
{
	if (!carve_sysfs_path_valid(path))
		return -EINVAL;
	int fd = sys_openat2(s->rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd == -ENOSYS) { /* pre-5.6 kernels: no in-root resolution, the path check above still holds */
		fd = openat(s->rootfd, path, flags | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	return fd;
}

static int read_common(struct carve_sysfs *s, const char *path, char **out, bool optional,
		       struct carve_error *err)
{
	*out = NULL;
	int f = read_fault(s, "read", path, err);
	if (f < 0)
		return f;
	_cleanup_close_ int fd = open_in_root(s, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		/* Absent is fine for an optional attribute; a dangling link is not
		 * absent (sysfs never has one: something is wrong with the tree). */
		if (fd == -ENOENT && optional) {
			_cleanup_close_ int lfd = open_in_root(s, path, O_PATH | O_NOFOLLOW);
			if (lfd < 0)
				return 0;
		}
		return carve_error_set(err, fd, "SYSFS_READ_FAILED", "cannot open %s/%s: %s", s->root, path,
				       strerror(-fd));
	}
	_cleanup_free_ char *buf = malloc(CARVE_SYSFS_MAX_READ + 1);
	if (!buf)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, CARVE_SYSFS_MAX_READ - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return carve_error_set(err, -errno, "SYSFS_READ_FAILED", "cannot read %s/%s: %s", s->root,
					       path, strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == CARVE_SYSFS_MAX_READ)
			return carve_error_set(err, -EFBIG, "SYSFS_READ_FAILED", "%s/%s is larger than %d bytes",
					       s->root, path, CARVE_SYSFS_MAX_READ);
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return carve_error_set(err, -EBADMSG, "SYSFS_READ_FAILED", "%s/%s contains a NUL byte", s->root,
				       path);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}

int carve_sysfs_read(struct carve_sysfs *s, const char *path, char **out, struct carve_error *err)
{
	return read_common(s, path, out, false, err);
}

int carve_sysfs_read_opt(struct carve_sysfs *s, const char *path, char **out, struct carve_error *err)
{
	return read_common(s, path, out, true, err);
}

static int stat_in_root(struct carve_sysfs *s, const char *path, struct stat *st)
{
	_cleanup_close_ int fd = open_in_root(s, path, O_PATH);
	if (fd < 0)
		return fd;
	return fstat(fd, st) < 0 ? -errno : 0;
}

bool carve_sysfs_exists(struct carve_sysfs *s, const char *path)
{
	struct stat st;
	return stat_in_root(s, path, &st) == 0;
}

bool carve_sysfs_is_dir(struct carve_sysfs *s, const char *path)
{
	struct stat st;
	return stat_in_root(s, path, &st) == 0 && S_ISDIR(st.st_mode);
}

int carve_sysfs_list(struct carve_sysfs *s, const char *path, struct carve_strv *out, struct carve_error *err)
{
	int f = read_fault(s, "list", path, err);
	if (f < 0)
		return f;
	int fd = open_in_root(s, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return carve_error_set(err, fd, "SYSFS_READ_FAILED", "cannot open directory %s/%s: %s", s->root,
				       path, strerror(-fd));
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return carve_error_set(err, -errno, "SYSFS_READ_FAILED", "cannot list %s/%s", s->root, path);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (carve_strv_push(out, de->d_name) < 0)
			return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	}
	carve_strv_sort(out);
	return 0;
}

int carve_sysfs_link_name(struct carve_sysfs *s, const char *path, char **out, struct carve_error *err)
{
	*out = NULL;
	if (!carve_sysfs_path_valid(path))
		return carve_error_set(err, -EINVAL, "INVALID_PATH", "invalid sysfs path");
	int f = read_fault(s, "read link", path, err);
	if (f < 0)
		return f;
	/* Resolve the parent inside the root, then read the link itself. */
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	const char *name = path;
	_cleanup_close_ int dfd = -1;
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		dfd = open_in_root(s, dir, O_PATH | O_DIRECTORY);
	} else {
		dfd = dup(s->rootfd);
	}
	if (dfd < 0)
		return carve_error_set(err, dfd < 0 ? dfd : -EIO, "SYSFS_READ_FAILED", "cannot open %s/%s",
				       s->root, path);
	char buf[4096];
	ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	if (n < 0)
		return carve_error_set(err, -errno, "SYSFS_READ_FAILED", "cannot read link %s/%s: %s", s->root,
				       path, strerror(errno));
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	*out = strdup(base ? base + 1 : buf);
	return *out ? 0 : -ENOMEM;
}

/* The kernel's part of a write: value to devdir/attr (both checked) with
 * one write(2). */
static int write_attr(struct carve_sysfs *s, const char *devdir, const char *attr, const char *value,
		      struct carve_error *err)
{
	_cleanup_close_ int dfd = open_in_root(s, devdir, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return carve_error_set(err, dfd, "SYSFS_WRITE_FAILED", "cannot open device directory %s/%s: %s",
				       s->root, devdir, strerror(-dfd));
	int fd = sys_openat2(dfd, attr, O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd == -ENOSYS) {
		fd = openat(dfd, attr, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return carve_error_set(err, fd, "SYSFS_WRITE_FAILED", "cannot open %s/%s/%s for writing: %s",
				       s->root, devdir, attr, strerror(-fd));
	_cleanup_close_ int wfd = fd;
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(wfd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return carve_error_set(err, -errno, "SYSFS_WRITE_FAILED", "writing '%s' to %s/%s/%s failed: %s", value,
				       s->root, devdir, attr, strerror(errno));
	if ((size_t)n != len)
		return carve_error_set(err, -EIO, "SYSFS_WRITE_FAILED", "short write of '%s' to %s/%s/%s", value,
				       s->root, devdir, attr);
	return 0;
}

int carve_sysfs_write(struct carve_sysfs *s, const char *devdir, const char *attr, const char *value,
		      struct carve_error *err)
{
	if (!carve_sysfs_path_valid(devdir) || !carve_sysfs_path_valid(attr))
		return carve_error_set(err, -EINVAL, "INVALID_PATH", "refusing to write to an unsafe sysfs path");
	/* An injected errno fails the write before it reaches the kernel; an
	 * injected short write reaches it whole (the driver may have acted)
	 * and is then reported short, the harder case for the caller. */
	int planned = fault_take(CARVE_SYSFS_OP_WRITE, s->root, devdir, attr);
	if (planned < 0)
		return carve_error_set(err, planned, "SYSFS_WRITE_FAILED", "writing '%s' to %s/%s/%s failed: %s (injected)",
				       value, s->root, devdir, attr, strerror(-planned));
	int r = 0;
	if (write_fault) {
		r = write_fault(devdir, attr, value, write_fault_data);
		if (r < 0)
			return carve_error_set(err, r, "SYSFS_WRITE_FAILED", "writing '%s' to %s/%s/%s failed: %s (injected)",
					       value, s->root, devdir, attr, strerror(-r));
	}
	/* r > 0: the hook played the kernel's part */
	r = r > 0 ? 0 : write_attr(s, devdir, attr, value, err);
	if (r >= 0 && planned == CARVE_FAULT_SHORT)
		r = carve_error_set(err, -EIO, "SYSFS_WRITE_FAILED", "short write of '%s' to %s/%s/%s (injected)", value,
				    s->root, devdir, attr);
	return r;
}
