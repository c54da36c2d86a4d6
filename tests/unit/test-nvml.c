/* Unit tests for src/host/nvml.c's facts (NVLink peers, ECC, the driver
 * version) and mixed-size mode, through carve's NVML stand-in
 * (tests/nvml/nvml-stub.c) answering from a host profile: dgx8's, as meson
 * sets $CARVE_NVML_LIBRARY and $CARVE_NVML_STUB_PROFILE.  The stand-in's
 * own NVML behaviour (return codes, struct layout, link numbering) is
 * checked by calling it directly.
 *
 * carve loads NVML once per process, so what needs another profile, no
 * NVML at all, or the stand-in not yet initialized runs in this executable
 * started again with a mode argument: "profile", "unavailable", "raw". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/nvml.h"
#include "host/profile.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/str.h"

#include "tmpdir.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		fail_msg("$%s is not set (meson test sets it)", name);
	return v;
}

/* Run this executable again as `self mode` with name=value in its
 * environment (name NULL: as it is), and expect its tests to pass. */
static void run_self(const char *mode, const char *name, const char *value)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (name)
			setenv(name, value, 1);
		execl(self, self, mode, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void get_facts(const char *pci, struct carve_hw_gpu *g)
{
	struct carve_error err = {0};
	int r = carve_nvml_get_facts(pci, g, &err);
	if (r < 0)
		print_message("%s: %s\n", pci, err.message);
	assert_int_equal(r, 0);
	assert_false(carve_error_isset(&err));
}

static void assert_peer(const struct carve_hw_gpu *g, size_t i, const char *peer, unsigned links)
{
	assert_true(i < g->n_nvlinks);
	assert_string_equal(g->nvlinks[i].peer, peer);
	assert_int_equal(g->nvlinks[i].links, links);
}

/* dgx8's first V100: NVLink as `nvidia-smi topo -m` shows, ECC on and clean. */
static void test_dgx8_gpu0(void **state)
{
	(void)state;
	struct carve_hw_gpu g = {0};
	get_facts("0000:06:00.0", &g);
	assert_true(g.nvlink_known);
	assert_int_equal(g.n_nvlinks, 4);
	assert_peer(&g, 0, "0000:07:00.0", 1);
	assert_peer(&g, 1, "0000:0a:00.0", 1);
	assert_peer(&g, 2, "0000:0b:00.0", 2);
	assert_peer(&g, 3, "0000:85:00.0", 2);
	const struct carve_hw_ecc *e = &g.ecc;
	assert_true(e->known);
	assert_true(e->enabled);
	assert_true(e->pending); /* no pending key: the current mode */
	assert_int_equal(e->volatile_corrected + e->volatile_uncorrected + e->aggregate_corrected +
				 e->aggregate_uncorrected,
			 0);
	assert_int_equal(e->retired_sbe + e->retired_dbe, 0);
	assert_false(e->retired_pending || e->remap_pending || e->remap_failure);
}

/* Every GPU of dgx8 reads back its profile entry's links, in its order. */
static void test_dgx8_all_links(void **state)
{
	(void)state;
	struct carve_profile *p = NULL;
	struct carve_error err = {0};
	assert_int_equal(carve_profile_load(env("CARVE_NVML_STUB_PROFILE"), &p, &err), 0);
	size_t gpus = 0;
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct carve_profile_gpu *e = &p->gpus[i];
		if (!e->key_line[CARVE_PGK_NVLINK])
			continue;
		struct carve_hw_gpu g = {0};
		get_facts(e->pci, &g);
		assert_true(g.nvlink_known);
		assert_int_equal(g.n_nvlinks, e->n_nvlink);
		for (size_t k = 0; k < e->n_nvlink; k++)
			assert_peer(&g, k, e->nvlink[k].peer, e->nvlink[k].links);
		gpus++;
	}
	assert_int_equal(gpus, 8);
	carve_profile_free(p);
}

