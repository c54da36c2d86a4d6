/* mdevctl's persistent definitions (src/host/mdevctl_defs.c): one file's
 * text against the rules of mdevctl_defs.h, and directory trees built in a
 * temporary directory as mdevctl lays them out (/etc/mdevctl.d/<parent>/
 * <uuid>), with every kind of entry that is skipped rather than read, the
 * errors of the directory itself, and the limits.  A definition written by
 * carve's own export (src/emit/mdevctl.c) reads back as written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit/emit.h"
#include "host/mdevctl_defs.h"
#include "util/cleanup.h"

#define P41 "0000:41:00.0"
#define P21 "0000:21:00.0"
#define U1 "040faa8e-7abc-4373-9efb-b0cf0210c459"
#define U2 "3b5e9c7a-1d2f-4e6b-8a9c-0d1e2f3a4b5c"
#define U3 "9c1f6a0e-52d4-4b7e-a1c3-7f2e8d9b0a64"
#define U4 "d2b7e4f1-0a3c-4e5d-9b6f-1c8a7e2d3f40"

#define NV_PARAMS "frame_rate_limiter=0, disable_vnc=1"
#define NV_AUTO "{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"nvidia/vgpu_params\": \"" NV_PARAMS "\"}]}"
#define GVT_MANUAL "{\n    \"mdev_type\": \"i915-GVTg_V5_4\",\n    \"start\": \"manual\"\n}\n"


static void mkd(const char *root, const char *rel)
{
	_cleanup_free_ char *p = carve_strdupf("%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void put_n(const char *root, const char *rel, const char *text, size_t len)
{
	_cleanup_free_ char *p = carve_strdupf("%s/%s", root, rel);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
}

static void put(const char *root, const char *rel, const char *text)
{
	put_n(root, rel, text, strlen(text));
}

static void link_to(const char *root, const char *target, const char *rel)
{
	_cleanup_free_ char *p = carve_strdupf("%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* Is there a skipped line for path whose reason contains why? */
static bool skipped(const struct carve_mdevctl_defs *d, const char *path, const char *why)
{
	size_t plen = strlen(path);
	for (size_t i = 0; i < d->skipped.n; i++) {
		const char *l = d->skipped.v[i];
		if (strncmp(l, path, plen) == 0 && strncmp(l + plen, ": ", 2) == 0 && strstr(l + plen, why))
			return true;
	}
	return false;
}

static void dump_skipped(const struct carve_mdevctl_defs *d)
{
	for (size_t i = 0; i < d->skipped.n; i++)
		print_message("skipped: %s\n", d->skipped.v[i]);
}

static void test_parse_good(void **state)
{
	(void)state;
	struct carve_mdevctl_def d;
	struct carve_error err = {0};
	assert_int_equal(carve_mdevctl_def_parse(NV_AUTO, strlen(NV_AUTO), P41, U1, &d, &err), 0);
	assert_string_equal(d.parent, P41);
	assert_string_equal(d.uuid, U1);
	assert_string_equal(d.type, "nvidia-46");
	assert_true(d.autostart);
	assert_int_equal(d.n_attrs, 1);
	assert_string_equal(d.attrs[0].key, "nvidia/vgpu_params");
	assert_string_equal(d.attrs[0].value, NV_PARAMS);
	assert_string_equal(d.path, P41 "/" U1);
	carve_mdevctl_def_clear(&d);
	assert_null(d.attrs);

	/* no attrs; the parent's short form and an upper-case UUID normalized */
	assert_int_equal(carve_mdevctl_def_parse(GVT_MANUAL, strlen(GVT_MANUAL), "41:00.0",
						 "040FAA8E-7ABC-4373-9EFB-B0CF0210C459", &d, &err), 0);
	assert_string_equal(d.parent, P41);
	assert_string_equal(d.uuid, U1);
	assert_string_equal(d.type, "i915-GVTg_V5_4");
	assert_false(d.autostart);
	assert_int_equal(d.n_attrs, 0);
	carve_mdevctl_def_clear(&d);

	/* attrs null or empty; keys mdevctl ignores are ignored (the parent is
	 * the directory's, whatever a file says); order and repeats kept; the
	 * text need not be NUL-terminated */
	static const char *const texts[] = {
		"{\"mdev_type\": \"vfio_ap-passthrough\", \"start\": \"manual\", \"attrs\": null}",
		"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": []}",
		("{\"parent\": \"0000:99:00.0\", \"uuid\": 123456789012345678901234567890, \"mdev_type\": \"nvidia-46\", "
		 "\"start\": \"auto\"}"),
		"{\"mdev_type\": \"a:b.c_d-e\", \"start\": \"auto\", \"attrs\": [{\"x/y\": \"1\"}, {\"z\": \"\"}, {\"x/y\": \"2\"}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		char buf[256];
		size_t len = strlen(texts[i]);
		memcpy(buf, texts[i], len);
		buf[len] = 'x';
		assert_int_equal(carve_mdevctl_def_parse(buf, len, P41, U2, &d, &err), 0);
		assert_string_equal(d.parent, P41);
		if (i == 3) {
			assert_string_equal(d.type, "a:b.c_d-e");
			assert_int_equal(d.n_attrs, 3);
			assert_string_equal(d.attrs[0].value, "1");
			assert_string_equal(d.attrs[1].key, "z");
			assert_string_equal(d.attrs[1].value, "");
			assert_string_equal(d.attrs[2].key, "x/y");
			assert_string_equal(d.attrs[2].value, "2");
		}
		carve_mdevctl_def_clear(&d);
	}
	assert_false(carve_error_isset(&err));
}

