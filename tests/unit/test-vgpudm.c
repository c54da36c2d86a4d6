/* Unit tests for src/host/vgpudm.c: vgpu-device-manager's configuration
 * translated into a carve host configuration.  Every translation is read
 * back with carve_hostcfg_parse() and its entries compared; every refusal
 * checks the errno, the id, the origin:line and the words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/hostcfg.h"
#include "host/vgpudm.h"
#include "util/cleanup.h"

/* GPU index i = host3[i]: two T4 and an A100 80GB between them. */
static const struct carve_vgpudm_gpu host3[] = {
	{"0000:3b:00.0", 0x10de, 0x1eb8},
	{"0000:5e:00.0", 0x10de, 0x20b5},
	{"0000:af:00.0", 0x10de, 0x1eb8},
};

static const char mixed[] = "version: v1\n"
			    "vgpu-configs:\n"
			    "  default:\n"
			    "    - devices: all\n"
			    "      vgpu-devices:\n"
			    "        \"T4-1Q\": 16\n"
			    "  mixed:\n"
			    "    - devices: [0]\n"
			    "      device-filter: \"0x1EB810DE\"\n"
			    "      vgpu-devices: {\"T4-2Q\": 8}\n"
			    "    - devices: [1]\n"
			    "      vgpu-devices: {\"A100-1-5C\": 7}\n"
			    "    - devices: all\n"
			    "      device-filter: [\"0x20F110DE\", \"0x1EB810DE\"]\n"
			    "      vgpu-devices: {}\n";

/* Translate text on gpus, read the result back into c; the text is the
 * caller's to free. */
static char *translate(const char *text, const char *selector, const struct carve_vgpudm_gpu *gpus, size_t n,
		       struct carve_hostcfg *c)
{
	char *out = NULL;
	struct carve_error err = {0};
	int r = carve_vgpudm_translate(text, strlen(text), "t.yaml", selector, gpus, n, &out, &err);
	if (r < 0)
		print_message("translate: %s\n", err.message);
	assert_int_equal(r, 0);
	assert_non_null(out);
	assert_false(carve_error_isset(&err));
	struct carve_error perr = {0};
	r = carve_hostcfg_parse(out, strlen(out), "out.yaml", c, &perr);
	if (r < 0)
		print_message("hostcfg: %s\n---\n%s---\n", perr.message, out);
	assert_int_equal(r, 0);
	return out;
}

/* Entry k selects pci and enables exactly types (NULL-terminated). */
static void expect_entry(const struct carve_hostcfg *c, size_t k, const char *pci, const char *const *types)
{
	assert_true(k < c->n);
	const struct carve_hostcfg_entry *e = &c->v[k];
	assert_int_equal(e->select, CARVE_HOSTCFG_PCI);
	assert_string_equal(e->pci, pci);
	assert_true(e->has_types);
	assert_false(e->has_vfs);
	size_t n = 0;
	for (; types[n]; n++)
		assert_string_equal(e->types.v[n < e->types.n ? n : 0], types[n]);
	assert_int_equal(e->types.n, n);
}

static void expect_fail_on(const char *text, size_t len, const char *selector, const struct carve_vgpudm_gpu *gpus,
			   size_t n, int code, const char *where, const char *words)
{
	char *out = (char *)"untouched";
	struct carve_error err = {0};
	int r = carve_vgpudm_translate(text, len, "t.yaml", selector, gpus, n, &out, &err);
	if (r != code || !strstr(err.message, where) || !strstr(err.message, words))
		print_message("got %d: %s\n want %d: %s ... %s\n", r, err.message, code, where, words);
	assert_int_equal(r, code);
	assert_int_equal(err.code, code);
	assert_null(out);
	assert_string_equal(err.id, "HOST_CONFIG_INVALID");
	assert_non_null(strstr(err.message, where));
	assert_non_null(strstr(err.message, words));
}

static void expect_fail(const char *text, int code, const char *where, const char *words)
{
	expect_fail_on(text, strlen(text), "default", host3, ARRAY_SIZE(host3), code, where, words);
}

