/* host.c - backend-independent parts of host.h. */
#include "host.h"

#include <string.h>

void carve_host_free(struct carve_host *h)
{
	if (h && h->ops && h->ops->free)
		h->ops->free(h);
}

bool carve_vgpu_params_valid(const char *p)
{
	if (!p || strlen(p) >= sizeof(((struct carve_vgpu_spec *)0)->params))
		return false;
	for (; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
		      strchr("_=,.:-", *p)))
			return false;
	return true;
}