struct bad {
	const char *text;
	int code;
	const char *why;
};

static void test_parse_bad(void **state)
{
	(void)state;
	static const struct bad bad[] = {
		{"", -EINVAL, "not valid JSON"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\"", -EINVAL, "not valid JSON"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\"} x", -EINVAL, "not valid JSON"},
		{"{\"mdev_type\": \"nvidia-46\", \"mdev_type\": \"nvidia-47\", \"start\": \"auto\"}", -EINVAL,
		 "not valid JSON: duplicate object key"},
		{"{\"mdev_type\": \"nvidia\\u0000-46\", \"start\": \"auto\"}", -EINVAL, "not valid JSON"},
		{"[\"nvidia-46\"]", -EINVAL, "not a JSON object"},
		{"{\"start\": \"auto\"}", -EINVAL, "missing mdev_type"},
		{"{\"mdev_type\": 46, \"start\": \"auto\"}", -EINVAL, "mdev_type is not a string"},
		{"{\"mdev_type\": \"nvidia/46\", \"start\": \"auto\"}", -EINVAL, "mdev_type 'nvidia/46' is not"},
		{"{\"mdev_type\": \"..\", \"start\": \"auto\"}", -EINVAL, "mdev_type '..' is not"},
		{"{\"mdev_type\": \"\", \"start\": \"auto\"}", -EINVAL, "mdev_type '' is not"},
		{"{\"mdev_type\": \"nvidia\\n46\", \"start\": \"auto\"}", -EINVAL, "mdev_type 'nvidia\\x0a46' is not"},
		{"{\"mdev_type\": \"a234567890123456789012345678901234567890123456789012345678901234\", \"start\": \"auto\"}",
		 -EINVAL, "is not an mdev type name"},
		{"{\"mdev_type\": \"nvidia-46\"}", -EINVAL, "missing start"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"yes\"}", -EINVAL, "start 'yes': expected auto or manual"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"Auto\"}", -EINVAL, "start 'Auto'"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": true}", -EINVAL, "start is not a string"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": {\"a\": \"1\"}}", -EINVAL, "attrs is not a list"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [\"a=1\"]}", -EINVAL, "attrs[0] is not an object"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{}]}", -EINVAL, "attrs[0] is not an object"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a\": \"1\"}, {\"a\": \"1\", \"b\": \"2\"}]}",
		 -EINVAL, "attrs[1] is not an object of one path"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"../x\": \"1\"}]}", -EINVAL,
		 "attrs[0]: '../x' is not a sysfs path"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"/etc/passwd\": \"1\"}]}", -EINVAL,
		 "'/etc/passwd' is not a sysfs path"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a//b\": \"1\"}]}", -EINVAL, "'a//b' is not"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a/\": \"1\"}]}", -EINVAL, "'a/' is not"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"./a\": \"1\"}]}", -EINVAL, "'./a' is not"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a b\": \"1\"}]}", -EINVAL, "'a b' is not"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"\": \"1\"}]}", -EINVAL, "'' is not"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a\": 1}]}", -EINVAL,
		 "the value of a is not a string"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a\": [\"1\", \"2\"]}]}", -EINVAL,
		 "the value of a is not a string"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a\": \"1\\n2\"}]}", -EINVAL,
		 "control characters: '1\\x0a2'"},
		{"{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"a\": \"\\u007f\"}]}", -EINVAL,
		 "control characters"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct carve_mdevctl_def d = {.n_attrs = 99};
		struct carve_error err = {0};
		int r = carve_mdevctl_def_parse(bad[i].text, strlen(bad[i].text), P41, U1, &d, &err);
		if (r != bad[i].code || !strstr(err.message, bad[i].why))
			fail_msg("case %zu: %d %s", i, r, err.message);
		assert_int_equal(err.code, r);
		assert_string_equal(err.id, "MDEVCTL_DEF_INVALID");
		assert_true(carve_startswith(err.message, "mdevctl definition " P41 "/" U1 ": "));
		assert_null(d.attrs);
		assert_int_equal(d.n_attrs, 0);
		assert_string_equal(d.type, "");
	}
}

