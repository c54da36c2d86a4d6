/* Unit tests for src/emit: libvirt XML, QEMU arguments, mdevctl JSON and
 * gridd.conf against golden files in tests/unit/emit/, every domain document
 * checked by libvirt's own virt-xml-validate, and hostile input refused with
 * -EINVAL and no output.
 *
 * CARVE_SRCDIR (set by tests/unit/meson.build) locates the goldens;
 * CARVE_REGEN=1 rewrites them instead of comparing (review `git diff`).
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include "emit/emit.h"
#include "util/cleanup.h"

#define VM_UUID "3f2c8a4e-5b1d-4e7a-9c0f-1a2b3c4d5e6f"
#define VGPU_A "98d19132-f8f0-4d19-8743-9efa23e6c493"
#define VGPU_B "070bcb42-18fc-4971-9aa9-67f5ee1281c3"
#define VGPU_C "aa618089-8b16-4d01-a136-25a0f3c73123"

/* ---- golden files ------------------------------------------------------ */

static char *golden_path(const char *name)
{
	const char *src = getenv("CARVE_SRCDIR");
	if (!src || !*src) {
		fail_msg("CARVE_SRCDIR is not set: run through `meson test` (tests/unit/meson.build sets it)");
		return NULL;
	}
	char *p = NULL;
	assert_true(asprintf(&p, "%s/tests/unit/emit/%s", src, name) > 0);
	return p;
}

static char *slurp(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	buf[len] = '\0';
	return buf;
}

static bool regen(void)
{
	const char *r = getenv("CARVE_REGEN");
	return r && strcmp(r, "1") == 0;
}

/* Compare text with tests/unit/emit/name, or write it there under CARVE_REGEN=1. */
static void golden(const char *name, const char *text)
{
	_cleanup_free_ char *path = golden_path(name);
	if (regen()) {
		_cleanup_fclose_ FILE *f = fopen(path, "we");
		if (!f)
			fail_msg("cannot write %s: %s", path, strerror(errno));
		assert_int_equal(fputs(text, f) >= 0, 1);
		printf("regenerated %s\n", path);
		return;
	}
	_cleanup_free_ char *want = slurp(path);
	if (!want)
		fail_msg("golden %s missing (%s); regenerate with CARVE_REGEN=1 meson test -C build emit", path,
		         strerror(errno));
	if (strcmp(want, text) != 0) {
		fprintf(stderr, "---- %s (golden) ----\n%s---- generated ----\n%s----\n", name, want, text);
		fail_msg("%s differs from the golden file; if the change is intended, regenerate with CARVE_REGEN=1",
		         name);
	}
}

static void golden_json(const char *name, const json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(s);
	_cleanup_free_ char *t = NULL;
	assert_true(asprintf(&t, "%s\n", s) > 0);
	golden(name, t);
}

/* ---- virt-xml-validate ------------------------------------------------- */

static char *find_program(const char *prog)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/bin:/bin");
	assert_non_null(copy);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *p = NULL;
		assert_true(asprintf(&p, "%s/%s", dir, prog) > 0);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Run libvirt's schema check on a domain document; fail the test if it does
 * not validate.  Only this check is skipped (loudly) without the tool. */
