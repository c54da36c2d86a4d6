#include "fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int fault;
} faults[] = {{"EIO", -EIO},       {"EBUSY", -EBUSY},   {"ENODEV", -ENODEV},          {"ENOSPC", -ENOSPC},
	      {"ENOENT", -ENOENT}, {"EINVAL", -EINVAL}, {"short", CARVE_FAULT_SHORT}};

int carve_fault_parse(const char *spec, const char *const *classes, size_t n_classes, unsigned long *n, int *fault,
		      unsigned *cls)
{
	char *end = NULL;
	if (spec[0] < '0' || spec[0] > '9')
		return -EINVAL; /* strtoul would take "-1" and " 1" */
	errno = 0;
	unsigned long v = strtoul(spec, &end, 10);
	if (errno || end == spec || v == 0 || *end != ':')
		return -EINVAL;
	const char *f = end + 1, *colon = strchr(f, ':');
	size_t flen = colon ? (size_t)(colon - f) : strlen(f);
	*cls = 0;
	if (colon) {
		size_t i;
		for (i = 0; i < n_classes; i++)
			if (strcmp(colon + 1, classes[i]) == 0)
				break;
		if (i == n_classes)
			return -EINVAL;
		*cls = (unsigned)i;
	}
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (strlen(faults[i].name) == flen && strncmp(f, faults[i].name, flen) == 0) {
			*n = v;
			*fault = faults[i].fault;
			return 0;
		}
	return -EINVAL;
}

const char *carve_fault_name(int fault)
{
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (faults[i].fault == fault)
			return faults[i].name;
	return "?";
}
