/* Unit tests for src/model/catalog.c and the tables scripts/csv2c.py
 * generates from data/: known boards and types from the seeds, lookups, and
 * consistency rules every row must keep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/catalog.h"
#include "util/str.h"

static void test_p40(void **state)
{
	(void)state;
	const struct carve_board *b = carve_board_by_ids(0x10de, 0x1b38);
	assert_non_null(b);
	assert_string_equal(b->name, "Tesla P40");
	assert_string_equal(b->short_name, "P40");
	assert_int_equal(b->mechanism, CARVE_IMPL_NVIDIA_MDEV);
	assert_false(b->sriov);
	assert_false(b->mixed_size);
	assert_int_equal(b->fb_mib_per_gpu, 24 * 1024);

	const struct carve_type_entry *const *types = NULL;
	assert_int_equal(carve_catalog_types("P40", &types), 25);
	assert_non_null(types);
	/* Table (CSV) order. */
	assert_string_equal(types[0]->type_id, "nvidia-46");

	const struct carve_type_entry *t = carve_catalog_type("P40", "nvidia-46");
	assert_non_null(t);
	assert_ptr_equal(t, types[0]);
	assert_string_equal(t->name, "GRID P40-1Q");
	assert_string_equal(t->board, "P40");
	assert_int_equal(t->max_instance, 24);
	assert_int_equal(t->framebuffer_mib, 1024);
	assert_int_equal(t->num_heads, 4);
	assert_int_equal(t->max_res_x, 5120);
	assert_int_equal(t->max_res_y, 2880);
	assert_int_equal(t->frl_config, 60);
	assert_int_equal(t->series, 'Q');
	assert_true(t->cuda);
	assert_false(t->multi_vgpu);
	assert_ptr_equal(carve_catalog_type_by_name("GRID P40-1Q"), t);
	assert_ptr_equal(carve_catalog_type_by_name("grid p40-1q"), t);

	/* The type id belongs to its board only. */
	assert_null(carve_catalog_type("P4", "nvidia-46"));
	assert_null(carve_catalog_type("P40", "nvidia-999"));
}

static void test_kepler(void **state)
{
	(void)state;
	const struct carve_type_entry *t = carve_catalog_type("K2", "k240q");
	assert_non_null(t);
	assert_string_equal(t->name, "GRID K240Q");
	assert_int_equal(t->max_instance, 4);
	assert_int_equal(t->framebuffer_mib, 1024);
	const struct carve_type_entry *k100 = carve_catalog_type("K1", "k100");
	assert_non_null(k100);
	assert_int_equal(k100->series, 0);

	const struct carve_board *k1 = carve_board_by_name("GRID K1");
	assert_non_null(k1);
	assert_int_equal(k1->mechanism, CARVE_IMPL_NVIDIA_MDEV); /* "xen-only", modelled as mdev */
	assert_int_equal(k1->gpus_per_board, 4);
	assert_int_equal(carve_catalog_types("K1", NULL), 5);
}

static void test_board_lookup(void **state)
{
	(void)state;
	const struct carve_board *m10 = carve_board_by_name("Tesla M10");
	assert_non_null(m10);
	assert_int_equal(m10->gpus_per_board, 4);
	assert_ptr_equal(carve_board_by_name("m10"), m10);
	assert_ptr_equal(carve_board_by_ids(0x10de, 0x13bd), m10);

	assert_string_equal(carve_board_by_name("NVIDIA A100 PCIe 40GB")->short_name, "A100");
	assert_string_equal(carve_board_by_name("Tesla V100 PCIe 16GB")->short_name, "V100");
	assert_string_equal(carve_board_by_name("Intel HD Graphics 630")->short_name, "HD630");
	assert_string_equal(carve_board_by_ids(0x102b, 0x0536)->short_name, "G200eW3");
	assert_string_equal(carve_board_by_ids(0x1a03, 0x2000)->short_name, "AST2500");
	assert_int_equal(carve_board_by_ids(0x1a03, 0x2000)->mechanism, CARVE_IMPL_PASSTHROUGH);

	assert_null(carve_board_by_ids(0x10de, 0xffff));
	assert_null(carve_board_by_ids(0x1002, 0x1b38)); /* vendor matters */
	assert_null(carve_board_by_name("Tesla P41"));
	assert_null(carve_board_by_name(NULL));
	assert_null(carve_board_by_vf_ids(0x10de, 0));
	assert_null(carve_board_at(carve_board_count()));
	assert_int_equal(carve_catalog_types("NOPE", NULL), 0);
	assert_int_equal(carve_catalog_types(NULL, NULL), 0);
	assert_null(carve_catalog_type(NULL, "x"));
	assert_null(carve_catalog_type("P40", NULL));
	assert_null(carve_catalog_type_by_name(NULL));
	assert_null(carve_catalog_type_by_name("GRID P40-1Q "));
}

