/* sysfs_internal.h - shared by the sysfs backend's files: sysfs_host.c
 * (opening, PCI enumeration, dispatch, passthrough), sysfs_mdev.c (NVIDIA
 * mdev on a PF or on SR-IOV VFs, Intel GVT-g), sysfs_nvsriov.c (NVIDIA
 * vendor-specific VFIO) and sysfs_amd.c (AMD MxGPU / gim).
 *
 * Discovery functions fill one struct carve_hw_gpu whose PCI identity, VFs
 * (pci, driver, iommu group) and board are already known, and return 0 or a
 * negative errno with err naming the offending file.  Realization functions
 * get a freshly discovered GPU and act on it through carve_sysfs_write only,
 * after every string that goes into a path has been validated.  Not
 * thread-safe; the backend object is used by one thread at a time.
 */
#pragma once

#include "host.h"
#include "inventory.h"
#include "model/catalog.h"
#include "util/sysfs.h"

struct sysfs_host {
	struct carve_host base;
	struct carve_sysfs *fs;
	/* Operator-declared NVIDIA vendor-VFIO PFs, from CARVE_NVIDIA_VGPU_PFS
	 * ("PCI[=BOARD][,...]", like host.conf's nvidia_vgpu_pfs): PGPUs whatever
	 * their PCI class and ids say; NULL when unset. */
	char *declared_pfs;
};

/* What discovery knows about a GPU beyond the inventory: the directory it is
 * reached by ("bus/pci/devices/<pci>" or "class/mdev_bus/<name>"). */
struct sysfs_gpu_ctx {
	char dir[128];
	const struct carve_board *board;
};

/* Bounded retries for releases the vendor drivers are slow to accept. */
#define CARVE_SYSFS_RELEASE_TRIES 5
#define CARVE_SYSFS_RELEASE_DELAY_MS 100
/* How long to look for VFs after writing sriov_numvfs (the PF's driver
 * probes them; the vendor files appear when it is done). */
#define CARVE_SYSFS_VF_WAIT_TRIES 5
/* host-apply sets VF counts on their own, off any VM's start: it can wait
 * for a slow driver (NVIDIA's sriov-manage needs seconds) far longer. */
#define CARVE_SYSFS_VF_APPLY_WAIT_TRIES 100
#define CARVE_SYSFS_VF_WAIT_DELAY_MS 100

/* sysfs_host.c */
int carve_sysfs_read_u32(struct carve_sysfs *fs, const char *path, bool optional, uint32_t def, uint32_t *out,
			 struct carve_error *err);
int carve_sysfs_read_hex(struct carve_sysfs *fs, const char *path, bool optional, uint32_t *out,
			 struct carve_error *err);
/* Write with up to CARVE_SYSFS_RELEASE_TRIES attempts while the kernel says
 * EBUSY/EAGAIN; the final error says how many attempts were made. */
int carve_sysfs_write_retry(struct carve_sysfs *fs, const char *devdir, const char *attr, const char *value,
			    struct carve_error *err);
/* Discover one GPU by PCI address (bus/pci/devices/<pci>); -ENOENT if absent. */
int carve_sysfs_discover_one(struct sysfs_host *h, const char *pci, struct carve_hw_inventory *inv,
			     struct sysfs_gpu_ctx *ctx, struct carve_error *err);
/* Append board b's catalog types as mechanism impl publishes them (identifiers
 * per carve_hw_type_id_for), available 0.  AMD MxGPU types are per VF count:
 * only those of vf_count VFs, or with vf_count 0 (VFs not enabled) every one
 * that fits in g->sriov_totalvfs.  b NULL: nothing. */
int carve_sysfs_add_catalog_types(const struct carve_board *b, enum carve_impl impl, uint32_t vf_count,
				  struct carve_hw_gpu *g, struct carve_error *err);
/* Do g's vGPUs live on SR-IOV VFs?  NVIDIA vendor VFIO and AMD MxGPU always;
 * NVIDIA mdev when the PF itself publishes no mdev types (Ampere: the VFs are
 * the parents).  False without sriov_totalvfs. */
bool carve_sysfs_vf_backed(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g);
/* Set the PF's enabled VF count (bus/pci/devices/<pf>/sriov_numvfs) to want,
 * following the kernel's rule that a non-zero count changes only through 0,
 * and carve's: never disable VFs while one carries a vGPU or is bound to
 * vfio-pci (-EBUSY, SRIOV_VF_IN_USE, naming the VF).  g is a fresh discovery
 * of the PF.  -ERANGE beyond sriov_totalvfs.  Does not rediscover. */
int carve_sysfs_sriov_set_numvfs(struct sysfs_host *h, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g,
				 uint32_t want, struct carve_error *err);

/* sysfs_mdev.c */
int carve_sysfs_mdev_discover(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g,
			      struct carve_error *err);
int carve_sysfs_mdev_create(struct sysfs_host *h, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g,
			    const struct carve_hw_type *t, const struct carve_vgpu_spec *spec,
			    struct carve_vgpu_placement *out, struct carve_error *err);
int carve_sysfs_mdev_remove(struct sysfs_host *h, const char *uuid, struct carve_error *err);

/* sysfs_nvsriov.c */
int carve_sysfs_nvsriov_discover(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g,
				 struct carve_error *err);
int carve_sysfs_nvsriov_create(struct sysfs_host *h, const struct carve_hw_gpu *g, const struct carve_hw_type *t,
			       const struct carve_vgpu_spec *spec, struct carve_vgpu_placement *out,
			       struct carve_error *err);
int carve_sysfs_nvsriov_remove(struct sysfs_host *h, const char *vf_pci, struct carve_error *err);

/* sysfs_amd.c */
int carve_sysfs_amd_discover(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g,
			     struct carve_error *err);
int carve_sysfs_amd_create(struct sysfs_host *h, const struct carve_hw_gpu *g, const struct carve_hw_type *t,
			   const struct carve_vgpu_spec *spec, struct carve_vgpu_placement *out, struct carve_error *err);
/* Bind / unbind a device to vfio-pci (driver_override, unbind, drivers_probe). */
int carve_sysfs_bind_vfio(struct sysfs_host *h, const char *pci, const char *current_driver, struct carve_error *err);
int carve_sysfs_unbind_vfio(struct sysfs_host *h, const char *pci, struct carve_error *err);
