/* pool.c - hosts of a pool: naming them, handing work over, waiting for it,
 * and the host verbs (host-disable, host-enable, host-declare-dead). */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/uuid.h"
#include "verbs.h"
#include "vm.h"

void carve_pool_channel(const char *host_uuid, char out[48])
{
	size_t n = (size_t)snprintf(out, 48, "carve_host_");
	for (const char *p = host_uuid; *p && n < 47; p++)
		if (*p != '-')
			out[n++] = *p;
	out[n] = '\0';
}

const struct carve_obj_host *carve_pool_host_named(struct carve_ctx *ctx, const char *name, struct carve_error *err)
{
	if (!name[0] || strlen(name) > 255) {
		carve_error_set(err, -EINVAL, "HOST_NOT_FOUND", "no host named '%.64s' (host-list)", name);
		return NULL;
	}
	char uuid[37];
	if (carve_uuid_normalize(name, uuid) == 0) {
		const struct carve_obj_host *h = carve_model_host(ctx->model, uuid);
		if (!h)
			carve_error_set(err, -ENOENT, "HOST_NOT_FOUND", "no host with uuid %s (host-list)", uuid);
		return h;
	}
	const struct carve_obj_host *found = NULL;
	size_t n = 0;
	carve_model_each(ctx->model, hosts, struct carve_obj_host, h)
		if (strcmp(h->name_label, name) == 0 || strcmp(h->hostname, name) == 0) {
			if (h != found)
				n++;
			found = h;
		}
	if (n == 1)
		return found;
	if (n > 1)
		carve_error_set(err, -EINVAL, "HOST_NAME_AMBIGUOUS", "%zu hosts are named '%s': name one by uuid", n, name);
	else
		carve_error_set(err, -ENOENT, "HOST_NOT_FOUND", "no host named '%.64s' (host-list)", name);
	return NULL;
}

int carve_pool_host_offline(struct carve_ctx *ctx, const struct carve_obj_host *h, struct carve_error *err)
{
	if (h->heartbeat_age_ms < 0)
		return carve_error_set(err, -EHOSTDOWN, "HOST_OFFLINE",
				       "host %s (%s) is not live: no carved has ever run there", h->name_label, h->uuid);
	return carve_error_set(err, -EHOSTDOWN, "HOST_OFFLINE",
			       "host %s (%s) is not live: its carved's last heartbeat is older than %lld s "
			       "(host-declare-dead uuid=%s frees its VMs)",
			       h->name_label, h->uuid, (long long)(ctx->model->host_timeout_ms / 1000), h->uuid);
}

int carve_pool_hand_over(struct carve_ctx *ctx, const char *target, const char *vm, struct carve_error *err)
{
	char ch[48];
	carve_pool_channel(target, ch);
	return carve_db_notify(ctx->db, ch, vm, err);
}

/* "KIND UUID ORIGIN": the origin (this host and process) lets the agent
 * that wrote skip what it has in its model already. */
static int note(struct carve_ctx *ctx, const char *kind, const char *uuid, struct carve_error *err)
{
	char payload[128];
	snprintf(payload, sizeof(payload), "%s %s %s:%ld", kind, uuid, ctx->host_uuid, (long)getpid());
	return carve_db_notify(ctx->db, CARVE_POOL_CHANNEL, payload, err);
}

void carve_pool_origin(const char *host_uuid, char out[64])
{
	snprintf(out, 64, "%s:%ld", host_uuid, (long)getpid());
}

int carve_pool_note_vm(struct carve_ctx *ctx, const char *vm, struct carve_error *err)
{
	return note(ctx, "vm", vm, err);
}

int carve_pool_announce_vm(struct carve_ctx *ctx, const char *vm, struct carve_error *err)
{
	int r = carve_pool_note_vm(ctx, vm, err);
	if (r >= 0 && carve_db_notifies(ctx->db))
		carve_db_announced(ctx->db);
	return r;
}

int carve_pool_note_pgpu(struct carve_ctx *ctx, const char *pgpu, struct carve_error *err)
{
	return note(ctx, "pgpu", pgpu, err);
}