static void test_driver_version(void **state)
{
	(void)state;
	char v[80];
	struct carve_error err = {0};
	assert_int_equal(carve_nvml_driver_version(v, sizeof(v), &err), 0);
	assert_string_equal(v, "440.33.01");
	/* "440.33.01" and its NUL need 10 bytes */
	assert_int_equal(carve_nvml_driver_version(v, 9, &err), -ERANGE);
	assert_string_equal(err.id, "NVML_CALL_FAILED");
	assert_string_equal(v, "");
	assert_int_equal(carve_nvml_driver_version(v, 10, NULL), 0);
	assert_string_equal(v, "440.33.01");
}

/* What NVML has no device for: an address nothing sits at, the BMC's
 * display (not NVIDIA's); the facts read before are forgotten. */
static void test_no_device(void **state)
{
	(void)state;
	const char *const absent[] = {"0000:99:00.0", "0000:02:00.0", "0001:06:00.0"};
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
		struct carve_hw_gpu g = {.nvlink_known = true, .n_nvlinks = 1, .ecc.known = true};
		struct carve_error err = {0};
		assert_int_equal(carve_nvml_get_facts(absent[i], &g, &err), -ENOENT);
		assert_string_equal(err.id, "NVML_CALL_FAILED");
		assert_non_null(strstr(err.message, absent[i]));
		assert_false(g.nvlink_known || g.n_nvlinks || g.ecc.known);
	}
	struct carve_hw_gpu g = {0};
	struct carve_error err = {0};
	assert_int_equal(carve_nvml_get_facts("06:00", &g, &err), -EINVAL);
	assert_string_equal(err.id, "PCI_INVALID");
}

static void test_mixed_size(void **state)
{
	(void)state;
	const char *pci = "0000:85:00.0";
	bool on = true;
	assert_int_equal(carve_nvml_get_mixed_size(pci, &on, NULL), 0);
	assert_false(on); /* dgx8 gives no mixed_size: off */
	assert_int_equal(carve_nvml_set_mixed_size(pci, true, NULL), 0);
	assert_int_equal(carve_nvml_get_mixed_size(pci, &on, NULL), 0);
	assert_true(on);
	assert_int_equal(carve_nvml_get_mixed_size("0000:86:00.0", &on, NULL), 0);
	assert_false(on);
	assert_int_equal(carve_nvml_set_mixed_size(pci, false, NULL), 0);
	assert_int_equal(carve_nvml_get_mixed_size(pci, &on, NULL), 0);
	assert_false(on);
}

/* text with the first from replaced by to (which must be there). */
static char *replace(char *text, const char *from, const char *to)
{
	char *at = strstr(text, from);
	assert_non_null(at);
	char *out = carve_strdupf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	assert_non_null(out);
	free(text);
	return out;
}

/* dgx8 with facts to read back: GPU 06:00.0 with errors and retirements,
 * 07:00.0 without ECC, 0a:00.0 with ECC off (counters given, not kept), a
 * T4 at d8:00.0 with neither NVLink nor ECC, another driver. */
static char *facts_profile(void)
{
	char *t = NULL;
	size_t len;
	struct carve_error err = {0};
	assert_int_equal(carve_file_read(env("CARVE_NVML_STUB_PROFILE"), 1 << 20, false, NULL, &t, &len, &err), 0);
	const char *ecc = "    ecc: {mode: true}\n";
	t = replace(t, ecc,
		    "    ecc: {mode: true, pending: false, volatile_corrected: 7, volatile_uncorrected: 1,\n"
		    "          aggregate_corrected: 4000000000, aggregate_uncorrected: 3, retired_sbe: 5,\n"
		    "          retired_dbe: 2, retired_pending: true, remap_pending: true, remap_failure: true}\n");
	t = replace(t, ecc, "");
	t = replace(t, ecc, "    ecc: {mode: false, pending: true, aggregate_corrected: 9}\n");
	t = replace(t, "driver_version: \"440.33.01\"", "driver_version: \"535.54.03\"");
	char *out = carve_strdupf("%s  - board: Tesla T4\n    pci: \"0000:d8:00.0\"\n", t);
	free(t);
	assert_non_null(out);
	return out;
}

