#include "impl.h"

#include <errno.h>
#include <string.h>

static const char *const names[CARVE_IMPL__MAX] = {
	[CARVE_IMPL_PASSTHROUGH] = "passthrough",   [CARVE_IMPL_NVIDIA_MDEV] = "nvidia-mdev",
	[CARVE_IMPL_NVIDIA_SRIOV] = "nvidia-sriov", [CARVE_IMPL_AMD_MXGPU] = "amd-mxgpu",
	[CARVE_IMPL_GVT_G] = "gvt-g",
};

const char *carve_impl_name(enum carve_impl impl)
{
	return (unsigned)impl < CARVE_IMPL__MAX ? names[impl] : "unknown";
}

int carve_impl_from_name(const char *name)
{
	for (int i = 0; name && i < CARVE_IMPL__MAX; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -EINVAL;
}
