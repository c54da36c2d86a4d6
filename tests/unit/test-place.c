/* Placement rules as pure functions: capacity per type, the ranked reasons,
 * depth-first packing, breadth-first spreading, NUMA preference, exclusion of
 * PGPUs already used by the same VM, and mixed-size compatibility. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "place/p2p.h"
#include "place/place.h"

static struct carve_place_type mk_type(const char *uuid, uint32_t max, const char *board, const char *series)
{
	struct carve_place_type t = {0};
	snprintf(t.uuid, sizeof(t.uuid), "%s", uuid);
	t.size = carve_type_size(max);
	t.max_instances = max;
	snprintf(t.board, sizeof(t.board), "%s", board);
	snprintf(t.implementation, sizeof(t.implementation), "nvidia-mdev");
	snprintf(t.series, sizeof(t.series), "%s", series);
	return t;
}

#define MAXP 8
struct world {
	struct carve_place_type types[8];
	size_t n_types;
	struct carve_place_pgpu p[MAXP];
	struct carve_place_slot slots[MAXP][8];
	const struct carve_place_type *used[MAXP][64];
};

static void add_pgpu(struct world *w, size_t i, const char *pci, int numa)
{
	struct carve_place_pgpu *p = &w->p[i];
	memset(p, 0, sizeof(*p));
	snprintf(p->uuid, sizeof(p->uuid), "pgpu-%zu", i);
	snprintf(p->pci, sizeof(p->pci), "%s", pci);
	p->numa_node = numa;
	p->present = true;
	p->size = CARVE_PGPU_SIZE;
	p->slots = w->slots[i];
	p->used = w->used[i];
	for (size_t t = 0; t < w->n_types; t++) {
		p->slots[t].type = &w->types[t];
		p->slots[t].enabled = true;
	}
	p->n_slots = w->n_types;
}

static void put(struct carve_place_pgpu *p, const struct carve_place_type *t)
{
	p->used[p->n_used++] = t;
}

/* K2 (seed 000): k200 -> 8, k240q -> 4, k260q -> 2, k280q -> 1 per PGPU. */
static void test_k2_capacity(void **state)
{
	(void)state;
	static const struct {
		const char *type;
		uint32_t max;
		int64_t expect;
	} table[] = {{"k200", 8, 8}, {"k220q", 8, 8}, {"k240q", 4, 4}, {"k260q", 2, 2}, {"k280q", 1, 1}};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct world w = {0};
		w.types[w.n_types++] = mk_type(table[i].type, table[i].max, "K2", "Q");
		add_pgpu(&w, 0, "0000:06:00.0", 0);
		enum carve_place_reason why;
		assert_int_equal(carve_place_capacity(&w.p[0], &w.types[0], &why), table[i].expect);
		assert_int_equal(why, CARVE_PLACE_OK);
		for (int64_t k = 0; k < table[i].expect; k++)
			put(&w.p[0], &w.types[0]);
		assert_int_equal(carve_place_capacity(&w.p[0], &w.types[0], &why), 0);
		assert_int_equal(why, CARVE_PLACE_NO_CAPACITY);
	}
}

/* P40: 24 x 1Q, 12 x 2Q, 1 x 24Q; every 1Q uses 1/24 of the GPU. */
static void test_p40_partial(void **state)
{
	(void)state;
	struct world w = {0};
	w.types[w.n_types++] = mk_type("p40-1q", 24, "P40", "Q");
	add_pgpu(&w, 0, "0000:82:00.0", 0);
	for (int i = 0; i < 5; i++)
		put(&w.p[0], &w.types[0]);
	assert_int_equal(carve_place_capacity(&w.p[0], &w.types[0], NULL), 19);
}