static void test_other_profile(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = test_tmpdir_make("nvml");
	_cleanup_free_ char *path = carve_strdupf("%s/facts.yaml", dir);
	_cleanup_free_ char *text = facts_profile();
	struct carve_error err = {0};
	assert_int_equal(carve_file_write_atomic(path, text, strlen(text), NULL, &err), 0);
	run_self("profile", "CARVE_NVML_STUB_PROFILE", path);
	test_rm_rf(dir);
}

static void test_unavailable(void **state)
{
	(void)state;
	run_self("unavailable", "CARVE_NVML_LIBRARY", "none");
	run_self("unavailable", "CARVE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1");
}

static void test_stub(void **state)
{
	(void)state;
	run_self("raw", NULL, NULL);
}

/* --- "profile": facts_profile()'s facts ------------------------------ */

static void test_ecc_counts(void **state)
{
	(void)state;
	struct carve_hw_gpu g = {0};
	get_facts("0000:06:00.0", &g);
	const struct carve_hw_ecc *e = &g.ecc;
	assert_true(e->known);
	assert_true(e->enabled);
	assert_false(e->pending);
	assert_int_equal(e->volatile_corrected, 7);
	assert_int_equal(e->volatile_uncorrected, 1);
	assert_int_equal(e->aggregate_corrected, 4000000000ULL);
	assert_int_equal(e->aggregate_uncorrected, 3);
	assert_int_equal(e->retired_sbe, 5);
	assert_int_equal(e->retired_dbe, 2);
	assert_true(e->retired_pending);
	assert_true(e->remap_pending);
	assert_true(e->remap_failure);
	assert_int_equal(g.n_nvlinks, 4);
}

static void test_ecc_absent(void **state)
{
	(void)state;
	struct carve_hw_gpu g = {0};
	get_facts("0000:07:00.0", &g);
	assert_false(g.ecc.known);
	assert_true(g.nvlink_known);
	assert_int_equal(g.n_nvlinks, 4);
	get_facts("0000:d8:00.0", &g);
	assert_false(g.ecc.known);
	assert_false(g.nvlink_known);
	assert_int_equal(g.n_nvlinks, 0);
}

/* NVML keeps no error counts with ECC off. */
static void test_ecc_off(void **state)
{
	(void)state;
	struct carve_hw_gpu g = {0};
	get_facts("0000:0a:00.0", &g);
	assert_true(g.ecc.known);
	assert_false(g.ecc.enabled);
	assert_true(g.ecc.pending);
	assert_int_equal(g.ecc.aggregate_corrected, 0);
}

static void test_profile_driver(void **state)
{
	(void)state;
	char v[80];
	assert_int_equal(carve_nvml_driver_version(v, sizeof(v), NULL), 0);
	assert_string_equal(v, "535.54.03");
}

/* --- "unavailable": $CARVE_NVML_LIBRARY none or missing --------------- */

static void assert_unavailable(int r, const struct carve_error *err)
{
	assert_int_equal(r, -ENOTSUP);
	assert_string_equal(err->id, "NVML_UNAVAILABLE");
	bool none = strcmp(env("CARVE_NVML_LIBRARY"), "none") == 0;
	assert_non_null(strstr(err->message, none ? "CARVE_NVML_LIBRARY=none" : "cannot load"));
}

static void test_unavailable_calls(void **state)
{
	(void)state;
	assert_false(carve_nvml_available());
	struct carve_hw_gpu g = {.nvlink_known = true, .ecc.known = true};
	struct carve_error err = {0};
	assert_unavailable(carve_nvml_get_facts("0000:06:00.0", &g, &err), &err);
	assert_false(g.nvlink_known || g.ecc.known);
	char v[80] = "x";
	carve_error_clear(&err);
	assert_unavailable(carve_nvml_driver_version(v, sizeof(v), &err), &err);
	assert_string_equal(v, "");
	bool on;
	carve_error_clear(&err);
	assert_unavailable(carve_nvml_get_mixed_size("0000:06:00.0", &on, &err), &err);
}

/* --- "raw": the stand-in called as NVML, before carve could ----------- */