static void test_default(void **state)
{
	(void)state;
	struct carve_hostcfg c;
	free(translate(mixed, "default", host3, ARRAY_SIZE(host3), &c));
	assert_int_equal(c.n, 3);
	expect_entry(&c, 0, "0000:3b:00.0", (const char *const[]){"T4-1Q", NULL});
	expect_entry(&c, 1, "0000:5e:00.0", (const char *const[]){"T4-1Q", NULL});
	expect_entry(&c, 2, "0000:af:00.0", (const char *const[]){"T4-1Q", NULL});
	carve_hostcfg_clear(&c);

	/* The whole text, once: the comments carry what carve does not apply. */
	_cleanup_free_ char *one = translate(mixed, "default", host3, 1, &c);
	assert_string_equal(one, "# carve host configuration: vgpu-device-manager config 'default' of t.yaml\n"
				 "# The counts are not applied: carve creates vGPUs per VM.\n"
				 "version: 1\n"
				 "gpus:\n"
				 "  - select: {pci: \"0000:3b:00.0\"}  # device 0, 0x1EB810DE: vgpu-configs.default[0], line 4\n"
				 "    enabled-types: [\"T4-1Q\"]  # vgpu-device-manager counts: T4-1Q=16\n");
	carve_hostcfg_clear(&c);
}

static void test_mixed(void **state)
{
	(void)state;
	struct carve_hostcfg c;
	/* GPU 0 (T4): spec 0, then spec 2 (filter) replaces it: no types.
	 * GPU 1 (A100): spec 1.  GPU 2 (T4): spec 2 only. */
	_cleanup_free_ char *out = translate(mixed, "mixed", host3, ARRAY_SIZE(host3), &c);
	assert_int_equal(c.n, 3);
	expect_entry(&c, 0, "0000:3b:00.0", (const char *const[]){NULL});
	expect_entry(&c, 1, "0000:5e:00.0", (const char *const[]){"A100-1-5C", NULL});
	expect_entry(&c, 2, "0000:af:00.0", (const char *const[]){NULL});
	assert_non_null(strstr(out, "vgpu-configs.mixed[2], line 13 (the last of 2 specs that select it)"));
	assert_non_null(strstr(out, "counts: A100-1-5C=7\n"));
	assert_non_null(strstr(out, "enabled-types: []  # vgpu-device-manager: no vGPU devices\n"));
	carve_hostcfg_clear(&c);
}

static void test_devices(void **state)
{
	(void)state;
	struct carve_hostcfg c;
	/* 7 is past this host's GPUs: no error, as in vgpu-device-manager. */
	const char *list = "version: v1\nvgpu-configs:\n  x:\n    - devices: [2, 7, 0]\n"
			   "      vgpu-devices: {T4-4Q: 4, T4-8Q: 2}\n";
	_cleanup_free_ char *a = translate(list, "x", host3, ARRAY_SIZE(host3), &c);
	assert_int_equal(c.n, 2);
	expect_entry(&c, 0, "0000:3b:00.0", (const char *const[]){"T4-4Q", "T4-8Q", NULL});
	expect_entry(&c, 1, "0000:af:00.0", (const char *const[]){"T4-4Q", "T4-8Q", NULL});
	assert_non_null(strstr(a, "counts: T4-4Q=4 T4-8Q=2\n"));
	carve_hostcfg_clear(&c);

	const char *none = "version: v1\nvgpu-configs:\n  x:\n    - devices: [5]\n      vgpu-devices: {T4-4Q: 4}\n"
			   "    - devices: []\n      vgpu-devices: {T4-4Q: 4}\n";
	_cleanup_free_ char *b = translate(none, "x", host3, ARRAY_SIZE(host3), &c);
	assert_int_equal(c.n, 0);
	assert_non_null(strstr(b, "gpus: []"));
	carve_hostcfg_clear(&c);

	/* A host without NVIDIA GPUs, and the GPUs' other PCI spellings. */
	free(translate(mixed, "default", NULL, 0, &c));
	assert_int_equal(c.n, 0);
	carve_hostcfg_clear(&c);
	const struct carve_vgpudm_gpu shortpci[] = {{"AF:00.0", 0x10de, 0x1eb8}};
	free(translate(mixed, "default", shortpci, 1, &c));
	expect_entry(&c, 0, "0000:af:00.0", (const char *const[]){"T4-1Q", NULL});
	carve_hostcfg_clear(&c);
}

