/* libFuzzer target: vgpu-device-manager's configuration translated into a
 * carve host configuration (src/host/vgpudm.c), on a fixed host of three
 * GPUs.  The configuration to translate is named on the input's first
 * line ("# select: NAME", a YAML comment), else "default".  The contract,
 * besides what ASan/UBSan/LSan catch: a refused file sets err with the same
 * code, the HOST_CONFIG_INVALID id (or OUT_OF_MEMORY) and the origin, and
 * leaves *out NULL; an accepted one gives a text that carve_hostcfg_parse()
 * accepts, with one PCI-selected entry per GPU at most, each with types. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/hostcfg.h"
#include "host/vgpudm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct carve_vgpudm_gpu gpus[] = {
	{"0000:3b:00.0", 0x10de, 0x1eb8},
	{"0000:5e:00.0", 0x10de, 0x20b5},
	{"0000:af:00.0", 0x10de, 0x1eb8},
};

/* The NAME of a first line "# select: NAME", or "default". */
static void selector(const uint8_t *data, size_t size, char *sel, size_t cap)
{
	static const char tag[] = "# select: ";
	size_t n = 0;
	if (size > sizeof(tag) - 1 && memcmp(data, tag, sizeof(tag) - 1) == 0)
		for (size_t i = sizeof(tag) - 1; i < size && data[i] != '\n' && data[i] && n + 1 < cap; i++)
			sel[n++] = (char)data[i];
	sel[n] = '\0';
	if (!n)
		snprintf(sel, cap, "default");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sel[160];
	selector(data, size, sel, sizeof(sel));
	char *out = (char *)"untouched";
	struct carve_error err = {0};
	int r = carve_vgpudm_translate((const char *)data, size, "fuzz.yaml", sel, gpus, 3, &out, &err);
	if (r < 0) {
		if (err.code != r || out || !strstr(err.message, "fuzz.yaml") ||
		    (strcmp(err.id, "HOST_CONFIG_INVALID") != 0 && strcmp(err.id, "OUT_OF_MEMORY") != 0))
			abort();
		return 0;
	}
	struct carve_hostcfg c;
	struct carve_error perr = {0};
	if (r != 0 || !out || carve_hostcfg_parse(out, strlen(out), "out.yaml", &c, &perr) < 0 || c.n > 3)
		abort();
	for (size_t i = 0; i < c.n; i++)
		if (c.v[i].select != CARVE_HOSTCFG_PCI || !c.v[i].has_types || c.v[i].has_vfs ||
		    (i && strcmp(c.v[i - 1].pci, c.v[i].pci) >= 0))
			abort();
	carve_hostcfg_clear(&c);
	free(out);
	return 0;
}
