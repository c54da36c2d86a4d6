/* Unit tests for src/model/desc.c: the NVIDIA mdev description, Intel GVT-g
 * description and NVIDIA SR-IOV creatable_vgpu_types parsers.  Table driven:
 * each case is an input (with an explicit length, so embedded and trailing
 * NULs and unterminated buffers are covered) and the expected result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/desc.h"
#include "util/cleanup.h"

/* A string literal with its exact length, embedded NULs included. */
#define LIT(s) s, sizeof(s) - 1

#define ALL_NV (CARVE_DESC_HAS_HEADS | CARVE_DESC_HAS_FRL | CARVE_DESC_HAS_FB | CARVE_DESC_HAS_RES | CARVE_DESC_HAS_MAXINST)

struct nv_case {
	const char *what;
	const char *text;
	size_t len;
	int rc;
	const char *msg; /* substring of the error message, when rc < 0 */
	struct carve_nv_desc want;
};

static const struct nv_case nv_cases[] = {
	{"seed P40-1Q", LIT("num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24"),
	 0, NULL, {4, 60, 24, 1024, 5120, 2880, ALL_NV}},
	{"seed P4-8C", LIT("num_heads=1, frl_config=60, framebuffer=8192M, max_resolution=4096x2160, max_instance=1\n"),
	 0, NULL, {1, 60, 1, 8192, 4096, 2160, ALL_NV}},
	{"reordered, spaced, newline", LIT("max_instance=24,framebuffer=1024M ,num_heads = 4,\tfrl_config=60,\n max_resolution=5120x2880\n"),
	 0, NULL, {4, 60, 24, 1024, 5120, 2880, ALL_NV}},
	{"G suffix", LIT("framebuffer=2G"), 0, NULL, {0, 0, 0, 2048, 0, 0, CARVE_DESC_HAS_FB}},
	{"lower-case suffix", LIT("framebuffer=512m"), 0, NULL, {0, 0, 0, 512, 0, 0, CARVE_DESC_HAS_FB}},
	{"largest G", LIT("framebuffer=18014398509481983G"), 0, NULL,
	 {0, 0, 0, UINT64_MAX / 1024 * 1024, 0, 0, CARVE_DESC_HAS_FB}},
	{"unknown keys ignored", LIT("foo=bar, num_heads=2, vendor_thing=x y z"), 0, NULL,
	 {2, 0, 0, 0, 0, 0, CARVE_DESC_HAS_HEADS}},
	{"only unknown keys", LIT("a=b"), 0, NULL, {0}},
	{"empty entries", LIT(",, num_heads=4 ,,"), 0, NULL, {4, 0, 0, 0, 0, 0, CARVE_DESC_HAS_HEADS}},
	{"u32 max", LIT("num_heads=4294967295"), 0, NULL, {UINT32_MAX, 0, 0, 0, 0, 0, CARVE_DESC_HAS_HEADS}},
	{"trailing NULs", LIT("num_heads=4\0\0"), 0, NULL, {4, 0, 0, 0, 0, 0, CARVE_DESC_HAS_HEADS}},
	{"unterminated buffer", "num_heads=4XYZ", 11, 0, NULL, {4, 0, 0, 0, 0, 0, CARVE_DESC_HAS_HEADS}},

	{"malformed number", LIT("framebuffer=abc"), -EINVAL, "bad value 'abc' for framebuffer", {0}},
	{"negative", LIT("num_heads=-1"), -EINVAL, "bad value '-1' for num_heads", {0}},
	{"plus sign", LIT("num_heads=+1"), -EINVAL, "num_heads", {0}},
	{"hex", LIT("max_instance=0x10"), -EINVAL, "max_instance", {0}},
	{"space inside number", LIT("num_heads=4 2"), -EINVAL, "'4 2'", {0}},
	{"empty value", LIT("num_heads="), -EINVAL, "bad value '' for num_heads", {0}},
	{"u32 overflow", LIT("num_heads=4294967296"), -ERANGE, "out of range", {0}},
	{"huge number", LIT("frl_config=99999999999999999999999999"), -ERANGE, "frl_config", {0}},
	{"overflow then garbage", LIT("frl_config=99999999999999999999999x"), -EINVAL, "frl_config", {0}},
	{"G overflow", LIT("framebuffer=18014398509481984G"), -ERANGE, "framebuffer", {0}},
	{"M overflow", LIT("framebuffer=18446744073709551616M"), -ERANGE, "framebuffer", {0}},
	{"no unit", LIT("framebuffer=1024"), -EINVAL, "framebuffer", {0}},
	{"unit only", LIT("framebuffer=M"), -EINVAL, "framebuffer", {0}},
	{"unknown unit", LIT("framebuffer=1024K"), -EINVAL, "framebuffer", {0}},
	{"resolution separator", LIT("max_resolution=5120*2880"), -EINVAL, "max_resolution", {0}},
	{"resolution no width", LIT("max_resolution=x2880"), -EINVAL, "max_resolution", {0}},
	{"resolution no height", LIT("max_resolution=5120x"), -EINVAL, "max_resolution", {0}},
	{"resolution two x", LIT("max_resolution=5120x28x80"), -EINVAL, "max_resolution", {0}},
	{"resolution overflow", LIT("max_resolution=99999999999x1"), -ERANGE, "max_resolution", {0}},
	{"empty", "", 0, -EINVAL, "empty", {0}},
	{"NULL text", NULL, 0, -EINVAL, "empty", {0}},
	{"white space only", LIT(" \n\t "), -EINVAL, "empty", {0}},
	{"NULs only", LIT("\0\0"), -EINVAL, "empty", {0}},
	{"embedded NUL", LIT("num_heads=4\0, frl_config=60"), -EINVAL, "NUL", {0}},
	{"duplicate key", LIT("num_heads=4, frl_config=60, num_heads=4"), -EINVAL, "num_heads given twice", {0}},
	{"no equals", LIT("num_heads 4"), -EINVAL, "malformed entry 'num_heads 4'", {0}},
	{"empty key", LIT("=4"), -EINVAL, "malformed", {0}},
	{"bad key", LIT("num heads=4"), -EINVAL, "malformed", {0}},
	{"control bytes quoted", LIT("framebuffer=\x01\xff"), -EINVAL, "bad value '?" "?' for framebuffer", {0}},
};