static void test_filter(void **state)
{
	(void)state;
	struct carve_hostcfg c;
	/* One string (Go's base-0 spellings: 0x, decimal, octal, 0b, 0o),
	 * plain or quoted; a list; a filter nothing on this host matches. */
	static const char *const a100[] = {"\"0x20B510DE\"", "0x20b510de", "\"548737246\"", "\"04055210336\"",
					   "\"0o4055210336\"", "\"0b100000101101010001000011011110\""};
	for (size_t i = 0; i < ARRAY_SIZE(a100); i++) {
		char text[300];
		snprintf(text, sizeof(text),
			 "version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: %s\n"
			 "      vgpu-devices: {A100-40C: 2}\n",
			 a100[i]);
		free(translate(text, NULL, host3, ARRAY_SIZE(host3), &c));
		assert_int_equal(c.n, 1);
		expect_entry(&c, 0, "0000:5e:00.0", (const char *const[]){"A100-40C", NULL});
		carve_hostcfg_clear(&c);
	}
	const char *list = "version: v1\nvgpu-configs:\n  default:\n    - devices: [1, 2]\n"
			   "      device-filter: [\"0x1EB810DE\", \"0x20B510DE\"]\n      vgpu-devices: {A100-40C: 2}\n";
	free(translate(list, NULL, host3, ARRAY_SIZE(host3), &c));
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0].pci, "0000:5e:00.0");
	assert_string_equal(c.v[1].pci, "0000:af:00.0");
	carve_hostcfg_clear(&c);
	const char *other = "version: v1\nvgpu-configs:\n  default:\n    - devices: all\n"
			    "      device-filter: \"0x26B910DE\"\n      vgpu-devices: {L40S-24Q: 2}\n";
	free(translate(other, NULL, host3, ARRAY_SIZE(host3), &c));
	assert_int_equal(c.n, 0);
	carve_hostcfg_clear(&c);
	/* The vendor half counts too. */
	const struct carve_vgpudm_gpu amd[] = {{"0000:04:00.0", 0x1002, 0x1eb8}};
	free(translate(mixed, "mixed", amd, 1, &c));
	assert_int_equal(c.n, 0);
	carve_hostcfg_clear(&c);
}

static void test_last_wins(void **state)
{
	(void)state;
	struct carve_hostcfg c;
	/* Specs are not merged: the last one that selects a GPU is the GPU's
	 * whole configuration, as each of vgpu-device-manager's steps clears
	 * the GPU first. */
	const char *text = "version: v1\nvgpu-configs:\n  c:\n"
			   "    - devices: all\n      vgpu-devices: {T4-1Q: 16}\n"
			   "    - devices: [0, 1]\n      vgpu-devices: {T4-2Q: 8, T4-4Q: 4}\n"
			   "    - devices: [1]\n      vgpu-devices: {A100-1-5CME: 1, A100-2-10C: 3}\n";
	_cleanup_free_ char *out = translate(text, "c", host3, ARRAY_SIZE(host3), &c);
	assert_int_equal(c.n, 3);
	expect_entry(&c, 0, "0000:3b:00.0", (const char *const[]){"T4-2Q", "T4-4Q", NULL});
	expect_entry(&c, 1, "0000:5e:00.0", (const char *const[]){"A100-1-5CME", "A100-2-10C", NULL});
	expect_entry(&c, 2, "0000:af:00.0", (const char *const[]){"T4-1Q", NULL});
	assert_non_null(strstr(out, "c[2], line 8 (the last of 3 specs that select it)"));
	carve_hostcfg_clear(&c);
}

