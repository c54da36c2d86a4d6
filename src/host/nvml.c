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
typedef struct nvml_gpu_instance *nvml_gpu_instance;
struct nvml_gi_profile_info {
	unsigned int id, is_p2p_supported, slice_count, instance_count, multiprocessor_count, copy_engine_count,
		decoder_count, encoder_count, jpeg_count, ofa_count;
	unsigned long long memory_size_mb;
};
/* NVML_GPU_INSTANCE_PROFILE_1_SLICE (0) to _6_SLICE (6); the _REV variants
 * after them name the same sizes with other engines ("+me"). */
#define NVML_GI_PROFILES 7
#define NVML_MAX_GIS_PER_PROFILE 8
#define NVML_STRUCT_VERSION(s, v) ((unsigned int)(sizeof(s) | ((v) << 24U)))

static struct {
	void *lib;
	char why[256];
	nvml_return (*init)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*by_pci)(const char *, nvml_device *);
	nvml_return (*set_hetero)(nvml_device, const struct nvml_vgpu_heterogeneous_mode *);
	nvml_return (*get_hetero)(nvml_device, struct nvml_vgpu_heterogeneous_mode *);
	nvml_return (*get_mig)(nvml_device, unsigned int *, unsigned int *);
	nvml_return (*set_mig)(nvml_device, unsigned int, nvml_return *);
	nvml_return (*gi_profile)(nvml_device, unsigned int, struct nvml_gi_profile_info *);
	nvml_return (*gis_of)(nvml_device, unsigned int, nvml_gpu_instance *, unsigned int *);
	nvml_return (*gi_create)(nvml_device, unsigned int, nvml_gpu_instance *);
	nvml_return (*gi_destroy)(nvml_gpu_instance);
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
	*(void **)&nv.get_mig = sym("nvmlDeviceGetMigMode");
	*(void **)&nv.set_mig = sym("nvmlDeviceSetMigMode");
	*(void **)&nv.gi_profile = sym("nvmlDeviceGetGpuInstanceProfileInfo");
	*(void **)&nv.gis_of = sym("nvmlDeviceGetGpuInstances");
	*(void **)&nv.gi_create = sym("nvmlDeviceCreateGpuInstance");
	*(void **)&nv.gi_destroy = sym("nvmlGpuInstanceDestroy");
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

static int no_call(const char *pci, const char *call, struct carve_error *err)
{
	return carve_error_set(err, -EOPNOTSUPP, "NVML_CALL_FAILED", "%s: this NVML has no %s", pci, call);
}

/* The GPU's GPU instance profiles that exist on it, with their names. */
struct gi_profiles {
	struct nvml_gi_profile_info info[NVML_GI_PROFILES];
	char name[NVML_GI_PROFILES][40];
	bool ok[NVML_GI_PROFILES];
};

static void load_profiles(nvml_device d, struct gi_profiles *p)
{
	for (unsigned i = 0; i < NVML_GI_PROFILES; i++) {
		p->ok[i] = nv.gi_profile(d, i, &p->info[i]) == NVML_SUCCESS;
		if (p->ok[i])
			snprintf(p->name[i], sizeof(p->name[i]), "%ug.%llugb", p->info[i].slice_count,
				 (p->info[i].memory_size_mb + 1023) / 1024);
	}
}