/* A JSON text of n attrs, each value vlen bytes long. */
static char *def_text(size_t n, size_t vlen)
{
	_cleanup_free_ char *v = malloc(vlen + 1);
	assert_non_null(v);
	memset(v, 'v', vlen);
	v[vlen] = '\0';
	_cleanup_free_ char *attrs = strdup("");
	for (size_t i = 0; i < n; i++) {
		char *a = carve_strdupf("%s%s{\"a%zu\": \"%s\"}", attrs, i ? ", " : "", i, v);
		assert_non_null(a);
		free(attrs);
		attrs = a;
	}
	return carve_strdupf("{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [%s]}", attrs);
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct carve_mdevctl_def d;
	struct carve_error err = {0};
	/* 64 attrs of 1 KiB would pass the file's 64 KiB: 900 bytes each */
	_cleanup_free_ char *most = def_text(CARVE_MDEVCTL_MAX_ATTRS, 900);
	assert_int_equal(carve_mdevctl_def_parse(most, strlen(most), P41, U1, &d, &err), 0);
	assert_int_equal(d.n_attrs, CARVE_MDEVCTL_MAX_ATTRS);
	assert_string_equal(d.attrs[CARVE_MDEVCTL_MAX_ATTRS - 1].key, "a63");
	carve_mdevctl_def_clear(&d);
	_cleanup_free_ char *longest = def_text(1, CARVE_MDEVCTL_MAX_VALUE);
	assert_int_equal(carve_mdevctl_def_parse(longest, strlen(longest), P41, U1, &d, &err), 0);
	assert_int_equal(strlen(d.attrs[0].value), CARVE_MDEVCTL_MAX_VALUE);
	carve_mdevctl_def_clear(&d);

	_cleanup_free_ char *attrs = def_text(CARVE_MDEVCTL_MAX_ATTRS + 1, 1);
	assert_int_equal(carve_mdevctl_def_parse(attrs, strlen(attrs), P41, U1, &d, &err), -E2BIG);
	assert_non_null(strstr(err.message, "65 attrs, more than 64"));
	assert_null(d.attrs);

	carve_error_clear(&err);
	_cleanup_free_ char *value = def_text(1, CARVE_MDEVCTL_MAX_VALUE + 1);
	assert_int_equal(carve_mdevctl_def_parse(value, strlen(value), P41, U1, &d, &err), -E2BIG);
	assert_non_null(strstr(err.message, "has 1025 bytes, more than 1024"));

	/* a key of 255 bytes is one, of 256 not */
	char key[CARVE_MDEVCTL_MAX_KEY + 2];
	memset(key, 'k', sizeof(key) - 1);
	key[CARVE_MDEVCTL_MAX_KEY] = '\0';
	_cleanup_free_ char *k255 = carve_strdupf("{\"mdev_type\": \"t\", \"start\": \"auto\", \"attrs\": [{\"%s\": \"1\"}]}", key);
	assert_int_equal(carve_mdevctl_def_parse(k255, strlen(k255), P41, U1, &d, &err), 0);
	carve_mdevctl_def_clear(&d);
	key[CARVE_MDEVCTL_MAX_KEY] = 'k';
	key[CARVE_MDEVCTL_MAX_KEY + 1] = '\0';
	_cleanup_free_ char *k256 = carve_strdupf("{\"mdev_type\": \"t\", \"start\": \"auto\", \"attrs\": [{\"%s\": \"1\"}]}", key);
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_def_parse(k256, strlen(k256), P41, U1, &d, &err), -EINVAL);
	assert_non_null(strstr(err.message, "kkk...' is not a sysfs path")); /* quoted in part */

	/* the size limit holds before any parsing: 64 KiB of blanks and a definition */
	size_t len = CARVE_MDEVCTL_MAX_BYTES + 1;
	_cleanup_free_ char *big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	memcpy(big, GVT_MANUAL, strlen(GVT_MANUAL));
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_def_parse(big, len, P41, U1, &d, &err), -E2BIG);
	assert_non_null(strstr(err.message, "65537 bytes, more than the 64 KiB"));
	assert_int_equal(carve_mdevctl_def_parse(big, len - 1, P41, U1, &d, &err), 0);
	carve_mdevctl_def_clear(&d);

	/* deep nesting is the JSON parser's to refuse, without recursing away */
	size_t depth = 30000;
	_cleanup_free_ char *deep = malloc(2 * depth + 64);
	assert_non_null(deep);
	int o = sprintf(deep, "{\"x\": ");
	memset(deep + o, '[', depth);
	memset(deep + o + depth, ']', depth);
	strcpy(deep + o + 2 * depth, "}");
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_def_parse(deep, strlen(deep), P41, U1, &d, &err), -EINVAL);
	assert_non_null(strstr(err.message, "not valid JSON"));
}

