/* service.h - carved's ops runner: the resident model every call answers
 * from, the shared host backend and its last discovery, a pool of store
 * connections, and the write lock.
 *
 * The model (state/model.h) is loaded once at start-up; reads take its read
 * lock and run in parallel without SQL, with ctx.host = NULL and
 * ctx.refreshed = true, so a read can neither trigger discovery nor touch
 * the host.  Before a read the service checks that the store has not moved
 * on (another process or pool host wrote: SQLite's data_version, the store
 * generation) and reloads the model if it has.  Writes, host-discover, the
 * refresh and reconcile take the write lock and a store connection (a pool:
 * carve_db and carve_host are single-threaded): they see each other's
 * committed effects in order, which is what makes clients racing for the
 * last slot get exactly the capacity.  Waiting for the lock is bounded in
 * both queue length and time; beyond either the call fails fast with -EAGAIN
 * (BUSY, HTTP 503).
 *
 * Ownership: the service owns the host passed in (freed by
 * carve_service_free) and copies all strings.  All functions are thread-safe.
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "host/host.h"
#include "metrics.h"
#include "ops/ops.h"
#include "util/error.h"
#include "util/pci.h"

struct carve_service;

struct carve_service_config {
	const char *db_path;
	const char *hostname;
	const char *backend_desc;  /* "sim:...", "sysfs:..." */
	struct carve_host *host;   /* ownership passes to the service (may be NULL: model only) */
	unsigned max_connections;  /* store connections at most (= in-flight limit + a few) */
};

int carve_service_new(const struct carve_service_config *cfg, struct carve_service **out, struct carve_error *err);
void carve_service_free(struct carve_service *s);

/* Bounds on waiting for the write lock (may change at any time: SIGHUP). */
void carve_service_set_write_limits(struct carve_service *s, unsigned queue, unsigned wait_ms);

struct carve_metrics *carve_service_metrics(struct carve_service *s);

/* Discover the host and fold it into the model, under the write lock. */
int carve_service_refresh(struct carve_service *s, struct carve_error *err);

/* Rediscover the PCI devices named (canonical DDDD:BB:SS.F, as kernel uevents
 * name them: a PGPU, one of its VFs, or an mdev parent), or the whole host
 * when full, and fold the result into the model under the write lock, as
 * carve_service_refresh does.  A named device that is gone is folded as
 * vanished; an address that is no GPU's changes nothing.  n == 0 without
 * full does nothing.  pci may be NULL when n is 0.  -EINVAL
 * (PCI_ADDRESS_INVALID) before anything is done when an address is not
 * canonical.  Callers rate-limit; one call is one rediscovery. */
int carve_service_rediscover(struct carve_service *s, const char *const *pci, size_t n, bool full,
			     struct carve_error *err);

/* A GPU carve itself acted on within the last second is quiet: it is read
 * again once it has been quiet that long (the act noted only its own type's
 * count; ops.h, defer_reread), and a rediscovery its uevents ask for meanwhile
 * waits for that same look.
 * deferred_ms: how long until the next deferred one is due, -1 when none;
 * flush_deferred runs those due (call it when deferred_ms says 0).
 * wake_fd: readable (an eventfd) after an act made a GPU quiet: the caller's
 * loop polls it, acknowledges with wake_ack and asks deferred_ms again; -1
 * when none could be made (then only the caller's other wake-ups flush). */
long long carve_service_deferred_ms(struct carve_service *s);
int carve_service_wake_fd(struct carve_service *s);
void carve_service_wake_ack(struct carve_service *s);
int carve_service_flush_deferred(struct carve_service *s, struct carve_error *err);

/* host-reconcile under the write lock; outcomes are counted in the metrics.
 * result may be NULL. */
int carve_service_reconcile(struct carve_service *s, json_t **result, struct carve_error *err);
/* host-apply of the configuration the store keeps for this host
 * (docs/host-config.md), as carved does at start-up before its reconcile:
 * 0 and *result NULL when there is none, else host-apply's result or
 * error. */
int carve_service_apply_config(struct carve_service *s, json_t **result, struct carve_error *err);

/* Run one verb; writes says whether it takes the write lock (request.h
 * decides).  *result is a new reference on success.
 *
 * Group commit: a store-only write (enum carve_write) is decided and
 * applied to the model under the write lock, in order with every other
 * writer, inside the open batch - one store transaction on one connection,
 * a savepoint per request - and returns only once the batch is committed.
 * The writer that finds no other writer waiting for the lock commits it
 * (one fsync, one PostgreSQL commit for all), so batches form from the
 * writers that queued during the previous commit.  A failed commit fails
 * every request of the batch (STORE_COMMIT_FAILED) and loads the model
 * again: it is as it was before the batch.  A request whose own checks
 * fail is rolled back to its savepoint alone.  Writers that act on the
 * host, and everything else that takes the write lock, commit the open
 * batch first and then run alone, as before; the host is touched only
 * after the intent's own commit.  While a batch is open the model holds
 * what is not yet durable: reads wait for the commit
 * (carve_model_rdlock_committed), so no answer shows what may be lost.
 * Per object the order is the write lock's: each request sees every
 * request before it, committed or in its batch, and a read that starts
 * after an answer sees that answer's effect. */
int carve_service_call(struct carve_service *s, const struct carve_op *op, bool writes, json_t *args,
		       json_t **result, struct carve_error *err);

/* The same, serialized for the wire: compact JSON + newline in *body
 * (malloc'ed), and the result's "uuid" (creates) in uuid[37] ("" if none).
 * Results of read verbs are cached per model generation: any committed write
 * through the service, a refresh, or a commit by another process moves it,
 * so a read never returns data older than a write that was acknowledged
 * before it started. */
int carve_service_call_body(struct carve_service *s, const struct carve_op *op, bool writes, json_t *args,
			    char **body, size_t *len, char uuid[37], struct carve_error *err);

/* The pool (agent.c, docs/pool.md): how long a host may be silent and still
 * be live, and how long a writer waits for another host's agent. */
void carve_service_set_pool(struct carve_service *s, unsigned host_timeout_ms, unsigned wait_ms);
/* vm-migrate's libvirt step (ops.h, migrate_command), copied; NULL or ""
 * none.  Set before the service takes calls (not thread-safe). */
int carve_service_set_migrate_command(struct carve_service *s, const char *path);
const char *carve_service_db_path(struct carve_service *s);
const char *carve_service_host_uuid(struct carve_service *s);
struct carve_model *carve_service_model(struct carve_service *s);
/* Another agent changed a VM ('v') or a PGPU ('p') of that UUID, or who
 * knows what ('a', uuid ignored: reload all): read it into the model before
 * the next call that answers from the model (thread-safe, cheap: the agent
 * thread calls it for every notification). */
void carve_service_note_changed(struct carve_service *s, char kind, const char *uuid);
/* Take up what other hosts handed this one (ops.h, carve_ops_realize_pending)
 * under the write lock; *done counts them. */
int carve_service_realize(struct carve_service *s, size_t *done, struct carve_error *err);

/* Called with the write lock before each batch commit, with the number of
 * requests in it: a negative errno (err set) fails the commit as the store
 * would - fault injection for tests.  NULL: none. */
typedef int (*carve_service_commit_hook)(void *data, size_t n, struct carve_error *err);
void carve_service_set_commit_hook(struct carve_service *s, carve_service_commit_hook hook, void *data);

/* Render /metrics: the counters plus gauges read from the store. */
int carve_service_metrics_text(struct carve_service *s, char **text, size_t *len, struct carve_error *err);
