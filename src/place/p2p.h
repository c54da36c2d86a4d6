/* p2p.h - choosing GPUs for a VM whose vGPUs talk peer-to-peer over NVLink
 * (seed 003: "requires multiple 1:1 vGPU, created on physical GPUs with
 * direct NVLink connections").
 *
 * Pure: the caller gives n candidate GPUs (those that can take one of the
 * VM's 1:1 vGPUs now, on one host), their NUMA nodes and the link counts
 * between them (links[i][j] = links[j][i], 0 = not connected), and asks
 * for k of them.  The answer is a set in which every pair is connected,
 * ranked by, in order: the most links in all; all on the VM's NUMA node
 * (numa >= 0), else all on one node; the lowest candidate indices (the
 * caller orders candidates by its allocation algorithm's preference).  The
 * search is exhaustive over connected sets (the candidates of one host: at
 * most CARVE_P2P_MAX_CANDIDATES) and bounded by it.  No allocation, no
 * state; thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CARVE_P2P_MAX_CANDIDATES 32
#define CARVE_P2P_MAX_SET 16

struct carve_p2p_graph {
	size_t n;
	int32_t numa[CARVE_P2P_MAX_CANDIDATES];
	uint8_t links[CARVE_P2P_MAX_CANDIDATES][CARVE_P2P_MAX_CANDIDATES];
};

/* The best k-set into out[0..k) (candidate indices, ascending); its total
 * links into *total when not NULL.  false when no pairwise-connected set
 * of k exists (or k is 0 or larger than the candidates). */
bool carve_p2p_choose(const struct carve_p2p_graph *g, size_t k, int32_t numa, size_t *out, unsigned *total);
