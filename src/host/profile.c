/* profile.c - YAML host profiles: parse (syntax, schema, formats, limits)
 * and validate (catalog semantics).  See profile.h for the format.
 *
 * libyaml's document API gives every node its line, which is what error
 * messages need.  Aliases are refused: they would let a small file name the
 * same large subtree many times, and a host description never needs them.
 */
#include "profile.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "inventory.h"
#include "model/catalog.h"
#include "model/impl.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/yamldoc.h"
#include "util/pci.h"
#include "util/uuid.h"

#define ID "PROFILE_INVALID"

static int vreport(const char *origin, struct carve_error *err, int code, int line, const char *key, const char *fmt,
		   va_list ap) __attribute__((format(printf, 6, 0)));
static int vreport(const char *origin, struct carve_error *err, int code, int line, const char *key, const char *fmt,
		   va_list ap)
{
	char msg[400];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (key && *key)
		return carve_error_set(err, code, ID, "%s:%d: %s: %s", origin, line, key, msg);
	return carve_error_set(err, code, ID, "%s:%d: %s", origin, line, msg);
}

int carve_profile_error(const struct carve_profile *p, struct carve_error *err, int code, int line, const char *key,
			const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vreport(p && p->origin ? p->origin : "<profile>", err, code, line, key, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- parsing ---- */

/* The parse: the shared YAML rules (util/yamldoc.h) first, so that a
 * mapping walk's callback (given the struct carve_yaml) gets back to it. */
struct pctx {
	struct carve_yaml y;
	size_t total_vgpus;
};

static struct pctx *pctx_of(struct carve_yaml *y)
{
	return (struct pctx *)y;
}

static int vgpu_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, const char *kpath)
{
	struct pctx *c = pctx_of(y);
	struct carve_profile_vgpu *v = obj;
	if (strcmp(key, "uuid") == 0) {
		const char *s;
		int r = carve_yaml_scalar(&c->y, vn, kpath, &s);
		if (r < 0)
			return r;
		if (carve_uuid_normalize(s, v->uuid) < 0)
			return carve_yaml_err(&c->y, vn, kpath, "'%.64s' is not a UUID", s);
		v->line_uuid = carve_yaml_line(vn);
		return 0;
	}
	if (strcmp(key, "type") == 0) {
		int r = carve_yaml_str(&c->y, vn, kpath, v->type_id, sizeof(v->type_id));
		if (r < 0)
			return r;
		if (!carve_ident_valid(v->type_id))
			return carve_yaml_err(&c->y, vn, kpath, "'%s' is not a valid type identifier", v->type_id);
		v->line_type = carve_yaml_line(vn);
		return 0;
	}
	if (strcmp(key, "params") == 0)
		return carve_yaml_str(&c->y, vn, kpath, v->params, sizeof(v->params));
	if (strcmp(key, "gpu") == 0)
		return carve_yaml_u32(&c->y, vn, kpath, 255, &v->gpu);
	return carve_yaml_unknown_key(&c->y, kn, kpath);
}

static int parse_vgpus(struct pctx *c, struct carve_profile_gpu *g, yaml_node_t *seq, const char *path)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(&c->y, seq, path, "expected a list");
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > CARVE_PROFILE_MAX_VGPUS_PER_GPU)
		return carve_error_set(c->y.err, -E2BIG, ID, "%s:%d: %s: more than %d vGPUs on one GPU entry", c->y.origin,
				       carve_yaml_line(seq), path, CARVE_PROFILE_MAX_VGPUS_PER_GPU);
	if (c->total_vgpus + n > CARVE_PROFILE_MAX_VGPUS)
		return carve_error_set(c->y.err, -E2BIG, ID, "%s:%d: %s: more than %d vGPUs in the profile", c->y.origin,
				       carve_yaml_line(seq), path, CARVE_PROFILE_MAX_VGPUS);
	c->total_vgpus += n;
	g->vgpus = calloc(n ? n : 1, sizeof(*g->vgpus));
	if (!g->vgpus)
		return carve_error_set(c->y.err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	for (size_t i = 0; i < n; i++) {
		char ipath[128];
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		int r;
		yaml_node_t *item = carve_yaml_node(&c->y, seq->data.sequence.items.start[i], ipath, &r);
		if (!item)
			return r;
		struct carve_profile_vgpu *v = &g->vgpus[g->n_vgpus++];
		v->line = carve_yaml_line(item);
		if ((r = carve_yaml_walk(&c->y, item, ipath, v, vgpu_pair)) < 0)
			return r;
		if (!v->type_id[0])
			return carve_yaml_err(&c->y, item, ipath, "missing key 'type'");
	}
	return 0;
}

