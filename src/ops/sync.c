/* sync.c - fold a discovered inventory into the model.
 *
 * Re-running discovery updates in place: the same PCI address and type keep
 * their UUIDs (identities are derived, see model/model.h), devices and types
 * that vanished are marked (present=0, supported=0) rather than dropped, and
 * what the user set - enabled types, group membership, allocation algorithm -
 * is never overwritten.  One transaction: a failed refresh changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "model/model.h"
#include "ops.h"
#include "util/cleanup.h"
#include "util/uuid.h"

#define EXEC(...) carve_db_execf(ctx->db, NULL, err, __VA_ARGS__)

static int sync_group(struct carve_ctx *ctx, const struct carve_hw_gpu *g, const char *vendor_name,
		      const char *device_name, char group_uuid[37], struct carve_error *err)
{
	char key[32], name[64];
	snprintf(key, sizeof(key), "%04x/%04x", g->vendor_id & 0xffff, g->device_id & 0xffff);
	snprintf(name, sizeof(name), "gpu-group/%s", key);
	carve_uuid_from_name(CARVE_UUID_NS, name, group_uuid);
	_cleanup_free_ char *label = carve_strdupf("Group of %s %s GPUs", vendor_name, device_name);
	if (!label)
		return -ENOMEM;
	return EXEC("INSERT INTO gpu_group (uuid, name_label, gpu_types, auto_key) VALUES ($1, $2, $3, $3) "
		    "ON CONFLICT (uuid) DO NOTHING",
		    3, group_uuid, label, key);
}

static int sync_type(struct carve_ctx *ctx, const char *pgpu_uuid, const struct carve_hw_gpu *g,
		     const struct carve_hw_type *t, struct carve_error *err)
{
	char key[256], uuid[37], kname[300];
	int r = carve_type_key(t->impl, t->name, key, sizeof(key));
	if (r < 0)
		return carve_error_set(err, r, "INTERNAL_ERROR", "vGPU type name too long: %s", t->name);
	snprintf(kname, sizeof(kname), "vgpu-type/%s", key);
	carve_uuid_from_name(CARVE_UUID_NS, kname, uuid);

	bool pt = t->impl == CARVE_IMPL_PASSTHROUGH;
	char fb[32], heads[16], rx[16], ry[16], frl[16], maxi[16], size[32], avail[16], series[2] = {t->series, 0};
	/* One passthrough type serves every GPU of the pool (as in XAPI): it has
	 * no framebuffer, heads or resolution of its own, whichever GPU synced last. */
	snprintf(fb, sizeof(fb), "%llu", pt ? 0ULL : (unsigned long long)t->framebuffer_mib * 1024 * 1024);
	snprintf(heads, sizeof(heads), "%u", pt ? 0 : t->num_heads);
	snprintf(rx, sizeof(rx), "%u", pt ? 0 : t->max_res_x);
	snprintf(ry, sizeof(ry), "%u", pt ? 0 : t->max_res_y);
	snprintf(frl, sizeof(frl), "%u", pt ? 0 : t->frl_config);
	snprintf(maxi, sizeof(maxi), "%u", t->max_instances);
	/* No budget known: size 0, the kernel's count alone decides (capacity.h). */
	snprintf(size, sizeof(size), "%lld", t->max_instances ? (long long)carve_type_size(t->max_instances) : 0LL);
	snprintf(avail, sizeof(avail), "%u", t->broken ? 0 : t->available);
	const char *vendor = pt ? "" : carve_vendor_name((uint16_t)g->vendor_id);
	/* The identity never changes; the hardware facts of the (pool-wide) type
	 * are refreshed only from a GPU that could tell them: a broken type, or
	 * one whose driver publishes no description, leaves them as they are. */
	r = EXEC("INSERT INTO vgpu_type (uuid, type_key, vendor_name, model_name, framebuffer_size, max_heads, "
		 "max_resolution_x, max_resolution_y, frl_config, max_instances, size, implementation, identifier, "
		 "board, multi_vgpu, series) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) "
		 "ON CONFLICT (uuid) DO NOTHING",
		 16, uuid, key, vendor, pt ? "passthrough" : t->name, fb, heads, rx, ry, frl, maxi, size,
		 carve_impl_name(t->impl), t->id, pt ? "" : g->board, t->multi_vgpu ? "1" : "0", series);
	bool facts = !t->broken && (pt || t->framebuffer_mib > 0);
	if (r >= 0 && facts)
		r = EXEC("UPDATE vgpu_type SET framebuffer_size=$2, max_heads=$3, max_resolution_x=$4, "
			 "max_resolution_y=$5, frl_config=$6, identifier=$7, multi_vgpu=$8, series=$9 WHERE uuid=$1",
			 9, uuid, fb, heads, rx, ry, frl, t->id, t->multi_vgpu ? "1" : "0", series);
	if (r >= 0 && !t->broken && t->max_instances)
		r = EXEC("UPDATE vgpu_type SET max_instances=$2, size=$3 WHERE uuid=$1", 3, uuid, maxi, size);
	if (r < 0)
		return r;
	const struct carve_hw_problem *pr = t->broken ? carve_hw_gpu_find_problem(g, t->id) : NULL;
	_cleanup_free_ char *problem = pr ? carve_strdupf("%s: %s", pr->id, pr->message) : strdup("");
	if (!problem)
		return -ENOMEM;
	return EXEC("INSERT INTO pgpu_type (pgpu_uuid, vgpu_type_uuid, max_instances, available, supported, enabled, "
		    "problem, max_instances_source) VALUES ($1, $2, $3, $4, 1, 1, $5, $6) "
		    "ON CONFLICT (pgpu_uuid, vgpu_type_uuid) DO UPDATE SET max_instances=$3, available=$4, supported=1, "
		    "problem=$5, max_instances_source=$6",
		    6, pgpu_uuid, uuid, maxi, avail, problem, carve_hw_source_name(t->max_instances_source));
}

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

