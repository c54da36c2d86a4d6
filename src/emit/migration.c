/* migration.c - may a vGPU move live from one host's type to another's?
 *
 * NVIDIA supports live migration of a vGPU only onto the identical vGPU
 * type (the guest driver was loaded against that profile's framebuffer,
 * heads and engines) and between vGPU manager releases it declares
 * compatible, which never spans major driver branches.  We therefore
 * require the same model name, the same type id, and the same major branch
 * (the number before the first '.': "535" of "535.129.03").  The kernel's
 * mdev migration_version attribute, where a vendor driver provides one, is
 * the authoritative per-device check and is consulted by whoever holds the
 * two devices; this function answers from the model alone.
 */
#include "internal.h"

#include <string.h>

#include "util/str.h"

/* Major branch of a driver version "535.129.03" -> 535; -1 if malformed
 * (which makes the pair incompatible). */
static long driver_branch(const char *v)
{
	long major = 0;
	size_t digits = 0;
	if (!v)
		return -1;
	while (v[digits] >= '0' && v[digits] <= '9') {
		if (digits == 6)
			return -1;
		major = major * 10 + (v[digits] - '0');
		digits++;
	}
	if (digits == 0 || (v[digits] != '\0' && v[digits] != '.'))
		return -1;
	/* The rest must still look like a version: digits and dots only. */
	for (const char *p = v + digits; *p; p++)
		if (!(*p == '.' || (*p >= '0' && *p <= '9')))
			return -1;
	return major;
}

bool carve_emit_migration_compatible(const char *type_a_id, const char *model_a, const char *type_b_id,
                                     const char *model_b, const char *driver_a, const char *driver_b)
{
	if (!type_a_id || !type_b_id || !model_a || !model_b)
		return false;
	if (!carve_ident_valid(type_a_id) || strcmp(type_a_id, type_b_id) != 0)
		return false;
	if (!*model_a || strcmp(model_a, model_b) != 0)
		return false;
	long a = driver_branch(driver_a), b = driver_branch(driver_b);
	return a >= 0 && a == b;
}