static int parse_types(struct pctx *c, struct carve_profile_gpu *g, yaml_node_t *seq, const char *path)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(&c->y, seq, path, "expected a list");
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n == 0)
		return carve_yaml_err(&c->y, seq, path, "empty list (leave the key out for all types)");
	if (n > CARVE_PROFILE_MAX_TYPES)
		return carve_error_set(c->y.err, -E2BIG, ID, "%s:%d: %s: more than %d types", c->y.origin, carve_yaml_line(seq),
				       path, CARVE_PROFILE_MAX_TYPES);
	for (size_t i = 0; i < n; i++) {
		int r;
		yaml_node_t *item = carve_yaml_node(&c->y, seq->data.sequence.items.start[i], path, &r);
		if (!item)
			return r;
		char id[65];
		if ((r = carve_yaml_str(&c->y, item, path, id, sizeof(id))) < 0)
			return r;
		if (!carve_ident_valid(id))
			return carve_yaml_err(&c->y, item, path, "'%s' is not a valid type identifier", id);
		if (carve_strv_contains(&g->types, id))
			return carve_yaml_err(&c->y, item, path, "type %s listed twice", id);
		if (carve_strv_push(&g->types, id) < 0)
			return carve_error_set(c->y.err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	}
	return 0;
}

static const char *const gpu_keys[CARVE_PGK__MAX] = {
	[CARVE_PGK_BOARD] = "board",
	[CARVE_PGK_PCI] = "pci",
	[CARVE_PGK_NUMA_NODE] = "numa_node",
	[CARVE_PGK_IOMMU_GROUP] = "iommu_group",
	[CARVE_PGK_TYPES] = "types",
	[CARVE_PGK_MECHANISM] = "mechanism",
	[CARVE_PGK_DRIVER] = "driver",
	[CARVE_PGK_VFS] = "vfs",
	[CARVE_PGK_NUMVFS] = "numvfs",
	[CARVE_PGK_MIXED_SIZE] = "mixed_size",
	[CARVE_PGK_SYSTEM_DISPLAY] = "system_display",
	[CARVE_PGK_SUBSYSTEM] = "subsystem",
	[CARVE_PGK_CLASS] = "class",
	[CARVE_PGK_VGPUS] = "vgpus",
	[CARVE_PGK_NVLINK] = "nvlink",
	[CARVE_PGK_ECC] = "ecc",
};

static int nvlink_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		       const char *kpath)
{
	struct carve_profile_gpu *g = obj;
	if (g->n_nvlink == CARVE_PROFILE_MAX_NVLINK)
		return carve_yaml_err_code(y, -E2BIG, kn, kpath, "more than %d NVLink peers", CARVE_PROFILE_MAX_NVLINK);
	struct carve_profile_nvlink *l = &g->nvlink[g->n_nvlink];
	if (carve_pci_normalize(key, l->peer) < 0)
		return carve_yaml_err(y, kn, kpath, "'%.64s' is not a PCI address", key);
	l->line = carve_yaml_line(kn);
	int r = carve_yaml_u32(y, vn, kpath, 18, &l->links);
	if (r >= 0 && l->links == 0)
		r = carve_yaml_err(y, vn, kpath, "at least 1 link");
	if (r >= 0)
		g->n_nvlink++;
	return r;
}