/* The target's error, "ID: message", as the requester's. */
static int remote_error(const char *host_label, const char *text, struct carve_error *err)
{
	const char *sep = strstr(text, ": ");
	char id[64] = "HOST_ERROR";
	if (sep && (size_t)(sep - text) < sizeof(id)) {
		memcpy(id, text, (size_t)(sep - text));
		id[sep - text] = '\0';
		text = sep + 2;
	}
	return carve_error_set(err, -EIO, id, "on host %s: %s", host_label, text);
}

/* A shared transaction with the VM's row locked and its status read
 * (carve_repo_vm_status); on failure it is rolled back. */
static int begin_status(struct carve_ctx *ctx, const char *vm, struct carve_rows **rows, struct carve_error *err)
{
	bool found = false;
	int r = carve_ops_begin_shared(ctx, err);
	if (r < 0)
		return r;
	if ((r = carve_repo_vm_lock(ctx->db, vm, &found, err)) >= 0 && found)
		r = carve_repo_vm_status(ctx->db, vm, rows, err);
	if (r < 0 || !found || (*rows)->nrows != 1) {
		carve_db_rollback(ctx->db);
		return r < 0 ? r : carve_ops_not_found("vm", vm, err);
	}
	return 0;
}

/* End the transaction of an undone hand-over (r: how the undoing went so
 * far), why recorded on the VM: 0 when committed, else the error in err. */
static int end_undone(struct carve_ctx *ctx, const char *vm, const char *why, int r, struct carve_error *err)
{
	if (r >= 0)
		r = carve_repo_vm_set_error(ctx->db, vm, why, err);
	if (r >= 0)
		r = carve_pool_note_vm(ctx, vm, err);
	return carve_ops_end(ctx, r, err);
}

/* Past the wait: undo an intent no one took up; report one that was. */
static int timed_out(struct carve_ctx *ctx, const char *vm, const char *target, const char *label,
		     enum carve_power_state from, unsigned wait_ms, struct carve_error *err)
{
	const char *what = from == CARVE_POWER_STARTING ? "start" : "shutdown";
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = begin_status(ctx, vm, &rows, err);
	if (r < 0)
		return r;
	const char *power = carve_rows_get(rows, 0, "power_state"), *claim = carve_rows_get(rows, 0, "claimed_by");
	if (strcmp(power, carve_power_state_name(from)) != 0) {
		carve_db_rollback(ctx->db);
		return 1; /* it settled just now: look again */
	}
	if (claim) {
		carve_db_rollback(ctx->db);
		return carve_error_set(err, -ETIMEDOUT, "OPERATION_PENDING",
				       "host %s took up the %s of VM %s but did not finish it within %u s; it goes on "
				       "there (vm-param-get uuid=%s param-name=power-state)",
				       label, what, vm, wait_ms / 1000, vm);
	}
	_cleanup_free_ char *why = carve_strdupf("HOST_NOT_RESPONDING: host %s did not take up the %s within %u s",
						 label, what, wait_ms / 1000);
	if (from == CARVE_POWER_STARTING) {
		r = carve_ops_vm_release(ctx, vm, err);
	} else {
		r = carve_repo_vm_vgpus_set_state(ctx->db, vm, CARVE_VGPU_RUNNING, err);
		if (r >= 0)
			r = carve_repo_vm_set_power(ctx->db, vm, CARVE_POWER_RUNNING, target, err);
	}
	if ((r = end_undone(ctx, vm, why, r, err)) < 0)
		return r;
	return carve_error_set(err, -ETIMEDOUT, "HOST_NOT_RESPONDING",
			       "host %s did not take up the %s of VM %s within %u s; nothing was done", label, what, vm,
			       wait_ms / 1000);
}

/* How often a watching requester asks again without a notification. */
#define WATCH_POLL_MS 100

/* Poll the VM's row, the model and the writers' lock released, until
 * column (power_state or migration) leaves `from`, or the row carries an
 * error while it has not (the target failed and recorded why; with
 * error_ends), or wait_ms pass.  *settled: the column's new value ("" when
 * it did not settle); *failure: the error recorded, or why the VM went
 * (NULL when none).  Between looks it waits for the VM's change
 * (ctx->watch_wait) where the caller can tell, else sleeps.  The model is
 * write-locked again on return. */
