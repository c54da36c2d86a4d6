/* service.c - the resident model carved answers from, the store
 * connections its writers use, the write lock, refresh/reconcile. */
#include "service.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/clock.h"

/* The read cache: serialized results of read verbs, valid for one model
 * generation.  Direct-mapped by a hash of verb and arguments; bounded in
 * entries and in bytes per entry. */
#define CACHE_SLOTS 256
#define CACHE_MAX_BODY (256u << 10)

struct cache_entry {
	char *key;     /* verb NUL args-json */
	size_t key_len;
	uint64_t gen;
	char *body;
	size_t len;
};

/* A pooled store connection and what it last saw of other writers. */
struct pooled {
	struct carve_ctx ctx; /* first: a struct carve_ctx * is a struct pooled * */
	long long data_version;
	bool seen;
};

/* A request whose store changes wait in the open batch for its commit:
 * the outcome of that commit, filled in by whoever commits (under
 * batch.lock; the waiter owns the struct, on its stack). */
struct member {
	struct member *next;
	bool done;
	int r;
	struct carve_error err;
};

/* The open batch: one exclusive store transaction on one connection that
 * requests join one after the other under the write lock, each in a
 * savepoint of its own (store/db.h, carve_db_batch_begin).  ctx, members,
 * n, seq and stale are guarded by the write lock; the members' outcomes by
 * batch.lock. */
struct batch {
	struct carve_ctx *ctx; /* NULL: none open */
	struct member *members;
	size_t n;
	uint64_t seq;          /* of the open batch, or of the last one */
	pthread_mutex_t lock;
	pthread_cond_t done;
	/* A failed commit whose model is not loaded again yet: the model
	 * holds what the store does not (and stays marked uncommitted) until a
	 * writer loads it (batch_recover). */
	bool stale;
};

/* Requests in one batch at most: one commit acknowledges them all.  64
 * amortizes a commit's fsync well, and keeps a PostgreSQL batch within the
 * 64 subtransactions (a savepoint each) a backend caches: beyond, every
 * session's snapshots would have to look them up in pg_subtrans. */
#define BATCH_MAX 64
/* A member that waited this long for its commit commits the batch itself
 * (a writer that was to come and commit it gave up waiting for the lock). */
#define BATCH_WAIT_MS 200

/* A vm-start waiting to be taken up with the others that arrived with it
 * (struct starts); its waiter owns it, on its stack. */
struct start_req {
	struct start_req *next;
	struct carve_call call;
	bool done;
};

/* vm-starts taken up together (ops.h, carve_ops_call_many): a request
 * queues, and one that finds no batch running takes every queued one, up
 * to CARVE_REALIZE_BATCH, runs them with the write lock and wakes their
 * waiters; the starts that queue meanwhile form the next batch.  Under
 * lock. */
struct starts {
	pthread_mutex_t lock;
	pthread_cond_t done, arrived;
	struct start_req *head, **tail;
	size_t queued;
	bool running;
	size_t last[2]; /* the sizes of the last two batches */
};

/* Company for a batch: right after batches of several, the starts whose
 * answers just went out tend to come back within a millisecond (clients
 * that start one VM after another); the next batch waits up to this long
 * for as many as the last two batches held, as PostgreSQL's commit_delay
 * waits for other commits.  A start that comes alone (the last batch held
 * one) waits for none.  1 ms against 300 us: with 4 connections per agent
 * on 8 agents, batches of 3.6 starts instead of 2.8 and 30% more starts a
 * second for the same CPU; a start on a GPU host takes far longer than
 * the wait (docs/performance.md §5). */
#define START_COMPANY_US 1000

struct carve_service {
	char *db_path, *hostname, *backend_desc;
	struct carve_host *host;  /* used only under write_lock */
	char host_uuid[37];       /* from the first refresh */
	struct carve_metrics *metrics;

	pthread_mutex_t write_lock;
	_Atomic unsigned writers_waiting;
	_Atomic unsigned write_queue, write_wait_ms;
	_Atomic unsigned pool_wait_ms; /* ctx.wait_ms of writers */
	char *migrate_command;         /* ctx.migrate_command; set before serving */

	pthread_mutex_t pool_lock; /* guards the fields below */
	struct carve_ctx **free_ctx;
	size_t n_free, n_open, max_open;

	/* The resident model every call reads (its own lock guards it) and this
	 * host's last discovery, which only lock holders use.  The model's
	 * generation is the store's it reflects: the read cache keys on it. */
	struct carve_model *model;
	struct carve_hw_inventory inv;
	/* GPUs carve itself just acted on: the verb noted the acted type's count
	 * and left the GPU's other counts to a later look (ops.h,
	 * defer_reread).  That look, and any rediscovery the act's uevents ask
	 * for, waits until the GPU has been quiet for QUIET_MS and then runs
	 * once, from the main loop - a burst of starts on one GPU costs one
	 * look, afterwards, and none on the request path. */
	struct quiet {
		char pci[13];
		long long until_ms;
	} quiet[64];
	size_t n_quiet;
	pthread_mutex_t quiet_lock; /* guards quiet[]: the main loop looks without the write lock */
	int wake_fd;                /* eventfd: a new quiet GPU, so the main loop recomputes its timeout */
	pthread_mutex_t cache_lock;
	struct cache_entry cache[CACHE_SLOTS];
	/* What other agents of the pool changed (agent.c): 'v' or 'p' and a
	 * UUID each, read into the model before the next call that answers
	 * from it (catch_up); more than fit, or a lost connection: all. */
	pthread_mutex_t changed_lock;
	char (*changed)[38];
	size_t n_changed;
	bool changed_all;
	/* changed[] by hash (open addressing, CHANGED_SLOTS): index + 1, 0 for
	 * none.  A boot storm announces hundreds of VMs to every agent; a scan
	 * of the list for each was a seventh of an agent's CPU. */
	uint16_t *changed_at;
	/* Requesters waiting for another agent to act on a VM (ops.h,
	 * watch_begin): woken by that VM's notification.  Under changed_lock. */
	struct carve_vm_watch *watches;
	/* Group commit: the open batch of store-only writes (struct batch). */
	struct batch batch;
	struct starts starts;
	carve_service_commit_hook commit_hook;
	void *commit_hook_data;
};

