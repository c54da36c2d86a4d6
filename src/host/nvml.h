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
#include <stddef.h>

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

/* NVLink peers and ECC facts of the GPU at pci into g's nvlink_known,
 * nvlinks/n_nvlinks (active links per device at the other end, in NVML's
 * link order; on NVSwitch systems that end is a switch) and ecc (ecc.known
 * set when NVML answered the ECC mode).  A call NVML answers NOT_SUPPORTED,
 * or that this NVML lacks, leaves its fact unknown and is no error: no
 * NVLink on the GPU leaves nvlink_known false; a GPU without ECC leaves
 * ecc.known false; counters NVML keeps only with ECC on, retired pages
 * (before Ampere) and remapped rows (Ampere on) stay 0 or false where it
 * does not give them.  Only g's facts are written, and left unknown on
 * error: -ENOTSUP NVML_UNAVAILABLE when NVML cannot be loaded; -ENOENT when
 * NVML has no such device (not an NVIDIA GPU, or one bound to another
 * driver); -E2BIG beyond CARVE_HW_MAX_NVLINK peers; -EIO and others
 * (NVML_CALL_FAILED) when a call fails. */
int carve_nvml_get_facts(const char *pci, struct carve_hw_gpu *g, struct carve_error *err);

/* NVIDIA's driver version ("550.54.14", nvmlSystemGetDriverVersion) into
 * buf ("" on error); NVML's own limit is 80 bytes with the NUL.  -ERANGE
 * when size is too small. */
int carve_nvml_driver_version(char *buf, size_t size, struct carve_error *err);
