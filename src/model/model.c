#include "model.h"

#include <errno.h>
#include <stdio.h>

#include "util/uuid.h"

int carve_type_key(enum carve_impl impl, const char *model_name, char *out, size_t outlen)
{
	int n = impl == CARVE_IMPL_PASSTHROUGH ? snprintf(out, outlen, "passthrough")
					       : snprintf(out, outlen, "%s/%s", carve_impl_name(impl), model_name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int carve_type_uuid(enum carve_impl impl, const char *model_name, char *out)
{
	char key[256], kname[300];
	int r = carve_type_key(impl, model_name, key, sizeof(key));
	if (r < 0)
		return r;
	snprintf(kname, sizeof(kname), "vgpu-type/%s", key);
	carve_uuid_from_name(CARVE_UUID_NS, kname, out);
	return 0;
}

void carve_pgpu_uuid(const char *host_uuid, const char *pci, char *out)
{
	char name[128];
	snprintf(name, sizeof(name), "pgpu/%s/%s", host_uuid, pci);
	carve_uuid_from_name(CARVE_UUID_NS, name, out);
}