enum { OK = 0, UNINITIALIZED = 1, INVALID = 2, NOT_SUPPORTED = 3, NOT_FOUND = 6, INSUFFICIENT = 7, VERSION = 25 };
struct pci_info {
	char bus_id_legacy[16];
	unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};
_Static_assert(sizeof(struct pci_info) == 68, "nvmlPciInfo_t is 68 bytes");
struct hetero {
	unsigned int version, mode;
};
#define HETERO_V1 ((unsigned int)(sizeof(struct hetero) | 1U << 24))
typedef void *dev;

static struct {
	void *lib;
	int (*init)(void);
	int (*shutdown)(void);
	const char *(*error_string)(int);
	int (*driver_version)(char *, unsigned int);
	int (*by_pci)(const char *, dev *);
	int (*get_hetero)(dev, struct hetero *);
	int (*set_hetero)(dev, const struct hetero *);
	int (*link_state)(dev, unsigned int, int *);
	int (*link_remote)(dev, unsigned int, struct pci_info *);
	int (*ecc_mode)(dev, int *, int *);
	int (*ecc_total)(dev, int, int, unsigned long long *);
	int (*retired_pages)(dev, int, unsigned int *, unsigned long long *);
	int (*retired_pending)(dev, int *);
	int (*remapped_rows)(dev, unsigned int *, unsigned int *, unsigned int *, unsigned int *);
} nv;

static void *must_sym(const char *name)
{
	void *p = dlsym(nv.lib, name);
	if (!p)
		fail_msg("the stand-in has no %s", name);
	return p;
}

static int raw_setup(void **state)
{
	(void)state;
	nv.lib = dlopen(env("CARVE_NVML_LIBRARY"), RTLD_NOW | RTLD_LOCAL);
	if (!nv.lib)
		fail_msg("%s", dlerror());
	*(void **)&nv.init = must_sym("nvmlInit_v2");
	*(void **)&nv.shutdown = must_sym("nvmlShutdown");
	*(void **)&nv.error_string = must_sym("nvmlErrorString");
	*(void **)&nv.driver_version = must_sym("nvmlSystemGetDriverVersion");
	*(void **)&nv.by_pci = must_sym("nvmlDeviceGetHandleByPciBusId_v2");
	*(void **)&nv.get_hetero = must_sym("nvmlDeviceGetVgpuHeterogeneousMode");
	*(void **)&nv.set_hetero = must_sym("nvmlDeviceSetVgpuHeterogeneousMode");
	*(void **)&nv.link_state = must_sym("nvmlDeviceGetNvLinkState");
	*(void **)&nv.link_remote = must_sym("nvmlDeviceGetNvLinkRemotePciInfo_v2");
	*(void **)&nv.ecc_mode = must_sym("nvmlDeviceGetEccMode");
	*(void **)&nv.ecc_total = must_sym("nvmlDeviceGetTotalEccErrors");
	*(void **)&nv.retired_pages = must_sym("nvmlDeviceGetRetiredPages");
	*(void **)&nv.retired_pending = must_sym("nvmlDeviceGetRetiredPagesPendingStatus");
	*(void **)&nv.remapped_rows = must_sym("nvmlDeviceGetRemappedRows");
	return 0;
}

static int raw_teardown(void **state)
{
	(void)state;
	dlclose(nv.lib);
	return 0;
}

/* The stand-in's handle of pci (each test initializes NVML and shuts it
 * down again, so that the first finds it uninitialized). */
static dev raw_device(const char *pci)
{
	dev d = NULL;
	assert_int_equal(nv.by_pci(pci, &d), OK);
	assert_non_null(d);
	return d;
}

