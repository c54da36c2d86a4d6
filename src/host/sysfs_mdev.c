/* sysfs_mdev.c - mdev-based vGPUs: NVIDIA on a physical function (Maxwell
 * to Turing, K1/K2), NVIDIA on SR-IOV VFs (Ampere before vGPU 17: the PF is
 * the PGPU, each VF an mdev parent of at most one vGPU), Intel GVT-g.
 *
 * A parent publishes mdev_supported_types/<id>/{name,description,
 * available_instances,device_api,create,devices/}; existing mdevs are the
 * UUID links under devices/.  Type directory names and device names come
 * from the tree and are used as path components only after
 * carve_ident_valid()/carve_uuid_valid(); anything else is skipped.
 */
#include "sysfs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/desc.h"
#include "util/cleanup.h"
#include "util/pci.h"
#include "util/uuid.h"

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

static char series_of(const char *name)
{
	size_t n = strlen(name);
	char c = n ? name[n - 1] : 0;
	return c == 'A' || c == 'B' || c == 'C' || c == 'Q' ? c : 0;
}

/* Read one type directory into t (everything but availability).  `name`
 * and `description` are optional in the mdev ABI (kernels before 6.1 give
 * GVT-g types no name): the name falls back to the type's own name, the id
 * without the "<driver>-" prefix the mdev core adds ("i915-GVTg_V5_4" ->
 * "GVTg_V5_4"), which is what the kernel itself shows since 6.1, so the
 * type keeps its identity across a kernel upgrade; a missing description
 * leaves its facts unknown.
 * A file that exists but cannot be read or parsed is the type's problem:
 * returned as an error naming the file, for the caller to record. */
static int read_type(struct carve_sysfs *fs, const char *tdir, const char *id, const char *driver,
		     enum carve_impl impl, const struct carve_board *b, struct carve_hw_type *t, struct carve_error *err)
{
	char path[384];
	_cleanup_free_ char *name = NULL, *desc = NULL;
	size_t dl = strlen(driver);
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->name, sizeof(t->name), "%s",
		 dl && strncmp(id, driver, dl) == 0 && id[dl] == '-' && id[dl + 1] ? id + dl + 1 : id);
	t->impl = impl;
	snprintf(path, sizeof(path), "%s/name", tdir);
	int r = carve_sysfs_read_opt(fs, path, &name, err);
	if (r < 0)
		return r;
	if (name && *carve_strstrip(name))
		snprintf(t->name, sizeof(t->name), "%s", carve_strstrip(name));
	snprintf(path, sizeof(path), "%s/description", tdir);
	if ((r = carve_sysfs_read_opt(fs, path, &desc, err)) < 0)
		return r;
	char origin[512];
	snprintf(origin, sizeof(origin), "%s/%s", carve_sysfs_root(fs), path);
	const struct carve_type_entry *e = b ? carve_catalog_type(b->short_name, id) : NULL;
	if (impl == CARVE_IMPL_GVT_G) {
		struct carve_gvt_desc d = {0};
		if (desc && (r = carve_gvt_desc_parse(desc, strlen(desc), origin, &d, err)) < 0)
			return r;
		t->low_gm_mib = d.low_gm_mib;
		t->high_gm_mib = d.high_gm_mib;
		t->fence = d.fence;
		t->weight = d.weight;
		t->max_res_x = d.res_x;
		t->max_res_y = d.res_y;
		t->framebuffer_mib = d.low_gm_mib; /* the aperture is what the guest sees */
		t->num_heads = 1;
	} else {
		struct carve_nv_desc d = {0};
		if (desc && (r = carve_nv_desc_parse(desc, strlen(desc), origin, &d, err)) < 0)
			return r;
		t->num_heads = d.num_heads;
		t->frl_config = d.frl_config;
		t->framebuffer_mib = d.framebuffer_mib;
		t->max_res_x = d.max_res_x;
		t->max_res_y = d.max_res_y;
		/* Not in sysfs: multi-vGPU support and the series come from the catalog. */
		t->multi_vgpu = e ? e->multi_vgpu : false;
		t->series = e ? e->series : series_of(t->name);
		if (d.have & CARVE_DESC_HAS_MAXINST) {
			if (d.max_instance == 0 || d.max_instance > CARVE_HW_MAX_INSTANCES)
				return carve_error_set(err, -ERANGE, "VENDOR_DESCRIPTION_INVALID",
						       "%s: max_instance=%u is out of range (1..%d)", origin,
						       d.max_instance, CARVE_HW_MAX_INSTANCES);
			t->max_instances = d.max_instance;
			t->max_instances_source = CARVE_HW_SOURCE_DRIVER;
			return 0;
		}
	}
	/* i915 publishes no per-type maximum, NVIDIA's only in the description:
	 * the catalog's, where it knows the board; else none (the kernel's
	 * available_instances alone decides). */
	t->max_instances = e ? e->max_instance : 0;
	t->max_instances_source = t->max_instances ? CARVE_HW_SOURCE_CATALOG : CARVE_HW_SOURCE_NONE;
	return 0;
}

