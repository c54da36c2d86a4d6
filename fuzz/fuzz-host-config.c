/* libFuzzer target: the host configuration (src/host/hostcfg.c) that
 * host-apply reads - YAML through util/yamldoc.c's strict rules, then the
 * schema.  The contract, besides what ASan/UBSan/LSan catch: a refused
 * file sets err with the same code, the HOST_CONFIG_INVALID id (or
 * OUT_OF_MEMORY) and the origin, and leaves the result empty; an accepted
 * one has entries with a line and a known selection, within the limits'
 * counts, and settings only of the values the format allows (vgpu_params
 * syntax, a scheduler policy with its time slice, MIG profile counts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "host/hostcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_hostcfg c;
	struct carve_error err = {0};
	int r = carve_hostcfg_parse((const char *)data, size, "fuzz.yaml", &c, &err);
	if (r < 0) {
		if (err.code != r || c.v || c.n || !strstr(err.message, "fuzz.yaml") ||
		    (strcmp(err.id, "HOST_CONFIG_INVALID") != 0 && strcmp(err.id, "OUT_OF_MEMORY") != 0))
			abort();
		return 0;
	}
	if (c.n > CARVE_HOSTCFG_MAX_ENTRIES)
		abort();
	for (size_t i = 0; i < c.n; i++) {
		const struct carve_hostcfg_entry *e = &c.v[i];
		if (e->line < 1 || (unsigned)e->select > CARVE_HOSTCFG_DEVICE_ID || e->types.n > CARVE_HOSTCFG_MAX_TYPES ||
		    (e->select == CARVE_HOSTCFG_PCI && strlen(e->pci) != 12) || (!e->has_types && e->types.n) ||
		    e->mig.n > CARVE_HOSTCFG_MAX_MIG || (!e->has_mig && e->mig.n) ||
		    (e->has_params && !carve_vgpu_params_valid(e->params)) ||
		    (e->has_sched && ((unsigned)e->sched.policy >= CARVE_NVSCHED_POLICY_LAST ||
				      e->sched.slice_ms > CARVE_NVSCHED_MAX_SLICE_MS ||
				      (e->sched.policy == CARVE_NVSCHED_BEST_EFFORT && e->sched.slice_ms))))
			abort();
		/* every selection answers; the names are plain strings */
		carve_hostcfg_selects(e, "0000:41:00.0", "NVIDIA L40S", "L40S", 0x10de, 0x26b9);
	}
	carve_hostcfg_clear(&c);
	return 0;
}