static void test_selector(void **state)
{
	(void)state;
	struct carve_hostcfg c;
	/* No selector: the only configuration, as vgpu-device-manager. */
	const char *one = "version: v1\nvgpu-configs:\n  only:\n    - devices: all\n      vgpu-devices: {T4-1Q: 1}\n";
	_cleanup_free_ char *a = translate(one, NULL, host3, 1, &c);
	assert_int_equal(c.n, 1);
	assert_non_null(strstr(a, "config 'only' of t.yaml"));
	carve_hostcfg_clear(&c);
	free(translate(one, "", host3, 1, &c));
	carve_hostcfg_clear(&c);

	expect_fail_on(mixed, strlen(mixed), "nope", host3, 3, -EINVAL,
		       "t.yaml:3: vgpu-configs: no configuration 'nope' (the file has default, mixed)", "");
	expect_fail_on(mixed, strlen(mixed), NULL, host3, 3, -EINVAL, "t.yaml:3: vgpu-configs: 2 configurations",
		       "select one of default, mixed");
	/* Many names: the list is cut, and says how many it left out. */
	size_t size = 64 * 1024, off = 0;
	_cleanup_free_ char *many = malloc(size);
	off += (size_t)snprintf(many + off, size - off, "version: v1\nvgpu-configs:\n");
	for (int i = 0; i < 500; i++)
		off += (size_t)snprintf(many + off, size - off,
					"  config-with-a-long-name-%03d: [{devices: all, vgpu-devices: {}}]\n", i);
	expect_fail_on(many, off, "nope\n\x01", host3, 3, -EINVAL, "no configuration 'nope?\?' (the file has config",
		       " more))");
	struct carve_error err = {0};
	char *out = NULL;
	assert_int_equal(carve_vgpudm_translate(many, off, "t.yaml", "x", host3, 3, &out, &err), -EINVAL);
	assert_true(strlen(err.message) < sizeof(err.message) - 1);
	/* Any name selects, and the comment shows it safely. */
	const char *odd = "version: v1\nvgpu-configs:\n  \"a#b \\u00e9'x\": [{devices: all, vgpu-devices: {}}]\n";
	_cleanup_free_ char *d = translate(odd, "a#b \xc3\xa9'x", host3, 1, &c);
	assert_non_null(strstr(d, "config 'a#b ?\?'x'"));
	carve_hostcfg_clear(&c);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *spec = "\n    - devices: all\n      vgpu-devices: {T4-1Q: 1}\n";
	char text[512];
	static const struct {
		const char *text, *where, *words;
		int code;
	} cases[] = {
		{"vgpu-configs:\n  default: [{devices: all, vgpu-devices: {}}]\n", "t.yaml:1:", "missing key 'version'"},
		{"version: v1\n", "t.yaml:1:", "missing key 'vgpu-configs'"},
		{"version: v2\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {}}]\n", "t.yaml:1: version: 'v2'",
		 "reads vgpu-device-manager version v1"},
		{"version: 1\nvgpu-configs: {}\n", "t.yaml:1: version: '1'", "version v1"},
		{"version: v1\nvgpu-configs: {}\n", "t.yaml:2: vgpu-configs", "at least one configuration"},
		{"version: v1\nvgpu-configs:\n  default: []\n", "t.yaml:3: vgpu-configs.default", "at least one spec"},
		{"version: v1\nvgpu-configs:\n  default: {devices: all}\n", "t.yaml:3: vgpu-configs.default",
		 "expected a list of specs"},
		{"version: v1\nextra: 1\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {}}]\n",
		 "t.yaml:2: extra", "unknown key"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {}, mig-devices: {}}]\n",
		 "t.yaml:3: vgpu-configs.default[0].mig-devices", "unknown key"},
		{"version: v1\nvgpu-configs:\n  default:\n    - vgpu-devices: {T4-1Q: 1}\n", "t.yaml:4: vgpu-configs.default[0]",
		 "missing key 'devices'"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n", "t.yaml:4: vgpu-configs.default[0]",
		 "missing key 'vgpu-devices'"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: some, vgpu-devices: {}}]\n",
		 "t.yaml:3: vgpu-configs.default[0].devices", "'some': expected all or a list"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: {a: 1}, vgpu-devices: {}}]\n",
		 "vgpu-configs.default[0].devices", "expected all or a list"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: [0, -1], vgpu-devices: {}}]\n",
		 "vgpu-configs.default[0].devices[1]", "not a number"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: [\"0\"], vgpu-devices: {}}]\n",
		 "vgpu-configs.default[0].devices[0]", "not a quoted string"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {T4-1Q: 0}\n",
		 "t.yaml:5: vgpu-configs.default[0].vgpu-devices.T4-1Q", "count 0"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {T4-1Q: -2}\n",
		 "vgpu-devices.T4-1Q", "not a number"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {T4-1Q: 4097}\n",
		 "vgpu-devices.T4-1Q", "from 0 to 4096"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {T4-1Q: \"16\"}\n",
		 "vgpu-devices.T4-1Q", "not a quoted string"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {T4-1Q: 1.5}\n",
		 "vgpu-devices.T4-1Q", "not a number"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {GRID T4-1Q: 1}\n",
		 "t.yaml:5: vgpu-configs.default[0].vgpu-devices.GRID T4-1Q", "'GRID T4-1Q' is not a vGPU type name"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {t4-1q: 1}\n",
		 "vgpu-devices.t4-1q", "is not a vGPU type name"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {\"T4-1Q\\n\": 1}\n",
		 "'T4-1Q?' is not a vGPU type name", ""},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n"
		 "      vgpu-devices: {A100-40C: 1, A100-1-5C: 1}\n",
		 "t.yaml:5: vgpu-configs.default[0].vgpu-devices.A100-1-5C", "cannot mix time-sliced and MIG-backed"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n"
		 "      vgpu-devices: {A100-1-5C: 1, A100-40C: 1}\n",
		 "vgpu-devices.A100-40C", "cannot mix"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: [T4-1Q]\n",
		 "vgpu-devices", "expected a mapping of vGPU type: count"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices:\n",
		 "vgpu-devices", "expected a mapping"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: {T4-1Q: 1, T4-1Q: 2}\n",
		 "vgpu-devices.T4-1Q", "key given twice"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: \"0x1EB810DEX\"\n"
		 "      vgpu-devices: {}\n",
		 "t.yaml:5: vgpu-configs.default[0].device-filter", "'0x1EB810DEX' is not a 32-bit device id"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: \"0x1EB810DE0\"\n"
		 "      vgpu-devices: {}\n",
		 "device-filter", "is not a 32-bit device id"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: [\"0x1EB810DE\", \" 1\"]\n"
		 "      vgpu-devices: {}\n",
		 "device-filter[1]", "' 1' is not a 32-bit device id"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n"
		 "      device-filter: \"0x1EB810DE:0x12A210DE\"\n      vgpu-devices: {}\n",
		 "device-filter", "subsystem filters are not supported"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: []\n"
		 "      vgpu-devices: {}\n",
		 "device-filter", "empty list"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: \"\"\n"
		 "      vgpu-devices: {}\n",
		 "device-filter", "'' is not a 32-bit device id"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: {a: b}\n"
		 "      vgpu-devices: {}\n",
		 "device-filter", "expected a device id or a list"},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices: &t {T4-1Q: 1}\n"
		 "    - devices: [0]\n      vgpu-devices: *t\n",
		 "t.yaml:5: vgpu-configs.default[1].vgpu-devices", "YAML aliases are not supported"},
		{"version: v1\nvgpu-configs:\n  \"\": [{devices: all, vgpu-devices: {}}]\n", "t.yaml:3: vgpu-configs.",
		 "a configuration name has 1 to 128 bytes"},
		{"version: v1\nvgpu-configs:\n  \"a\\tb\": [{devices: all, vgpu-devices: {}}]\n", "t.yaml:3:",
		 "configuration name contains a control character"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {}}]\n  default: []\n",
		 "t.yaml:4: vgpu-configs.default", "key given twice"},
		{"version: v1\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {}}]\n---\nversion: v1\n", "t.yaml",
		 "more than one YAML document"},
		{"version: v1\nvgpu-configs: [\n", "t.yaml:", "YAML syntax error"},
		{"", "t.yaml:1", "empty document"},
		/* An invalid configuration other than the selected one still
		 * refuses the file, as in vgpu-device-manager. */
		{"version: v1\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {}}]\n"
		 "  other: [{devices: all, vgpu-devices: {T4-0X: 1}}]\n",
		 "t.yaml:4: vgpu-configs.other[0].vgpu-devices.T4-0X", "not a vGPU type name"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_fail(cases[i].text, cases[i].code ? cases[i].code : -EINVAL, cases[i].where, cases[i].words);
	/* The spec template itself is fine. */
	snprintf(text, sizeof(text), "version: v1\nvgpu-configs:\n  default:%s", spec);
	struct carve_hostcfg c;
	free(translate(text, NULL, host3, 3, &c));
	carve_hostcfg_clear(&c);
	/* A NUL byte inside the text. */
	const char nul[] = "version: v1\nvgpu-configs:\n  default: [{devices: all, vgpu-devices: {\"T4\0-1Q\": 1}}]\n";
	expect_fail_on(nul, sizeof(nul) - 1, NULL, host3, 3, -EINVAL, "t.yaml", "");
}

