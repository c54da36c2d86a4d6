/* model.h - constants and identity rules of carve's XAPI-style model.
 *
 * Identities are deterministic where the object is a fact of the hardware, so
 * that losing the database, or a second host in a pool, yields the same UUIDs:
 *   host      = v5(NS, "host/" + hostname)
 *   pgpu      = v5(NS, "pgpu/" + host uuid + "/" + PCI address)
 *   gpu group = v5(NS, "gpu-group/" + vendor id + "/" + device id)  (auto groups)
 *   vgpu type = v5(NS, "vgpu-type/" + type key)
 * VMs, vGPUs and user-created groups get random UUIDs.
 *
 * Capacity follows XAPI: every PGPU has size CARVE_PGPU_SIZE and a vGPU type
 * costs CARVE_PGPU_SIZE / max_instances of it.  The constant is divisible by
 * every instance count NVIDIA, AMD and Intel publish (1..16, 24, 32, 48, 64),
 * so a homogeneous PGPU packs exactly max_instances vGPUs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "impl.h"

#define CARVE_UUID_NS "6f1a3a4e-9b0c-4f55-8a4e-6361727665aa"
#define CARVE_PGPU_SIZE INT64_C(2882880)

/* A PGPU's UUID, by the rule above (out: 37 bytes). */
void carve_pgpu_uuid(const char *host_uuid, const char *pci, char *out);

/* Stable key of a vGPU type across hosts: "passthrough", or
 * "<implementation>/<model name>". */
int carve_type_key(enum carve_impl impl, const char *model_name, char *out, size_t outlen);
/* The type's UUID, named from its key (out: 37 bytes); -ENAMETOOLONG. */
int carve_type_uuid(enum carve_impl impl, const char *model_name, char *out);

static inline int64_t carve_type_size(uint32_t max_instances)
{
	return max_instances ? CARVE_PGPU_SIZE / max_instances : CARVE_PGPU_SIZE;
}