static void test_nv_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(nv_cases); i++) {
		const struct nv_case *c = &nv_cases[i];
		struct carve_error err = {0};
		struct carve_nv_desc d;
		memset(&d, 0xa5, sizeof(d));
		int r = carve_nv_desc_parse(c->text, c->len, "test/description", &d, &err);
		print_message("nv: %s -> %d %s\n", c->what, r, err.message);
		assert_int_equal(r, c->rc);
		if (c->rc < 0) {
			assert_int_equal(err.code, c->rc);
			assert_non_null(strstr(err.message, "test/description"));
			assert_non_null(strstr(err.message, c->msg));
			/* Nothing half-parsed survives an error. */
			struct carve_nv_desc zero = {0};
			assert_memory_equal(&d, &zero, sizeof(d));
			continue;
		}
		assert_int_equal(err.code, 0);
		assert_int_equal(d.num_heads, c->want.num_heads);
		assert_int_equal(d.frl_config, c->want.frl_config);
		assert_int_equal(d.max_instance, c->want.max_instance);
		assert_int_equal(d.framebuffer_mib, c->want.framebuffer_mib);
		assert_int_equal(d.max_res_x, c->want.max_res_x);
		assert_int_equal(d.max_res_y, c->want.max_res_y);
		assert_int_equal(d.have, c->want.have);
	}
}

