#include "place.h"

#include <errno.h>
#include <string.h>

static const char *const algo_names[] = {
	[CARVE_PLACE_DEPTH_FIRST] = "depth-first",
	[CARVE_PLACE_BREADTH_FIRST] = "breadth-first",
};

int carve_place_algo_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(algo_names) / sizeof(algo_names[0]); i++)
		if (strcmp(algo_names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

const char *carve_place_algo_name(enum carve_place_algo a)
{
	return (unsigned)a < sizeof(algo_names) / sizeof(algo_names[0]) ? algo_names[a] : "";
}

static bool excluded(const struct carve_place_request *req, const char *uuid)
{
	for (size_t i = 0; req->exclude && req->exclude[i]; i++)
		if (strcmp(req->exclude[i], uuid) == 0)
			return true;
	return false;
}

/* Is candidate (cap c, pgpu p) better than the best so far (cap bc, pgpu b)? */
static bool better(const struct carve_place_request *req, int64_t c, const struct carve_place_pgpu *p, int64_t bc,
		   const struct carve_place_pgpu *b)
{
	if (c != bc)
		return req->algo == CARVE_PLACE_DEPTH_FIRST ? c < bc : c > bc;
	if (req->numa_node >= 0) {
		bool pn = p->numa_node == req->numa_node, bn = b->numa_node == req->numa_node;
		if (pn != bn)
			return pn;
	}
	return strcmp(p->pci, b->pci) < 0;
}

ssize_t carve_place_choose(const struct carve_place_pgpu *pgpus, size_t n, const struct carve_place_request *req,
			   enum carve_place_reason *why)
{
	ssize_t best = -1;
	int64_t best_cap = 0;
	enum carve_place_reason worst = CARVE_PLACE_NOT_SUPPORTED;
	for (size_t i = 0; i < n; i++) {
		enum carve_place_reason r;
		if (excluded(req, pgpus[i].uuid)) {
			/* Another vGPU of the VM is there: for ranking that is a full PGPU. */
			if (CARVE_PLACE_NO_CAPACITY > worst)
				worst = CARVE_PLACE_NO_CAPACITY;
			continue;
		}
		int64_t cap = carve_place_capacity(&pgpus[i], req->type, &r);
		if (cap <= 0) {
			if (r > worst)
				worst = r;
			continue;
		}
		if (best < 0 || better(req, cap, &pgpus[i], best_cap, &pgpus[best])) {
			best = (ssize_t)i;
			best_cap = cap;
		}
	}
	if (why)
		*why = best >= 0 ? CARVE_PLACE_OK : worst;
	return best;
}
