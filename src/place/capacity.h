/* capacity.h - XAPI's placement rules for one PGPU, as pure functions over a
 * snapshot (no store, no host), so they are exhaustively unit-testable and
 * shared by placement, remaining-capacity queries and the benchmarks.
 *
 * Checks, in XAPI's order: the type is supported on the PGPU; discovery could
 * read it (neither the PGPU nor the type has a discovery problem); enabled;
 * healthy enough (carve's addition: not failed, not degraded where its group
 * avoids degraded PGPUs);
 * compatible with every vGPU already resident or scheduled there (one type
 * per PGPU unless the hardware mixes sizes - then same board, implementation
 * and series; passthrough excludes everything); then capacity.
 *
 * Capacity has two budgets, and the smaller wins: carve's model,
 * (PGPU size - sum of sizes there) / type size, capped by max_instances,
 * where a budget is known (the catalog's or the driver's description);
 * and the kernel's, what the driver says it can still create
 * (available_instances, the SR-IOV creatable lists) less the reservations
 * not yet realized.  A type with no known budget (size 0: an uncatalogued
 * board, an iGPU) has the kernel's alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a PGPU cannot take a type, ranked: the higher, the more telling. */
enum carve_place_reason {
	CARVE_PLACE_OK = 0,
	CARVE_PLACE_NOT_SUPPORTED = 1,
	CARVE_PLACE_NOT_ENABLED = 2,
	CARVE_PLACE_DISCOVERY_PROBLEM = 3,
	CARVE_PLACE_UNHEALTHY = 4,
	CARVE_PLACE_INCOMPATIBLE = 5,
	CARVE_PLACE_NO_CAPACITY = 6,
	CARVE_PLACE_NO_P2P = 7, /* enough free GPUs, but no set of them pairwise NVLink-connected */
};

/* Which budget decided a capacity (carve_place_capacity_source). */
enum carve_place_source {
	CARVE_PLACE_SOURCE_KERNEL = 0, /* the driver's count: smaller, equal, or the only one */
	CARVE_PLACE_SOURCE_MODEL = 1,  /* carve's budget (the slot's budget_source says whose) */
};

struct carve_place_type {
	char uuid[37];
	int64_t size;           /* 0: no budget known, the kernel's count decides */
	bool passthrough;
	char board[64];
	char implementation[24];
	char series[4];
	uint32_t max_instances;
	uint8_t mig_slices;     /* MIG-backed: compute slices of its GPU instance; 0 time-sliced */
};

struct carve_place_slot { /* a type on a PGPU */
	const struct carve_place_type *type;
	bool unsupported;         /* the host no longer reports it (kept: the operator's enabled flag stands) */
	bool enabled;
	/* What the driver says it can still create (available_instances, the
	 * SR-IOV creatable list).  It sees devices carve did not create, which
	 * the model cannot; the model sees reservations not yet realized, which
	 * the driver cannot.  Capacity is the smaller of the two.  host_limited is
	 * false where the driver's figure means nothing yet (an SR-IOV PF whose
	 * VFs are not enabled reports 0 for everything). */
	bool host_limited;
	int64_t host_available;
	int64_t pending;          /* reservations of the type here not realized yet */
	const char *problem;      /* why discovery could not read the type here; NULL when none */
	const char *budget_source; /* whose max_instances: "driver", "catalog", "none" */
};

struct carve_place_pgpu {
	char uuid[37];
	char pci[13];
	int32_t numa_node;
	bool mixed_size;
	bool present;
	const char *problem;      /* why discovery could not read the PGPU itself; NULL when healthy */
	const char *unhealthy;    /* why its health keeps vGPUs off it (failed, or degraded where its group
				     avoids that; host/health.h); NULL when none */
	int64_t size;
	struct carve_place_slot *slots;
	size_t n_slots;
	const struct carve_place_type **used; /* types of resident + scheduled vGPUs */
	size_t n_used;
};

const char *carve_place_reason_id(enum carve_place_reason r);

bool carve_place_types_compatible(const struct carve_place_pgpu *p, const struct carve_place_type *a,
				  const struct carve_place_type *b);

/* How many more vGPUs of type t fit on p; *why says why it is 0. */
int64_t carve_place_capacity(const struct carve_place_pgpu *p, const struct carve_place_type *t,
			     enum carve_place_reason *why);

/* Which budget decided carve_place_capacity(p, t). */
enum carve_place_source carve_place_capacity_source(const struct carve_place_pgpu *p, const struct carve_place_type *t);

/* The discovery problem that stops t on p (the PGPU's own first), or NULL. */
const char *carve_place_problem(const struct carve_place_pgpu *p, const struct carve_place_type *t);