static void validate_domain(const char *name, const char *xml)
{
	_cleanup_free_ char *tool = find_program("virt-xml-validate");
	if (!tool) {
		printf("SKIP virt-xml-validate not installed (Debian: apt-get install libvirt-clients); "
		       "%s not checked against libvirt's schema\n",
		       name);
		return;
	}
	char path[] = "/tmp/carve-emit-XXXXXX.xml";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	size_t len = strlen(xml);
	assert_int_equal(write(fd, xml, len), (ssize_t)len);
	close(fd);

	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Its "validates" line goes to our stdout: part of the test log. */
		execl(tool, "virt-xml-validate", path, "domain", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("virt-xml-validate rejected %s (status %d)", name, status);
}

/* Let the installed QEMU parse each -device we emit.  The host has no such
 * device, so success is QEMU getting as far as opening it ("no such host
 * device"); a misspelt driver or property fails earlier with another
 * message.  Memory backends are not run: they need the huge pages and NUMA
 * nodes of a real GPU host.  Skipped (loudly) without qemu-system-x86_64. */
static void qemu_parse_devices(const char *name, const json_t *args)
{
	_cleanup_free_ char *qemu = find_program("qemu-system-x86_64");
	if (!qemu) {
		printf("SKIP qemu-system-x86_64 not installed; %s -device options not parsed by QEMU\n", name);
		return;
	}
	for (size_t i = 0; i + 1 < json_array_size(args); i++) {
		if (strcmp(json_string_value(json_array_get(args, i)), "-device") != 0)
			continue;
		const char *dev = json_string_value(json_array_get(args, i + 1));
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(pfd[1], 1);
			dup2(pfd[1], 2);
			close(pfd[0]);
			execl(qemu, "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none",
			      "-S", "-m", "64M", "-device", dev, (char *)NULL);
			_exit(127);
		}
		close(pfd[1]);
		char out[4096];
		size_t len = 0;
		ssize_t got;
		while ((got = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0)
			len += (size_t)got;
		out[len] = '\0';
		close(pfd[0]);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!strstr(out, "no such host device"))
			fail_msg("%s: QEMU did not accept -device %s: %s", name, dev, out);
	}
}

/* ---- helpers ------------------------------------------------------------ */

static struct carve_emit_vgpu vgpu(const char *uuid, enum carve_impl impl, const char *pci, bool display,
                                   const char *model)
{
	struct carve_emit_vgpu g = {.impl = impl, .display = display};
	snprintf(g.uuid, sizeof(g.uuid), "%s", uuid);
	snprintf(g.device_pci, sizeof(g.device_pci), "%s", pci);
	snprintf(g.model_name, sizeof(g.model_name), "%s", model);
	return g;
}

static struct carve_emit_vm vm_plain(void)
{
	struct carve_emit_vm vm = {.uuid = VM_UUID, .name = "render-01", .numa_node = -1, .vcpus = 4,
	                           .memory_mib = 8192};
	return vm;
}

/* Emit hostdevs, domain and QEMU args for one case and check all three. */
static void check_case(const char *base, const struct carve_emit_vm *vm, const struct carve_emit_vgpu *v, size_t n)
{
	struct carve_error err = {0};
	char name[128];

	_cleanup_free_ char *hostdevs = NULL;
	assert_int_equal(carve_emit_libvirt_hostdevs(v, n, &hostdevs, &err), 0);
	snprintf(name, sizeof(name), "%s.hostdevs.xml", base);
	golden(name, hostdevs);

	_cleanup_free_ char *domain = NULL;
	assert_int_equal(carve_emit_libvirt_domain(vm, v, n, &domain, &err), 0);
	snprintf(name, sizeof(name), "%s.domain.xml", base);
	golden(name, domain);
	validate_domain(name, domain);
	/* The fragment is exactly what the domain carries, re-indented. */
	for (size_t i = 0; i < n; i++)
		assert_non_null(strstr(domain, v[i].uuid));

	_cleanup_json_ json_t *args = NULL;
	assert_int_equal(carve_emit_qemu_args(vm, v, n, &args, &err), 0);
	assert_true(json_is_array(args));
	snprintf(name, sizeof(name), "%s.args", base);
	golden_json(name, args);
	qemu_parse_devices(name, args);
	/* -uuid VM_UUID always leads. */
	assert_string_equal(json_string_value(json_array_get(args, 0)), "-uuid");
	assert_string_equal(json_string_value(json_array_get(args, 1)), VM_UUID);
	assert_int_equal(err.code, 0);
}

/* ---- cases ---------------------------------------------------------------- */

/* One NVIDIA mdev vGPU driving the display: a Windows VM pinned to NUMA
 * node 0 with 1 GiB pages (seed 003's tuning recipe). */