static int ecc_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn,
		    const char *kpath)
{
	struct carve_profile_ecc *e = obj;
	static const struct {
		const char *key;
		size_t off;
	} bools[] = {{"mode", offsetof(struct carve_profile_ecc, mode)},
		     {"pending", offsetof(struct carve_profile_ecc, pending)},
		     {"retired_pending", offsetof(struct carve_profile_ecc, retired_pending)},
		     {"remap_pending", offsetof(struct carve_profile_ecc, remap_pending)},
		     {"remap_failure", offsetof(struct carve_profile_ecc, remap_failure)}},
	  counts[] = {{"volatile_corrected", offsetof(struct carve_profile_ecc, volatile_corrected)},
		      {"volatile_uncorrected", offsetof(struct carve_profile_ecc, volatile_uncorrected)},
		      {"aggregate_corrected", offsetof(struct carve_profile_ecc, aggregate_corrected)},
		      {"aggregate_uncorrected", offsetof(struct carve_profile_ecc, aggregate_uncorrected)}},
	  pages[] = {{"retired_sbe", offsetof(struct carve_profile_ecc, retired_sbe)},
		     {"retired_dbe", offsetof(struct carve_profile_ecc, retired_dbe)}};
	e->pending_given |= strcmp(key, "pending") == 0;
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
		if (strcmp(key, bools[i].key) == 0)
			return carve_yaml_bool(y, vn, kpath, (bool *)((char *)e + bools[i].off));
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		if (strcmp(key, counts[i].key) == 0) {
			uint32_t v;
			int r = carve_yaml_u32(y, vn, kpath, UINT32_MAX, &v);
			*(uint64_t *)((char *)e + counts[i].off) = v;
			return r;
		}
	for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
		if (strcmp(key, pages[i].key) == 0)
			return carve_yaml_u32(y, vn, kpath, 4096, (uint32_t *)((char *)e + pages[i].off));
	return carve_yaml_unknown_key(y, kn, kpath);
}

static int gpu_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, const char *kpath)
{
	struct pctx *c = pctx_of(y);
	struct carve_profile_gpu *g = obj;
	int k = -1;
	for (int i = 0; i < CARVE_PGK__MAX; i++)
		if (strcmp(gpu_keys[i], key) == 0)
			k = i;
	if (k < 0)
		return carve_yaml_unknown_key(&c->y, kn, kpath);
	g->key_line[k] = carve_yaml_line(kn);
	const char *s = NULL;
	int r;
	bool b;
	uint32_t u;
	switch ((enum carve_profile_gpu_key)k) {
	case CARVE_PGK_BOARD:
		return carve_yaml_str(&c->y, vn, kpath, g->board, sizeof(g->board));
	case CARVE_PGK_PCI:
		if ((r = carve_yaml_scalar(&c->y, vn, kpath, &s)) < 0)
			return r;
		if (carve_pci_normalize(s, g->pci) < 0)
			return carve_yaml_err(&c->y, vn, kpath, "'%.64s' is not a PCI address (DDDD:BB:SS.F)", s);
		return 0;
	case CARVE_PGK_NUMA_NODE:
		return carve_yaml_i32(&c->y, vn, kpath, -1, 1023, &g->numa_node);
	case CARVE_PGK_IOMMU_GROUP:
		return carve_yaml_i32(&c->y, vn, kpath, 0, 65535, &g->iommu_group);
	case CARVE_PGK_TYPES:
		return parse_types(c, g, vn, kpath);
	case CARVE_PGK_MECHANISM:
		if ((r = carve_yaml_scalar(&c->y, vn, kpath, &s)) < 0)
			return r;
		if ((g->mechanism = carve_impl_from_name(s)) < 0)
			return carve_yaml_err(&c->y, vn, kpath,
				    "unknown mechanism '%.64s' (passthrough, nvidia-mdev, nvidia-sriov, amd-mxgpu, gvt-g)",
				    s);
		return 0;
	case CARVE_PGK_DRIVER:
		if ((r = carve_yaml_str(&c->y, vn, kpath, g->driver, sizeof(g->driver))) < 0)
			return r;
		if (!carve_ident_valid(g->driver))
			return carve_yaml_err(&c->y, vn, kpath, "'%s' is not a valid driver name", g->driver);
		return 0;
	case CARVE_PGK_VFS:
		return carve_yaml_u32(&c->y, vn, kpath, CARVE_PROFILE_MAX_VFS, &g->vfs);
	case CARVE_PGK_NUMVFS:
		return carve_yaml_u32(&c->y, vn, kpath, CARVE_PROFILE_MAX_VFS, &g->numvfs);
	case CARVE_PGK_MIXED_SIZE:
		if ((r = carve_yaml_bool(&c->y, vn, kpath, &b)) < 0)
			return r;
		g->mixed_size = b;
		return 0;
	case CARVE_PGK_SYSTEM_DISPLAY:
		return carve_yaml_bool(&c->y, vn, kpath, &g->system_display);
	case CARVE_PGK_SUBSYSTEM:
		return carve_yaml_hex16_pair(&c->y, vn, kpath, &g->subsys_vendor, &g->subsys_device);
	case CARVE_PGK_CLASS:
		if ((r = carve_yaml_scalar(&c->y, vn, kpath, &s)) < 0)
			return r;
		if (carve_parse_hex_u32(s, &u) < 0 || u > 0xffffff)
			return carve_yaml_err(&c->y, vn, kpath, "'%.64s' is not a PCI class (0xCCSSPP)", s);
		g->class_code = u;
		return 0;
	case CARVE_PGK_VGPUS:
		return parse_vgpus(c, g, vn, kpath);
	case CARVE_PGK_NVLINK:
		return carve_yaml_walk(&c->y, vn, kpath, g, nvlink_pair);
	case CARVE_PGK_ECC:
		return carve_yaml_walk(&c->y, vn, kpath, &g->ecc, ecc_pair);
	case CARVE_PGK__MAX:
		break;
	}
	return carve_yaml_unknown_key(&c->y, kn, kpath);
}