static void test_ranked_reasons(void **state)
{
	(void)state;
	struct world w = {0};
	w.types[w.n_types++] = mk_type("k240q", 4, "K2", "Q");
	w.types[w.n_types++] = mk_type("k260q", 2, "K2", "Q");
	add_pgpu(&w, 0, "0000:06:00.0", 0); /* runs k260q: incompatible for k240q */
	add_pgpu(&w, 1, "0000:07:00.0", 0); /* k240q disabled */
	add_pgpu(&w, 2, "0000:08:00.0", 0); /* k240q unsupported */
	put(&w.p[0], &w.types[1]);
	w.p[1].slots[0].enabled = false;
	w.p[2].n_slots = 1;
	w.p[2].slots[0].type = &w.types[1];

	enum carve_place_reason why;
	struct carve_place_request req = {.type = &w.types[0], .algo = CARVE_PLACE_DEPTH_FIRST, .numa_node = -1};
	assert_int_equal(carve_place_choose(w.p, 3, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_INCOMPATIBLE);
	assert_string_equal(carve_place_reason_id(why), "VGPU_TYPE_NOT_COMPATIBLE_WITH_RUNNING_TYPE");
	/* now fill PGPU 0's own type: insufficient capacity outranks the rest */
	put(&w.p[0], &w.types[1]);
	req.type = &w.types[1];
	w.p[1].slots[1].enabled = false;
	assert_int_equal(carve_place_choose(w.p, 2, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_NO_CAPACITY);
	/* only disabled / unsupported: not enabled wins */
	req.type = &w.types[0];
	assert_int_equal(carve_place_choose(w.p + 1, 2, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_NOT_ENABLED);
	assert_int_equal(carve_place_choose(w.p + 2, 1, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_NOT_SUPPORTED);
}

/* Depth-first fills the fullest PGPU first; breadth-first spreads. */
static void test_depth_breadth(void **state)
{
	(void)state;
	struct world w = {0};
	w.types[w.n_types++] = mk_type("k100", 8, "K1", "");
	for (size_t i = 0; i < 4; i++) {
		char pci[13];
		snprintf(pci, sizeof(pci), "0000:%02zx:00.0", 6 + i);
		add_pgpu(&w, i, pci, 0);
	}
	struct carve_place_request req = {.type = &w.types[0], .algo = CARVE_PLACE_DEPTH_FIRST, .numa_node = -1};
	/* depth-first: 8 on PGPU 0, then PGPU 1 */
	for (int k = 0; k < 10; k++) {
		ssize_t i = carve_place_choose(w.p, 4, &req, NULL);
		assert_int_equal(i, k < 8 ? 0 : 1);
		put(&w.p[i], &w.types[0]);
	}
	/* breadth-first from here: the emptiest ones, in PCI order */
	req.algo = CARVE_PLACE_BREADTH_FIRST;
	ssize_t order[4];
	for (int k = 0; k < 4; k++) {
		order[k] = carve_place_choose(w.p, 4, &req, NULL);
		put(&w.p[order[k]], &w.types[0]);
	}
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 3);
	/* 64 fit on a K1 in total (seed 000) */
	size_t placed = 14;
	while (carve_place_choose(w.p, 4, &req, NULL) >= 0) {
		put(&w.p[carve_place_choose(w.p, 4, &req, NULL)], &w.types[0]);
		placed++;
	}
	assert_int_equal(placed, 32); /* 4 PGPUs x 8 */
}

static void test_numa_and_exclude(void **state)
{
	(void)state;
	struct world w = {0};
	w.types[w.n_types++] = mk_type("v100-16q", 1, "V100", "Q");
	add_pgpu(&w, 0, "0000:1a:00.0", 0);
	add_pgpu(&w, 1, "0000:3b:00.0", 0);
	add_pgpu(&w, 2, "0000:88:00.0", 1);
	add_pgpu(&w, 3, "0000:b1:00.0", 1);
	struct carve_place_request req = {.type = &w.types[0], .algo = CARVE_PLACE_DEPTH_FIRST, .numa_node = 1};
	assert_int_equal(carve_place_choose(w.p, 4, &req, NULL), 2);
	req.numa_node = -1;
	assert_int_equal(carve_place_choose(w.p, 4, &req, NULL), 0);
	const char *excl[] = {"pgpu-0", "pgpu-1", NULL};
	req.exclude = excl;
	assert_int_equal(carve_place_choose(w.p, 4, &req, NULL), 2);
	const char *all[] = {"pgpu-0", "pgpu-1", "pgpu-2", "pgpu-3", NULL};
	enum carve_place_reason why;
	req.exclude = all;
	assert_int_equal(carve_place_choose(w.p, 4, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_NO_CAPACITY);
}

static void test_mixed_and_passthrough(void **state)
{
	(void)state;
	struct world w = {0};
	w.types[w.n_types++] = mk_type("l40s-4q", 12, "L40S", "Q");
	w.types[w.n_types++] = mk_type("l40s-8q", 6, "L40S", "Q");
	w.types[w.n_types++] = mk_type("l40s-4a", 12, "L40S", "A");
	w.types[w.n_types++] = mk_type("passthrough", 1, "", "");
	w.types[3].passthrough = true;
	add_pgpu(&w, 0, "0000:41:00.0", 0);
	put(&w.p[0], &w.types[0]);
	assert_int_equal(carve_place_capacity(&w.p[0], &w.types[1], NULL), 0); /* homogeneous */
	w.p[0].mixed_size = true;
	/* 1 x 4Q (1/12) used: 8Q (1/6) fits 5 more */
	assert_int_equal(carve_place_capacity(&w.p[0], &w.types[1], NULL), 5);
	enum carve_place_reason why;
	assert_int_equal(carve_place_capacity(&w.p[0], &w.types[2], &why), 0); /* other series */
	assert_int_equal(why, CARVE_PLACE_INCOMPATIBLE);
	assert_int_equal(carve_place_capacity(&w.p[0], &w.types[3], &why), 0);
	assert_int_equal(why, CARVE_PLACE_INCOMPATIBLE);
	add_pgpu(&w, 1, "0000:42:00.0", 0);
	assert_int_equal(carve_place_capacity(&w.p[1], &w.types[3], NULL), 1);
	put(&w.p[1], &w.types[3]);
	assert_int_equal(carve_place_capacity(&w.p[1], &w.types[3], &why), 0);
	assert_int_equal(carve_place_capacity(&w.p[1], &w.types[0], &why), 0);
	assert_int_equal(why, CARVE_PLACE_INCOMPATIBLE);
}

/* Seed 003's DGX-1V `nvidia-smi topo -m` (examples/hosts/dgx8.yaml). */
static const char *const dgx1v[8] = {
	"X NV1 NV1 NV2 NV2 SYS SYS SYS", "NV1 X NV2 NV1 SYS NV2 SYS SYS", "NV1 NV2 X NV2 SYS SYS NV1 SYS",
	"NV2 NV1 NV2 X SYS SYS SYS NV1", "NV2 SYS SYS SYS X NV1 NV1 NV2", "SYS NV2 SYS SYS NV1 X NV2 NV1",
	"SYS SYS NV1 SYS NV1 NV2 X NV2", "SYS SYS SYS NV1 NV2 NV1 NV2 X",
};

/* The graph of the DGX-1V's GPUs listed in gpus[0..n) (those free). */
static void dgx_graph(struct carve_p2p_graph *g, const size_t *gpus, size_t n)
{
	memset(g, 0, sizeof(*g));
	g->n = n;
	for (size_t i = 0; i < n; i++) {
		g->numa[i] = gpus[i] < 4 ? 0 : 1;
		for (size_t j = 0; j < n; j++) {
			char row[64];
			snprintf(row, sizeof(row), "%s", dgx1v[gpus[i]]);
			char *tok = strtok(row, " ");
			for (size_t k = 0; k < gpus[j]; k++)
				tok = strtok(NULL, " ");
			g->links[i][j] = tok[0] == 'N' && tok[1] == 'V' ? (uint8_t)(tok[2] - '0') : 0;
		}
	}
}

static void test_p2p_dgx1v(void **state)
{
	(void)state;
	struct carve_p2p_graph g;
	size_t out[8];
	unsigned total;
	size_t all[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	dgx_graph(&g, all, 8);
	/* four: each quad is fully connected with 9 links; the first by index,
	 * or the one on the VM's node */
	assert_true(carve_p2p_choose(&g, 4, -1, out, &total));
	assert_int_equal(total, 9);
	assert_int_equal(out[0], 0), assert_int_equal(out[1], 1), assert_int_equal(out[2], 2), assert_int_equal(out[3], 3);
	assert_true(carve_p2p_choose(&g, 4, 1, out, NULL));
	assert_int_equal(out[0], 4), assert_int_equal(out[3], 7);
	/* two: an NV2 pair beats an NV1 pair; on one node before across */
	assert_true(carve_p2p_choose(&g, 2, -1, out, &total));
	assert_int_equal(total, 2);
	assert_int_equal(out[0], 0), assert_int_equal(out[1], 3);
	assert_true(carve_p2p_choose(&g, 2, 1, out, &total));
	assert_int_equal(total, 2);
	assert_int_equal(out[0], 4), assert_int_equal(out[1], 7);
	/* GPU0 taken: the PCI-order choice 1,2,3,4 is not connected (1-4 SYS);
	 * the connected quad is 4..7 */
	size_t free7[7] = {1, 2, 3, 4, 5, 6, 7};
	dgx_graph(&g, free7, 7);
	assert_true(carve_p2p_choose(&g, 4, 0, out, NULL));
	assert_int_equal(free7[out[0]], 4), assert_int_equal(free7[out[3]], 7);
	/* no connected set: 0, 5, 6 (0-5 and 0-6 are SYS); five of eight */
	size_t apart[3] = {0, 5, 6};
	dgx_graph(&g, apart, 3);
	assert_false(carve_p2p_choose(&g, 3, -1, out, NULL));
	assert_true(carve_p2p_choose(&g, 2, -1, out, NULL)); /* 5-6 */
	assert_int_equal(apart[out[0]], 5), assert_int_equal(apart[out[1]], 6);
	dgx_graph(&g, all, 8);
	assert_false(carve_p2p_choose(&g, 5, -1, out, NULL));
	assert_false(carve_p2p_choose(&g, 0, -1, out, NULL));
	assert_false(carve_p2p_choose(&g, 9, -1, out, NULL));
}

/* A fabric where every GPU reaches every other stays bounded and correct. */
static void test_p2p_full_fabric(void **state)
{
	(void)state;
	struct carve_p2p_graph g = {.n = CARVE_P2P_MAX_CANDIDATES};
	for (size_t i = 0; i < g.n; i++)
		for (size_t j = 0; j < g.n; j++)
			g.links[i][j] = i == j ? 0 : 12;
	size_t out[16];
	assert_true(carve_p2p_choose(&g, 16, -1, out, NULL));
	for (size_t i = 0; i < 16; i++)
		for (size_t j = i + 1; j < 16; j++)
			assert_true(g.links[out[i]][out[j]] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k2_capacity),     cmocka_unit_test(test_p40_partial),
		cmocka_unit_test(test_ranked_reasons),  cmocka_unit_test(test_depth_breadth),
		cmocka_unit_test(test_numa_and_exclude), cmocka_unit_test(test_mixed_and_passthrough),
		cmocka_unit_test(test_p2p_dgx1v),       cmocka_unit_test(test_p2p_full_fabric),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