static void test_nv_origin_default(void **state)
{
	(void)state;
	struct carve_error err = {0};
	struct carve_nv_desc d;
	assert_int_equal(carve_nv_desc_parse(LIT("num_heads=x"), NULL, &d, &err), -EINVAL);
	assert_non_null(strstr(err.message, "(input)"));
	/* A NULL error pointer is accepted. */
	assert_int_equal(carve_nv_desc_parse(LIT("num_heads=x"), "o", &d, NULL), -EINVAL);
	assert_int_equal(carve_nv_desc_parse(NULL, 5, "o", &d, NULL), -EINVAL);
}

static void test_nv_long_value_quoted(void **state)
{
	(void)state;
	char buf[4096 + 16];
	memcpy(buf, "framebuffer=", 12);
	memset(buf + 12, 'A', 4096);
	struct carve_error err = {0};
	struct carve_nv_desc d;
	assert_int_equal(carve_nv_desc_parse(buf, 12 + 4096, "o", &d, &err), -EINVAL);
	assert_non_null(strstr(err.message, "AAA...'"));
	assert_true(strlen(err.message) < 200);
}

struct gvt_case {
	const char *what;
	const char *text;
	size_t len;
	int rc;
	const char *msg;
	struct carve_gvt_desc want;
};

static const struct gvt_case gvt_cases[] = {
	{"i915 sysfs _4", LIT("low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n"), 0,
	 NULL, {128, 512, 4, 4, 1920, 1200}},
	{"mdevctl joined _8", LIT("low_gm_size: 64MB, high_gm_size: 384MB, fence: 4, resolution: 1024x768, weight: 2"), 0,
	 NULL, {64, 384, 4, 2, 1024, 768}},
	{"old kernel, no weight", LIT("low_gm_size: 512MB\nhigh_gm_size: 2048MB\nfence: 4\nresolution: 1920x1200\n"), 0,
	 NULL, {512, 2048, 4, 0, 1920, 1200}},
	{"CRLF, blank lines, other units", LIT("\r\nlow_gm_size:256M\r\n\r\nhigh_gm_size : 1GB\r\nfence:4\r\nresolution:1920x1200\r\n"),
	 0, NULL, {256, 1024, 4, 0, 1920, 1200}},
	{"unknown key", LIT("low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\ncolour: blue\n"), 0,
	 NULL, {64, 384, 4, 0, 1024, 768}},
	{"trailing NUL", LIT("low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\n\0"), 0, NULL,
	 {64, 384, 4, 0, 1024, 768}},

	{"missing fence", LIT("low_gm_size: 64MB\nhigh_gm_size: 384MB\nresolution: 1024x768\n"), -EINVAL, "missing fence",
	 {0}},
	{"empty", "", 0, -EINVAL, "missing low_gm_size", {0}},
	{"no unit", LIT("low_gm_size: 128\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\n"), -EINVAL,
	 "bad value '128' for low_gm_size", {0}},
	{"KB unit", LIT("low_gm_size: 128KB\n"), -EINVAL, "low_gm_size", {0}},
	{"bad fence", LIT("fence: four\n"), -EINVAL, "bad value 'four' for fence", {0}},
	{"bad resolution", LIT("resolution: big\n"), -EINVAL, "resolution", {0}},
	{"fence overflow", LIT("fence: 4294967296\n"), -ERANGE, "fence", {0}},
	{"size overflow", LIT("high_gm_size: 99999999999999999999MB\n"), -ERANGE, "high_gm_size", {0}},
	{"duplicate", LIT("fence: 4\nfence: 4\n"), -EINVAL, "fence given twice", {0}},
	{"garbage line", LIT("low_gm_size: 64MB\nhello world\n"), -EINVAL, "malformed entry 'hello world'", {0}},
	{"equals instead of colon", LIT("fence=4\n"), -EINVAL, "malformed", {0}},
	{"embedded NUL", LIT("low_gm_size: 64MB\0\nhigh_gm_size: 384MB\n"), -EINVAL, "NUL", {0}},
};

