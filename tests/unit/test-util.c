/* Unit tests for src/util: UUIDs, PCI addresses, strict number parsing,
 * identifiers, and the safe sysfs I/O rules (hostile paths, symlinks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fault.h"
#include "util/pci.h"
#include "util/str.h"
#include "util/sysfs.h"
#include "util/uuid.h"

static void test_uuid(void **state)
{
	(void)state;
	char u[37];
	assert_true(carve_uuid_valid("070bcb42-18fc-4971-9aa9-67f5ee1281c3"));
	assert_true(carve_uuid_valid("070BCB42-18FC-4971-9AA9-67F5EE1281C3"));
	assert_false(carve_uuid_valid("070bcb42-18fc-4971-9aa9-67f5ee1281c"));
	assert_false(carve_uuid_valid("070bcb42-18fc-4971-9aa9-67f5ee1281c3 "));
	assert_false(carve_uuid_valid("../../../../etc/passwd-aaaaaaaaaaaaaa"));
	assert_false(carve_uuid_valid("070bcb42x18fc-4971-9aa9-67f5ee1281c3"));
	assert_false(carve_uuid_valid(""));
	assert_false(carve_uuid_valid(NULL));
	carve_uuid_generate(u);
	assert_true(carve_uuid_valid(u));
	assert_int_equal(carve_uuid_normalize("070BCB42-18FC-4971-9AA9-67F5EE1281C3", u), 0);
	assert_string_equal(u, "070bcb42-18fc-4971-9aa9-67f5ee1281c3");
	char a[37], b[37];
	carve_uuid_from_name("070bcb42-18fc-4971-9aa9-67f5ee1281c3", "pgpu/0000:82:00.0", a);
	carve_uuid_from_name("070bcb42-18fc-4971-9aa9-67f5ee1281c3", "pgpu/0000:82:00.0", b);
	assert_string_equal(a, b);
}

static void test_pci(void **state)
{
	(void)state;
	char out[13];
	assert_int_equal(carve_pci_normalize("0000:82:00.0", out), 0);
	assert_string_equal(out, "0000:82:00.0");
	assert_int_equal(carve_pci_normalize("82:00.0", out), 0);
	assert_string_equal(out, "0000:82:00.0");
	assert_int_equal(carve_pci_normalize("0000:AF:1f.7", out), 0);
	assert_string_equal(out, "0000:af:1f.7");
	const char *bad[] = {"0000:82:00.8", "0000:82:20.0", "0000:82:00", "0000:82:00.0/..", "../82:00.0",
			     "0000-82:00.0", "", "0000:82:00.0 ", "g000:82:00.0"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(carve_pci_normalize(bad[i], out), -EINVAL);
}

static void test_numbers(void **state)
{
	(void)state;
	uint32_t v, x, y;
	int32_t i;
	uint64_t w;
	assert_int_equal(carve_parse_u32("24", &v), 0);
	assert_int_equal(v, 24);
	assert_int_equal(carve_parse_u32("4294967296", &v), -ERANGE);
	assert_int_equal(carve_parse_u32("-1", &v), -EINVAL);
	assert_int_equal(carve_parse_u32("1 ", &v), -EINVAL);
	assert_int_equal(carve_parse_u32("", &v), -EINVAL);
	assert_int_equal(carve_parse_u64("18446744073709551616", &w), -ERANGE);
	assert_int_equal(carve_parse_i32("-1", &i), 0);
	assert_int_equal(i, -1);
	assert_int_equal(carve_parse_hex_u32("0x10de", &v), 0);
	assert_int_equal(v, 0x10de);
	assert_int_equal(carve_parse_hex_u32("0x", &v), -EINVAL);
	assert_int_equal(carve_parse_resolution("5120x2880", &x, &y), 0);
	assert_int_equal(x, 5120);
	assert_int_equal(y, 2880);
	assert_int_equal(carve_parse_resolution("x2880", &x, &y), -EINVAL);
	assert_int_equal(carve_parse_resolution("5120x", &x, &y), -EINVAL);
}

static void test_ident(void **state)
{
	(void)state;
	assert_true(carve_ident_valid("nvidia-46"));
	assert_true(carve_ident_valid("i915-GVTg_V5_4"));
	assert_true(carve_ident_valid("1155"));
	assert_false(carve_ident_valid("../nvidia-46"));
	assert_false(carve_ident_valid("nvidia/46"));
	assert_false(carve_ident_valid(".."));
	assert_false(carve_ident_valid("a..b"));
	assert_false(carve_ident_valid(""));
	assert_false(carve_ident_valid("-x"));
}

static char *mktree(void)
{
	char *dir = strdup("/tmp/carve-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char path[512];
	snprintf(path, sizeof(path), "%s/devices/pci0000:00/0000:00:02.0", dir);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/devices/pci0000:00/0000:82:00.0/mdev_supported_types/nvidia-46 %s/bus/pci/devices && "
		 "ln -s ../../../devices/pci0000:00/0000:82:00.0 %s/bus/pci/devices/0000:82:00.0 && "
		 "echo 0x10de > %s/devices/pci0000:00/0000:82:00.0/vendor && "
		 ": > %s/devices/pci0000:00/0000:82:00.0/mdev_supported_types/nvidia-46/create && "
		 "echo secret > %s/outside && ln -s ../../../../outside %s/devices/pci0000:00/0000:82:00.0/evil && "
		 "ln -s /etc/hostname %s/devices/pci0000:00/0000:82:00.0/abs",
		 dir, dir, dir, dir, dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	return dir;
}

static void test_sysfs(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = mktree();
	struct carve_sysfs *s = NULL;
	struct carve_error err = {0};
	assert_int_equal(carve_sysfs_open(dir, &s, &err), 0);

	_cleanup_free_ char *v = NULL;
	assert_int_equal(carve_sysfs_read(s, "bus/pci/devices/0000:82:00.0/vendor", &v, NULL), 0);
	assert_string_equal(v, "0x10de");

	/* an absolute symlink resolves inside the root, not to the host's /etc */
	_cleanup_free_ char *abs = NULL;
	assert_true(carve_sysfs_read(s, "bus/pci/devices/0000:82:00.0/abs", &abs, NULL) < 0);

	/* writes: fine under the device, refused through "..", symlinks or absolute paths */
	const char *dev = "bus/pci/devices/0000:82:00.0";
	assert_int_equal(carve_sysfs_write(s, dev, "mdev_supported_types/nvidia-46/create",
					   "070bcb42-18fc-4971-9aa9-67f5ee1281c3", NULL), 0);
	assert_int_equal(carve_sysfs_write(s, dev, "../0000:82:00.0/vendor", "x", NULL), -EINVAL);
	assert_int_equal(carve_sysfs_write(s, dev, "/etc/passwd", "x", NULL), -EINVAL);
	assert_true(carve_sysfs_write(s, dev, "evil", "x", NULL) < 0);
	assert_true(carve_sysfs_write(s, "bus/pci/devices/../../outside", "x", "x", NULL) < 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/outside", dir);
	FILE *f = fopen(p, "r");
	char buf[16] = {0};
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "secret\n");

	struct carve_strv names = {0};
	assert_int_equal(carve_sysfs_list(s, "bus/pci/devices", &names, NULL), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.v[0], "0000:82:00.0");
	carve_strv_clear(&names);
	carve_sysfs_close(s);

	assert_true(carve_sysfs_open("/nonexistent/carve", &s, &err) < 0);
	assert_string_equal(err.id, "SYSFS_ROOT_UNREADABLE");

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_path_valid(void **state)
{
	(void)state;
	assert_true(carve_sysfs_path_valid("a/b/c"));
	assert_false(carve_sysfs_path_valid("/a"));
	assert_false(carve_sysfs_path_valid("a//b"));
	assert_false(carve_sysfs_path_valid("a/../b"));
	assert_false(carve_sysfs_path_valid("a/./b"));
	assert_false(carve_sysfs_path_valid("a/"));
	assert_false(carve_sysfs_path_valid("a\nb"));
	assert_false(carve_sysfs_path_valid(""));
}