#define MAX_CHANGED 1024
#define CHANGED_SLOTS (2 * MAX_CHANGED) /* a power of two */

#define QUIET_MS 1000


/* A write acted on the context's GPUs: keep their echoes waiting. */
static void quiet_note(struct carve_service *s, const struct carve_ctx *c)
{
	long long until = carve_mono_ms() + QUIET_MS;
	pthread_mutex_lock(&s->quiet_lock);
	for (size_t i = 0; i < c->n_acted; i++) {
		struct quiet *q = NULL;
		for (size_t k = 0; k < s->n_quiet && !q; k++)
			if (strcmp(s->quiet[k].pci, c->acted[i]) == 0)
				q = &s->quiet[k];
		if (!q && s->n_quiet < ARRAY_SIZE(s->quiet)) {
			q = &s->quiet[s->n_quiet++];
			*q = (struct quiet){0};
			carve_strlcpy(q->pci, c->acted[i], sizeof(q->pci));
		}
		if (q)
			q->until_ms = until; /* the act's other counts: read once the GPU is quiet */
	}
	pthread_mutex_unlock(&s->quiet_lock);
	if (c->n_acted && s->wake_fd >= 0) {
		uint64_t one = 1;
		(void)!write(s->wake_fd, &one, sizeof(one)); /* a full counter already wakes it */
	}
}

/* Is pci quiet now?  Then its rediscovery waits for the look the act has
 * scheduled (true). */
