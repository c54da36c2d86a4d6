/* bench-place - placement decisions: XAPI's linear scan vs the placement index.
 *
 * For pools of 1k, 10k and 100k simulated Tesla P40s (8 Q-series types, 24 x
 * 1Q ... 1 x 24Q, sizes from carve_type_size, two NUMA nodes) and for both
 * allocation algorithms: first 10% of the PGPUs get vGPUs of one random type
 * each, then a seeded mix of 60% placements / 40% removals runs.  A placement
 * is a decision for a random type with a random NUMA preference (-1, 0, 1)
 * and, one time in four, a VM that already has 1..4 vGPUs (their PGPUs are
 * excluded).
 *
 * The same seeded sequence runs twice, once deciding with carve_place_choose()
 * over the whole array (linear), once with one carve_place_index per type.
 * Every decision of the linear run is compared with the index run: the two
 * must pick the same PGPU and give the same reason, or the benchmark fails
 * (exit 1).  The index run may go on for more decisions than the linear run
 * (the 100k linear scan is slow); only the shared prefix is compared, and the
 * table says how many decisions each side timed.
 *
 * Times are wall-clock per decision (CLOCK_MONOTONIC around each call, timer
 * overhead included and printed).  "maint" is the cost to keep the index
 * current after a placement or removal: carve_place_index_update() on all 8
 * per-type indexes of the changed PGPU.  The linear scan needs no upkeep, so
 * "lin/all" divides the linear time per decision by the index's all-in time
 * per decision (choose + all upkeep of the run, including removals).
 *
 * Usage: bench-place [--quick] [--sizes N,N,...] [--seed S]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model.h"
#include "place/index.h"

#define N_TYPES 8
#define MAX_USED 24

static const uint32_t P40_MAX[N_TYPES] = {24, 12, 8, 6, 4, 3, 2, 1};
static const char *const P40_NAME[N_TYPES] = {"1q", "2q", "3q", "4q", "6q", "8q", "12q", "24q"};

static uint64_t rng;
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static size_t rn(size_t n) { return (size_t)(rnd() % n); }

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct vgpu {
	uint32_t pgpu;
	uint8_t type;
};

struct pool {
	struct carve_place_type types[N_TYPES];
	struct carve_place_pgpu *p;
	struct carve_place_slot *slots;
	const struct carve_place_type **used;
	size_t n;
	struct vgpu *live; /* vGPUs placed so far, for random removal */
	size_t n_live, cap_live;
	struct carve_place_index *idx[N_TYPES];
};

static void pool_free(struct pool *pl)
{
	for (size_t t = 0; t < N_TYPES; t++)
		carve_place_index_free(pl->idx[t]);
	free(pl->p);
	free(pl->slots);
	free(pl->used);
	free(pl->live);
	memset(pl, 0, sizeof(*pl));
}

