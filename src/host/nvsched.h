/* nvsched.h - NVIDIA's vGPU scheduler policy as the driver takes it at load
 * time: the RmPVMRL registry value, per GPU, in a modprobe.d file carve
 * owns (CARVE_NVSCHED_FILE in the host's modprobe directory):
 *
 *   options nvidia NVreg_RegistryDwordsPerDevice="pci=0000:41:00.0;RmPVMRL=0x00030001;..."
 *
 * RmPVMRL (NVIDIA vGPU software user guide, "Changing the vGPU scheduling
 * policy"): 0x00 best effort, 0x01 equal share, 0x11 fixed share; a time
 * slice of TT ms (1..30) is 0x00TT0001 / 0x00TT0011.  The file takes effect
 * when the nvidia module loads again; `nvidia-smi vgpu set-scheduler-state`
 * changes the running policy but does not persist, so carve writes the file
 * and says the change is pending until the driver reloads.
 *
 * The file is carve's alone: read back, it must be what carve writes (one
 * options line; other content is refused, -EINVAL NVSCHED_FILE_INVALID,
 * rather than overwritten).  carve_nvsched_set() replaces it atomically
 * (util/file.h) and removes it when no GPU is left in it.  Not thread-safe
 * for one directory (host-apply holds the model's write lock). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CARVE_NVSCHED_FILE "carve-nvidia-vgpu-scheduler.conf"
#define CARVE_NVSCHED_MAX_GPUS 64
#define CARVE_NVSCHED_MAX_SLICE_MS 30

enum carve_nvsched_policy {
	CARVE_NVSCHED_BEST_EFFORT,
	CARVE_NVSCHED_EQUAL_SHARE,
	CARVE_NVSCHED_FIXED_SHARE,
	CARVE_NVSCHED_POLICY_LAST,
};

const char *carve_nvsched_policy_name(enum carve_nvsched_policy p);
int carve_nvsched_policy_from_name(const char *s); /* -1 when unknown */

struct carve_nvsched {
	enum carve_nvsched_policy policy;
	uint32_t slice_ms; /* 0: the driver's default time slice */
};

uint32_t carve_nvsched_rmpvmrl(const struct carve_nvsched *s);
/* "equal-share, 3 ms time slice (RmPVMRL=0x00030001)" */
void carve_nvsched_describe(const struct carve_nvsched *s, char *buf, size_t size);

/* The policy for pci in dir's file: 1 and *out when listed, 0 when not
 * (or no file), negative errno on a file carve did not write. */
int carve_nvsched_get(const char *dir, const char *pci, struct carve_nvsched *out, struct carve_error *err);
/* Set (s) or drop (NULL) pci's entry, keeping the others. */
int carve_nvsched_set(const char *dir, const char *pci, const struct carve_nvsched *s, struct carve_error *err);