static bool quiet_defer(struct carve_service *s, const char *pci)
{
	long long now = carve_mono_ms();
	bool quiet = false;
	pthread_mutex_lock(&s->quiet_lock);
	for (size_t k = 0; k < s->n_quiet && !quiet; k++)
		if (strcmp(s->quiet[k].pci, pci) == 0 && s->quiet[k].until_ms > now)
			quiet = true;
	pthread_mutex_unlock(&s->quiet_lock);
	return quiet;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_problem(const struct carve_hw_problem *p, void *data)
{
	(void)data;
	carve_log(LOG_WARNING, "discovery problem on %s%s%s: %s: %s", p->pci, p->type_id[0] ? ", vGPU type " : "",
		  p->type_id, p->id, p->message);
}

static void ctx_free(struct carve_ctx *c)
{
	if (!c)
		return;
	carve_db_close(c->db);
	free((struct pooled *)c);
}

/* ---- store connections ---- */

static int ctx_get(struct carve_service *s, struct carve_ctx **out, struct carve_error *err)
{
	pthread_mutex_lock(&s->pool_lock);
	if (s->n_free > 0) {
		*out = s->free_ctx[--s->n_free];
		pthread_mutex_unlock(&s->pool_lock);
		return 0;
	}
	if (s->n_open >= s->max_open) {
		pthread_mutex_unlock(&s->pool_lock);
		return carve_error_set(err, -EAGAIN, "BUSY", "all %zu store connections are in use; retry", s->max_open);
	}
	s->n_open++;
	pthread_mutex_unlock(&s->pool_lock);

	/* Opening (and the migration check) happens outside the pool lock. */
	struct pooled *pc = calloc(1, sizeof(*pc));
	struct carve_ctx *c = pc ? &pc->ctx : NULL;
	int r = c ? carve_ctx_open_store(c, s->db_path, err) : -ENOMEM;
	if (r < 0) {
		free(pc);
		pthread_mutex_lock(&s->pool_lock);
		s->n_open--;
		pthread_mutex_unlock(&s->pool_lock);
		return r;
	}
	c->hostname = s->hostname;
	c->backend_desc = s->backend_desc;
	c->on_problem = log_problem;
	*out = c;
	return 0;
}

static void ctx_put(struct carve_service *s, struct carve_ctx *c)
{
	if (!c)
		return;
	c->host = NULL;
	pthread_mutex_lock(&s->pool_lock);
	s->free_ctx[s->n_free++] = c; /* n_free <= n_open <= max_open: always room */
	pthread_mutex_unlock(&s->pool_lock);
}

/* A writer waiting for another host's agent (ops/pool.h) lets this
 * process's other writers on meanwhile. */
static void writers_release(void *data)
{
	pthread_mutex_unlock(&((struct carve_service *)data)->write_lock);
}

static void writers_reacquire(void *data)
{
	pthread_mutex_lock(&((struct carve_service *)data)->write_lock);
}

static void watch_begin(void *data, struct carve_vm_watch *w, const char *vm)
{
	struct carve_service *s = data;
	carve_strlcpy(w->vm, vm, sizeof(w->vm));
	w->fired = false;
	pthread_cond_init(&w->cond, NULL);
	pthread_mutex_lock(&s->changed_lock);
	w->next = s->watches;
	s->watches = w;
	pthread_mutex_unlock(&s->changed_lock);
}

static void watch_wait(void *data, struct carve_vm_watch *w, unsigned ms)
{
	struct carve_service *s = data;
	struct timespec until = carve_realtime_after_ms(ms);
	pthread_mutex_lock(&s->changed_lock);
	while (!w->fired && pthread_cond_timedwait(&w->cond, &s->changed_lock, &until) != ETIMEDOUT)
		;
	w->fired = false;
	pthread_mutex_unlock(&s->changed_lock);
}

static void watch_end(void *data, struct carve_vm_watch *w)
{
	struct carve_service *s = data;
	pthread_mutex_lock(&s->changed_lock);
	for (struct carve_vm_watch **p = &s->watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&s->changed_lock);
	pthread_cond_destroy(&w->cond);
}

/* A connection as every call sees it: the shared model and inventory (kept
 * current by the service, not by the call), the host attached only for
 * lock holders. */
static void ctx_prepare(struct carve_service *s, struct carve_ctx *c, bool with_host)
{
	memcpy(c->host_uuid, s->host_uuid, sizeof(c->host_uuid));
	c->refreshed = true;
	c->host = with_host ? s->host : NULL;
	c->model = s->model;
	c->owns_model = false;
	c->inv = &s->inv;
	c->owns_inv = false;
	c->defer_reread = true;
	c->wait_ms = atomic_load(&s->pool_wait_ms);
	c->migrate_command = s->migrate_command;
	c->writers_release = writers_release;
	c->writers_reacquire = writers_reacquire;
	c->writers_data = s;
	/* only an agent's notifications wake a watcher (agent.h) */
	bool agent = c->db && carve_db_notifies(c->db);
	c->watch_begin = agent ? watch_begin : NULL;
	c->watch_wait = agent ? watch_wait : NULL;
	c->watch_end = agent ? watch_end : NULL;
}

static uint64_t model_generation(struct carve_service *s)
{
	carve_model_rdlock(s->model);
	uint64_t g = s->model->generation;
	carve_model_unlock(s->model);
	return g;
}

/* What the read cache keys on: any change to the model moves it, a shared
 * transaction's too (which leaves the store generation as it was). */
static uint64_t model_version(struct carve_service *s)
{
	carve_model_rdlock(s->model);
	uint64_t v = s->model->version;
	carve_model_unlock(s->model);
	return v;
}

/* ---- the write lock ---- */

static int lock_writers(struct carve_service *s, struct carve_error *err)
{
	unsigned queue = atomic_load(&s->write_queue);
	unsigned waiting = atomic_fetch_add(&s->writers_waiting, 1) + 1;
	if (waiting > queue) {
		atomic_fetch_sub(&s->writers_waiting, 1);
		carve_metrics_busy(s->metrics);
		return carve_error_set(err, -EAGAIN, "BUSY", "%u writers are already waiting; retry", queue);
	}
	double t0 = now_s();
	unsigned ms = atomic_load(&s->write_wait_ms);
	struct timespec until = carve_realtime_after_ms(ms);
	int r = pthread_mutex_timedlock(&s->write_lock, &until);
	atomic_fetch_sub(&s->writers_waiting, 1);
	carve_metrics_lock_wait(s->metrics, now_s() - t0);
	if (r != 0) {
		carve_metrics_busy(s->metrics);
		return carve_error_set(err, -EAGAIN, "BUSY", "waited %u ms for other writers; retry", ms);
	}
	return 0;
}

static void write_unlock(struct carve_service *s)
{
	pthread_mutex_unlock(&s->write_lock);
}

/* ---- group commit ---- */

static int catch_up(struct carve_service *s, struct carve_ctx *c, bool in_batch, struct carve_error *err);
static int batch_recover(struct carve_service *s, struct carve_ctx *c, struct carve_error *err);

/* Commit the open batch and tell its members; with the write lock.  A
 * failed commit (or a hook's injected failure) rolls the whole batch back
 * and loads the model again from the store: every member fails, and the
 * model is as it was before the batch. */
static void batch_flush(struct carve_service *s)
{
	struct batch *b = &s->batch;
	struct carve_ctx *c = b->ctx;
	struct carve_error e = {0};
	int r = s->commit_hook ? s->commit_hook(s->commit_hook_data, b->n, &e) : 0;
	carve_model_wrlock(s->model);
	r = carve_ops_batch_end(c, r, &e);
	if (r >= 0)
		carve_model_set_uncommitted(s->model, false);
	carve_model_unlock(s->model);
	if (r >= 0) {
		carve_model_await_readers(s->model);
	} else {
		carve_log(LOG_WARNING, "a commit of %zu request(s) failed, none of them was acknowledged: %s", b->n,
			  e.message);
		struct carve_error e2 = {0};
		b->stale = true;
		if (batch_recover(s, c, &e2) < 0)
			carve_log(LOG_ERR, "the model could not be loaded again after a failed commit: %s", e2.message);
	}
	carve_metrics_commit(s->metrics, b->n, r >= 0);
	pthread_mutex_lock(&b->lock);
	for (struct member *m = b->members, *next; m; m = next) {
		next = m->next; /* once done, m is its waiter's again */
		m->r = r;
		if (r < 0)
			carve_error_set(&m->err, r, "STORE_COMMIT_FAILED",
					"the store did not commit this request (one of %zu committed together), nothing "
					"was changed; retry: %s",
					b->n, e.message);
		m->done = true;
	}
	pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&b->lock);
	b->members = NULL;
	b->n = 0;
	b->ctx = NULL;
	ctx_put(s, c);
}

/* After a failed commit: load the model again from the store (on c, with
 * the write lock, outside any transaction), which makes it committed
 * again.  Until that succeeds - at once, or at the next writer - the model
 * stays marked uncommitted, so no read answers from it. */
static int batch_recover(struct carve_service *s, struct carve_ctx *c, struct carve_error *err)
{
	if (!s->batch.stale)
		return 0;
	carve_model_wrlock(s->model);
	int r = carve_model_load(s->model, c->db, err);
	if (r >= 0)
		carve_model_set_uncommitted(s->model, false);
	carve_model_unlock(s->model);
	if (r < 0)
		return r;
	carve_model_await_readers(s->model);
	s->batch.stale = false;
	return 0;
}

/* The write lock for a writer that does not join a batch: any open batch is
 * committed first, so that the writer's own transaction (on its own
 * connection) finds the store unlocked and the model committed. */