static void test_parse_args(void **state)
{
	(void)state;
	struct carve_mdevctl_def d;
	struct carve_error err = {0};
	assert_int_equal(carve_mdevctl_def_parse(NV_AUTO, strlen(NV_AUTO), "matrix", U1, &d, &err), -EINVAL);
	assert_string_equal(err.id, "INVALID_ARGUMENT");
	assert_non_null(strstr(err.message, "'matrix' is not a PCI address"));
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_def_parse(NV_AUTO, strlen(NV_AUTO), P41, "x\n", &d, &err), -EINVAL);
	assert_non_null(strstr(err.message, "'x\\x0a' is not a UUID"));
	assert_int_equal(carve_mdevctl_def_parse(NV_AUTO, strlen(NV_AUTO), NULL, U1, &d, NULL), -EINVAL);
	assert_int_equal(carve_mdevctl_def_parse(NV_AUTO, strlen(NV_AUTO), P41, NULL, &d, NULL), -EINVAL);
	assert_int_equal(carve_mdevctl_def_parse(NULL, 3, P41, U1, &d, NULL), -EINVAL);
	assert_int_equal(carve_mdevctl_def_parse(NV_AUTO, strlen(NV_AUTO), P41, U1, NULL, NULL), -EINVAL);
	carve_mdevctl_def_clear(NULL);
	carve_mdevctl_defs_clear(NULL);
	struct carve_mdevctl_defs z = {0};
	carve_mdevctl_defs_clear(&z);
}

