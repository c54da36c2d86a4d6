#include "health.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[CARVE_HEALTH__MAX] = {
	[CARVE_HEALTH_OK] = "ok", [CARVE_HEALTH_DEGRADED] = "degraded", [CARVE_HEALTH_FAILED] = "failed"};

const char *carve_health_name(enum carve_health h)
{
	return (unsigned)h < CARVE_HEALTH__MAX ? names[h] : "?";
}

int carve_health_from_name(const char *s)
{
	for (int i = 0; i < CARVE_HEALTH__MAX; i++)
		if (s && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static enum carve_health say(enum carve_health h, char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static enum carve_health say(enum carve_health h, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return h;
}

enum carve_health carve_hw_gpu_health(const struct carve_hw_gpu *g, const char *driver, char *why, size_t size)
{
	const struct carve_hw_ecc *e = &g->ecc;
	if (size)
		why[0] = '\0';
	if (!e->known)
		return CARVE_HEALTH_OK;
	uint32_t retired = e->retired_sbe + e->retired_dbe;
	long major = driver && *driver ? strtol(driver, NULL, 10) : 0;
	if (e->remap_failure)
		return say(CARVE_HEALTH_FAILED, why, size, "row remapping failed (NVIDIA's RMA criterion)");
	if (retired >= CARVE_HEALTH_MAX_RETIRED_PAGES)
		return say(CARVE_HEALTH_FAILED, why, size, "%u pages retired: the driver holds no more than %d", retired,
			   CARVE_HEALTH_MAX_RETIRED_PAGES);
	if (e->volatile_uncorrected > 0 && e->retired_pending)
		return say(CARVE_HEALTH_FAILED, why, size,
			   "%llu uncorrectable ECC error(s) since the driver loaded, the page waits to be retired: no "
			   "new context until a GPU reset (pgpu-reset)",
			   (unsigned long long)e->volatile_uncorrected);
	if (e->enabled && major > 0 && major < CARVE_HEALTH_ECC_VGPU_DRIVER)
		return say(CARVE_HEALTH_FAILED, why, size,
			   "ECC is on and driver %s is older than GRID 9.0 (R%d): vGPUs do not start (disable ECC, "
			   "nvidia-smi -e 0, or update the driver)",
			   driver, CARVE_HEALTH_ECC_VGPU_DRIVER);
	if (e->retired_pending || e->remap_pending)
		return say(CARVE_HEALTH_DEGRADED, why, size, "%s pending: it takes a GPU reset (pgpu-reset)",
			   e->retired_pending ? "a page retirement" : "a row remapping");
	if (e->volatile_uncorrected > 0)
		return say(CARVE_HEALTH_DEGRADED, why, size, "%llu uncorrectable ECC error(s) since the driver loaded",
			   (unsigned long long)e->volatile_uncorrected);
	if (e->pending != e->enabled)
		return say(CARVE_HEALTH_DEGRADED, why, size, "ECC %s pending: it takes a GPU reset",
			   e->pending ? "on" : "off");
	return CARVE_HEALTH_OK;
}