static int parse_gpus(struct pctx *c, struct carve_profile *p, yaml_node_t *seq, const char *path)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return carve_yaml_err(&c->y, seq, path, "expected a list");
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > CARVE_PROFILE_MAX_GPUS)
		return carve_error_set(c->y.err, -E2BIG, ID, "%s:%d: %s: more than %d GPU entries", c->y.origin,
				       carve_yaml_line(seq), path, CARVE_PROFILE_MAX_GPUS);
	p->gpus = calloc(n ? n : 1, sizeof(*p->gpus));
	if (!p->gpus)
		return carve_error_set(c->y.err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	for (size_t i = 0; i < n; i++) {
		char ipath[64];
		snprintf(ipath, sizeof(ipath), "gpus[%zu]", i);
		int r;
		yaml_node_t *item = carve_yaml_node(&c->y, seq->data.sequence.items.start[i], ipath, &r);
		if (!item)
			return r;
		struct carve_profile_gpu *g = &p->gpus[p->n_gpus++];
		g->line = carve_yaml_line(item);
		g->numa_node = 0;
		g->iommu_group = -1;
		g->mechanism = -1;
		g->mixed_size = -1;
		if ((r = carve_yaml_walk(&c->y, item, ipath, g, gpu_pair)) < 0)
			return r;
		if (!g->key_line[CARVE_PGK_BOARD])
			return carve_yaml_err(&c->y, item, ipath, "missing key 'board'");
		if (!g->key_line[CARVE_PGK_PCI])
			return carve_yaml_err(&c->y, item, ipath, "missing key 'pci'");
		if (g->key_line[CARVE_PGK_NUMVFS] && !g->key_line[CARVE_PGK_VFS])
			g->vfs = g->numvfs;
		if (g->key_line[CARVE_PGK_VFS] && !g->key_line[CARVE_PGK_NUMVFS])
			g->numvfs = g->vfs;
		if (g->numvfs > g->vfs)
			return carve_yaml_err(&c->y, item, ipath, "numvfs %u exceeds vfs %u", g->numvfs, g->vfs);
	}
	return 0;
}

static int top_pair(struct carve_yaml *y, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, const char *kpath)
{
	struct pctx *c = pctx_of(y);
	struct carve_profile *p = obj;
	int r;
	if (strcmp(key, "name") == 0) {
		if ((r = carve_yaml_str(&c->y, vn, kpath, p->name, sizeof(p->name))) < 0)
			return r;
		if (!carve_ident_valid(p->name))
			return carve_yaml_err(&c->y, vn, kpath, "'%s' is not a valid name ([A-Za-z0-9_.-])", p->name);
		return 0;
	}
	if (strcmp(key, "description") == 0)
		return carve_yaml_str(&c->y, vn, kpath, p->description, sizeof(p->description));
	if (strcmp(key, "driver_version") == 0) {
		if ((r = carve_yaml_str(&c->y, vn, kpath, p->driver_version, sizeof(p->driver_version))) < 0)
			return r;
		if (!p->driver_version[0] || strspn(p->driver_version, "0123456789.") != strlen(p->driver_version))
			return carve_yaml_err(&c->y, vn, kpath, "'%s' is not a driver version (like 440.33.01)",
					      p->driver_version);
		return 0;
	}
	if (strcmp(key, "fail_create_after") == 0) {
		p->has_fail_create_after = true;
		p->line_fail_create_after = carve_yaml_line(kn);
		return carve_yaml_u32(&c->y, vn, kpath, 1000000, &p->fail_create_after);
	}
	if (strcmp(key, "gpus") == 0)
		return parse_gpus(c, p, vn, kpath);
	return carve_yaml_unknown_key(&c->y, kn, kpath);
}