/* head, then n times line with its "%d" the index, then tail. */
static char *repeat(const char *head, const char *line, int n, const char *tail, size_t *len)
{
	size_t size = strlen(head) + strlen(tail) + (size_t)n * (strlen(line) + 16) + 1, off = 0;
	const char *at = strstr(line, "%d");
	char *s = malloc(size);
	assert_non_null(s);
	assert_non_null(at);
	off += (size_t)snprintf(s, size, "%s", head);
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, size - off, "%.*s%d%s", (int)(at - line), line, i, at + 2);
	off += (size_t)snprintf(s + off, size - off, "%s", tail);
	*len = off;
	return s;
}

static void test_limits(void **state)
{
	(void)state;
	size_t len;
	struct carve_hostcfg c;
	static const struct {
		const char *head, *line, *tail, *where, *words;
		int max;
	} cases[] = {
		{"version: v1\nvgpu-configs:\n  default:\n", "    - {devices: [%d], vgpu-devices: {}}\n", "",
		 "vgpu-configs.default", "more than 256 specs", CARVE_VGPUDM_MAX_SPECS},
		{"version: v1\nvgpu-configs:\n", "  c%d: [{devices: all, vgpu-devices: {}}]\n", "", "vgpu-configs",
		 "more than 4096 configurations", CARVE_VGPUDM_MAX_CONFIGS},
		{"version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices:\n", "        T%d-1Q: 1\n",
		 "", "vgpu-devices", "more than 128 types", CARVE_VGPUDM_MAX_TYPES},
		{"version: v1\nvgpu-configs:\n  default:\n    - vgpu-devices: {}\n      devices:\n", "        - %d\n", "",
		 "devices", "more than 256 indices", CARVE_VGPUDM_MAX_INDICES},
		{"version: v1\nvgpu-configs:\n  default:\n    - vgpu-devices: {}\n      devices: all\n      device-filter:\n",
		 "        - \"%d\"\n", "", "device-filter", "more than 64 device ids", CARVE_VGPUDM_MAX_FILTERS},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		/* At the limit: accepted; one more: -E2BIG. */
		_cleanup_free_ char *at = repeat(cases[i].head, cases[i].line, cases[i].max, cases[i].tail, &len);
		char *out = NULL;
		struct carve_error err = {0};
		int r = carve_vgpudm_translate(at, len, "t.yaml", i == 1 ? "c0" : "default", host3, 3, &out, &err);
		if (r < 0)
			print_message("case %zu: %s\n", i, err.message);
		assert_int_equal(r, 0);
		assert_int_equal(carve_hostcfg_parse(out, strlen(out), "out", &c, &err), 0);
		carve_hostcfg_clear(&c);
		free(out);
		_cleanup_free_ char *over = repeat(cases[i].head, cases[i].line, cases[i].max + 1, cases[i].tail, &len);
		expect_fail_on(over, len, i == 1 ? "c0" : "default", host3, 3, -E2BIG, cases[i].where, cases[i].words);
	}
	/* The text's size: NVIDIA's own example would not fit hostcfg's 64 KiB. */
	_cleanup_free_ char *big = repeat("version: v1\nvgpu-configs:\n", "  c%d: [{devices: all, vgpu-devices: {}}]\n",
					  4000, "", &len);
	assert_true(len > 64 * 1024);
	free(translate(big, "c3999", host3, 3, &c));
	carve_hostcfg_clear(&c);
	_cleanup_free_ char *huge = repeat("version: v1\n", "# %d .............................................\n", 25000,
					   "", &len);
	expect_fail_on(huge, len, NULL, host3, 3, -E2BIG, "t.yaml", "larger than 1048576 bytes");

	/* The translation's own limits: more GPUs selected than entries ... */
	struct carve_vgpudm_gpu *many = calloc(300, sizeof(*many));
	assert_non_null(many);
	for (int i = 0; i < 300; i++) {
		snprintf(many[i].pci, sizeof(many[i].pci), "0000:%02x:%02x.0", (unsigned char)(1 + i / 32),
			 (unsigned char)(i % 32));
		many[i].vendor = 0x10de;
		many[i].device = 0x1eb8;
	}
	free(translate(mixed, "default", many, 256, &c));
	assert_int_equal(c.n, 256);
	carve_hostcfg_clear(&c);
	expect_fail_on(mixed, strlen(mixed), "default", many, 300, -E2BIG, "t.yaml: vgpu-configs.default selects 300 GPUs",
		       "more than 256 entries");
	/* ... and more text than a host configuration takes. */
	_cleanup_free_ char *wide = repeat("version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices:\n",
					   "        ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQ%d-1Q: 4096\n", 128, "",
					   &len);
	free(translate(wide, "default", many, 2, &c));
	carve_hostcfg_clear(&c);
	expect_fail_on(wide, len, "default", many, 5, -E2BIG, "t.yaml: vgpu-configs.default: the translation",
		       "larger than 65536 bytes");
	free(many);
}