static int sync_gpu(struct carve_ctx *ctx, const struct carve_hw_gpu *g, struct carve_error *err)
{
	char name[128], uuid[37], group[37];
	snprintf(name, sizeof(name), "pgpu/%s/%s", ctx->host_uuid, g->pci);
	carve_uuid_from_name(CARVE_UUID_NS, name, uuid);

	const char *vendor_name = carve_vendor_name((uint16_t)g->vendor_id);
	char devname[80];
	if (g->board[0])
		snprintf(devname, sizeof(devname), "%s", g->board);
	else
		snprintf(devname, sizeof(devname), "Device %04x", g->device_id & 0xffff);
	int r = sync_group(ctx, g, vendor_name, devname, group, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *problems = problems_text(g->problems, g->n_problems);
	if (!problems)
		return -ENOMEM;
	char vid[8], did[8], svid[8], sdid[8], numa[16], iommu[16], tvf[16], nvf[16], size[32];
	snprintf(vid, sizeof(vid), "%04x", g->vendor_id & 0xffff);
	snprintf(did, sizeof(did), "%04x", g->device_id & 0xffff);
	snprintf(svid, sizeof(svid), "%04x", g->subsys_vendor_id & 0xffff);
	snprintf(sdid, sizeof(sdid), "%04x", g->subsys_device_id & 0xffff);
	snprintf(numa, sizeof(numa), "%d", g->numa_node);
	snprintf(iommu, sizeof(iommu), "%d", g->iommu_group);
	snprintf(tvf, sizeof(tvf), "%u", g->sriov_totalvfs);
	snprintf(nvf, sizeof(nvf), "%u", g->sriov_numvfs);
	snprintf(size, sizeof(size), "%lld", (long long)CARVE_PGPU_SIZE);
	/* gpu_group_uuid is only set when the PGPU has none: a user's move stands. */
	r = EXEC("INSERT INTO pgpu (uuid, host_uuid, pci_id, vendor_id, device_id, subsystem_vendor_id, "
		 "subsystem_device_id, vendor_name, device_name, board, driver, numa_node, iommu_group, "
		 "is_system_display_device, implementation, mixed_size, sriov_totalvfs, sriov_numvfs, size, "
		 "gpu_group_uuid, present, discovery_problems, broken, mixed_size_source, mixed_size_supported) "
		 "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,1,$21,$22,$23,$24) "
		 "ON CONFLICT (uuid) DO UPDATE SET vendor_id=$4, device_id=$5, subsystem_vendor_id=$6, "
		 "subsystem_device_id=$7, vendor_name=$8, device_name=$9, board=$10, driver=$11, numa_node=$12, "
		 "iommu_group=$13, is_system_display_device=$14, implementation=$15, mixed_size=$16, "
		 "sriov_totalvfs=$17, sriov_numvfs=$18, present=1, "
		 "gpu_group_uuid=COALESCE(pgpu.gpu_group_uuid, $20), discovery_problems=$21, broken=$22, "
		 "mixed_size_source=$23, mixed_size_supported=$24",
		 24, uuid, ctx->host_uuid, g->pci, vid, did, svid, sdid, vendor_name, devname, g->board, g->driver, numa,
		 iommu, g->is_system_display ? "1" : "0", carve_impl_name(g->mechanism), g->mixed_size ? "1" : "0", tvf,
		 nvf, size, group, problems, g->broken ? "1" : "0", carve_hw_source_name(g->mixed_size_source),
		 g->mixed_size_supported ? "1" : "0");
	if (r < 0)
		return r;
	/* A broken GPU could not say what it supports: its types stay as they
	 * were (the operator's enabled set included), none available. */
	if (g->broken)
		return EXEC("UPDATE pgpu_type SET available=0 WHERE pgpu_uuid=$1", 1, uuid);
	/* Mark every type unsupported, then re-mark what the host reports. */
	if ((r = EXEC("UPDATE pgpu_type SET supported=0, available=0 WHERE pgpu_uuid=$1", 1, uuid)) < 0)
		return r;
	for (size_t i = 0; i < g->n_types; i++)
		if ((r = sync_type(ctx, uuid, g, &g->types[i], err)) < 0)
			return r;
	return 0;
}


int carve_ops_sync_inventory(struct carve_ctx *ctx, const struct carve_hw_inventory *inv, struct carve_error *err)
{
	int r = carve_db_begin(ctx->db, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *problems = problems_text(inv->problems, inv->n_problems);
	if (!problems) {
		carve_db_rollback(ctx->db);
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	}
	r = EXEC("INSERT INTO host (uuid, name_label, hostname, backend, last_discovery, discovery_problems) "
		 "VALUES ($1, $2, $2, $3, CURRENT_TIMESTAMP, $4) ON CONFLICT (uuid) DO UPDATE SET backend=$3, "
		 "last_discovery=CURRENT_TIMESTAMP, discovery_problems=$4",
		 4, ctx->host_uuid, ctx->hostname, ctx->backend_desc ? ctx->backend_desc : "", problems);
	if (r < 0)
		goto fail;
	if ((r = EXEC("UPDATE pgpu SET present=0 WHERE host_uuid=$1", 1, ctx->host_uuid)) < 0)
		goto fail;
	for (size_t i = 0; i < inv->n_gpus; i++)
		if ((r = sync_gpu(ctx, &inv->gpus[i], err)) < 0)
			goto fail;
	return carve_db_commit(ctx->db, err);
fail:
	carve_db_rollback(ctx->db);
	return r;
}

/* FNV-1a over the canonical JSON of the inventory, salted with the backend
 * description (the same hardware seen through another backend is synced). */
static int inventory_hash(const struct carve_hw_inventory *inv, char out[17])
{
	json_t *j = carve_hw_inventory_to_json(inv);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = text; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	free(text);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return 0;
}

static bool inventory_unchanged(struct carve_ctx *ctx, const char *hash)
{
	struct carve_rows *rows = NULL;
	bool same = false;
	if (carve_db_execf(ctx->db, &rows, NULL, "SELECT inventory_hash, backend FROM host WHERE uuid=$1", 1,
			   ctx->host_uuid) >= 0 &&
	    rows->nrows == 1) {
		const char *h = carve_rows_cell(rows, 0, 0), *b = carve_rows_cell(rows, 0, 1);
		same = h && strcmp(h, hash) == 0 && b && strcmp(b, ctx->backend_desc ? ctx->backend_desc : "") == 0;
	}
	carve_rows_free(rows);
	return same;
}

/* Report the problems of inv that the store does not hold yet (the text
 * the last sync wrote for this host and its PGPUs). */
static void report_new_problems(struct carve_ctx *ctx, const struct carve_hw_inventory *inv)
{
	if (!ctx->on_problem || carve_hw_inventory_count_problems(inv) == 0)
		return;
	_cleanup_rows_ struct carve_rows *rows = NULL;
	if (carve_db_execf(ctx->db, &rows, NULL,
			   "SELECT discovery_problems FROM host WHERE uuid=$1 UNION ALL "
			   "SELECT discovery_problems FROM pgpu WHERE host_uuid=$1",
			   1, ctx->host_uuid) < 0)
		return;
	for (size_t g = 0; g <= inv->n_gpus; g++) {
		const struct carve_hw_problem *p = g < inv->n_gpus ? inv->gpus[g].problems : inv->problems;
		size_t n = g < inv->n_gpus ? inv->gpus[g].n_problems : inv->n_problems;
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *line = carve_strdupf("%s: %s", p[i].id, p[i].message);
			bool known = false;
			for (size_t k = 0; line && k < rows->nrows && !known; k++) {
				const char *have = carve_rows_cell(rows, k, 0);
				known = have && strstr(have, line) != NULL;
			}
			if (!known)
				ctx->on_problem(&p[i], ctx->on_problem_data);
		}
	}
}

int carve_ops_refresh(struct carve_ctx *ctx, struct carve_error *err)
{
	char name[300];
	snprintf(name, sizeof(name), "host/%s", ctx->hostname);
	carve_uuid_from_name(CARVE_UUID_NS, name, ctx->host_uuid);
	if (!ctx->host) {
		ctx->refreshed = true;
		return 0;
	}
	struct carve_hw_inventory inv = {0};
	char hash[17] = "";
	int r = carve_host_discover(ctx->host, &inv, err);
	if (r >= 0)
		r = inventory_hash(&inv, hash);
	if (r >= 0 && !inventory_unchanged(ctx, hash)) {
		report_new_problems(ctx, &inv);
		r = carve_ops_sync_inventory(ctx, &inv, err);
		if (r >= 0)
			r = EXEC("UPDATE host SET inventory_hash=$2 WHERE uuid=$1", 2, ctx->host_uuid, hash);
	}
	carve_hw_inventory_clear(&inv);
	if (r >= 0)
		ctx->refreshed = true;
	return r;
}
