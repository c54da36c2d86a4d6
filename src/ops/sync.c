/* sync.c - fold what discovery sees into the store and the model.
 *
 * Re-running discovery updates in place: the same PCI address and type keep
 * their UUIDs (identities are derived, see model/model.h), devices and types
 * that vanished are marked (present=0, supported=0) rather than dropped, and
 * what the user set - enabled types, group membership, allocation algorithm -
 * is never overwritten.  One transaction per refresh: a failed one changes
 * nothing, in the store or the model.
 *
 * Discovery runs when something changed, not per request: a whole refresh
 * when a context first looks at the host (the CLI), at carved's start and on
 * its timer; one GPU again after carve acted on it or a uevent named it
 * (carve_ops_rediscover).  An unchanged host costs a discovery and a hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "host/health.h"
#include "model/model.h"
#include "ops.h"
#include "state/model.h"
#include "state/repo.h"
#include "util/cleanup.h"
#include "util/uuid.h"
#include "pool.h"
#include "verbs.h"

/* Problems as one text: "ID: message" a line, "" when none. */
static char *problems_text(const struct carve_hw_problem *p, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s: %s", i ? "\n" : "", p[i].id, p[i].message);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int sync_type(struct carve_ctx *ctx, const char *pgpu_uuid, const struct carve_hw_gpu *g,
		     const struct carve_hw_type *t, struct carve_error *err)
{
	char key[256], uuid[37];
	int r = carve_type_key(t->impl, t->name, key, sizeof(key));
	if (r >= 0)
		r = carve_type_uuid(t->impl, t->name, uuid);
	if (r < 0)
		return carve_error_set(err, r, "INTERNAL_ERROR", "vGPU type name too long: %s", t->name);
	bool pt = t->impl == CARVE_IMPL_PASSTHROUGH;
	/* One passthrough type serves every GPU of the pool (as in XAPI): it has
	 * no framebuffer, heads or resolution of its own.  No budget known: size
	 * 0, the kernel's count alone decides (place/capacity.h).  A broken
	 * type, or one whose driver publishes no description, leaves the
	 * pool-wide facts as they are. */
	struct carve_repo_type rt = {
		.uuid = uuid, .type_key = key, .vendor_name = pt ? "" : carve_vendor_name((uint16_t)g->vendor_id),
		.model_name = pt ? "passthrough" : t->name, .identifier = t->id, .board = pt ? "" : g->board,
		.framebuffer_size = pt ? 0 : t->framebuffer_mib * 1024 * 1024, .max_heads = pt ? 0 : t->num_heads,
		.max_res_x = pt ? 0 : t->max_res_x, .max_res_y = pt ? 0 : t->max_res_y,
		.frl_config = pt ? 0 : t->frl_config, .max_instances = t->max_instances,
		.size = t->max_instances ? carve_type_size(t->max_instances) : 0, .impl = t->impl,
		.multi_vgpu = t->multi_vgpu, .series = t->series,
		.facts_known = !t->broken && (pt || t->framebuffer_mib > 0),
		.budget_known = !t->broken && t->max_instances > 0,
	};
	if ((r = carve_repo_type_upsert(ctx->db, &rt, err)) < 0)
		return r;
	const struct carve_hw_problem *pr = t->broken ? carve_hw_gpu_find_problem(g, t->id) : NULL;
	_cleanup_free_ char *problem = pr ? carve_strdupf("%s: %s", pr->id, pr->message) : NULL;
	if (pr && !problem)
		return -ENOMEM;
	return carve_repo_pgpu_type_upsert(ctx->db, pgpu_uuid, uuid, t->max_instances, t->broken ? 0 : t->available,
					   problem, t->max_instances_source, err);
}

/* NVML's facts as the store keeps them: NVLink peers one per line, the
 * ECC counters as JSON ("" where NVML said nothing). */
static int facts_text(const struct carve_hw_gpu *g, char *nvlink, size_t size, char **ecc)
{
	size_t off = 0;
	nvlink[0] = '\0';
	for (size_t i = 0; i < g->n_nvlinks && off < size; i++)
		off += (size_t)snprintf(nvlink + off, size - off, "%s%s %u", i ? "\n" : "", g->nvlinks[i].peer,
					(unsigned)g->nvlinks[i].links);
	*ecc = NULL;
	if (!g->ecc.known)
		return (*ecc = strdup("")) ? 0 : -ENOMEM;
	_cleanup_json_ json_t *j = carve_hw_ecc_to_json(&g->ecc);
	*ecc = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	return *ecc ? 0 : -ENOMEM;
}

