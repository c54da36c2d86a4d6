/* ops.h - the verbs: one function per verb behind one dispatch table.
 *
 * The CLI (in-process with --local) and carved's HTTP API build the same
 * request - a verb name and a JSON object of arguments - and get the same
 * result back, so every front end speaks one shape:
 *   list verbs:   {"class": "pgpu", "records": [ {field: value, ...}, ... ]}
 *   get verbs:    {"value": ...}
 *   create verbs: {"uuid": "..."} (plus verb-specific fields)
 *   other verbs:  {} or verb-specific objects
 * Argument keys are matched case-insensitively; values may be JSON strings
 * (from the CLI) or JSON scalars (from the API).  Unknown keys are refused.
 *
 * Verbs decide on the resident model (state/model.h) and read nothing but
 * it; a write opens a store transaction (carve_ops_begin: the model is
 * proven current by the store generation, or reloaded, under the store's
 * writer lock; the placement path's shared transactions lock and read again
 * the rows they decide on instead, verbs.h), records its intent, commits,
 * then reloads what it touched
 * into the model; verbs that touch the host act after the commit and
 * confirm in a second transaction.  Errors: negative errno with err set
 * (stable XAPI-style ids such as UUID_INVALID, UUID_NOT_FOUND,
 * UNKNOWN_PARAMETER).  A failed verb changes nothing in the store or the
 * model.  A context is used by one thread at a time; the model may be
 * shared by several (its lock is taken by carve_ops_call).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "host/host.h"
#include "store/db.h"
#include "util/error.h"

struct carve_vm_watch;

enum carve_role {
	CARVE_ROLE_READ_ONLY = 0,
	CARVE_ROLE_VM_OPERATOR = 1,
	CARVE_ROLE_POOL_ADMIN = 2,
};

struct carve_model;

struct carve_ctx {
	struct carve_db *db;        /* owned by the caller */
	struct carve_host *host;    /* owned by the caller; NULL = model only, no discovery */
	const char *hostname;       /* this host's name in the model */
	const char *backend_desc;   /* e.g. "sysfs:/sys" or "sim:examples/hosts/demo.yaml" */
	char host_uuid[37];         /* filled by carve_ops_refresh() */
	bool refreshed;
	/* The resident model: the caller's (carved shares one), or NULL, and
	 * then the first call loads one the context owns (the CLI). */
	struct carve_model *model;
	bool owns_model;
	/* This host's last discovery, handed down to the verbs and the backend
	 * instead of being read again: the caller's (carved keeps one), or
	 * NULL, and then the first refresh makes one the context owns. */
	struct carve_hw_inventory *inv;
	bool owns_inv;
	/* Called by carve_ops_refresh() for each discovery problem that the
	 * store did not hold yet, so that each is reported once, when it
	 * appears (carved logs it).  NULL: not reported. */
	void (*on_problem)(const struct carve_hw_problem *p, void *data);
	void *on_problem_data;
	/* The PGPUs (PCI addresses) the last verb acted on, their devices made
	 * or removed by carve itself.  The verb notes the acted type's count at
	 * once; the GPU's other counts (which the driver's rules move too) need
	 * a look at the host: with defer_reread (carved) the caller takes it
	 * later, off the request path (carved's quiet window, which also absorbs
	 * the act's uevents); without (the CLI), the verb reads those GPUs
	 * again before it returns. */
	char acted[16][13];
	size_t n_acted;
	bool defer_reread;
	/* The pool (pool.h): how long a requester waits for another host's
	 * agent to realize what it handed over (0: CARVE_POOL_WAIT_MS), and
	 * how to let this process's other writers on meanwhile (carved's write
	 * lock; NULL: nothing to release). */
	unsigned wait_ms;
	/* vm-migrate's step 3 (migrate.c): the program that moves the VM with
	 * libvirt, run as `PROGRAM VM-UUID VM-NAME DESTINATION DEST-HOSTDEVS
	 * SOURCE-HOSTDEVS` (files of <hostdev> elements);
	 * NULL or "": vm-migrate stops once the destination is prepared. */
	const char *migrate_command;
	void (*writers_release)(void *data);
	void (*writers_reacquire)(void *data);
	void *writers_data;
	/* Waiting for another agent's change to a VM (carved: its pool
	 * agent's notifications; NULL: sleep and ask again).  watch_begin
	 * registers w for vm, before the first look, so that no change after
	 * it is missed; watch_wait returns when one was noted since the last
	 * wait (or the notifications were lost) or after ms; watch_end
	 * unregisters.  w is the caller's, valid from begin to end. */
	void (*watch_begin)(void *data, struct carve_vm_watch *w, const char *vm);
	void (*watch_wait)(void *data, struct carve_vm_watch *w, unsigned ms);
	void (*watch_end)(void *data, struct carve_vm_watch *w);
};

/* One waiter for a VM's change (above): the service's to fill. */
struct carve_vm_watch {
	char vm[37];
	bool fired;
	pthread_cond_t cond;
	struct carve_vm_watch *next;
};

#define CARVE_POOL_WAIT_MS 20000

/* Take up what another host's placement handed this host for a VM (a start
 * or a shutdown; pool.h): claim, act, confirm.  0 when done or when it was
 * not this host's to do.  The model write-locked, as a verb. */