static int write_lock(struct carve_service *s, struct carve_ctx *c, struct carve_error *err)
{
	int r = lock_writers(s, err);
	if (r < 0)
		return r;
	if (s->batch.ctx)
		batch_flush(s);
	if ((r = batch_recover(s, c, err)) < 0)
		write_unlock(s);
	return r;
}

/* Open a batch: its connection, its transaction, the model proven current
 * under it and marked uncommitted.  With the write lock. */
static int batch_open(struct carve_service *s, struct carve_error *err)
{
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	if ((r = batch_recover(s, c, err)) < 0) {
		ctx_put(s, c);
		return r;
	}
	ctx_prepare(s, c, false);
	carve_model_wrlock(s->model);
	r = carve_ops_batch_begin(c, err);
	if (r >= 0)
		carve_model_set_uncommitted(s->model, true);
	carve_model_unlock(s->model);
	if (r < 0) {
		ctx_put(s, c);
		return r;
	}
	s->batch.ctx = c;
	s->batch.seq++;
	return 0;
}

/* Wait for the commit of batch seq, which holds me. */
static void batch_wait(struct carve_service *s, struct member *me, uint64_t seq)
{
	pthread_mutex_lock(&s->batch.lock);
	while (!me->done) {
		struct timespec until = carve_realtime_after_ms(BATCH_WAIT_MS);
		if (pthread_cond_timedwait(&s->batch.done, &s->batch.lock, &until) != ETIMEDOUT || me->done)
			continue;
		pthread_mutex_unlock(&s->batch.lock);
		struct carve_error e = {0};
		if (lock_writers(s, &e) >= 0) {
			if (s->batch.ctx && s->batch.seq == seq)
				batch_flush(s);
			write_unlock(s);
		}
		pthread_mutex_lock(&s->batch.lock);
	}
	pthread_mutex_unlock(&s->batch.lock);
}

/* A store-only write (CARVE_WRITE_STORE): decided and applied to the model
 * in order with the other writers, its store changes committed together
 * with theirs.  The answer waits for that commit: nothing is acknowledged
 * before it is durable, and a failed commit fails every request it held.
 * A request whose own checks fail fails alone (its savepoint is rolled
 * back); its answer waits too, since it was decided on what the batch had
 * done so far. */
static int call_grouped(struct carve_service *s, const struct carve_op *op, json_t *args, json_t **result,
			struct carve_error *err)
{
	int r = lock_writers(s, err);
	if (r < 0)
		return r;
	if (!s->batch.ctx && (r = batch_open(s, err)) < 0) {
		write_unlock(s);
		return r;
	}
	struct carve_ctx *c = s->batch.ctx;
	ctx_prepare(s, c, false);
	c->n_acted = 0;
	if ((r = catch_up(s, c, true, err)) >= 0)
		r = carve_ops_call(c, op->verb, args, result, err);
	struct member me = {.next = s->batch.members};
	s->batch.members = &me;
	s->batch.n++;
	uint64_t seq = s->batch.seq;
	/* The last writer in line commits; while others wait for the lock,
	 * they join first (they queued up during the previous commit). */
	if (s->batch.n >= BATCH_MAX || atomic_load(&s->writers_waiting) == 0)
		batch_flush(s);
	write_unlock(s);
	batch_wait(s, &me, seq);
	if (me.r < 0) {
		json_decref(*result);
		*result = NULL;
		carve_error_reset(err, me.r, me.err.id, "%s", me.err.message);
		return me.r;
	}
	return r;
}

/* A store connection and the write lock, both or neither. */
static int writer_get(struct carve_service *s, struct carve_ctx **c, struct carve_error *err)
{
	int r = ctx_get(s, c, err);
	if (r < 0)
		return r;
	if ((r = write_lock(s, *c, err)) < 0) {
		ctx_put(s, *c);
		*c = NULL;
	}
	return r;
}

/* ---- starts taken up together ---- */

