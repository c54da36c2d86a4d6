#include "model.h"

#include <errno.h>
#include <stdio.h>

int carve_type_key(enum carve_impl impl, const char *model_name, char *out, size_t outlen)
{
	int n = impl == CARVE_IMPL_PASSTHROUGH ? snprintf(out, outlen, "passthrough")
					       : snprintf(out, outlen, "%s/%s", carve_impl_name(impl), model_name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}