void carve_profile_free(struct carve_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_gpus; i++) {
		carve_strv_clear(&p->gpus[i].types);
		free(p->gpus[i].vgpus);
	}
	free(p->gpus);
	free(p->origin);
	free(p);
}
CARVE_DEFINE_CLEANUP(struct carve_profile, carve_profile_free)

int carve_profile_parse(const char *text, size_t len, const char *origin, struct carve_profile **out,
			struct carve_error *err)
{
	*out = NULL;
	if (!origin)
		origin = "<profile>";
	_cleanup_(carve_profile_freep) struct carve_profile *p = calloc(1, sizeof(*p));
	if (!p || !(p->origin = strdup(origin)))
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	struct pctx c = {0};
	int r = carve_yaml_open(&c.y, text, len, CARVE_PROFILE_MAX_BYTES, p->origin, ID, err);
	int root_line = carve_yaml_line(c.y.root);
	if (r >= 0)
		r = carve_yaml_walk(&c.y, c.y.root, "", p, top_pair);
	carve_yaml_close(&c.y);
	if (r < 0)
		return r;
	if (!p->name[0])
		return carve_error_set(err, -EINVAL, ID, "%s:%d: missing key 'name'", origin, root_line);
	if (p->n_gpus == 0 && !p->gpus)
		return carve_error_set(err, -EINVAL, ID, "%s:%d: missing key 'gpus'", origin, root_line);
	*out = TAKE_PTR(p);
	return 0;
}

/* ---- validation against the catalog ---- */

/* The mechanism a GPU entry ends up with: bound to vfio-pci means the vendor
 * driver is not there to split it. */
static int effective_mechanism(const struct carve_profile_gpu *g, const struct carve_board *b)
{
	if (strcmp(g->driver, "vfio-pci") == 0)
		return CARVE_IMPL_PASSTHROUGH;
	return g->mechanism >= 0 ? g->mechanism : (int)b->mechanism;
}

static bool mechanism_allowed(const struct carve_board *b, int mech)
{
	const struct carve_type_entry *const *tab;
	size_t n = carve_catalog_types(b->short_name, &tab);
	switch (mech) {
	case CARVE_IMPL_PASSTHROUGH:
		return true;
	case CARVE_IMPL_NVIDIA_MDEV:
		return b->vendor_id == 0x10de && n > 0;
	case CARVE_IMPL_NVIDIA_SRIOV:
		return b->vendor_id == 0x10de && n > 0 && b->sriov;
	case CARVE_IMPL_AMD_MXGPU:
	case CARVE_IMPL_GVT_G:
		return (int)b->mechanism == mech && n > 0;
	default:
		return false;
	}
}

int carve_profile_gpu_resolve(const struct carve_profile_gpu *g, struct carve_profile_resolved *out)
{
	memset(out, 0, sizeof(*out));
	out->board = carve_board_by_name(g->board);
	if (!out->board)
		return -ENOENT;
	const struct carve_board *b = out->board;
	out->mechanism = effective_mechanism(g, b);
	out->sriov = (out->mechanism == CARVE_IMPL_NVIDIA_MDEV && b->sriov) ||
		     out->mechanism == CARVE_IMPL_NVIDIA_SRIOV || out->mechanism == CARVE_IMPL_AMD_MXGPU;
	if (!out->sriov)
		return 0;
	if (g->key_line[CARVE_PGK_VFS] || g->key_line[CARVE_PGK_NUMVFS]) {
		out->totalvfs = g->vfs;
		out->numvfs = g->numvfs;
		return 0;
	}
	/* One vGPU per VF: enough VFs for the densest type. */
	const struct carve_type_entry *const *tab;
	size_t n = carve_catalog_types(b->short_name, &tab);
	for (size_t i = 0; i < n; i++)
		if (tab[i]->max_instance > out->totalvfs)
			out->totalvfs = tab[i]->max_instance;
	if (out->totalvfs > CARVE_PROFILE_MAX_VFS)
		out->totalvfs = CARVE_PROFILE_MAX_VFS;
	out->numvfs = out->totalvfs;
	return 0;
}

