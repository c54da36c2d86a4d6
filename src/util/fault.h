/* fault.h - TEST ONLY: the one spelling of an injected-fault plan, shared by
 * the sysfs fault plan (sysfs.h) and the store's fault VFS
 * (store/faultvfs.h):
 *     N:ERR[:CLASS]
 * N >= 1 is the operation (counted per process) that fails; ERR is one of
 * EIO EBUSY ENODEV ENOSPC ENOENT EINVAL (-errno) or "short" (the operation
 * reaches the device or file whole and is then reported failed); CLASS
 * names which operations count, from the caller's list (classes[0] when
 * absent).  Returns 0 or -EINVAL; no state. */
#pragma once

#include <stddef.h>

#define CARVE_FAULT_SHORT 1

int carve_fault_parse(const char *spec, const char *const *classes, size_t n_classes, unsigned long *n, int *fault,
		      unsigned *cls);
/* The errno's name as the plan spells it ("EIO"), or "short". */
const char *carve_fault_name(int fault);
