/* metrics.h - carved's counters and the Prometheus text exposition.
 *
 * Counters and histograms are lock-free (C11 atomics) and may be updated from
 * any thread.  Gauges describing the model (PGPUs, capacity and usage per GPU
 * group and vGPU type, vGPUs by state, VMs by power state) are not kept here:
 * carve_metrics_render() computes them at scrape time from a store connection
 * the caller provides, so they are never stale and cost nothing between
 * scrapes.  Reconcile action kinds are counted by name (a small table under a
 * mutex; the names come from the ops layer).
 *
 * Exposition format: Prometheus text 0.0.4 (HELP/TYPE lines, histograms with
 * cumulative _bucket{le=...}, _sum, _count).  Metric names: docs/api.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ops/ops.h"
#include "util/error.h"

struct carve_metrics;

struct carve_metrics *carve_metrics_new(void);
void carve_metrics_free(struct carve_metrics *m);

/* One HTTP request: whether it took the write lock, its status, its time. */
void carve_metrics_request(struct carve_metrics *m, bool write, int status, double seconds);
/* Rejected without being served because of the in-flight or write-queue limit. */
void carve_metrics_busy(struct carve_metrics *m);
/* Time spent waiting for the write lock. */
void carve_metrics_lock_wait(struct carve_metrics *m, double seconds);
/* One vm-start (placement, realisation and confirmation), and whether it
 * succeeded. */
void carve_metrics_placement(struct carve_metrics *m, double seconds, bool ok);
/* One reconcile run: result is host-reconcile's {"actions": [...]} or NULL
 * when the run failed. */
void carve_metrics_reconcile(struct carve_metrics *m, json_t *result);
void carve_metrics_refresh(struct carve_metrics *m, bool ok);
/* One group commit (service.h) of n requests, and whether it succeeded. */
void carve_metrics_commit(struct carve_metrics *m, size_t n, bool ok);
/* One batch of n vm-starts taken up together (service.h). */
void carve_metrics_start_batch(struct carve_metrics *m, size_t n);
/* A read served from the read cache (hit) or computed (miss). */
void carve_metrics_cache(struct carve_metrics *m, bool hit);

/* The exposition; ctx (may be NULL: counters only) is used for the model
 * gauges.  *text is malloc'ed. */
int carve_metrics_render(struct carve_metrics *m, struct carve_ctx *ctx, char **text, size_t *len,
			 struct carve_error *err);