/* Is id a type this GPU entry publishes (under its mechanism's spelling)? */
static bool entry_has_type(const struct carve_profile_gpu *g, const struct carve_board *b, int mech, uint32_t numvfs,
			   const char *id)
{
	if (mech == CARVE_IMPL_PASSTHROUGH)
		return false;
	if (g->types.n > 0 && !carve_strv_contains(&g->types, id))
		return false;
	const struct carve_type_entry *const *tab;
	size_t n = carve_catalog_types(b->short_name, &tab);
	for (size_t i = 0; i < n; i++) {
		char tid[65];
		carve_hw_type_id_for((enum carve_impl)mech, tab[i]->type_id, tid);
		if (strcmp(tid, id) == 0)
			return mech != CARVE_IMPL_AMD_MXGPU || tab[i]->max_instance == numvfs;
	}
	return false;
}

static int validate_gpu(const struct carve_profile *p, size_t gi, struct carve_strv *uuids, struct carve_error *err)
{
	const struct carve_profile_gpu *g = &p->gpus[gi];
	const int *kl = g->key_line;
	char key[64];
	const struct carve_board *b = carve_board_by_name(g->board);
	snprintf(key, sizeof(key), "gpus[%zu].board", gi);
	if (!b)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_BOARD], key,
					   "unknown board '%s' (see data/gpu-boards.csv)", g->board);
	struct carve_pci_addr a;
	carve_pci_parse(g->pci, &a);
	snprintf(key, sizeof(key), "gpus[%zu].pci", gi);
	if ((unsigned)a.bus + b->gpus_per_board - 1 > 0xff)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_PCI], key,
					   "%s has %u GPUs on consecutive buses: bus %02x is too high", b->name,
					   b->gpus_per_board, a.bus);

	struct carve_profile_resolved res;
	carve_profile_gpu_resolve(g, &res);
	int mech = res.mechanism;
	snprintf(key, sizeof(key), "gpus[%zu].mechanism", gi);
	if (g->mechanism >= 0 && !mechanism_allowed(b, g->mechanism))
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_MECHANISM], key,
					   "%s does not support %s", b->name, carve_impl_name((enum carve_impl)g->mechanism));
	if (g->mechanism >= 0 && g->mechanism != CARVE_IMPL_PASSTHROUGH && strcmp(g->driver, "vfio-pci") == 0)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_MECHANISM], key,
					   "a GPU bound to vfio-pci can only be passed through");
	bool sriov = res.sriov;
	static const char *const vendor_driver[CARVE_IMPL__MAX] = {
		[CARVE_IMPL_NVIDIA_MDEV] = "nvidia", [CARVE_IMPL_NVIDIA_SRIOV] = "nvidia",
		[CARVE_IMPL_AMD_MXGPU] = "gim", [CARVE_IMPL_GVT_G] = "i915"};
	snprintf(key, sizeof(key), "gpus[%zu].driver", gi);
	if (g->driver[0] && mech != CARVE_IMPL_PASSTHROUGH && strcmp(g->driver, vendor_driver[mech]) != 0)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_DRIVER], key,
					   "%s is provided by %s, not %s (use driver: vfio-pci for passthrough)",
					   carve_impl_name((enum carve_impl)mech), vendor_driver[mech], g->driver);
	/* With no VF enabled the tree cannot show which SR-IOV flavour runs, and
	 * discovery falls back to the board's default: do not pretend otherwise. */
	snprintf(key, sizeof(key), "gpus[%zu].numvfs", gi);
	if (sriov && res.numvfs == 0 && mech != (int)b->mechanism)
		return carve_profile_error(p, err, -EINVAL,
					   kl[CARVE_PGK_NUMVFS] ? kl[CARVE_PGK_NUMVFS] : kl[CARVE_PGK_MECHANISM], key,
					   "%s without enabled VFs looks like %s (the board's default) to discovery",
					   carve_impl_name((enum carve_impl)mech), carve_impl_name(b->mechanism));

	snprintf(key, sizeof(key), "gpus[%zu].types", gi);
	if (g->types.n > 0) {
		if (mech != CARVE_IMPL_NVIDIA_MDEV && mech != CARVE_IMPL_GVT_G)
			return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_TYPES], key,
						   "a type subset applies to mdev types only; %s publishes the catalog's set",
						   carve_impl_name((enum carve_impl)mech));
		for (size_t i = 0; i < g->types.n; i++) {
			struct carve_profile_gpu all = *g;
			all.types.n = 0;
			if (!entry_has_type(&all, b, mech, 0, g->types.v[i]))
				return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_TYPES], key,
							   "%s has no %s type '%s'", b->name,
							   carve_impl_name((enum carve_impl)mech), g->types.v[i]);
		}
	}
	/* Nor a type subset: the VFs that would publish it do not exist yet. */
	if (g->types.n > 0 && sriov && res.numvfs == 0)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_TYPES], key,
					   "with no VF enabled (numvfs 0) discovery sees the catalog's types, not a subset");
	snprintf(key, sizeof(key), "gpus[%zu].vfs", gi);
	if ((kl[CARVE_PGK_VFS] || kl[CARVE_PGK_NUMVFS]) && !sriov)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_VFS] ? kl[CARVE_PGK_VFS] : kl[CARVE_PGK_NUMVFS],
					   key, "%s under %s has no SR-IOV virtual functions", b->name,
					   carve_impl_name((enum carve_impl)mech));
	if (mech == CARVE_IMPL_AMD_MXGPU && res.numvfs > 0) {
		const struct carve_type_entry *const *tab;
		size_t n = carve_catalog_types(b->short_name, &tab);
		bool ok = false;
		for (size_t i = 0; i < n; i++)
			ok = ok || tab[i]->max_instance == res.numvfs;
		if (!ok)
			return carve_profile_error(p, err, -EINVAL,
						   kl[CARVE_PGK_NUMVFS] ? kl[CARVE_PGK_NUMVFS] : kl[CARVE_PGK_VFS], key,
						   "gim has no %s configuration with %u VFs (vf_num)", b->name, res.numvfs);
	}
	snprintf(key, sizeof(key), "gpus[%zu].mixed_size", gi);
	if (g->mixed_size >= 0 && mech != CARVE_IMPL_NVIDIA_MDEV && mech != CARVE_IMPL_NVIDIA_SRIOV)
		return carve_profile_error(p, err, -EINVAL, kl[CARVE_PGK_MIXED_SIZE], key,
					   "mixed-size mode is an NVIDIA vGPU setting");

	for (size_t i = 0; i < g->n_vgpus; i++) {
		const struct carve_profile_vgpu *v = &g->vgpus[i];
		snprintf(key, sizeof(key), "gpus[%zu].vgpus[%zu]", gi, i);
		if (mech == CARVE_IMPL_PASSTHROUGH)
			return carve_profile_error(p, err, -EINVAL, v->line, key,
						   "%s cannot host vGPUs here (passthrough only)", b->name);
		if (sriov && res.numvfs == 0)
			return carve_profile_error(p, err, -EINVAL, v->line, key,
						   "a vGPU at boot needs enabled VFs (numvfs is 0)");
		if (v->gpu >= b->gpus_per_board)
			return carve_profile_error(p, err, -EINVAL, v->line, key, "gpu %u: %s has %u GPU(s)", v->gpu,
						   b->name, b->gpus_per_board);
		if (!entry_has_type(g, b, mech, res.numvfs, v->type_id))
			return carve_profile_error(p, err, -EINVAL, v->line_type, key,
						   "type '%s' is not published by this GPU", v->type_id);
		bool needs_uuid = mech == CARVE_IMPL_NVIDIA_MDEV || mech == CARVE_IMPL_GVT_G;
		if (needs_uuid && !v->uuid[0])
			return carve_profile_error(p, err, -EINVAL, v->line, key, "missing key 'uuid' (an mdev needs one)");
		if (v->params[0] && mech != CARVE_IMPL_NVIDIA_MDEV && mech != CARVE_IMPL_NVIDIA_SRIOV)
			return carve_profile_error(p, err, -EINVAL, v->line, key, "vgpu_params are an NVIDIA feature");
		if (v->uuid[0]) {
			if (carve_strv_contains(uuids, v->uuid))
				return carve_profile_error(p, err, -EINVAL, v->line_uuid, key, "UUID %s used twice",
							   v->uuid);
			if (carve_strv_push(uuids, v->uuid) < 0)
				return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
		}
	}
	return 0;
}

