/* capacity.h - XAPI's placement rules for one PGPU, as pure functions over a
 * snapshot (no store, no host), so they are exhaustively unit-testable and
 * shared by placement, remaining-capacity queries and the benchmarks.
 *
 * Checks, in XAPI's order: the type is supported on the PGPU; enabled; compatible
 * with every vGPU already resident or scheduled there (one type per PGPU
 * unless the hardware mixes sizes - then same board, implementation and
 * series; passthrough excludes everything); then capacity =
 * (PGPU size - sum of sizes there) / type size.
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
	CARVE_PLACE_INCOMPATIBLE = 3,
	CARVE_PLACE_NO_CAPACITY = 4,
};

struct carve_place_type {
	char uuid[37];
	int64_t size;
	bool passthrough;
	char board[64];
	char implementation[24];
	char series[4];
	uint32_t max_instances;
};

struct carve_place_slot { /* a supported type on a PGPU */
	const struct carve_place_type *type;
	bool enabled;
	/* What the driver says it can still create (available_instances, the
	 * SR-IOV creatable list).  It sees devices carve did not create, which
	 * the model cannot; the model sees reservations not yet realized, which
	 * the driver cannot.  Capacity is the smaller of the two.  host_limited is
	 * false where the driver's figure means nothing yet (an SR-IOV PF whose
	 * VFs are not enabled reports 0 for everything). */
	bool host_limited;
	int64_t host_available;
};

struct carve_place_pgpu {
	char uuid[37];
	char pci[13];
	int32_t numa_node;
	bool mixed_size;
	bool present;
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