static void test_gvt_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(gvt_cases); i++) {
		const struct gvt_case *c = &gvt_cases[i];
		struct carve_error err = {0};
		struct carve_gvt_desc d;
		memset(&d, 0xa5, sizeof(d));
		int r = carve_gvt_desc_parse(c->text, c->len, "gvt/description", &d, &err);
		print_message("gvt: %s -> %d %s\n", c->what, r, err.message);
		assert_int_equal(r, c->rc);
		if (c->rc < 0) {
			assert_non_null(strstr(err.message, "gvt/description"));
			assert_non_null(strstr(err.message, c->msg));
			continue;
		}
		assert_int_equal(d.low_gm_mib, c->want.low_gm_mib);
		assert_int_equal(d.high_gm_mib, c->want.high_gm_mib);
		assert_int_equal(d.fence, c->want.fence);
		assert_int_equal(d.weight, c->want.weight);
		assert_int_equal(d.res_x, c->want.res_x);
		assert_int_equal(d.res_y, c->want.res_y);
	}
}

/* --- SR-IOV creatable_vgpu_types --- */

static const char l40s_list[] = "ID    : vGPU Name\n"
				"1145  : NVIDIA L40S-1B\n"
				"1146  : NVIDIA L40S-2B\n"
				"1147  : NVIDIA L40S-1Q\n"
				"1155  : NVIDIA L40S-24Q\n"
				"2164  : NVIDIA L40S-3B\n";

struct sriov_case {
	const char *what;
	const char *text;
	size_t len;
	int rc;
	const char *msg;
	size_t n;
	uint32_t first_id, last_id;
	const char *first_name, *last_name;
};

static const struct sriov_case sriov_cases[] = {
	{"with header", LIT(l40s_list), 0, NULL, 5, 1145, 2164, "NVIDIA L40S-1B", "NVIDIA L40S-3B"},
	{"without header", LIT("1155  : NVIDIA L40S-24Q\n1156 : NVIDIA L40S-48Q"), 0, NULL, 2, 1155, 1156,
	 "NVIDIA L40S-24Q", "NVIDIA L40S-48Q"},
	{"blank lines, CRLF, padding", LIT("\n  ID    : vGPU Name\r\n\r\n   1155:NVIDIA L40S-24Q   \r\n\n\n"), 0, NULL, 1,
	 1155, 1155, "NVIDIA L40S-24Q", "NVIDIA L40S-24Q"},
	{"colon in name", LIT("7 : a:b"), 0, NULL, 1, 7, 7, "a:b", "a:b"},
	{"empty", "", 0, 0, NULL, 0, 0, 0, NULL, NULL},
	{"NULL", NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
	{"header only", LIT("ID    : vGPU Name\n"), 0, NULL, 0, 0, 0, NULL, NULL},
	{"trailing NUL", LIT("1 : x\n\0"), 0, NULL, 1, 1, 1, "x", "x"},
	{"unterminated", "1 : x\n2 : yyyyy", 11, 0, NULL, 2, 1, 2, "x", "y"},

	{"garbage line", LIT("ID : vGPU Name\n1145 : NVIDIA L40S-1B\nhello world\n"), -EINVAL, ":3: expected", 0},
	{"header not first", LIT("1145 : a\nID : vGPU Name\n"), -EINVAL, ":2: bad type id 'ID'", 0},
	{"letters in id", LIT("11a5 : x"), -EINVAL, "bad type id '11a5'", 0},
	{"negative id", LIT("-1 : x"), -EINVAL, "bad type id", 0},
	{"id zero", LIT("0 : x"), -EINVAL, "bad type id '0'", 0},
	{"missing id", LIT(" : x"), -EINVAL, "bad type id ''", 0},
	{"id overflow", LIT("4294967296 : x"), -ERANGE, "out of range", 0},
	{"empty name", LIT("1155 :   "), -EINVAL, "bad type name", 0},
	{"control byte in name", LIT("1155 : NVIDIA\tL40S"), -EINVAL, "bad type name", 0},
	{"non-ASCII name", LIT("1155 : NVIDIA \xc3\xa9"), -EINVAL, "bad type name", 0},
	{"duplicate id", LIT("1 : a\n1 : b\n"), -EINVAL, "listed twice", 0},
	{"embedded NUL", LIT("1 : a\0b\n"), -EINVAL, "NUL", 0},
};

static void test_sriov_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sriov_cases); i++) {
		const struct sriov_case *c = &sriov_cases[i];
		struct carve_error err = {0};
		_cleanup_free_ struct carve_sriov_entry *v = NULL;
		size_t n = 99;
		int r = carve_sriov_creatable_parse(c->text, c->len, "vf/creatable_vgpu_types", &v, &n, &err);
		print_message("sriov: %s -> %d %s\n", c->what, r, err.message);
		assert_int_equal(r, c->rc);
		if (c->rc < 0) {
			assert_null(v);
			assert_int_equal(n, 0);
			assert_non_null(strstr(err.message, "vf/creatable_vgpu_types"));
			assert_non_null(strstr(err.message, c->msg));
			continue;
		}
		assert_int_equal(n, c->n);
		if (n == 0) {
			assert_null(v);
			continue;
		}
		assert_int_equal(v[0].id, c->first_id);
		assert_string_equal(v[0].name, c->first_name);
		assert_int_equal(v[n - 1].id, c->last_id);
		assert_string_equal(v[n - 1].name, c->last_name);
	}
}