/* The fault plan's spelling, and the plan itself: the N-th operation of
 * its class fails, with the errno named, and only that one. */
static void test_fault_plan(void **state)
{
	(void)state;
	static const char *const cls[] = {"any", "read", "write"};
	unsigned long n;
	int f;
	unsigned c;
	assert_int_equal(carve_fault_parse("3:EIO", cls, 3, &n, &f, &c), 0);
	assert_true(n == 3 && f == -EIO && c == 0);
	assert_int_equal(carve_fault_parse("12:short:write", cls, 3, &n, &f, &c), 0);
	assert_true(n == 12 && f == CARVE_FAULT_SHORT && c == 2);
	assert_string_equal(carve_fault_name(-ENOSPC), "ENOSPC");
	const char *badspec[] = {"0:EIO", "x:EIO", "3", "3:", "3:EPERM", "3:EIO:", "3:EIO:sometimes", "-1:EIO", "3:EIOX"};
	for (size_t i = 0; i < ARRAY_SIZE(badspec); i++)
		assert_int_equal(carve_fault_parse(badspec[i], cls, 3, &n, &f, &c), -EINVAL);

	_cleanup_free_ char *dir = mktree();
	struct carve_sysfs *s = NULL;
	struct carve_error err = {0};
	assert_int_equal(carve_sysfs_open(dir, &s, &err), 0);
	const char *vendor = "bus/pci/devices/0000:82:00.0/vendor", *dev = "bus/pci/devices/0000:82:00.0";
	_cleanup_free_ char *v1 = NULL, *v2 = NULL, *v3 = NULL;
	carve_sysfs_set_fault_plan(2, -EBUSY, CARVE_SYSFS_OP_READ);
	assert_int_equal(carve_sysfs_read(s, vendor, &v1, &err), 0);
	assert_int_equal(carve_sysfs_read(s, vendor, &v2, &err), -EBUSY);
	assert_string_equal(err.id, "SYSFS_READ_FAILED");
	assert_non_null(strstr(err.message, vendor));
	assert_non_null(strstr(err.message, "Device or resource busy (injected)"));
	assert_int_equal(carve_sysfs_read(s, vendor, &v3, &err), 0);
	/* a write class counts writes only; "short" writes the value, then fails */
	carve_sysfs_set_fault_plan(1, CARVE_FAULT_SHORT, CARVE_SYSFS_OP_WRITE);
	_cleanup_free_ char *v4 = NULL;
	assert_int_equal(carve_sysfs_read(s, vendor, &v4, &err), 0);
	carve_error_clear(&err);
	assert_int_equal(carve_sysfs_write(s, dev, "mdev_supported_types/nvidia-46/create", "abc", &err), -EIO);
	assert_non_null(strstr(err.message, "short write of 'abc'"));
	_cleanup_free_ char *created = NULL;
	assert_int_equal(carve_sysfs_read(s, "bus/pci/devices/0000:82:00.0/mdev_supported_types/nvidia-46/create",
					  &created, &err), 0);
	assert_string_equal(created, "abc");
	carve_sysfs_set_fault_plan(0, 0, CARVE_SYSFS_OP_ANY);
	_cleanup_free_ char *v5 = NULL;
	assert_int_equal(carve_sysfs_read(s, vendor, &v5, &err), 0);
	carve_sysfs_close(s);
	_cleanup_free_ char *cmd = carve_strdupf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid),    cmocka_unit_test(test_pci),   cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_ident),   cmocka_unit_test(test_sysfs), cmocka_unit_test(test_path_valid),
		cmocka_unit_test(test_fault_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
