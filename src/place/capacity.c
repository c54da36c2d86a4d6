#include "capacity.h"

#include <string.h>

const char *carve_place_reason_id(enum carve_place_reason r)
{
	switch (r) {
	case CARVE_PLACE_NOT_SUPPORTED: return "VGPU_TYPE_NOT_SUPPORTED";
	case CARVE_PLACE_NOT_ENABLED: return "VGPU_TYPE_NOT_ENABLED";
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
	if (a->passthrough || b->passthrough || !p->mixed_size)
		return false;
	return strcmp(a->board, b->board) == 0 && strcmp(a->implementation, b->implementation) == 0 &&
	       strcmp(a->series, b->series) == 0;
}

int64_t carve_place_capacity(const struct carve_place_pgpu *p, const struct carve_place_type *t,
			     enum carve_place_reason *why)
{
	enum carve_place_reason dummy;
	if (!why)
		why = &dummy;
	const struct carve_place_slot *slot = NULL;
	for (size_t i = 0; i < p->n_slots; i++)
		if (p->slots[i].type == t || strcmp(p->slots[i].type->uuid, t->uuid) == 0) {
			slot = &p->slots[i];
			break;
		}
	if (!slot || !p->present)
		return *why = CARVE_PLACE_NOT_SUPPORTED, 0;
	if (!slot->enabled)
		return *why = CARVE_PLACE_NOT_ENABLED, 0;
	int64_t used = 0;
	for (size_t i = 0; i < p->n_used; i++) {
		if (!carve_place_types_compatible(p, p->used[i], t))
			return *why = CARVE_PLACE_INCOMPATIBLE, 0;
		used += p->used[i]->size;
	}
	int64_t left = p->size - used;
	int64_t n = t->size > 0 && left > 0 ? left / t->size : 0;
	if (t->max_instances && n > (int64_t)t->max_instances)
		n = t->max_instances;
	if (slot->host_limited && n > slot->host_available)
		n = slot->host_available > 0 ? slot->host_available : 0;
	*why = n > 0 ? CARVE_PLACE_OK : CARVE_PLACE_NO_CAPACITY;
	return n;
}