static void test_raw_lifecycle(void **state)
{
	(void)state;
	char v[80];
	dev d = NULL;
	assert_int_equal(nv.by_pci("0000:06:00.0", &d), UNINITIALIZED);
	assert_int_equal(nv.driver_version(v, sizeof(v)), UNINITIALIZED);
	assert_int_equal(nv.shutdown(), UNINITIALIZED);
	assert_int_equal(nv.init(), OK);
	assert_int_equal(nv.init(), OK);
	assert_int_equal(nv.shutdown(), OK);
	d = raw_device("0000:06:00.0"); /* still one reference */
	int current, pending;
	assert_int_equal(nv.ecc_mode(d, &current, &pending), OK);
	assert_int_equal(nv.shutdown(), OK);
	assert_int_equal(nv.by_pci("0000:06:00.0", &d), UNINITIALIZED);
	assert_int_equal(nv.ecc_mode(d, &current, &pending), UNINITIALIZED);
	assert_string_equal(nv.error_string(NOT_FOUND), "Not Found");
	assert_string_equal(nv.error_string(12345), "Unknown Error");
	/* carve's own code is linked in, not exported */
	assert_null(dlsym(nv.lib, "carve_profile_load"));
	assert_null(dlsym(nv.lib, "carve_pci_parse"));
}

static void test_raw_handles(void **state)
{
	(void)state;
	assert_int_equal(nv.init(), OK);
	dev d = raw_device("0000:06:00.0"), e = NULL;
	const char *const same[] = {"00000000:06:00.0", "06:00.0", "0000:06:00", "0000:06:00.0"};
	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		assert_int_equal(nv.by_pci(same[i], &e), OK);
		assert_ptr_equal(e, d);
	}
	assert_ptr_not_equal(raw_device("0000:07:00.0"), d);
	assert_int_equal(nv.by_pci("0000:99:00.0", &e), NOT_FOUND);
	assert_int_equal(nv.by_pci("0000:02:00.0", &e), NOT_FOUND); /* the BMC's display */
	assert_int_equal(nv.by_pci("10000:06:00.0", &e), NOT_FOUND);
	assert_int_equal(nv.by_pci("0000:06:00.0:1", &e), INVALID);
	assert_int_equal(nv.by_pci("0000:06:20.0", &e), INVALID);
	assert_int_equal(nv.by_pci(NULL, &e), INVALID);
	assert_int_equal(nv.by_pci("0000:06:00.0", NULL), INVALID);
	int current, pending;
	assert_int_equal(nv.ecc_mode((dev)&current, &current, &pending), INVALID);
	assert_int_equal(nv.shutdown(), OK);
}

static void test_raw_driver_version(void **state)
{
	(void)state;
	assert_int_equal(nv.init(), OK);
	char v[80];
	assert_int_equal(nv.driver_version(v, 9), INSUFFICIENT);
	assert_int_equal(nv.driver_version(v, 10), OK);
	assert_string_equal(v, "440.33.01");
	assert_int_equal(nv.driver_version(NULL, 80), INVALID);
	assert_int_equal(nv.shutdown(), OK);
}

/* 06:00.0 lists 07:00.0 1, 0a:00.0 1, 0b:00.0 2, 85:00.0 2: links 0-5. */
static void test_raw_links(void **state)
{
	(void)state;
	assert_int_equal(nv.init(), OK);
	dev d = raw_device("0000:06:00.0");
	for (unsigned link = 0; link < 18; link++) {
		int on = -1;
		assert_int_equal(nv.link_state(d, link, &on), OK);
		assert_int_equal(on, link < 6);
	}
	int on;
	assert_int_equal(nv.link_state(d, 18, &on), INVALID);
	assert_int_equal(nv.link_state(d, 0, NULL), INVALID);
	struct pci_info pi;
	memset(&pi, 0xa5, sizeof(pi));
	assert_int_equal(nv.link_remote(d, 3, &pi), OK);
	assert_string_equal(pi.bus_id, "00000000:0B:00.0");
	assert_string_equal(pi.bus_id_legacy, "0000:0B:00.0");
	assert_int_equal(pi.domain, 0);
	assert_int_equal(pi.bus, 0x0b);
	assert_int_equal(pi.device, 0);
	assert_int_equal(pi.pci_device_id, 0x1db110de);
	assert_int_equal(nv.link_remote(d, 5, &pi), OK);
	assert_string_equal(pi.bus_id, "00000000:85:00.0");
	assert_int_equal(nv.link_remote(d, 6, &pi), INVALID); /* inactive */
	assert_int_equal(nv.link_remote(d, 0, NULL), INVALID);
	assert_int_equal(nv.shutdown(), OK);
}

