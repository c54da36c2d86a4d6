/* nvml-stub.c - carve's stand-in for NVIDIA's libnvidia-ml.so.1, for tests.
 *
 * Built as libcarve-nvml-stub.so; carve loads it in place of NVML when
 * $CARVE_NVML_LIBRARY names it (src/host/nvml.h).  It answers the calls
 * carve makes from the host profile named by $CARVE_NVML_STUB_PROFILE
 * (src/host/profile.h), read and validated by the nvmlInit_v2 that finds
 * NVML uninitialized:
 *
 *   nvmlInit_v2, nvmlShutdown          reference-counted, as NVML's
 *   nvmlErrorString
 *   nvmlSystemGetDriverVersion         driver_version (NOT_SUPPORTED when absent)
 *   nvmlDeviceGetHandleByPciBusId_v2   gpus[].pci
 *   nvmlDeviceGet/SetVgpuHeterogeneousMode   gpus[].mixed_size, then kept in memory
 *   nvmlDeviceGetNvLinkState, nvmlDeviceGetNvLinkRemotePciInfo_v2   gpus[].nvlink
 *   nvmlDeviceGetEccMode, nvmlDeviceGetTotalEccErrors, nvmlDeviceGetRetiredPages,
 *   nvmlDeviceGetRetiredPagesPendingStatus, nvmlDeviceGetRemappedRows   gpus[].ecc
 *
 * with the return codes NVIDIA's nvml.h documents for each (the header of
 * CUDA 13.3, as NVIDIA/go-nvml carries it in gen/nvml/nvml.h): UNINITIALIZED
 * before nvmlInit_v2 and after the last nvmlShutdown, INVALID_ARGUMENT for
 * NULL pointers, unknown handles and values out of range, NOT_FOUND for a
 * PCI address without a device, INSUFFICIENT_SIZE for short buffers,
 * ARGUMENT_VERSION_MISMATCH for a versioned struct of another version.
 *
 * The devices are the profile's single-GPU NVIDIA entries that the nvidia
 * driver has (one bound to vfio-pci is invisible to NVML); a handle points
 * at the device's record.  A GPU without an `nvlink` key has no NVLink
 * (NOT_SUPPORTED); with one it has STUB_LINKS links, numbered from 0 in
 * the order the profile lists its peers, n consecutive ones active for a
 * peer with n links, the rest inactive.  A GPU without an `ecc` key has no
 * ECC: every ECC call answers NOT_SUPPORTED; with ECC off the error
 * counters do too ("Requires ECC Mode to be enabled").
 *
 * Not emulated: every other NVML call (MIG among them: carve then says
 * this NVML lacks it), the architecture (a GPU with ECC answers both page
 * retirement, pre-Ampere, and row remapping, Ampere on; the profile has no
 * remapped-row counts, so those are 0), and vGPUs holding a GPU's mode
 * (real NVML refuses a mode change with IN_USE while one exists).
 *
 * The library exports exactly NVML's names; carve's code linked in is
 * hidden (-Wl,--exclude-libs,ALL).  Thread-safe: one lock around all. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/nvml_abi.h"
#include "host/profile.h"
#include "model/catalog.h"
#include "util/pci.h"

/* The ABI: src/host/nvml_abi.h. */
#define HETERO_MODE_V1 NVML_STRUCT_VERSION(nvmlVgpuHeterogeneousMode_t, 1)

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t result);
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t device, nvmlVgpuHeterogeneousMode_t *mode);
nvmlReturn_t nvmlDeviceSetVgpuHeterogeneousMode(nvmlDevice_t device, const nvmlVgpuHeterogeneousMode_t *mode);
nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, nvmlEnableState_t *isActive);
nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci);
nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current, nvmlEnableState_t *pending);
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
					 nvmlEccCounterType_t counterType, unsigned long long *eccCounts);
nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t device, nvmlPageRetirementCause_t cause, unsigned int *pageCount,
				       unsigned long long *addresses);
nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, nvmlEnableState_t *isPending);
nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
				       unsigned int *isPending, unsigned int *failureOccurred);

/* Links of a GPU with NVLink: 18, as NVLink 4 and 5 GPUs (Hopper,
 * Blackwell) have; older ones have fewer. */
#define STUB_LINKS 18

struct stub_link {
	struct carve_pci_addr peer;
	unsigned int peer_id; /* pciDeviceId */
	bool active;
};

