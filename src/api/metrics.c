/* metrics.c - counters, histograms and the /metrics page. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/model.h"
#include "util/cleanup.h"

static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NB ARRAY_SIZE(bounds)

struct histogram {
	_Atomic uint64_t buckets[NB + 1]; /* non-cumulative; last = +Inf */
	_Atomic uint64_t sum_ns;
	_Atomic uint64_t count;
};

static const int status_codes[] = {200, 201, 400, 401, 403, 404, 405, 409, 413, 431, 500, 501, 503};
#define NSTATUS ARRAY_SIZE(status_codes)

#define MAX_ACTIONS 16

struct carve_metrics {
	time_t started;
	struct histogram req[2];                       /* read, write */
	_Atomic uint64_t status[2][NSTATUS + 1];       /* last = other */
	_Atomic uint64_t busy;
	struct histogram lock_wait;
	struct histogram placement;
	_Atomic uint64_t placement_outcome[2];         /* failed, ok */
	_Atomic uint64_t reconcile_runs[2];            /* failed, ok */
	_Atomic uint64_t refresh_runs[2];
	_Atomic uint64_t cache[2];                     /* miss, hit */
	pthread_mutex_t lock;                          /* guards actions */
	struct {
		char name[32];
		uint64_t n;
	} actions[MAX_ACTIONS];
	size_t n_actions;
};