/* Run a batch of starts on one connection with the write lock. */
static void starts_run(struct carve_service *s, struct start_req **batch, size_t n)
{
	struct carve_ctx *c = NULL;
	struct carve_error e = {0};
	_cleanup_free_ struct carve_call *calls = calloc(n, sizeof(*calls));
	int r = calls ? ctx_get(s, &c, &e) : carve_error_set(&e, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	if (r >= 0 && (r = write_lock(s, c, &e)) < 0) {
		ctx_put(s, c);
		c = NULL;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			batch[i]->call.r = carve_error_reset(&batch[i]->call.err, r, e.id, "%s", e.message);
		return;
	}
	for (size_t i = 0; i < n; i++)
		calls[i].args = batch[i]->call.args;
	ctx_prepare(s, c, true);
	c->n_acted = 0;
	carve_ops_call_many(c, "vm-start", calls, n);
	carve_metrics_start_batch(s->metrics, n);
	quiet_note(s, c);
	write_unlock(s);
	ctx_put(s, c);
	for (size_t i = 0; i < n; i++)
		batch[i]->call = calls[i];
}

/* vm-start: taken up with the others that arrive meanwhile (struct
 * starts); one placed on another host then waits for that host's agent
 * on its own, as a single start does. */
static int call_start(struct carve_service *s, json_t *args, json_t **result, struct carve_error *err)
{
	struct starts *q = &s->starts;
	struct start_req me = {.call = {.args = args}};
	double t0 = now_s();
	pthread_mutex_lock(&q->lock);
	*q->tail = &me;
	q->tail = &me.next;
	q->queued++;
	pthread_cond_broadcast(&q->arrived);
	while (!me.done) {
		if (q->running) {
			pthread_cond_wait(&q->done, &q->lock);
			continue;
		}
		q->running = true;
		size_t want = q->last[0] > 1 ? q->last[0] + q->last[1] : 0;
		if (want > CARVE_REALIZE_BATCH)
			want = CARVE_REALIZE_BATCH;
		struct timespec until = carve_realtime_after_us(START_COMPANY_US);
		while (q->queued < want && pthread_cond_timedwait(&q->arrived, &q->lock, &until) != ETIMEDOUT)
			;
		struct start_req *batch[CARVE_REALIZE_BATCH];
		size_t n = 0;
		while (q->head && n < CARVE_REALIZE_BATCH) {
			batch[n++] = q->head;
			q->head = q->head->next;
		}
		if (!q->head)
			q->tail = &q->head;
		q->queued -= n;
		q->last[1] = q->last[0];
		q->last[0] = n;
		pthread_mutex_unlock(&q->lock);
		starts_run(s, batch, n);
		pthread_mutex_lock(&q->lock);
		for (size_t i = 0; i < n; i++)
			batch[i]->done = true;
		q->running = false;
		pthread_cond_broadcast(&q->done);
	}
	pthread_mutex_unlock(&q->lock);
	struct carve_call *call = &me.call;
	if (call->r == CARVE_CALL_WAIT) {
		struct carve_ctx *c = NULL;
		int r = writer_get(s, &c, &call->err);
		if (r < 0) {
			call->r = r;
		} else {
			ctx_prepare(s, c, true);
			carve_ops_call_wait(c, call);
			write_unlock(s);
			ctx_put(s, c);
		}
	}
	carve_metrics_placement(s->metrics, now_s() - t0, call->r >= 0);
	if (call->r < 0) {
		json_decref(call->result);
		carve_error_reset(err, call->r, call->err.id, "%s", call->err.message);
		return call->r;
	}
	*result = call->result;
	return 0;
}

/* ---- life cycle ---- */

void carve_service_free(struct carve_service *s)
{
	if (!s)
		return;
	if (s->batch.ctx) { /* no member waits: the server stopped first */
		carve_db_rollback(s->batch.ctx->db);
		ctx_free(s->batch.ctx);
	}
	for (size_t i = 0; i < s->n_free; i++)
		ctx_free(s->free_ctx[i]);
	free(s->free_ctx);
	carve_model_free(s->model);
	carve_hw_inventory_clear(&s->inv);
	carve_host_free(s->host);
	carve_metrics_free(s->metrics);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		free(s->cache[i].key);
		free(s->cache[i].body);
	}
	pthread_mutex_destroy(&s->cache_lock);
	pthread_mutex_destroy(&s->quiet_lock);
	pthread_mutex_destroy(&s->changed_lock);
	pthread_cond_destroy(&s->batch.done);
	pthread_mutex_destroy(&s->batch.lock);
	pthread_cond_destroy(&s->starts.done);
	pthread_cond_destroy(&s->starts.arrived);
	pthread_mutex_destroy(&s->starts.lock);
	free(s->changed);
	free(s->changed_at);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->write_lock);
	pthread_mutex_destroy(&s->pool_lock);
	free(s->db_path);
	free(s->hostname);
	free(s->backend_desc);
	free(s->migrate_command);
	free(s);
}
CARVE_DEFINE_CLEANUP(struct carve_service, carve_service_free)

int carve_service_new(const struct carve_service_config *cfg, struct carve_service **out, struct carve_error *err)
{
	_cleanup_(carve_service_freep) struct carve_service *s = calloc(1, sizeof(*s));
	if (!s) {
		carve_host_free(cfg->host);
		return -ENOMEM;
	}
	s->host = cfg->host;
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->cache_lock, NULL);
	pthread_mutex_init(&s->quiet_lock, NULL);
	pthread_mutex_init(&s->changed_lock, NULL);
	pthread_mutex_init(&s->batch.lock, NULL);
	pthread_cond_init(&s->batch.done, NULL);
	pthread_mutex_init(&s->starts.lock, NULL);
	pthread_cond_init(&s->starts.done, NULL);
	pthread_cond_init(&s->starts.arrived, NULL);
	s->starts.tail = &s->starts.head;
	s->changed = calloc(MAX_CHANGED, sizeof(*s->changed));
	s->changed_at = calloc(CHANGED_SLOTS, sizeof(*s->changed_at));
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->max_open = cfg->max_connections ? cfg->max_connections : 64;
	s->db_path = strdup(cfg->db_path);
	s->hostname = strdup(cfg->hostname);
	s->backend_desc = strdup(cfg->backend_desc ? cfg->backend_desc : "none");
	s->free_ctx = calloc(s->max_open, sizeof(*s->free_ctx));
	s->metrics = carve_metrics_new();
	atomic_store(&s->write_queue, 256);
	atomic_store(&s->write_wait_ms, 10000);
	if (!s->db_path || !s->hostname || !s->backend_desc || !s->free_ctx || !s->metrics ||
	    carve_model_new(&s->model) < 0)
		return -ENOMEM;
	/* Open (and migrate) the store and load the model once now, so a bad
	 * store stops start-up. */
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	ctx_prepare(s, c, false);
	carve_model_wrlock(s->model);
	r = carve_model_load(s->model, c->db, err);
	carve_model_unlock(s->model);
	ctx_put(s, c);
	if (r < 0)
		return r;
	*out = TAKE_PTR(s);
	return 0;
}

void carve_service_set_write_limits(struct carve_service *s, unsigned queue, unsigned wait_ms)
{
	atomic_store(&s->write_queue, queue);
	atomic_store(&s->write_wait_ms, wait_ms);
}

struct carve_metrics *carve_service_metrics(struct carve_service *s)
{
	return s->metrics;
}

