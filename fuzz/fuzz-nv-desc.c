/* libFuzzer target: NVIDIA mdev `description` parser (src/model/desc.c).
 * Besides what ASan/UBSan catch, checks the contract: an error sets err and
 * leaves a zeroed result; a success only reports fields it saw. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_error err = {0};
	struct carve_nv_desc d;
	int r = carve_nv_desc_parse((const char *)data, size, "fuzz", &d, &err);
	if (r < 0) {
		struct carve_nv_desc zero = {0};
		if (err.code != r || err.message[0] == '\0' || memcmp(&d, &zero, sizeof(d)) != 0)
			abort();
		if (r != -EINVAL && r != -ERANGE)
			abort();
		return 0;
	}
	if (r != 0 || err.code != 0)
		abort();
	if ((!(d.have & CARVE_DESC_HAS_HEADS) && d.num_heads) || (!(d.have & CARVE_DESC_HAS_FRL) && d.frl_config) ||
	    (!(d.have & CARVE_DESC_HAS_FB) && d.framebuffer_mib) ||
	    (!(d.have & CARVE_DESC_HAS_RES) && (d.max_res_x || d.max_res_y)) ||
	    (!(d.have & CARVE_DESC_HAS_MAXINST) && d.max_instance))
		abort();
	return 0;
}
