#include "nvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/pci.h"

/* The subset of nvml.h carve uses, declared here (ABI-stable since the
 * calls appeared; versioned structs carry their version). */
typedef int nvml_return;
typedef struct nvml_device *nvml_device;
enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_IN_USE = 19,
};
struct nvml_vgpu_heterogeneous_mode {
	unsigned int version, mode;
};
#define NVML_STRUCT_VERSION(s, v) ((unsigned int)(sizeof(s) | ((v) << 24U)))

static struct {
	void *lib;
	char why[256];
	nvml_return (*init)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*by_pci)(const char *, nvml_device *);
	nvml_return (*set_hetero)(nvml_device, const struct nvml_vgpu_heterogeneous_mode *);
	nvml_return (*get_hetero)(nvml_device, struct nvml_vgpu_heterogeneous_mode *);
} nv;
static pthread_once_t nv_once = PTHREAD_ONCE_INIT;

static void *sym(const char *name)
{
	return nv.lib ? dlsym(nv.lib, name) : NULL;
}

static void nv_load(void)
{
	const char *path = getenv("CARVE_NVML_LIBRARY");
	if (!path || !*path)
		path = "libnvidia-ml.so.1";
	if (strcmp(path, "none") == 0) {
		snprintf(nv.why, sizeof(nv.why), "NVML disabled (CARVE_NVML_LIBRARY=none)");
		return;
	}
	if (!(nv.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
		const char *e = dlerror();
		snprintf(nv.why, sizeof(nv.why), "cannot load %s: %s", path, e ? e : "unknown error");
		return;
	}
	*(void **)&nv.init = sym("nvmlInit_v2");
	*(void **)&nv.error_string = sym("nvmlErrorString");
	*(void **)&nv.by_pci = sym("nvmlDeviceGetHandleByPciBusId_v2");
	*(void **)&nv.set_hetero = sym("nvmlDeviceSetVgpuHeterogeneousMode");
	*(void **)&nv.get_hetero = sym("nvmlDeviceGetVgpuHeterogeneousMode");
	nvml_return r = nv.init && nv.by_pci ? nv.init() : -1;
	if (r != NVML_SUCCESS) {
		snprintf(nv.why, sizeof(nv.why), "%s: %s", path,
			 r == -1 ? "not NVML (nvmlInit_v2 or nvmlDeviceGetHandleByPciBusId_v2 missing)"
				 : "nvmlInit_v2 failed");
		dlclose(nv.lib);
		nv.lib = NULL;
	}
}

bool carve_nvml_available(void)
{
	pthread_once(&nv_once, nv_load);
	return nv.lib != NULL;
}

static int unavailable(struct carve_error *err)
{
	return carve_error_set(err, -ENOTSUP, "NVML_UNAVAILABLE", "NVIDIA's NVML is not available: %s", nv.why);
}

static int nv_errno(nvml_return r)
{
	switch (r) {
	case NVML_ERROR_INVALID_ARGUMENT: return -EINVAL;
	case NVML_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	case NVML_ERROR_NO_PERMISSION: return -EPERM;
	case NVML_ERROR_NOT_FOUND: return -ENOENT;
	case NVML_ERROR_IN_USE: return -EBUSY;
	default: return -EIO;
	}
}

static int nv_fail(nvml_return r, const char *call, const char *pci, struct carve_error *err)
{
	const char *text = nv.error_string ? nv.error_string(r) : NULL;
	return carve_error_set(err, nv_errno(r), "NVML_CALL_FAILED", "%s: %s: NVML error %d (%s)", pci, call, r,
			       text ? text : "?");
}

/* The device at pci, or an error (NVML not loaded, no such device). */
static int device(const char *pci, nvml_device *out, struct carve_error *err)
{
	if (!carve_nvml_available())
		return unavailable(err);
	if (!carve_pci_valid(pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", pci);
	nvml_return r = nv.by_pci(pci, out);
	return r == NVML_SUCCESS ? 0 : nv_fail(r, "nvmlDeviceGetHandleByPciBusId_v2", pci, err);
}

int carve_nvml_set_mixed_size(const char *pci, bool on, struct carve_error *err)
{
	nvml_device d;
	int r = device(pci, &d, err);
	if (r < 0)
		return r;
	if (!nv.set_hetero)
		return carve_error_set(err, -EOPNOTSUPP, "NVML_CALL_FAILED",
				       "%s: this NVML has no nvmlDeviceSetVgpuHeterogeneousMode (driver before vGPU 17)",
				       pci);
	struct nvml_vgpu_heterogeneous_mode m = {
		.version = NVML_STRUCT_VERSION(struct nvml_vgpu_heterogeneous_mode, 1), .mode = on ? 1 : 0};
	nvml_return nr = nv.set_hetero(d, &m);
	return nr == NVML_SUCCESS ? 0 : nv_fail(nr, "nvmlDeviceSetVgpuHeterogeneousMode", pci, err);
}

int carve_nvml_get_mixed_size(const char *pci, bool *on, struct carve_error *err)
{
	nvml_device d;
	int r = device(pci, &d, err);
	if (r < 0)
		return r;
	if (!nv.get_hetero)
		return carve_error_set(err, -EOPNOTSUPP, "NVML_CALL_FAILED",
				       "%s: this NVML has no nvmlDeviceGetVgpuHeterogeneousMode", pci);
	struct nvml_vgpu_heterogeneous_mode m = {.version =
							 NVML_STRUCT_VERSION(struct nvml_vgpu_heterogeneous_mode, 1)};
	nvml_return nr = nv.get_hetero(d, &m);
	if (nr != NVML_SUCCESS)
		return nv_fail(nr, "nvmlDeviceGetVgpuHeterogeneousMode", pci, err);
	*on = m.mode != 0;
	return 0;
}
