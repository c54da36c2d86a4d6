#include "p2p.h"

#include <string.h>

struct search {
	const struct carve_p2p_graph *g;
	size_t k;
	int32_t numa;
	size_t cur[CARVE_P2P_MAX_SET], best[CARVE_P2P_MAX_SET];
	unsigned best_links;
	int best_numa; /* 2: all on the VM's node; 1: all on one node; 0: spread */
	bool found;
	unsigned long visits; /* bounded: fully connected fabrics (NVSwitch) have very many sets */
};

#define MAX_VISITS 200000UL

static int numa_rank(const struct search *s)
{
	int32_t first = s->g->numa[s->cur[0]];
	for (size_t i = 1; i < s->k; i++)
		if (s->g->numa[s->cur[i]] != first)
			return 0;
	return s->numa >= 0 && first == s->numa ? 2 : 1;
}

/* Extend cur[0..depth) (pairwise connected, links so far) from candidate
 * `from` on; sets are visited in lexicographic order, so the first of equal
 * rank is the one of the lowest indices. */
static void extend(struct search *s, size_t depth, size_t from, unsigned links)
{
	if (++s->visits > MAX_VISITS)
		return;
	if (depth == s->k) {
		int nr = numa_rank(s);
		if (!s->found || links > s->best_links || (links == s->best_links && nr > s->best_numa)) {
			memcpy(s->best, s->cur, s->k * sizeof(*s->cur));
			s->best_links = links;
			s->best_numa = nr;
			s->found = true;
		}
		return;
	}
	for (size_t c = from; c + (s->k - depth) <= s->g->n; c++) {
		unsigned add = 0;
		bool ok = true;
		for (size_t i = 0; i < depth && ok; i++) {
			uint8_t l = s->g->links[s->cur[i]][c];
			ok = l > 0;
			add += l;
		}
		if (!ok)
			continue;
		s->cur[depth] = c;
		extend(s, depth + 1, c + 1, links + add);
	}
}

bool carve_p2p_choose(const struct carve_p2p_graph *g, size_t k, int32_t numa, size_t *out, unsigned *total)
{
	if (k == 0 || k > CARVE_P2P_MAX_SET || k > g->n || g->n > CARVE_P2P_MAX_CANDIDATES)
		return false;
	struct search s = {.g = g, .k = k, .numa = numa};
	extend(&s, 0, 0, 0);
	if (!s.found)
		return false;
	memcpy(out, s.best, k * sizeof(*out));
	if (total)
		*total = s.best_links;
	return true;
}