/* fn for each GPU instance of d (of the base profiles p), until it fails. */
static int each_gi(nvml_device d, const struct gi_profiles *p, int (*fn)(const struct gi_profiles *p, unsigned i,
									      nvml_gpu_instance gi, void *arg),
		   void *arg)
{
	for (unsigned i = 0; i < NVML_GI_PROFILES; i++) {
		nvml_gpu_instance list[NVML_MAX_GIS_PER_PROFILE];
		unsigned int count = 0;
		if (!p->ok[i] || nv.gis_of(d, p->info[i].id, list, &count) != NVML_SUCCESS)
			continue;
		for (unsigned k = 0; k < count && k < NVML_MAX_GIS_PER_PROFILE; k++) {
			int r = fn(p, i, list[k], arg);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int mig_device(const char *pci, nvml_device *d, struct carve_error *err)
{
	int r = device(pci, d, err);
	if (r < 0)
		return r;
	if (!nv.get_mig || !nv.set_mig || !nv.gi_profile || !nv.gis_of || !nv.gi_create || !nv.gi_destroy)
		return no_call(pci, "MIG calls (nvmlDeviceGetMigMode ...)", err);
	return 0;
}

struct listing {
	struct carve_hw_gi *gis;
	uint8_t *n;
};

static int list_gi(const struct gi_profiles *p, unsigned i, nvml_gpu_instance gi, void *arg)
{
	(void)gi;
	struct listing *l = arg;
	if (*l->n == CARVE_HW_MAX_GIS)
		return 0;
	snprintf(l->gis[*l->n].profile, sizeof(l->gis[*l->n].profile), "%.15s", p->name[i]);
	l->gis[*l->n].slices = (uint8_t)p->info[i].slice_count;
	(*l->n)++;
	return 0;
}

struct destroying {
	const char *pci;
	struct carve_error *err;
};

static int destroy_gi(const struct gi_profiles *p, unsigned i, nvml_gpu_instance gi, void *arg)
{
	(void)p;
	(void)i;
	const struct destroying *x = arg;
	nvml_return nr = nv.gi_destroy(gi);
	return nr == NVML_SUCCESS ? 0 : nv_fail(nr, "nvmlGpuInstanceDestroy", x->pci, x->err);
}

int carve_nvml_get_mig(const char *pci, bool *on, struct carve_hw_gi gis[CARVE_HW_MAX_GIS], uint8_t *n,
		       struct carve_error *err)
{
	nvml_device d;
	*n = 0;
	int r = mig_device(pci, &d, err);
	if (r < 0)
		return r;
	unsigned int cur = 0, pending = 0;
	nvml_return nr = nv.get_mig(d, &cur, &pending);
	if (nr != NVML_SUCCESS)
		return nv_fail(nr, "nvmlDeviceGetMigMode", pci, err);
	*on = cur == 1;
	if (!*on)
		return 0;
	struct gi_profiles p;
	load_profiles(d, &p);
	struct listing l = {gis, n};
	return each_gi(d, &p, list_gi, &l);
}

int carve_nvml_set_mig_mode(const char *pci, bool on, struct carve_error *err)
{
	nvml_device d;
	int r = mig_device(pci, &d, err);
	if (r < 0)
		return r;
	nvml_return activation = NVML_SUCCESS;
	nvml_return nr = nv.set_mig(d, on ? 1 : 0, &activation);
	if (nr != NVML_SUCCESS)
		return nv_fail(nr, "nvmlDeviceSetMigMode", pci, err);
	if (activation != NVML_SUCCESS)
		return carve_error_set(err, -EAGAIN, "MIG_RESET_PENDING",
				       "%s: MIG mode %s is pending: the GPU must be reset (nvidia-smi -r) before it "
				       "takes effect",
				       pci, on ? "on" : "off");
	return 0;
}

int carve_nvml_set_mig_instances(const char *pci, const struct carve_strv *profiles, struct carve_error *err)
{
	nvml_device d;
	int r = mig_device(pci, &d, err);
	if (r < 0)
		return r;
	struct gi_profiles p;
	load_profiles(d, &p);
	struct destroying x = {pci, err};
	if ((r = each_gi(d, &p, destroy_gi, &x)) < 0)
		return r;
	for (size_t k = 0; k < profiles->n; k++) {
		unsigned i = 0;
		while (i < NVML_GI_PROFILES && !(p.ok[i] && strcmp(p.name[i], profiles->v[k]) == 0))
			i++;
		if (i == NVML_GI_PROFILES)
			return carve_error_set(err, -EINVAL, "MIG_PROFILE_INVALID",
					       "%s: NVML lists no GPU instance profile '%.32s'", pci, profiles->v[k]);
		nvml_gpu_instance gi;
		nvml_return nr = nv.gi_create(d, p.info[i].id, &gi);
		if (nr != NVML_SUCCESS)
			return nv_fail(nr, "nvmlDeviceCreateGpuInstance", pci, err);
	}
	return 0;
}
