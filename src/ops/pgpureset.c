/* pgpureset.c - pgpu-reset: a GPU reset, which is what a pending page
 * retirement, row remapping or ECC mode change waits for (host/health.h).
 * Refused while any vGPU is resident on or scheduled to the PGPU (a reset
 * takes the GPU from under them), naming each; only the PGPU's own host's
 * carve resets it.  Errors: UUID_NOT_FOUND, PGPU_NOT_ON_THIS_HOST,
 * PGPU_IN_USE, NO_HOST_BACKEND, and the backend's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "host/host.h"
#include "state/model.h"
#include "verbs.h"
#include "vm.h"

int carve_op_pgpu_reset(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	char uuid[37];
	int r = carve_arg_uuid(args, "uuid", true, uuid, err);
	if (r < 0)
		return r;
	if (!ctx->host || !ctx->host->ops->gpu_reset)
		return carve_error_set(err, -EINVAL, "NO_HOST_BACKEND", "pgpu-reset needs a host (drop --no-discover)");
	const struct carve_obj_pgpu *p = carve_model_pgpu(ctx->model, uuid);
	if (!p)
		return carve_ops_not_found("pgpu", uuid, err);
	if (!p->host || strcmp(p->host->uuid, ctx->host_uuid) != 0)
		return carve_error_set(err, -EINVAL, "PGPU_NOT_ON_THIS_HOST",
				       "PGPU %s is on host %s: reset it through that host's carved (--server)", uuid,
				       p->host ? p->host->name_label : "?");
	if (p->n_vgpus > 0) {
		char msg[1024];
		size_t off = (size_t)snprintf(msg, sizeof(msg), "%u vGPU(s) on it:", p->n_vgpus);
		for (uint32_t k = 0; k < p->n_vgpus && off < sizeof(msg); k++)
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s vGPU %s of %s VM '%s'", k ? ";" : "",
						p->vgpus[k]->uuid, carve_power_state_name(p->vgpus[k]->vm->power),
						p->vgpus[k]->vm->name_label);
		return carve_error_set(err, -EBUSY, "PGPU_IN_USE", "cannot reset PGPU %s (%s): %s", uuid,
				       carve_pgpu_place(p)->pci, msg);
	}
	char pci[13];
	snprintf(pci, sizeof(pci), "%s", carve_pgpu_place(p)->pci);
	carve_model_unlock(ctx->model);
	r = ctx->host->ops->gpu_reset(ctx->host, pci, err);
	carve_model_wrlock(ctx->model);
	/* The store learns what the GPU says now, whatever happened. */
	const char *one[1] = {pci};
	struct carve_error e2 = {0};
	int r2 = carve_ops_rediscover_gpus(ctx, one, 1, &e2);
	if (r < 0)
		return r;
	if (r2 < 0) {
		*err = e2;
		return r2;
	}
	p = carve_model_pgpu(ctx->model, uuid);
	*result = json_pack("{s:s, s:s}", "health", p ? carve_health_name(p->health) : "?", "health-reason",
			    p && p->health_reason ? p->health_reason : "");
	return *result ? 0 : -ENOMEM;
}