/* The entry of a single-GPU NVIDIA board at pci, or NULL. */
static const struct carve_profile_gpu *nvidia_gpu_at(const struct carve_profile *p, const char *pci)
{
	for (size_t i = 0; i < p->n_gpus; i++) {
		const struct carve_profile_gpu *g = &p->gpus[i];
		const struct carve_board *b = carve_board_by_name(g->board);
		if (strcmp(g->pci, pci) == 0 && b && b->vendor_id == 0x10de && b->gpus_per_board == 1)
			return g;
	}
	return NULL;
}

/* NVML's facts: NVIDIA GPUs only; NVLink both ways with the same count. */
static int validate_nvml_facts(const struct carve_profile *p, size_t gi, struct carve_error *err)
{
	const struct carve_profile_gpu *g = &p->gpus[gi];
	char key[64];
	bool nvidia = nvidia_gpu_at(p, g->pci) == g;
	snprintf(key, sizeof(key), "gpus[%zu].ecc", gi);
	if (g->key_line[CARVE_PGK_ECC] && !nvidia)
		return carve_profile_error(p, err, -EINVAL, g->key_line[CARVE_PGK_ECC], key,
					   "ECC facts are NVML's: single-GPU NVIDIA boards only");
	snprintf(key, sizeof(key), "gpus[%zu].nvlink", gi);
	for (size_t k = 0; k < g->n_nvlink; k++) {
		const struct carve_profile_nvlink *l = &g->nvlink[k];
		const struct carve_profile_gpu *peer = nvidia_gpu_at(p, l->peer);
		if (!nvidia || !peer || peer == g)
			return carve_profile_error(p, err, -EINVAL, l->line, key,
						   "%s: NVLink joins two different single-GPU NVIDIA boards of the profile",
						   l->peer);
		size_t j = 0;
		while (j < peer->n_nvlink && strcmp(peer->nvlink[j].peer, g->pci) != 0)
			j++;
		if (j == peer->n_nvlink || peer->nvlink[j].links != l->links)
			return carve_profile_error(p, err, -EINVAL, l->line, key,
						   "%s lists %u link(s) to %s, but %s lists %s", g->pci, l->links, l->peer,
						   l->peer, j == peer->n_nvlink ? "none back" : "another count back");
		for (size_t m = 0; m < k; m++)
			if (strcmp(g->nvlink[m].peer, l->peer) == 0)
				return carve_profile_error(p, err, -EINVAL, l->line, key, "%s listed twice", l->peer);
	}
	return 0;
}