static void test_read_good(void **state)
{
	(void)state;
	_cleanup_free_ char *root = test_tmpdir_make("mdevctl");
	mkd(root, P41);
	mkd(root, P21);
	put(root, P41 "/" U2, GVT_MANUAL);
	put(root, P41 "/" U1, NV_AUTO);
	put(root, P21 "/" U3, NV_AUTO);
	/* upper case on disk, as mdevctl's UUID parser also takes */
	put(root, P21 "/D2B7E4F1-0A3C-4E5D-9B6F-1C8A7E2D3F40", GVT_MANUAL);

	struct carve_mdevctl_defs d;
	struct carve_error err = {0};
	assert_int_equal(carve_mdevctl_defs_read(root, &d, &err), 0);
	if (d.skipped.n)
		dump_skipped(&d);
	assert_int_equal(d.skipped.n, 0);
	assert_int_equal(d.n, 4);
	/* by parent, then UUID */
	assert_string_equal(d.v[0].path, P21 "/" U3);
	assert_string_equal(d.v[1].path, P21 "/D2B7E4F1-0A3C-4E5D-9B6F-1C8A7E2D3F40");
	assert_string_equal(d.v[1].uuid, U4);
	assert_string_equal(d.v[2].path, P41 "/" U1);
	assert_string_equal(d.v[3].path, P41 "/" U2);
	assert_string_equal(d.v[0].parent, P21);
	assert_string_equal(d.v[3].parent, P41);
	assert_string_equal(d.v[2].type, "nvidia-46");
	assert_true(d.v[2].autostart);
	assert_int_equal(d.v[2].n_attrs, 1);
	assert_string_equal(d.v[2].attrs[0].key, "nvidia/vgpu_params");
	assert_string_equal(d.v[2].attrs[0].value, NV_PARAMS);
	assert_string_equal(d.v[3].type, "i915-GVTg_V5_4");
	assert_false(d.v[3].autostart);
	assert_int_equal(d.v[3].n_attrs, 0);
	carve_mdevctl_defs_clear(&d);
	assert_null(d.v);
	assert_int_equal(d.n, 0);

	/* an empty directory is no definitions, not an error */
	_cleanup_free_ char *empty = carve_strdupf("%s/%s", root, P21);
	test_rm_rf(empty);
	mkd(root, P21);
	assert_int_equal(carve_mdevctl_defs_read(empty, &d, &err), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.skipped.n, 0);
	carve_mdevctl_defs_clear(&d);
	test_rm_rf(root);
}

