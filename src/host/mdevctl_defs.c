/* mdevctl_defs.c - reading mdevctl's persistent definitions (see
 * mdevctl_defs.h for the format and the rules). */
#include "mdevctl_defs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/cleanup.h"
#include "util/sysfs.h"

#define ID "MDEVCTL_DEF_INVALID"
#define WHY_MAX 448
/* Bytes of a name or a value quoted in a message; each may take 4 escaped. */
#define SHOWN 64
#define SHOWN_MAX (SHOWN * 4 + 4)

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

/* Names on disk and strings in a file are anyone's bytes: a message quotes
 * at most SHOWN of them, with control and non-ASCII bytes as \xNN, so that
 * it stays one printable line. */
static const char *shown(const char *s, size_t len, char out[SHOWN_MAX])
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < SHOWN; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, SHOWN_MAX - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (len > SHOWN) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static const char *shown_str(const char *s, char out[SHOWN_MAX])
{
	return shown(s, strlen(s), out);
}

static int why_set(char why[WHY_MAX], int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_set(char why[WHY_MAX], int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, WHY_MAX, fmt, ap);
	va_end(ap);
	return code;
}

/* The name of a directory under the mdev parent's mdev_supported_types. */
static bool type_valid(const char *s, size_t len)
{
	if (len == 0 || len > CARVE_MDEVCTL_TYPE_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-", s[i]))
			return false;
	return true;
}

/* A path below the mdev's sysfs directory: util/sysfs.c's component rules
 * (no leading '/', no empty, "." or ".." part) on a sysfs name's characters. */
static bool attr_key_valid(const char *s, size_t len)
{
	if (len == 0 || len > CARVE_MDEVCTL_MAX_KEY || strlen(s) != len || !carve_sysfs_path_valid(s))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-", s[i]))
			return false;
	return true;
}

/* Written verbatim to a sysfs attribute: one line of text. */
static bool attr_value_valid(const char *s, size_t len)
{
	if (len > CARVE_MDEVCTL_MAX_VALUE)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int parse_attr(json_t *a, size_t i, struct carve_mdevctl_attr *out, char why[WHY_MAX])
{
	char q[SHOWN_MAX];
	if (!json_is_object(a) || json_object_size(a) != 1)
		return why_set(why, -EINVAL, "attrs[%zu] is not an object of one path and its value", i);
	const char *key = json_object_iter_key(json_object_iter(a));
	json_t *v = json_object_iter_value(json_object_iter(a));
	size_t klen = strlen(key);
	if (!attr_key_valid(key, klen))
		return why_set(why, -EINVAL,
			       "attrs[%zu]: '%s' is not a sysfs path below the device ([A-Za-z0-9_./-], no '..', "
			       "no leading '/', at most %d bytes)",
			       i, shown(key, klen, q), CARVE_MDEVCTL_MAX_KEY);
	if (!json_is_string(v))
		return why_set(why, -EINVAL, "attrs[%zu]: the value of %s is not a string", i, key);
	const char *val = json_string_value(v);
	size_t vlen = json_string_length(v);
	if (vlen > CARVE_MDEVCTL_MAX_VALUE)
		return why_set(why, -E2BIG, "attrs[%zu]: the value of %s has %zu bytes, more than %d", i, key, vlen,
			       CARVE_MDEVCTL_MAX_VALUE);
	if (!attr_value_valid(val, vlen))
		return why_set(why, -EINVAL, "attrs[%zu]: the value of %s has control characters: '%s'", i, key,
			       shown(val, vlen, q));
	if (!(out->key = strdup(key)) || !(out->value = strdup(val)))
		return -ENOMEM;
	return 0;
}

/* mdevctl reads a missing or null "attrs" as none. */
static int parse_attrs(json_t *attrs, struct carve_mdevctl_def *d, char why[WHY_MAX])
{
	if (!attrs || json_is_null(attrs))
		return 0;
	if (!json_is_array(attrs))
		return why_set(why, -EINVAL, "attrs is not a list");
	size_t n = json_array_size(attrs);
	if (n > CARVE_MDEVCTL_MAX_ATTRS)
		return why_set(why, -E2BIG, "%zu attrs, more than %d", n, CARVE_MDEVCTL_MAX_ATTRS);
	if (n && !(d->attrs = calloc(n, sizeof(*d->attrs))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = parse_attr(json_array_get(attrs, i), i, &d->attrs[i], why);
		d->n_attrs = i + 1; /* a half-filled attr is freed with the rest */
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_type(json_t *t, struct carve_mdevctl_def *d, char why[WHY_MAX])
{
	char q[SHOWN_MAX];
	if (!t)
		return why_set(why, -EINVAL, "missing mdev_type");
	if (!json_is_string(t))
		return why_set(why, -EINVAL, "mdev_type is not a string");
	const char *s = json_string_value(t);
	size_t len = json_string_length(t);
	if (!type_valid(s, len))
		return why_set(why, -EINVAL,
			       "mdev_type '%s' is not an mdev type name ([A-Za-z0-9_.:-], at most %d characters)",
			       shown(s, len, q), CARVE_MDEVCTL_TYPE_MAX);
	memcpy(d->type, s, len + 1);
	return 0;
}

/* mdevctl writes "auto" or "manual" and starts any other value manually;
 * a value it never writes is refused rather than read as manual. */
static int parse_start(json_t *s, struct carve_mdevctl_def *d, char why[WHY_MAX])
{
	char q[SHOWN_MAX];
	if (!s)
		return why_set(why, -EINVAL, "missing start (auto or manual)");
	if (!json_is_string(s))
		return why_set(why, -EINVAL, "start is not a string (auto or manual)");
	const char *v = json_string_value(s);
	if (strcmp(v, "auto") != 0 && strcmp(v, "manual") != 0)
		return why_set(why, -EINVAL, "start '%s': expected auto or manual",
			       shown(v, json_string_length(s), q));
	d->autostart = strcmp(v, "auto") == 0;
	return 0;
}

/* Fill d's type, start and attrs from a file's text.  Returns -EINVAL or
 * -E2BIG with why set, or -ENOMEM; d's attrs are d's to free either way. */
static int parse_text(const char *text, size_t len, struct carve_mdevctl_def *d, char why[WHY_MAX])
{
	char q[SHOWN_MAX];
	if (len > CARVE_MDEVCTL_MAX_BYTES)
		return why_set(why, -E2BIG, "%zu bytes, more than the %d KiB a definition may have", len,
			       CARVE_MDEVCTL_MAX_BYTES / 1024);
	/* No number is read from a definition: integers as reals, so that a big
	 * one in a key mdevctl ignores does not refuse the file. */
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
	if (!j) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return why_set(why, -EINVAL, "not valid JSON: %s (line %d, column %d)", shown_str(je.text, q), je.line,
			       je.column);
	}
	if (!json_is_object(j))
		return why_set(why, -EINVAL, "not a JSON object");
	int r = parse_type(json_object_get(j, "mdev_type"), d, why);
	if (r >= 0)
		r = parse_start(json_object_get(j, "start"), d, why);
	if (r >= 0)
		r = parse_attrs(json_object_get(j, "attrs"), d, why);
	return r;
}

void carve_mdevctl_def_clear(struct carve_mdevctl_def *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_attrs; i++) {
		free(d->attrs[i].key);
		free(d->attrs[i].value);
	}
	free(d->attrs);
	*d = (struct carve_mdevctl_def){0};
}

void carve_mdevctl_defs_clear(struct carve_mdevctl_defs *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		carve_mdevctl_def_clear(&d->v[i]);
	free(d->v);
	carve_strv_clear(&d->skipped);
	*d = (struct carve_mdevctl_defs){0};
}

int carve_mdevctl_def_parse(const char *text, size_t len, const char *parent, const char *uuid,
			    struct carve_mdevctl_def *out, struct carve_error *err)
{
	char q[SHOWN_MAX], why[WHY_MAX];
	if (!out)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output for the mdevctl definition");
	*out = (struct carve_mdevctl_def){0};
	struct carve_mdevctl_def d = {0};
	if (!text && len)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no text for the mdevctl definition");
	if (!parent || carve_pci_normalize(parent, d.parent) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "mdevctl parent '%s' is not a PCI address",
				       parent ? shown_str(parent, q) : "");
	if (!uuid || carve_uuid_normalize(uuid, d.uuid) < 0)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "mdevctl definition name '%s' is not a UUID",
				       uuid ? shown_str(uuid, q) : "");
	snprintf(d.path, sizeof(d.path), "%.12s/%.36s", parent, uuid); /* both checked */
	int r = parse_text(text ? text : "", len, &d, why);
	if (r < 0) {
		if (r != -ENOMEM)
			carve_error_set(err, r, ID, "mdevctl definition %s: %s", d.path, why);
		carve_mdevctl_def_clear(&d);
		return r == -ENOMEM ? oom(err) : r;
	}
	*out = d;
	return 0;
}

/* ---- the directory tree ---- */

struct reader {
	const char *dir;
	struct carve_mdevctl_defs out;
	size_t cap;
	size_t skipped_more; /* lines past CARVE_MDEVCTL_MAX_SKIPPED, counted only */
	struct carve_error *err;
};

/* Record why "<parent>/<name>" (or "<name>" at the top) was not read. */
static int skip(struct reader *rd, const char *parent, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int skip(struct reader *rd, const char *parent, const char *name, const char *fmt, ...)
{
	if (rd->out.skipped.n >= CARVE_MDEVCTL_MAX_SKIPPED) {
		rd->skipped_more++;
		return 0;
	}
	char qp[SHOWN_MAX], qn[SHOWN_MAX], why[WHY_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	char *line = parent ? carve_strdupf("%s/%s: %s", shown_str(parent, qp), shown_str(name, qn), why)
			    : carve_strdupf("%s: %s", shown_str(name, qn), why);
	if (!line || carve_strv_push_take(&rd->out.skipped, line) < 0)
		return oom(rd->err);
	return 0;
}

/* Why an entry found by readdir is not the kind wanted (a directory at the
 * top, a regular file below), or NULL if it is.  Only a hint for the
 * message: what is opened is checked again through its fd. */
static const char *kind_problem(int dfd, const char *name, bool want_dir, char buf[WHY_MAX])
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(buf, WHY_MAX, "cannot stat: %s", strerror(errno));
		return buf;
	}
	if (S_ISLNK(st.st_mode))
		return "a symbolic link, not followed";
	if (want_dir && !S_ISDIR(st.st_mode))
		return "not a directory (mdevctl keeps one directory per parent device)";
	if (!want_dir && S_ISDIR(st.st_mode))
		return "a directory, not a definition file";
	if (!want_dir && !S_ISREG(st.st_mode))
		return "not a regular file";
	return NULL;
}

/* A file's whole text, at most CARVE_MDEVCTL_MAX_BYTES.  O_NONBLOCK: a
 * FIFO left there must not hang the open (it is then refused by type). */
static int read_file_at(int dfd, const char *name, char **out, size_t *len, char why[WHY_MAX])
{
	*out = NULL;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return why_set(why, -errno, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return why_set(why, -errno, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return why_set(why, -EINVAL, "not a regular file");
	if (st.st_size > CARVE_MDEVCTL_MAX_BYTES)
		return why_set(why, -E2BIG, "%jd bytes, more than the %d KiB a definition may have",
			       (intmax_t)st.st_size, CARVE_MDEVCTL_MAX_BYTES / 1024);
	_cleanup_free_ char *buf = malloc(CARVE_MDEVCTL_MAX_BYTES + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	/* The size may change under us: read to EOF, one byte past the limit. */
	while (n <= CARVE_MDEVCTL_MAX_BYTES) {
		ssize_t k = read(fd, buf + n, CARVE_MDEVCTL_MAX_BYTES + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return why_set(why, -errno, "cannot read: %s", strerror(errno));
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > CARVE_MDEVCTL_MAX_BYTES)
		return why_set(why, -E2BIG, "more than the %d KiB a definition may have", CARVE_MDEVCTL_MAX_BYTES / 1024);
	*out = TAKE_PTR(buf);
	*len = n;
	return 0;
}

static int push_def(struct reader *rd, struct carve_mdevctl_def *d)
{
	if (rd->out.n >= CARVE_MDEVCTL_MAX_DEFS)
		return carve_error_set(rd->err, -E2BIG, "MDEVCTL_DIR_TOO_LARGE",
				       "%s holds more than %d mdevctl definitions", rd->dir, CARVE_MDEVCTL_MAX_DEFS);
	if (rd->out.n == rd->cap) {
		size_t cap = rd->cap ? rd->cap * 2 : 16;
		struct carve_mdevctl_def *v = realloc(rd->out.v, cap * sizeof(*v));
		if (!v)
			return oom(rd->err);
		rd->out.v = v;
		rd->cap = cap;
	}
	rd->out.v[rd->out.n++] = *d;
	*d = (struct carve_mdevctl_def){0};
	return 0;
}

/* One entry of a parent's directory; parent is already a canonical PCI
 * address, so it and a UUID fit the definition's path. */
static int read_entry(struct reader *rd, int pfd, const char *parent, const char *name)
{
	char why[WHY_MAX];
	const char *kind = kind_problem(pfd, name, false, why);
	if (kind)
		return skip(rd, parent, name, "%s", kind);
	struct carve_mdevctl_def d = {0};
	if (carve_uuid_normalize(name, d.uuid) < 0)
		return skip(rd, parent, name, "file name is not a UUID (mdevctl names a definition by its mdev's UUID)");
	memcpy(d.parent, parent, sizeof(d.parent));
	snprintf(d.path, sizeof(d.path), "%.12s/%.36s", parent, name); /* both checked */

	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(pfd, name, &text, &len, why);
	if (r >= 0)
		r = parse_text(text, len, &d, why);
	if (r >= 0)
		r = push_def(rd, &d);
	else if (r != -ENOMEM)
		r = skip(rd, parent, name, "%s", why);
	else
		r = oom(rd->err);
	carve_mdevctl_def_clear(&d);
	return r;
}

/* mdevctl names a parent as sysfs does (/sys/class/mdev_bus/<parent>), so
 * only the canonical form of a PCI address is a parent it would start. */
static const char *parent_problem(const char *name, char buf[WHY_MAX])
{
	char canon[CARVE_PCI_STRLEN + 1];
	if (strcmp(name, "scripts.d") == 0)
		return "mdevctl's callout and notifier scripts, no definitions";
	if (carve_pci_normalize(name, canon) < 0)
		return "not a PCI device (mdevctl also defines mdevs on s390 ccw/ap and other parents; carve "
		       "imports vGPUs of PCI GPUs)";
	if (strcmp(canon, name) == 0)
		return NULL;
	snprintf(buf, WHY_MAX, "not named as sysfs names the PCI device, %s: mdevctl would not find this parent",
		 canon);
	return buf;
}

static int read_parent(struct reader *rd, int topfd, const char *name)
{
	char why[WHY_MAX];
	const char *problem = kind_problem(topfd, name, true, why);
	if (!problem)
		problem = parent_problem(name, why);
	if (problem)
		return skip(rd, NULL, name, "%s", problem);
	int pfd = openat(topfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return skip(rd, NULL, name, "cannot open: %s", strerror(errno));
	_cleanup_closedir_ DIR *d = fdopendir(pfd);
	if (!d) {
		int e = errno;
		close(pfd);
		return skip(rd, NULL, name, "cannot list: %s", strerror(e));
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			/* What was read stands: each definition is whole on its own. */
			if (errno)
				return skip(rd, NULL, name, "listing stopped: %s", strerror(errno));
			return 0;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = read_entry(rd, dirfd(d), name, de->d_name);
		if (r < 0)
			return r;
	}
}

static int def_cmp(const void *a, const void *b)
{
	const struct carve_mdevctl_def *x = a, *y = b;
	int c = strcmp(x->parent, y->parent);
	if (c == 0)
		c = strcmp(x->uuid, y->uuid);
	return c ? c : strcmp(x->path, y->path);
}

/* File names differing only in case are one UUID under one parent; which
 * mdevctl would use depends on readdir order, so neither is read. */
static int drop_case_twins(struct reader *rd)
{
	struct carve_mdevctl_defs *o = &rd->out;
	size_t w = 0;
	int r = 0;
	for (size_t i = 0; i < o->n;) {
		size_t j = i + 1;
		while (j < o->n && strcmp(o->v[j].parent, o->v[i].parent) == 0 && strcmp(o->v[j].uuid, o->v[i].uuid) == 0)
			j++;
		if (j - i == 1) {
			o->v[w++] = o->v[i++];
			continue;
		}
		for (size_t k = i; k < j; k++) {
			if (r >= 0)
				r = skip(rd, o->v[k].parent, o->v[k].path + CARVE_PCI_STRLEN + 1,
					 "UUID %s is defined %zu times under this parent (file names differing in case)",
					 o->v[k].uuid, j - i);
			carve_mdevctl_def_clear(&o->v[k]);
		}
		i = j;
	}
	o->n = w;
	return r;
}

static int finish(struct reader *rd)
{
	if (rd->out.n)
		qsort(rd->out.v, rd->out.n, sizeof(*rd->out.v), def_cmp);
	int r = drop_case_twins(rd);
	if (r < 0)
		return r;
	carve_strv_sort(&rd->out.skipped);
	if (rd->skipped_more) {
		char *line = carve_strdupf("(%zu more entries not read, not listed)", rd->skipped_more);
		if (!line || carve_strv_push_take(&rd->out.skipped, line) < 0)
			return oom(rd->err);
	}
	return 0;
}

static int read_top(struct reader *rd, DIR *d)
{
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				return carve_error_set(rd->err, -errno, "MDEVCTL_DIR_UNREADABLE",
						       "cannot list mdevctl definitions in %s: %s", rd->dir, strerror(errno));
			return 0;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = read_parent(rd, dirfd(d), de->d_name);
		if (r < 0)
			return r;
	}
}

/* O_DIRECTORY|O_NOFOLLOW answers ENOTDIR for a symbolic link: say which. */
static int dir_error(const char *dir, struct carve_error *err)
{
	int e = errno;
	struct stat st;
	bool link = (e == ENOTDIR || e == ELOOP) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode);
	return carve_error_set(err, -e, "MDEVCTL_DIR_UNREADABLE", "cannot read mdevctl definitions in %s: %s%s", dir,
			       link ? "a symbolic link, not followed" : strerror(e), link ? " (give the directory it names)" : "");
}

int carve_mdevctl_defs_read(const char *dir, struct carve_mdevctl_defs *out, struct carve_error *err)
{
	if (!out)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output for the mdevctl definitions");
	*out = (struct carve_mdevctl_defs){0};
	if (!dir)
		dir = CARVE_MDEVCTL_DIR;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dir_error(dir, err);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return carve_error_set(err, -e, "MDEVCTL_DIR_UNREADABLE", "cannot read mdevctl definitions in %s: %s", dir,
				       strerror(e));
	}
	struct reader rd = {.dir = dir, .err = err};
	int r = read_top(&rd, d);
	if (r >= 0)
		r = finish(&rd);
	if (r < 0) {
		carve_mdevctl_defs_clear(&rd.out);
		return r;
	}
	*out = rd.out;
	return 0;
}
