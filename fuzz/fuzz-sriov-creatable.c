/* libFuzzer target: NVIDIA SR-IOV `creatable_vgpu_types` parser
 * (src/model/desc.c).  Checks the contract on every result: at most 1024
 * entries, non-zero unique ids, non-empty printable NUL-terminated names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct carve_sriov_entry *e)
{
	size_t len = strnlen(e->name, sizeof(e->name));
	if (e->id == 0 || len == 0 || len >= sizeof(e->name))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)e->name[i] < 0x20 || (unsigned char)e->name[i] >= 0x7f)
			abort();
	if (e->name[0] == ' ' || e->name[len - 1] == ' ')
		abort(); /* names are trimmed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_error err = {0};
	struct carve_sriov_entry *v = (struct carve_sriov_entry *)1; /* must be overwritten */
	size_t n = 12345;
	int r = carve_sriov_creatable_parse((const char *)data, size, "fuzz", &v, &n, &err);
	if (r < 0) {
		if (v != NULL || n != 0 || err.code != r || err.message[0] == '\0')
			abort();
		if (r != -EINVAL && r != -ERANGE && r != -ENOMEM)
			abort();
		return 0;
	}
	if (r != 0 || err.code != 0 || n > 1024 || (n == 0) != (v == NULL))
		abort();
	for (size_t i = 0; i < n; i++) {
		check_entry(&v[i]);
		for (size_t j = 0; j < i; j++)
			if (v[j].id == v[i].id)
				abort();
	}
	free(v);
	return 0;
}