static void test_read_skips(void **state)
{
	(void)state;
	_cleanup_free_ char *root = test_tmpdir_make("mdevctl");
	mkd(root, P41);
	mkd(root, P21);
	put(root, P41 "/" U1, NV_AUTO);
	put(root, P21 "/" U1, GVT_MANUAL); /* one UUID under two parents: both read */

	/* parents that are not PCI devices, or not named as sysfs names them */
	mkd(root, "0.0.0123"); /* s390 ccw */
	put(root, "0.0.0123/" U2, "{\"mdev_type\": \"vfio_ccw-io\", \"start\": \"auto\"}");
	mkd(root, "matrix"); /* s390 ap */
	mkd(root, "41:00.0");
	put(root, "41:00.0/" U2, NV_AUTO);
	mkd(root, "scripts.d");
	mkd(root, "scripts.d/callouts");
	mkd(root, "scripts.d/notifiers");
	put(root, "README", "not a parent");
	link_to(root, P41, "0000:42:00.0"); /* a symlinked parent is not followed */

	/* entries of a parent */
	put(root, P41 "/not-a-uuid", NV_AUTO);
	put(root, P41 "/" U2 ".bak", NV_AUTO);
	link_to(root, "../" P21 "/" U1, P41 "/" U3); /* a symlinked file is not followed */
	mkd(root, P41 "/" U4);                        /* a directory where a file should be */
	put(root, P21 "/" U2, "{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\"");
	put(root, P21 "/" U3, "{\"start\": \"auto\"}");
	put(root, P21 "/" U4, "{\"mdev_type\": \"nvidia-46\", \"start\": \"sometimes\"}");
	mkd(root, "0000:22:00.0");
	put(root, "0000:22:00.0/" U1, "{\"mdev_type\": \"nvidia-46\", \"start\": \"auto\", \"attrs\": [{\"../x\": \"1\"}]}");
	put(root, "0000:22:00.0/\x01\n", NV_AUTO);
	/* more than 64 KiB, though valid JSON */
	size_t big = CARVE_MDEVCTL_MAX_BYTES + 1;
	_cleanup_free_ char *text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', big);
	memcpy(text, GVT_MANUAL, strlen(GVT_MANUAL));
	put_n(root, "0000:22:00.0/" U2, text, big);
	/* a FIFO must neither be read nor hang the open */
	_cleanup_free_ char *fifo = carve_strdupf("%s/0000:22:00.0/%s", root, U3);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	/* one UUID twice under a parent, by case: neither */
	mkd(root, "0000:23:00.0");
	put(root, "0000:23:00.0/" U1, NV_AUTO);
	put(root, "0000:23:00.0/040FAA8E-7ABC-4373-9EFB-B0CF0210C459", GVT_MANUAL);
	put(root, "0000:23:00.0/" U2, NV_AUTO);

	struct carve_mdevctl_defs d;
	struct carve_error err = {0};
	assert_int_equal(carve_mdevctl_defs_read(root, &d, &err), 0);
	if (d.skipped.n != 19)
		dump_skipped(&d);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.v[0].path, P21 "/" U1);
	assert_string_equal(d.v[0].type, "i915-GVTg_V5_4");
	assert_string_equal(d.v[1].path, "0000:23:00.0/" U2);
	assert_string_equal(d.v[2].path, P41 "/" U1);
	assert_string_equal(d.v[2].type, "nvidia-46");

	assert_true(skipped(&d, "0.0.0123", "not a PCI device (mdevctl also defines mdevs on s390"));
	assert_true(skipped(&d, "matrix", "not a PCI device"));
	assert_true(skipped(&d, "41:00.0", "not named as sysfs names the PCI device, 0000:41:00.0"));
	assert_true(skipped(&d, "scripts.d", "mdevctl's callout and notifier scripts"));
	assert_true(skipped(&d, "README", "not a directory"));
	assert_true(skipped(&d, "0000:42:00.0", "a symbolic link, not followed"));
	assert_true(skipped(&d, P41 "/not-a-uuid", "file name is not a UUID"));
	assert_true(skipped(&d, P41 "/" U2 ".bak", "file name is not a UUID"));
	assert_true(skipped(&d, P41 "/" U3, "a symbolic link, not followed"));
	assert_true(skipped(&d, P41 "/" U4, "a directory, not a definition file"));
	assert_true(skipped(&d, P21 "/" U2, "not valid JSON"));
	assert_true(skipped(&d, P21 "/" U3, "missing mdev_type"));
	assert_true(skipped(&d, P21 "/" U4, "start 'sometimes': expected auto or manual"));
	assert_true(skipped(&d, "0000:22:00.0/" U1, "attrs[0]: '../x' is not a sysfs path"));
	assert_true(skipped(&d, "0000:22:00.0/\\x01\\x0a", "file name is not a UUID"));
	assert_true(skipped(&d, "0000:22:00.0/" U2, "65537 bytes, more than the 64 KiB"));
	assert_true(skipped(&d, "0000:22:00.0/" U3, "not a regular file"));
	assert_true(skipped(&d, "0000:23:00.0/" U1, "UUID " U1 " is defined 2 times under this parent"));
	assert_true(skipped(&d, "0000:23:00.0/040FAA8E-7ABC-4373-9EFB-B0CF0210C459", "is defined 2 times"));
	assert_int_equal(d.skipped.n, 19);
	for (size_t i = 1; i < d.skipped.n; i++)
		assert_true(strcmp(d.skipped.v[i - 1], d.skipped.v[i]) < 0);
	carve_mdevctl_defs_clear(&d);

	/* an unreadable file is skipped too (root reads anything) */
	if (geteuid() != 0) {
		_cleanup_free_ char *p = carve_strdupf("%s/%s/%s", root, P41, U1);
		assert_int_equal(chmod(p, 0), 0);
		assert_int_equal(carve_mdevctl_defs_read(root, &d, &err), 0);
		assert_true(skipped(&d, P41 "/" U1, "cannot open: Permission denied"));
		assert_int_equal(d.n, 2);
		carve_mdevctl_defs_clear(&d);
	}
	assert_false(carve_error_isset(&err));
	test_rm_rf(root);
}

static void test_read_errors(void **state)
{
	(void)state;
	_cleanup_free_ char *root = test_tmpdir_make("mdevctl");
	_cleanup_free_ char *missing = carve_strdupf("%s/mdevctl.d", root);
	struct carve_mdevctl_defs d = {.n = 7};
	struct carve_error err = {0};
	assert_int_equal(carve_mdevctl_defs_read(missing, &d, &err), -ENOENT);
	assert_string_equal(err.id, "MDEVCTL_DIR_UNREADABLE");
	assert_non_null(strstr(err.message, missing));
	assert_null(d.v);
	assert_int_equal(d.n, 0);

	put(root, "file", "x");
	_cleanup_free_ char *file = carve_strdupf("%s/file", root);
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_defs_read(file, &d, &err), -ENOTDIR);
	assert_string_equal(err.id, "MDEVCTL_DIR_UNREADABLE");

	mkd(root, "real");
	link_to(root, "real", "link");
	_cleanup_free_ char *link = carve_strdupf("%s/link", root);
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_defs_read(link, &d, &err), -ENOTDIR); /* O_DIRECTORY|O_NOFOLLOW's answer */
	assert_non_null(strstr(err.message, "a symbolic link, not followed"));
	assert_int_equal(carve_mdevctl_defs_read(root, NULL, NULL), -EINVAL);
	test_rm_rf(root);
}

