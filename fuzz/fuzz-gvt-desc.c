/* libFuzzer target: Intel GVT-g `description` parser (src/model/desc.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_error err = {0};
	struct carve_gvt_desc d;
	int r = carve_gvt_desc_parse((const char *)data, size, "fuzz", &d, &err);
	if (r < 0) {
		struct carve_gvt_desc zero = {0};
		if (err.code != r || err.message[0] == '\0' || memcmp(&d, &zero, sizeof(d)) != 0)
			abort();
		if (r != -EINVAL && r != -ERANGE)
			abort();
		return 0;
	}
	/* Success needs the four keys every i915 prints, so the input had text. */
	if (r != 0 || err.code != 0 || size < 4)
		abort();
	return 0;
}