static void test_mdev_one(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", false, "GRID P40-2Q"),
	};
	assert_int_equal(carve_emit_assign_display(v, 1), 0);
	assert_true(v[0].display);
	struct carve_emit_vm vm = {.uuid = VM_UUID, .name = "win10-cad", .numa_node = 0, .vcpus = 4,
	                           .memory_mib = 16384, .hugepages_1g = true, .cpuset = "0-19,40-59",
	                           .hyperv = true};
	check_case("mdev-one", &vm, v, 1);

	_cleanup_free_ char *x = NULL;
	assert_int_equal(carve_emit_libvirt_hostdevs(v, 1, &x, NULL), 0);
	assert_non_null(strstr(x, "display='on' ramfb='on'"));

	_cleanup_json_ json_t *m = NULL;
	assert_int_equal(carve_emit_mdevctl_json(&v[0], "nvidia-47", "frame_rate_limiter=0", &m, NULL), 0);
	golden_json("mdev-one.mdevctl.json", m);
}

/* Two mdev vGPUs (NVIDIA multi-vGPU): only the first drives the display,
 * and ramfb goes with it. */
static void test_mdev_two(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", true, "GRID V100X-16C"),
		vgpu(VGPU_B, CARVE_IMPL_NVIDIA_MDEV, "0000:42:00.0", true, "GRID V100X-16C"),
	};
	assert_int_equal(carve_emit_assign_display(v, 2), 0);
	assert_true(v[0].display);
	assert_false(v[1].display);
	struct carve_emit_vm vm = vm_plain();
	vm.cpuset = "0-3";
	check_case("mdev-two", &vm, v, 2);

	_cleanup_free_ char *x = NULL;
	assert_int_equal(carve_emit_libvirt_hostdevs(v, 2, &x, NULL), 0);
	const char *on = strstr(x, "display='on'");
	assert_non_null(on);
	assert_null(strstr(on + 1, "display='on'"));
	assert_non_null(strstr(x, "display='off'>"));
	/* ramfb exactly once. */
	const char *rf = strstr(x, "ramfb");
	assert_non_null(rf);
	assert_null(strstr(rf + 1, "ramfb"));

	_cleanup_json_ json_t *m = NULL;
	assert_int_equal(carve_emit_mdevctl_json(&v[1], "nvidia-218", NULL, &m, NULL), 0);
	golden_json("mdev-two.mdevctl.json", m);
}

/* NVIDIA SR-IOV (vGPU 17+): the VF itself is assigned, no mdev. */
static void test_sriov_vf(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_C, CARVE_IMPL_NVIDIA_SRIOV, "0000:41:00.4", false, "NVIDIA L40S-12Q"),
	};
	assert_int_equal(carve_emit_assign_display(v, 1), -ENOENT);
	assert_false(v[0].display);
	struct carve_emit_vm vm = vm_plain();
	vm.numa_node = 1;
	check_case("sriov-vf", &vm, v, 1);

	_cleanup_free_ char *x = NULL;
	assert_int_equal(carve_emit_libvirt_hostdevs(v, 1, &x, NULL), 0);
	assert_non_null(strstr(x, "<address domain='0x0000' bus='0x41' slot='0x00' function='0x4'/>"));
	assert_non_null(strstr(x, "managed='no'"));

	/* mdevctl has nothing to say about a VF. */
	struct carve_error err = {0};
	json_t *m = (json_t *)1;
	assert_int_equal(carve_emit_mdevctl_json(&v[0], "nvidia-1155", NULL, &m, &err), -EINVAL);
	assert_null(m);
	assert_string_equal(err.id, "VGPU_NOT_MDEV");
}

/* AMD MxGPU: one VF per vGPU; short PCI form is canonicalised. */
static void test_amd_vf(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_B, CARVE_IMPL_AMD_MXGPU, "05:02.1", false, "AMD FirePro S7150 (1/4)"),
		vgpu(VGPU_C, CARVE_IMPL_AMD_MXGPU, "0000:05:02.2", false, "AMD FirePro S7150 (1/4)"),
	};
	struct carve_emit_vm vm = vm_plain();
	vm.hyperv = true;
	check_case("amd-vf", &vm, v, 2);
}