/* The mdevs of one parent: child directories named by a UUID that have an
 * mdev_type link (the kernel's layout; the types' devices/ links say the
 * same, but one listing of the parent is cheaper than one per type). */
static int read_mdevs(struct carve_sysfs *fs, const char *pdir, const char *parent_pci, struct carve_hw_gpu *g,
		      bool *has_dev, struct carve_error *err)
{
	struct carve_strv names = {0};
	int r = carve_sysfs_list(fs, pdir, &names, err);
	for (size_t i = 0; i < names.n && r == 0; i++) {
		if (!carve_uuid_valid(names.v[i]))
			continue;
		char path[256];
		snprintf(path, sizeof(path), "%s/%s/mdev_type", pdir, names.v[i]);
		_cleanup_free_ char *type = NULL;
		struct carve_error ignore = {0};
		if (carve_sysfs_link_name(fs, path, &type, &ignore) < 0 || !carve_ident_valid(type))
			continue; /* not an mdev */
		struct carve_hw_dev *d = carve_hw_gpu_add_dev(g);
		if (!d) {
			r = carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
			break;
		}
		carve_uuid_normalize(names.v[i], d->uuid);
		snprintf(d->type_id, sizeof(d->type_id), "%s", type);
		snprintf(d->parent, sizeof(d->parent), "%s", parent_pci);
		_cleanup_free_ char *params = NULL;
		snprintf(path, sizeof(path), "%s/%s/nvidia/vgpu_params", pdir, names.v[i]);
		if ((r = carve_sysfs_read_opt(fs, path, &params, err)) < 0)
			break;
		snprintf(d->params, sizeof(d->params), "%s", params ? carve_strstrip(params) : "");
		*has_dev = true;
	}
	carve_strv_clear(&names);
	return r;
}

/* A type of g whose files failed (e): record the problem once, mark the
 * type broken and unavailable.  -ENOMEM only. */
static int type_problem(struct carve_hw_gpu *g, struct carve_hw_type *t, const struct carve_error *e)
{
	t->available = 0;
	if (t->broken)
		return 0;
	t->broken = true;
	return carve_hw_gpu_add_problem(g, t->id, e);
}

/* One mdev parent (the PF, or one VF).  aggregate: a type already present
 * in g only gets this parent's availability added (the VFs of one GPU
 * publish the same types, so name and description are read once).
 * *has_dev is set when the parent carries an mdev.  A type whose files
 * cannot be read is kept, broken, with its problem recorded; errors
 * returned are the parent's own (its listing) and -ENOMEM. */
static int read_parent(struct carve_sysfs *fs, const char *pdir, const char *parent_pci, const char *driver,
		       const struct carve_board *b, enum carve_impl impl, struct carve_hw_gpu *g, bool aggregate, bool *has_dev,
		       struct carve_error *err)
{
	char tdir_root[160];
	snprintf(tdir_root, sizeof(tdir_root), "%s/mdev_supported_types", pdir);
	struct carve_strv ids = {0};
	if (!carve_sysfs_is_dir(fs, tdir_root))
		return 0; /* a parent without types publishes nothing */
	int r = carve_sysfs_list(fs, tdir_root, &ids, err);
	for (size_t i = 0; i < ids.n && r == 0; i++) {
		const char *id = ids.v[i];
		if (!carve_ident_valid(id))
			continue; /* hostile or foreign name: never a path component */
		char tdir[256], path[300];
		snprintf(tdir, sizeof(tdir), "%s/%s", tdir_root, id);
		if (!carve_sysfs_is_dir(fs, tdir))
			continue; /* not a type directory: not ours to judge */
		struct carve_hw_type *slot = aggregate ? (struct carve_hw_type *)carve_hw_gpu_find_type(g, id) : NULL;
		struct carve_error te = {0};
		if (!slot) {
			struct carve_hw_type t = {0};
			int tr = read_type(fs, tdir, id, driver, impl, b, &t, &te);
			if (tr == -ENOMEM) {
				r = oom(err);
				break;
			}
			if (!(slot = carve_hw_gpu_add_type(g))) {
				r = oom(err);
				break;
			}
			*slot = t;
			if (tr < 0) {
				r = type_problem(g, slot, &te) < 0 ? oom(err) : 0;
				continue;
			}
		}
		if (slot->broken)
			continue;
		uint32_t avail = 0;
		snprintf(path, sizeof(path), "%s/available_instances", tdir);
		if (carve_sysfs_read_u32(fs, path, false, 0, &avail, &te) == 0 && avail > CARVE_HW_MAX_INSTANCES)
			carve_error_set(&te, -ERANGE, "SYSFS_MALFORMED", "%s/%s: %u instances is out of range (0..%d)",
					carve_sysfs_root(fs), path, avail, CARVE_HW_MAX_INSTANCES);
		if (carve_error_isset(&te))
			r = type_problem(g, slot, &te) < 0 ? oom(err) : 0;
		else
			slot->available += avail;
	}
	carve_strv_clear(&ids);
	if (r == 0)
		r = read_mdevs(fs, pdir, parent_pci, g, has_dev, err);
	return r;
}

