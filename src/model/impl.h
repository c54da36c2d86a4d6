/* impl.h - how a vGPU is made: the "implementation" of a vGPU type.
 *
 * The names are stable strings used in the store, the API and the CLI.
 */
#pragma once

enum carve_impl {
	CARVE_IMPL_PASSTHROUGH = 0, /* whole GPU to one VM through vfio-pci */
	CARVE_IMPL_NVIDIA_MDEV,     /* NVIDIA vGPU over the VFIO mdev bus (PF or VF parent) */
	CARVE_IMPL_NVIDIA_SRIOV,    /* NVIDIA vendor-specific VFIO on SR-IOV VFs (vGPU 17+, no mdev) */
	CARVE_IMPL_AMD_MXGPU,       /* AMD MxGPU: one SR-IOV VF per vGPU (gim driver) */
	CARVE_IMPL_GVT_G,           /* Intel GVT-g mdev types */
	CARVE_IMPL__MAX,
};

const char *carve_impl_name(enum carve_impl impl);
/* Returns the enum value, or -EINVAL for an unknown name. */
int carve_impl_from_name(const char *name);
