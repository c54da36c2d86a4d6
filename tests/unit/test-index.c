/* The placement index must answer EXACTLY what carve_place_choose() answers.
 *
 * A few hand-written cases pin the contract (NUMA tie, exclusion, reasons,
 * argument errors); the property test then builds random worlds - up to 200
 * PGPUs on NUMA nodes -1..3, random types (different max_instances, boards,
 * series, passthrough), partially supported / disabled / absent slots,
 * mixed-size PGPUs - and runs random place / remove / enable / present /
 * mixed-size sequences.  After every step, every index (each type x both
 * algorithms, updated incrementally) is asked random requests (NUMA
 * preference incl. -1 and a node with no PGPU, exclusion lists of 0..16 UUIDs,
 * sometimes up to 64, incl. unknown ones) and must agree with the linear scan on both the chosen
 * PGPU and the reason.
 *
 * Environment: CARVE_INDEX_SEED (default 1), CARVE_INDEX_WORLDS (default 150),
 * CARVE_INDEX_STEPS (default 200 per world) to run longer searches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "place/index.h"

/* splitmix64: tiny, seedable, good enough for test data. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static size_t rn(size_t n) { return n ? (size_t)(rnd() % n) : 0; }
static bool chance(unsigned pct) { return rn(100) < pct; }

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

#define MAXP 200
#define MAXT 6
#define MAXU 64

struct world {
	struct carve_place_type types[MAXT];
	size_t n_types;
	struct carve_place_pgpu p[MAXP];
	size_t n;
	struct carve_place_slot slots[MAXP][MAXT];
	const struct carve_place_type *used[MAXP][MAXU];
	struct carve_place_index *idx[MAXT][2];
};

static void world_free(struct world *w)
{
	for (size_t t = 0; t < MAXT; t++)
		for (int a = 0; a < 2; a++) {
			carve_place_index_free(w->idx[t][a]);
			w->idx[t][a] = NULL;
		}
}

static void mk_type(struct carve_place_type *t, const char *uuid, uint32_t max, const char *board,
		    const char *series)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->uuid, sizeof(t->uuid), "%s", uuid);
	t->size = carve_type_size(max);
	t->max_instances = max;
	snprintf(t->board, sizeof(t->board), "%s", board);
	snprintf(t->implementation, sizeof(t->implementation), "nvidia-mdev");
	snprintf(t->series, sizeof(t->series), "%s", series);
}

static void add_pgpu(struct world *w, const char *pci, int32_t numa)
{
	size_t i = w->n++;
	struct carve_place_pgpu *p = &w->p[i];
	memset(p, 0, sizeof(*p));
	snprintf(p->uuid, sizeof(p->uuid), "pgpu-%zu", i);
	snprintf(p->pci, sizeof(p->pci), "%s", pci);
	p->numa_node = numa;
	p->present = true;
	p->size = CARVE_PGPU_SIZE;
	p->slots = w->slots[i];
	p->used = w->used[i];
	for (size_t t = 0; t < w->n_types; t++)
		p->slots[p->n_slots++] = (struct carve_place_slot){.type = &w->types[t], .enabled = true};
}

static void build_all(struct world *w)
{
	for (size_t t = 0; t < w->n_types; t++)
		for (int a = 0; a < 2; a++)
			assert_int_equal(carve_place_index_new(w->p, w->n, &w->types[t], (enum carve_place_algo)a,
							       &w->idx[t][a]),
					 0);
}

static void update_all(struct world *w, size_t i)
{
	for (size_t t = 0; t < w->n_types; t++)
		for (int a = 0; a < 2; a++)
			assert_int_equal(carve_place_index_update(w->idx[t][a], i), 0);
}

static ssize_t ichoose(const struct world *w, size_t t, const struct carve_place_request *req,
		       enum carve_place_reason *why)
{
	ssize_t got = -2;
	assert_int_equal(carve_place_index_choose(w->idx[t][req->algo], req, &got, why), 0);
	return got;
}

/* ---- hand-written cases ------------------------------------------------ */

