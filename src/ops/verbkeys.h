/* verbkeys.h - the argument keys each verb accepts (lower case), named in
 * verbs.def's keys column.  Included by the dispatch table (verbs.c) and by
 * the verbs' names and summaries (verbinfo.c, for help and completion in
 * the lean client), so that both see one list.  Each array is
 * NULL-terminated. */
#pragma once

#include <stddef.h>

static const char *const k_uuid[] = {"uuid", "params", NULL};
static const char *const k_get[] = {"uuid", "param-name", "param-key", NULL};
static const char *const k_pgpu_set[] = {"uuid", "gpu-group-uuid", "enabled-vgpu-types", NULL};
static const char *const k_addrm[] = {"uuid", "param-name", "param-key", NULL};
static const char *const k_group_create[] = {"name-label", "name-description", "allocation-algorithm", NULL};
static const char *const k_group_set[] = {"uuid",		    "name-label",     "name-description",
					  "allocation-algorithm", "degraded-pgpus", NULL};
static const char *const k_capacity[] = {"uuid", "vgpu-type-uuid", NULL};
static const char *const k_none[] = {NULL};
static const char *const k_start[] = {"uuid", "on", "params", NULL};
static const char *const k_host[] = {"uuid", NULL};
static const char *const k_host_apply[] = {"config", "dry-run", "format", "selector", NULL};
static const char *const k_mdevctl_import[] = {"dir", "vm", "dry-run", NULL};
static const char *const k_vm_migrate[] = {"uuid", "host", NULL};
static const char *const k_vm_create[] = {"name-label", "name-description", "uuid", "numa-node", NULL};
static const char *const k_vm_set[] = {"uuid", "name-label", "name-description", "numa-node", "p2p", NULL};
static const char *const k_vgpu_create[] = {"vm-uuid", "gpu-group-uuid", "vgpu-type-uuid", "device", "extra-args", NULL};
static const char *const k_vgpu_set[] = {"uuid", "extra-args", NULL};
static const char *const k_adopt[] = {"uuid", "vm-uuid", NULL};
static const char *const k_vm_emit[] = {"uuid", "vcpus", "memory-mib", "hugepages", "hyperv", "cpuset", "display", NULL};
static const char *const k_vm_xml[] = {"uuid",   "vcpus",   "memory-mib",  "hugepages", "hyperv",
				       "cpuset", "display", "domain-type", NULL};
static const char *const k_one[] = {"uuid", NULL};
static const char *const k_gridd[] = {"server", "port", "feature-type", NULL};
static const char *const k_migrate[] = {"uuid", "pgpu-uuid", NULL};
