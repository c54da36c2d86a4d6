/* Discovery and the simulated host.
 *
 * For every profile in examples/hosts: carve-mkfixture writes the sysfs tree
 * into a temporary directory, the sysfs backend discovers it, and the JSON
 * must equal both the golden file tests/fixtures/<profile>.inventory.json
 * and the sim backend's inventory of the same profile.  Then: malformed and
 * hostile trees, non-PCI mdev parents, the sim's driver rules, persistence
 * across a SIGKILL, fault injection, profile validation, and the sysfs
 * realization writes on a fixture tree.
 *
 * Environment (set by tests/unit/meson.build): CARVE_SRCDIR, CARVE_MKFIXTURE.
 * scripts/regen-fixtures rewrites the golden files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/host.h"
#include "host/inventory.h"
#include "host/profile.h"
#include "host/sim.h"
#include "util/cleanup.h"
#include "util/sysfs.h"

static const char *srcdir(void)
{
	const char *s = getenv("CARVE_SRCDIR");
	return s ? s : ".";
}

static const char *mkfixture(void)
{
	const char *s = getenv("CARVE_MKFIXTURE");
	return s ? s : "build/tools/carve-mkfixture";
}


/* carve-mkfixture PROFILE OUTDIR, without a shell. */
static int run_mkfixture(const char *profile, const char *outdir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl(mkfixture(), mkfixture(), profile, outdir, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *profile_path(const char *name)
{
	return carve_strdupf("%s/examples/hosts/%s.yaml", srcdir(), name);
}

/* Generate a tree for an example profile into <tmp>/sys; returns the root. */
static char *gen_tree(const char *tmp, const char *name)
{
	_cleanup_free_ char *prof = profile_path(name);
	char *root = carve_strdupf("%s/sys-%s", tmp, name);
	assert_int_equal(run_mkfixture(prof, root), 0);
	return root;
}

static json_t *discover_json(struct carve_host *h)
{
	struct carve_hw_inventory inv = {0};
	struct carve_error err = {0};
	int r = carve_host_discover(h, &inv, &err);
	if (r < 0)
		fail_msg("discover: %s", err.message);
	json_t *j = carve_hw_inventory_to_json(&inv);
	carve_hw_inventory_clear(&inv);
	assert_non_null(j);
	return j;
}

static void expect_equal_json(json_t *want, json_t *got, const char *what)
{
	if (json_equal(want, got))
		return;
	_cleanup_free_ char *a = json_dumps(want, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	_cleanup_free_ char *b = json_dumps(got, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	/* Print the first differing line to keep the failure readable. */
	size_t line = 1, i = 0;
	while (a && b && a[i] && a[i] == b[i]) {
		if (a[i] == '\n')
			line++;
		i++;
	}
	print_error("%s: JSON differs at line %zu:\n  want: %.200s\n  got:  %.200s\n", what, line, a ? a + i : "",
		    b ? b + i : "");
	fail();
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The names of dir's *.yaml files, without the suffix, sorted. */
static void yaml_names(const char *dir, struct carve_strv *names)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".yaml") == 0) {
			de->d_name[n - 5] = '\0';
			assert_int_equal(carve_strv_push(names, de->d_name), 0);
		}
	}
	carve_strv_sort(names);
}

/* ---- every example profile: golden file and sim parity ---- */

/* NVML's facts (NVLink, ECC) are the sim's from the profile; a sysfs tree
 * alone has none (test-nvml and tests/integration/cases/21-gpu-facts read
 * them through carve's NVML stand-in). */
static void drop_nvml_facts(json_t *inv)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(inv, "gpus"), i, g) {
		json_object_del(g, "nvlink");
		json_object_del(g, "ecc");
	}
}

static void test_profiles(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *dir = carve_strdupf("%s/examples/hosts", srcdir());
	struct carve_strv names = {0};
	yaml_names(dir, &names);
	assert_true(names.n >= 10);
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		_cleanup_free_ char *root = gen_tree(tmp, name);
		_cleanup_free_ char *prof = profile_path(name);
		_cleanup_free_ char *golden_path = carve_strdupf("%s/tests/fixtures/%s.inventory.json", srcdir(), name);
		struct carve_error err = {0};
		struct carve_host *hs = NULL, *hm = NULL;
		if (carve_host_open_sysfs(root, NULL, &hs, &err) < 0)
			fail_msg("%s: %s", name, err.message);
		double t0 = now_ms();
		_cleanup_json_ json_t *got = discover_json(hs);
		double ms = now_ms() - t0;
		print_message("  %-16s discovered in %.2f ms\n", name, ms);
		if (strcmp(name, "dgx8") == 0)
			assert_true(ms < 50.0); /* aim: well under 10 ms; slack for sanitizers */
		json_error_t je;
		_cleanup_json_ json_t *golden = json_load_file(golden_path, 0, &je);
		if (!golden)
			fail_msg("%s: %s (run scripts/regen-fixtures)", golden_path, je.text);
		expect_equal_json(golden, got, golden_path);
		if (carve_host_open_sim(prof, NULL, &hm, &err) < 0)
			fail_msg("%s: %s", name, err.message);
		_cleanup_json_ json_t *sim = discover_json(hm);
		drop_nvml_facts(sim);
		expect_equal_json(sim, got, name);
		carve_host_free(hs);
		carve_host_free(hm);
	}
	carve_strv_clear(&names);
	test_rm_rf(tmp);
}

/* ---- real hosts: listings operators published (tests/fixtures/real) ---- */

static int run_mkfixture_listing(const char *listing, const char *outdir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl(mkfixture(), mkfixture(), "--listing", listing, outdir, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_t *discover_listing(const char *tmp, const char *name)
{
	_cleanup_free_ char *listing = carve_strdupf("%s/tests/fixtures/real/%s.yaml", srcdir(), name);
	_cleanup_free_ char *root = carve_strdupf("%s/%s", tmp, name);
	test_rm_rf(root);
	assert_int_equal(run_mkfixture_listing(listing, root), 0);
	struct carve_error err = {0};
	struct carve_host *h = NULL;
	if (carve_host_open_sysfs(root, NULL, &h, &err) < 0)
		fail_msg("%s: %s", name, err.message);
	json_t *j = discover_json(h);
	carve_host_free(h);
	return j;
}

static json_t *type_json(json_t *inv, size_t gpu, const char *id)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(json_array_get(json_object_get(inv, "gpus"), gpu), "types"), i, t)
		if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0)
			return t;
	fail_msg("no type %s", id);
	return NULL;
}

#define JINT(o, k) json_integer_value(json_object_get((o), (k)))
#define JSTR(o, k) json_string_value(json_object_get((o), (k)))

static void test_real_hosts(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *dir = carve_strdupf("%s/tests/fixtures/real", srcdir());
	struct carve_strv names = {0};
	yaml_names(dir, &names);
	assert_true(names.n >= 6);
	for (size_t i = 0; i < names.n; i++) {
		_cleanup_json_ json_t *got = discover_listing(tmp, names.v[i]);
		_cleanup_free_ char *golden_path =
			carve_strdupf("%s/tests/fixtures/real/%s.inventory.json", srcdir(), names.v[i]);
		json_error_t je;
		_cleanup_json_ json_t *golden = json_load_file(golden_path, 0, &je);
		if (!golden)
			fail_msg("%s: %s (run scripts/regen-fixtures)", golden_path, je.text);
		expect_equal_json(golden, got, golden_path);
	}
	carve_strv_clear(&names);

	/* GVT-g before 6.1: no name files; names as the kernel gives them since
	 * 6.1, and capacity is the kernel's (an iGPU the catalog does not know). */
	_cleanup_json_ json_t *gvt = discover_listing(tmp, "real-gvtg-skylake");
	static const struct {
		const char *id, *name;
		int avail;
	} gv[] = {{"i915-GVTg_V5_1", "GVTg_V5_1", 1}, {"i915-GVTg_V5_2", "GVTg_V5_2", 2},
		  {"i915-GVTg_V5_4", "GVTg_V5_4", 5}, {"i915-GVTg_V5_8", "GVTg_V5_8", 7}};
	for (size_t i = 0; i < ARRAY_SIZE(gv); i++) {
		json_t *t = type_json(gvt, 0, gv[i].id);
		assert_string_equal(JSTR(t, "name"), gv[i].name);
		assert_int_equal(JINT(t, "available"), gv[i].avail);
		assert_int_equal(JINT(t, "max_instances"), 0);
		assert_string_equal(JSTR(t, "max_instances_source"), "none");
	}

	/* A Tesla P100 (not in the catalog): types and budgets from sysfs, the
	 * two P100-8C made by hand are there, nothing is creatable. */
	_cleanup_json_ json_t *p100 = discover_listing(tmp, "real-p100");
	json_t *g = json_array_get(json_object_get(p100, "gpus"), 0);
	assert_string_equal(JSTR(g, "board"), "");
	assert_int_equal(json_array_size(json_object_get(g, "devices")), 2);
	json_t *t8c = type_json(p100, 0, "nvidia-294");
	assert_string_equal(JSTR(t8c, "name"), "GRID P100-8C");
	assert_int_equal(JINT(t8c, "max_instances"), 2);
	assert_string_equal(JSTR(t8c, "max_instances_source"), "driver");
	assert_int_equal(JINT(t8c, "available"), 0);

	/* The A2 shares the A16's PCI ids: the driver's type names say it is not
	 * an A16, so it is read as a board the catalog does not know. */
	_cleanup_json_ json_t *a2 = discover_listing(tmp, "real-a2-vf");
	assert_string_equal(JSTR(json_array_get(json_object_get(a2, "gpus"), 0), "board"), "");
	assert_int_equal(JINT(type_json(a2, 0, "nvidia-746"), "available"), 1);

	/* Vendor VFIO: a free VF lists 23 types; no vGPU runs, so the mode is
	 * NVIDIA's default, off. */
	_cleanup_json_ json_t *l40s = discover_listing(tmp, "real-l40s-vfio");
	g = json_array_get(json_object_get(l40s, "gpus"), 0);
	assert_false(json_is_true(json_object_get(g, "mixed_size")));
	assert_string_equal(JSTR(g, "mixed_size_source"), "default");
	assert_true(json_is_true(json_object_get(g, "mixed_size_supported")));
	assert_int_equal(JINT(type_json(l40s, 0, "1155"), "available"), 1);
	test_rm_rf(tmp);
}

