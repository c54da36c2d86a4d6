/* index.h - a placement index: carve_place_choose() in O(log n) per decision.
 *
 * carve_place_choose() is XAPI's linear scan: every decision computes the
 * capacity of every PGPU in the group.  That is fine for a host and poor for
 * a pool of thousands of GPUs.  An index answers the same question for one
 * (PGPU array, vGPU type, algorithm) triple from binary heaps ordered by
 * (remaining capacity for the type - ascending for depth-first, descending
 * for breadth-first; then PCI order), so:
 *
 *   build   O(n log n)  (capacity of every PGPU once, a sort by PCI, a UUID
 *                       hash table; memory ~70 bytes per PGPU)
 *   update  O(log n)    after the vGPUs/enabled types/presence of one PGPU
 *                       changed (plus carve_place_capacity() for that PGPU)
 *   choose  O(1)        without exclusions;
 *           O(k log k)  expected with k excluded UUIDs (resolve each UUID in
 *                       a hash table, then walk the heaps best-first past at
 *                       most k excluded entries - the heaps are not modified)
 *
 * EXACTLY the answer of carve_place_choose() over the same array, including
 * the reason when nothing fits (tests/unit/test-index.c checks this on random
 * worlds).  NUMA preference varies per request, so it cannot be part of a
 * static key; instead there is one heap over all PGPUs plus one per NUMA node.
 * The global best fixes the best capacity c*; if the best PGPU on the VM's
 * node has capacity c* too it wins the tie (it is the first in PCI order among
 * node-local PGPUs of capacity c*), otherwise the global best is the answer.
 * PGPUs with capacity 0 are in no heap; per-reason counters give the "most
 * telling reason" without a scan.
 *
 * Ownership: the index borrows `pgpus` (and the type): both must outlive it,
 * must not move, and the identity fields of each PGPU (uuid, pci, numa_node)
 * must not change.  Anything that changes the capacity of PGPU i for the type
 * (a vGPU placed or removed, whether resident or only scheduled; a type
 * enabled or disabled; presence) must be followed by
 * carve_place_index_update(idx, i) before the next choose - the index caches
 * capacities.  One index serves one type: a group with several types keeps
 * one index per type and updates each of them, because a vGPU of one type
 * changes the capacity of the PGPU for every other type as well.
 *
 * Errors: 0 or a negative errno; -EINVAL for bad arguments (a request whose
 * type or algorithm is not the index's, an index i >= n), -E2BIG for arrays
 * of 2^32 - 1 PGPUs or more, -ENOMEM.
 *
 * Threading: no internal locking.  choose() only reads the index, so any
 * number of concurrent choose() calls are safe; update() needs exclusive
 * access (e.g. the writer side of a rwlock, or the store transaction lock
 * that already serialises placements).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "place.h"
#include "util/cleanup.h"

struct carve_place_index;

/* Build an index over pgpus[0..n) for `type` and `algo`; n may be 0. */
int carve_place_index_new(const struct carve_place_pgpu *pgpus, size_t n, const struct carve_place_type *type,
			  enum carve_place_algo algo, struct carve_place_index **ret);

/* Accepts NULL. */
void carve_place_index_free(struct carve_place_index *idx);
CARVE_DEFINE_CLEANUP(struct carve_place_index, carve_place_index_free)
#define _cleanup_place_index_ _cleanup_(carve_place_index_freep)

/* Recompute the capacity of pgpus[i] for the index's type and reposition it. */
int carve_place_index_update(struct carve_place_index *idx, size_t i);

/* Same contract as carve_place_choose(): *chosen is the index into pgpus[] of
 * the PGPU to use, or -1 with *why set to the most telling reason (why may be
 * NULL).  req->type must be the index's type (same pointer or UUID) and
 * req->algo its algorithm.  Returns 0, -EINVAL or -ENOMEM (only when the
 * exclusion list is longer than 32 entries and its scratch space cannot be
 * allocated). */
int carve_place_index_choose(const struct carve_place_index *idx, const struct carve_place_request *req,
			     ssize_t *chosen, enum carve_place_reason *why);

/* Cached capacity of pgpus[i] for the type as of the last build/update (0 if
 * i is out of range). */
int64_t carve_place_index_capacity(const struct carve_place_index *idx, size_t i);

/* The sum of the cached capacities: how many more vGPUs of the type the
 * PGPUs take together (a group's remaining capacity), kept in O(1). */
int64_t carve_place_index_total(const struct carve_place_index *idx);

/* How many PGPUs have capacity > 0 (candidates before exclusion). */
size_t carve_place_index_candidates(const struct carve_place_index *idx);
