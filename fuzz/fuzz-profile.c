/* libFuzzer target: host profiles (src/host/profile.c), then - for inputs
 * that parse and validate - the simulated host built from them (sim.c) and
 * its canonical JSON.  Besides what ASan/UBSan catch, checks the contract:
 * an error sets err (with a message naming the origin) and leaves no
 * profile; a parsed profile respects the resource limits and holds only
 * canonical PCI addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/profile.h"
#include "host/sim.h"
#include "util/pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_error err = {0};
	struct carve_profile *p = NULL;
	int r = carve_profile_parse((const char *)data, size, "fuzz.yaml", &p, &err);
	if (r < 0) {
		if (p || err.code != r || strncmp(err.message, "fuzz.yaml", 9) != 0)
			abort();
		if (r != -EINVAL && r != -E2BIG && r != -ENOMEM)
			abort();
		return 0;
	}
	if (r != 0 || err.code != 0 || !p || !p->name[0] || p->n_gpus > CARVE_PROFILE_MAX_GPUS)
		abort();
	size_t vgpus = 0;
	for (size_t i = 0; i < p->n_gpus; i++) {
		char norm[13];
		if (carve_pci_normalize(p->gpus[i].pci, norm) < 0 || strcmp(norm, p->gpus[i].pci) != 0)
			abort();
		vgpus += p->gpus[i].n_vgpus;
	}
	if (vgpus > CARVE_PROFILE_MAX_VGPUS)
		abort();
	if (carve_profile_validate(p, &err) == 0) {
		struct carve_host *h = NULL;
		if (carve_host_open_sim_profile(p, NULL, &h, &err) == 0) {
			struct carve_hw_inventory inv = {0};
			if (carve_host_discover(h, &inv, &err) != 0)
				abort();
			json_t *j = carve_hw_inventory_to_json(&inv);
			if (!j)
				abort();
			json_decref(j);
			carve_hw_inventory_clear(&inv);
			carve_host_free(h);
		} else if (err.code == 0 || err.message[0] == '\0') {
			abort();
		}
	} else if (err.code == 0) {
		abort();
	}
	carve_profile_free(p);
	return 0;
}