/* A device: what nvmlDevice_t points at. */
struct nvmlDevice_st {
	char pci[CARVE_PCI_STRLEN + 1];
	const struct carve_profile_gpu *entry;
	unsigned int mixed_size;
	struct stub_link links[STUB_LINKS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned refs; /* nvmlInit_v2 calls not yet shut down */
	struct carve_profile *profile;
	struct nvmlDevice_st *devs;
	size_t n_devs;
} st;

static const struct carve_profile_gpu *entry_at(const struct carve_profile *p, const char *pci)
{
	for (size_t i = 0; i < p->n_gpus; i++)
		if (strcmp(p->gpus[i].pci, pci) == 0)
			return &p->gpus[i];
	return NULL;
}

/* e's board when NVML sees e as a device, else NULL. */
static const struct carve_board *nvml_board(const struct carve_profile_gpu *e)
{
	const struct carve_board *b = carve_board_by_name(e->board);
	if (!b || b->vendor_id != 0x10de || b->gpus_per_board != 1)
		return NULL;
	return !e->driver[0] || strcmp(e->driver, "nvidia") == 0 ? b : NULL;
}

/* Number d's links, peer by peer in the profile's order: STUB_LINKS at
 * most, the rest dropped. */
static void wire_links(struct nvmlDevice_st *d, const struct carve_profile *p)
{
	unsigned next = 0;
	for (size_t k = 0; k < d->entry->n_nvlink; k++) {
		const struct carve_profile_nvlink *l = &d->entry->nvlink[k];
		const struct carve_profile_gpu *pe = entry_at(p, l->peer);
		const struct carve_board *b = pe ? carve_board_by_name(pe->board) : NULL;
		for (uint32_t n = 0; n < l->links && next < STUB_LINKS; n++, next++) {
			struct stub_link *sl = &d->links[next];
			carve_pci_parse(l->peer, &sl->peer);
			sl->peer_id = b ? (unsigned)b->device_id << 16 | b->vendor_id : 0;
			sl->active = true;
		}
	}
}

static nvmlReturn_t load(void)
{
	const char *path = getenv("CARVE_NVML_STUB_PROFILE");
	struct carve_error err = {0};
	if (!path || !*path) {
		fprintf(stderr, "nvml-stub: $CARVE_NVML_STUB_PROFILE names no host profile\n");
		return NVML_ERROR_DRIVER_NOT_LOADED;
	}
	if (carve_profile_load(path, &st.profile, &err) < 0) {
		fprintf(stderr, "nvml-stub: %s\n", err.message);
		return NVML_ERROR_DRIVER_NOT_LOADED;
	}
	const struct carve_profile *p = st.profile;
	if (!(st.devs = calloc(p->n_gpus, sizeof(*st.devs)))) {
		carve_profile_free(st.profile);
		st.profile = NULL;
		return NVML_ERROR_UNKNOWN;
	}
	st.n_devs = 0;
	for (size_t i = 0; i < p->n_gpus; i++) {
		if (!nvml_board(&p->gpus[i]))
			continue;
		struct nvmlDevice_st *d = &st.devs[st.n_devs++];
		memcpy(d->pci, p->gpus[i].pci, sizeof(d->pci));
		d->entry = &p->gpus[i];
		d->mixed_size = p->gpus[i].mixed_size == 1;
		wire_links(d, p);
	}
	return NVML_SUCCESS;
}

static void unload(void)
{
	free(st.devs);
	st.devs = NULL;
	st.n_devs = 0;
	carve_profile_free(st.profile);
	st.profile = NULL;
}

static nvmlReturn_t leave(nvmlReturn_t r)
{
	pthread_mutex_unlock(&lock);
	return r;
}

/* Every call but init's starts here: the lock taken, NVML initialized. */
static nvmlReturn_t enter(void)
{
	pthread_mutex_lock(&lock);
	return st.refs ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
}

/* Every device call: the record behind handle, or INVALID_ARGUMENT. */
static nvmlReturn_t enter_device(nvmlDevice_t handle, struct nvmlDevice_st **d)
{
	nvmlReturn_t r = enter();
	if (r != NVML_SUCCESS)
		return r;
	for (size_t i = 0; i < st.n_devs; i++)
		if (handle == &st.devs[i]) {
			*d = handle;
			return NVML_SUCCESS;
		}
	return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t nvmlInit_v2(void)
{
	pthread_mutex_lock(&lock);
	nvmlReturn_t r = st.refs ? NVML_SUCCESS : load();
	if (r == NVML_SUCCESS)
		st.refs++;
	return leave(r);
}

nvmlReturn_t nvmlShutdown(void)
{
	nvmlReturn_t r = enter();
	if (r == NVML_SUCCESS && --st.refs == 0)
		unload();
	return leave(r);
}

const char *nvmlErrorString(nvmlReturn_t result)
{
	switch (result) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case NVML_ERROR_NOT_FOUND: return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
	default: return "Unknown Error";
	}
}

static nvmlReturn_t copy_out(char *buf, unsigned int length, const char *s)
{
	if (!buf)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (strlen(s) >= length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(buf, s, strlen(s) + 1);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
	nvmlReturn_t r = enter();
	if (r == NVML_SUCCESS)
		r = st.profile->driver_version[0] ? copy_out(version, length, st.profile->driver_version)
						  : NVML_ERROR_NOT_SUPPORTED;
	return leave(r);
}

/* The formats nvml.h accepts, all hexadecimal: domain:bus:device.function,
 * domain:bus:device and bus:device.function.  -1: not an address;
 * 0: no device of carve's could be there (a domain above 0xffff); 1: *a
 * is the address. */
static int parse_bus_id(const char *s, struct carve_pci_addr *a)
{
	unsigned dom = 0, bus, dev, fn = 0;
	int end = -1;
	if (!(sscanf(s, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &end) == 4 && !s[end]) &&
	    !(end = -1, sscanf(s, "%x:%x:%x%n", &dom, &bus, &dev, &end) == 3 && !s[end]) &&
	    !(end = -1, dom = 0, sscanf(s, "%x:%x.%x%n", &bus, &dev, &fn, &end) == 3 && !s[end]))
		return -1;
	if (bus > 0xff || dev > 0x1f || fn > 7)
		return -1;
	*a = (struct carve_pci_addr){(uint16_t)dom, (uint8_t)bus, (uint8_t)dev, (uint8_t)fn};
	return dom <= 0xffff;
}

static nvmlReturn_t find_device(const char *bus_id, nvmlDevice_t *device)
{
	struct carve_pci_addr a;
	int parsed = bus_id && device ? parse_bus_id(bus_id, &a) : -1;
	if (parsed < 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	char pci[CARVE_PCI_STRLEN + 1];
	carve_pci_format(&a, pci);
	for (size_t i = 0; parsed && i < st.n_devs; i++)
		if (strcmp(st.devs[i].pci, pci) == 0) {
			*device = &st.devs[i];
			return NVML_SUCCESS;
		}
	return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
	nvmlReturn_t r = enter();
	if (r == NVML_SUCCESS)
		r = find_device(pciBusId, device);
	return leave(r);
}

nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t device, nvmlVgpuHeterogeneousMode_t *mode)
{
	struct nvmlDevice_st *d;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && !mode)
		r = NVML_ERROR_INVALID_ARGUMENT;
	else if (r == NVML_SUCCESS && mode->version != HETERO_MODE_V1)
		r = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	else if (r == NVML_SUCCESS)
		mode->mode = d->mixed_size;
	return leave(r);
}

nvmlReturn_t nvmlDeviceSetVgpuHeterogeneousMode(nvmlDevice_t device, const nvmlVgpuHeterogeneousMode_t *mode)
{
	struct nvmlDevice_st *d;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (!mode || mode->mode > NVML_FEATURE_ENABLED))
		r = NVML_ERROR_INVALID_ARGUMENT;
	else if (r == NVML_SUCCESS && mode->version != HETERO_MODE_V1)
		r = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	else if (r == NVML_SUCCESS)
		d->mixed_size = mode->mode;
	return leave(r);
}