static void test_raw_ecc(void **state)
{
	(void)state;
	assert_int_equal(nv.init(), OK);
	dev d = raw_device("0000:06:00.0");
	int current = -1, pending = -1;
	assert_int_equal(nv.ecc_mode(d, &current, NULL), INVALID);
	assert_int_equal(nv.ecc_mode(d, &current, &pending), OK);
	assert_true(current == 1 && pending == 1);
	unsigned long long n = 1;
	assert_int_equal(nv.ecc_total(d, 2, 0, &n), INVALID);
	assert_int_equal(nv.ecc_total(d, 0, 2, &n), INVALID);
	assert_int_equal(nv.ecc_total(d, 1, 1, NULL), INVALID);
	assert_int_equal(nv.ecc_total(d, 1, 1, &n), OK);
	assert_int_equal(n, 0);
	unsigned int count = 3;
	assert_int_equal(nv.retired_pages(d, 2, &count, NULL), INVALID);
	assert_int_equal(nv.retired_pages(d, 1, NULL, NULL), INVALID);
	assert_int_equal(nv.retired_pages(d, 1, &count, NULL), OK);
	assert_int_equal(count, 0);
	assert_int_equal(nv.retired_pending(d, NULL), INVALID);
	unsigned int c, u, p, f;
	assert_int_equal(nv.remapped_rows(d, &c, &u, NULL, &f), INVALID);
	assert_int_equal(nv.remapped_rows(d, &c, &u, &p, &f), OK);
	assert_true(c == 0 && u == 0 && p == 0 && f == 0);
	assert_int_equal(nv.shutdown(), OK);
}

static void test_raw_hetero(void **state)
{
	(void)state;
	assert_int_equal(nv.init(), OK);
	dev d = raw_device("0000:89:00.0");
	struct hetero m = {.version = HETERO_V1, .mode = 7};
	assert_int_equal(nv.get_hetero(d, &m), OK);
	assert_int_equal(m.mode, 0);
	assert_int_equal(nv.get_hetero(d, NULL), INVALID);
	m.version = 1;
	assert_int_equal(nv.get_hetero(d, &m), VERSION);
	assert_int_equal(nv.set_hetero(d, &m), VERSION);
	m = (struct hetero){.version = HETERO_V1, .mode = 2};
	assert_int_equal(nv.set_hetero(d, &m), INVALID);
	m.mode = 1;
	assert_int_equal(nv.set_hetero(d, &m), OK);
	m.mode = 0;
	assert_int_equal(nv.get_hetero(d, &m), OK);
	assert_int_equal(m.mode, 1);
	assert_int_equal(nv.shutdown(), OK);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "profile") == 0) {
		const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_ecc_counts),
			cmocka_unit_test(test_ecc_absent),
			cmocka_unit_test(test_ecc_off),
			cmocka_unit_test(test_profile_driver),
		};
		return cmocka_run_group_tests_name("nvml-profile", tests, NULL, NULL);
	}
	if (strcmp(mode, "unavailable") == 0) {
		const struct CMUnitTest tests[] = {cmocka_unit_test(test_unavailable_calls)};
		return cmocka_run_group_tests_name("nvml-unavailable", tests, NULL, NULL);
	}
	if (strcmp(mode, "raw") == 0) {
		const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_raw_lifecycle),
			cmocka_unit_test(test_raw_handles),
			cmocka_unit_test(test_raw_driver_version),
			cmocka_unit_test(test_raw_links),
			cmocka_unit_test(test_raw_ecc),
			cmocka_unit_test(test_raw_hetero),
		};
		return cmocka_run_group_tests_name("nvml-raw", tests, raw_setup, raw_teardown);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dgx8_gpu0),
		cmocka_unit_test(test_dgx8_all_links),
		cmocka_unit_test(test_driver_version),
		cmocka_unit_test(test_no_device),
		cmocka_unit_test(test_mixed_size),
		cmocka_unit_test(test_other_profile),
		cmocka_unit_test(test_unavailable),
		cmocka_unit_test(test_stub),
	};
	return cmocka_run_group_tests_name("nvml", tests, NULL, NULL);
}
