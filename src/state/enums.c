/* enums.c - the one string table of each state enum (objects.h). */
#include <errno.h>
#include <string.h>

#include "objects.h"
#include "util/cleanup.h"

static const char *const power_names[CARVE_POWER__MAX] = {
	[CARVE_POWER_HALTED] = "halted", [CARVE_POWER_STARTING] = "starting",
	[CARVE_POWER_RUNNING] = "running", [CARVE_POWER_STOPPING] = "stopping",
	[CARVE_POWER_SUSPENDED] = "suspended",
};

static const char *const vgpu_state_names[CARVE_VGPU__MAX] = {
	[CARVE_VGPU_DEFINED] = "defined", [CARVE_VGPU_RESERVED] = "reserved",
	[CARVE_VGPU_RUNNING] = "running", [CARVE_VGPU_STOPPING] = "stopping",
};

static const char *const origin_names[CARVE_ORIGIN__MAX] = {
	[CARVE_ORIGIN_CARVE] = "carve", [CARVE_ORIGIN_ADOPTED] = "adopted",
};

static const char *const p2p_names[CARVE_P2P__MAX] = {
	[CARVE_P2P_NONE] = "none", [CARVE_P2P_PREFERRED] = "preferred", [CARVE_P2P_REQUIRED] = "required",
};

static const char *const migration_names[CARVE_MIGRATION__MAX] = {
	[CARVE_MIGRATION_NONE] = "none", [CARVE_MIGRATION_PREPARING] = "preparing",
	[CARVE_MIGRATION_PREPARED] = "prepared", [CARVE_MIGRATION_RELEASING] = "releasing",
	[CARVE_MIGRATION_ABORTING] = "aborting",
};

static const char *const degraded_names[CARVE_DEGRADED__MAX] = {
	[CARVE_DEGRADED_AVOID] = "avoid", [CARVE_DEGRADED_ALLOW] = "allow",
};

static int from_name(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

#define NAME_OF(names, v) ((unsigned)(v) < ARRAY_SIZE(names) && (names)[v] ? (names)[v] : "")

const char *carve_power_state_name(enum carve_power_state s) { return NAME_OF(power_names, s); }
int carve_power_state_from_name(const char *name) { return from_name(power_names, ARRAY_SIZE(power_names), name); }
bool carve_power_state_between(enum carve_power_state s)
{
	return s == CARVE_POWER_STARTING || s == CARVE_POWER_STOPPING;
}
const char *carve_vgpu_state_name(enum carve_vgpu_state s) { return NAME_OF(vgpu_state_names, s); }
int carve_vgpu_state_from_name(const char *name)
{
	return from_name(vgpu_state_names, ARRAY_SIZE(vgpu_state_names), name);
}
const char *carve_vgpu_origin_name(enum carve_vgpu_origin o) { return NAME_OF(origin_names, o); }
int carve_vgpu_origin_from_name(const char *name) { return from_name(origin_names, ARRAY_SIZE(origin_names), name); }
const char *carve_p2p_name(enum carve_p2p p) { return NAME_OF(p2p_names, p); }
int carve_p2p_from_name(const char *name) { return from_name(p2p_names, ARRAY_SIZE(p2p_names), name); }
const char *carve_migration_name(enum carve_migration m) { return NAME_OF(migration_names, m); }
int carve_migration_from_name(const char *name)
{
	return from_name(migration_names, ARRAY_SIZE(migration_names), name);
}
const char *carve_degraded_policy_name(enum carve_degraded_policy p) { return NAME_OF(degraded_names, p); }
int carve_degraded_policy_from_name(const char *name)
{
	return from_name(degraded_names, ARRAY_SIZE(degraded_names), name);
}