static void test_bad_gpus(void **state)
{
	(void)state;
	char *out = NULL;
	struct carve_error err = {0};
	const struct carve_vgpudm_gpu bad[] = {{"0000:3b:00.0", 0x10de, 0x1eb8}, {"0000:3b:00.9", 0x10de, 0x1eb8}};
	assert_int_equal(carve_vgpudm_translate(mixed, strlen(mixed), NULL, "default", bad, 2, &out, &err), -EINVAL);
	assert_string_equal(err.id, "INTERNAL_ERROR");
	assert_non_null(strstr(err.message, "GPU 1: '0000:3b:00.9' is not a PCI address"));
	assert_null(out);
	carve_error_clear(&err);
	assert_int_equal(carve_vgpudm_translate(mixed, strlen(mixed), NULL, "default", NULL, 1, &out, &err), -EINVAL);
	assert_string_equal(err.id, "INTERNAL_ERROR");
	/* No origin: a placeholder names the file. */
	carve_error_clear(&err);
	assert_int_equal(carve_vgpudm_translate("version: v2", 11, NULL, NULL, NULL, 0, &out, &err), -EINVAL);
	assert_non_null(strstr(err.message, "<vgpu-device-manager configuration>:1: version"));
}

static void test_type_kind(void **state)
{
	(void)state;
	static const char *const sliced[] = {"T4-1Q", "T4-16Q", "M60-0Q", "A100D-80C", "A100-40C", "L40S-24A", "V100X-8B",
					     "DC-48Q", "6000D-84Q", "GB200-189C", "RTX-Pro-48Q", "A-b-C-0A", "X-999999Q"};
	static const char *const mig[] = {"A100-1-5C", "A100-1-5CME", "A100-7-40C", "DC-1-24CGFX", "6000D-2-84QNOME",
					  "A30-1-6CMEALL", "H100-9-0Q"};
	static const char *const bad[] = {
		"", "T4", "T4-", "-1Q", "T4-1", "T4-1X", "T4-01Q", "t4-1Q", "T4-1q", "GRID T4-1Q", "T4_1Q", "T4-1Q ",
		"A100-0-5C", "A100-10-5C", "A100-1-5CXX", "A100-1-05C", "A100-1-5", "A100-1-5CME-", "A100--5C",
		"A100-1-2-5C", "A100-x1-5C", "T4-1QME", "X-1000000Q", "A100-1-5Cme", "T4-1Q\n", "T4.1-1Q",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-1Q" /* 65 bytes */};
	for (size_t i = 0; i < ARRAY_SIZE(sliced); i++)
		assert_int_equal(carve_vgpudm_type_kind(sliced[i]), CARVE_VGPUDM_TIME_SLICED);
	for (size_t i = 0; i < ARRAY_SIZE(mig); i++)
		assert_int_equal(carve_vgpudm_type_kind(mig[i]), CARVE_VGPUDM_MIG_BACKED);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (carve_vgpudm_type_kind(bad[i]) != -EINVAL)
			print_message("accepted '%s'\n", bad[i]);
		assert_int_equal(carve_vgpudm_type_kind(bad[i]), -EINVAL);
	}
	assert_int_equal(carve_vgpudm_type_kind(NULL), -EINVAL);
	assert_int_equal(carve_vgpudm_type_kind("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXY-1Q"),
			 CARVE_VGPUDM_TIME_SLICED);
}