/* Whole-GPU passthrough, with the guest memory on 1 GiB pages. */
static void test_passthrough(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_A, CARVE_IMPL_PASSTHROUGH, "0000:82:00.0", false, "passthrough"),
	};
	struct carve_emit_vm vm = vm_plain();
	vm.hugepages_1g = true;
	check_case("passthrough", &vm, v, 1);
}

/* GVT-g display is a dma-buf: the domain gets egl-headless next to VNC. */
static void test_gvtg(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_A, CARVE_IMPL_GVT_G, "0000:00:02.0", true, "Intel GVT-g i915-GVTg_V5_4"),
	};
	struct carve_emit_vm vm = vm_plain();
	check_case("gvtg", &vm, v, 1);

	_cleanup_json_ json_t *m = NULL;
	assert_int_equal(carve_emit_mdevctl_json(&v[0], "i915-GVTg_V5_4", "", &m, NULL), 0);
	golden_json("gvtg.mdevctl.json", m);
	/* vgpu_params are NVIDIA's. */
	struct carve_error err = {0};
	json_t *m2 = NULL;
	assert_int_equal(carve_emit_mdevctl_json(&v[0], "i915-GVTg_V5_4", "frame_rate_limiter=0", &m2, &err),
	                 -EINVAL);
	assert_null(m2);
}

/* A VM with no vGPU still gets a valid document; the fragment is empty. */
static void test_no_vgpu(void **state)
{
	(void)state;
	_cleanup_free_ char *x = NULL;
	assert_int_equal(carve_emit_libvirt_hostdevs(NULL, 0, &x, NULL), 0);
	assert_string_equal(x, "");
	struct carve_emit_vm vm = vm_plain();
	_cleanup_free_ char *d = NULL;
	assert_int_equal(carve_emit_libvirt_domain(&vm, NULL, 0, &d, NULL), 0);
	validate_domain("no-vgpu", d);
	assert_null(strstr(d, "<video>"));
}

/* XML metacharacters in the VM name are escaped, and the model name cannot
 * break out of its comment. */
static void test_escaping(void **state)
{
	(void)state;
	struct carve_emit_vgpu v[] = {
		vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", true, "GRID --> <evil> & 'q' \"x\" -"),
	};
	struct carve_emit_vm vm = vm_plain();
	snprintf(vm.name, sizeof(vm.name), "%s", "a<b>&'c'\"d\"");
	check_case("escaping", &vm, v, 1);
	_cleanup_free_ char *d = NULL;
	assert_int_equal(carve_emit_libvirt_domain(&vm, v, 1, &d, NULL), 0);
	assert_non_null(strstr(d, "<name>a&lt;b&gt;&amp;&apos;c&apos;&quot;d&quot;</name>"));
	assert_null(strstr(d, "<evil>"));
}

/* ---- hostile input --------------------------------------------------------- */

enum { HOSTDEVS = 1, DOMAIN = 2, QEMU = 4, ALL = 7 };

/* Each emitter named in `which` must refuse with -EINVAL, fill err with id,
 * and leave its output NULL (the others may legitimately not care: the
 * hostdev fragment has no VM, QEMU arguments take no name or vCPU count). */
static void expect_rejected(const struct carve_emit_vm *vm, const struct carve_emit_vgpu *v, size_t n,
                            const char *id, unsigned which)
{
	struct carve_error err = {0};
	if (which & HOSTDEVS) {
		char *x = (char *)"sentinel";
		assert_int_equal(carve_emit_libvirt_hostdevs(v, n, &x, &err), -EINVAL);
		assert_null(x);
		assert_int_equal(err.code, -EINVAL);
		assert_string_equal(err.id, id);
		assert_true(err.message[0] != '\0');
	}
	if (which & DOMAIN) {
		carve_error_clear(&err);
		char *x = (char *)"sentinel";
		assert_int_equal(carve_emit_libvirt_domain(vm, v, n, &x, &err), -EINVAL);
		assert_null(x);
		assert_string_equal(err.id, id);
	}
	if (which & QEMU) {
		carve_error_clear(&err);
		json_t *j = (json_t *)1;
		assert_int_equal(carve_emit_qemu_args(vm, v, n, &j, &err), -EINVAL);
		assert_null(j);
		assert_string_equal(err.id, id);
	}
}

