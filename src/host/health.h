/* health.h - a GPU's health from what NVML says of its memory, by rules
 * carve documents (docs/emit.md, "GPU health"):
 *
 *   failed    row remapping failed (NVIDIA's RMA criterion); the 64 page
 *             retirements the driver can hold are used up; an uncorrectable
 *             error since the driver loaded whose page waits to be retired
 *             (no new context until a reset); ECC on under a driver before
 *             GRID 9.0 (R430), where vGPUs do not start with ECC enabled
 *             (seed 003);
 *   degraded  a retirement or row remapping pending (it takes a GPU reset:
 *             pgpu-reset); uncorrectable errors since the driver loaded; an
 *             ECC mode change pending a reset;
 *   ok        otherwise, and whenever NVML said nothing.
 *
 * Placement never uses a failed GPU, and a degraded one only where its
 * GPU group allows it (degraded-pgpus=allow).  Pure functions; no state. */
#pragma once

#include <stddef.h>

#include "inventory.h"

enum carve_health {
	CARVE_HEALTH_OK,
	CARVE_HEALTH_DEGRADED,
	CARVE_HEALTH_FAILED,
	CARVE_HEALTH__MAX,
};

#define CARVE_HEALTH_MAX_RETIRED_PAGES 64
/* GRID 9.0, the first release that starts vGPUs with ECC on, is R430. */
#define CARVE_HEALTH_ECC_VGPU_DRIVER 430

const char *carve_health_name(enum carve_health h);
int carve_health_from_name(const char *s); /* -1 when unknown */

/* g's health with the host's NVIDIA driver version (may be "" or NULL);
 * why gets the first reason, "" for ok. */
enum carve_health carve_hw_gpu_health(const struct carve_hw_gpu *g, const char *driver, char *why, size_t size);