static void poll_vm(struct carve_ctx *ctx, const char *vm, const char *column, const char *from, bool error_ends,
		    unsigned wait_ms, char settled[16], char **failure)
{
	settled[0] = '\0';
	*failure = NULL;
	carve_model_unlock(ctx->model);
	if (ctx->writers_release)
		ctx->writers_release(ctx->writers_data);
	long long until = carve_mono_ms() + wait_ms;
	long sleep_us = 200;
	struct carve_vm_watch w;
	bool watching = ctx->watch_begin != NULL;
	if (watching)
		ctx->watch_begin(ctx->writers_data, &w, vm);
	for (;;) {
		/* The VM's row, outside any transaction; a store that is away
		 * (restarting) is asked again until the wait is over. */
		_cleanup_rows_ struct carve_rows *rows = NULL;
		if (carve_repo_vm_status(ctx->db, vm, &rows, NULL) >= 0 && rows->nrows == 1) {
			const char *now = carve_rows_get(rows, 0, column), *e = carve_rows_get(rows, 0, "last_error");
			if (strcmp(now, from) != 0) {
				carve_strlcpy(settled, now, 16);
				*failure = e && e[0] ? strdup(e) : NULL;
				break;
			}
			if (error_ends && e && e[0]) {
				*failure = strdup(e);
				break;
			}
		} else if (rows && rows->nrows == 0) {
			carve_strlcpy(settled, "gone", 16);
			*failure = strdup("UUID_NOT_FOUND: the VM was destroyed meanwhile");
			break;
		}
		long long left = until - carve_mono_ms();
		if (left <= 0)
			break;
		if (watching) {
			/* woken by the target's commit; asked again now and
			 * then in case a notification went missing */
			ctx->watch_wait(ctx->writers_data, &w, (unsigned)(left < WATCH_POLL_MS ? left : WATCH_POLL_MS));
			continue;
		}
		struct timespec ts = {0, sleep_us * 1000};
		nanosleep(&ts, NULL);
		if (sleep_us < 20000)
			sleep_us *= 2;
	}
	if (watching)
		ctx->watch_end(ctx->writers_data, &w);
	if (ctx->writers_reacquire)
		ctx->writers_reacquire(ctx->writers_data);
	carve_model_wrlock(ctx->model);
}

static unsigned pool_wait_ms(const struct carve_ctx *ctx)
{
	return ctx->wait_ms ? ctx->wait_ms : CARVE_POOL_WAIT_MS;
}

/* A destination that did not finish preparing in time: given up when it
 * did not take it up (nothing was made), else reported as going on. */
static int migration_timed_out(struct carve_ctx *ctx, const char *vm, const char *label, unsigned wait_ms,
			       struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = begin_status(ctx, vm, &rows, err);
	if (r < 0)
		return r;
	const char *phase = carve_rows_get(rows, 0, "migration"), *claim = carve_rows_get(rows, 0, "claimed_by");
	if (strcmp(phase, "preparing") != 0) {
		carve_db_rollback(ctx->db);
		return strcmp(phase, "prepared") == 0 ? 0 : carve_error_set(err, -EIO, "MIGRATION_FAILED",
			"the migration of VM %s to %s was given up meanwhile (vm-param-get uuid=%s param-name=last-error)",
			vm, label, vm);
	}
	if (claim) {
		carve_db_rollback(ctx->db);
		return carve_error_set(err, -ETIMEDOUT, "OPERATION_PENDING",
				       "host %s took up the migration of VM %s but did not prepare it within %u s; it goes "
				       "on there (vm-param-get uuid=%s param-name=migration)",
				       label, vm, wait_ms / 1000, vm);
	}
	_cleanup_free_ char *why = carve_strdupf("HOST_NOT_RESPONDING: host %s did not take up the migration within %u s",
						 label, wait_ms / 1000);
	if ((r = end_undone(ctx, vm, why, carve_repo_vm_migration_clear(ctx->db, vm, err), err)) < 0)
		return r;
	return carve_error_set(err, -ETIMEDOUT, "HOST_NOT_RESPONDING",
			       "host %s did not take up the migration of VM %s within %u s; nothing was done", label, vm,
			       wait_ms / 1000);
}