static void test_hostile_vgpus(void **state)
{
	(void)state;
	struct carve_emit_vm vm = vm_plain();
	static const char *const bad_uuids[] = {
		"98d19132-f8f0-4d19-8743-9efa23e6c49'",  "98d19132-f8f0-4d19-8743-9efa23e6c<>3",
		"98d19132'/><hostdev uuid='x",           "98d19132-f8f0-4d19-8743-9efa23e6c4\"3",
		"",                                      "98d19132-f8f0-4d19-8743-9efa,3e6c493",
		"../../../../etc/passwd",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_uuids); i++) {
		struct carve_emit_vgpu v = vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", false, "x");
		snprintf(v.uuid, sizeof(v.uuid), "%s", bad_uuids[i]);
		expect_rejected(&vm, &v, 1, "UUID_INVALID", ALL);
	}
	static const char *const bad_pcis[] = {
		"0000:41:00.8", "0000:41:20.0", "41:00", "0000:41:0,.4", "0000:4g:00.0", "'><x/>", "", "0000-41-00.4",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_pcis); i++) {
		struct carve_emit_vgpu v = vgpu(VGPU_A, CARVE_IMPL_NVIDIA_SRIOV, bad_pcis[i], false, "x");
		expect_rejected(&vm, &v, 1, "PCI_ADDRESS_INVALID", ALL);
		v.impl = CARVE_IMPL_NVIDIA_MDEV; /* the parent is checked too */
		expect_rejected(&vm, &v, 1, "PCI_ADDRESS_INVALID", ALL);
	}
	/* An unterminated device_pci must not be read past its end. */
	struct carve_emit_vgpu full = vgpu(VGPU_A, CARVE_IMPL_PASSTHROUGH, "", false, "x");
	memset(full.device_pci, '1', sizeof(full.device_pci));
	expect_rejected(&vm, &full, 1, "PCI_ADDRESS_INVALID", ALL);

	struct carve_emit_vgpu two[] = {
		vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", true, "x"),
		vgpu(VGPU_B, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", true, "x"),
	};
	expect_rejected(&vm, two, 2, "VGPU_DISPLAY_CONFLICT", ALL);
	struct carve_emit_vgpu vf = vgpu(VGPU_A, CARVE_IMPL_AMD_MXGPU, "0000:05:02.1", true, "x");
	expect_rejected(&vm, &vf, 1, "VGPU_DISPLAY_NOT_MDEV", ALL);
	struct carve_emit_vgpu dup[] = {
		vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", false, "x"),
		vgpu("98D19132-F8F0-4D19-8743-9EFA23E6C493", CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", false, "x"),
	};
	expect_rejected(&vm, dup, 2, "VGPU_DUPLICATE", ALL);
	struct carve_emit_vgpu dup_vf[] = {
		vgpu(VGPU_A, CARVE_IMPL_AMD_MXGPU, "05:02.1", false, "x"),
		vgpu(VGPU_B, CARVE_IMPL_AMD_MXGPU, "0000:05:02.1", false, "x"),
	};
	expect_rejected(&vm, dup_vf, 2, "VGPU_DUPLICATE", ALL);
	struct carve_emit_vgpu bad_impl = vgpu(VGPU_A, (enum carve_impl)42, "0000:41:00.0", false, "x");
	expect_rejected(&vm, &bad_impl, 1, "INVALID_VALUE", ALL);
	expect_rejected(&vm, NULL, 3, "INVALID_ARGUMENT", ALL);
}

static void test_hostile_vm(void **state)
{
	(void)state;
	struct carve_emit_vgpu v = vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", true, "x");
	struct carve_emit_vm vm = vm_plain();
	snprintf(vm.uuid, sizeof(vm.uuid), "%s", "3f2c8a4e-5b1d-4e7a-9c0f-1a2b3c4d5e6'");
	expect_rejected(&vm, &v, 1, "UUID_INVALID", DOMAIN | QEMU);

	static const char *const bad_cpusets[] = {"0-19'/>", "", "3-1", "0,,1", "^2", "1-", "0-99999999", "a"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_cpusets); i++) {
		vm = vm_plain();
		vm.cpuset = bad_cpusets[i];
		expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN | QEMU);
	}
	vm = vm_plain();
	snprintf(vm.name, sizeof(vm.name), "%s", "a/b");
	expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN);
	snprintf(vm.name, sizeof(vm.name), "%s", "line\nbreak");
	expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN);
	vm.name[0] = '\0';
	expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN);

	vm = vm_plain();
	vm.hugepages_1g = true;
	vm.memory_mib = 1536; /* not a whole number of 1 GiB pages */
	expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN | QEMU);
	vm = vm_plain();
	vm.numa_node = -2;
	expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN | QEMU);
	vm = vm_plain();
	vm.vcpus = 0;
	expect_rejected(&vm, &v, 1, "INVALID_VALUE", DOMAIN);
	expect_rejected(NULL, &v, 1, "INVALID_ARGUMENT", DOMAIN | QEMU);
}