static int live_push(struct pool *pl, uint32_t pgpu, uint8_t type)
{
	if (pl->n_live == pl->cap_live) {
		size_t c = pl->cap_live ? 2 * pl->cap_live : 1024;
		struct vgpu *v = realloc(pl->live, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pl->live = v;
		pl->cap_live = c;
	}
	pl->live[pl->n_live++] = (struct vgpu){pgpu, type};
	return 0;
}

static void put(struct pool *pl, size_t i, size_t t)
{
	struct carve_place_pgpu *p = &pl->p[i];
	p->used[p->n_used++] = &pl->types[t];
}

static int pool_init(struct pool *pl, size_t n)
{
	memset(pl, 0, sizeof(*pl));
	for (size_t t = 0; t < N_TYPES; t++) {
		struct carve_place_type *ty = &pl->types[t];
		snprintf(ty->uuid, sizeof(ty->uuid), "p40-%s", P40_NAME[t]);
		ty->max_instances = P40_MAX[t];
		ty->size = carve_type_size(P40_MAX[t]);
		snprintf(ty->board, sizeof(ty->board), "P40");
		snprintf(ty->implementation, sizeof(ty->implementation), "nvidia-mdev");
		snprintf(ty->series, sizeof(ty->series), "Q");
	}
	pl->n = n;
	pl->p = calloc(n, sizeof(*pl->p));
	pl->slots = calloc(n * N_TYPES, sizeof(*pl->slots));
	pl->used = calloc(n * MAX_USED, sizeof(*pl->used));
	if (!pl->p || !pl->slots || !pl->used)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct carve_place_pgpu *p = &pl->p[i];
		snprintf(p->uuid, sizeof(p->uuid), "00000000-0000-4000-8000-%012" PRIx64, (uint64_t)i & 0xffffffffffffu);
		/* one PCI domain per 256 buses keeps every address unique */
		snprintf(p->pci, sizeof(p->pci), "%04zx:%02zx:00.0", (i >> 8) & 0xffff, i & 0xff);
		p->numa_node = i < n / 2 ? 0 : 1;
		p->present = true;
		p->size = CARVE_PGPU_SIZE;
		p->slots = &pl->slots[i * N_TYPES];
		p->n_slots = N_TYPES;
		for (size_t t = 0; t < N_TYPES; t++)
			p->slots[t] = (struct carve_place_slot){.type = &pl->types[t], .enabled = true};
		p->used = &pl->used[i * MAX_USED];
	}
	/* 10% of the PGPUs already busy: one random type, 1..max instances */
	for (size_t k = 0; k < n / 10; k++) {
		size_t i = rn(n), t = rn(N_TYPES);
		if (pl->p[i].n_used)
			continue;
		for (size_t c = 1 + rn(P40_MAX[t]); c-- > 0;) {
			put(pl, i, t);
			if (live_push(pl, (uint32_t)i, (uint8_t)t) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static int sample(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t c = s->cap ? 2 * s->cap : 4096;
		uint64_t *v = realloc(s->v, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = c;
	}
	s->v[s->n++] = ns;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double mean(const struct samples *s)
{
	double sum = 0;
	for (size_t k = 0; k < s->n; k++)
		sum += (double)s->v[k];
	return s->n ? sum / (double)s->n : 0;
}

static double p99(struct samples *s)
{
	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(uint64_t), cmp_u64);
	return (double)s->v[(s->n * 99) / 100 < s->n ? (s->n * 99) / 100 : s->n - 1];
}

/* What one decision returned, for the cross-check. */
struct answer {
	int32_t chosen;
	uint8_t why;
};

struct run {
	struct samples decide, maint;
	struct samples plain, excl; /* decide, split by "exclusion list given" */
	struct answer *ans;
	size_t decisions, placed, removed, no_fit;
	double build_ms;
};

static void run_free(struct run *r)
{
	free(r->decide.v);
	free(r->maint.v);
	free(r->plain.v);
	free(r->excl.v);
	free(r->ans);
}

/* One seeded workload; use_index picks the decision procedure. */
static int workload(size_t n, enum carve_place_algo algo, bool use_index, size_t decisions, uint64_t seed,
		    struct run *out)
{
	struct pool pl;
	int r;
	memset(out, 0, sizeof(*out));
	rng = seed;
	if ((r = pool_init(&pl, n)) < 0)
		goto done;
	out->ans = calloc(decisions, sizeof(*out->ans));
	if (!out->ans) {
		r = -ENOMEM;
		goto done;
	}
	if (use_index) {
		uint64_t t0 = now_ns();
		for (size_t t = 0; t < N_TYPES; t++)
			if ((r = carve_place_index_new(pl.p, pl.n, &pl.types[t], algo, &pl.idx[t])) < 0)
				goto done;
		out->build_ms = (double)(now_ns() - t0) / 1e6;
	}
	static const int32_t numa_pref[3] = {-1, 0, 1};
	while (out->decisions < decisions) {
		size_t changed;
		if (rn(100) < 60 || pl.n_live == 0) {
			size_t t = rn(N_TYPES);
			const char *ex[5] = {0};
			bool has_ex = rn(4) == 0 && pl.n_live;
			if (has_ex) /* a VM with other vGPUs already */
				for (size_t k = 0, m = 1 + rn(4); k < m; k++)
					ex[k] = pl.p[pl.live[rn(pl.n_live)].pgpu].uuid;
			struct carve_place_request req = {
				.type = &pl.types[t], .algo = algo, .numa_node = numa_pref[rn(3)], .exclude = ex};
			enum carve_place_reason why;
			ssize_t c;
			uint64_t t0 = now_ns();
			if (use_index) {
				if ((r = carve_place_index_choose(pl.idx[t], &req, &c, &why)) < 0)
					goto done;
			} else {
				c = carve_place_choose(pl.p, pl.n, &req, &why);
			}
			uint64_t t1 = now_ns();
			if ((r = sample(&out->decide, t1 - t0)) < 0 ||
			    (r = sample(has_ex ? &out->excl : &out->plain, t1 - t0)) < 0)
				goto done;
			out->ans[out->decisions++] = (struct answer){(int32_t)c, (uint8_t)why};
			if (c < 0) {
				out->no_fit++;
				continue;
			}
			put(&pl, (size_t)c, t);
			if ((r = live_push(&pl, (uint32_t)c, (uint8_t)t)) < 0)
				goto done;
			changed = (size_t)c;
			out->placed++;
		} else {
			size_t k = rn(pl.n_live);
			struct vgpu v = pl.live[k];
			pl.live[k] = pl.live[--pl.n_live];
			struct carve_place_pgpu *p = &pl.p[v.pgpu];
			for (size_t u = 0; u < p->n_used; u++)
				if (p->used[u] == &pl.types[v.type]) {
					p->used[u] = p->used[--p->n_used];
					break;
				}
			changed = v.pgpu;
			out->removed++;
		}
		if (use_index) {
			uint64_t t0 = now_ns();
			for (size_t t = 0; t < N_TYPES; t++)
				carve_place_index_update(pl.idx[t], changed);
			if ((r = sample(&out->maint, now_ns() - t0)) < 0)
				goto done;
		}
	}
	r = 0;
done:
	pool_free(&pl);
	return r;
}

static double timer_overhead(void)
{
	uint64_t best = UINT64_MAX;
	for (int k = 0; k < 10000; k++) {
		uint64_t a = now_ns(), b = now_ns();
		if (b - a < best)
			best = b - a;
	}
	return (double)best;
}

int main(int argc, char **argv)
{
	size_t sizes[8] = {1000, 10000, 100000};
	size_t n_sizes = 3;
	bool quick = false;
	uint64_t seed = 42;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
			seed = strtoull(argv[++a], NULL, 0);
		} else if (strcmp(argv[a], "--sizes") == 0 && a + 1 < argc) {
			n_sizes = 0;
			for (char *s = argv[++a], *e; *s && n_sizes < 8; s = *e ? e + 1 : e) {
				sizes[n_sizes] = strtoul(s, &e, 10);
				if (e == s || sizes[n_sizes] == 0) {
					fprintf(stderr, "bench-place: bad --sizes\n");
					return 2;
				}
				n_sizes++;
			}
		} else {
			fprintf(stderr, "usage: bench-place [--quick] [--sizes N,N,...] [--seed S]\n");
			return 2;
		}
	}

	printf("bench-place: P40 pools, 8 types, 2 NUMA nodes, 10%% pre-filled, 60/40 place/remove, seed %" PRIu64
	       "\n",
	       seed);
	printf("timer overhead ~%.0f ns per sample (included below)\n\n", timer_overhead());
	struct breakdown {
		size_t n;
		int algo;
		double plain, plain99, excl, excl99;
	} bd[16];
	size_t n_bd = 0;
	printf("%8s %-13s %9s %9s %11s %11s %9s %9s %9s %9s %9s %9s %8s\n", "PGPUs", "algorithm", "dec.lin",
	       "dec.idx", "lin mean", "lin p99", "idx mean", "idx p99", "maint", "maint p99", "lin/idx",
	       "lin/all", "build");
	int failed = 0;
	for (size_t s = 0; s < n_sizes; s++) {
		size_t n = sizes[s];
		/* ~ the same linear work per pool size: fewer decisions when big */
		size_t lin_dec = n <= 1000 ? 20000 : n <= 10000 ? 4000 : 1000;
		size_t idx_dec = 50000;
		if (quick) {
			lin_dec = lin_dec / 20 + 1;
			idx_dec = 2000;
		}
		if (idx_dec < lin_dec)
			idx_dec = lin_dec;
		for (int algo = 0; algo < 2; algo++) {
			struct run lin, idx;
			int r = workload(n, (enum carve_place_algo)algo, false, lin_dec, seed + n, &lin);
			if (r >= 0)
				r = workload(n, (enum carve_place_algo)algo, true, idx_dec, seed + n, &idx);
			if (r < 0) {
				fprintf(stderr, "bench-place: %s\n", strerror(-r));
				return 1;
			}
			size_t mismatch = 0;
			for (size_t k = 0; k < lin.decisions; k++)
				if (lin.ans[k].chosen != idx.ans[k].chosen || lin.ans[k].why != idx.ans[k].why) {
					if (!mismatch)
						fprintf(stderr,
							"bench-place: %zu PGPUs %s decision %zu: linear %d/%d, index %d/%d\n",
							n, algo ? "breadth" : "depth", k, lin.ans[k].chosen, lin.ans[k].why,
							idx.ans[k].chosen, idx.ans[k].why);
					mismatch++;
				}
			double lm = mean(&lin.decide), im = mean(&idx.decide), mm = mean(&idx.maint);
			/* all-in: decisions plus upkeep after placements and removals */
			double allin = (im * (double)idx.decide.n + mm * (double)idx.maint.n) / (double)idx.decisions;
			double lp = p99(&lin.decide), ip = p99(&idx.decide), mp = p99(&idx.maint);
			printf("%8zu %-13s %9zu %9zu %9.0fns %9.0fns %7.0fns %7.0fns %7.0fns %7.0fns %8.0fx %8.0fx "
			       "%6.1fms\n",
			       n, algo ? "breadth-first" : "depth-first", lin.decisions, idx.decisions, lm, lp, im, ip, mm,
			       mp, lm / im, lm / allin, idx.build_ms);
			if (mismatch) {
				fprintf(stderr, "bench-place: %zu of %zu decisions differ\n", mismatch, lin.decisions);
				failed = 1;
			}
			if (n_bd < ARRAY_SIZE(bd))
				bd[n_bd++] = (struct breakdown){n, algo, mean(&idx.plain), p99(&idx.plain), mean(&idx.excl),
								p99(&idx.excl)};
			fflush(stdout);
			run_free(&lin);
			run_free(&idx);
		}
	}
	printf("\nindex decisions, without / with an exclusion list (1..4 PGPUs of the same VM):\n");
	printf("%8s %-13s %12s %12s %12s %12s\n", "PGPUs", "algorithm", "plain mean", "plain p99", "excl mean",
	       "excl p99");
	for (size_t k = 0; k < n_bd; k++)
		printf("%8zu %-13s %10.0fns %10.0fns %10.0fns %10.0fns\n", bd[k].n,
		       bd[k].algo ? "breadth-first" : "depth-first", bd[k].plain, bd[k].plain99, bd[k].excl,
		       bd[k].excl99);
	printf("\n%s: every linear decision compared with the index (same PGPU, same reason)\n",
	       failed ? "FAILED" : "verified");
	return failed;
}