static int sync_gpu(struct carve_ctx *ctx, const struct carve_hw_gpu *g, const char *driver, struct carve_error *err)
{
	char uuid[37], group[37];
	carve_pgpu_uuid(ctx->host_uuid, g->pci, uuid);

	const char *vendor_name = carve_vendor_name((uint16_t)g->vendor_id);
	char devname[80], key[32], gname[64];
	if (g->board[0])
		snprintf(devname, sizeof(devname), "%s", g->board);
	else
		snprintf(devname, sizeof(devname), "Device %04x", g->device_id & 0xffff);
	snprintf(key, sizeof(key), "%04x/%04x", g->vendor_id & 0xffff, g->device_id & 0xffff);
	snprintf(gname, sizeof(gname), "gpu-group/%s", key);
	carve_uuid_from_name(CARVE_UUID_NS, gname, group);
	_cleanup_free_ char *label = carve_strdupf("Group of %s %s GPUs", vendor_name, devname);
	_cleanup_free_ char *problems = problems_text(g->problems, g->n_problems);
	if (!label || !problems)
		return -ENOMEM;
	int r = carve_repo_group_ensure_auto(ctx->db, group, label, key, err);
	if (r < 0)
		return r;
	char vid[8], did[8], svid[8], sdid[8];
	snprintf(vid, sizeof(vid), "%04x", g->vendor_id & 0xffff);
	snprintf(did, sizeof(did), "%04x", g->device_id & 0xffff);
	snprintf(svid, sizeof(svid), "%04x", g->subsys_vendor_id & 0xffff);
	snprintf(sdid, sizeof(sdid), "%04x", g->subsys_device_id & 0xffff);
	char gis[CARVE_HW_MAX_GIS * 17] = "";
	for (size_t i = 0, off = 0; i < g->n_gis && off < sizeof(gis); i++)
		off += (size_t)snprintf(gis + off, sizeof(gis) - off, "%s%s", i ? "\n" : "", g->gis[i].profile);
	char nvlink[CARVE_HW_MAX_NVLINK * 20], why[256];
	_cleanup_free_ char *ecc = NULL;
	if (facts_text(g, nvlink, sizeof(nvlink), &ecc) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	enum carve_health health = carve_hw_gpu_health(g, driver, why, sizeof(why));
	struct carve_repo_pgpu rp = {
		.uuid = uuid, .host = ctx->host_uuid, .pci = g->pci, .vendor_id = vid, .device_id = did,
		.subsystem_vendor_id = svid, .subsystem_device_id = sdid, .vendor_name = vendor_name,
		.device_name = devname, .board = g->board, .driver = g->driver, .numa_node = g->numa_node,
		.iommu_group = g->iommu_group, .is_system_display = g->is_system_display, .mixed_size = g->mixed_size,
		.mixed_size_supported = g->mixed_size_supported, .broken = g->broken, .impl = g->mechanism,
		.mixed_size_source = g->mixed_size_source, .sriov_totalvfs = g->sriov_totalvfs,
		.sriov_numvfs = g->sriov_numvfs, .size = CARVE_PGPU_SIZE, .group = group, .problems = problems,
		.mig_mode = g->mig_mode < 0 ? "" : g->mig_mode ? "on" : "off", .mig_instances = gis,
		.nvlink = nvlink, .ecc = ecc, .health = carve_health_name(health), .health_reason = why,
	};
	if ((r = carve_repo_pgpu_upsert(ctx->db, &rp, err)) < 0)
		return r;
	/* A broken GPU could not say what it supports: its types stay as they
	 * were (the operator's enabled set included), none available.
	 * Otherwise every type is unsupported until the host reports it. */
	if ((r = carve_repo_pgpu_types_reset(ctx->db, uuid, !g->broken, err)) < 0 || g->broken)
		return r;
	for (size_t i = 0; i < g->n_types; i++)
		if ((r = sync_type(ctx, uuid, g, &g->types[i], err)) < 0)
			return r;
	return 0;
}

/* The inventory's hash as text (carve_hw_inventory_hash: only GPUs read
 * again are hashed again), salted with the backend description (the same
 * hardware seen through another backend is synced). */
static int inventory_hash(struct carve_hw_inventory *inv, const char *backend, char out[17])
{
	uint64_t h = carve_hw_inventory_hash(inv);
	for (const char *p = backend ? backend : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	/* A new driver changes health (seed 003's ECC rule), not the GPUs. */
	for (const char *p = inv->driver_version; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return 0;
}

/* The whole inventory, inside the caller's transaction. */
static int sync_all(struct carve_ctx *ctx, const struct carve_hw_inventory *inv, const char *hash,
		    struct carve_error *err)
{
	_cleanup_free_ char *problems = problems_text(inv->problems, inv->n_problems);
	if (!problems)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int r = carve_repo_host_upsert(ctx->db, ctx->host_uuid, ctx->hostname, ctx->backend_desc, inv->driver_version,
				       problems, err);
	if (r >= 0)
		r = carve_repo_host_pgpus_absent(ctx->db, ctx->host_uuid, err);
	for (size_t i = 0; r >= 0 && i < inv->n_gpus; i++)
		r = sync_gpu(ctx, &inv->gpus[i], inv->driver_version, err);
	if (r >= 0)
		r = carve_repo_host_set_inventory_hash(ctx->db, ctx->host_uuid, hash, err);
	return r;
}

int carve_ops_sync_inventory(struct carve_ctx *ctx, struct carve_hw_inventory *inv, struct carve_error *err)
{
	char hash[17];
	if (inventory_hash(inv, ctx->backend_desc, hash) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int r = carve_ops_begin(ctx, err);
	if (r < 0)
		return r;
	if ((r = carve_ops_end(ctx, sync_all(ctx, inv, hash, err), err)) < 0)
		return r;
	return carve_model_reload_host_pgpus(ctx->model, ctx->db, ctx->host_uuid, err);
}

/* Report the problems of inv that the store does not hold yet (the text
 * the last sync wrote for this host and its PGPUs). */
static void report_new_problems(struct carve_ctx *ctx, const struct carve_hw_inventory *inv)
{
	if (!ctx->on_problem || carve_hw_inventory_count_problems(inv) == 0)
		return;
	const struct carve_obj_host *host = carve_model_host(ctx->model, ctx->host_uuid);
	for (size_t g = 0; g <= inv->n_gpus; g++) {
		const struct carve_hw_problem *p = g < inv->n_gpus ? inv->gpus[g].problems : inv->problems;
		size_t n = g < inv->n_gpus ? inv->gpus[g].n_problems : inv->n_problems;
		const struct carve_obj_pgpu *pg =
			g < inv->n_gpus ? carve_model_pgpu_at(ctx->model, ctx->host_uuid, inv->gpus[g].pci) : NULL;
		const char *known = g < inv->n_gpus ? (pg ? pg->discovery_problems : NULL)
						    : (host ? host->discovery_problems : NULL);
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *line = carve_strdupf("%s: %s", p[i].id, p[i].message);
			if (!line || !known || !strstr(known, line))
				ctx->on_problem(&p[i], ctx->on_problem_data);
		}
	}
}

static void host_identity(struct carve_ctx *ctx)
{
	char name[300];
	snprintf(name, sizeof(name), "host/%s", ctx->hostname);
	carve_uuid_from_name(CARVE_UUID_NS, name, ctx->host_uuid);
}

/* The context's inventory becomes inv (moved in). */
static int keep_inventory(struct carve_ctx *ctx, struct carve_hw_inventory *inv)
{
	if (!ctx->inv) {
		if (!(ctx->inv = calloc(1, sizeof(*ctx->inv))))
			return -ENOMEM;
		ctx->owns_inv = true;
	}
	carve_hw_inventory_clear(ctx->inv);
	*ctx->inv = *inv;
	memset(inv, 0, sizeof(*inv));
	carve_hw_inventory_compact(ctx->inv);
	return 0;
}

int carve_ops_refresh(struct carve_ctx *ctx, struct carve_error *err)
{
	host_identity(ctx);
	if (!ctx->host) {
		ctx->refreshed = true;
		return 0;
	}
	struct carve_hw_inventory inv = {0};
	char hash[17] = "";
	int r = carve_host_discover(ctx->host, &inv, err);
	if (r >= 0 && (r = inventory_hash(&inv, ctx->backend_desc, hash)) < 0)
		carve_error_set(err, r, "OUT_OF_MEMORY", "out of memory");
	if (r < 0) {
		carve_hw_inventory_clear(&inv);
		return r;
	}
	if (!ctx->model && (r = carve_ops_load_model(ctx, err)) < 0) {
		carve_hw_inventory_clear(&inv);
		return r;
	}
	carve_model_wrlock(ctx->model);
	if ((r = carve_db_begin(ctx->db, err)) >= 0) {
		/* Under the writer lock: the model is current, the decision sound. */
		r = carve_ops_load_model(ctx, err);
		const struct carve_obj_host *h = r >= 0 ? carve_model_host(ctx->model, ctx->host_uuid) : NULL;
		bool same = h && strcmp(h->inventory_hash, hash) == 0;
		if (r >= 0 && !same) {
			report_new_problems(ctx, &inv);
			r = sync_all(ctx, &inv, hash, err);
		}
		if ((r = carve_ops_end(ctx, r, err)) >= 0 && !same)
			r = carve_model_reload_host_pgpus(ctx->model, ctx->db, ctx->host_uuid, err);
	}
	if (r >= 0 && (r = keep_inventory(ctx, &inv)) < 0)
		carve_error_set(err, r, "OUT_OF_MEMORY", "out of memory");
	carve_model_unlock(ctx->model);
	carve_hw_inventory_clear(&inv);
	if (r >= 0)
		ctx->refreshed = true;
	return r;
}

/* Replace (or drop, when gone) the entries of pci[] in the context's
 * inventory with what the host says now. */
static int rediscover_inv(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err)
{
	if (!ctx->inv) {
		if (!(ctx->inv = calloc(1, sizeof(*ctx->inv))))
			return -ENOMEM;
		ctx->owns_inv = true;
	}
	for (size_t i = 0; i < n; i++) {
		struct carve_hw_inventory one = {0};
		int r = carve_host_discover_gpu(ctx->host, pci[i], &one, err);
		if (r < 0 && r != -ENOENT)
			return r;
		carve_error_clear(err);
		r = carve_hw_inventory_replace(ctx->inv, pci[i], r < 0 ? NULL : &one.gpus[0]);
		carve_hw_inventory_clear(&one);
		if (r < 0)
			return carve_error_set(err, r, "OUT_OF_MEMORY", "out of memory");
	}
	return 0;
}

int carve_ops_sync_gpus(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err)
{
	char hash[17];
	if (inventory_hash(ctx->inv, ctx->backend_desc, hash) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	int r = 0;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct carve_hw_gpu *g = carve_hw_inventory_find(ctx->inv, pci[i]);
		if (g) {
			r = sync_gpu(ctx, g, ctx->inv->driver_version, err);
		} else {
			const struct carve_obj_pgpu *p = carve_model_pgpu_at(ctx->model, ctx->host_uuid, pci[i]);
			if (p)
				r = carve_repo_pgpu_set_absent(ctx->db, p->uuid, err);
		}
	}
	return r < 0 ? r : carve_repo_host_set_inventory_hash(ctx->db, ctx->host_uuid, hash, err);
}

int carve_ops_reload_gpus(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err)
{
	int r = carve_model_reload_host(ctx->model, ctx->db, ctx->host_uuid, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		char uuid[37];
		carve_pgpu_uuid(ctx->host_uuid, pci[i], uuid);
		r = carve_model_reload_pgpu(ctx->model, ctx->db, uuid, err);
	}
	return r;
}

int carve_ops_rediscover_gpus(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err)
{
	if (!ctx->host || n == 0)
		return 0;
	int r = rediscover_inv(ctx, pci, n, err);
	if (r < 0)
		return r;
	/* Only this host's rows change, and the pool's other agents are told
	 * which PGPUs to read again: a shared transaction (store/db.h), so that
	 * the look after every act does not make every agent reload all. */
	if ((r = carve_ops_begin_shared(ctx, err)) < 0)
		return r;
	r = carve_ops_sync_gpus(ctx, pci, n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		char uuid[37];
		carve_pgpu_uuid(ctx->host_uuid, pci[i], uuid);
		r = carve_pool_note_pgpu(ctx, uuid, err);
	}
	if ((r = carve_ops_end(ctx, r, err)) < 0)
		return r;
	return carve_ops_reload_gpus(ctx, pci, n, err);
}

int carve_ops_rediscover(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err)
{
	host_identity(ctx);
	carve_model_wrlock(ctx->model);
	int r = carve_ops_rediscover_gpus(ctx, pci, n, err);
	carve_model_unlock(ctx->model);
	return r;
}

int carve_ops_rediscover_into(struct carve_ctx *ctx, const char *const *pci, size_t n, struct carve_error *err)
{
	return ctx->host ? rediscover_inv(ctx, pci, n, err) : 0;
}
