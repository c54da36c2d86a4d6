/* host.h - the backend contract between carve and one host's GPUs.
 *
 * Two implementations: sysfs (a real kernel, or a fixture tree shaped like
 * one) and sim (an in-memory host built from a profile, optionally keeping its
 * state in a file so it survives a killed process as kernel state would).
 * Callers above this layer never touch sysfs themselves.
 *
 * Realization requests name a parent chosen by placement; backends enforce the
 * drivers' own rules (available instances, one type per parent, SR-IOV
 * creatable lists) and fail with -EBUSY/-ENOSPC/-EINVAL rather than guessing.
 * Every string from outside is validated (UUID, PCI address, type identifier)
 * before any path is built.  A backend object is used by one thread at a time.
 */
#pragma once

#include "inventory.h"
#include "util/error.h"

struct carve_host;

struct carve_vgpu_spec {
	char uuid[37];        /* vGPU/mdev UUID */
	char pgpu_pci[13];    /* the PGPU (PF) chosen by placement */
	char type_id[65];     /* vendor type identifier */
	enum carve_impl impl;
	char params[256];     /* vgpu_params to write after creation, "" for none */
	/* VF-backed (nvidia-sriov, amd-mxgpu): create on this VF, which must be
	 * free ("" = the backend's choice, the first free VF).  vm-start names
	 * the VF it recorded in its intent, so that an interrupted start leaves
	 * no in-use VF the store does not name (host-reconcile removes it). */
	char vf_pci[13];
};

/* Where a realized vGPU lives: what the VM's XML/QEMU args must reference. */
struct carve_vgpu_placement {
	char uuid[37];        /* mdev UUID ("" for VF-backed) */
	char device_pci[13];  /* VF or whole GPU for PCI hostdevs; mdev parent otherwise */
};

struct carve_host_ops {
	const char *name;
	int (*discover)(struct carve_host *h, struct carve_hw_inventory *out, struct carve_error *err);
	/* One GPU, as discover() reports it, into out (an inventory of one
	 * GPU); -ENOENT when there is no such GPU (any more). */
	int (*discover_gpu)(struct carve_host *h, const char *pci, struct carve_hw_inventory *out,
			    struct carve_error *err);
	/* Create spec's vGPU on spec->pgpu_pci.  known: that GPU as the caller
	 * last discovered it, handed down so that the backend does not read it
	 * again (it reads only what the act itself needs: the type's
	 * availability, the VF it writes to), or NULL to let it discover the
	 * GPU itself.  A stale `known` is safe: the kernel refuses what no
	 * longer fits and the backend reports that.  Whatever the result, the
	 * caller's picture of the GPU is out of date afterwards: the devices
	 * and VFs changed on success; on failure the backend removed what it
	 * made, but it may have enabled VFs (sriov_numvfs) on the way.  The
	 * caller rediscovers the GPU (discover_gpu) when its act is over. */
	int (*vgpu_create)(struct carve_host *h, const struct carve_hw_gpu *known, const struct carve_vgpu_spec *spec,
			   struct carve_vgpu_placement *out, struct carve_error *err);
	/* Remove; -ENOENT when it is already gone (callers treat that as done). */
	int (*vgpu_remove)(struct carve_host *h, const struct carve_vgpu_spec *spec,
			   const struct carve_vgpu_placement *where, struct carve_error *err);
	int (*vgpu_set_params)(struct carve_host *h, const struct carve_vgpu_placement *where, const char *params,
			       struct carve_error *err);
	/* Set the SR-IOV PF's enabled VF count (host-apply), under the
	 * kernel's rules: at most sriov_totalvfs (-ERANGE), one non-zero
	 * count becomes another through 0, never while a VF is in use
	 * (-EBUSY SRIOV_VF_IN_USE, naming it); the new VFs are waited for
	 * (bounded) as a create that enables them does, and *waited_ms (may
	 * be NULL) says how long they took to appear.  The same count changes
	 * nothing. */
	int (*sriov_set_numvfs)(struct carve_host *h, const char *pf_pci, uint32_t n, unsigned *waited_ms,
				struct carve_error *err);
	/* NVIDIA mixed-size (heterogeneous) mode of a GPU (host-apply), under
	 * the driver's rules: only where the board has it (-EOPNOTSUPP
	 * MIXED_SIZE_UNSUPPORTED), never while a vGPU exists on the GPU
	 * (-EBUSY MIXED_SIZE_BUSY, the driver's "in use"); enabling VFs resets
	 * it to off, so it is set after the VF count and before the first vGPU.
	 * The real driver takes it through NVML only (nvml.h); fixture trees
	 * and the testbed's emulated driver through a file.  The same mode
	 * changes nothing. */
	int (*set_mixed_size)(struct carve_host *h, const char *pci, bool on, struct carve_error *err);
	/* MIG (host-apply) on GPUs whose board has MIG-backed types
	 * (-EOPNOTSUPP MIG_UNSUPPORTED otherwise), under the driver's rules:
	 * never while a vGPU exists on the GPU (-EBUSY MIG_BUSY).  The mode
	 * first (turning it off destroys the GPU instances), then the GPU
	 * instances, which need the mode on (-EIO MIG_MODE_OFF) and replace
	 * the GPU's: profiles of the board (-EINVAL MIG_PROFILE_INVALID) within
	 * its slices (-ENOSPC MIG_NO_SPACE).  Enabling VFs destroys the
	 * instances: they are made after the VF count. */
	int (*set_mig_mode)(struct carve_host *h, const char *pci, bool on, struct carve_error *err);
	int (*set_mig_instances)(struct carve_host *h, const char *pci, const struct carve_strv *profiles,
				 struct carve_error *err);
	/* Reset the GPU (pgpu-reset): what waits for a reset takes effect (a
	 * pending page retirement or row remapping, an ECC mode change) and
	 * the volatile ECC counters start again.  Never with a vGPU on it
	 * (-EBUSY PGPU_IN_USE).  sysfs: the PCI function reset (<dev>/reset). */
	int (*gpu_reset)(struct carve_host *h, const char *pci, struct carve_error *err);
	/* The directory of the host's modprobe.d files (driver options that
	 * persist across reboots: nvsched.h), created if it is carve's own;
	 * -ENOTSUP MODPROBE_DIR_UNKNOWN when this host has none (a fixture
	 * tree without $CARVE_MODPROBE_DIR, a sim without a state file). */
	int (*modprobe_dir)(struct carve_host *h, char *buf, size_t size, struct carve_error *err);
	void (*free)(struct carve_host *h);
};