int carve_service_refresh(struct carve_service *s, struct carve_error *err)
{
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	if ((r = write_lock(s, c, err)) >= 0) {
		ctx_prepare(s, c, true);
		r = carve_ops_refresh(c, err);
		if (r >= 0)
			memcpy(s->host_uuid, c->host_uuid, sizeof(s->host_uuid));
		write_unlock(s);
	}
	carve_metrics_refresh(s->metrics, r >= 0);
	ctx_put(s, c);
	return r;
}

int carve_service_reconcile(struct carve_service *s, json_t **result, struct carve_error *err)
{
	json_t *res = NULL;
	_cleanup_json_ json_t *args = json_object();
	const struct carve_op *op = carve_op_find("host-reconcile");
	if (!args || !op)
		return -ENOMEM;
	int r = carve_service_call(s, op, true, args, &res, err);
	if (result)
		*result = res;
	else
		json_decref(res);
	return r;
}

int carve_service_apply_config(struct carve_service *s, json_t **result, struct carve_error *err)
{
	*result = NULL;
	_cleanup_json_ json_t *got = NULL;
	_cleanup_json_ json_t *none = json_object();
	const struct carve_op *get = carve_op_find("host-config-get"), *apply = carve_op_find("host-apply");
	if (!none || !get || !apply)
		return -ENOMEM;
	int r = carve_service_call(s, get, false, none, &got, err);
	const char *text = r >= 0 ? json_string_value(json_object_get(got, "value")) : NULL;
	if (r < 0 || !text || !*text)
		return r < 0 ? r : 0;
	_cleanup_json_ json_t *args = json_pack("{s:s}", "config", text);
	if (!args)
		return -ENOMEM;
	return carve_service_call(s, apply, true, args, result, err);
}

/* Is the model behind the store (another process or host wrote)?  Then
 * reload it, as a writer would.  On SQLite a connection's data_version
 * moves only when some other connection committed, so the usual read costs
 * no query at all; then (and always on PostgreSQL) the store generation
 * decides. */
static int freshen(struct carve_service *s, struct carve_ctx *c, struct carve_error *err)
{
	struct pooled *pc = (struct pooled *)c;
	if (strcmp(c->db->ops->name, "sqlite") == 0) {
		struct carve_rows *rows = NULL;
		long long dv = -1;
		if (carve_db_exec(c->db, "PRAGMA data_version", NULL, 0, &rows, NULL) >= 0 && rows && rows->nrows == 1 &&
		    carve_rows_cell(rows, 0, 0))
			dv = strtoll(carve_rows_cell(rows, 0, 0), NULL, 10);
		carve_rows_free(rows);
		bool same = pc->seen && dv == pc->data_version && dv >= 0;
		pc->data_version = dv;
		pc->seen = true;
		if (same)
			return 0;
	}
	uint64_t gen;
	int r = carve_repo_generation(c->db, &gen, err);
	if (r < 0 || gen == model_generation(s))
		return r;
	if ((r = write_lock(s, c, err)) < 0)
		return r;
	ctx_prepare(s, c, false);
	carve_model_wrlock(s->model);
	r = carve_ops_load_model(c, err); /* checks again: a writer may have caught up */
	carve_model_unlock(s->model);
	write_unlock(s);
	return r;
}

/* Read into the model what other agents changed since the last call
 * (carve_service_note_changed): reads and most writes answer from it.  Not
 * before vm-start or vm-shutdown: they lock and read again the VM and the
 * PGPUs they decide on, so a stale picture of the rest of the pool costs
 * them nothing - and their throughput then does not fall with the number
 * of agents that write. */
static int catch_up(struct carve_service *s, struct carve_ctx *c, bool in_batch, struct carve_error *err)
{
	pthread_mutex_lock(&s->changed_lock);
	bool any = s->n_changed || s->changed_all;
	pthread_mutex_unlock(&s->changed_lock);
	if (!any)
		return 0;
	carve_model_wrlock(s->model);
	/* Outside the open batch a connection sees only what is committed:
	 * reading that into a model that holds the batch's changes would undo
	 * them there.  Left for the next call; the batch's members read
	 * through the batch. */
	if (!in_batch && s->model->gate.uncommitted) {
		carve_model_unlock(s->model);
		return 0;
	}
	pthread_mutex_lock(&s->changed_lock);
	size_t n = s->n_changed;
	bool all = s->changed_all;
	char (*keys)[38] = n && !all ? malloc(n * sizeof(*keys)) : NULL;
	if (keys)
		memcpy(keys, s->changed, n * sizeof(*keys));
	else if (n && !all)
		all = true; /* no memory for the list: read everything */
	if (s->n_changed)
		memset(s->changed_at, 0, CHANGED_SLOTS * sizeof(*s->changed_at));
	s->n_changed = 0;
	s->changed_all = false;
	pthread_mutex_unlock(&s->changed_lock);
	int r = 0;
	if (all)
		r = carve_model_load(s->model, c->db, err);
	for (size_t i = 0; !all && i < n && r >= 0; i++)
		r = keys[i][0] == 'v' ? carve_model_reload_vm(s->model, c->db, keys[i] + 1, err)
				      : carve_model_reload_pgpu(s->model, c->db, keys[i] + 1, err);
	carve_model_unlock(s->model);
	free(keys);
	if (r < 0) { /* try again next time */
		pthread_mutex_lock(&s->changed_lock);
		s->changed_all = true;
		pthread_mutex_unlock(&s->changed_lock);
	}
	return r;
}

