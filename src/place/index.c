#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NOT_IN UINT32_MAX
#define EXCL_STACK 32

/* One heap entry carries its whole sort key, so sifting touches only the
 * heap array and never the (large, scattered) PGPU structs. */
struct ent {
	int64_t key;   /* capacity for depth-first, -capacity for breadth-first */
	uint32_t rank; /* position in (pci, array index) order: unique */
	uint32_t i;    /* index into pgpus[] */
};

struct heap {
	struct ent *e;
	size_t n;
	uint32_t *pos; /* pos[i]: where pgpu i sits in e[], or NOT_IN */
};

struct carve_place_index {
	const struct carve_place_pgpu *pgpus;
	size_t n;
	const struct carve_place_type *type;
	enum carve_place_algo algo;

	int64_t *cap;
	int64_t total; /* sum of cap[] */
	uint32_t *rank;
	uint8_t *reason;
	size_t reasons[CARVE_PLACE_NO_CAPACITY + 1]; /* PGPUs per current reason */

	struct heap global;
	struct heap *nodes;  /* one per distinct NUMA node >= 0 */
	int32_t *node_ids;   /* sorted, parallel to nodes[] */
	size_t n_nodes;
	int32_t *node_of;    /* pgpu i -> slot in nodes[], or -1 */
	uint32_t *pos_node;  /* shared by all node heaps: a PGPU is in at most one */
	struct ent *node_ents;

	/* UUID -> index hash (open addressing, linear probing; slot = index + 1,
	 * 0 = empty), so an exclusion list costs O(k) expected, not a scan. */
	uint32_t *uuid_slots;
	size_t uuid_mask;
};

static inline bool ent_less(const struct ent *a, const struct ent *b)
{
	return a->key < b->key || (a->key == b->key && a->rank < b->rank);
}

static void heap_place(struct heap *h, size_t at, struct ent v)
{
	h->e[at] = v;
	h->pos[v.i] = (uint32_t)at;
}

static void sift_up(struct heap *h, size_t at)
{
	struct ent v = h->e[at];
	while (at > 0) {
		size_t up = (at - 1) / 2;
		if (!ent_less(&v, &h->e[up]))
			break;
		heap_place(h, at, h->e[up]);
		at = up;
	}
	heap_place(h, at, v);
}

static void sift_down(struct heap *h, size_t at)
{
	struct ent v = h->e[at];
	for (;;) {
		size_t c = 2 * at + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && ent_less(&h->e[c + 1], &h->e[c]))
			c++;
		if (!ent_less(&h->e[c], &v))
			break;
		heap_place(h, at, h->e[c]);
		at = c;
	}
	heap_place(h, at, v);
}

/* Insert, or move an entry whose key changed. */
static void heap_set(struct heap *h, struct ent v)
{
	uint32_t at = h->pos[v.i];
	if (at == NOT_IN) {
		heap_place(h, h->n++, v);
		sift_up(h, h->n - 1);
		return;
	}
	h->e[at] = v;
	sift_up(h, at);
	sift_down(h, h->pos[v.i]);
}

static void heap_remove(struct heap *h, uint32_t i)
{
	uint32_t at = h->pos[i];
	if (at == NOT_IN)
		return;
	h->pos[i] = NOT_IN;
	struct ent last = h->e[--h->n];
	if (at == h->n)
		return;
	heap_place(h, at, last);
	sift_up(h, at);
	sift_down(h, h->pos[last.i]);
}

static void heapify(struct heap *h)
{
	for (size_t k = h->n / 2; k-- > 0;)
		sift_down(h, k);
}

static struct ent make_ent(const struct carve_place_index *idx, uint32_t i)
{
	int64_t c = idx->cap[i];
	return (struct ent){.key = idx->algo == CARVE_PLACE_DEPTH_FIRST ? c : -c, .rank = idx->rank[i], .i = i};
}

void carve_place_index_free(struct carve_place_index *idx)
{
	if (!idx)
		return;
	free(idx->cap);
	free(idx->rank);
	free(idx->reason);
	free(idx->global.e);
	free(idx->global.pos);
	free(idx->nodes);
	free(idx->node_ids);
	free(idx->node_of);
	free(idx->pos_node);
	free(idx->node_ents);
	free(idx->uuid_slots);
	free(idx);
}

