#include "nvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvml_abi.h"
#include "util/pci.h"

/* NVML_NVLINK_MAX_LINKS: 12 in NVML 11.0's nvml.h, 18 from 11.8, 36 from
 * CUDA 13.3's; a link beyond a device's own count is answered
 * INVALID_ARGUMENT, so asking up to the newest maximum misses none. */
#define NVML_NVLINK_MAX_LINKS 36
/* NVML_GPU_INSTANCE_PROFILE_1_SLICE (0) to _6_SLICE (6); the _REV variants
 * after them name the same sizes with other engines ("+me"). */
#define NVML_GI_PROFILES 7
#define NVML_MAX_GIS_PER_PROFILE 8

static struct {
	void *lib;
	char why[256];
	nvmlReturn_t (*init)(void);
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*by_pci)(const char *, nvmlDevice_t *);
	nvmlReturn_t (*set_hetero)(nvmlDevice_t, const nvmlVgpuHeterogeneousMode_t *);
	nvmlReturn_t (*get_hetero)(nvmlDevice_t, nvmlVgpuHeterogeneousMode_t *);
	nvmlReturn_t (*get_mig)(nvmlDevice_t, unsigned int *, unsigned int *);
	nvmlReturn_t (*set_mig)(nvmlDevice_t, unsigned int, nvmlReturn_t *);
	nvmlReturn_t (*gi_profile)(nvmlDevice_t, unsigned int, nvmlGpuInstanceProfileInfo_t *);
	nvmlReturn_t (*gis_of)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *, unsigned int *);
	nvmlReturn_t (*gi_create)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *);
	nvmlReturn_t (*gi_destroy)(nvmlGpuInstance_t);
	nvmlReturn_t (*driver_version)(char *, unsigned int);
	nvmlReturn_t (*link_state)(nvmlDevice_t, unsigned int, nvmlEnableState_t *);
	nvmlReturn_t (*link_remote)(nvmlDevice_t, unsigned int, nvmlPciInfo_t *);
	nvmlReturn_t (*ecc_mode)(nvmlDevice_t, nvmlEnableState_t *, nvmlEnableState_t *);
	nvmlReturn_t (*ecc_total)(nvmlDevice_t, int, int, unsigned long long *);
	nvmlReturn_t (*retired_pages)(nvmlDevice_t, int, unsigned int *, unsigned long long *);
	nvmlReturn_t (*retired_pending)(nvmlDevice_t, nvmlEnableState_t *);
	nvmlReturn_t (*remapped_rows)(nvmlDevice_t, unsigned int *, unsigned int *, unsigned int *, unsigned int *);
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
	*(void **)&nv.driver_version = sym("nvmlSystemGetDriverVersion");
	*(void **)&nv.link_state = sym("nvmlDeviceGetNvLinkState");
	*(void **)&nv.link_remote = sym("nvmlDeviceGetNvLinkRemotePciInfo_v2");
	*(void **)&nv.ecc_mode = sym("nvmlDeviceGetEccMode");
	*(void **)&nv.ecc_total = sym("nvmlDeviceGetTotalEccErrors");
	*(void **)&nv.retired_pages = sym("nvmlDeviceGetRetiredPages");
	*(void **)&nv.retired_pending = sym("nvmlDeviceGetRetiredPagesPendingStatus");
	*(void **)&nv.remapped_rows = sym("nvmlDeviceGetRemappedRows");
	bool usable = nv.init && nv.by_pci;
	nvmlReturn_t r = usable ? nv.init() : NVML_ERROR_UNKNOWN;
	if (r != NVML_SUCCESS) {
		snprintf(nv.why, sizeof(nv.why), "%s: %s", path,
			 !usable ? "not NVML (nvmlInit_v2 or nvmlDeviceGetHandleByPciBusId_v2 missing)"
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

static int nv_errno(nvmlReturn_t r)
{
	switch (r) {
	case NVML_ERROR_INVALID_ARGUMENT: return -EINVAL;
	case NVML_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	case NVML_ERROR_NO_PERMISSION: return -EPERM;
	case NVML_ERROR_NOT_FOUND: return -ENOENT;
	case NVML_ERROR_INSUFFICIENT_SIZE: return -ERANGE;
	case NVML_ERROR_IN_USE: return -EBUSY;
	default: return -EIO;
	}
}

static int nv_fail(nvmlReturn_t r, const char *call, const char *pci, struct carve_error *err)
{
	const char *text = nv.error_string ? nv.error_string(r) : NULL;
	return carve_error_set(err, nv_errno(r), "NVML_CALL_FAILED", "%s: %s: NVML error %d (%s)", pci, call, r,
			       text ? text : "?");
}

/* The device at pci, or an error (NVML not loaded, no such device). */
static int device(const char *pci, nvmlDevice_t *out, struct carve_error *err)
{
	if (!carve_nvml_available())
		return unavailable(err);
	if (!carve_pci_valid(pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", pci);
	nvmlReturn_t r = nv.by_pci(pci, out);
	return r == NVML_SUCCESS ? 0 : nv_fail(r, "nvmlDeviceGetHandleByPciBusId_v2", pci, err);
}

int carve_nvml_set_mixed_size(const char *pci, bool on, struct carve_error *err)
{
	nvmlDevice_t d;
	int r = device(pci, &d, err);
	if (r < 0)
		return r;
	if (!nv.set_hetero)
		return carve_error_set(err, -EOPNOTSUPP, "NVML_CALL_FAILED",
				       "%s: this NVML has no nvmlDeviceSetVgpuHeterogeneousMode (driver before vGPU 17)",
				       pci);
	nvmlVgpuHeterogeneousMode_t m = {
		.version = NVML_STRUCT_VERSION(nvmlVgpuHeterogeneousMode_t, 1), .mode = on ? 1 : 0};
	nvmlReturn_t nr = nv.set_hetero(d, &m);
	return nr == NVML_SUCCESS ? 0 : nv_fail(nr, "nvmlDeviceSetVgpuHeterogeneousMode", pci, err);
}

int carve_nvml_get_mixed_size(const char *pci, bool *on, struct carve_error *err)
{
	nvmlDevice_t d;
	int r = device(pci, &d, err);
	if (r < 0)
		return r;
	if (!nv.get_hetero)
		return carve_error_set(err, -EOPNOTSUPP, "NVML_CALL_FAILED",
				       "%s: this NVML has no nvmlDeviceGetVgpuHeterogeneousMode", pci);
	nvmlVgpuHeterogeneousMode_t m = {.version =
							 NVML_STRUCT_VERSION(nvmlVgpuHeterogeneousMode_t, 1)};
	nvmlReturn_t nr = nv.get_hetero(d, &m);
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
	nvmlGpuInstanceProfileInfo_t info[NVML_GI_PROFILES];
	char name[NVML_GI_PROFILES][40];
	bool ok[NVML_GI_PROFILES];
};

static void load_profiles(nvmlDevice_t d, struct gi_profiles *p)
{
	for (unsigned i = 0; i < NVML_GI_PROFILES; i++) {
		p->ok[i] = nv.gi_profile(d, i, &p->info[i]) == NVML_SUCCESS;
		if (p->ok[i])
			snprintf(p->name[i], sizeof(p->name[i]), "%ug.%llugb", p->info[i].sliceCount,
				 (p->info[i].memorySizeMB + 1023) / 1024);
	}
}

/* fn for each GPU instance of d (of the base profiles p), until it fails. */
static int each_gi(nvmlDevice_t d, const struct gi_profiles *p, int (*fn)(const struct gi_profiles *p, unsigned i,
									      nvmlGpuInstance_t gi, void *arg),
		   void *arg)
{
	for (unsigned i = 0; i < NVML_GI_PROFILES; i++) {
		nvmlGpuInstance_t list[NVML_MAX_GIS_PER_PROFILE];
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

static int mig_device(const char *pci, nvmlDevice_t *d, struct carve_error *err)
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

static int list_gi(const struct gi_profiles *p, unsigned i, nvmlGpuInstance_t gi, void *arg)
{
	(void)gi;
	struct listing *l = arg;
	if (*l->n == CARVE_HW_MAX_GIS)
		return 0;
	snprintf(l->gis[*l->n].profile, sizeof(l->gis[*l->n].profile), "%.15s", p->name[i]);
	l->gis[*l->n].slices = (uint8_t)p->info[i].sliceCount;
	(*l->n)++;
	return 0;
}

struct destroying {
	const char *pci;
	struct carve_error *err;
};

static int destroy_gi(const struct gi_profiles *p, unsigned i, nvmlGpuInstance_t gi, void *arg)
{
	(void)p;
	(void)i;
	const struct destroying *x = arg;
	nvmlReturn_t nr = nv.gi_destroy(gi);
	return nr == NVML_SUCCESS ? 0 : nv_fail(nr, "nvmlGpuInstanceDestroy", x->pci, x->err);
}

int carve_nvml_get_mig(const char *pci, bool *on, struct carve_hw_gi gis[CARVE_HW_MAX_GIS], uint8_t *n,
		       struct carve_error *err)
{
	nvmlDevice_t d;
	*n = 0;
	int r = mig_device(pci, &d, err);
	if (r < 0)
		return r;
	unsigned int cur = 0, pending = 0;
	nvmlReturn_t nr = nv.get_mig(d, &cur, &pending);
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
	nvmlDevice_t d;
	int r = mig_device(pci, &d, err);
	if (r < 0)
		return r;
	nvmlReturn_t activation = NVML_SUCCESS;
	nvmlReturn_t nr = nv.set_mig(d, on ? 1 : 0, &activation);
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
	nvmlDevice_t d;
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
		nvmlGpuInstance_t gi;
		nvmlReturn_t nr = nv.gi_create(d, p.info[i].id, &gi);
		if (nr != NVML_SUCCESS)
			return nv_fail(nr, "nvmlDeviceCreateGpuInstance", pci, err);
	}
	return 0;
}

/* An optional fact's call: 1 when NVML answered, 0 when it does not know
 * the fact on this GPU (NOT_SUPPORTED), else the error. */
static int answered(nvmlReturn_t nr, const char *call, const char *pci, struct carve_error *err)
{
	if (nr == NVML_SUCCESS)
		return 1;
	if (nr == NVML_ERROR_NOT_SUPPORTED)
		return 0;
	return nv_fail(nr, call, pci, err);
}

/* The GPU at the far end of a link, named as carve names it: NVML's busId
 * has an eight-digit domain ("00000000:07:00.0"), carve's four, and
 * carve_pci_normalize takes only those.  -EINVAL for a domain above 0xffff
 * or anything else. */
static int remote_pci(const nvmlPciInfo_t *info, char out[CARVE_PCI_STRLEN + 1])
{
	char id[sizeof(info->busId) + 1];
	snprintf(id, sizeof(id), "%.*s", (int)sizeof(info->busId), info->busId);
	const char *s = id;
	if (strlen(id) == 16 && id[8] == ':' && strspn(id, "0") >= 4)
		s += 4;
	return carve_pci_normalize(s, out);
}

/* One more active link to peer. */
static int add_link(struct carve_hw_gpu *g, const char *peer)
{
	for (uint8_t i = 0; i < g->n_nvlinks; i++)
		if (strcmp(g->nvlinks[i].peer, peer) == 0) {
			g->nvlinks[i].links++;
			return 0;
		}
	if (g->n_nvlinks == CARVE_HW_MAX_NVLINK)
		return -E2BIG;
	struct carve_hw_nvlink *l = &g->nvlinks[g->n_nvlinks++];
	snprintf(l->peer, sizeof(l->peer), "%s", peer);
	l->links = 1;
	return 0;
}

/* Active links per peer, in link order.  A link the device does not have
 * answers INVALID_ARGUMENT (beyond its count) or NOT_SUPPORTED (a GPU
 * without NVLink): skipped.  The links are known once one link answered,
 * and unknown again when NVML cannot say where an active one leads. */
static int read_nvlinks(nvmlDevice_t d, const char *pci, struct carve_hw_gpu *g, struct carve_error *err)
{
	if (!nv.link_state || !nv.link_remote)
		return 0;
	for (unsigned link = 0; link < NVML_NVLINK_MAX_LINKS; link++) {
		nvmlEnableState_t on = NVML_FEATURE_DISABLED;
		nvmlReturn_t nr = nv.link_state(d, link, &on);
		if (nr == NVML_ERROR_INVALID_ARGUMENT || nr == NVML_ERROR_NOT_SUPPORTED)
			continue;
		if (nr != NVML_SUCCESS)
			return nv_fail(nr, "nvmlDeviceGetNvLinkState", pci, err);
		g->nvlink_known = true;
		if (on != NVML_FEATURE_ENABLED)
			continue;
		nvmlPciInfo_t info = {0};
		int r = answered(nv.link_remote(d, link, &info), "nvmlDeviceGetNvLinkRemotePciInfo_v2", pci, err);
		if (r <= 0) {
			g->nvlink_known = false;
			g->n_nvlinks = 0;
			return r;
		}
		char peer[CARVE_PCI_STRLEN + 1];
		if (remote_pci(&info, peer) < 0)
			return carve_error_set(err, -EIO, "NVML_CALL_FAILED",
					       "%s: NVLink %u leads to '%.32s', not a PCI address carve can name", pci,
					       link, info.busId);
		if (add_link(g, peer) < 0)
			return carve_error_set(err, -E2BIG, "NVML_CALL_FAILED", "%s: NVLink to more than %d GPUs", pci,
					       CARVE_HW_MAX_NVLINK);
	}
	return 0;
}

/* The four ECC counters; one NVML does not give (ECC off) stays 0. */
static int read_ecc_counts(nvmlDevice_t d, const char *pci, struct carve_hw_ecc *e, struct carve_error *err)
{
	const struct {
		int type, counter;
		uint64_t *out;
	} counts[] = {
		{NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &e->volatile_corrected},
		{NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &e->volatile_uncorrected},
		{NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_AGGREGATE_ECC, &e->aggregate_corrected},
		{NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_AGGREGATE_ECC, &e->aggregate_uncorrected},
	};
	for (size_t i = 0; nv.ecc_total && i < sizeof(counts) / sizeof(counts[0]); i++) {
		unsigned long long v = 0;
		int r = answered(nv.ecc_total(d, counts[i].type, counts[i].counter, &v), "nvmlDeviceGetTotalEccErrors",
				 pci, err);
		if (r < 0)
			return r;
		if (r > 0)
			*counts[i].out = v;
	}
	return 0;
}

/* Pages retired for cause into *out.  A count query (*count 0, no buffer)
 * answers SUCCESS when there are none, INSUFFICIENT_SIZE with the count
 * when there are some. */
static int retired_count(nvmlDevice_t d, int cause, const char *pci, uint32_t *out, struct carve_error *err)
{
	unsigned int count = 0;
	nvmlReturn_t nr = nv.retired_pages(d, cause, &count, NULL);
	int r = answered(nr == NVML_ERROR_INSUFFICIENT_SIZE ? NVML_SUCCESS : nr, "nvmlDeviceGetRetiredPages", pci,
			 err);
	if (r > 0)
		*out = count;
	return r;
}

/* Page retirement (before Ampere) and row remapping (Ampere on); a GPU
 * answers NOT_SUPPORTED for the one it does not do. */
static int read_retirement(nvmlDevice_t d, const char *pci, struct carve_hw_ecc *e, struct carve_error *err)
{
	int r = 0;
	if (nv.retired_pages &&
	    ((r = retired_count(d, NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS, pci, &e->retired_sbe,
				err)) < 0 ||
	     (r = retired_count(d, NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR, pci, &e->retired_dbe, err)) < 0))
		return r;
	nvmlEnableState_t pending = NVML_FEATURE_DISABLED;
	if (nv.retired_pending &&
	    (r = answered(nv.retired_pending(d, &pending), "nvmlDeviceGetRetiredPagesPendingStatus", pci, err)) < 0)
		return r;
	e->retired_pending = pending == NVML_FEATURE_ENABLED;
	unsigned int corrected = 0, uncorrected = 0, remap_pending = 0, failure = 0;
	if (nv.remapped_rows &&
	    (r = answered(nv.remapped_rows(d, &corrected, &uncorrected, &remap_pending, &failure),
			  "nvmlDeviceGetRemappedRows", pci, err)) < 0)
		return r;
	e->remap_pending = remap_pending != 0;
	e->remap_failure = failure != 0;
	return 0;
}

/* ECC: nothing is known unless NVML answers the mode. */
static int read_ecc(nvmlDevice_t d, const char *pci, struct carve_hw_ecc *e, struct carve_error *err)
{
	nvmlEnableState_t current = NVML_FEATURE_DISABLED, pending = NVML_FEATURE_DISABLED;
	int r = nv.ecc_mode ? answered(nv.ecc_mode(d, &current, &pending), "nvmlDeviceGetEccMode", pci, err) : 0;
	if (r <= 0)
		return r;
	e->known = true;
	e->enabled = current == NVML_FEATURE_ENABLED;
	e->pending = pending == NVML_FEATURE_ENABLED;
	if ((r = read_ecc_counts(d, pci, e, err)) < 0)
		return r;
	return read_retirement(d, pci, e, err);
}

static void forget_facts(struct carve_hw_gpu *g)
{
	g->nvlink_known = false;
	g->n_nvlinks = 0;
	g->ecc = (struct carve_hw_ecc){0};
}

int carve_nvml_get_facts(const char *pci, struct carve_hw_gpu *g, struct carve_error *err)
{
	forget_facts(g);
	nvmlDevice_t d;
	int r = device(pci, &d, err);
	if (r == 0 && (r = read_nvlinks(d, pci, g, err)) == 0)
		r = read_ecc(d, pci, &g->ecc, err);
	if (r < 0)
		forget_facts(g);
	return r;
}

int carve_nvml_driver_version(char *buf, size_t size, struct carve_error *err)
{
	if (size)
		buf[0] = '\0';
	if (!carve_nvml_available())
		return unavailable(err);
	if (!nv.driver_version)
		return no_call("driver", "nvmlSystemGetDriverVersion", err);
	nvmlReturn_t nr = nv.driver_version(buf, size > UINT_MAX ? UINT_MAX : (unsigned int)size);
	return nr == NVML_SUCCESS ? 0 : nv_fail(nr, "nvmlSystemGetDriverVersion", "driver", err);
}