int carve_pool_wait(struct carve_ctx *ctx, const char *vm, const char *target, enum carve_power_state from,
		    struct carve_error *err)
{
	const struct carve_obj_host *h = carve_model_host(ctx->model, target);
	char label[256], settled[16];
	carve_strlcpy(label, h ? h->name_label : target, sizeof(label));
	unsigned wait_ms = pool_wait_ms(ctx);
	enum carve_power_state want = from == CARVE_POWER_STARTING ? CARVE_POWER_RUNNING : CARVE_POWER_HALTED;
	_cleanup_free_ char *failure = NULL;
	poll_vm(ctx, vm, "power_state", carve_power_state_name(from), true, wait_ms, settled, &failure);
	int r = 0;
	if (settled[0] && strcmp(settled, carve_power_state_name(want)) != 0 && !failure)
		failure = strdup("VM_BAD_POWER_STATE: the VM changed state meanwhile");
	if (!settled[0] && !failure) {
		r = timed_out(ctx, vm, target, label, from, wait_ms, err);
		if (r == 1) /* settled at the last moment */
			r = 0;
	} else if (failure) {
		r = remote_error(label, failure, err);
	}
	int r2 = carve_model_reload_vm(ctx->model, ctx->db, vm, r < 0 ? NULL : err);
	return r < 0 ? r : r2;
}

int carve_pool_wait_migration(struct carve_ctx *ctx, const char *vm, const char *target, enum carve_migration from,
			      struct carve_error *err)
{
	const struct carve_obj_host *h = carve_model_host(ctx->model, target);
	char label[256], settled[16];
	carve_strlcpy(label, h ? h->name_label : target, sizeof(label));
	unsigned wait_ms = pool_wait_ms(ctx);
	bool preparing = from == CARVE_MIGRATION_PREPARING;
	_cleanup_free_ char *failure = NULL;
	/* An abort carries its reason as the VM's error from the start. */
	poll_vm(ctx, vm, "migration", carve_migration_name(from), from != CARVE_MIGRATION_ABORTING, wait_ms, settled,
		&failure);
	int r = 0;
	if (preparing && settled[0] && strcmp(settled, "prepared") == 0)
		r = 0;
	else if (preparing && (settled[0] || failure))
		r = remote_error(label, failure ? failure : "MIGRATION_FAILED: the migration was given up meanwhile", err);
	else if (preparing)
		r = migration_timed_out(ctx, vm, label, wait_ms, err);
	else if (settled[0])
		r = 0;
	else if (failure) /* the release or abort failed there: it is retried there */
		r = remote_error(label, failure, err);
	else
		r = 1; /* going on there */
	int r2 = carve_model_reload_vm(ctx->model, ctx->db, vm, r < 0 ? NULL : err);
	return r < 0 ? r : r2 < 0 ? r2 : r;
}

