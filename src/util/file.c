#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "str.h"

static int write_replace(const char *path, const char *data, size_t len, bool durable, const char *id,
			 struct carve_error *err)
{
	if (!id)
		id = "FILE_WRITE_FAILED";
	_cleanup_free_ char *tmp = carve_strdupf("%s.tmp.XXXXXX", path);
	_cleanup_free_ char *dir = strdup(path);
	if (!tmp || !dir)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return carve_error_set(err, -errno, id, "cannot create %s: %s", tmp, strerror(errno));
	int r = 0;
	size_t off = 0;
	while (off < len && r == 0) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = -errno ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return carve_error_set(err, r, id, "cannot write %s: %s", path, strerror(-r));
	}
	if (!durable)
		return 0;
	/* Make the rename itself durable. */
	_cleanup_close_ int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
}

int carve_file_write_atomic(const char *path, const char *data, size_t len, const char *id, struct carve_error *err)
{
	return write_replace(path, data, len, true, id, err);
}

int carve_file_replace(const char *path, const char *data, size_t len, const char *id, struct carve_error *err)
{
	return write_replace(path, data, len, false, id, err);
}

int carve_file_read(const char *path, size_t max, bool missing_ok, const char *id, char **out, size_t *len,
		    struct carve_error *err)
{
	if (!id)
		id = "FILE_READ_FAILED";
	*out = NULL;
	if (len)
		*len = 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return -ENOENT;
		return carve_error_set(err, -errno, id, "cannot open %s: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return carve_error_set(err, -errno, id, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return carve_error_set(err, -EINVAL, id, "%s is not a regular file", path);
	if ((size_t)st.st_size > max)
		return carve_error_set(err, -EFBIG, id, "%s: %lld bytes, more than %zu", path,
				       (long long)st.st_size, max);
	_cleanup_free_ char *buf = malloc(max + 1);
	if (!buf)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	size_t off = 0;
	for (;;) {
		ssize_t n = read(fd, buf + off, max + 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return carve_error_set(err, -errno, id, "cannot read %s: %s", path,
					       strerror(errno));
		if (n == 0)
			break;
		off += (size_t)n;
		/* The file may have grown since fstat. */
		if (off > max)
			return carve_error_set(err, -EFBIG, id, "%s: more than %zu bytes", path, max);
	}
	buf[off] = '\0';
	if (len)
		*len = off;
	*out = TAKE_PTR(buf);
	return 0;
}