/* The link of d, once the caller's pointer is checked. */
static nvmlReturn_t link_of(const struct nvmlDevice_st *d, unsigned int link, const void *out,
			    const struct stub_link **l)
{
	if (!out)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (!d->entry->key_line[CARVE_PGK_NVLINK])
		return NVML_ERROR_NOT_SUPPORTED;
	if (link >= STUB_LINKS)
		return NVML_ERROR_INVALID_ARGUMENT;
	*l = &d->links[link];
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, nvmlEnableState_t *isActive)
{
	struct nvmlDevice_st *d;
	const struct stub_link *l;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (r = link_of(d, link, isActive, &l)) == NVML_SUCCESS)
		*isActive = l->active ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
	return leave(r);
}

/* An inactive link leads nowhere: INVALID_ARGUMENT, as for a link the
 * device does not have. */
nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci)
{
	struct nvmlDevice_st *d;
	const struct stub_link *l;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (r = link_of(d, link, pci, &l)) == NVML_SUCCESS && !l->active)
		r = NVML_ERROR_INVALID_ARGUMENT;
	if (r != NVML_SUCCESS)
		return leave(r);
	const struct carve_pci_addr *a = &l->peer;
	*pci = (nvmlPciInfo_t){.domain = a->domain, .bus = a->bus, .device = a->slot, .pciDeviceId = l->peer_id};
	snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.%X", a->domain, a->bus, a->slot,
		 a->func);
	snprintf(pci->busId, sizeof(pci->busId), "%08X:%02X:%02X.%X", a->domain, a->bus, a->slot, a->func);
	return leave(NVML_SUCCESS);
}