static void test_mdevctl(void **state)
{
	(void)state;
	struct carve_emit_vgpu v = vgpu(VGPU_A, CARVE_IMPL_NVIDIA_MDEV, "0000:41:00.0", false, "GRID P40-2Q");
	_cleanup_json_ json_t *m = NULL;
	assert_int_equal(carve_emit_mdevctl_json(&v, "nvidia-47", "frame_rate_limiter=0, disable_vnc=1", &m, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(m, "mdev_type")), "nvidia-47");
	assert_string_equal(json_string_value(json_object_get(m, "start")), "auto");
	json_t *a0 = json_array_get(json_object_get(m, "attrs"), 0);
	assert_string_equal(json_string_value(json_object_get(a0, "nvidia/vgpu_params")),
	                    "frame_rate_limiter=0, disable_vnc=1");

	static const char *const bad_params[] = {
		"frame_rate_limiter=0\nx=1", "=0", "frame_rate_limiter", "a=1,,b=2", "a=1;rm -rf /", "a=\"1\"", "a=1,",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_params); i++) {
		struct carve_error err = {0};
		json_t *j = (json_t *)1;
		assert_int_equal(carve_emit_mdevctl_json(&v, "nvidia-47", bad_params[i], &j, &err), -EINVAL);
		assert_null(j);
		assert_string_equal(err.id, "INVALID_VALUE");
	}
	static const char *const bad_types[] = {"../nvidia-47", "", "nvidia 47", "nvidia-47\"", ".."};
	for (size_t i = 0; i < ARRAY_SIZE(bad_types); i++) {
		json_t *j = (json_t *)1;
		assert_int_equal(carve_emit_mdevctl_json(&v, bad_types[i], NULL, &j, NULL), -EINVAL);
		assert_null(j);
	}
	json_t *j = (json_t *)1;
	assert_int_equal(carve_emit_mdevctl_json(&v, NULL, NULL, &j, NULL), -EINVAL);
	assert_null(j);
	j = (json_t *)1;
	assert_int_equal(carve_emit_mdevctl_json(NULL, "nvidia-47", NULL, &j, NULL), -EINVAL);
	assert_null(j);
	struct carve_emit_vgpu bad = v;
	bad.uuid[3] = '<';
	j = (json_t *)1;
	assert_int_equal(carve_emit_mdevctl_json(&bad, "nvidia-47", NULL, &j, NULL), -EINVAL);
	assert_null(j);
}

