/* snapshot.h - load the placement view of a GPU group from the store.
 *
 * A snapshot owns its arrays; carve_snapshot_free() accepts NULL.  PGPUs come
 * in PCI order (the deterministic tie-break of placement).  Types are shared:
 * each vGPU type appears once and PGPU slots point at it.
 *
 * In a pool the group spans hosts: carve_snapshot_load() sees all of its
 * PGPUs (remaining capacity is pool-wide, as XAPI's), _host() only those of
 * one host (placement: a host can only create vGPUs on its own GPUs).
 */
#pragma once

#include "ops.h"
#include "place/capacity.h"

struct carve_snapshot {
	struct carve_place_type *types;
	size_t n_types;
	struct carve_place_pgpu *pgpus;
	size_t n_pgpus;
};

int carve_snapshot_load(struct carve_ctx *ctx, const char *group_uuid, struct carve_snapshot **out,
			struct carve_error *err);
/* host_uuid NULL = every host, as carve_snapshot_load(). */
int carve_snapshot_load_host(struct carve_ctx *ctx, const char *group_uuid, const char *host_uuid,
			     struct carve_snapshot **out, struct carve_error *err);
void carve_snapshot_free(struct carve_snapshot *s);
CARVE_DEFINE_CLEANUP(struct carve_snapshot, carve_snapshot_free)
const struct carve_place_type *carve_snapshot_type(const struct carve_snapshot *s, const char *uuid);