static int cmp_pci(const void *a, const void *b, void *arg)
{
	const struct carve_place_pgpu *p = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int r = strcmp(p[x].pci, p[y].pci);
	/* carve_place_choose keeps the earlier PGPU on equal PCI strings */
	return r ? r : (x > y) - (x < y);
}

/* FNV-1a: UUIDs of one pool share long prefixes, so hash every byte. */
static size_t hash_uuid(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 32));
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static ssize_t node_slot(const struct carve_place_index *idx, int32_t node)
{
	if (node < 0)
		return -1;
	const int32_t *hit = bsearch(&node, idx->node_ids, idx->n_nodes, sizeof(int32_t), cmp_i32);
	return hit ? hit - idx->node_ids : -1;
}

static void set_cap(struct carve_place_index *idx, uint32_t i)
{
	enum carve_place_reason r;
	idx->total -= idx->cap[i];
	idx->cap[i] = carve_place_capacity(&idx->pgpus[i], idx->type, &r);
	idx->total += idx->cap[i];
	idx->reason[i] = (uint8_t)r;
	idx->reasons[r]++;
}

int carve_place_index_new(const struct carve_place_pgpu *pgpus, size_t n, const struct carve_place_type *type,
			  enum carve_place_algo algo, struct carve_place_index **ret)
{
	if (!ret || !type || (n && !pgpus) || (algo != CARVE_PLACE_DEPTH_FIRST && algo != CARVE_PLACE_BREADTH_FIRST))
		return -EINVAL;
	if (n >= NOT_IN)
		return -E2BIG;
	_cleanup_(carve_place_index_freep) struct carve_place_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	idx->pgpus = pgpus;
	idx->n = n;
	idx->type = type;
	idx->algo = algo;
	size_t m = n ? n : 1; /* calloc(0) may return NULL */
	idx->cap = calloc(m, sizeof(*idx->cap));
	idx->rank = calloc(m, sizeof(*idx->rank));
	idx->reason = calloc(m, sizeof(*idx->reason));
	idx->global.e = calloc(m, sizeof(struct ent));
	idx->global.pos = calloc(m, sizeof(uint32_t));
	idx->node_of = calloc(m, sizeof(*idx->node_of));
	idx->pos_node = calloc(m, sizeof(uint32_t));
	idx->node_ents = calloc(m, sizeof(struct ent));
	idx->node_ids = calloc(m, sizeof(int32_t));
	size_t slots = 2;
	while (slots < 2 * n) /* load factor <= 1/2 */
		slots *= 2;
	idx->uuid_slots = calloc(slots, sizeof(uint32_t));
	idx->uuid_mask = slots - 1;
	_cleanup_free_ uint32_t *order = calloc(m, sizeof(uint32_t));
	if (!idx->cap || !idx->rank || !idx->reason || !idx->global.e || !idx->global.pos || !idx->node_of ||
	    !idx->pos_node || !idx->node_ents || !idx->uuid_slots || !idx->node_ids || !order)
		return -ENOMEM;