/* ---- malformed, unreadable and hostile trees ---- */

static void overwrite(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = carve_strdupf("%s/%s", root, rel);
	unlink(p);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int discover_err(const char *root, struct carve_error *err)
{
	struct carve_host *h = NULL;
	int r = carve_host_open_sysfs(root, NULL, &h, err);
	if (r < 0)
		return r;
	struct carve_hw_inventory inv = {0};
	r = carve_host_discover(h, &inv, err);
	carve_hw_inventory_clear(&inv);
	carve_host_free(h);
	return r;
}

static const char *P40_TYPES = "devices/pci0000:82/0000:82:00.0/mdev_supported_types";

/* Discover root; the problem of (pci, type) must name `file`, and every
 * other GPU must be as healthy as before.  Returns the problem's id. */
static char *expect_problem(const char *root, const char *pci, const char *type, const char *file,
			    size_t healthy_gpus)
{
	struct carve_host *h = NULL;
	struct carve_error err = {0};
	struct carve_hw_inventory inv = {0};
	assert_int_equal(carve_host_open_sysfs(root, NULL, &h, &err), 0);
	if (carve_host_discover(h, &inv, &err) < 0)
		fail_msg("one odd device failed the whole discovery: %s", err.message);
	const struct carve_hw_problem *p = NULL;
	for (size_t i = 0; i < inv.n_problems && !p; i++)
		if (strcmp(inv.problems[i].pci, pci) == 0)
			p = &inv.problems[i];
	size_t healthy = 0;
	for (size_t i = 0; i < inv.n_gpus; i++) {
		const struct carve_hw_gpu *g = &inv.gpus[i];
		if (strcmp(g->pci, pci) == 0) {
			if (!p)
				p = carve_hw_gpu_find_problem(g, type);
			if (!type) {
				assert_true(g->broken);
				assert_int_equal(g->n_types, 0);
			} else {
				assert_false(g->broken);
				const struct carve_hw_type *t = carve_hw_gpu_find_type(g, type);
				assert_non_null(t);
				assert_true(t->broken);
				assert_int_equal(t->available, 0);
			}
		} else {
			healthy += !g->broken && g->n_problems == 0 && g->n_types > 0;
		}
	}
	if (!p)
		fail_msg("no problem recorded for %s %s", pci, type ? type : "");
	if (!strstr(p->message, file))
		fail_msg("problem '%s' does not name %s", p->message, file);
	assert_int_equal(healthy, healthy_gpus);
	assert_int_equal(carve_hw_inventory_count_problems(&inv), 1);
	char *id = strdup(p->id);
	carve_hw_inventory_clear(&inv);
	carve_host_free(h);
	return id;
}

static void test_malformed(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *root = gen_tree(tmp, "p40x2");
	struct carve_error err = {0};
	char rel[256];

	/* A type's description: that type is broken, its GPU and the rest work. */
	snprintf(rel, sizeof(rel), "%s/nvidia-47/description", P40_TYPES);
	overwrite(root, rel, "num_heads=four, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=12\n");
	_cleanup_free_ char *id1 = expect_problem(root, "0000:82:00.0", "nvidia-47", "nvidia-47/description", 1);
	assert_string_equal(id1, "VENDOR_DESCRIPTION_INVALID");
	overwrite(root, rel, "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=99999\n");
	_cleanup_free_ char *id1b = expect_problem(root, "0000:82:00.0", "nvidia-47", "nvidia-47/description", 1);
	assert_string_equal(id1b, "VENDOR_DESCRIPTION_INVALID");
	overwrite(root, rel, "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=12\n");
	assert_int_equal(discover_err(root, &err), 0);

	snprintf(rel, sizeof(rel), "%s/nvidia-48/available_instances", P40_TYPES);
	overwrite(root, rel, "-3\n");
	_cleanup_free_ char *id2 = expect_problem(root, "0000:82:00.0", "nvidia-48", "nvidia-48/available_instances", 1);
	assert_string_equal(id2, "SYSFS_MALFORMED");
	overwrite(root, rel, "4000000000\n"); /* absurd */
	_cleanup_free_ char *id2b = expect_problem(root, "0000:82:00.0", "nvidia-48", "nvidia-48/available_instances", 1);
	assert_string_equal(id2b, "SYSFS_MALFORMED");
	overwrite(root, rel, "0\n");

	/* A GPU's own file: that GPU is broken (nothing offered), the rest work. */
	overwrite(root, "devices/pci0000:04/0000:04:00.0/numa_node", "one\n");
	_cleanup_free_ char *id3 = expect_problem(root, "0000:04:00.0", NULL, "0000:04:00.0/numa_node", 1);
	assert_string_equal(id3, "SYSFS_MALFORMED");
	overwrite(root, "devices/pci0000:04/0000:04:00.0/numa_node", "0\n");

	/* A device whose class cannot be read: reported, not a PGPU. */
	overwrite(root, "devices/pci0000:04/0000:04:00.0/class", "VGA\n");
	_cleanup_free_ char *id4 = expect_problem(root, "0000:04:00.0", NULL, "0000:04:00.0/class", 1);
	assert_non_null(id4);

	/* Optional attributes: no name, no description. */
	overwrite(root, "devices/pci0000:04/0000:04:00.0/class", "0x030000\n");
	snprintf(rel, sizeof(rel), "%s/%s/nvidia-49/name", root, P40_TYPES);
	assert_int_equal(unlink(rel), 0);
	snprintf(rel, sizeof(rel), "%s/%s/nvidia-50/description", root, P40_TYPES);
	assert_int_equal(unlink(rel), 0);
	struct carve_host *h = NULL;
	struct carve_hw_inventory inv = {0};
	assert_int_equal(carve_host_open_sysfs(root, NULL, &h, &err), 0);
	assert_int_equal(carve_host_discover(h, &inv, &err), 0);
	assert_int_equal(carve_hw_inventory_count_problems(&inv), 0);
	const struct carve_hw_gpu *g = carve_hw_inventory_find(&inv, "0000:82:00.0");
	const struct carve_hw_type *t = carve_hw_gpu_find_type(g, "nvidia-49");
	assert_string_equal(t->name, "49"); /* the id less "<driver>-", as the kernel says since 6.1 */
	assert_int_equal(t->framebuffer_mib, 4096);
	t = carve_hw_gpu_find_type(g, "nvidia-50");
	assert_string_equal(t->name, "GRID P40-6Q");
	assert_int_equal(t->framebuffer_mib, 0);              /* unknown: no description */
	assert_int_equal(t->max_instances, 4);                /* the catalog's */
	assert_int_equal(t->max_instances_source, CARVE_HW_SOURCE_CATALOG);
	carve_hw_inventory_clear(&inv);
	carve_host_free(h);
	test_rm_rf(tmp);
}

static void test_unreadable_root(void **state)
{
	(void)state;
	struct carve_error err = {0};
	struct carve_host *h = NULL;
	assert_int_equal(carve_host_open_sysfs("/nonexistent/carve-sysfs", NULL, &h, &err), -ENOENT);
	assert_non_null(strstr(err.message, "/nonexistent/carve-sysfs"));
	assert_null(h);
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	carve_error_clear(&err);
	assert_int_equal(carve_host_open_sysfs(tmp, NULL, &h, &err), -ENOTDIR);
	assert_non_null(strstr(err.message, "does not look like sysfs"));
	carve_error_clear(&err);
	assert_true(carve_host_open_sysfs("/etc/hostname", NULL, &h, &err) < 0);
	test_rm_rf(tmp);
}

static void test_hostile(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *root = gen_tree(tmp, "p40x2");
	_cleanup_free_ char *prof = profile_path("p40x2");
	struct carve_error err = {0};
	struct carve_host *hm = NULL;
	assert_int_equal(carve_host_open_sim(prof, NULL, &hm, &err), 0);
	_cleanup_json_ json_t *want = discover_json(hm);
	carve_host_free(hm);

	/* Type directories whose names are not identifiers, device entries that
	 * are not UUIDs: ignored, never used as path components. */
	const char *bad[] = {"nvidia 46", "-nvidia-46", "nvidia-46;reboot", "nvidia-46\\x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *p = carve_strdupf("%s/%s/%s", root, P40_TYPES, bad[i]);
		assert_int_equal(mkdir(p, 0755), 0);
		_cleanup_free_ char *f = carve_strdupf("%s/name", p);
		FILE *fp = fopen(f, "w");
		assert_non_null(fp);
		fclose(fp);
	}
	overwrite(root, "devices/pci0000:82/0000:82:00.0/mdev_supported_types/nvidia-999", "not a directory\n");
	_cleanup_free_ char *junk = carve_strdupf("%s/%s/nvidia-46/devices/not-a-uuid", root, P40_TYPES);
	assert_int_equal(symlink("../../../../../../../../etc", junk), 0);
	struct carve_host *hs = NULL;
	assert_int_equal(carve_host_open_sysfs(root, NULL, &hs, &err), 0);
	_cleanup_json_ json_t *got = discover_json(hs);
	expect_equal_json(want, got, "hostile names");
	carve_host_free(hs);

	/* A symlink that climbs out of the root resolves inside it: the host's
	 * /etc/hostname is never read, the dangling file is the type's problem
	 * (a missing description is fine, a broken link to one is not). */
	_cleanup_free_ char *desc = carve_strdupf("%s/%s/nvidia-49/description", root, P40_TYPES);
	unlink(desc);
	assert_int_equal(symlink("../../../../../../../../../../../etc/hostname", desc), 0);
	_cleanup_free_ char *p1 = expect_problem(root, "0000:82:00.0", "nvidia-49", "nvidia-49/description", 1);
	assert_non_null(p1);
	unlink(desc);
	assert_int_equal(symlink("/etc/hostname", desc), 0);
	_cleanup_free_ char *p2 = expect_problem(root, "0000:82:00.0", "nvidia-49", "nvidia-49/description", 1);
	assert_non_null(p2);
	/* A symlink loop, binary junk. */
	unlink(desc);
	_cleanup_free_ char *loop = carve_strdupf("%s/%s/nvidia-49/loop", root, P40_TYPES);
	assert_int_equal(symlink("loop", loop), 0);
	assert_int_equal(symlink("loop", desc), 0);
	_cleanup_free_ char *p3 = expect_problem(root, "0000:82:00.0", "nvidia-49", "nvidia-49/description", 1);
	assert_non_null(p3);
	unlink(desc);
	unlink(loop);
	{
		FILE *f = fopen(desc, "w");
		assert_non_null(f);
		fwrite("num_heads=4\0\x01\xff", 1, 14, f);
		fclose(f);
	}
	_cleanup_free_ char *p4 = expect_problem(root, "0000:82:00.0", "nvidia-49", "nvidia-49/description", 1);
	assert_non_null(p4);
	unlink(desc);

	/* carve-mkfixture writes only into an empty, real directory. */
	assert_int_equal(run_mkfixture(prof, root), 1);
	_cleanup_free_ char *lnk = carve_strdupf("%s/link-to-tree", tmp);
	assert_int_equal(symlink(root, lnk), 0);
	assert_int_equal(run_mkfixture(prof, lnk), 1);

	/* Writes refuse hostile identifiers before any path is built. */
	assert_int_equal(carve_host_open_sysfs(root, NULL, &hs, &err), 0);
	struct carve_vgpu_spec spec = {.uuid = "11111111-2222-3333-4444-555555555555", .pgpu_pci = "0000:04:00.0",
				       .type_id = "../../x", .impl = CARVE_IMPL_NVIDIA_MDEV};
	struct carve_vgpu_placement where = {0};
	carve_error_clear(&err);
	assert_int_equal(hs->ops->vgpu_create(hs, NULL, &spec, &where, &err), -EINVAL);
	snprintf(spec.type_id, sizeof(spec.type_id), "nvidia-46");
	snprintf(spec.uuid, sizeof(spec.uuid), "../../../../etc/passwd-aaaaaaaaaaaaa");
	assert_int_equal(hs->ops->vgpu_create(hs, NULL, &spec, &where, &err), -EINVAL);
	snprintf(spec.uuid, sizeof(spec.uuid), "11111111-2222-3333-4444-555555555555");
	snprintf(spec.params, sizeof(spec.params), "a=b\necho");
	assert_int_equal(hs->ops->vgpu_create(hs, NULL, &spec, &where, &err), -EINVAL);
	carve_host_free(hs);
	test_rm_rf(tmp);
}

static void put_file(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = carve_strdupf("%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* The testbed's emulated parents are plain devices named like PCI addresses
 * under class/mdev_bus, not PCI devices. */
static void test_nonpci_parent(void **state)
{
	(void)state;
	_cleanup_free_ char *root = test_tmpdir_make("discovery");
	const char *d = "devices/virtual/carve_vgpu_emu/0000:c0:00.0";
	char rel[256];
	put_file(root, "bus/pci/devices/.keep", "");
	snprintf(rel, sizeof(rel), "%s/vendor", d);
	put_file(root, rel, "0x10de\n");
	snprintf(rel, sizeof(rel), "%s/device", d);
	put_file(root, rel, "0x1b38\n");
	snprintf(rel, sizeof(rel), "%s/class", d);
	put_file(root, rel, "0x030200\n");
	snprintf(rel, sizeof(rel), "%s/numa_node", d);
	put_file(root, rel, "1\n");
	snprintf(rel, sizeof(rel), "%s/carve_emu/mixed", d);
	put_file(root, rel, "1\n");
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types/nvidia-53/name", d);
	put_file(root, rel, "GRID P40-24Q\n");
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types/nvidia-53/description", d);
	put_file(root, rel, "num_heads=4, frl_config=60, framebuffer=24576M, max_resolution=7680x4320, max_instance=1\n");
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types/nvidia-53/available_instances", d);
	put_file(root, rel, "1\n");
	put_file(root, "class/mdev_bus/.keep", "");
	_cleanup_free_ char *lnk = carve_strdupf("%s/class/mdev_bus/0000:c0:00.0", root);
	_cleanup_free_ char *target = carve_strdupf("../../%s", d);
	assert_int_equal(symlink(target, lnk), 0);

	struct carve_error err = {0};
	struct carve_host *h = NULL;
	assert_int_equal(carve_host_open_sysfs(root, NULL, &h, &err), 0);
	struct carve_hw_inventory inv = {0};
	assert_int_equal(carve_host_discover(h, &inv, &err), 0);
	assert_int_equal(inv.n_gpus, 1);
	const struct carve_hw_gpu *g = &inv.gpus[0];
	assert_string_equal(g->pci, "0000:c0:00.0");
	assert_string_equal(g->board, "Tesla P40");
	assert_int_equal(g->mechanism, CARVE_IMPL_NVIDIA_MDEV);
	assert_int_equal(g->numa_node, 1);
	assert_int_equal(g->iommu_group, -1);
	assert_true(g->mixed_size);
	const struct carve_hw_type *t = carve_hw_gpu_find_type(g, "nvidia-53");
	assert_non_null(t);
	assert_int_equal(t->available, 1);
	assert_int_equal(t->framebuffer_mib, 24576);
	assert_int_equal(t->series, 'Q');
	assert_non_null(carve_hw_gpu_find_type(g, "passthrough"));
	carve_hw_inventory_clear(&inv);
	carve_host_free(h);
	test_rm_rf(root);
}

/* ---- the sim's rules ---- */

static struct carve_host *open_example(const char *name, const char *state)
{
	_cleanup_free_ char *prof = profile_path(name);
	struct carve_error err = {0};
	struct carve_host *h = NULL;
	if (carve_host_open_sim(prof, state, &h, &err) < 0)
		fail_msg("open %s: %s", name, err.message);
	return h;
}

static struct carve_host *open_text(const char *yaml, struct carve_error *err)
{
	struct carve_profile *p = NULL;
	struct carve_host *h = NULL;
	if (carve_profile_parse(yaml, strlen(yaml), "test.yaml", &p, err) == 0 && carve_profile_validate(p, err) == 0)
		carve_host_open_sim_profile(p, NULL, &h, err);
	carve_profile_free(p);
	return h;
}

/* Snapshot of one GPU from a fresh discovery (caller clears inv). */
static const struct carve_hw_gpu *gpu_of(struct carve_host *h, struct carve_hw_inventory *inv, const char *pci)
{
	struct carve_error err = {0};
	carve_hw_inventory_clear(inv);
	assert_int_equal(carve_host_discover(h, inv, &err), 0);
	const struct carve_hw_gpu *g = carve_hw_inventory_find(inv, pci);
	assert_non_null(g);
	return g;
}

static uint32_t avail(struct carve_host *h, const char *pci, const char *type)
{
	struct carve_hw_inventory inv = {0};
	const struct carve_hw_type *t = carve_hw_gpu_find_type(gpu_of(h, &inv, pci), type);
	assert_non_null(t);
	uint32_t a = t->available;
	carve_hw_inventory_clear(&inv);
	return a;
}

static int create(struct carve_host *h, const char *uuid, const char *pci, const char *type, enum carve_impl impl,
		  struct carve_vgpu_placement *where, struct carve_error *err)
{
	struct carve_vgpu_spec spec = {.impl = impl};
	snprintf(spec.uuid, sizeof(spec.uuid), "%s", uuid ? uuid : "");
	snprintf(spec.pgpu_pci, sizeof(spec.pgpu_pci), "%s", pci);
	snprintf(spec.type_id, sizeof(spec.type_id), "%s", type);
	struct carve_vgpu_placement tmp;
	carve_error_clear(err);
	return h->ops->vgpu_create(h, NULL, &spec, where ? where : &tmp, err);
}

static int remove_at(struct carve_host *h, const struct carve_vgpu_placement *where, struct carve_error *err)
{
	carve_error_clear(err);
	return h->ops->vgpu_remove(h, NULL, where, err);
}

#define U(n) "00000000-0000-4000-8000-0000000000" #n

static void test_sim_mdev_rules(void **state)
{
	(void)state;
	struct carve_host *h = open_example("demo", NULL);
	struct carve_error err = {0};
	struct carve_vgpu_placement w1, w2;
	const char *gpu = "0000:04:00.0";
	assert_int_equal(avail(h, gpu, "nvidia-46"), 24);
	assert_int_equal(create(h, U(01), gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, &w1, &err), 0);
	assert_string_equal(w1.uuid, U(01));
	assert_string_equal(w1.device_pci, gpu);
	assert_int_equal(avail(h, gpu, "nvidia-46"), 23);
	assert_int_equal(avail(h, gpu, "nvidia-47"), 0); /* homogeneous */
	assert_int_equal(avail(h, gpu, "passthrough"), 0);
	assert_int_equal(create(h, U(02), gpu, "nvidia-47", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EBUSY);
	assert_non_null(strstr(err.message, "nvidia-46"));
	assert_int_equal(create(h, U(01), "0000:82:00.0", "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EEXIST);
	assert_int_equal(create(h, U(03), gpu, "nvidia-999", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EINVAL);
	assert_int_equal(create(h, U(03), "0000:99:00.0", "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -ENOENT);
	assert_int_equal(create(h, NULL, gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EINVAL);
	assert_int_equal(create(h, U(03), "0000:02:00.0", "passthrough", CARVE_IMPL_PASSTHROUGH, NULL, &err), -EINVAL);
	/* the other P40 is independent */
	assert_int_equal(create(h, U(04), "0000:82:00.0", "nvidia-53", CARVE_IMPL_NVIDIA_MDEV, &w2, &err), 0);
	assert_int_equal(create(h, U(05), "0000:82:00.0", "nvidia-53", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -ENOSPC);
	/* params */
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_set_params(h, &w1, "frame_rate_limiter=0", &err), 0);
	assert_int_equal(h->ops->vgpu_set_params(h, &w1, "x=`id`", &err), -EINVAL);
	/* removal gives capacity back; a second removal is -ENOENT */
	assert_int_equal(remove_at(h, &w1, &err), 0);
	assert_int_equal(remove_at(h, &w1, &err), -ENOENT);
	assert_int_equal(avail(h, gpu, "nvidia-46"), 24);
	assert_int_equal(avail(h, gpu, "nvidia-47"), 12);
	/* passthrough is exclusive both ways */
	struct carve_vgpu_placement pt;
	assert_int_equal(create(h, U(06), "0000:82:00.0", "passthrough", CARVE_IMPL_PASSTHROUGH, NULL, &err), -EBUSY);
	assert_int_equal(create(h, U(06), gpu, "passthrough", CARVE_IMPL_PASSTHROUGH, &pt, &err), 0);
	assert_string_equal(pt.device_pci, gpu);
	assert_string_equal(pt.uuid, "");
	assert_int_equal(create(h, U(07), gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EBUSY);
	assert_int_equal(create(h, U(08), gpu, "passthrough", CARVE_IMPL_PASSTHROUGH, NULL, &err), -EBUSY);
	struct carve_hw_inventory inv = {0};
	assert_string_equal(gpu_of(h, &inv, gpu)->driver, "vfio-pci");
	assert_int_equal(remove_at(h, &pt, &err), 0);
	assert_string_equal(gpu_of(h, &inv, gpu)->driver, "nvidia");
	carve_hw_inventory_clear(&inv);
	assert_int_equal(avail(h, gpu, "nvidia-46"), 24);
	carve_host_free(h);
}

static void test_sim_sriov_rules(void **state)
{
	(void)state;
	struct carve_error err = {0};
	/* Vendor VFIO, one L40S-24Q at boot.  NVIDIA's default is homogeneous:
	 * only the running type stays creatable. */
	struct carve_host *h = open_example("l40s-sriov", NULL);
	{
		struct carve_hw_inventory hi = {0};
		const struct carve_hw_gpu *hg = gpu_of(h, &hi, "0000:41:00.0");
		assert_false(hg->mixed_size);
		assert_int_equal(hg->mixed_size_source, CARVE_HW_SOURCE_INFERRED);
		assert_true(hg->mixed_size_supported);
		assert_int_equal(avail(h, "0000:41:00.0", "1155"), 1);
		assert_int_equal(avail(h, "0000:41:00.0", "1145"), 0);
		carve_hw_inventory_clear(&hi);
		carve_host_free(h);
	}
	/* In mixed-size mode (a framebuffer budget). */
	h = open_example("l40s-sriov-mixed", NULL);
	const char *gpu = "0000:41:00.0";
	struct carve_hw_inventory inv = {0};
	const struct carve_hw_gpu *g = gpu_of(h, &inv, gpu);
	assert_int_equal(g->n_vfs, 16);
	assert_string_equal(g->vfs[0].current_type, "1155");
	assert_string_equal(g->vfs[1].current_type, "0");
	size_t creatable_before = 0;
	for (size_t i = 0; i < g->n_types; i++)
		creatable_before += g->types[i].available > 0 && g->types[i].impl != CARVE_IMPL_PASSTHROUGH;
	assert_int_equal(avail(h, gpu, "1156"), 0);  /* 48Q: the 24Q took half */
	assert_int_equal(avail(h, gpu, "1155"), 1);
	assert_int_equal(avail(h, gpu, "1145"), 15); /* 1B: 24 GiB left, but 15 free VFs */
	struct carve_vgpu_placement w;
	assert_int_equal(create(h, NULL, gpu, "1155", CARVE_IMPL_NVIDIA_SRIOV, &w, &err), 0);
	assert_string_equal(w.uuid, "");
	assert_string_equal(w.device_pci, "0000:41:00.5");
	g = gpu_of(h, &inv, gpu);
	assert_string_equal(g->vfs[1].current_type, "1155");
	size_t creatable_after = 0;
	for (size_t i = 0; i < g->n_types; i++)
		creatable_after += g->types[i].available > 0 && g->types[i].impl != CARVE_IMPL_PASSTHROUGH;
	assert_int_equal(creatable_after, 0); /* the framebuffer is spoken for: the list is empty */
	assert_true(creatable_before > creatable_after);
	assert_int_equal(create(h, NULL, gpu, "1145", CARVE_IMPL_NVIDIA_SRIOV, NULL, &err), -ENOSPC);
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_set_params(h, &w, "frame_rate_limiter=0", &err), 0);
	/* callers may hold the vGPU's UUID: the VF still names it */
	struct carve_vgpu_placement wu = w;
	snprintf(wu.uuid, sizeof(wu.uuid), "%s", U(12));
	assert_int_equal(h->ops->vgpu_set_params(h, &wu, "frame_rate_limiter=1", &err), 0);
	struct carve_vgpu_spec rspec = {.uuid = U(12), .impl = CARVE_IMPL_NVIDIA_SRIOV};
	assert_int_equal(h->ops->vgpu_remove(h, &rspec, &wu, &err), 0);
	assert_int_equal(avail(h, gpu, "1155"), 1);
	assert_string_equal(gpu_of(h, &inv, gpu)->vfs[1].current_type, "0");
	carve_host_free(h);

	/* Homogeneous vendor VFIO (mixed_size: false) and VF exhaustion. */
	h = open_text("name: l40s-homog\n"
		      "gpus:\n"
		      "  - {board: NVIDIA L40S, pci: \"0000:41:00.0\", vfs: 4, mixed_size: false}\n",
		      &err);
	if (!h)
		fail_msg("%s", err.message);
	assert_int_equal(avail(h, gpu, "1145"), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(create(h, NULL, gpu, "1145", CARVE_IMPL_NVIDIA_SRIOV, NULL, &err), 0);
	assert_int_equal(create(h, NULL, gpu, "1145", CARVE_IMPL_NVIDIA_SRIOV, NULL, &err), -ENOSPC);
	assert_non_null(strstr(err.message, "virtual function"));
	struct carve_vgpu_placement w0 = {.device_pci = "0000:41:00.4"};
	assert_int_equal(remove_at(h, &w0, &err), 0);
	assert_int_equal(create(h, NULL, gpu, "1150", CARVE_IMPL_NVIDIA_SRIOV, NULL, &err), -EBUSY);
	carve_host_free(h);

	/* Ampere mdev on VFs: the vGPU lands on a VF, the PF stays the PGPU. */
	h = open_example("a100-sriov-mdev", NULL);
	gpu = "0000:ca:00.0";
	assert_int_equal(avail(h, gpu, "nvidia-474"), 0); /* MIG-backed vs the time-sliced 4C at boot */
	/* homogeneous (NVIDIA's default): only the running A100-4C */
	assert_int_equal(create(h, U(11), gpu, "nvidia-472", CARVE_IMPL_NVIDIA_MDEV, &w, &err), -EBUSY);
	carve_error_clear(&err);
	assert_int_equal(create(h, U(11), gpu, "nvidia-468", CARVE_IMPL_NVIDIA_MDEV, &w, &err), 0);
	assert_string_equal(w.uuid, U(11));
	assert_string_equal(w.device_pci, "0000:ca:00.5");
	g = gpu_of(h, &inv, gpu);
	assert_true(g->vfs[1].in_use);
	carve_host_free(h);

	/* AMD: a vGPU is a whole VF bound to vfio-pci. */
	h = open_example("amd-s7150", NULL);
	gpu = "0000:04:00.0";
	assert_int_equal(avail(h, gpu, "s7150-2"), 1);
	assert_int_equal(create(h, NULL, gpu, "s7150-2", CARVE_IMPL_AMD_MXGPU, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:04:02.1");
	assert_string_equal(gpu_of(h, &inv, gpu)->vfs[1].driver, "vfio-pci");
	assert_int_equal(create(h, NULL, gpu, "s7150-2", CARVE_IMPL_AMD_MXGPU, NULL, &err), -ENOSPC);
	assert_int_equal(create(h, NULL, gpu, "passthrough", CARVE_IMPL_PASSTHROUGH, NULL, &err), -EBUSY);
	struct carve_vgpu_spec spec = {.impl = CARVE_IMPL_AMD_MXGPU};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_set_params(h, &w, "a=b", &err), -EOPNOTSUPP);
	(void)spec;
	assert_int_equal(remove_at(h, &w, &err), 0);
	assert_string_equal(gpu_of(h, &inv, gpu)->vfs[1].driver, "");
	carve_hw_inventory_clear(&inv);
	carve_host_free(h);
}

static void test_sim_gvt_rules(void **state)
{
	(void)state;
	struct carve_error err = {0};
	struct carve_host *h = open_example("intel-gvtg", NULL);
	const char *gpu = "0000:00:02.0";
	/* one V5_4 at boot; types mix within the budgets */
	assert_int_equal(avail(h, gpu, "i915-GVTg_V5_4"), 4);
	assert_int_equal(avail(h, gpu, "i915-GVTg_V5_1"), 1);
	assert_int_equal(create(h, U(21), gpu, "i915-GVTg_V5_8", CARVE_IMPL_GVT_G, NULL, &err), 0);
	assert_int_equal(create(h, U(22), gpu, "i915-GVTg_V5_2", CARVE_IMPL_GVT_G, NULL, &err), 0);
	int n = 0, r;
	do {
		char u[37];
		snprintf(u, sizeof(u), "00000000-0000-4000-8000-0000000001%02d", n);
		r = create(h, u, gpu, "i915-GVTg_V5_8", CARVE_IMPL_GVT_G, NULL, &err);
		n += r == 0;
	} while (r == 0 && n < 100);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(n, 2); /* the high (hidden) graphics memory runs out first */
	assert_int_equal(avail(h, gpu, "i915-GVTg_V5_8"), 0);
	struct carve_vgpu_placement w = {.uuid = U(21)};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_set_params(h, &w, "a=b", &err), -EOPNOTSUPP);
	carve_host_free(h);
}

static void test_sim_persistence(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *st = carve_strdupf("%s/sim-state.json", tmp);
	struct carve_error err = {0};
	const char *gpu = "0000:04:00.0";

	/* A child creates two vGPUs and dies by SIGKILL, as a crashed carve would. */
	pid_t pid = fork();
	if (pid == 0) {
		struct carve_host *h = NULL;
		_cleanup_free_ char *prof = profile_path("demo");
		if (carve_host_open_sim(prof, st, &h, &err) < 0)
			_exit(2);
		struct carve_vgpu_placement w;
		if (create(h, U(31), gpu, "nvidia-47", CARVE_IMPL_NVIDIA_MDEV, &w, &err) < 0 ||
		    create(h, U(32), gpu, "nvidia-47", CARVE_IMPL_NVIDIA_MDEV, &w, &err) < 0)
			_exit(3);
		carve_error_clear(&err);
		if (h->ops->vgpu_set_params(h, &w, "frame_rate_limiter=0", &err) < 0)
			_exit(4);
		raise(SIGKILL);
		_exit(5);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	struct carve_host *h = open_example("demo", st);
	struct carve_hw_inventory inv = {0};
	const struct carve_hw_gpu *g = gpu_of(h, &inv, gpu);
	assert_int_equal(g->n_devs, 2);
	assert_string_equal(g->devs[1].uuid, U(32));
	assert_string_equal(g->devs[1].params, "frame_rate_limiter=0");
	assert_int_equal(avail(h, gpu, "nvidia-47"), 10);
	struct carve_vgpu_placement w = {.uuid = U(31)};
	assert_int_equal(remove_at(h, &w, &err), 0);
	carve_host_free(h);
	h = open_example("demo", st);
	assert_int_equal(avail(h, gpu, "nvidia-47"), 11);
	carve_host_free(h);

	/* A change that cannot be made durable does not happen. */
	_cleanup_free_ char *sub = carve_strdupf("%s/sub", tmp);
	_cleanup_free_ char *st2 = carve_strdupf("%s/state.json", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	h = open_example("demo", st2);
	assert_int_equal(unlink(st2), 0);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(create(h, U(33), gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.message, "state.json"));
	assert_int_equal(avail(h, gpu, "nvidia-46"), 24);
	carve_host_free(h);

	/* No temporary files left behind; the state is valid JSON. */
	_cleanup_closedir_ DIR *d = opendir(tmp);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)))
		files += de->d_name[0] != '.';
	assert_int_equal(files, 1);

	/* State of another profile, or corrupt state: refused, naming the file. */
	_cleanup_free_ char *prof = profile_path("p40x2");
	carve_error_clear(&err);
	assert_int_equal(carve_host_open_sim(prof, st, &h, &err), -EINVAL);
	assert_non_null(strstr(err.message, "sim-state.json"));
	overwrite(tmp, "sim-state.json", "{\"format\": \"carve-sim-state\", \"version\": 1, \"profile\": \"demo\", "
					  "\"devices\": [{\"pgpu\": \"0000:04:00.0\", \"uuid\": \"" U(41) "\", "
					  "\"type\": \"nvidia-46\", \"parent\": \"0000:04:00.0\", \"params\": \"\"}, "
					  "{\"pgpu\": \"0000:04:00.0\", \"uuid\": \"" U(42) "\", "
					  "\"type\": \"nvidia-47\", \"parent\": \"0000:04:00.0\", \"params\": \"\"}]}\n");
	_cleanup_free_ char *demo = profile_path("demo");
	carve_error_clear(&err);
	assert_int_equal(carve_host_open_sim(demo, st, &h, &err), -EINVAL);
	assert_non_null(strstr(err.message, "devices[1]"));
	overwrite(tmp, "sim-state.json", "{\"format\": ");
	carve_error_clear(&err);
	assert_int_equal(carve_host_open_sim(demo, st, &h, &err), -EINVAL);
	assert_non_null(strstr(err.message, "sim-state.json"));
	carve_hw_inventory_clear(&inv);
	test_rm_rf(tmp);
}

static void test_sim_fail_injection(void **state)
{
	(void)state;
	struct carve_error err = {0};
	const char *gpu = "0000:04:00.0";
	setenv(CARVE_SIM_FAIL_ENV, "2", 1);
	struct carve_host *h = open_example("demo", NULL);
	unsetenv(CARVE_SIM_FAIL_ENV);
	assert_int_equal(create(h, U(51), gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), 0);
	assert_int_equal(create(h, U(52), gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EIO);
	assert_string_equal(err.id, "SIM_INJECTED_FAILURE");
	assert_int_equal(avail(h, gpu, "nvidia-46"), 23); /* nothing changed */
	assert_int_equal(create(h, U(52), gpu, "nvidia-46", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), 0);
	carve_host_free(h);

	h = open_text("name: fail-after\nfail_create_after: 1\ngpus:\n  - {board: Tesla T4, pci: \"0000:af:00.0\"}\n",
		      &err);
	assert_non_null(h);
	assert_int_equal(create(h, U(53), "0000:af:00.0", "nvidia-230", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), 0);
	assert_int_equal(create(h, U(54), "0000:af:00.0", "nvidia-230", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EIO);
	assert_int_equal(create(h, U(55), "0000:af:00.0", "nvidia-230", CARVE_IMPL_NVIDIA_MDEV, NULL, &err), -EIO);
	carve_host_free(h);

	setenv(CARVE_SIM_FAIL_ENV, "x", 1);
	carve_error_clear(&err);
	_cleanup_free_ char *prof = profile_path("demo");
	assert_int_equal(carve_host_open_sim(prof, NULL, &h, &err), -EINVAL);
	unsetenv(CARVE_SIM_FAIL_ENV);
}

/* A mixed-size override must survive the round trip through a tree. */
static void test_mixed_override_roundtrip(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *prof = carve_strdupf("%s/mixed.yaml", tmp);
	overwrite(tmp, "mixed.yaml",
		  "name: mixed\ngpus:\n"
		  "  - board: Tesla T4\n    pci: \"0000:af:00.0\"\n    mixed_size: true\n"
		  "    vgpus: [{uuid: " U(61) ", type: nvidia-232}, {uuid: " U(62) ", type: nvidia-231}]\n"
		  "  - {board: NVIDIA A16, pci: \"0000:3d:00.0\", mixed_size: false, vfs: 4}\n");
	_cleanup_free_ char *root = carve_strdupf("%s/sys", tmp);
	assert_int_equal(run_mkfixture(prof, root), 0);
	struct carve_error err = {0};
	struct carve_host *hs = NULL, *hm = NULL;
	assert_int_equal(carve_host_open_sysfs(root, NULL, &hs, &err), 0);
	assert_int_equal(carve_host_open_sim(prof, NULL, &hm, &err), 0);
	_cleanup_json_ json_t *a = discover_json(hm);
	_cleanup_json_ json_t *b = discover_json(hs);
	expect_equal_json(a, b, "mixed-size override");
	assert_int_equal(avail(hm, "0000:af:00.0", "nvidia-233"), 1); /* 16 - 4 - 2 = 10 GiB: one 8Q */
	carve_host_free(hs);
	carve_host_free(hm);
	test_rm_rf(tmp);
}

/* ---- profiles: strict validation with file, line and key ---- */

static void expect_profile_error(const char *yaml, int code, const char *needle)
{
	struct carve_error err = {0};
	struct carve_profile *p = NULL;
	int r = carve_profile_parse(yaml, strlen(yaml), "bad.yaml", &p, &err);
	if (r == 0) {
		r = carve_profile_validate(p, &err);
		if (r == 0) {
			struct carve_host *h = NULL;
			r = carve_host_open_sim_profile(p, NULL, &h, &err);
			carve_host_free(h);
		}
	}
	carve_profile_free(p);
	if (r != code || !strstr(err.message, needle))
		fail_msg("expected %d with '%s', got %d: %s", code, needle, r, err.message);
}

static void test_profile_validation(void **state)
{
	(void)state;
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:00.0\"\n    colour: red\n", -EINVAL,
			     "bad.yaml:5: gpus[0].colour: unknown key");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P41\n    pci: \"0000:82:00.0\"\n", -EINVAL,
			     "bad.yaml:3: gpus[0].board: unknown board 'Tesla P41'");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:20.0\"\n", -EINVAL,
			     "bad.yaml:4: gpus[0].pci: '0000:82:20.0' is not a PCI address");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:00.0\"\n"
			     "    vgpus: [{uuid: 1234, type: nvidia-46}]\n",
			     -EINVAL, "bad.yaml:5: gpus[0].vgpus[0].uuid: '1234' is not a UUID");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:00.0\"\n"
			     "    types: [nvidia-46, nvidia-230]\n",
			     -EINVAL, "bad.yaml:5: gpus[0].types: Tesla P40 has no nvidia-mdev type 'nvidia-230'");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:00.0\"\n"
			     "    types: [\"../../etc\"]\n",
			     -EINVAL, "is not a valid type identifier");
	expect_profile_error("name: x\nname: y\ngpus: []\n", -EINVAL, "bad.yaml:2: name: key given twice");
	expect_profile_error("name: x\ngpus:\n  - &a {board: Tesla P40, pci: \"0000:82:00.0\"}\n  - *a\n", -EINVAL,
			     "aliases are not supported");
	expect_profile_error("name: x\ngpus: [\n", -EINVAL, "bad.yaml:");
	expect_profile_error("", -EINVAL, "empty document");
	expect_profile_error("name: x\n", -EINVAL, "missing key 'gpus'");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n", -EINVAL, "missing key 'pci'");
	expect_profile_error("name: x\ngpus:\n  - {board: Tesla P40, pci: \"0000:82:00.0\", mechanism: nvidia-sriov}\n",
			     -EINVAL, "gpus[0].mechanism: Tesla P40 does not support nvidia-sriov");
	expect_profile_error("name: x\ngpus:\n  - {board: Tesla P40, pci: \"0000:82:00.0\", vfs: 4}\n", -EINVAL,
			     "has no SR-IOV virtual functions");
	expect_profile_error("name: x\ngpus:\n  - {board: NVIDIA L40S, pci: \"0000:41:00.0\", types: [\"1145\"]}\n",
			     -EINVAL, "a type subset applies to mdev types only");
	expect_profile_error("name: x\ngpus:\n  - {board: AMD FirePro S7150, pci: \"0000:04:00.0\", numvfs: 3}\n",
			     -EINVAL, "gim has no AMD FirePro S7150 configuration with 3 VFs");
	/* multi-GPU boards occupy the following buses */
	expect_profile_error("name: x\ngpus:\n  - {board: GRID K1, pci: \"0000:07:00.0\"}\n"
			     "  - {board: Tesla P40, pci: \"0000:09:00.0\"}\n",
			     -EINVAL, "bad.yaml:4: gpus[1].pci: PCI address 0000:09:00.0 is already taken");
	/* capacity of the boot vGPUs is the sim's business, still with a line */
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:00.0\"\n    vgpus:\n"
			     "      - {uuid: " U(71) ", type: nvidia-53}\n"
			     "      - {uuid: " U(72) ", type: nvidia-53}\n",
			     -ENOSPC, "bad.yaml:7: gpus[0].vgpus[1]: ");
	expect_profile_error("name: x\ngpus:\n  - board: Tesla P40\n    pci: \"0000:82:00.0\"\n    vgpus:\n"
			     "      - {uuid: " U(71) ", type: nvidia-46}\n"
			     "      - {uuid: " U(71) ", type: nvidia-46}\n",
			     -EINVAL, "UUID " U(71) " used twice");
	expect_profile_error("name: x\ngpus:\n  - {board: Tesla P40, pci: \"0000:82:00.0\", driver: nouveau}\n", -EINVAL,
			     "gpus[0].driver: nvidia-mdev is provided by nvidia, not nouveau");
	expect_profile_error("name: x\ngpus:\n  - {board: NVIDIA A10, pci: \"0000:41:00.0\", mechanism: nvidia-sriov,"
			     " vfs: 8, numvfs: 0}\n",
			     -EINVAL, "without enabled VFs looks like nvidia-mdev");
	expect_profile_error("name: x\ngpus:\n  - {board: Tesla P40, pci: \"0000:82:00.0\", vgpus: [{type: nvidia-46}]}\n",
			     -EINVAL, "missing key 'uuid'");
	expect_profile_error("name: x\ngpus:\n  - {board: Tesla P40, pci: \"0000:82:00.0\", driver: vfio-pci,"
			     " vgpus: [{uuid: " U(71) ", type: nvidia-46}]}\n",
			     -EINVAL, "passthrough only");

	/* resource limits */
	size_t cap = 64 + (CARVE_PROFILE_MAX_GPUS + 1) * 48;
	_cleanup_free_ char *big = malloc(cap);
	assert_non_null(big);
	size_t off = (size_t)snprintf(big, cap, "name: big\ngpus:\n");
	for (int i = 0; i <= CARVE_PROFILE_MAX_GPUS; i++)
		off += (size_t)snprintf(big + off, cap - off, "  - {board: T4, pci: \"%04x:01:00.0\"}\n", i);
	expect_profile_error(big, -E2BIG, "more than 1024 GPU entries");

	/* a profile at the limit is accepted and fast enough */
	off = (size_t)snprintf(big, cap, "name: big\ngpus:\n");
	for (int i = 0; i < CARVE_PROFILE_MAX_GPUS; i++)
		off += (size_t)snprintf(big + off, cap - off, "  - {board: T4, pci: \"%04x:01:00.0\"}\n", i);
	struct carve_error err = {0};
	struct carve_host *h = open_text(big, &err);
	if (!h)
		fail_msg("%s", err.message);
	struct carve_hw_inventory inv = {0};
	assert_int_equal(carve_host_discover(h, &inv, &err), 0);
	assert_int_equal(inv.n_gpus, CARVE_PROFILE_MAX_GPUS);
	carve_hw_inventory_clear(&inv);
	carve_host_free(h);

	/* a file that does not exist */
	err = (struct carve_error){0};
	struct carve_profile *p = NULL;
	assert_int_equal(carve_profile_load("/nonexistent/p.yaml", &p, &err), -ENOENT);
	assert_non_null(strstr(err.message, "/nonexistent/p.yaml"));
}

/* ---- sysfs realization on a fixture tree ---- */

static char *slurp(const char *root, const char *rel)
{
	_cleanup_free_ char *p = carve_strdupf("%s/%s", root, rel);
	FILE *f = fopen(p, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_sysfs_realize(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	struct carve_error err = {0};
	struct carve_vgpu_placement w;

	/* mdev on a PF: the UUID goes to the type's create file */
	_cleanup_free_ char *root = gen_tree(tmp, "p40x2");
	struct carve_host *h = NULL;
	assert_int_equal(carve_host_open_sysfs(root, NULL, &h, &err), 0);
	struct carve_vgpu_spec spec = {.uuid = U(81), .pgpu_pci = "0000:04:00.0", .type_id = "nvidia-47",
				       .impl = CARVE_IMPL_NVIDIA_MDEV};
	assert_int_equal(h->ops->vgpu_create(h, NULL, &spec, &w, &err), 0);
	assert_string_equal(w.uuid, U(81));
	assert_string_equal(w.device_pci, "0000:04:00.0");
	_cleanup_free_ char *c = slurp(root, "devices/pci0000:04/0000:04:00.0/mdev_supported_types/nvidia-47/create");
	assert_string_equal(c, U(81));
	/* homogeneous: the other P40 already runs nvidia-46 */
	snprintf(spec.pgpu_pci, sizeof(spec.pgpu_pci), "0000:82:00.0");
	assert_int_equal(h->ops->vgpu_create(h, NULL, &spec, &w, &err), -EBUSY);
	/* removal writes 1 to the mdev's remove */
	struct carve_vgpu_placement old = {.uuid = "070bcb42-18fc-4971-9aa9-67f5ee1281c3"};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_remove(h, NULL, &old, &err), 0);
	_cleanup_free_ char *rm = slurp(root, "bus/mdev/devices/070bcb42-18fc-4971-9aa9-67f5ee1281c3/remove");
	assert_string_equal(rm, "1");
	struct carve_vgpu_placement gone = {.uuid = U(99)};
	assert_int_equal(h->ops->vgpu_remove(h, NULL, &gone, &err), -ENOENT);
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_set_params(h, &old, "frame_rate_limiter=0", &err), 0);
	_cleanup_free_ char *pr = slurp(root, "bus/mdev/devices/070bcb42-18fc-4971-9aa9-67f5ee1281c3/nvidia/vgpu_params");
	assert_non_null(strstr(pr, "frame_rate_limiter=0"));
	/* passthrough: driver_override, unbind, drivers_probe */
	struct carve_vgpu_spec pt = {.uuid = U(82), .pgpu_pci = "0000:04:00.0", .type_id = "passthrough",
				     .impl = CARVE_IMPL_PASSTHROUGH};
	assert_int_equal(h->ops->vgpu_create(h, NULL, &pt, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:04:00.0");
	_cleanup_free_ char *ov = slurp(root, "bus/pci/devices/0000:04:00.0/driver_override");
	assert_true(carve_startswith(ov, "vfio-pci"));
	_cleanup_free_ char *ub = slurp(root, "bus/pci/drivers/nvidia/unbind");
	assert_string_equal(ub, "0000:04:00.0");
	carve_host_free(h);

	/* vendor VFIO: the type number goes to the first free VF's current_vgpu_type */
	_cleanup_free_ char *root2 = gen_tree(tmp, "l40s-sriov");
	assert_int_equal(carve_host_open_sysfs(root2, NULL, &h, &err), 0);
	struct carve_vgpu_spec sv = {.pgpu_pci = "0000:41:00.0", .type_id = "1155", .impl = CARVE_IMPL_NVIDIA_SRIOV,
				     .params = "frame_rate_limiter=0"};
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sv, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:41:00.5");
	_cleanup_free_ char *cur = slurp(root2, "bus/pci/devices/0000:41:00.5/nvidia/current_vgpu_type");
	assert_true(carve_startswith(cur, "1155"));
	snprintf(sv.type_id, sizeof(sv.type_id), "1156"); /* 48Q no longer creatable: homogeneous */
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sv, &w, &err), -EBUSY);
	assert_string_equal(err.id, "VGPU_TYPE_INCOMPATIBLE");
	_cleanup_free_ char *list = slurp(root2, "bus/pci/devices/0000:41:00.6/nvidia/creatable_vgpu_types");
	assert_null(strstr(list, "1156"));
	assert_non_null(strstr(list, "1155  : NVIDIA L40S-24Q"));
	struct carve_vgpu_placement vfw = {.device_pci = "0000:41:00.4"};
	carve_error_clear(&err);
	struct carve_vgpu_spec rs = {.impl = CARVE_IMPL_NVIDIA_SRIOV};
	assert_int_equal(h->ops->vgpu_remove(h, &rs, &vfw, &err), 0);
	struct carve_vgpu_placement freevf = {.device_pci = "0000:41:00.7"};
	assert_int_equal(h->ops->vgpu_remove(h, &rs, &freevf, &err), -ENOENT);
	carve_host_free(h);

	/* AMD: a free VF is bound to vfio-pci */
	_cleanup_free_ char *root3 = gen_tree(tmp, "amd-s7150");
	assert_int_equal(carve_host_open_sysfs(root3, NULL, &h, &err), 0);
	struct carve_vgpu_spec sa = {.pgpu_pci = "0000:04:00.0", .type_id = "s7150-2", .impl = CARVE_IMPL_AMD_MXGPU};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sa, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:04:02.1");
	_cleanup_free_ char *ov2 = slurp(root3, "bus/pci/devices/0000:04:02.1/driver_override");
	assert_true(carve_startswith(ov2, "vfio-pci"));
	_cleanup_free_ char *probe = slurp(root3, "bus/pci/drivers_probe");
	assert_string_equal(probe, "0000:04:02.1");
	carve_host_free(h);
	test_rm_rf(tmp);
}

/* ---- SR-IOV: VFs that a reboot lost ---- */

static uint32_t numvfs_of(struct carve_host *h, const char *pci, size_t *n_vfs)
{
	struct carve_hw_inventory inv = {0};
	const struct carve_hw_gpu *g = gpu_of(h, &inv, pci);
	uint32_t n = g->sriov_numvfs;
	if (n_vfs)
		*n_vfs = g->n_vfs;
	carve_hw_inventory_clear(&inv);
	return n;
}

static size_t vgpu_types_of(struct carve_host *h, const char *pci)
{
	struct carve_hw_inventory inv = {0};
	const struct carve_hw_gpu *g = gpu_of(h, &inv, pci);
	size_t n = 0;
	for (size_t i = 0; i < g->n_types; i++)
		n += g->types[i].impl != CARVE_IMPL_PASSTHROUGH;
	carve_hw_inventory_clear(&inv);
	return n;
}

static void test_sim_sriov_enable(void **state)
{
	(void)state;
	struct carve_error err = {0};
	struct carve_vgpu_placement w;
	size_t nv;

	/* Vendor VFIO after a reboot: no VF, the catalog's types, none available. */
	struct carve_host *h = open_example("l40s-sriov-cold", NULL);
	const char *gpu = "0000:41:00.0";
	assert_int_equal(numvfs_of(h, gpu, &nv), 0);
	assert_int_equal(nv, 0);
	assert_int_equal(vgpu_types_of(h, gpu), 30);
	assert_int_equal(avail(h, gpu, "1155"), 0);
	assert_int_equal(avail(h, gpu, "passthrough"), 1);
	/* the create enables every VF, then takes the first */
	assert_int_equal(create(h, NULL, gpu, "1155", CARVE_IMPL_NVIDIA_SRIOV, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:41:00.4");
	assert_int_equal(numvfs_of(h, gpu, &nv), 16);
	assert_int_equal(nv, 16);
	assert_int_equal(avail(h, gpu, "1155"), 1);
	assert_int_equal(avail(h, gpu, "passthrough"), 0);
	/* removing the vGPU leaves the VFs enabled, as the kernel does */
	assert_int_equal(remove_at(h, &w, &err), 0);
	assert_int_equal(numvfs_of(h, gpu, NULL), 16);
	/* a type the GPU does not have enables nothing */
	carve_host_free(h);
	h = open_example("l40s-sriov-cold", NULL);
	assert_int_equal(create(h, NULL, gpu, "nvidia-46", CARVE_IMPL_NVIDIA_SRIOV, NULL, &err), -EINVAL);
	assert_int_equal(numvfs_of(h, gpu, NULL), 0);
	carve_host_free(h);

	/* AMD: a type per VF count.  Changing the count goes through 0, which
	 * would tear the VFs away: refused while one is handed out. */
	h = open_example("amd-s7150", NULL);
	gpu = "0000:04:00.0";
	assert_int_equal(numvfs_of(h, gpu, NULL), 2);
	assert_int_equal(create(h, NULL, gpu, "s7150-4", CARVE_IMPL_AMD_MXGPU, NULL, &err), -EBUSY);
	assert_string_equal(err.id, "SRIOV_VF_IN_USE");
	assert_non_null(strstr(err.message, "from 2 to 4"));
	assert_non_null(strstr(err.message, "0000:04:02.0"));
	assert_int_equal(numvfs_of(h, gpu, NULL), 2);
	struct carve_vgpu_placement boot = {.device_pci = "0000:04:02.0"};
	assert_int_equal(remove_at(h, &boot, &err), 0);
	assert_int_equal(create(h, NULL, gpu, "s7150-4", CARVE_IMPL_AMD_MXGPU, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:04:02.0");
	assert_int_equal(numvfs_of(h, gpu, &nv), 4);
	assert_int_equal(nv, 4);
	assert_int_equal(vgpu_types_of(h, gpu), 1); /* gim publishes the type of its count only */
	assert_int_equal(avail(h, gpu, "s7150-4"), 3);
	assert_int_equal(create(h, NULL, gpu, "s7150-2", CARVE_IMPL_AMD_MXGPU, NULL, &err), -EBUSY);
	carve_host_free(h);

	/* AMD after a reboot: every count is possible, so every type is supported. */
	h = open_example("amd-s7150-cold", NULL);
	assert_int_equal(vgpu_types_of(h, gpu), 5);
	assert_int_equal(avail(h, gpu, "s7150-8"), 0);
	assert_int_equal(create(h, NULL, gpu, "s7150-8", CARVE_IMPL_AMD_MXGPU, &w, &err), 0);
	assert_int_equal(numvfs_of(h, gpu, NULL), 8);
	assert_int_equal(avail(h, gpu, "s7150-8"), 7);
	carve_host_free(h);

	/* Ampere mdev on VFs: the VFs are the parents; the PF publishes nothing. */
	h = open_text("name: a100-cold\ngpus:\n"
		      "  - {board: NVIDIA A100 PCIe 40GB, pci: \"0000:ca:00.0\", vfs: 20, numvfs: 0}\n",
		      &err);
	if (!h)
		fail_msg("%s", err.message);
	gpu = "0000:ca:00.0";
	assert_int_equal(avail(h, gpu, "nvidia-472"), 0);
	assert_int_equal(create(h, U(13), gpu, "nvidia-472", CARVE_IMPL_NVIDIA_MDEV, &w, &err), 0);
	assert_string_equal(w.uuid, U(13));
	assert_string_equal(w.device_pci, "0000:ca:00.4");
	assert_int_equal(numvfs_of(h, gpu, NULL), 20);
	carve_host_free(h);

	/* The profile cannot promise what a GPU without VFs cannot show. */
	expect_profile_error("name: x\ngpus:\n  - {board: NVIDIA A100 PCIe 40GB, pci: \"0000:ca:00.0\", numvfs: 0,"
			     " vfs: 20, types: [nvidia-472]}\n",
			     -EINVAL, "gpus[0].types: with no VF enabled");
	expect_profile_error("name: x\ngpus:\n  - {board: NVIDIA L40S, pci: \"0000:41:00.0\", vfs: 16, numvfs: 0,"
			     " vgpus: [{type: \"1155\"}]}\n",
			     -EINVAL, "gpus[0].vgpus[0]: a vGPU at boot needs enabled VFs");
}

/* The enabled VF count is kernel state: a state file keeps it, a "reboot"
 * (no state file) loses it. */
static void test_sim_sriov_persistence(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *st = carve_strdupf("%s/sim-state.json", tmp);
	struct carve_error err = {0};
	const char *gpu = "0000:04:00.0";
	struct carve_host *h = open_example("amd-s7150-cold", st);
	assert_int_equal(create(h, NULL, gpu, "s7150-2", CARVE_IMPL_AMD_MXGPU, NULL, &err), 0);
	carve_host_free(h);
	_cleanup_free_ char *text = slurp(tmp, "sim-state.json");
	assert_non_null(strstr(text, "\"0000:04:00.0\": 2"));
	h = open_example("amd-s7150-cold", st);
	assert_int_equal(numvfs_of(h, gpu, NULL), 2);
	assert_int_equal(avail(h, gpu, "s7150-2"), 1);
	carve_host_free(h);
	assert_int_equal(unlink(st), 0);
	h = open_example("amd-s7150-cold", st);
	assert_int_equal(numvfs_of(h, gpu, NULL), 0);
	assert_int_equal(vgpu_types_of(h, gpu), 5);
	carve_host_free(h);

	/* A count the GPU cannot have, or for a GPU without SR-IOV: refused. */
	_cleanup_free_ char *prof = profile_path("amd-s7150-cold");
	const char *bad[] = {"{\"0000:04:00.0\": 17}", "{\"0000:04:00.0\": 3}", "{\"0000:03:00.0\": 1}",
			     "{\"0000:04:00.0\": \"2\"}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *doc = carve_strdupf("{\"format\": \"carve-sim-state\", \"version\": 2, \"profile\": "
							 "\"amd-s7150-cold\", \"numvfs\": %s, \"devices\": []}\n",
							 bad[i]);
		overwrite(tmp, "sim-state.json", doc);
		carve_error_clear(&err);
		h = NULL;
		assert_int_equal(carve_host_open_sim(prof, st, &h, &err), -EINVAL);
		assert_string_equal(err.id, "SIM_STATE_INVALID");
	}
	/* Version 1 (no numvfs) still loads: the profile's boot count applies. */
	overwrite(tmp, "sim-state.json",
		  "{\"format\": \"carve-sim-state\", \"version\": 1, \"profile\": \"amd-s7150-cold\", \"devices\": []}\n");
	h = open_example("amd-s7150-cold", st);
	assert_int_equal(numvfs_of(h, gpu, NULL), 0);
	carve_host_free(h);
	test_rm_rf(tmp);
}

/* A write hook that plays the kernel and the vendor drivers on a fixture
 * tree: it records every write, regenerates the tree from a profile
 * template when sriov_numvfs is written (the VFs appear or go), and can
 * fail writes of one attribute/value with an errno for a number of times. */
struct hook {
	char log[32][160];
	size_t n;
	const char *root, *tmpdir, *tmpl; /* tmpl: profile text, '@' for numvfs; NULL: no VFs appear */
	const char *fail_attr, *fail_value;
	int fail_errno, fail_left, fail_calls; /* fail_left < 0: forever */
};

static int rm_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	return ftw->level > 0 ? remove(path) : 0;
}

/* Write profile text tmpl to path with its one '@' replaced by n (the VF
 * count to generate). */
static int write_template(const char *path, const char *tmpl, unsigned n)
{
	const char *at = strchr(tmpl, '@');
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	if (at)
		fprintf(f, "%.*s%u%s", (int)(at - tmpl), tmpl, n, at + 1);
	return fclose(f) == 0 && at ? 0 : -EIO;
}

static int hook_fn(const char *devdir, const char *attr, const char *value, void *data)
{
	struct hook *k = data;
	if (k->fail_attr && strcmp(attr, k->fail_attr) == 0 && (!k->fail_value || strcmp(value, k->fail_value) == 0)) {
		k->fail_calls++;
		if (k->fail_left != 0) {
			if (k->fail_left > 0)
				k->fail_left--;
			return -k->fail_errno;
		}
	}
	if (k->n < ARRAY_SIZE(k->log))
		snprintf(k->log[k->n++], sizeof(k->log[0]), "%s/%s=%s", devdir, attr, value);
	if (k->tmpl && strcmp(attr, "sriov_numvfs") == 0) {
		_cleanup_free_ char *prof = carve_strdupf("%s/regen.yaml", k->tmpdir);
		if (write_template(prof, k->tmpl, (unsigned)atoi(value)) < 0)
			return -EIO;
		if (nftw(k->root, rm_below, 32, FTW_DEPTH | FTW_PHYS) != 0 || run_mkfixture(prof, k->root) != 0)
			return -EIO;
	}
	return 0;
}

static bool logged(const struct hook *k, const char *entry)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->log[i], entry) == 0)
			return true;
	return false;
}

/* A tree generated from tmpl with numvfs n into <tmp>/<name>. */
static char *gen_from_template(const char *tmp, const char *name, const char *tmpl, unsigned n)
{
	_cleanup_free_ char *prof = carve_strdupf("%s/%s.yaml", tmp, name);
	assert_int_equal(write_template(prof, tmpl, n), 0);
	char *root = carve_strdupf("%s/%s", tmp, name);
	assert_int_equal(run_mkfixture(prof, root), 0);
	return root;
}

static const char *L40S_TMPL = "name: l40s\ngpus:\n  - {board: NVIDIA L40S, pci: \"0000:41:00.0\", vfs: 16, numvfs: @}\n";
static const char *S7150_TMPL = "name: s7150\ngpus:\n  - {board: AMD FirePro S7150, pci: \"0000:04:00.0\", vfs: 16,"
				" numvfs: @}\n";
static const char *A100_TMPL = "name: a100\ngpus:\n  - {board: NVIDIA A100 PCIe 40GB, pci: \"0000:ca:00.0\", vfs: 20,"
			       " numvfs: @}\n";

static void test_sysfs_sriov_enable(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	struct carve_error err = {0};
	struct carve_vgpu_placement w;
	struct carve_host *h = NULL;

	/* Vendor VFIO after a reboot: sriov_numvfs first, then a VF's type. */
	_cleanup_free_ char *root = gen_tree(tmp, "l40s-sriov-cold");
	struct hook k = {.root = root, .tmpdir = tmp, .tmpl = L40S_TMPL};
	carve_sysfs_set_write_fault(hook_fn, &k);
	assert_int_equal(carve_host_open_sysfs(root, NULL, &h, &err), 0);
	assert_int_equal(numvfs_of(h, "0000:41:00.0", NULL), 0);
	assert_int_equal(avail(h, "0000:41:00.0", "1155"), 0);
	struct carve_vgpu_spec sv = {.pgpu_pci = "0000:41:00.0", .type_id = "1155", .impl = CARVE_IMPL_NVIDIA_SRIOV,
				     .params = "frame_rate_limiter=0"};
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sv, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:41:00.4");
	assert_true(k.n >= 3);
	assert_string_equal(k.log[0], "bus/pci/devices/0000:41:00.0/sriov_numvfs=16");
	assert_string_equal(k.log[1], "bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type=1155");
	assert_string_equal(k.log[2], "bus/pci/devices/0000:41:00.4/nvidia/vgpu_params=frame_rate_limiter=0");
	_cleanup_free_ char *nv = slurp(root, "bus/pci/devices/0000:41:00.0/sriov_numvfs");
	assert_true(carve_startswith(nv, "16"));
	/* VFs already enabled: no second write */
	k.n = 0;
	snprintf(sv.type_id, sizeof(sv.type_id), "1150");
	carve_error_clear(&err);
	h->ops->vgpu_create(h, NULL, &sv, &w, &err);
	assert_false(logged(&k, "bus/pci/devices/0000:41:00.0/sriov_numvfs=16"));
	carve_host_free(h);

	/* No VF shows up (a fixture nobody rewrites): a clear error, no guess. */
	_cleanup_free_ char *tmp2 = carve_strdupf("%s/still", tmp);
	assert_int_equal(mkdir(tmp2, 0755), 0);
	_cleanup_free_ char *root2 = gen_tree(tmp2, "l40s-sriov-cold");
	k = (struct hook){0};
	assert_int_equal(carve_host_open_sysfs(root2, NULL, &h, &err), 0);
	snprintf(sv.type_id, sizeof(sv.type_id), "1155");
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sv, &w, &err), -EIO);
	assert_string_equal(err.id, "SRIOV_ENABLE_FAILED");
	assert_non_null(strstr(err.message, "wrote 16 to sriov_numvfs"));
	assert_string_equal(k.log[0], "bus/pci/devices/0000:41:00.0/sriov_numvfs=16");
	carve_host_free(h);

	/* AMD with a VF handed out: changing the count is refused, nothing written. */
	_cleanup_free_ char *root3 = gen_tree(tmp, "amd-s7150");
	k = (struct hook){0};
	assert_int_equal(carve_host_open_sysfs(root3, NULL, &h, &err), 0);
	struct carve_vgpu_spec sa = {.pgpu_pci = "0000:04:00.0", .type_id = "s7150-4", .impl = CARVE_IMPL_AMD_MXGPU};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sa, &w, &err), -EBUSY);
	assert_string_equal(err.id, "SRIOV_VF_IN_USE");
	assert_non_null(strstr(err.message, "VF 0000:04:02.0 is in use"));
	assert_int_equal(k.n, 0);
	carve_host_free(h);

	/* AMD with free VFs of another count: 0 first, then the new count. */
	_cleanup_free_ char *root4 = gen_from_template(tmp, "s7150-2", S7150_TMPL, 2);
	k = (struct hook){.root = root4, .tmpdir = tmp, .tmpl = S7150_TMPL};
	assert_int_equal(carve_host_open_sysfs(root4, NULL, &h, &err), 0);
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sa, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:04:02.0");
	assert_string_equal(k.log[0], "bus/pci/devices/0000:04:00.0/sriov_numvfs=0");
	assert_string_equal(k.log[1], "bus/pci/devices/0000:04:00.0/sriov_numvfs=4");
	assert_string_equal(k.log[2], "bus/pci/devices/0000:04:02.0/driver_override=vfio-pci");
	carve_host_free(h);

	/* Ampere mdev on VFs after a reboot: the tree and the sim agree on a PF
	 * without VFs, and the create enables them before writing the UUID. */
	_cleanup_free_ char *root5 = gen_from_template(tmp, "a100-0", A100_TMPL, 0);
	_cleanup_free_ char *prof5 = carve_strdupf("%s/a100-0.yaml", tmp);
	struct carve_host *hm = NULL;
	assert_int_equal(carve_host_open_sysfs(root5, NULL, &h, &err), 0);
	assert_int_equal(carve_host_open_sim(prof5, NULL, &hm, &err), 0);
	_cleanup_json_ json_t *a = discover_json(hm);
	_cleanup_json_ json_t *b = discover_json(h);
	expect_equal_json(a, b, "A100 without VFs");
	k = (struct hook){.root = root5, .tmpdir = tmp, .tmpl = A100_TMPL};
	struct carve_vgpu_spec sm = {.uuid = U(14), .pgpu_pci = "0000:ca:00.0", .type_id = "nvidia-472",
				     .impl = CARVE_IMPL_NVIDIA_MDEV};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sm, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:ca:00.4");
	assert_string_equal(k.log[0], "bus/pci/devices/0000:ca:00.0/sriov_numvfs=20");
	assert_string_equal(k.log[1], "bus/pci/devices/0000:ca:00.4/mdev_supported_types/nvidia-472/create=" U(14));
	carve_host_free(hm);
	carve_host_free(h);
	carve_sysfs_set_write_fault(NULL, NULL);
	test_rm_rf(tmp);
}

/* Vendor VFIO release: the driver refuses (EBUSY) for a while at cleanup. */
static void test_sysfs_release_retries(void **state)
{
	(void)state;
	_cleanup_free_ char *tmp = test_tmpdir_make("discovery");
	_cleanup_free_ char *root = gen_tree(tmp, "l40s-sriov");
	struct carve_error err = {0};
	struct carve_host *h = NULL;
	assert_int_equal(carve_host_open_sysfs(root, NULL, &h, &err), 0);
	struct carve_vgpu_spec rs = {.impl = CARVE_IMPL_NVIDIA_SRIOV};
	struct carve_vgpu_placement vf = {.device_pci = "0000:41:00.4"};

	/* EBUSY forever: gives up after the bound, saying how many tries */
	struct hook k = {.fail_attr = "current_vgpu_type", .fail_value = "0", .fail_errno = EBUSY, .fail_left = -1};
	carve_sysfs_set_write_fault(hook_fn, &k);
	double t0 = now_ms();
	assert_int_equal(h->ops->vgpu_remove(h, &rs, &vf, &err), -EBUSY);
	double ms = now_ms() - t0;
	assert_int_equal(k.fail_calls, 5);
	assert_non_null(strstr(err.message, "after 5 attempts"));
	assert_non_null(strstr(err.message, "current_vgpu_type"));
	assert_true(ms >= 350.0); /* four pauses of 100 ms between five tries */

	/* EBUSY twice, then the driver lets go */
	k = (struct hook){.fail_attr = "current_vgpu_type", .fail_value = "0", .fail_errno = EBUSY, .fail_left = 2};
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_remove(h, &rs, &vf, &err), 0);
	assert_int_equal(k.fail_calls, 3);
	assert_string_equal(k.log[0], "bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type=0");

	/* Other errors are not retried */
	k = (struct hook){.fail_attr = "current_vgpu_type", .fail_value = "0", .fail_errno = EIO, .fail_left = -1};
	struct carve_vgpu_spec sv = {.pgpu_pci = "0000:41:00.0", .type_id = "1155", .impl = CARVE_IMPL_NVIDIA_SRIOV};
	struct carve_vgpu_placement w;
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_create(h, NULL, &sv, &w, &err), 0);
	assert_string_equal(w.device_pci, "0000:41:00.5");
	carve_error_clear(&err);
	assert_int_equal(h->ops->vgpu_remove(h, &rs, &w, &err), -EIO);
	assert_int_equal(k.fail_calls, 1);
	assert_non_null(strstr(err.message, "after 1 attempt"));
	carve_sysfs_set_write_fault(NULL, NULL);
	carve_host_free(h);
	test_rm_rf(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_real_hosts),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unreadable_root),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_nonpci_parent),
		cmocka_unit_test(test_sim_mdev_rules),
		cmocka_unit_test(test_sim_sriov_rules),
		cmocka_unit_test(test_sim_gvt_rules),
		cmocka_unit_test(test_sim_persistence),
		cmocka_unit_test(test_sim_fail_injection),
		cmocka_unit_test(test_mixed_override_roundtrip),
		cmocka_unit_test(test_profile_validation),
		cmocka_unit_test(test_sysfs_realize),
		cmocka_unit_test(test_sim_sriov_enable),
		cmocka_unit_test(test_sim_sriov_persistence),
		cmocka_unit_test(test_sysfs_sriov_enable),
		cmocka_unit_test(test_sysfs_release_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