static void test_read_limits(void **state)
{
	(void)state;
	_cleanup_free_ char *root = test_tmpdir_make("mdevctl");
	mkd(root, P41);
	mkd(root, P21);
	char uuid[CARVE_UUID_STRLEN + 1];
	for (size_t i = 0; i < CARVE_MDEVCTL_MAX_DEFS; i++) {
		snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012zx", i);
		_cleanup_free_ char *rel = carve_strdupf("%s/%s", i % 2 ? P41 : P21, uuid);
		put(root, rel, GVT_MANUAL);
	}
	struct carve_mdevctl_defs d;
	struct carve_error err = {0};
	assert_int_equal(carve_mdevctl_defs_read(root, &d, &err), 0);
	assert_int_equal(d.n, CARVE_MDEVCTL_MAX_DEFS);
	assert_string_equal(d.v[0].path, P21 "/00000000-0000-4000-8000-000000000000");
	assert_string_equal(d.v[CARVE_MDEVCTL_MAX_DEFS - 1].path, P41 "/00000000-0000-4000-8000-000000000fff");
	carve_mdevctl_defs_clear(&d);

	put(root, P41 "/" U1, NV_AUTO);
	assert_int_equal(carve_mdevctl_defs_read(root, &d, &err), -E2BIG);
	assert_string_equal(err.id, "MDEVCTL_DIR_TOO_LARGE");
	assert_non_null(strstr(err.message, "more than 4096 mdevctl definitions"));
	assert_null(d.v);
	assert_int_equal(d.skipped.n, 0);
	test_rm_rf(root);
	free(root);

	/* skipped lines stop at their limit; one more line counts the rest */
	root = test_tmpdir_make("mdevctl");
	mkd(root, P41);
	for (size_t i = 0; i < CARVE_MDEVCTL_MAX_SKIPPED + 5; i++) {
		_cleanup_free_ char *rel = carve_strdupf("%s/junk%zu", P41, i);
		put(root, rel, "");
	}
	carve_error_clear(&err);
	assert_int_equal(carve_mdevctl_defs_read(root, &d, &err), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.skipped.n, CARVE_MDEVCTL_MAX_SKIPPED + 1);
	assert_string_equal(d.skipped.v[CARVE_MDEVCTL_MAX_SKIPPED], "(5 more entries not read, not listed)");
	carve_mdevctl_defs_clear(&d);
	test_rm_rf(root);
	free(root);
	root = NULL;
}

/* What carve exports for mdevctl reads back as exported. */
static void test_export_roundtrip(void **state)
{
	(void)state;
	struct carve_emit_vgpu v = {.uuid = U1, .impl = CARVE_IMPL_NVIDIA_MDEV, .device_pci = P41,
				    .model_name = "GRID P40-2Q"};
	_cleanup_json_ json_t *j = NULL;
	assert_int_equal(carve_emit_mdevctl_json(&v, "nvidia-47", NV_PARAMS, &j, NULL), 0);
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	_cleanup_free_ char *root = test_tmpdir_make("mdevctl");
	mkd(root, P41);
	put(root, P41 "/" U1, text);
	struct carve_mdevctl_defs d;
	assert_int_equal(carve_mdevctl_defs_read(root, &d, NULL), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].type, "nvidia-47");
	assert_true(d.v[0].autostart);
	assert_int_equal(d.v[0].n_attrs, 1);
	assert_string_equal(d.v[0].attrs[0].key, "nvidia/vgpu_params");
	assert_string_equal(d.v[0].attrs[0].value, NV_PARAMS);
	carve_mdevctl_defs_clear(&d);
	test_rm_rf(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),  cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_limits), cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_read_good),   cmocka_unit_test(test_read_skips),
		cmocka_unit_test(test_read_errors), cmocka_unit_test(test_read_limits),
		cmocka_unit_test(test_export_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