struct carve_host {
	const struct carve_host_ops *ops;
};

/* Open a backend: exactly one of sysfs_root / profile_path is used; with
 * state_path the sim keeps its state there across processes.  declared_pfs:
 * operator-declared NVIDIA vendor-VFIO PFs, "PCI[=BOARD][,...]" (host.conf's
 * nvidia_vgpu_pfs; the CLI's CARVE_NVIDIA_VGPU_PFS, carved's
 * host.nvidia-vgpu-pfs), or NULL; copied. */
int carve_host_open_sysfs(const char *sysfs_root, const char *declared_pfs, struct carve_host **out,
			  struct carve_error *err);
int carve_host_open_sim(const char *profile_path, const char *state_path, struct carve_host **out,
			struct carve_error *err);
void carve_host_free(struct carve_host *h);

/* NVIDIA vgpu_params syntax as carve accepts it before writing it anywhere:
 * "key=value" pairs separated by commas, [A-Za-z0-9_=,.:-] only, shorter
 * than 256 bytes ("" is valid: no params). */
bool carve_vgpu_params_valid(const char *params);
/* The GPU instances of profiles for board b into gis/n (as set_mig_instances
 * takes them): -EINVAL/-ENOSPC with err (MIG_PROFILE_INVALID, MIG_NO_SPACE,
 * naming pci). */
int carve_mig_layout(const struct carve_board *b, const char *pci, const struct carve_strv *profiles,
		     struct carve_hw_gi gis[CARVE_HW_MAX_GIS], uint8_t *n, struct carve_error *err);
/* -EBUSY with id, "<pci>: cannot <what>: vGPU <uuid or VF> exists on the
 * GPU", when a vGPU exists on g (the drivers' "in use"); else 0. */
int carve_hw_gpu_refuse_busy(const struct carve_hw_gpu *g, const char *id, const char *what, struct carve_error *err);
/* The driver's preconditions for turning g's mixed-size mode on or off:
 * MIXED_SIZE_UNSUPPORTED, MIXED_SIZE_BUSY (a vGPU exists); 1 when the mode
 * is known to be that already (nothing to do), else 0. */
int carve_mixed_size_changeable(const struct carve_hw_gpu *g, bool on, struct carve_error *err);
/* The driver's preconditions of any MIG change on g (of board b, NULL when
 * unknown): MIG_UNSUPPORTED, MIG_BUSY (a vGPU exists), else 0. */
int carve_mig_changeable(const struct carve_hw_gpu *g, const struct carve_board *b, struct carve_error *err);
/* A vGPU's vgpu_params: the PGPU's defaults (host-apply) with the vGPU's own
 * (both valid, may be "") taking precedence key by key, defaults first.
 * -E2BIG when the result does not fit size (out is then ""). */
int carve_vgpu_params_merge(const char *defaults, const char *own, char *out, size_t size);

static inline int carve_host_discover(struct carve_host *h, struct carve_hw_inventory *out, struct carve_error *err)
{
	return h->ops->discover(h, out, err);
}

static inline int carve_host_discover_gpu(struct carve_host *h, const char *pci, struct carve_hw_inventory *out,
					  struct carve_error *err)
{
	return h->ops->discover_gpu(h, pci, out, err);
}