	/* PCI rank turns the string tie-break into an integer compare. */
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(uint32_t), cmp_pci, (void *)pgpus);
	for (uint32_t k = 0; k < n; k++)
		idx->rank[order[k]] = k;
	for (uint32_t i = 0; i < n; i++) {
		size_t h = hash_uuid(pgpus[i].uuid) & idx->uuid_mask;
		while (idx->uuid_slots[h])
			h = (h + 1) & idx->uuid_mask;
		idx->uuid_slots[h] = i + 1;
	}

	/* Distinct NUMA nodes, sorted; node_ids was sized for the worst case. */
	size_t nn = 0;
	for (size_t i = 0; i < n; i++)
		if (pgpus[i].numa_node >= 0)
			idx->node_ids[nn++] = pgpus[i].numa_node;
	qsort(idx->node_ids, nn, sizeof(int32_t), cmp_i32);
	size_t d = 0;
	for (size_t k = 0; k < nn; k++)
		if (d == 0 || idx->node_ids[d - 1] != idx->node_ids[k])
			idx->node_ids[d++] = idx->node_ids[k];
	idx->n_nodes = d;
	idx->nodes = calloc(d ? d : 1, sizeof(*idx->nodes));
	if (!idx->nodes)
		return -ENOMEM;

	/* Carve node_ents into one contiguous slice per node. */
	_cleanup_free_ size_t *count = calloc(d ? d : 1, sizeof(size_t));
	if (!count)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		ssize_t s = node_slot(idx, pgpus[i].numa_node);
		idx->node_of[i] = (int32_t)s;
		if (s >= 0)
			count[s]++;
	}
	for (size_t s = 0, off = 0; s < d; s++) {
		idx->nodes[s].e = idx->node_ents + off;
		idx->nodes[s].pos = idx->pos_node;
		off += count[s];
	}

	for (uint32_t i = 0; i < n; i++) {
		idx->global.pos[i] = NOT_IN;
		idx->pos_node[i] = NOT_IN;
		set_cap(idx, i);
		if (idx->cap[i] <= 0)
			continue;
		struct ent v = make_ent(idx, i);
		heap_place(&idx->global, idx->global.n++, v);
		if (idx->node_of[i] >= 0) {
			struct heap *h = &idx->nodes[idx->node_of[i]];
			heap_place(h, h->n++, v);
		}
	}
	heapify(&idx->global);
	for (size_t s = 0; s < d; s++)
		heapify(&idx->nodes[s]);
	*ret = TAKE_PTR(idx);
	return 0;
}

int carve_place_index_update(struct carve_place_index *idx, size_t i)
{
	if (!idx || i >= idx->n)
		return -EINVAL;
	uint32_t u = (uint32_t)i;
	idx->reasons[idx->reason[u]]--;
	set_cap(idx, u);
	struct heap *h = idx->node_of[u] >= 0 ? &idx->nodes[idx->node_of[u]] : NULL;
	if (idx->cap[u] > 0) {
		struct ent v = make_ent(idx, u);
		heap_set(&idx->global, v);
		if (h)
			heap_set(h, v);
	} else {
		heap_remove(&idx->global, u);
		if (h)
			heap_remove(h, u);
	}
	return 0;
}

int64_t carve_place_index_capacity(const struct carve_place_index *idx, size_t i)
{
	return idx && i < idx->n ? idx->cap[i] : 0;
}

int64_t carve_place_index_total(const struct carve_place_index *idx)
{
	return idx ? idx->total : 0;
}

size_t carve_place_index_candidates(const struct carve_place_index *idx)
{
	return idx ? idx->global.n : 0;
}

/* Scratch space for one choose(): the PGPU indices to skip (sorted) and the
 * frontier of the best-first walk. */
struct excl {
	uint32_t *skip;
	size_t n_skip;
	uint32_t *frontier;
};