int carve_ops_realize(struct carve_ctx *ctx, const char *vm, struct carve_error *err);
/* The pending hand-overs of this host: the starts together
 * (carve_ops_realize_starts), the rest one by one; the errors of each are
 * recorded on its VM, *done counts them. */
int carve_ops_realize_pending(struct carve_ctx *ctx, size_t *done, struct carve_error *err);
/* Every start handed to this host (at most CARVE_REALIZE_BATCH) at once:
 * claimed in one transaction, their devices created, confirmed in one
 * transaction - two commits for the lot, not two each.  A VM whose act
 * fails is undone and its error recorded alone; the others go on.  *done
 * counts the confirmed.  The model write-locked, as a verb. */
#define CARVE_REALIZE_BATCH 64
int carve_ops_realize_starts(struct carve_ctx *ctx, size_t *done, struct carve_error *err);

/* What a verb writes: nothing; the store only, so that its transaction may
 * share one commit with other requests' (api/service.h, group commit); or
 * the store and this host (intent, act, confirm: the host is touched only
 * after the intent is durable, each step its own commit). */
enum carve_write {
	CARVE_WRITE_NONE = 0,
	CARVE_WRITE_STORE,
	CARVE_WRITE_HOST,
};

typedef int (*carve_op_fn)(struct carve_ctx *ctx, json_t *args, json_t **result, struct carve_error *err);

struct carve_op {
	const char *verb;
	carve_op_fn fn;
	enum carve_role role;  /* least role allowed to call it */
	enum carve_write writes; /* serialised against other writers when not NONE */
	bool filters;          /* list verb: any field name is accepted as a filter */
	const char *const *keys; /* accepted argument keys (lower case), NULL-terminated */
	const char *summary;
};

const struct carve_op *carve_op_find(const char *verb);
/* NULL-terminated table, in help order. */
const struct carve_op *carve_ops_table(size_t *n);

/* Validate args against the verb, then run it.  *result is a new reference. */
int carve_ops_call(struct carve_ctx *ctx, const char *verb, json_t *args, json_t **result, struct carve_error *err);

/* One of several calls of a verb taken up together (carve_ops_call_many). */
struct carve_call {
	json_t *args;   /* in: the verb's arguments (borrowed) */
	json_t *result; /* out, when r is 0: a new reference */
	int r;          /* out: 0, a negative errno (err says why) or CARVE_CALL_WAIT */
	struct carve_error err;
	/* CARVE_CALL_WAIT: placed on another host, whose agent acts on it;
	 * carve_ops_call_wait gives the answer. */
	char vm[37], target[37];
};
#define CARVE_CALL_WAIT 1
/* Does the verb take calls together?  vm-start does: the starts that reach
 * one agent at once are placed in one transaction, their devices made, and
 * confirmed in one more (lifecycle.c) - as group commit does for
 * store-only writes, two commits for the lot instead of two each. */
bool carve_ops_call_batches(const char *verb);
/* Run n (at most CARVE_REALIZE_BATCH) calls of such a verb as one, each
 * validated as carve_ops_call does and failing alone where only it is at
 * fault; outcomes in calls[].  The model write-locked inside, as a verb's. */
void carve_ops_call_many(struct carve_ctx *ctx, const char *verb, struct carve_call *calls, size_t n);
/* The answer of a CARVE_CALL_WAIT call, once the other host's agent acted
 * (ops/pool.h, carve_pool_wait): 0 with call->result, or the error. */
int carve_ops_call_wait(struct carve_ctx *ctx, struct carve_call *call);

/* Fold an inventory into the model (one transaction; see sync.c). */
int carve_ops_sync_inventory(struct carve_ctx *ctx, struct carve_hw_inventory *inv, struct carve_error *err);

/* Discover the host and bring the store and the model up to date
 * (idempotent: an unchanged host costs a discovery and a hash). */
int carve_ops_refresh(struct carve_ctx *ctx, struct carve_error *err);

/* Load the model if the context has none; reload it if the store moved on
 * (another process wrote).  Callers hold the model's write lock. */
int carve_ops_load_model(struct carve_ctx *ctx, struct carve_error *err);

/* A batch (group commit, api/service.h): one exclusive transaction that
 * the write verbs called on this context then join, each as a member of
 * its own (store/db.h, carve_db_batch_begin).  batch_begin proves the model
 * current under it (or loads it); batch_end commits it when r >= 0 - the
 * model then carries the store generation of that commit - and rolls it
 * back otherwise, returning r or the commit's error.  After a failed end
 * the model holds what the store does not: the caller loads it again.
 * Callers hold the model's write lock. */
int carve_ops_batch_begin(struct carve_ctx *ctx, struct carve_error *err);
int carve_ops_batch_end(struct carve_ctx *ctx, int r, struct carve_error *err);

/* Open the store at path and migrate it. */
int carve_ctx_open_store(struct carve_ctx *ctx, const char *path, struct carve_error *err);
/* Free what the context owns (model, inventory) and close its store. */
void carve_ctx_close(struct carve_ctx *ctx);

/* Discover one GPU again after acting on it and fold it into the store and
 * the model (its own transaction).  The GPUs named by pci[0..n). */
int carve_ops_rediscover(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err);