struct carve_metrics *carve_metrics_new(void)
{
	struct carve_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->started = time(NULL);
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void carve_metrics_free(struct carve_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static void observe(struct histogram *h, double s)
{
	size_t i = 0;
	while (i < NB && s > bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(s > 0 ? s * 1e9 : 0), memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void carve_metrics_request(struct carve_metrics *m, bool write, int status, double seconds)
{
	if (!m)
		return;
	observe(&m->req[write], seconds);
	size_t i = 0;
	while (i < NSTATUS && status_codes[i] != status)
		i++;
	atomic_fetch_add_explicit(&m->status[write][i], 1, memory_order_relaxed);
}

void carve_metrics_busy(struct carve_metrics *m)
{
	if (m)
		atomic_fetch_add_explicit(&m->busy, 1, memory_order_relaxed);
}

void carve_metrics_lock_wait(struct carve_metrics *m, double seconds)
{
	if (m)
		observe(&m->lock_wait, seconds);
}

void carve_metrics_placement(struct carve_metrics *m, double seconds, bool ok)
{
	if (!m)
		return;
	observe(&m->placement, seconds);
	atomic_fetch_add_explicit(&m->placement_outcome[ok], 1, memory_order_relaxed);
}

void carve_metrics_refresh(struct carve_metrics *m, bool ok)
{
	if (m)
		atomic_fetch_add_explicit(&m->refresh_runs[ok], 1, memory_order_relaxed);
}

void carve_metrics_cache(struct carve_metrics *m, bool hit)
{
	if (m)
		atomic_fetch_add_explicit(&m->cache[hit], 1, memory_order_relaxed);
}

void carve_metrics_reconcile(struct carve_metrics *m, json_t *result)
{
	if (!m)
		return;
	atomic_fetch_add_explicit(&m->reconcile_runs[result != NULL], 1, memory_order_relaxed);
	size_t i;
	json_t *a;
	pthread_mutex_lock(&m->lock);
	json_array_foreach(json_object_get(result, "actions"), i, a) {
		const char *name = json_string_value(json_object_get(a, "action"));
		if (!name)
			continue;
		size_t k = 0;
		while (k < m->n_actions && strcmp(m->actions[k].name, name) != 0)
			k++;
		if (k == m->n_actions) {
			if (k == MAX_ACTIONS) /* unknown kinds beyond the table fold into "other" */
				k = MAX_ACTIONS - 1, name = "other";
			else
				m->n_actions++;
			snprintf(m->actions[k].name, sizeof(m->actions[k].name), "%s", name);
		}
		m->actions[k].n++;
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---- exposition ---- */

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_histogram(FILE *f, const char *name, const char *labels, struct histogram *h)
{
	uint64_t cum = 0;
	const char *sep = labels && *labels ? "," : "";
	labels = labels ? labels : "";
	for (size_t i = 0; i <= NB; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i < NB)
			fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i], (unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
	}
	const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
	fprintf(f, "%s_sum%s%s%s %.9f\n", name, open, labels, close,
		(double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
	fprintf(f, "%s_count%s%s%s %llu\n", name, open, labels, close,
		(unsigned long long)atomic_load_explicit(&h->count, memory_order_relaxed));
}

/* A label value with Prometheus escaping (backslash, quote, newline). */
static void label(FILE *f, const char *k, const char *v, bool last)
{
	fprintf(f, "%s=\"", k);
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fprintf(f, "\"%s", last ? "" : ",");
}

static json_t *records(struct carve_ctx *ctx, const char *verb, struct carve_error *err)
{
	json_t *res = NULL;
	_cleanup_json_ json_t *args = json_object();
	if (!args || carve_ops_call(ctx, verb, args, &res, err) < 0)
		return NULL;
	json_t *recs = json_incref(json_object_get(res, "records"));
	json_decref(res);
	return recs;
}

static const char *sget(json_t *rec, const char *k)
{
	const char *s = json_string_value(json_object_get(rec, k));
	return s ? s : "";
}

static json_int_t iget(json_t *rec, const char *k)
{
	json_t *v = json_object_get(rec, k);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

static json_t *by_uuid(json_t *recs, const char *uuid)
{
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
		if (strcmp(sget(r, "uuid"), uuid) == 0)
			return r;
	return NULL;
}

/* Where a vGPU holds capacity: resident, else scheduled; "" when halted. */
static const char *vgpu_pgpu(json_t *v)
{
	const char *p = sget(v, "resident-on");
	if (!*p || strcmp(p, "<not in database>") == 0)
		p = sget(v, "scheduled-to-be-resident-on");
	return strcmp(p, "<not in database>") == 0 ? "" : p;
}

static int model_gauges(FILE *f, struct carve_ctx *ctx, struct carve_error *err)
{
	_cleanup_json_ json_t *pgpus = records(ctx, "pgpu-list", err);
	_cleanup_json_ json_t *groups = records(ctx, "gpu-group-list", err);
	_cleanup_json_ json_t *types = records(ctx, "vgpu-type-list", err);
	_cleanup_json_ json_t *vgpus = records(ctx, "vgpu-list", err);
	_cleanup_json_ json_t *vms = records(ctx, "vm-list", err);
	_cleanup_json_ json_t *hosts = records(ctx, "host-list", err);
	if (!pgpus || !groups || !types || !vgpus || !vms || !hosts)
		return carve_error_isset(err) ? err->code : -ENOMEM;
	size_t i, k;
	json_t *p, *g, *v, *t;

	header(f, "carve_model_bytes", "gauge",
	       "Memory the resident model's objects, strings and placement views take (approximate).");
	carve_model_rdlock(ctx->model);
	fprintf(f, "carve_model_bytes %zu\n", carve_model_bytes(ctx->model));
	carve_model_unlock(ctx->model);

	/* Every PGPU (0 when healthy), and the host itself for devices that
	 * could not be told to be GPUs: an alert can watch one series. */
	header(f, "carve_discovery_problems", "gauge",
	       "Files discovery could not read or parse, by PGPU (pgpu=\"\": other devices of the host); "
	       "see carve host-discover.");
	json_array_foreach(hosts, i, p) {
		fputs("carve_discovery_problems{", f);
		label(f, "host", sget(p, "name-label"), false);
		label(f, "pgpu", "", false);
		label(f, "pci", "", true);
		fprintf(f, "} %zu\n", json_array_size(json_object_get(p, "discovery-problems")));
	}
	json_array_foreach(pgpus, i, p) {
		fputs("carve_discovery_problems{", f);
		label(f, "host", sget(p, "host-name-label"), false);
		label(f, "pgpu", sget(p, "uuid"), false);
		label(f, "pci", sget(p, "pci-id"), true);
		fprintf(f, "} %zu\n", json_array_size(json_object_get(p, "discovery-problems")));
	}

	header(f, "carve_pgpus", "gauge", "Physical GPUs known on this host, by GPU group and presence.");
	json_array_foreach(groups, i, g) {
		long present = 0, absent = 0;
		json_array_foreach(pgpus, k, p) {
			if (strcmp(sget(p, "gpu-group-uuid"), sget(g, "uuid")) != 0)
				continue;
			if (json_is_true(json_object_get(p, "present")) || strcmp(sget(p, "present"), "true") == 0)
				present++;
			else
				absent++;
		}
		for (int pr = 1; pr >= 0; pr--) {
			fputs("carve_pgpus{", f);
			label(f, "gpu_group", sget(g, "name-label"), false);
			label(f, "gpu_group_uuid", sget(g, "uuid"), false);
			label(f, "present", pr ? "true" : "false", true);
			fprintf(f, "} %ld\n", pr ? present : absent);
		}
	}

	/* Capacity units per PGPU (XAPI's size) and what resident/scheduled vGPUs use. */
	header(f, "carve_pgpu_capacity_units", "gauge", "Capacity of a PGPU in XAPI size units.");
	json_array_foreach(pgpus, i, p) {
		fputs("carve_pgpu_capacity_units{", f);
		label(f, "pgpu", sget(p, "uuid"), false);
		label(f, "pci", sget(p, "pci-id"), false);
		label(f, "gpu_group_uuid", sget(p, "gpu-group-uuid"), true);
		fprintf(f, "} %lld\n", (long long)iget(p, "size"));
	}
	header(f, "carve_pgpu_used_units", "gauge", "Capacity units held by vGPUs resident or scheduled on a PGPU.");
	json_array_foreach(pgpus, i, p) {
		long long used = 0;
		json_array_foreach(vgpus, k, v)
			if (strcmp(vgpu_pgpu(v), sget(p, "uuid")) == 0 && (t = by_uuid(types, sget(v, "type-uuid"))))
				used += iget(t, "size");
		fputs("carve_pgpu_used_units{", f);
		label(f, "pgpu", sget(p, "uuid"), false);
		label(f, "pci", sget(p, "pci-id"), false);
		label(f, "gpu_group_uuid", sget(p, "gpu-group-uuid"), true);
		fprintf(f, "} %lld\n", used);
	}

	/* Per GPU group and enabled type: how many more fit, and how many are in use. */
	header(f, "carve_vgpu_remaining_capacity", "gauge",
	       "How many more vGPUs of a type the GPU group can take (gpu-group-get-remaining-capacity).");
	json_array_foreach(groups, i, g) {
		size_t j;
		json_t *tu;
		json_array_foreach(json_object_get(g, "enabled-VGPU-types"), j, tu) {
			json_t *res = NULL;
			_cleanup_json_ json_t *a = json_pack("{s:s, s:O}", "uuid", sget(g, "uuid"), "vgpu-type-uuid", tu);
			struct carve_error e2 = {0};
			if (!a || carve_ops_call(ctx, "gpu-group-get-remaining-capacity", a, &res, &e2) < 0)
				continue;
			fputs("carve_vgpu_remaining_capacity{", f);
			label(f, "gpu_group", sget(g, "name-label"), false);
			label(f, "gpu_group_uuid", sget(g, "uuid"), false);
			t = by_uuid(types, json_string_value(tu) ? json_string_value(tu) : "");
			label(f, "vgpu_type", t ? sget(t, "model-name") : "", false);
			label(f, "vgpu_type_uuid", json_string_value(tu), true);
			fprintf(f, "} %lld\n", (long long)iget(res, "value"));
			json_decref(res);
		}
	}
	header(f, "carve_vgpus_placed", "gauge", "vGPUs holding capacity (resident or scheduled), by GPU group and type.");
	json_array_foreach(groups, i, g) {
		json_array_foreach(types, k, t) {
			long n = 0;
			size_t j;
			json_array_foreach(vgpus, j, v)
				if (*vgpu_pgpu(v) && strcmp(sget(v, "gpu-group-uuid"), sget(g, "uuid")) == 0 &&
				    strcmp(sget(v, "type-uuid"), sget(t, "uuid")) == 0)
					n++;
			if (n == 0)
				continue;
			fputs("carve_vgpus_placed{", f);
			label(f, "gpu_group", sget(g, "name-label"), false);
			label(f, "gpu_group_uuid", sget(g, "uuid"), false);
			label(f, "vgpu_type", sget(t, "model-name"), false);
			label(f, "vgpu_type_uuid", sget(t, "uuid"), true);
			fprintf(f, "} %ld\n", n);
		}
	}

	header(f, "carve_vgpus", "gauge", "vGPUs by state.");
	static const char *const vstates[] = {"defined", "reserved", "running", "stopping"};
	for (k = 0; k < ARRAY_SIZE(vstates); k++) {
		long n = 0;
		json_array_foreach(vgpus, i, v)
			n += strcmp(sget(v, "state"), vstates[k]) == 0;
		fprintf(f, "carve_vgpus{state=\"%s\"} %ld\n", vstates[k], n);
	}
	long other = 0;
	json_array_foreach(vgpus, i, v) {
		bool known = false;
		for (k = 0; k < ARRAY_SIZE(vstates); k++)
			known |= strcmp(sget(v, "state"), vstates[k]) == 0;
		other += !known;
	}
	if (other)
		fprintf(f, "carve_vgpus{state=\"other\"} %ld\n", other);

	header(f, "carve_vms", "gauge", "VMs by power state.");
	static const char *const pstates[] = {"halted", "starting", "running", "stopping"};
	for (k = 0; k < ARRAY_SIZE(pstates); k++) {
		long n = 0;
		json_array_foreach(vms, i, v)
			n += strcmp(sget(v, "power-state"), pstates[k]) == 0;
		fprintf(f, "carve_vms{power_state=\"%s\"} %ld\n", pstates[k], n);
	}
	return 0;
}

int carve_metrics_render(struct carve_metrics *m, struct carve_ctx *ctx, char **text, size_t *len,
			 struct carve_error *err)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return -ENOMEM;
	int r = 0;
	if (ctx)
		r = model_gauges(f, ctx, err);

	static const char *const kinds[] = {"read", "write"};
	header(f, "carve_http_requests_total", "counter", "HTTP requests answered, by kind and status.");
	for (int w = 0; w < 2; w++)
		for (size_t i = 0; i <= NSTATUS; i++) {
			uint64_t c = atomic_load_explicit(&m->status[w][i], memory_order_relaxed);
			if (c == 0)
				continue;
			if (i < NSTATUS)
				fprintf(f, "carve_http_requests_total{kind=\"%s\",code=\"%d\"} %llu\n", kinds[w],
					status_codes[i], (unsigned long long)c);
			else
				fprintf(f, "carve_http_requests_total{kind=\"%s\",code=\"other\"} %llu\n", kinds[w],
					(unsigned long long)c);
		}
	header(f, "carve_http_request_duration_seconds", "histogram",
	       "Time from the complete request to the response being queued.");
	put_histogram(f, "carve_http_request_duration_seconds", "kind=\"read\"", &m->req[0]);
	put_histogram(f, "carve_http_request_duration_seconds", "kind=\"write\"", &m->req[1]);
	header(f, "carve_http_busy_rejections_total", "counter",
	       "Requests answered 503 at once because the in-flight or write-queue limit was reached.");
	fprintf(f, "carve_http_busy_rejections_total %llu\n", (unsigned long long)atomic_load(&m->busy));
	header(f, "carve_write_lock_wait_seconds", "histogram", "Time writers waited for the write lock.");
	put_histogram(f, "carve_write_lock_wait_seconds", NULL, &m->lock_wait);
	header(f, "carve_placement_duration_seconds", "histogram",
	       "vm-start: placement, realisation on the host and confirmation.");
	put_histogram(f, "carve_placement_duration_seconds", NULL, &m->placement);
	header(f, "carve_placements_total", "counter", "vm-start calls by outcome.");
	fprintf(f, "carve_placements_total{outcome=\"ok\"} %llu\ncarve_placements_total{outcome=\"failed\"} %llu\n",
		(unsigned long long)atomic_load(&m->placement_outcome[1]),
		(unsigned long long)atomic_load(&m->placement_outcome[0]));
	header(f, "carve_reconcile_runs_total", "counter", "host-reconcile runs (start-up, timer, API) by outcome.");
	fprintf(f, "carve_reconcile_runs_total{outcome=\"ok\"} %llu\ncarve_reconcile_runs_total{outcome=\"failed\"} %llu\n",
		(unsigned long long)atomic_load(&m->reconcile_runs[1]),
		(unsigned long long)atomic_load(&m->reconcile_runs[0]));
	header(f, "carve_reconcile_actions_total", "counter", "Actions taken or reported by host-reconcile, by kind.");
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_actions; i++)
		fprintf(f, "carve_reconcile_actions_total{action=\"%s\"} %llu\n", m->actions[i].name,
			(unsigned long long)m->actions[i].n);
	pthread_mutex_unlock(&m->lock);
	header(f, "carve_refresh_runs_total", "counter", "Host discovery refreshes by outcome.");
	fprintf(f, "carve_refresh_runs_total{outcome=\"ok\"} %llu\ncarve_refresh_runs_total{outcome=\"failed\"} %llu\n",
		(unsigned long long)atomic_load(&m->refresh_runs[1]),
		(unsigned long long)atomic_load(&m->refresh_runs[0]));
	header(f, "carve_read_cache_total", "counter", "Read requests by whether the read cache answered them.");
	fprintf(f, "carve_read_cache_total{result=\"hit\"} %llu\ncarve_read_cache_total{result=\"miss\"} %llu\n",
		(unsigned long long)atomic_load(&m->cache[1]), (unsigned long long)atomic_load(&m->cache[0]));
	header(f, "carve_start_time_seconds", "gauge", "Start time of carved, seconds since the epoch.");
	fprintf(f, "carve_start_time_seconds %lld\n", (long long)m->started);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	*text = buf;
	*len = n;
	return 0;
}