static void test_numa_tie_and_exclude(void **state)
{
	(void)state;
	static struct world w; /* large: keep it off the stack */
	memset(&w, 0, sizeof(w));
	mk_type(&w.types[w.n_types++], "v100-16q", 1, "V100", "Q");
	add_pgpu(&w, "0000:1a:00.0", 0);
	add_pgpu(&w, "0000:3b:00.0", 0);
	add_pgpu(&w, "0000:88:00.0", 1);
	add_pgpu(&w, "0000:b1:00.0", 1);
	build_all(&w);
	struct carve_place_request req = {.type = &w.types[0], .algo = CARVE_PLACE_DEPTH_FIRST, .numa_node = 1};
	assert_int_equal(ichoose(&w, 0, &req, NULL), 2);
	req.numa_node = -1;
	assert_int_equal(ichoose(&w, 0, &req, NULL), 0);
	req.numa_node = 7; /* no PGPU there: plain PCI order */
	assert_int_equal(ichoose(&w, 0, &req, NULL), 0);
	const char *excl[] = {"pgpu-0", "pgpu-1", NULL};
	req.exclude = excl;
	req.numa_node = 0;
	assert_int_equal(ichoose(&w, 0, &req, NULL), 2);
	const char *all[] = {"pgpu-0", "pgpu-1", "pgpu-2", "pgpu-3", NULL};
	enum carve_place_reason why;
	req.exclude = all;
	assert_int_equal(ichoose(&w, 0, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_NO_CAPACITY);
	/* fill node 1: the index must drop both from its heaps */
	req.exclude = NULL;
	req.numa_node = 1;
	w.p[2].used[w.p[2].n_used++] = &w.types[0];
	update_all(&w, 2);
	assert_int_equal(ichoose(&w, 0, &req, NULL), 3);
	w.p[3].used[w.p[3].n_used++] = &w.types[0];
	update_all(&w, 3);
	assert_int_equal(ichoose(&w, 0, &req, NULL), 0);
	assert_int_equal(carve_place_index_candidates(w.idx[0][0]), 2);
	assert_int_equal(carve_place_index_capacity(w.idx[0][0], 3), 0);
	assert_int_equal(carve_place_index_capacity(w.idx[0][0], 0), 1);
	world_free(&w);
}

/* Depth-first keeps filling the fullest PGPU; breadth-first prefers the
 * emptiest, and a NUMA-local PGPU only wins on equal capacity. */
static void test_depth_breadth_numa(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	mk_type(&w.types[w.n_types++], "p40-6q", 4, "P40", "Q");
	add_pgpu(&w, "0000:04:00.0", 0);
	add_pgpu(&w, "0000:05:00.0", 1);
	add_pgpu(&w, "0000:84:00.0", 1);
	build_all(&w);
	struct carve_place_request req = {.type = &w.types[0], .algo = CARVE_PLACE_DEPTH_FIRST, .numa_node = 1};
	assert_int_equal(ichoose(&w, 0, &req, NULL), 1); /* all 4 free: tie -> node 1, PCI first */
	w.p[0].used[w.p[0].n_used++] = &w.types[0];
	update_all(&w, 0);
	assert_int_equal(ichoose(&w, 0, &req, NULL), 0); /* least capacity beats NUMA */
	req.algo = CARVE_PLACE_BREADTH_FIRST;
	assert_int_equal(ichoose(&w, 0, &req, NULL), 1);
	req.numa_node = 0;
	assert_int_equal(ichoose(&w, 0, &req, NULL), 1); /* node 0 has less room: no tie */
	world_free(&w);
}

static void test_reasons_and_errors(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	mk_type(&w.types[w.n_types++], "k240q", 4, "K2", "Q");
	mk_type(&w.types[w.n_types++], "k260q", 2, "K2", "Q");
	add_pgpu(&w, "0000:06:00.0", 0);
	add_pgpu(&w, "0000:07:00.0", 0);
	w.p[0].used[w.p[0].n_used++] = &w.types[1];
	w.p[1].slots[0].enabled = false;
	build_all(&w);
	enum carve_place_reason why;
	struct carve_place_request req = {.type = &w.types[0], .algo = CARVE_PLACE_DEPTH_FIRST, .numa_node = -1};
	assert_int_equal(ichoose(&w, 0, &req, &why), -1);
	assert_int_equal(why, CARVE_PLACE_INCOMPATIBLE);
	w.p[0].n_used = 0;
	update_all(&w, 0);
	assert_int_equal(ichoose(&w, 0, &req, &why), 0);
	assert_int_equal(why, CARVE_PLACE_OK);

	ssize_t got;
	/* wrong type, wrong algorithm, out of range */
	req.type = &w.types[1];
	assert_int_equal(carve_place_index_choose(w.idx[0][0], &req, &got, NULL), -EINVAL);
	req.type = &w.types[0];
	req.algo = CARVE_PLACE_BREADTH_FIRST;
	assert_int_equal(carve_place_index_choose(w.idx[0][0], &req, &got, NULL), -EINVAL);
	assert_int_equal(carve_place_index_update(w.idx[0][0], 2), -EINVAL);
	assert_int_equal(carve_place_index_new(w.p, 2, NULL, CARVE_PLACE_DEPTH_FIRST, &w.idx[0][0]), -EINVAL);
	assert_int_equal(carve_place_index_new(w.p, 2, &w.types[0], (enum carve_place_algo)7, &w.idx[0][0]),
			 -EINVAL);

	/* empty group: like the linear scan, "not supported" */
	_cleanup_place_index_ struct carve_place_index *empty = NULL;
	assert_int_equal(carve_place_index_new(NULL, 0, &w.types[0], CARVE_PLACE_DEPTH_FIRST, &empty), 0);
	req.algo = CARVE_PLACE_DEPTH_FIRST;
	assert_int_equal(carve_place_index_choose(empty, &req, &got, &why), 0);
	assert_int_equal(got, -1);
	assert_int_equal(why, CARVE_PLACE_NOT_SUPPORTED);
	carve_place_index_free(NULL);
	world_free(&w);
}

/* ---- property test ----------------------------------------------------- */

static const uint32_t MAXES[] = {0, 1, 2, 3, 4, 6, 8, 12, 16, 24};

static void random_world(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->n_types = 1 + rn(MAXT);
	for (size_t t = 0; t < w->n_types; t++) {
		char uuid[37];
		snprintf(uuid, sizeof(uuid), "type-%zu", t);
		mk_type(&w->types[t], uuid, MAXES[rn(ARRAY_SIZE(MAXES))], chance(80) ? "B0" : "B1",
			chance(70) ? "Q" : "A");
		w->types[t].passthrough = chance(8);
	}
	size_t n = rn(MAXP + 1);
	size_t buses = 1 + rn(n * 2 + 1); /* small ranges force equal PCI strings */
	for (size_t i = 0; i < n; i++) {
		char pci[16];
		snprintf(pci, sizeof(pci), "0000:%02zx:%02zx.0", rn(buses) & 0xff, rn(buses) >> 8 & 0x1f);
		add_pgpu(w, pci, chance(6) ? -1 : (int32_t)rn(4));
		struct carve_place_pgpu *p = &w->p[i];
		if (chance(2) && i > 0) /* the same UUID twice: exclusion must skip both */
			snprintf(p->uuid, sizeof(p->uuid), "pgpu-%zu", rn(i));
		p->mixed_size = chance(30);
		p->present = !chance(3);
		/* a random subset of types, in random order */
		p->n_slots = 0;
		for (size_t t = 0; t < w->n_types; t++)
			if (!chance(15))
				p->slots[p->n_slots++] =
					(struct carve_place_slot){.type = &w->types[t], .enabled = !chance(10)};
		for (size_t k = p->n_slots; k > 1; k--) {
			size_t j = rn(k);
			struct carve_place_slot tmp = p->slots[k - 1];
			p->slots[k - 1] = p->slots[j];
			p->slots[j] = tmp;
		}
	}
}

struct stats {
	unsigned long worlds, steps, requests, placed, removed, toggled, none;
};

static void random_request(const struct world *w, size_t t, int algo, struct carve_place_request *req,
			   const char **ex)
{
	static const int32_t NUMA[] = {-1, -1, 0, 1, 2, 3, 9};
	req->type = &w->types[t];
	req->algo = (enum carve_place_algo)algo;
	req->numa_node = NUMA[rn(ARRAY_SIZE(NUMA))];
	req->exclude = NULL;
	if (chance(50) && w->n) {
		/* lists are short in practice (<= 16 vGPUs per VM); now and then a
		 * long one exercises the index's heap-allocated scratch path */
		size_t k = chance(4) ? 17 + rn(48) : rn(17);
		for (size_t j = 0; j < k; j++)
			ex[j] = chance(95) ? w->p[rn(w->n)].uuid : "no-such-pgpu";
		ex[k] = NULL;
		req->exclude = ex;
	}
}

static void check_step(struct world *w, struct stats *st, unsigned long world_no, unsigned long step)
{
	const char *ex[66];
	for (size_t t = 0; t < w->n_types; t++)
		for (int a = 0; a < 2; a++)
			for (int r = 0; r < 2; r++) {
				struct carve_place_request req;
				random_request(w, t, a, &req, ex);
				enum carve_place_reason lwhy = CARVE_PLACE_OK, iwhy = CARVE_PLACE_OK;
				ssize_t lin = carve_place_choose(w->p, w->n, &req, &lwhy);
				ssize_t got = ichoose(w, t, &req, &iwhy);
				if (lin != got || lwhy != iwhy)
					fail_msg("world %lu step %lu type %zu algo %d numa %d: linear %zd/%d index %zd/%d",
						 world_no, step, t, a, req.numa_node, lin, lwhy, got, iwhy);
				st->requests++;
				st->none += lin < 0;
			}
}

static void mutate(struct world *w, struct stats *st)
{
	if (w->n == 0)
		return;
	size_t i = rn(w->n);
	struct carve_place_pgpu *p;
	unsigned op = (unsigned)rn(100);
	if (op < 50) { /* place: mostly where the linear scan would, else anywhere it fits */
		size_t t = rn(w->n_types);
		const char *ex[66];
		struct carve_place_request req;
		random_request(w, t, (int)rn(2), &req, ex);
		ssize_t c = chance(70) ? carve_place_choose(w->p, w->n, &req, NULL)
				       : (carve_place_capacity(&w->p[i], &w->types[t], NULL) > 0 ? (ssize_t)i : -1);
		if (c < 0 || w->p[c].n_used >= MAXU)
			return;
		i = (size_t)c;
		p = &w->p[i];
		p->used[p->n_used++] = &w->types[t];
		st->placed++;
	} else if (op < 85) { /* remove a random vGPU of a random busy PGPU */
		for (size_t tries = 0; tries < 8 && w->p[i].n_used == 0; tries++)
			i = rn(w->n);
		p = &w->p[i];
		if (p->n_used == 0)
			return;
		size_t k = rn(p->n_used);
		p->used[k] = p->used[--p->n_used];
		st->removed++;
	} else {
		p = &w->p[i];
		if (op < 93 && p->n_slots)
			p->slots[rn(p->n_slots)].enabled ^= true;
		else if (op < 97)
			p->present ^= true;
		else
			p->mixed_size ^= true;
		st->toggled++;
	}
	update_all(w, i);
	for (size_t t = 0; t < w->n_types; t++)
		assert_int_equal(carve_place_index_capacity(w->idx[t][0], i),
				 carve_place_capacity(&w->p[i], &w->types[t], NULL));
}

static void test_property_matches_linear(void **state)
{
	(void)state;
	static struct world w;
	unsigned long seed = env_ul("CARVE_INDEX_SEED", 1);
	unsigned long worlds = env_ul("CARVE_INDEX_WORLDS", 150);
	unsigned long steps = env_ul("CARVE_INDEX_STEPS", 200);
	struct stats st = {0};
	for (unsigned long k = 0; k < worlds; k++) {
		rng_state = seed * 1000003u + k;
		random_world(&w);
		/* start some worlds non-empty, so builds see busy PGPUs */
		for (size_t i = 0; i < w.n; i++) {
			size_t t = rn(w.n_types);
			for (size_t j = chance(40) ? 1 + rn(3) : 0; j-- > 0;)
				if (carve_place_capacity(&w.p[i], &w.types[t], NULL) > 0)
					w.p[i].used[w.p[i].n_used++] = &w.types[t];
		}
		build_all(&w);
		check_step(&w, &st, k, 0);
		for (unsigned long s = 1; s <= steps; s++) {
			mutate(&w, &st);
			check_step(&w, &st, k, s);
		}
		world_free(&w);
		st.worlds++;
		st.steps += steps;
	}
	print_message("index property: seed %lu, %lu worlds, %lu steps (%lu placed, %lu removed, %lu toggled), "
		      "%lu requests compared (%lu with no fit)\n",
		      seed, st.worlds, st.steps, st.placed, st.removed, st.toggled, st.requests, st.none);
	assert_true(st.placed > 0 && st.removed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numa_tie_and_exclude),
		cmocka_unit_test(test_depth_breadth_numa),
		cmocka_unit_test(test_reasons_and_errors),
		cmocka_unit_test(test_property_matches_linear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