static bool skipped(const struct excl *x, uint32_t i)
{
	size_t lo = 0, hi = x->n_skip;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x->skip[mid] == i)
			return true;
		if (x->skip[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Best entry of h whose PGPU is not skipped, or -1.  Without touching h: a
 * small heap of positions (the "frontier") is expanded in key order - the
 * children of a position are only worse than it - so at most n_skip + 1
 * entries are examined and the frontier never holds more than n_skip + 2. */
static ssize_t best_of(const struct heap *h, const struct excl *x)
{
	if (h->n == 0)
		return -1;
	if (x->n_skip == 0 || !skipped(x, h->e[0].i))
		return h->e[0].i;
	uint32_t *f = x->frontier;
	size_t fn = 0;
#define F_LESS(a, b) ent_less(&h->e[f[a]], &h->e[f[b]])
#define F_SWAP(a, b)                      \
	do {                              \
		uint32_t t_ = f[a];       \
		f[a] = f[b];              \
		f[b] = t_;                \
	} while (0)
	f[fn++] = 0;
	while (fn > 0) {
		uint32_t at = f[0];
		f[0] = f[--fn];
		for (size_t k = 0;;) { /* sift down */
			size_t c = 2 * k + 1;
			if (c >= fn)
				break;
			if (c + 1 < fn && F_LESS(c + 1, c))
				c++;
			if (!F_LESS(c, k))
				break;
			F_SWAP(c, k);
			k = c;
		}
		if (!skipped(x, h->e[at].i))
			return h->e[at].i;
		for (size_t c = 2 * (size_t)at + 1; c <= 2 * (size_t)at + 2 && c < h->n; c++) {
			f[fn] = (uint32_t)c;
			for (size_t k = fn++; k > 0 && F_LESS(k, (k - 1) / 2); k = (k - 1) / 2) /* sift up */
				F_SWAP(k, (k - 1) / 2);
		}
	}
#undef F_LESS
#undef F_SWAP
	return -1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Store up to `room` indices of PGPUs whose UUID is `uuid` in out[] and
 * return how many there are (normally 0 or 1; the probe run holds them all). */
static size_t find_uuid(const struct carve_place_index *idx, const char *uuid, uint32_t *out, size_t room)
{
	size_t k = 0;
	for (size_t h = hash_uuid(uuid) & idx->uuid_mask; idx->uuid_slots[h]; h = (h + 1) & idx->uuid_mask) {
		uint32_t i = idx->uuid_slots[h] - 1;
		if (strcmp(idx->pgpus[i].uuid, uuid) == 0) {
			if (k < room)
				out[k] = i;
			k++;
		}
	}
	return k;
}

static enum carve_place_reason worst_reason(const struct carve_place_index *idx)
{
	for (int r = CARVE_PLACE_NO_CAPACITY; r > CARVE_PLACE_NOT_SUPPORTED; r--)
		if (idx->reasons[r])
			return (enum carve_place_reason)r;
	return CARVE_PLACE_NOT_SUPPORTED;
}

int carve_place_index_choose(const struct carve_place_index *idx, const struct carve_place_request *req,
			     ssize_t *chosen, enum carve_place_reason *why)
{
	if (!idx || !req || !req->type || !chosen)
		return -EINVAL;
	if (req->type != idx->type && strcmp(req->type->uuid, idx->type->uuid) != 0)
		return -EINVAL;
	if (req->algo != idx->algo)
		return -EINVAL;

	/* Resolve the exclusion list to PGPU indices into stack scratch; only a
	 * list matching more than EXCL_STACK PGPUs needs a second, heap pass. */
	uint32_t stack[2 * EXCL_STACK + 2];
	_cleanup_free_ uint32_t *heap_mem = NULL;
	struct excl x = {.skip = stack, .frontier = stack + EXCL_STACK};
	size_t matched = 0;
	for (size_t k = 0; req->exclude && req->exclude[k]; k++) {
		size_t used = matched < EXCL_STACK ? matched : EXCL_STACK;
		matched += find_uuid(idx, req->exclude[k], stack + used, EXCL_STACK - used);
	}
	if (matched > EXCL_STACK) {
		heap_mem = malloc((2 * matched + 2) * sizeof(uint32_t));
		if (!heap_mem)
			return -ENOMEM;
		x.skip = heap_mem;
		x.frontier = heap_mem + matched;
		size_t k2 = 0;
		for (size_t k = 0; req->exclude[k]; k++)
			k2 += find_uuid(idx, req->exclude[k], x.skip + k2, matched - k2);
	}
	x.n_skip = matched;
	qsort(x.skip, x.n_skip, sizeof(uint32_t), cmp_u32);

	ssize_t best = best_of(&idx->global, &x);
	if (best >= 0 && req->numa_node >= 0 && idx->pgpus[best].numa_node != req->numa_node) {
		ssize_t s = node_slot(idx, req->numa_node);
		ssize_t local = s >= 0 ? best_of(&idx->nodes[s], &x) : -1;
		if (local >= 0 && idx->cap[local] == idx->cap[best])
			best = local;
	}
	*chosen = best;
	if (why)
		/* An excluded PGPU ranks as "no capacity", like in carve_place_choose. */
		*why = best >= 0 ? CARVE_PLACE_OK : matched ? CARVE_PLACE_NO_CAPACITY : worst_reason(idx);
	return 0;
}
