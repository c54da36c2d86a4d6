/* place.h - choose a PGPU for a vGPU inside a GPU group (XAPI's allocation).
 *
 * Depth-first takes the fitting PGPU with the least remaining capacity for the
 * type (fill one GPU before the next); breadth-first the one with the most
 * (spread the load).  Ties prefer a PGPU on the VM's NUMA node (when the VM
 * declares one), then PCI order.  PGPUs listed in `exclude` (those already
 * holding another vGPU of the same VM) are skipped.  Deterministic: the same
 * snapshot always gives the same answer.
 *
 * When no PGPU fits, *why is the most telling reason over all PGPUs
 * (insufficient capacity > incompatible with the running type > not enabled >
 * not supported) and the result is -1.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "capacity.h"

enum carve_place_algo {
	CARVE_PLACE_DEPTH_FIRST = 0,
	CARVE_PLACE_BREADTH_FIRST = 1,
};

int carve_place_algo_from_name(const char *name); /* -EINVAL if unknown */
const char *carve_place_algo_name(enum carve_place_algo a); /* "" if out of range */

struct carve_place_request {
	const struct carve_place_type *type;
	enum carve_place_algo algo;
	int32_t numa_node; /* -1: no preference */
	const char *const *exclude; /* PGPU UUIDs to skip, NULL-terminated or NULL */
};

/* Index into pgpus[] of the chosen PGPU, or -1 with *why set. */
ssize_t carve_place_choose(const struct carve_place_pgpu *pgpus, size_t n, const struct carve_place_request *req,
			   enum carve_place_reason *why);