/* The ECC facts of d, once the caller's pointers are checked. */
static nvmlReturn_t ecc_of(const struct nvmlDevice_st *d, bool args_ok, const struct carve_profile_ecc **e)
{
	if (!args_ok)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (!d->entry->key_line[CARVE_PGK_ECC])
		return NVML_ERROR_NOT_SUPPORTED;
	*e = &d->entry->ecc;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current, nvmlEnableState_t *pending)
{
	struct nvmlDevice_st *d;
	const struct carve_profile_ecc *e;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (r = ecc_of(d, current && pending, &e)) == NVML_SUCCESS) {
		*current = e->mode ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
		*pending = (e->pending_given ? e->pending : e->mode) ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
	}
	return leave(r);
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
					 nvmlEccCounterType_t counterType, unsigned long long *eccCounts)
{
	struct nvmlDevice_st *d;
	const struct carve_profile_ecc *e;
	bool corrected = errorType == NVML_MEMORY_ERROR_TYPE_CORRECTED;
	bool aggregate = counterType == NVML_AGGREGATE_ECC;
	bool args_ok = eccCounts && (corrected || errorType == NVML_MEMORY_ERROR_TYPE_UNCORRECTED) &&
		       (aggregate || counterType == NVML_VOLATILE_ECC);
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (r = ecc_of(d, args_ok, &e)) == NVML_SUCCESS && !e->mode)
		r = NVML_ERROR_NOT_SUPPORTED;
	if (r == NVML_SUCCESS)
		*eccCounts = aggregate ? (corrected ? e->aggregate_corrected : e->aggregate_uncorrected)
				       : (corrected ? e->volatile_corrected : e->volatile_uncorrected);
	return leave(r);
}

/* Retired pages' addresses: made up, distinct per cause and page. */
nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t device, nvmlPageRetirementCause_t cause, unsigned int *pageCount,
				       unsigned long long *addresses)
{
	struct nvmlDevice_st *d;
	const struct carve_profile_ecc *e;
	bool dbe = cause == NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR;
	bool args_ok = pageCount && (dbe || cause == NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS);
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (r = ecc_of(d, args_ok, &e)) == NVML_SUCCESS) {
		unsigned int n = dbe ? e->retired_dbe : e->retired_sbe;
		if (*pageCount < n)
			r = NVML_ERROR_INSUFFICIENT_SIZE;
		else if (n && !addresses)
			r = NVML_ERROR_INVALID_ARGUMENT;
		for (unsigned int i = 0; r == NVML_SUCCESS && i < n; i++)
			addresses[i] = (unsigned long long)dbe << 32 | (unsigned long long)(i + 1) << 12;
		if (r != NVML_ERROR_INVALID_ARGUMENT)
			*pageCount = n;
	}
	return leave(r);
}

nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, nvmlEnableState_t *isPending)
{
	struct nvmlDevice_st *d;
	const struct carve_profile_ecc *e;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS && (r = ecc_of(d, isPending, &e)) == NVML_SUCCESS)
		*isPending = e->retired_pending ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
	return leave(r);
}

nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
				       unsigned int *isPending, unsigned int *failureOccurred)
{
	struct nvmlDevice_st *d;
	const struct carve_profile_ecc *e;
	nvmlReturn_t r = enter_device(device, &d);
	if (r == NVML_SUCCESS &&
	    (r = ecc_of(d, corrRows && uncRows && isPending && failureOccurred, &e)) == NVML_SUCCESS) {
		*corrRows = *uncRows = 0;
		*isPending = e->remap_pending;
		*failureOccurred = e->remap_failure;
	}
	return leave(r);
}
