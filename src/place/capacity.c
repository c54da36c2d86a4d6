#include "capacity.h"

#include <string.h>

const char *carve_place_reason_id(enum carve_place_reason r)
{
	switch (r) {
	case CARVE_PLACE_NOT_SUPPORTED: return "VGPU_TYPE_NOT_SUPPORTED";
	case CARVE_PLACE_NOT_ENABLED: return "VGPU_TYPE_NOT_ENABLED";
	case CARVE_PLACE_DISCOVERY_PROBLEM: return "DISCOVERY_PROBLEM";
	case CARVE_PLACE_UNHEALTHY: return "PGPU_UNHEALTHY";
	case CARVE_PLACE_NO_P2P: return "P2P_NOT_POSSIBLE";
	case CARVE_PLACE_INCOMPATIBLE: return "VGPU_TYPE_NOT_COMPATIBLE_WITH_RUNNING_TYPE";
	case CARVE_PLACE_NO_CAPACITY: return "PGPU_INSUFFICIENT_CAPACITY_FOR_VGPU";
	default: return "OK";
	}
}

bool carve_place_types_compatible(const struct carve_place_pgpu *p, const struct carve_place_type *a,
				  const struct carve_place_type *b)
{
	if (a == b || strcmp(a->uuid, b->uuid) == 0)
		return !a->passthrough;
	if (a->passthrough || b->passthrough || (a->mig_slices > 0) != (b->mig_slices > 0))
		return false;
	/* MIG-backed vGPUs of any size share a GPU, each in its own GPU
	 * instance; time-sliced ones of different types need mixed-size mode. */
	if (!p->mixed_size && !a->mig_slices)
		return false;
	return strcmp(a->board, b->board) == 0 && strcmp(a->implementation, b->implementation) == 0 &&
	       strcmp(a->series, b->series) == 0;
}

static const struct carve_place_slot *find_slot(const struct carve_place_pgpu *p, const struct carve_place_type *t)
{
	for (size_t i = 0; i < p->n_slots; i++)
		if (p->slots[i].type == t || strcmp(p->slots[i].type->uuid, t->uuid) == 0)
			return p->slots[i].unsupported ? NULL : &p->slots[i];
	return NULL;
}

const char *carve_place_problem(const struct carve_place_pgpu *p, const struct carve_place_type *t)
{
	if (p->problem)
		return p->problem;
	const struct carve_place_slot *slot = find_slot(p, t);
	return slot ? slot->problem : NULL;
}

/* The two budgets of t on p, before the checks: carve's (-1 when none is
 * known) and the kernel's (-1 when the driver's figure means nothing). */
static void budgets(const struct carve_place_pgpu *p, const struct carve_place_slot *slot,
		    const struct carve_place_type *t, int64_t used, int64_t *model, int64_t *kernel)
{
	*model = -1;
	if (t->size > 0) {
		int64_t left = p->size - used;
		*model = left > 0 ? left / t->size : 0;
		if (t->max_instances && *model > (int64_t)t->max_instances)
			*model = t->max_instances;
	}
	*kernel = -1;
	if (slot->host_limited) {
		int64_t k = slot->host_available - slot->pending;
		*kernel = k > 0 ? k : 0;
	}
}

int64_t carve_place_capacity(const struct carve_place_pgpu *p, const struct carve_place_type *t,
			     enum carve_place_reason *why)
{
	enum carve_place_reason dummy;
	if (!why)
		why = &dummy;
	const struct carve_place_slot *slot = find_slot(p, t);
	if (!slot || !p->present)
		return *why = CARVE_PLACE_NOT_SUPPORTED, 0;
	if (p->problem || slot->problem)
		return *why = CARVE_PLACE_DISCOVERY_PROBLEM, 0;
	if (!slot->enabled)
		return *why = CARVE_PLACE_NOT_ENABLED, 0;
	if (p->unhealthy)
		return *why = CARVE_PLACE_UNHEALTHY, 0;
	int64_t used = 0;
	for (size_t i = 0; i < p->n_used; i++) {
		if (!carve_place_types_compatible(p, p->used[i], t))
			return *why = CARVE_PLACE_INCOMPATIBLE, 0;
		used += p->used[i]->size;
	}
	int64_t model, kernel;
	budgets(p, slot, t, used, &model, &kernel);
	/* No budget at all (no catalog entry, the driver's figure not meaningful
	 * yet): nothing can be promised. */
	int64_t n = model < 0 ? (kernel < 0 ? 0 : kernel) : kernel < 0 || model < kernel ? model : kernel;
	*why = n > 0 ? CARVE_PLACE_OK : CARVE_PLACE_NO_CAPACITY;
	return n;
}

enum carve_place_source carve_place_capacity_source(const struct carve_place_pgpu *p, const struct carve_place_type *t)
{
	const struct carve_place_slot *slot = find_slot(p, t);
	if (!slot)
		return CARVE_PLACE_SOURCE_KERNEL;
	int64_t used = 0;
	for (size_t i = 0; i < p->n_used; i++)
		used += p->used[i]->size;
	int64_t model, kernel;
	budgets(p, slot, t, used, &model, &kernel);
	return model >= 0 && (kernel < 0 || model < kernel) ? CARVE_PLACE_SOURCE_MODEL : CARVE_PLACE_SOURCE_KERNEL;
}
