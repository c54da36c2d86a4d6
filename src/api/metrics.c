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

#include "ops/records.h"
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
	_Atomic uint64_t start_batches, batched_starts; /* vm-starts taken up together */
	_Atomic uint64_t commits[2];                   /* group commits: failed, ok */
	_Atomic uint64_t committed[2];                 /* requests in them */
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

void carve_metrics_start_batch(struct carve_metrics *m, size_t n)
{
	if (!m)
		return;
	atomic_fetch_add_explicit(&m->start_batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->batched_starts, n, memory_order_relaxed);
}

void carve_metrics_commit(struct carve_metrics *m, size_t n, bool ok)
{
	if (!m)
		return;
	atomic_fetch_add_explicit(&m->commits[ok], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->committed[ok], n, memory_order_relaxed);
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

/* "ID: message" lines in a model string: how many problems. */
static size_t lines(const char *s)
{
	size_t n = 0;
	while (s && *s) {
		n++;
		s += strcspn(s, "\n");
		s += *s != '\0';
	}
	return n;
}

/* Placed vGPUs (resident or scheduled) by group, then type. */
static int cmp_placed(const void *a, const void *b)
{
	const struct carve_obj_vgpu *x = *(const struct carve_obj_vgpu *const *)a;
	const struct carve_obj_vgpu *y = *(const struct carve_obj_vgpu *const *)b;
	int c = carve_records_cmp_group(&x->group, &y->group);
	return c ? c : carve_records_cmp_type(&x->type, &y->type);
}

/* The objects of a class in a sorted copy (borrowed pointers). */
static void **sorted(const struct carve_objs *o, int (*cmp)(const void *, const void *))
{
	void **a = malloc((o->n + 1) * sizeof(*a));
	if (a && o->n) {
		memcpy(a, o->v, o->n * sizeof(*a));
		qsort(a, o->n, sizeof(*a), cmp);
	}
	return a;
}

static void pgpu_labels(FILE *f, const struct carve_obj_pgpu *p)
{
	label(f, "pgpu", p->uuid, false);
	label(f, "pci", carve_pgpu_place(p)->pci, false);
	label(f, "gpu_group_uuid", p->group ? p->group->uuid : "", true);
}

/* The model's gauges, straight from the resident model under its read lock:
 * linear in the objects (a scrape must not cost more as the pool grows than
 * listing it does). */
static int model_gauges(FILE *f, struct carve_model *m, struct carve_error *err)
{
	_cleanup_free_ void **pgpus = sorted(&m->pgpus, carve_records_cmp_pgpu);
	_cleanup_free_ void **groups = sorted(&m->groups, carve_records_cmp_group);
	_cleanup_free_ void **types = sorted(&m->types, carve_records_cmp_type);
	_cleanup_free_ struct carve_obj_vgpu **placed = malloc((m->vgpus.n + 1) * sizeof(*placed));
	if (!pgpus || !groups || !types || !placed)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");

	header(f, "carve_model_bytes", "gauge",
	       "Memory the resident model's objects, strings and placement views take (approximate).");
	fprintf(f, "carve_model_bytes %zu\n", carve_model_bytes(m));

	/* Every PGPU (0 when healthy), and the host itself for devices that
	 * could not be told to be GPUs: an alert can watch one series. */
	header(f, "carve_discovery_problems", "gauge",
	       "Files discovery could not read or parse, by PGPU (pgpu=\"\": other devices of the host); "
	       "see carve host-discover.");
	carve_model_each(m, hosts, struct carve_obj_host, h) {
		fputs("carve_discovery_problems{", f);
		label(f, "host", h->name_label, false);
		label(f, "pgpu", "", false);
		label(f, "pci", "", true);
		fprintf(f, "} %zu\n", lines(h->discovery_problems));
	}
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = pgpus[i];
		fputs("carve_discovery_problems{", f);
		label(f, "host", p->host->name_label, false);
		label(f, "pgpu", p->uuid, false);
		label(f, "pci", carve_pgpu_place(p)->pci, true);
		fprintf(f, "} %zu\n", lines(p->discovery_problems));
	}

	header(f, "carve_pgpus", "gauge", "Physical GPUs known on this host, by GPU group and presence.");
	for (size_t i = 0; i < m->groups.n; i++) {
		const struct carve_obj_group *g = groups[i];
		long n[2] = {0, 0};
		for (size_t k = 0; k < m->pgpus.n; k++) {
			const struct carve_obj_pgpu *p = m->pgpus.v[k];
			if (p->group == g)
				n[carve_pgpu_place(p)->present]++;
		}
		for (int pr = 1; pr >= 0; pr--) {
			fputs("carve_pgpus{", f);
			label(f, "gpu_group", g->name_label, false);
			label(f, "gpu_group_uuid", g->uuid, false);
			label(f, "present", pr ? "true" : "false", true);
			fprintf(f, "} %ld\n", n[pr]);
		}
	}

	/* Health (host/health.h) and the ECC counters behind it, where NVML
	 * gave them: one series per PGPU and state, 1 for the current one. */
	header(f, "carve_pgpu_health", "gauge", "A PGPU's health (ok, degraded, failed): 1 for the state it is in.");
	for (size_t i = 0; i < m->pgpus.n; i++)
		for (int h = 0; h < CARVE_HEALTH__MAX; h++) {
			const struct carve_obj_pgpu *p = pgpus[i];
			fputs("carve_pgpu_health{", f);
			label(f, "pgpu", p->uuid, false);
			label(f, "pci", carve_pgpu_place(p)->pci, false);
			label(f, "health", carve_health_name((enum carve_health)h), true);
			fprintf(f, "} %d\n", p->health == (enum carve_health)h);
		}
	static const char *const kinds[] = {"volatile-corrected", "volatile-uncorrected", "aggregate-corrected",
					    "aggregate-uncorrected", "retired"};
	for (int fam = 0; fam < 2; fam++) { /* one family after the other, as the format wants */
		if (fam == 0)
			header(f, "carve_pgpu_ecc_errors", "gauge",
			       "ECC errors NVML counts on a PGPU (volatile: since the driver loaded; aggregate: over its "
			       "life).");
		else
			header(f, "carve_pgpu_retired_pages", "gauge", "Framebuffer pages the driver retired on a PGPU.");
		for (size_t i = 0; i < m->pgpus.n; i++) {
			const struct carve_obj_pgpu *p = pgpus[i];
			_cleanup_json_ json_t *e = p->ecc && *p->ecc ? json_loads(p->ecc, 0, NULL) : NULL;
			for (size_t k = fam ? 4 : 0; e && k < (fam ? 5u : 4u); k++) {
				fputs(fam ? "carve_pgpu_retired_pages{" : "carve_pgpu_ecc_errors{", f);
				label(f, "pgpu", p->uuid, false);
				label(f, "pci", carve_pgpu_place(p)->pci, fam == 1);
				if (!fam)
					label(f, "kind", kinds[k], true);
				long long v = fam ? json_integer_value(json_object_get(e, "retired-sbe")) +
							    json_integer_value(json_object_get(e, "retired-dbe"))
						  : json_integer_value(json_object_get(e, kinds[k]));
				fprintf(f, "} %lld\n", v);
			}
		}
	}

	/* Capacity units per PGPU (XAPI's size) and what resident/scheduled vGPUs use. */
	header(f, "carve_pgpu_capacity_units", "gauge", "Capacity of a PGPU in XAPI size units.");
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = pgpus[i];
		fputs("carve_pgpu_capacity_units{", f);
		pgpu_labels(f, p);
		fprintf(f, "} %lld\n", (long long)carve_pgpu_place(p)->size);
	}
	header(f, "carve_pgpu_used_units", "gauge", "Capacity units held by vGPUs resident or scheduled on a PGPU.");
	for (size_t i = 0; i < m->pgpus.n; i++) {
		const struct carve_obj_pgpu *p = pgpus[i];
		long long used = 0;
		for (uint32_t k = 0; k < p->n_vgpus; k++)
			used += p->vgpus[k]->type->place.size;
		fputs("carve_pgpu_used_units{", f);
		pgpu_labels(f, p);
		fprintf(f, "} %lld\n", used);
	}

	/* Per GPU group and enabled type: how many more fit, and how many are in use. */
	header(f, "carve_vgpu_remaining_capacity", "gauge",
	       "How many more vGPUs of a type the GPU group can take (gpu-group-get-remaining-capacity).");
	for (size_t i = 0; i < m->groups.n; i++) {
		const struct carve_obj_group *g = groups[i];
		for (size_t k = 0; k < m->types.n; k++) {
			const struct carve_obj_type *t = types[k];
			int64_t left = 0;
			if (!carve_model_group_supports(m, g, t, true) || carve_model_remaining(m, g, t, &left, err) < 0)
				continue;
			fputs("carve_vgpu_remaining_capacity{", f);
			label(f, "gpu_group", g->name_label, false);
			label(f, "gpu_group_uuid", g->uuid, false);
			label(f, "vgpu_type", t->model_name, false);
			label(f, "vgpu_type_uuid", t->place.uuid, true);
			fprintf(f, "} %lld\n", (long long)left);
		}
	}
	carve_error_clear(err);

	header(f, "carve_vgpus_placed", "gauge", "vGPUs holding capacity (resident or scheduled), by GPU group and type.");
	size_t n_placed = 0;
	carve_model_each(m, vgpus, struct carve_obj_vgpu, v)
		if (v->resident || v->scheduled)
			placed[n_placed++] = v;
	qsort(placed, n_placed, sizeof(*placed), cmp_placed);
	for (size_t a = 0, b; a < n_placed; a = b) {
		for (b = a + 1; b < n_placed && placed[b]->group == placed[a]->group && placed[b]->type == placed[a]->type; b++)
			;
		fputs("carve_vgpus_placed{", f);
		label(f, "gpu_group", placed[a]->group->name_label, false);
		label(f, "gpu_group_uuid", placed[a]->group->uuid, false);
		label(f, "vgpu_type", placed[a]->type->model_name, false);
		label(f, "vgpu_type_uuid", placed[a]->type->place.uuid, true);
		fprintf(f, "} %zu\n", b - a);
	}

	header(f, "carve_vgpus", "gauge", "vGPUs by state.");
	long by_state[CARVE_VGPU__MAX] = {0};
	carve_model_each(m, vgpus, struct carve_obj_vgpu, v)
		by_state[v->state]++;
	for (int k = 0; k < CARVE_VGPU__MAX; k++)
		fprintf(f, "carve_vgpus{state=\"%s\"} %ld\n", carve_vgpu_state_name(k), by_state[k]);

	header(f, "carve_vms", "gauge", "VMs by power state.");
	long by_power[CARVE_POWER__MAX] = {0};
	carve_model_each(m, vms, struct carve_obj_vm, vm)
		by_power[vm->power]++;
	for (int k = 0; k < CARVE_POWER__MAX; k++)
		fprintf(f, "carve_vms{power_state=\"%s\"} %ld\n", carve_power_state_name(k), by_power[k]);
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
	if (ctx && ctx->model) {
		carve_model_rdlock(ctx->model);
		r = model_gauges(f, ctx->model, err);
		carve_model_unlock(ctx->model);
	}

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
	static const char *const what[2][2] = {
		{"carve_store_group_commits_total", "Commits of batched store-only writes (group commit), by outcome."},
		{"carve_store_group_commit_requests_total", "Requests those commits held, by the commit's outcome."},
	};
	for (int k = 0; k < 2; k++) {
		header(f, what[k][0], "counter", what[k][1]);
		for (int ok = 1; ok >= 0; ok--)
			fprintf(f, "%s{outcome=\"%s\"} %llu\n", what[k][0], ok ? "ok" : "failed",
				(unsigned long long)atomic_load(k ? &m->committed[ok] : &m->commits[ok]));
	}
	header(f, "carve_start_batches_total", "counter", "Batches of vm-starts taken up together.");
	fprintf(f, "carve_start_batches_total %llu\n", (unsigned long long)atomic_load(&m->start_batches));
	header(f, "carve_start_batch_starts_total", "counter", "The vm-starts those batches held.");
	fprintf(f, "carve_start_batch_starts_total %llu\n", (unsigned long long)atomic_load(&m->batched_starts));
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