static void test_device_id(void **state)
{
	(void)state;
	uint32_t v;
	static const struct {
		const char *s;
		uint32_t v;
	} good[] = {{"0x1EB810DE", 0x1eb810de}, {"0X1eb810de", 0x1eb810de}, {"515379422", 0x1eb810de},
		    {"0", 0},			{"00", 0},		    {"017", 15},
		    {"0o17", 15},		{"0b101", 5},		    {"0xFFFFFFFF", 0xffffffff},
		    {"4294967295", 0xffffffff}};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(carve_vgpudm_parse_device_id(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	static const char *const bad[] = {"", "0x", "0o", "0b", "08", "0b2", "0x1G", "-1", "+1", " 1", "1 ", "1_000",
					  "0x_1", "1e3", "0x1EB810DE:0x0"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(carve_vgpudm_parse_device_id(bad[i], &v), -EINVAL);
	assert_int_equal(carve_vgpudm_parse_device_id("0x100000000", &v), -ERANGE);
	assert_int_equal(carve_vgpudm_parse_device_id("4294967296", &v), -ERANGE);
	assert_int_equal(carve_vgpudm_parse_device_id(NULL, &v), -EINVAL);
}

/* The fuzz seeds are real-looking files: each translates with the
 * configuration its first line names ("# select: NAME"), as the fuzz
 * target reads them, unless it says it is refused ("# refused"). */
static void test_seeds(void **state)
{
	(void)state;
	const char *src = getenv("CARVE_SRCDIR");
	if (!src)
		skip();
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/fuzz/corpus/fuzz-vgpudm", src);
	_cleanup_closedir_ DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char path[4400], text[8192], sel[129] = "default";
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		_cleanup_fclose_ FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t len = fread(text, 1, sizeof(text) - 1, f);
		text[len] = '\0';
		if (sscanf(text, "# select: %128[^\n]", sel) != 1)
			snprintf(sel, sizeof(sel), "default");
		char *out = NULL;
		struct carve_error err = {0};
		int r = carve_vgpudm_translate(text, len, de->d_name, sel, host3, 3, &out, &err);
		if (strstr(text, "# refused")) {
			assert_int_equal(r, -EINVAL);
			n++;
			continue;
		}
		if (r < 0)
			print_message("%s: %s\n", de->d_name, err.message);
		assert_int_equal(r, 0);
		struct carve_hostcfg c;
		assert_int_equal(carve_hostcfg_parse(out, strlen(out), "out", &c, &err), 0);
		assert_true(c.n > 0);
		carve_hostcfg_clear(&c);
		free(out);
		n++;
	}
	assert_true(n >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),	     cmocka_unit_test(test_mixed),     cmocka_unit_test(test_devices),
		cmocka_unit_test(test_filter),	     cmocka_unit_test(test_last_wins), cmocka_unit_test(test_selector),
		cmocka_unit_test(test_refusals),     cmocka_unit_test(test_limits),    cmocka_unit_test(test_bad_gpus),
		cmocka_unit_test(test_type_kind),    cmocka_unit_test(test_device_id), cmocka_unit_test(test_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
