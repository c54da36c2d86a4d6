/* nvml.h - NVIDIA's management library, loaded at run time.
 *
 * carve has no build dependency on NVML: libnvidia-ml.so.1 is dlopen()ed on
 * first use, once per process, and initialized once (nvmlInit_v2).  Where
 * it cannot be loaded (no NVIDIA driver, a container without it) every call
 * answers -ENOTSUP with the id NVML_UNAVAILABLE and the reason, and callers
 * treat the facts it would have given as unknown.  $CARVE_NVML_LIBRARY
 * names another library with the same calls (tests use carve's stand-in);
 * "none" disables NVML.
 *
 * Devices are named by PCI address ("0000:41:00.0"), as everywhere in carve.
 * Thread-safe: loading is guarded by pthread_once; NVML itself is
 * thread-safe.  Errors: 0 or a negative errno with a carve_error whose
 * message carries NVML's return code and its text (nvmlErrorString). */
#pragma once

#include <stdbool.h>

#include "inventory.h"
#include "util/error.h"

/* Is NVML loadable?  (Loads it on the first call.) */
bool carve_nvml_available(void);

/* NVIDIA mixed-size (heterogeneous) mode of the GPU at pci, as
 * `nvidia-smi vgpu -i N -shm 0|1` sets it: the driver refuses it while a
 * vGPU exists on the GPU (-EBUSY) and on GPUs without the capability
 * (-EOPNOTSUPP). */
int carve_nvml_set_mixed_size(const char *pci, bool on, struct carve_error *err);
int carve_nvml_get_mixed_size(const char *pci, bool *on, struct carve_error *err);

/* MIG: the current mode (*on) and the GPU instances, named by profile as
 * nvidia-smi names them ("1g.10gb": compute slices, memory in GB rounded
 * up), into gis/n (at most CARVE_HW_MAX_GIS).  A GPU without MIG answers
 * -EOPNOTSUPP. */
int carve_nvml_get_mig(const char *pci, bool *on, struct carve_hw_gi gis[CARVE_HW_MAX_GIS], uint8_t *n,
		       struct carve_error *err);
/* nvidia-smi -i N -mig 0|1: -EAGAIN (MIG_RESET_PENDING) when the driver
 * takes it only after a GPU reset. */
int carve_nvml_set_mig_mode(const char *pci, bool on, struct carve_error *err);
/* Destroy the GPU's GPU instances, then create profiles in order. */
int carve_nvml_set_mig_instances(const char *pci, const struct carve_strv *profiles, struct carve_error *err);
