/* service.c - store connection pool, write lock, refresh/reconcile. */
#include "service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"

struct carve_service {
	char *db_path, *hostname, *backend_desc;
	struct carve_host *host;  /* used only under write_lock */
	char host_uuid[37];       /* from the first refresh */
	struct carve_metrics *metrics;

	pthread_mutex_t write_lock;
	_Atomic unsigned writers_waiting;
	_Atomic unsigned write_queue, write_wait_ms;

	pthread_mutex_t pool_lock; /* guards the fields below */
	struct carve_ctx **free_ctx;
	size_t n_free, n_open, max_open;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ctx_free(struct carve_ctx *c)
{
	if (!c)
		return;
	carve_db_close(c->db);
	free(c);
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
	struct carve_ctx *c = calloc(1, sizeof(*c));
	int r = c ? carve_ctx_open_store(c, s->db_path, err) : -ENOMEM;
	if (r < 0) {
		free(c);
		pthread_mutex_lock(&s->pool_lock);
		s->n_open--;
		pthread_mutex_unlock(&s->pool_lock);
		return r;
	}
	c->hostname = s->hostname;
	c->backend_desc = s->backend_desc;
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

/* A connection as every call sees it: the model is current (refreshed by the
 * service, not by the call), the host is attached only for lock holders. */
static void ctx_prepare(struct carve_service *s, struct carve_ctx *c, bool with_host)
{
	memcpy(c->host_uuid, s->host_uuid, sizeof(c->host_uuid));
	c->refreshed = true;
	c->host = with_host ? s->host : NULL;
}

/* ---- the write lock ---- */

static int write_lock(struct carve_service *s, struct carve_error *err)
{
	unsigned queue = atomic_load(&s->write_queue);
	unsigned waiting = atomic_fetch_add(&s->writers_waiting, 1) + 1;
	if (waiting > queue) {
		atomic_fetch_sub(&s->writers_waiting, 1);
		carve_metrics_busy(s->metrics);
		return carve_error_set(err, -EAGAIN, "BUSY", "%u writers are already waiting; retry", queue);
	}
	double t0 = now_s();
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	unsigned ms = atomic_load(&s->write_wait_ms);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
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

/* ---- life cycle ---- */

void carve_service_free(struct carve_service *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_free; i++)
		ctx_free(s->free_ctx[i]);
	free(s->free_ctx);
	carve_host_free(s->host);
	carve_metrics_free(s->metrics);
	pthread_mutex_destroy(&s->write_lock);
	pthread_mutex_destroy(&s->pool_lock);
	free(s->db_path);
	free(s->hostname);
	free(s->backend_desc);
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
	s->max_open = cfg->max_connections ? cfg->max_connections : 64;
	s->db_path = strdup(cfg->db_path);
	s->hostname = strdup(cfg->hostname);
	s->backend_desc = strdup(cfg->backend_desc ? cfg->backend_desc : "none");
	s->free_ctx = calloc(s->max_open, sizeof(*s->free_ctx));
	s->metrics = carve_metrics_new();
	atomic_store(&s->write_queue, 256);
	atomic_store(&s->write_wait_ms, 10000);
	if (!s->db_path || !s->hostname || !s->backend_desc || !s->free_ctx || !s->metrics)
		return -ENOMEM;
	/* Open (and migrate) the store once now, so a bad store stops start-up. */
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	ctx_put(s, c);
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
	if ((r = write_lock(s, err)) >= 0) {
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

int carve_service_call(struct carve_service *s, const struct carve_op *op, bool writes, json_t *args,
		       json_t **result, struct carve_error *err)
{
	*result = NULL;
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	if (writes && (r = write_lock(s, err)) < 0) {
		ctx_put(s, c);
		return r;
	}
	ctx_prepare(s, c, writes);
	double t0 = now_s();
	r = carve_ops_call(c, op->verb, args, result, err);
	if (strcmp(op->verb, "vm-start") == 0)
		carve_metrics_placement(s->metrics, now_s() - t0, r >= 0);
	else if (strcmp(op->verb, "host-reconcile") == 0)
		carve_metrics_reconcile(s->metrics, r >= 0 ? *result : NULL);
	if (writes)
		write_unlock(s);
	ctx_put(s, c);
	return r;
}

int carve_service_metrics_text(struct carve_service *s, char **text, size_t *len, struct carve_error *err)
{
	struct carve_ctx *c = NULL;
	int r = ctx_get(s, &c, err);
	if (r < 0)
		return r;
	ctx_prepare(s, c, false);
	r = carve_metrics_render(s->metrics, c, text, len, err);
	ctx_put(s, c);
	return r;
}