static void test_gridd(void **state)
{
	(void)state;
	_cleanup_free_ char *c = NULL;
	assert_int_equal(carve_emit_gridd_conf("licence.example.com", 0, 2, &c, NULL), 0);
	golden("gridd.conf", c);
	assert_non_null(strstr(c, "ServerPort=7070\n"));

	static const char *const good[] = {"10.0.0.5", "fd00::1", "lic-01.corp.example", "LIC.example.com.",
	                                   "localhost"};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *x = NULL;
		assert_int_equal(carve_emit_gridd_conf(good[i], 7070, 1, &x, NULL), 0);
	}
	uint32_t types[] = {0, 1, 2, 4};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		_cleanup_free_ char *x = NULL;
		assert_int_equal(carve_emit_gridd_conf("lic", 1234, types[i], &x, NULL), 0);
		assert_non_null(strstr(x, "ServerPort=1234\n"));
	}

	char longname[300];
	memset(longname, 'a', sizeof(longname));
	for (size_t i = 60; i < 254; i += 61)
		longname[i] = '.'; /* valid labels, too long in total */
	longname[254] = '\0';
	const char *bad[] = {"lic.example.com\nFeatureType=4", "", "-lic.example.com", "lic-.example.com",
	                            "lic..example.com", "lic example", "lic_example.com", "10.0.0.300",
	                            "lic.example.com;rm", "http://lic", NULL};
	bad[ARRAY_SIZE(bad) - 1] = longname;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct carve_error err = {0};
		char *x = (char *)"sentinel";
		assert_int_equal(carve_emit_gridd_conf(bad[i], 7070, 1, &x, &err), -EINVAL);
		assert_null(x);
		assert_string_equal(err.id, "INVALID_VALUE");
	}
	char *x = (char *)"sentinel";
	assert_int_equal(carve_emit_gridd_conf(NULL, 7070, 1, &x, NULL), -EINVAL);
	assert_null(x);
	x = (char *)"sentinel";
	assert_int_equal(carve_emit_gridd_conf("lic", 70000, 1, &x, NULL), -EINVAL);
	assert_null(x);
	uint32_t bad_types[] = {3, 5, 8, UINT32_MAX};
	for (size_t i = 0; i < ARRAY_SIZE(bad_types); i++) {
		x = (char *)"sentinel";
		assert_int_equal(carve_emit_gridd_conf("lic", 7070, bad_types[i], &x, NULL), -EINVAL);
		assert_null(x);
	}
}

static void test_migration(void **state)
{
	(void)state;
	assert_true(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-2Q",
	                                            "535.129.03", "535.54.06"));
	assert_true(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-2Q", "535",
	                                            "535.1"));
	/* Different branch. */
	assert_false(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-2Q",
	                                             "535.129.03", "550.54.16"));
	/* Different profile, same id (another board) or same name, other id. */
	assert_false(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-3Q",
	                                             "535.129.03", "535.129.03"));
	assert_false(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-48", "GRID P40-2Q",
	                                             "535.129.03", "535.129.03"));
	/* Malformed or missing: no. */
	assert_false(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-2Q",
	                                             "r535", "535.1"));
	assert_false(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-2Q",
	                                             "535.1x", "535.1"));
	assert_false(carve_emit_migration_compatible("nvidia-47", "GRID P40-2Q", "nvidia-47", "GRID P40-2Q", NULL,
	                                             "535.1"));
	assert_false(carve_emit_migration_compatible("nvidia-47", "", "nvidia-47", "", "535", "535"));
	assert_false(carve_emit_migration_compatible(NULL, "GRID P40-2Q", NULL, "GRID P40-2Q", "535", "535"));
	assert_false(carve_emit_migration_compatible("../x", "GRID P40-2Q", "../x", "GRID P40-2Q", "535", "535"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mdev_one),      cmocka_unit_test(test_mdev_two),   cmocka_unit_test(test_sriov_vf),
		cmocka_unit_test(test_amd_vf),        cmocka_unit_test(test_passthrough), cmocka_unit_test(test_gvtg),
		cmocka_unit_test(test_no_vgpu),       cmocka_unit_test(test_escaping),   cmocka_unit_test(test_hostile_vgpus),
		cmocka_unit_test(test_hostile_vm),    cmocka_unit_test(test_mdevctl),    cmocka_unit_test(test_gridd),
		cmocka_unit_test(test_migration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