int carve_ops_realize_pending(struct carve_ctx *ctx, size_t *done, struct carve_error *err)
{
	*done = 0;
	int r = carve_ops_realize_starts(ctx, done, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	if ((r = carve_repo_vm_pending(ctx->db, ctx->host_uuid, &rows, err)) < 0)
		return r;
	for (size_t i = 0; i < rows->nrows; i++) {
		struct carve_error e = {0};
		if (carve_ops_realize(ctx, carve_rows_get(rows, i, "uuid"), &e) >= 0)
			(*done)++;
	}
	return 0;
}

/* ---- host verbs ---- */

static int host_arg(struct carve_ctx *ctx, json_t *args, const struct carve_obj_host **h, struct carve_error *err)
{
	const char *name = NULL;
	int r = carve_arg_str(args, "uuid", true, &name, err);
	if (r < 0)
		return r;
	*h = carve_pool_host_named(ctx, name, err);
	return *h ? 0 : err->code;
}

static int set_enabled(struct carve_ctx *ctx, json_t *args, bool on, json_t **result, struct carve_error *err)
{
	const struct carve_obj_host *h;
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	if ((r = host_arg(ctx, args, &h, err)) >= 0)
		r = carve_repo_host_set_enabled(ctx->db, h->uuid, on, err);
	char uuid[37] = "";
	if (r >= 0)
		carve_strlcpy(uuid, h->uuid, sizeof(uuid));
	if ((r = carve_ops_end(ctx, r, err)) < 0 || (r = carve_model_reload_host(ctx->model, ctx->db, uuid, err)) < 0)
		return r;
	*result = json_object();
	return 0;
}

int carve_op_host_disable(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	return set_enabled(ctx, args, false, result, err);
}

int carve_op_host_enable(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	return set_enabled(ctx, args, true, result, err);
}

/* An operator's word that a silent host is gone (powered off, fenced): its
 * VMs are halted in the model and its capacity freed.  Refused while the
 * host is live, and for this host (it is running this very call). */
int carve_op_host_declare_dead(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err)
{
	const struct carve_obj_host *h;
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct carve_rows *vms = NULL;
	char uuid[37] = "";
	if ((r = host_arg(ctx, args, &h, err)) >= 0) {
		carve_strlcpy(uuid, h->uuid, sizeof(uuid));
		if (strcmp(uuid, ctx->host_uuid) == 0)
			r = carve_error_set(err, -EBUSY, "HOST_IS_LIVE", "host %s is this host: it is not dead",
					    h->name_label);
		else if (carve_model_host_live(ctx->model, h))
			r = carve_error_set(err, -EBUSY, "HOST_IS_LIVE",
					    "host %s is live (its carved heartbeats): stop its carved first; "
					    "host-disable keeps it out of placement",
					    h->name_label);
	}
	/* Migrations it acts in: what it held is gone with it; the VMs run
	 * where they are resident. */
	_cleanup_rows_ struct carve_rows *moving = NULL;
	if (r >= 0)
		r = carve_repo_host_migrations(ctx->db, uuid, &moving, err);
	for (size_t i = 0; r >= 0 && i < moving->nrows; i++) {
		r = carve_repo_vm_migration_clear(ctx->db, carve_rows_get(moving, i, "uuid"), err);
		if (r >= 0)
			r = carve_repo_vm_set_error(ctx->db, carve_rows_get(moving, i, "uuid"),
						    "MIGRATION_FAILED: the other host of its migration was declared dead", err);
	}
	if (r >= 0)
		r = carve_repo_host_vms(ctx->db, uuid, &vms, err);
	for (size_t i = 0; r >= 0 && i < vms->nrows; i++) {
		const char *vm = carve_rows_get(vms, i, "uuid");
		const struct carve_obj_vm *o = carve_model_vm(ctx->model, vm);
		r = carve_ops_vm_release(ctx, vm, err);
		/* A suspended VM's saved state outlives its host: it stays
		 * suspended, and vm-resume places it again. */
		if (r >= 0 && o && o->power == CARVE_POWER_SUSPENDED)
			r = carve_repo_vm_set_power(ctx->db, vm, CARVE_POWER_SUSPENDED, NULL, err);
		if (r >= 0)
			r = carve_repo_vm_set_error(ctx->db, vm, "HOST_DECLARED_DEAD: its host was declared dead", err);
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0)
		return r;
	for (size_t i = 0; moving && i < moving->nrows; i++)
		carve_model_reload_vm(ctx->model, ctx->db, carve_rows_get(moving, i, "uuid"), NULL);
	json_t *halted = json_array();
	for (size_t i = 0; i < vms->nrows; i++) {
		carve_model_reload_vm(ctx->model, ctx->db, carve_rows_get(vms, i, "uuid"), NULL);
		json_array_append_new(halted, json_string(carve_rows_get(vms, i, "uuid")));
	}
	*result = json_pack("{s:s, s:o}", "host", uuid, "halted-vms", halted);
	return 0;
}