void carve_service_note_changed(struct carve_service *s, char kind, const char *uuid)
{
	pthread_mutex_lock(&s->changed_lock);
	for (struct carve_vm_watch *w = s->watches; w; w = w->next)
		if (kind == 'a' || (kind == 'v' && strcmp(w->vm, uuid) == 0)) {
			w->fired = true;
			pthread_cond_signal(&w->cond);
		}
	if (kind == 'a' || !s->changed || !s->changed_at) {
		s->changed_all = true;
	} else if (!s->changed_all) {
		uint32_t h = 2166136261u ^ (unsigned char)kind; /* FNV-1a */
		for (const char *c = uuid; *c; c++)
			h = (h ^ (unsigned char)*c) * 16777619u;
		size_t slot = h & (CHANGED_SLOTS - 1);
		bool seen = false;
		for (; s->changed_at[slot] && !seen; slot = (slot + 1) & (CHANGED_SLOTS - 1)) {
			const char *k = s->changed[s->changed_at[slot] - 1];
			seen = k[0] == kind && strcmp(k + 1, uuid) == 0;
		}
		if (!seen && s->n_changed < MAX_CHANGED) {
			snprintf(s->changed[s->n_changed++], 38, "%c%s", kind, uuid);
			s->changed_at[slot] = (uint16_t)s->n_changed;
		} else if (!seen) {
			s->changed_all = true;
		}
	}
	pthread_mutex_unlock(&s->changed_lock);
}

static bool places(const struct carve_op *op)
{
	return strcmp(op->verb, "vm-start") == 0 || strcmp(op->verb, "vm-shutdown") == 0;
}