static void test_sriov_boards(void **state)
{
	(void)state;
	const struct carve_board *l40s = carve_board_by_ids(0x10de, 0x26b9);
	assert_non_null(l40s);
	assert_string_equal(l40s->short_name, "L40S");
	assert_int_equal(l40s->mechanism, CARVE_IMPL_NVIDIA_SRIOV);
	assert_true(l40s->sriov);
	assert_true(l40s->mixed_size);
	/* Ids as creatable_vgpu_types prints them on a real host. */
	const struct carve_type_entry *t = carve_catalog_type("L40S", "1155");
	assert_non_null(t);
	assert_string_equal(t->name, "NVIDIA L40S-24Q");
	assert_int_equal(t->max_instance, 2);
	t = carve_catalog_type_by_name("NVIDIA L40S-1B");
	assert_non_null(t);
	assert_string_equal(t->type_id, "1145");
	assert_int_equal(t->frl_config, 45);
	assert_non_null(carve_catalog_type_by_name("NVIDIA L40S-48C"));
	assert_true(carve_catalog_type_by_name("NVIDIA L40S-48Q")->multi_vgpu);

	const struct carve_board *h100 = carve_board_by_name("NVIDIA H100 PCIe");
	assert_non_null(h100);
	assert_int_equal(h100->mechanism, CARVE_IMPL_NVIDIA_SRIOV);
	const struct carve_type_entry *const *types;
	size_t n = carve_catalog_types("H100", &types);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(types[i]->series, 'C'); /* C-series only */
	t = carve_catalog_type_by_name("NVIDIA H100-80C");
	assert_non_null(t);
	assert_int_equal(t->framebuffer_mib, 80 * 1024);

	/* Ampere SR-IOV boards: mdev on VFs, mixed-size capable. */
	const struct carve_board *a16 = carve_board_by_name("A16");
	assert_int_equal(a16->mechanism, CARVE_IMPL_NVIDIA_MDEV);
	assert_true(a16->sriov);
	assert_true(a16->mixed_size);
	assert_int_equal(carve_catalog_type("A100", "nvidia-474")->mig_slices, 1);
}

static void test_amd(void **state)
{
	(void)state;
	const struct carve_board *b = carve_board_by_vf_ids(0x1002, 0x692f);
	assert_non_null(b);
	assert_string_equal(b->short_name, "S7150");
	assert_ptr_equal(carve_board_by_ids(0x1002, 0x6929), b);
	assert_int_equal(b->mechanism, CARVE_IMPL_AMD_MXGPU);
	assert_true(b->sriov);
	assert_false(b->mixed_size);
	assert_int_equal(carve_catalog_types("S7150", NULL), 5);
	const struct carve_type_entry *t = carve_catalog_type("S7150", "s7150-4");
	assert_non_null(t);
	assert_int_equal(t->max_instance, 4);
	assert_int_equal(t->framebuffer_mib, 2048);
}

static void test_gvt(void **state)
{
	(void)state;
	const struct carve_board *b = carve_board_by_ids(0x8086, 0x5912);
	assert_non_null(b);
	assert_int_equal(b->mechanism, CARVE_IMPL_GVT_G);
	assert_true(b->mixed_size);
	assert_int_equal(carve_catalog_types("HD630", NULL), 4);
	const struct carve_type_entry *t = carve_catalog_type("HD630", "i915-GVTg_V5_4");
	assert_non_null(t);
	assert_int_equal(t->low_gm_mib, 128);
	assert_int_equal(t->high_gm_mib, 512);
	assert_int_equal(t->fence, 4);
	assert_int_equal(t->weight, 4);
	assert_int_equal(t->framebuffer_mib, 128);
	assert_int_equal(t->max_res_x, 1920);
	t = carve_catalog_type("HD630", "i915-GVTg_V5_8");
	assert_int_equal(t->max_res_y, 768);
	assert_int_equal(t->weight, 2);
}

static void test_vendor_names(void **state)
{
	(void)state;
	assert_string_equal(carve_vendor_name(0x10de), "NVIDIA Corporation");
	assert_string_equal(carve_vendor_name(0x1002), "Advanced Micro Devices, Inc. [AMD/ATI]");
	assert_string_equal(carve_vendor_name(0x8086), "Intel Corporation");
	assert_string_equal(carve_vendor_name(0x102b), "Matrox Electronics Systems Ltd.");
	assert_string_equal(carve_vendor_name(0x1a03), "ASPEED Technology, Inc.");
	assert_string_equal(carve_vendor_name(0x1234), "Unknown");
}

/* Rules every row keeps, whatever data is added later. */
static void test_consistency(void **state)
{
	(void)state;
	size_t total = 0;
	assert_true(carve_board_count() >= 19);
	for (size_t i = 0; i < carve_board_count(); i++) {
		const struct carve_board *b = carve_board_at(i);
		assert_non_null(b);
		assert_ptr_equal(carve_board_by_ids(b->vendor_id, b->device_id), b);
		assert_ptr_equal(carve_board_by_name(b->short_name), b);
		assert_ptr_equal(carve_board_by_name(b->name), b);
		assert_true(b->gpus_per_board >= 1);
		assert_true((unsigned)b->mechanism < CARVE_IMPL__MAX);
		assert_string_not_equal(carve_vendor_name(b->vendor_id), "Unknown");

		const struct carve_type_entry *const *types;
		size_t n = carve_catalog_types(b->short_name, &types);
		total += n;
		for (size_t j = 0; j < n; j++) {
			const struct carve_type_entry *t = types[j];
			assert_string_equal(t->board, b->short_name);
			assert_true(carve_ident_valid(t->type_id)); /* used as a sysfs path component */
			assert_ptr_equal(carve_catalog_type(b->short_name, t->type_id), t);
			assert_ptr_equal(carve_catalog_type_by_name(t->name), t);
			assert_true(t->max_instance >= 1);
			assert_true(t->num_heads >= 1);
			assert_true(t->max_res_x > 0 && t->max_res_y > 0);
			/* Time-sliced types split the framebuffer: they must fit in it. */
			if (b->fb_mib_per_gpu && !t->mig_slices)
				assert_true((uint64_t)t->framebuffer_mib * t->max_instance <= b->fb_mib_per_gpu);
		}
	}
	assert_true(total >= 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p40),        cmocka_unit_test(test_kepler), cmocka_unit_test(test_board_lookup),
		cmocka_unit_test(test_sriov_boards), cmocka_unit_test(test_amd),  cmocka_unit_test(test_gvt),
		cmocka_unit_test(test_vendor_names), cmocka_unit_test(test_consistency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