static void test_sriov_name_length(void **state)
{
	(void)state;
	char buf[256];
	_cleanup_free_ struct carve_sriov_entry *v = NULL;
	size_t n;
	struct carve_error err = {0};

	/* 127 bytes fit (with the NUL) ... */
	int len = snprintf(buf, sizeof(buf), "42 : %s", "");
	memset(buf + len, 'N', 127);
	assert_int_equal(carve_sriov_creatable_parse(buf, (size_t)len + 127, "o", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(v[0].name), 127);
	/* ... 128 do not. */
	free(TAKE_PTR(v));
	memset(buf + len, 'N', 128);
	assert_int_equal(carve_sriov_creatable_parse(buf, (size_t)len + 128, "o", &v, &n, &err), -EINVAL);
	assert_non_null(strstr(err.message, "longer than 127"));
}

static char *numbered_list(size_t count, size_t *len)
{
	char *buf = malloc(count * 24 + 32);
	assert_non_null(buf);
	size_t o = (size_t)sprintf(buf, "ID    : vGPU Name\n");
	for (size_t i = 1; i <= count; i++)
		o += (size_t)sprintf(buf + o, "%zu : T-%zu\n", i, i);
	*len = o;
	return buf;
}

static void test_sriov_max_entries(void **state)
{
	(void)state;
	size_t len, n;
	struct carve_error err = {0};
	_cleanup_free_ char *ok = numbered_list(1024, &len);
	_cleanup_free_ struct carve_sriov_entry *v = NULL;
	assert_int_equal(carve_sriov_creatable_parse(ok, len, "o", &v, &n, &err), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(v[1023].id, 1024);
	assert_string_equal(v[1023].name, "T-1024");

	_cleanup_free_ char *big = numbered_list(1025, &len);
	_cleanup_free_ struct carve_sriov_entry *w = NULL;
	assert_int_equal(carve_sriov_creatable_parse(big, len, "o", &w, &n, &err), -ERANGE);
	assert_null(w);
	assert_non_null(strstr(err.message, "more than 1024"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nv_table),
		cmocka_unit_test(test_nv_origin_default),
		cmocka_unit_test(test_nv_long_value_quoted),
		cmocka_unit_test(test_gvt_table),
		cmocka_unit_test(test_sriov_table),
		cmocka_unit_test(test_sriov_name_length),
		cmocka_unit_test(test_sriov_max_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
