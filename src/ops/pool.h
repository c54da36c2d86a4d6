/* pool.h - what makes several hosts one pool (docs/pool.md): naming hosts,
 * handing a start or shutdown over to the host that must act, waiting for
 * it, announcing changes to the other agents, and the host verbs.
 *
 * Hand-over: the requester commits the intent (the VM starting or stopping,
 * resident on the target host, claimed by no one) with a notification on
 * the target's channel (carve_pool_channel); the target's carved takes it up
 * (carve_ops_realize: claim, act, confirm) and the requester, which polls
 * the VM's row, returns when the VM settles or the target records an
 * error, or gives up after ctx->wait_ms: then an intent no one claimed is
 * undone (nothing was acted on), and one that was claimed is reported as
 * still going on there.  Errors as ops.h.
 */
#pragma once

#include "ops.h"
#include "state/objects.h"

/* The notification channel of a host's agent ("carve_host_" + its UUID
 * without dashes); out holds 48 bytes. */
void carve_pool_channel(const char *host_uuid, char out[48]);
/* The channel every agent listens on for changes to reload: payloads
 * "vm <uuid> <origin>" and "pgpu <uuid> <origin>", the origin naming the
 * writing process (carve_pool_origin), whose model has the change already. */
#define CARVE_POOL_CHANNEL "carve_pool"
void carve_pool_origin(const char *host_uuid, char out[64]);

/* A host by UUID, name-label or hostname; NULL with err set (HOST_NOT_FOUND,
 * or HOST_NAME_AMBIGUOUS when a name fits several). */
const struct carve_obj_host *carve_pool_host_named(struct carve_ctx *ctx, const char *name, struct carve_error *err);
/* HOST_OFFLINE (-EHOSTDOWN) naming the host and how long it has been silent. */
int carve_pool_host_offline(struct carve_ctx *ctx, const struct carve_obj_host *h, struct carve_error *err);
/* In the open transaction: tell the target host's agent it has work. */
int carve_pool_hand_over(struct carve_ctx *ctx, const char *target, const char *vm, struct carve_error *err);
/* In the open transaction: tell every agent the VM (and what hangs on it)
 * changed. */
int carve_pool_note_vm(struct carve_ctx *ctx, const char *vm, struct carve_error *err);
/* The same, in an exclusive transaction that wrote nothing but the VM and
 * its vGPUs (vm-create, vgpu-create, ...): the notification says all there
 * is to read, so the commit leaves the store generation as it is
 * (carve_db_announced) and no agent reloads the whole pool for it. */
int carve_pool_announce_vm(struct carve_ctx *ctx, const char *vm, struct carve_error *err);
/* In the open transaction: tell every agent the PGPU (its row and its
 * types' counts) changed. */
int carve_pool_note_pgpu(struct carve_ctx *ctx, const char *pgpu, struct carve_error *err);
/* Wait, the model and the writers' lock released, until the VM leaves
 * `from` (starting or stopping) on target.  0 when it reached the state the
 * operation wants; the target's error; or, past ctx->wait_ms, the timeout
 * as above.  The model is write-locked again and the VM reloaded. */
int carve_pool_wait(struct carve_ctx *ctx, const char *vm, const char *target, enum carve_power_state from,
		    struct carve_error *err);
/* The same for a migration's phase handed to target (vm-migrate):
 * preparing: 0 when prepared; the target's error; past the wait, an intent
 * no one took up is forgotten (HOST_NOT_RESPONDING), one taken up is
 * OPERATION_PENDING.  releasing, aborting: 0 when done, 1 when still going
 * on there after the wait (it finishes there: nothing is undone), the
 * target's error when it recorded one. */
int carve_pool_wait_migration(struct carve_ctx *ctx, const char *vm, const char *target, enum carve_migration from,
			      struct carve_error *err);