int carve_service_call(struct carve_service *s, const struct carve_op *op, bool writes, json_t *args,
		       json_t **result, struct carve_error *err)
{
	*result = NULL;
	if (writes && op->writes == CARVE_WRITE_STORE)
		return call_grouped(s, op, args, result, err);
	if (writes && carve_ops_call_batches(op->verb))
		return call_start(s, args, result, err);
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	if ((!places(op) && (r = catch_up(s, c, false, err)) < 0) ||
	    (writes ? (r = write_lock(s, c, err)) : (r = freshen(s, c, err))) < 0) {
		ctx_put(s, c);
		return r;
	}
	ctx_prepare(s, c, writes);
	c->n_acted = 0;
	r = carve_ops_call(c, op->verb, args, result, err);
	if (writes)
		quiet_note(s, c);
	if (strcmp(op->verb, "host-reconcile") == 0) /* vm-start's: call_start */
		carve_metrics_reconcile(s->metrics, r >= 0 ? *result : NULL);
	if (writes)
		write_unlock(s);
	ctx_put(s, c);
	return r;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static char *serialize(json_t *result, size_t *len)
{
	char *s = json_dumps(result, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *b = realloc(s, n + 2);
	if (!b) {
		free(s);
		return NULL;
	}
	b[n] = '\n';
	b[n + 1] = '\0';
	*len = n + 1;
	return b;
}

int carve_service_call_body(struct carve_service *s, const struct carve_op *op, bool writes, json_t *args,
			    char **body, size_t *len, char uuid[37], struct carve_error *err)
{
	*body = NULL;
	uuid[0] = '\0';
	if (writes) {
		json_t *res = NULL;
		int r = carve_service_call(s, op, true, args, &res, err);
		if (r < 0)
			return r;
		const char *u = json_string_value(json_object_get(res, "uuid"));
		if (u && strlen(u) < 37)
			strcpy(uuid, u);
		*body = serialize(res, len);
		json_decref(res);
		return *body ? 0 : -ENOMEM;
	}

	_cleanup_free_ char *a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
	size_t vl = strlen(op->verb), al = a ? strlen(a) : 0;
	_cleanup_free_ char *key = a ? malloc(vl + 1 + al) : NULL;
	if (!key)
		return -ENOMEM;
	memcpy(key, op->verb, vl + 1);
	memcpy(key + vl + 1, a, al);
	size_t kl = vl + 1 + al;
	struct cache_entry *e = &s->cache[fnv1a(key, kl) % CACHE_SLOTS];

	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	if ((r = catch_up(s, c, false, err)) < 0 || (r = freshen(s, c, err)) < 0) {
		ctx_put(s, c);
		return r;
	}
	uint64_t gen = model_version(s);

	pthread_mutex_lock(&s->cache_lock);
	if (e->key && e->gen == gen && e->key_len == kl && memcmp(e->key, key, kl) == 0) {
		*body = malloc(e->len + 1);
		if (*body) {
			memcpy(*body, e->body, e->len + 1);
			*len = e->len;
		}
	}
	pthread_mutex_unlock(&s->cache_lock);
	if (*body) {
		ctx_put(s, c);
		carve_metrics_cache(s->metrics, true);
		return 0;
	}
	carve_metrics_cache(s->metrics, false);

	ctx_prepare(s, c, false);
	json_t *res = NULL;
	r = carve_ops_call(c, op->verb, args, &res, err);
	ctx_put(s, c);
	if (r < 0)
		return r;
	*body = serialize(res, len);
	json_decref(res);
	if (!*body)
		return -ENOMEM;
	if (*len <= CACHE_MAX_BODY) {
		char *kc = malloc(kl), *bc = malloc(*len + 1);
		if (kc && bc) {
			memcpy(kc, key, kl);
			memcpy(bc, *body, *len + 1);
			pthread_mutex_lock(&s->cache_lock);
			free(e->key);
			free(e->body);
			*e = (struct cache_entry){.key = kc, .key_len = kl, .gen = gen, .body = bc, .len = *len};
			pthread_mutex_unlock(&s->cache_lock);
		} else {
			free(kc);
			free(bc);
		}
	}
	return 0;
}

int carve_service_metrics_text(struct carve_service *s, char **text, size_t *len, struct carve_error *err)
{
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	if ((r = catch_up(s, c, false, err)) < 0 || (r = freshen(s, c, err)) < 0) {
		ctx_put(s, c);
		return r;
	}
	ctx_prepare(s, c, false);
	r = carve_metrics_render(s->metrics, c, text, len, err);
	ctx_put(s, c);
	return r;
}

int carve_service_rediscover(struct carve_service *s, const char *const *pci, size_t n, bool full,
			     struct carve_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char canon[CARVE_PCI_STRLEN + 1];
		if (!pci || !pci[i] || carve_pci_normalize(pci[i], canon) < 0 || strcmp(canon, pci[i]) != 0)
			return carve_error_set(err, -EINVAL, "PCI_ADDRESS_INVALID",
					       "rediscover: not a canonical PCI address: '%.32s'",
					       pci && pci[i] ? pci[i] : "(null)");
	}
	if (!full && n == 0)
		return 0;
	/* An address names a PGPU or one of its VFs (an mdev parent, a vendor
	 * VFIO VF): that PGPU is read again, alone.  One the last discovery
	 * does not know (a device that appeared, VFs just enabled) may belong
	 * to anything: then, as for a full batch, the whole host. */
	/* Copies: rediscovery replaces the inventory's entries. */
	_cleanup_free_ char(*names)[13] = calloc(n + 1, sizeof(*names));
	_cleanup_free_ const char **pfs = calloc(n + 1, sizeof(*pfs));
	if (!pfs || !names)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	size_t n_pf = 0;
	struct carve_ctx *c = NULL;
	int r = writer_get(s, &c, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !full; i++) {
		const char *pf = NULL;
		for (size_t g = 0; g < s->inv.n_gpus && !pf; g++) {
			const struct carve_hw_gpu *gpu = &s->inv.gpus[g];
			if (strcmp(gpu->pci, pci[i]) == 0)
				pf = gpu->pci;
			for (size_t v = 0; v < gpu->n_vfs && !pf; v++)
				if (strcmp(gpu->vfs[v].pci, pci[i]) == 0)
					pf = gpu->pci;
		}
		bool seen = !pf || quiet_defer(s, pf);
		for (size_t k = 0; k < n_pf && !seen; k++)
			seen = strcmp(pfs[k], pf) == 0;
		if (!pf) {
			full = true;
		} else if (!seen) {
			carve_strlcpy(names[n_pf], pf, sizeof(names[n_pf]));
			pfs[n_pf] = names[n_pf];
			n_pf++;
		}
	}
	ctx_prepare(s, c, true);
	r = full ? carve_ops_refresh(c, err) : n_pf ? carve_ops_rediscover(c, pfs, n_pf, err) : 0;
	write_unlock(s);
	ctx_put(s, c);
	if (full || n_pf)
		carve_metrics_refresh(s->metrics, r >= 0);
	return r;
}

int carve_service_wake_fd(struct carve_service *s)
{
	return s->wake_fd;
}

void carve_service_wake_ack(struct carve_service *s)
{
	uint64_t n;
	if (s->wake_fd >= 0)
		(void)!read(s->wake_fd, &n, sizeof(n));
}

long long carve_service_deferred_ms(struct carve_service *s)
{
	long long due = -1, now = carve_mono_ms();
	pthread_mutex_lock(&s->quiet_lock);
	for (size_t k = 0; k < s->n_quiet; k++) {
		long long left = s->quiet[k].until_ms > now ? s->quiet[k].until_ms - now : 0;
		if (due < 0 || left < due)
			due = left;
	}
	pthread_mutex_unlock(&s->quiet_lock);
	return due;
}

int carve_service_flush_deferred(struct carve_service *s, struct carve_error *err)
{
	char names[ARRAY_SIZE(s->quiet)][13];
	const char *pfs[ARRAY_SIZE(s->quiet)];
	size_t n = 0;
	long long now = carve_mono_ms();
	pthread_mutex_lock(&s->quiet_lock);
	for (size_t k = 0; k < s->n_quiet;) {
		if (s->quiet[k].until_ms <= now) { /* quiet over: read it again, forget */
			carve_strlcpy(names[n], s->quiet[k].pci, sizeof(names[n]));
			pfs[n] = names[n];
			n++;
			s->quiet[k] = s->quiet[--s->n_quiet];
		} else {
			k++;
		}
	}
	pthread_mutex_unlock(&s->quiet_lock);
	return n ? carve_service_rediscover(s, pfs, n, false, err) : 0;
}

/* ---- the pool agent's hooks (agent.c) ---- */

void carve_service_set_pool(struct carve_service *s, unsigned host_timeout_ms, unsigned wait_ms)
{
	atomic_store(&s->pool_wait_ms, wait_ms);
	carve_model_wrlock(s->model);
	s->model->host_timeout_ms = host_timeout_ms;
	s->model->version++;
	carve_model_unlock(s->model);
}

int carve_service_set_migrate_command(struct carve_service *s, const char *path)
{
	char *copy = path && path[0] ? strdup(path) : NULL;
	if (path && path[0] && !copy)
		return -ENOMEM;
	free(s->migrate_command);
	s->migrate_command = copy;
	return 0;
}

const char *carve_service_db_path(struct carve_service *s)
{
	return s->db_path;
}

const char *carve_service_host_uuid(struct carve_service *s)
{
	return s->host_uuid;
}

struct carve_model *carve_service_model(struct carve_service *s)
{
	return s->model;
}

int carve_service_realize(struct carve_service *s, size_t *done, struct carve_error *err)
{
	*done = 0;
	if (!s->host)
		return 0;
	struct carve_ctx *c = NULL;
	int r = writer_get(s, &c, err);
	if (r < 0)
		return r;
	ctx_prepare(s, c, true);
	c->n_acted = 0;
	carve_model_wrlock(s->model);
	r = carve_ops_realize_pending(c, done, err);
	carve_model_unlock(s->model);
	quiet_note(s, c);
	write_unlock(s);
	ctx_put(s, c);
	return r;
}

void carve_service_set_commit_hook(struct carve_service *s, carve_service_commit_hook hook, void *data)
{
	pthread_mutex_lock(&s->write_lock);
	s->commit_hook = hook;
	s->commit_hook_data = data;
	pthread_mutex_unlock(&s->write_lock);
}