int carve_profile_validate(const struct carve_profile *p, struct carve_error *err)
{
	struct carve_strv uuids = {0};
	int r = 0;
	for (size_t i = 0; i < p->n_gpus && r == 0; i++)
		r = validate_gpu(p, i, &uuids, err);
	for (size_t i = 0; i < p->n_gpus && r == 0; i++)
		r = validate_nvml_facts(p, i, err);
	carve_strv_clear(&uuids);
	if (r == 0 && p->n_gpus == 0)
		r = carve_error_set(err, -EINVAL, ID, "%s: no GPUs", p->origin);
	return r;
}

int carve_profile_load(const char *path, struct carve_profile **out, struct carve_error *err)
{
	*out = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = carve_file_read(path, CARVE_PROFILE_MAX_BYTES, false, "PROFILE_UNREADABLE", &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_(carve_profile_freep) struct carve_profile *p = NULL;
	r = carve_profile_parse(buf, len, path, &p, err);
	if (r < 0)
		return r;
	if ((r = carve_profile_validate(p, err)) < 0)
		return r;
	*out = TAKE_PTR(p);
	return 0;
}

void carve_hw_gpu_profile_facts(struct carve_hw_gpu *g, const struct carve_profile_gpu *e)
{
	g->nvlink_known = e->n_nvlink > 0;
	g->n_nvlinks = 0;
	for (size_t i = 0; i < e->n_nvlink && i < CARVE_HW_MAX_NVLINK; i++, g->n_nvlinks++) {
		snprintf(g->nvlinks[i].peer, sizeof(g->nvlinks[i].peer), "%s", e->nvlink[i].peer);
		g->nvlinks[i].links = (uint8_t)e->nvlink[i].links;
	}
	const struct carve_profile_ecc *x = &e->ecc;
	g->ecc = (struct carve_hw_ecc){0};
	if (!e->key_line[CARVE_PGK_ECC])
		return;
	g->ecc = (struct carve_hw_ecc){
		.known = true, .enabled = x->mode, .pending = x->pending_given ? x->pending : x->mode,
		.volatile_corrected = x->volatile_corrected, .volatile_uncorrected = x->volatile_uncorrected,
		.aggregate_corrected = x->aggregate_corrected, .aggregate_uncorrected = x->aggregate_uncorrected,
		.retired_sbe = x->retired_sbe, .retired_dbe = x->retired_dbe, .retired_pending = x->retired_pending,
		.remap_pending = x->remap_pending, .remap_failure = x->remap_failure};
}