int carve_sysfs_mdev_discover(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g,
			      struct carve_error *err)
{
	enum carve_impl impl = g->mechanism;
	bool has_dev = false;
	if (g->n_vfs == 0) {
		int r = read_parent(fs, ctx->dir, g->pci, g->driver, ctx->board, impl, g, false, &has_dev, err);
		/* Ampere with no VF enabled (after a reboot): the parents that would
		 * publish the types do not exist yet; the catalog knows them. */
		if (r == 0 && carve_sysfs_vf_backed(fs, ctx, g))
			r = carve_sysfs_add_catalog_types(ctx->board, impl, 0, g, err);
		carve_hw_gpu_infer_mixed_size(g);
		return r;
	}

	/* SR-IOV: the VFs are the parents, each offering 0 or 1 of a type.  The
	 * sum over free VFs overstates what fits (every free VF offers 1 even
	 * when the GPU has room for 2 of a large type), so cap it by NVIDIA's
	 * rule for the whole GPU. */
	for (size_t i = 0; i < g->n_vfs; i++) {
		char vdir[64];
		snprintf(vdir, sizeof(vdir), "bus/pci/devices/%s", g->vfs[i].pci);
		has_dev = false;
		int r = read_parent(fs, vdir, g->vfs[i].pci, g->vfs[i].driver, ctx->board, impl, g, true, &has_dev, err);
		if (r < 0)
			return r;
		g->vfs[i].in_use = has_dev;
	}
	carve_hw_gpu_infer_mixed_size(g);
	for (size_t i = 0; i < g->n_types; i++) {
		if (g->types[i].max_instances == 0)
			continue; /* no budget known: the VFs' own counts decide */
		uint32_t cap = carve_hw_gpu_nv_capacity(g, &g->types[i]);
		if (g->types[i].available > cap)
			g->types[i].available = cap;
	}
	return 0;
}

int carve_sysfs_mdev_create(struct sysfs_host *h, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g,
			    const struct carve_hw_type *t, const struct carve_vgpu_spec *spec,
			    struct carve_vgpu_placement *out, struct carve_error *err)
{
	char uuid[37];
	if (carve_uuid_normalize(spec->uuid, uuid) < 0)
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "an mdev needs a valid UUID, not '%.40s'", spec->uuid);
	if (!carve_ident_valid(t->id))
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "invalid type identifier");
	char parent[13] = "", tdir[256];
	if (g->n_vfs == 0) {
		snprintf(parent, sizeof(parent), "%s", g->pci);
		snprintf(tdir, sizeof(tdir), "%s/mdev_supported_types/%s", ctx->dir, t->id);
	} else {
		/* The first free VF that still offers the type. */
		for (size_t i = 0; i < g->n_vfs && !parent[0]; i++) {
			if (g->vfs[i].in_use || !carve_pci_valid(g->vfs[i].pci))
				continue;
			char path[256];
			uint32_t avail = 0;
			snprintf(path, sizeof(path), "bus/pci/devices/%s/mdev_supported_types/%s/available_instances",
				 g->vfs[i].pci, t->id);
			struct carve_error ignore = {0};
			if (carve_sysfs_read_u32(h->fs, path, true, 0, &avail, &ignore) == 0 && avail > 0) {
				snprintf(parent, sizeof(parent), "%s", g->vfs[i].pci);
				snprintf(tdir, sizeof(tdir), "bus/pci/devices/%s/mdev_supported_types/%s", parent, t->id);
			}
		}
		if (!parent[0])
			return carve_error_set(err, -ENOSPC, "NO_FREE_VF", "%s: %s: no free VF offers %s", g->driver,
					       g->pci, t->id);
	}
	int r = carve_sysfs_write(h->fs, tdir, "create", uuid, err);
	if (r < 0)
		return r;
	if (spec->params[0]) {
		char mdir[96];
		snprintf(mdir, sizeof(mdir), "bus/mdev/devices/%s/nvidia", uuid);
		if ((r = carve_sysfs_write(h->fs, mdir, "vgpu_params", spec->params, err)) < 0) {
			/* Do not leave a vGPU with the wrong parameters behind. */
			struct carve_error ignore = {0};
			carve_sysfs_mdev_remove(h, uuid, &ignore);
			return r;
		}
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->uuid, sizeof(out->uuid), "%s", uuid);
	snprintf(out->device_pci, sizeof(out->device_pci), "%s", parent);
	return 0;
}

int carve_sysfs_mdev_remove(struct sysfs_host *h, const char *uuid_in, struct carve_error *err)
{
	char uuid[37], dir[64];
	if (carve_uuid_normalize(uuid_in, uuid) < 0)
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID '%.40s'", uuid_in);
	snprintf(dir, sizeof(dir), "bus/mdev/devices/%s", uuid);
	if (!carve_sysfs_exists(h->fs, dir))
		return carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "mdev %s does not exist", uuid);
	/* The vendor driver refuses (EBUSY) while QEMU still holds the device. */
	return carve_sysfs_write_retry(h->fs, dir, "remove", "1", err);
}
