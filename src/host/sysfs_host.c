/* sysfs_host.c - the sysfs backend: open a root, enumerate display-class PCI
 * devices (and mdev parents that are not PCI devices), dispatch to the
 * per-mechanism files, and realize passthrough.
 *
 * Which mechanism a GPU uses is read from the shape of the tree, not from
 * the catalog, because the same board runs differently on different hosts:
 *   bound to vfio-pci                      -> passthrough
 *   driver gim                             -> AMD MxGPU
 *   mdev_supported_types on the PF         -> GVT-g (Intel) or NVIDIA mdev
 *   VFs with mdev_supported_types          -> NVIDIA mdev on VFs (Ampere)
 *   VFs with nvidia/current_vgpu_type      -> NVIDIA vendor-specific VFIO
 *   none of these                          -> the catalog board's mechanism
 *                                             when it needs VFs that are not
 *                                             enabled yet, else passthrough
 *
 * An operator may declare NVIDIA vendor-VFIO PFs ("PCI[=BOARD][,...]",
 * given to carve_host_open_sysfs): those are PGPUs whatever their class,
 * with the declared board, and their VFs are read as above.
 *
 * VFs do not survive a reboot (sriov_numvfs starts at 0), so a PF without
 * VFs still reports its catalog types (available 0), and creating a
 * VF-backed vGPU there first writes sriov_numvfs and rediscovers the PF.
 */
#include "sysfs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "nvml.h"
#include "util/cleanup.h"
#include "util/pci.h"
#include "util/uuid.h"

static struct sysfs_host *to_sh(struct carve_host *h)
{
	return (struct sysfs_host *)h;
}

static int malformed(struct carve_sysfs *fs, const char *path, const char *text, const char *expect,
		     struct carve_error *err)
{
	return carve_error_set(err, -EBADMSG, "SYSFS_MALFORMED", "%s/%s: expected %s, found '%.40s'",
			       carve_sysfs_root(fs), path, expect, text);
}

int carve_sysfs_read_u32(struct carve_sysfs *fs, const char *path, bool optional, uint32_t def, uint32_t *out,
			 struct carve_error *err)
{
	_cleanup_free_ char *s = NULL;
	int r = optional ? carve_sysfs_read_opt(fs, path, &s, err) : carve_sysfs_read(fs, path, &s, err);
	if (r < 0)
		return r;
	if (!s) {
		*out = def;
		return 0;
	}
	if (carve_parse_u32(carve_strstrip(s), out) < 0)
		return malformed(fs, path, s, "a decimal number", err);
	return 0;
}

int carve_sysfs_read_hex(struct carve_sysfs *fs, const char *path, bool optional, uint32_t *out,
			 struct carve_error *err)
{
	_cleanup_free_ char *s = NULL;
	int r = optional ? carve_sysfs_read_opt(fs, path, &s, err) : carve_sysfs_read(fs, path, &s, err);
	if (r < 0)
		return r;
	*out = 0;
	if (!s)
		return 0;
	if (carve_parse_hex_u32(carve_strstrip(s), out) < 0)
		return malformed(fs, path, s, "a hexadecimal number", err);
	return 0;
}

static int read_i32_opt(struct carve_sysfs *fs, const char *path, int32_t def, int32_t *out, struct carve_error *err)
{
	_cleanup_free_ char *s = NULL;
	int r = carve_sysfs_read_opt(fs, path, &s, err);
	if (r < 0)
		return r;
	*out = def;
	if (s && carve_parse_i32(carve_strstrip(s), out) < 0)
		return malformed(fs, path, s, "a number", err);
	return 0;
}

/* Last component of an optional symlink ("" when absent). */
static int link_opt(struct carve_sysfs *fs, const char *path, char *out, size_t size, struct carve_error *err)
{
	out[0] = '\0';
	if (!carve_sysfs_exists(fs, path))
		return 0;
	_cleanup_free_ char *name = NULL;
	int r = carve_sysfs_link_name(fs, path, &name, err);
	if (r < 0)
		return r;
	snprintf(out, size, "%s", name);
	return 0;
}

static int read_group(struct carve_sysfs *fs, const char *dir, int32_t *out, struct carve_error *err)
{
	char path[256], name[32];
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	int r = link_opt(fs, path, name, sizeof(name), err);
	if (r < 0)
		return r;
	*out = -1;
	if (name[0] && (carve_parse_i32(name, out) < 0 || *out < 0))
		return malformed(fs, path, name, "a link to an IOMMU group number", err);
	return 0;
}

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

struct vfn {
	unsigned n;
	char pci[13];
};

static int cmp_vfn(const void *a, const void *b)
{
	const struct vfn *x = a, *y = b;
	return (x->n > y->n) - (x->n < y->n);
}

/* The PF's virtfnN links, in N order, with each VF's driver and group. */
static int read_vfs(struct carve_sysfs *fs, const char *dir, struct carve_hw_gpu *g, struct carve_error *err)
{
	struct carve_strv names = {0};
	int r = carve_sysfs_list(fs, dir, &names, err);
	if (r < 0)
		return r;
	struct vfn *v = calloc(names.n ? names.n : 1, sizeof(*v));
	size_t n = 0;
	if (!v) {
		carve_strv_clear(&names);
		return oom(err);
	}
	for (size_t i = 0; i < names.n && r == 0; i++) {
		uint32_t idx;
		if (!carve_startswith(names.v[i], "virtfn") || carve_parse_u32(names.v[i] + 6, &idx) < 0)
			continue;
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]);
		_cleanup_free_ char *target = NULL;
		if ((r = carve_sysfs_link_name(fs, path, &target, err)) < 0)
			break;
		if (carve_pci_normalize(target, v[n].pci) < 0) {
			r = malformed(fs, path, target, "a link to a PCI device", err);
			break;
		}
		v[n++].n = idx;
	}
	carve_strv_clear(&names);
	if (r == 0 && n > 1)
		qsort(v, n, sizeof(*v), cmp_vfn);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct carve_hw_vf *vf = carve_hw_gpu_add_vf(g);
		if (!vf) {
			r = oom(err);
			break;
		}
		snprintf(vf->pci, sizeof(vf->pci), "%s", v[i].pci);
		char vdir[64], path[128];
		snprintf(vdir, sizeof(vdir), "bus/pci/devices/%s", vf->pci);
		snprintf(path, sizeof(path), "%s/driver", vdir);
		if ((r = link_opt(fs, path, vf->driver, sizeof(vf->driver), err)) < 0)
			break;
		r = read_group(fs, vdir, &vf->iommu_group, err);
	}
	free(v);
	return r;
}

static void add_passthrough(struct carve_hw_gpu *g, const struct carve_board *b, struct carve_error *err, int *r)
{
	if (g->is_system_display)
		return;
	struct carve_hw_type *t = carve_hw_gpu_add_type(g);
	if (!t) {
		*r = oom(err);
		return;
	}
	carve_hw_type_passthrough(t, b);
	bool vf_busy = false;
	for (size_t i = 0; i < g->n_vfs; i++)
		vf_busy = vf_busy || g->vfs[i].in_use;
	t->available = g->n_devs == 0 && !vf_busy ? 1 : 0;
}

/* Is pci an operator-declared PF?  *board: the declared board (NULL when
 * none or unknown). */
static bool declared_pf(const struct sysfs_host *h, const char *pci, const struct carve_board **board)
{
	*board = NULL;
	if (!h->declared_pfs)
		return false;
	for (const char *s = h->declared_pfs; *s;) {
		size_t len = strcspn(s, ", \t\n");
		char item[64], norm[13];
		if (len > 0 && len < sizeof(item)) {
			memcpy(item, s, len);
			item[len] = '\0';
			char *eq = strchr(item, '=');
			if (eq)
				*eq++ = '\0';
			if (carve_pci_normalize(item, norm) == 0 && strcmp(norm, pci) == 0) {
				*board = eq && *eq ? carve_board_by_name(eq) : NULL;
				return true;
			}
		}
		s += len;
		s += strspn(s, ", \t\n");
	}
	return false;
}

static enum carve_impl detect(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g)
{
	char path[256];
	if (strcmp(g->driver, "vfio-pci") == 0)
		return CARVE_IMPL_PASSTHROUGH;
	if (strcmp(g->driver, "gim") == 0)
		return CARVE_IMPL_AMD_MXGPU;
	snprintf(path, sizeof(path), "%s/mdev_supported_types", ctx->dir);
	if (carve_sysfs_is_dir(fs, path))
		return g->vendor_id == 0x8086 ? CARVE_IMPL_GVT_G : CARVE_IMPL_NVIDIA_MDEV;
	if (g->n_vfs > 0) {
		snprintf(path, sizeof(path), "bus/pci/devices/%s/mdev_supported_types", g->vfs[0].pci);
		if (carve_sysfs_is_dir(fs, path))
			return CARVE_IMPL_NVIDIA_MDEV;
		snprintf(path, sizeof(path), "bus/pci/devices/%s/nvidia/current_vgpu_type", g->vfs[0].pci);
		if (carve_sysfs_exists(fs, path))
			return CARVE_IMPL_NVIDIA_SRIOV;
	}
	/* VFs not enabled (yet): an SR-IOV board keeps its mechanism, so that
	 * reconcile can enable them; anything else has nothing to split. */
	if (ctx->board && ctx->board->sriov && g->sriov_totalvfs > 0 && g->n_vfs == 0 &&
	    ctx->board->mechanism != CARVE_IMPL_PASSTHROUGH)
		return ctx->board->mechanism;
	return CARVE_IMPL_PASSTHROUGH;
}

/* Does what the driver lists agree with the board the PCI ids suggest?
 * Ids are not unique (the A2 and the A16 are both 10de:25b6, told apart by
 * subsystem ids that VFs do not carry): when the driver names its types and
 * not one of those names is the board's, the guess was wrong.  Without
 * names (GVT-g before 6.1, catalog-only types) there is nothing to check. */
static bool board_confirmed(const struct carve_hw_gpu *g, const struct carve_board *b)
{
	bool named = false;
	for (size_t i = 0; i < g->n_types; i++) {
		const struct carve_hw_type *t = &g->types[i];
		if (t->impl == CARVE_IMPL_PASSTHROUGH || t->broken || strcmp(t->name, t->id) == 0)
			continue;
		named = true;
		const struct carve_type_entry *e = carve_catalog_type_by_name(t->name);
		if (e && strcmp(e->board, b->short_name) == 0)
			return true;
	}
	return !named;
}

/* Fill a GPU from its directory: identity first, then the mechanism's view. */
/* The testbed's emulated SR-IOV driver takes NVML's part through its
 * driver's attributes (kmod/carve_vgpu_emu.c): "<PF> <value>" lines. */
#define EMU_DRV "bus/pci/drivers/carve_vf_emu"

/* pci's value in EMU_DRV/attr into out: 1 when listed, 0 when not (or no
 * emulator), negative errno on a read error. */
static int emu_drv_value(struct carve_sysfs *fs, const char *attr, const char *pci, char *out, size_t size,
			 struct carve_error *err)
{
	char path[96];
	snprintf(path, sizeof(path), EMU_DRV "/%s", attr);
	_cleanup_free_ char *text = NULL;
	int r = carve_sysfs_read_opt(fs, path, &text, err);
	if (r < 0 || !text)
		return r;
	size_t len = strlen(pci);
	for (char *line = text; *line;) {
		size_t n = strcspn(line, "\n");
		if (n > len && strncmp(line, pci, len) == 0 && line[len] == ' ') {
			snprintf(out, size, "%.*s", (int)(n - len - 1), line + len + 1);
			return 1;
		}
		line += n + (line[n] == '\n');
	}
	return 0;
}

/* What NVML (or the testbed's emulator) says of a PCI NVIDIA GPU that no
 * file said: its mixed-size mode and MIG.  Unknown stays unknown. */
static void discover_nvml_facts(struct sysfs_host *h, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g)
{
	struct carve_error ignore = {0};
	char v[256];
	if (g->mixed_size_source == CARVE_HW_SOURCE_DEFAULT &&
	    emu_drv_value(h->fs, "mixed", g->pci, v, sizeof(v), &ignore) == 1) {
		g->mixed_size = strcmp(v, "1") == 0;
		g->mixed_size_source = CARVE_HW_SOURCE_DRIVER;
	}
	if (!carve_board_has_mig(ctx->board))
		return;
	if (emu_drv_value(h->fs, "mig_mode", g->pci, v, sizeof(v), &ignore) == 1) {
		g->mig_mode = strcmp(v, "1") == 0 ? 1 : 0;
		_cleanup_(carve_strv_clear) struct carve_strv profiles = {0};
		if (g->mig_mode == 1 && emu_drv_value(h->fs, "mig_instances", g->pci, v, sizeof(v), &ignore) == 1)
			for (char *save = NULL, *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (carve_strv_push(&profiles, t) < 0)
					break;
		if (carve_mig_layout(ctx->board, g->pci, &profiles, g->gis, &g->n_gis, &ignore) < 0)
			g->n_gis = 0;
		return;
	}
	bool on;
	if (carve_nvml_available() && carve_nvml_get_mig(g->pci, &on, g->gis, &g->n_gis, &ignore) == 0)
		g->mig_mode = on ? 1 : 0;
}

/* NVLink and ECC (NVML only): unknown without it, never an error. */
static void discover_nvml_health(struct carve_hw_gpu *g)
{
	struct carve_error ignore = {0};
	if (g->vendor_id == 0x10de && carve_nvml_available())
		(void)carve_nvml_get_facts(g->pci, g, &ignore);
}

static int discover_gpu_files(struct sysfs_host *h, struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g, bool pci_dev,
			struct carve_error *err)
{
	struct carve_sysfs *fs = h->fs;
	char path[256];
	int r;
#define P(name) (snprintf(path, sizeof(path), "%s/%s", ctx->dir, name), path)
	uint32_t v;
	if ((r = carve_sysfs_read_hex(fs, P("vendor"), !pci_dev, &v, err)) < 0)
		return r;
	g->vendor_id = v;
	if ((r = carve_sysfs_read_hex(fs, P("device"), !pci_dev, &v, err)) < 0)
		return r;
	g->device_id = v;
	if ((r = carve_sysfs_read_hex(fs, P("subsystem_vendor"), true, &g->subsys_vendor_id, err)) < 0 ||
	    (r = carve_sysfs_read_hex(fs, P("subsystem_device"), true, &g->subsys_device_id, err)) < 0 ||
	    (r = carve_sysfs_read_hex(fs, P("class"), true, &g->class_code, err)) < 0 ||
	    (r = read_i32_opt(fs, P("numa_node"), -1, &g->numa_node, err)) < 0 ||
	    (r = link_opt(fs, P("driver"), g->driver, sizeof(g->driver), err)) < 0 ||
	    (r = read_group(fs, ctx->dir, &g->iommu_group, err)) < 0)
		return r;
	uint32_t boot_vga, mixed;
	if ((r = carve_sysfs_read_u32(fs, P("boot_vga"), true, 0, &boot_vga, err)) < 0 ||
	    (r = carve_sysfs_read_u32(fs, P("sriov_totalvfs"), true, 0, &g->sriov_totalvfs, err)) < 0 ||
	    (r = carve_sysfs_read_u32(fs, P("sriov_numvfs"), true, 0, &g->sriov_numvfs, err)) < 0 ||
	    (r = carve_sysfs_read_u32(fs, P("nvidia/vgpu_heterogeneous_mode"), true, 2, &mixed, err)) < 0)
		return r;
	/* The testbed's emulated driver has the same switch under carve_emu/. */
	if (mixed == 2 && !pci_dev && (r = carve_sysfs_read_u32(fs, P("carve_emu/mixed"), true, 2, &mixed, err)) < 0)
		return r;
	if (mixed > 2)
		return malformed(fs, path, "", "0 or 1", err);
	if (g->sriov_numvfs > g->sriov_totalvfs || g->sriov_totalvfs > 256)
		return carve_error_set(err, -ERANGE, "SYSFS_MALFORMED",
				       "%s/%s: sriov_numvfs %u, sriov_totalvfs %u: out of range", carve_sysfs_root(fs),
				       ctx->dir, g->sriov_numvfs, g->sriov_totalvfs);
	g->is_system_display = boot_vga == 1;
	const struct carve_board *declared = NULL;
	if (pci_dev && declared_pf(h, g->pci, &declared) && declared)
		ctx->board = declared;
	else
		ctx->board = carve_board_by_ids((uint16_t)g->vendor_id, (uint16_t)g->device_id);
	if (ctx->board)
		snprintf(g->board, sizeof(g->board), "%s", ctx->board->name);
	if (g->sriov_totalvfs > 0 && (r = read_vfs(fs, ctx->dir, g, err)) < 0)
		return r;
#undef P
	g->mechanism = detect(fs, ctx, g);
	switch (g->mechanism) {
	case CARVE_IMPL_NVIDIA_MDEV:
	case CARVE_IMPL_NVIDIA_SRIOV:
		/* The mode is set through NVML (nvidia-smi vgpu -shm), not sysfs:
		 * fixtures carry nvidia/vgpu_heterogeneous_mode, the testbed
		 * carve_emu/mixed.  Without either, the mechanism's discovery
		 * infers it from the driver's listings (carve_hw_gpu_infer_mixed_size);
		 * the catalog only says whether the board supports it. */
		g->mixed_size = mixed == 1;
		g->mixed_size_source = mixed == 2 ? CARVE_HW_SOURCE_DEFAULT : CARVE_HW_SOURCE_DRIVER;
		if (mixed == 2 && pci_dev) {
			bool on;
			struct carve_error ignore = {0};
			if (carve_nvml_get_mixed_size(g->pci, &on, &ignore) == 0) {
				g->mixed_size = on;
				g->mixed_size_source = CARVE_HW_SOURCE_NVML;
			}
		}
		g->mixed_size_supported = ctx->board && ctx->board->mixed_size;
		if (pci_dev) {
			discover_nvml_facts(h, ctx, g);
			discover_nvml_health(g);
		}
		r = g->mechanism == CARVE_IMPL_NVIDIA_MDEV ? carve_sysfs_mdev_discover(fs, ctx, g, err)
							   : carve_sysfs_nvsriov_discover(fs, ctx, g, err);
		if (r == 0 && g->mechanism == CARVE_IMPL_NVIDIA_MDEV && ctx->board && !declared &&
		    !board_confirmed(g, ctx->board)) {
			/* Read again as a board the catalog does not know. */
			free(g->types);
			free(g->devs);
			free(g->problems);
			g->types = NULL;
			g->devs = NULL;
			g->problems = NULL;
			g->n_types = g->n_devs = g->n_problems = 0;
			g->board[0] = '\0';
			ctx->board = NULL;
			g->mixed_size = false;
			g->mixed_size_source = mixed == 2 ? CARVE_HW_SOURCE_DEFAULT : CARVE_HW_SOURCE_DRIVER;
			g->mixed_size_supported = false;
			r = carve_sysfs_mdev_discover(fs, ctx, g, err);
		}
		break;
	case CARVE_IMPL_GVT_G:
		/* i915 always mixes types within the GPU's budgets. */
		g->mixed_size = g->mixed_size_supported = true;
		g->mixed_size_source = CARVE_HW_SOURCE_DRIVER;
		r = carve_sysfs_mdev_discover(fs, ctx, g, err);
		break;
	case CARVE_IMPL_AMD_MXGPU:
		r = carve_sysfs_amd_discover(fs, ctx, g, err);
		break;
	default:
		r = 0;
		break;
	}
	if (r == 0)
		add_passthrough(g, ctx->board, err, &r);
	return r;
}

/* A GPU whose files cannot be read or parsed is reported, not fatal: it
 * becomes broken (identity kept, nothing offered) with the problem named,
 * and discovery goes on with the rest of the host.  Only -ENOMEM fails. */
static int discover_gpu(struct sysfs_host *h, struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g, bool pci_dev,
			struct carve_error *err)
{
	struct carve_error e = {0};
	int r = discover_gpu_files(h, ctx, g, pci_dev, &e);
	if (r == -ENOMEM)
		return oom(err);
	if (r < 0 && carve_hw_gpu_set_broken(g, &e) < 0)
		return oom(err);
	return 0;
}

/* A PCI display controller that is not a VF: a PGPU. */
static int consider_pci(struct sysfs_host *h, const char *name, struct carve_hw_inventory *inv,
			struct sysfs_gpu_ctx *ctx_out, bool must, struct carve_error *err)
{
	struct sysfs_gpu_ctx ctx = {0};
	char path[256];
	snprintf(ctx.dir, sizeof(ctx.dir), "bus/pci/devices/%s", name);
	/* A VF is never a PGPU (its PF is): not even its class is read. */
	snprintf(path, sizeof(path), "%s/physfn", ctx.dir);
	if (carve_sysfs_exists(h->fs, path)) {
		if (must)
			return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "%s is not a GPU (a virtual function)",
					       name);
		return 0;
	}
	uint32_t cls;
	snprintf(path, sizeof(path), "%s/class", ctx.dir);
	struct carve_error ce = {0};
	int r = carve_sysfs_read_hex(h->fs, path, false, &cls, &ce);
	if (r == -ENOMEM || (r < 0 && must))
		return carve_error_set(err, r, ce.id, "%s", ce.message);
	if (r < 0) /* cannot tell whether it is a GPU: say so, and go on */
		return carve_hw_inventory_add_problem(inv, name, &ce) < 0 ? oom(err) : 0;
	const struct carve_board *declared;
	if ((cls >> 16) != 0x03 && !declared_pf(h, name, &declared)) {
		if (must)
			return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "%s is not a GPU (class 0x%06x)", name,
					       cls);
		return 0;
	}
	struct carve_hw_gpu *g = carve_hw_inventory_add_gpu(inv);
	if (!g)
		return oom(err);
	snprintf(g->pci, sizeof(g->pci), "%s", name);
	r = discover_gpu(h, &ctx, g, true, err);
	if (r == 0 && ctx_out)
		*ctx_out = ctx;
	return r;
}

int carve_sysfs_discover_one(struct sysfs_host *h, const char *pci, struct carve_hw_inventory *inv,
			     struct sysfs_gpu_ctx *ctx, struct carve_error *err)
{
	char norm[13], path[64];
	if (carve_pci_normalize(pci, norm) < 0)
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", pci);
	snprintf(path, sizeof(path), "bus/pci/devices/%s", norm);
	if (carve_sysfs_exists(h->fs, path))
		return consider_pci(h, norm, inv, ctx, true, err);
	snprintf(path, sizeof(path), "class/mdev_bus/%s", norm);
	if (!carve_sysfs_exists(h->fs, path))
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "no device %s under %s", norm,
				       carve_sysfs_root(h->fs));
	struct carve_hw_gpu *g = carve_hw_inventory_add_gpu(inv);
	if (!g)
		return oom(err);
	snprintf(g->pci, sizeof(g->pci), "%s", norm);
	snprintf(ctx->dir, sizeof(ctx->dir), "%s", path);
	return discover_gpu(h, ctx, g, false, err);
}

static int sysfs_discover(struct carve_host *hh, struct carve_hw_inventory *out, struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	memset(out, 0, sizeof(*out));
	struct carve_strv names = {0};
	int r = carve_sysfs_list(h->fs, "bus/pci/devices", &names, err);
	for (size_t i = 0; i < names.n && r == 0; i++)
		if (carve_pci_valid(names.v[i])) { /* anything else is not a PCI device name */
			char path[64];
			snprintf(path, sizeof(path), "bus/pci/devices/%s", names.v[i]);
			/* a dangling link: the device was unplugged under us */
			if (carve_sysfs_exists(h->fs, path))
				r = consider_pci(h, names.v[i], out, NULL, false, err);
		}
	carve_strv_clear(&names);

	struct carve_error ignore = {0};
	for (size_t i = 0; r == 0 && i < out->n_gpus && !out->driver_version[0]; i++)
		if (out->gpus[i].vendor_id == 0x10de && carve_nvml_available())
			(void)carve_nvml_driver_version(out->driver_version, sizeof(out->driver_version), &ignore);

	/* mdev parents that are not PCI devices (the testbed's emulated GPUs
	 * are plain devices named like PCI addresses). */
	if (r == 0 && carve_sysfs_is_dir(h->fs, "class/mdev_bus")) {
		r = carve_sysfs_list(h->fs, "class/mdev_bus", &names, err);
		for (size_t i = 0; i < names.n && r == 0; i++) {
			char norm[13], path[64];
			if (carve_pci_normalize(names.v[i], norm) < 0 || strcmp(norm, names.v[i]) != 0)
				continue;
			snprintf(path, sizeof(path), "bus/pci/devices/%s", norm);
			if (carve_sysfs_exists(h->fs, path) || carve_hw_inventory_find(out, norm))
				continue;
			snprintf(path, sizeof(path), "class/mdev_bus/%s", norm);
			if (!carve_sysfs_exists(h->fs, path))
				continue; /* unplugged */
			/* An SR-IOV VF parent belongs to its PF, found above. */
			snprintf(path, sizeof(path), "class/mdev_bus/%s/physfn", norm);
			if (carve_sysfs_exists(h->fs, path))
				continue;
			struct sysfs_gpu_ctx ctx = {0};
			snprintf(ctx.dir, sizeof(ctx.dir), "class/mdev_bus/%s", norm);
			struct carve_hw_gpu *g = carve_hw_inventory_add_gpu(out);
			if (!g) {
				r = oom(err);
				break;
			}
			snprintf(g->pci, sizeof(g->pci), "%s", norm);
			r = discover_gpu(h, &ctx, g, false, err);
		}
		carve_strv_clear(&names);
	}
	if (r < 0) {
		carve_hw_inventory_clear(out);
		return r;
	}
	carve_hw_inventory_sort(out);
	return 0;
}

int carve_sysfs_add_catalog_types(const struct carve_board *b, enum carve_impl impl, uint32_t vf_count,
				  struct carve_hw_gpu *g, struct carve_error *err)
{
	const struct carve_type_entry *const *tab = NULL;
	size_t n = b ? carve_catalog_types(b->short_name, &tab) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct carve_type_entry *e = tab[i];
		if (impl == CARVE_IMPL_AMD_MXGPU &&
		    (vf_count ? e->max_instance != vf_count : e->max_instance > g->sriov_totalvfs))
			continue;
		struct carve_hw_type *t = carve_hw_gpu_add_type(g);
		if (!t)
			return oom(err);
		carve_hw_type_from_catalog(t, e, impl);
	}
	return 0;
}

bool carve_sysfs_vf_backed(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g)
{
	if (g->sriov_totalvfs == 0)
		return false;
	switch (g->mechanism) {
	case CARVE_IMPL_NVIDIA_SRIOV:
	case CARVE_IMPL_AMD_MXGPU:
		return true;
	case CARVE_IMPL_NVIDIA_MDEV: {
		char path[160];
		snprintf(path, sizeof(path), "%s/mdev_supported_types", ctx->dir);
		return !carve_sysfs_is_dir(fs, path);
	}
	default:
		return false;
	}
}

/* ---- realization ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int carve_sysfs_write_retry(struct carve_sysfs *fs, const char *devdir, const char *attr, const char *value,
			    struct carve_error *err)
{
	int r = 0;
	for (int attempt = 1; attempt <= CARVE_SYSFS_RELEASE_TRIES; attempt++) {
		struct carve_error inner = {0};
		r = carve_sysfs_write(fs, devdir, attr, value, &inner);
		if (r == 0)
			return 0;
		if ((r != -EBUSY && r != -EAGAIN) || attempt == CARVE_SYSFS_RELEASE_TRIES)
			return carve_error_set(err, r, inner.id, "%s (after %d attempt%s, %d ms apart)", inner.message,
					       attempt, attempt == 1 ? "" : "s", CARVE_SYSFS_RELEASE_DELAY_MS);
		sleep_ms(CARVE_SYSFS_RELEASE_DELAY_MS);
	}
	return r;
}

int carve_sysfs_sriov_set_numvfs(struct sysfs_host *h, const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g,
				 uint32_t want, struct carve_error *err)
{
	if (want == g->sriov_numvfs)
		return 0;
	if (want > g->sriov_totalvfs)
		return carve_error_set(err, -ERANGE, "SRIOV_NUMVFS_INVALID", "%s: %u VFs asked for, sriov_totalvfs is %u",
				       g->pci, want, g->sriov_totalvfs);
	if (g->sriov_numvfs != 0) {
		/* Disabling VFs hot-unplugs them: never under a VM. */
		for (size_t i = 0; i < g->n_vfs; i++)
			if (g->vfs[i].in_use || strcmp(g->vfs[i].driver, "vfio-pci") == 0)
				return carve_error_set(err, -EBUSY, "SRIOV_VF_IN_USE",
						       "%s: cannot change sriov_numvfs from %u to %u: VF %s is in use",
						       g->pci, g->sriov_numvfs, want, g->vfs[i].pci);
		/* The kernel refuses (EBUSY) to turn one non-zero count into another. */
		int r = carve_sysfs_write(h->fs, ctx->dir, "sriov_numvfs", "0", err);
		if (r < 0 || want == 0)
			return r;
	}
	char value[16];
	snprintf(value, sizeof(value), "%u", want);
	return carve_sysfs_write(h->fs, ctx->dir, "sriov_numvfs", value, err);
}

/* An AMD MxGPU type of g's board that some VF count within sriov_totalvfs
 * gives (gim publishes only the one of the current count). */
static bool amd_type_possible(const struct sysfs_gpu_ctx *ctx, const struct carve_hw_gpu *g, const char *type_id)
{
	const struct carve_type_entry *e = ctx->board ? carve_catalog_type(ctx->board->short_name, type_id) : NULL;
	return g->mechanism == CARVE_IMPL_AMD_MXGPU && e && e->max_instance > 0 && e->max_instance <= g->sriov_totalvfs;
}

/* VF-backed vGPUs need enabled VFs: after a reboot sriov_numvfs is 0 (the
 * kernel does not keep it), and each AMD MxGPU type needs its own VF count.
 * Set the count the type needs (NVIDIA: every VF, sriov_totalvfs) and
 * rediscover the PF into inv/ctx.  The PF's driver creates the VFs' vendor
 * files as it probes them, so look a bounded while for all of them. */
static int set_numvfs_wait(struct sysfs_host *h, uint32_t want, int tries, struct carve_hw_inventory *inv,
			   struct sysfs_gpu_ctx *ctx, unsigned *waited_ms, struct carve_error *err);

static int ensure_vfs(struct sysfs_host *h, const struct carve_vgpu_spec *spec, struct carve_hw_inventory *inv,
		      struct sysfs_gpu_ctx *ctx, struct carve_error *err)
{
	const struct carve_hw_gpu *g = &inv->gpus[0];
	if (spec->impl == CARVE_IMPL_PASSTHROUGH || !carve_sysfs_vf_backed(h->fs, ctx, g))
		return 0;
	uint32_t want = g->sriov_numvfs ? g->sriov_numvfs : g->sriov_totalvfs;
	if (g->mechanism == CARVE_IMPL_AMD_MXGPU) {
		if (!amd_type_possible(ctx, g, spec->type_id))
			return 0; /* the caller reports the type */
		want = carve_catalog_type(ctx->board->short_name, spec->type_id)->max_instance;
	}
	if (want == g->sriov_numvfs)
		return 0;
	return set_numvfs_wait(h, want, CARVE_SYSFS_VF_WAIT_TRIES, inv, ctx, NULL, err);
}

/* Set the PF of inv/ctx (discovered) to want VFs, then look up to tries
 * times, CARVE_SYSFS_VF_WAIT_DELAY_MS apart, for all of them with their
 * vendor files, rediscovering the PF into inv/ctx. */
static int set_numvfs_wait(struct sysfs_host *h, uint32_t want, int tries, struct carve_hw_inventory *inv,
			   struct sysfs_gpu_ctx *ctx, unsigned *waited_ms, struct carve_error *err)
{
	const struct carve_hw_gpu *g = &inv->gpus[0];
	char pf[13];
	enum carve_impl mech = g->mechanism;
	snprintf(pf, sizeof(pf), "%s", g->pci);
	int r = carve_sysfs_sriov_set_numvfs(h, ctx, g, want, err);
	if (r < 0 || want == 0)
		return r;
	size_t seen = 0;
	for (int attempt = 1;; attempt++) {
		carve_hw_inventory_clear(inv);
		*ctx = (struct sysfs_gpu_ctx){0};
		if ((r = carve_sysfs_discover_one(h, pf, inv, ctx, err)) < 0)
			return r;
		g = &inv->gpus[0];
		seen = g->n_vfs;
		if (waited_ms)
			*waited_ms = (unsigned)(attempt - 1) * CARVE_SYSFS_VF_WAIT_DELAY_MS;
		/* Until the vendor files exist detection says passthrough. */
		if (g->n_vfs == want && g->mechanism == mech)
			return 0;
		if (attempt >= tries)
			break;
		sleep_ms(CARVE_SYSFS_VF_WAIT_DELAY_MS);
	}
	return carve_error_set(err, -EIO, "SRIOV_ENABLE_FAILED",
			       "%s: wrote %u to sriov_numvfs, but %zu %s VF(s) showed up (%d checks, %d ms apart)", pf,
			       want, seen, carve_impl_name(mech), tries, CARVE_SYSFS_VF_WAIT_DELAY_MS);
}

/* A bind that failed half way is undone as far as it went, best effort:
 * a write reported failed may still have reached the kernel (the device
 * may be bound to vfio-pci by now), and nothing may stay handed out that
 * no vGPU names.  What cannot be undone, reconcile reports. */
static void bind_vfio_undo(struct sysfs_host *h, const char *dev, const char *pci)
{
	struct carve_error ignore = {0};
	char drv[96];
	_cleanup_free_ char *bound = NULL;
	snprintf(drv, sizeof(drv), "%s/driver", dev);
	if (carve_sysfs_link_name(h->fs, drv, &bound, &ignore) >= 0 && strcmp(bound, "vfio-pci") == 0)
		carve_sysfs_write(h->fs, drv, "unbind", pci, &ignore);
	carve_sysfs_write(h->fs, dev, "driver_override", "\n", &ignore);
	carve_sysfs_write(h->fs, "bus/pci", "drivers_probe", pci, &ignore);
}

int carve_sysfs_bind_vfio(struct sysfs_host *h, const char *pci, const char *current_driver, struct carve_error *err)
{
	if (!carve_pci_valid(pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address");
	char dev[64];
	snprintf(dev, sizeof(dev), "bus/pci/devices/%s", pci);
	int r = carve_sysfs_write(h->fs, dev, "driver_override", "vfio-pci", err);
	if (r >= 0 && current_driver && current_driver[0]) {
		char drv[96];
		snprintf(drv, sizeof(drv), "%s/driver", dev);
		r = carve_sysfs_write_retry(h->fs, drv, "unbind", pci, err);
	}
	if (r >= 0)
		r = carve_sysfs_write(h->fs, "bus/pci", "drivers_probe", pci, err);
	if (r < 0)
		bind_vfio_undo(h, dev, pci);
	return r;
}

int carve_sysfs_unbind_vfio(struct sysfs_host *h, const char *pci, struct carve_error *err)
{
	if (!carve_pci_valid(pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address");
	char dev[64], drv[96];
	snprintf(dev, sizeof(dev), "bus/pci/devices/%s", pci);
	snprintf(drv, sizeof(drv), "%s/driver", dev);
	int r = carve_sysfs_write_retry(h->fs, drv, "unbind", pci, err);
	if (r < 0)
		return r;
	/* "\n" clears the override (an empty write would be a no-op). */
	if ((r = carve_sysfs_write(h->fs, dev, "driver_override", "\n", err)) < 0)
		return r;
	return carve_sysfs_write(h->fs, "bus/pci", "drivers_probe", pci, err);
}

static int check_spec(const struct carve_vgpu_spec *spec, struct carve_error *err)
{
	if (!carve_pci_valid(spec->pgpu_pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", spec->pgpu_pci);
	if (!carve_ident_valid(spec->type_id))
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "invalid vGPU type identifier '%.70s'",
				       spec->type_id);
	if (spec->uuid[0] && !carve_uuid_valid(spec->uuid))
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID '%.40s'", spec->uuid);
	if (!carve_vgpu_params_valid(spec->params))
		return carve_error_set(err, -EINVAL, "VGPU_PARAMS_INVALID", "invalid vgpu_params '%.80s'", spec->params);
	return 0;
}

/* The directory and board of a GPU the caller already knows, without
 * reading the GPU again. */
static int known_ctx(struct sysfs_host *h, const struct carve_hw_gpu *g, struct sysfs_gpu_ctx *ctx,
		     struct carve_error *err)
{
	char norm[13];
	if (carve_pci_normalize(g->pci, norm) < 0)
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'", g->pci);
	snprintf(ctx->dir, sizeof(ctx->dir), "bus/pci/devices/%s", norm);
	if (!carve_sysfs_exists(h->fs, ctx->dir))
		snprintf(ctx->dir, sizeof(ctx->dir), "class/mdev_bus/%s", norm);
	if (!carve_sysfs_exists(h->fs, ctx->dir))
		return carve_error_set(err, -ENOENT, "PGPU_NOT_FOUND", "no device %s under %s", norm,
				       carve_sysfs_root(h->fs));
	ctx->board = g->board[0] ? carve_board_by_name(g->board) : NULL;
	return 0;
}

static int sysfs_create(struct carve_host *hh, const struct carve_hw_gpu *known, const struct carve_vgpu_spec *spec,
			struct carve_vgpu_placement *out, struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	int r = check_spec(spec, err);
	if (r < 0)
		return r;
	struct carve_hw_inventory inv = {0};
	struct sysfs_gpu_ctx ctx = {0};
	if (known && strcmp(known->pci, spec->pgpu_pci) == 0) {
		/* Handed down: the caller's discovery of the GPU is what we act on. */
		if ((r = known_ctx(h, known, &ctx, err)) < 0)
			goto out;
		if (carve_hw_inventory_add_copy(&inv, known) < 0) {
			r = oom(err);
			goto out;
		}
	} else if ((r = carve_sysfs_discover_one(h, spec->pgpu_pci, &inv, &ctx, err)) < 0) {
		goto out;
	}
	const struct carve_hw_gpu *g = &inv.gpus[0];
	if ((r = carve_hw_gpu_refuse_problem(g, spec->type_id, err)) < 0)
		goto out;
	const struct carve_hw_type *t = carve_hw_gpu_find_type(g, spec->type_id);
	/* gim publishes the type of the current VF count only; another count
	 * is a reconfiguration (ensure_vfs). */
	bool other_count = !t && spec->impl == CARVE_IMPL_AMD_MXGPU && amd_type_possible(&ctx, g, spec->type_id);
	if (!t && !other_count) {
		r = carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED", "%s: %s: vGPU type %s is not supported",
				    g->driver, g->pci, spec->type_id);
		goto out;
	}
	if (t && t->impl != spec->impl) {
		r = carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "%s: type %s is %s, not %s", g->pci, t->id,
				    carve_impl_name(t->impl), carve_impl_name(spec->impl));
		goto out;
	}
	if (spec->params[0] && spec->impl != CARVE_IMPL_NVIDIA_MDEV && spec->impl != CARVE_IMPL_NVIDIA_SRIOV) {
		r = carve_error_set(err, -EOPNOTSUPP, "VGPU_PARAMS_UNSUPPORTED", "%s: %s vGPUs have no vgpu_params",
				    g->pci, carve_impl_name(spec->impl));
		goto out;
	}
	if ((r = ensure_vfs(h, spec, &inv, &ctx, err)) < 0)
		goto out;
	g = &inv.gpus[0];
	if ((r = carve_hw_gpu_refuse_problem(g, spec->type_id, err)) < 0)
		goto out;
	if (!(t = carve_hw_gpu_find_type(g, spec->type_id)) || t->impl != spec->impl) {
		r = carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED",
				    "%s: %s: vGPU type %s is not supported with %u VFs enabled", g->driver, g->pci,
				    spec->type_id, g->sriov_numvfs);
		goto out;
	}
	if (t->available == 0 && known) {
		/* The handed-down picture may predate a removal: before refusing,
		 * look at the GPU as it is now (the kernel has the last word). */
		char pci[13];
		snprintf(pci, sizeof(pci), "%s", g->pci);
		carve_hw_inventory_clear(&inv);
		ctx = (struct sysfs_gpu_ctx){0};
		if ((r = carve_sysfs_discover_one(h, pci, &inv, &ctx, err)) < 0)
			goto out;
		g = &inv.gpus[0];
		if ((r = carve_hw_gpu_refuse_problem(g, spec->type_id, err)) < 0)
			goto out;
		if (!(t = carve_hw_gpu_find_type(g, spec->type_id)) || t->impl != spec->impl) {
			r = carve_error_set(err, -EINVAL, "VGPU_TYPE_NOT_SUPPORTED", "%s: %s: vGPU type %s is not supported",
					    g->driver, g->pci, spec->type_id);
			goto out;
		}
	}
	if (t->available == 0) {
		r = carve_hw_gpu_refuse(g, t, err);
		goto out;
	}
	switch (t->impl) {
	case CARVE_IMPL_PASSTHROUGH:
		if (strcmp(g->driver, "vfio-pci") != 0 && (r = carve_sysfs_bind_vfio(h, g->pci, g->driver, err)) < 0)
			break;
		memset(out, 0, sizeof(*out));
		snprintf(out->device_pci, sizeof(out->device_pci), "%s", g->pci);
		r = 0;
		break;
	case CARVE_IMPL_NVIDIA_MDEV:
	case CARVE_IMPL_GVT_G:
		r = carve_sysfs_mdev_create(h, &ctx, g, t, spec, out, err);
		break;
	case CARVE_IMPL_NVIDIA_SRIOV:
		r = carve_sysfs_nvsriov_create(h, g, t, spec, out, err);
		break;
	case CARVE_IMPL_AMD_MXGPU:
		r = carve_sysfs_amd_create(h, g, t, spec, out, err);
		break;
	default:
		r = carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "unknown implementation");
		break;
	}
out:
	carve_hw_inventory_clear(&inv);
	return r;
}

static int sysfs_remove(struct carve_host *hh, const struct carve_vgpu_spec *spec,
			const struct carve_vgpu_placement *where, struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	const char *uuid = where && where->uuid[0] ? where->uuid : NULL;
	const char *dev = where && where->device_pci[0] ? where->device_pci : NULL;
	int impl = spec ? (int)spec->impl : -1;
	bool mdev_impl = impl == CARVE_IMPL_NVIDIA_MDEV || impl == CARVE_IMPL_GVT_G;
	if (!uuid && mdev_impl && spec->uuid[0])
		uuid = spec->uuid;
	if (impl >= 0 && !mdev_impl)
		uuid = NULL; /* VF-backed or passthrough: named by the device, whatever UUID the caller holds */
	if (uuid)
		return carve_sysfs_mdev_remove(h, uuid, err);
	if (!dev || !carve_pci_valid(dev))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "no valid device to release");
	char norm[13], path[96];
	carve_pci_normalize(dev, norm);
	snprintf(path, sizeof(path), "bus/pci/devices/%s", norm);
	if (!carve_sysfs_exists(h->fs, path))
		return carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "no device %s", norm);
	snprintf(path, sizeof(path), "bus/pci/devices/%s/nvidia/current_vgpu_type", norm);
	if (impl == CARVE_IMPL_NVIDIA_SRIOV || (impl < 0 && carve_sysfs_exists(h->fs, path)))
		return carve_sysfs_nvsriov_remove(h, norm, err);
	/* AMD VF or a whole GPU: handed out = bound to vfio-pci. */
	char drv[32];
	snprintf(path, sizeof(path), "bus/pci/devices/%s/driver", norm);
	int r = link_opt(h->fs, path, drv, sizeof(drv), err);
	if (r < 0)
		return r;
	if (strcmp(drv, "vfio-pci") != 0)
		return carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "%s is not handed out (driver '%s')", norm, drv);
	return carve_sysfs_unbind_vfio(h, norm, err);
}

static int sysfs_set_params(struct carve_host *hh, const struct carve_vgpu_placement *where, const char *params,
			    struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	if (!where)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no vGPU given");
	if (!carve_vgpu_params_valid(params))
		return carve_error_set(err, -EINVAL, "VGPU_PARAMS_INVALID", "invalid vgpu_params '%.80s'",
				       params ? params : "");
	char dir[96], norm[37];
	bool by_uuid = where->uuid[0] != '\0';
	if (by_uuid && where->device_pci[0] && carve_uuid_normalize(where->uuid, norm) == 0) {
		/* A VF-backed vGPU has no mdev: use the VF when no such mdev exists. */
		snprintf(dir, sizeof(dir), "bus/mdev/devices/%s", norm);
		by_uuid = carve_sysfs_exists(h->fs, dir);
	}
	if (by_uuid) {
		if (carve_uuid_normalize(where->uuid, norm) < 0)
			return carve_error_set(err, -EINVAL, "UUID_INVALID", "invalid UUID '%.40s'", where->uuid);
		snprintf(dir, sizeof(dir), "bus/mdev/devices/%s", norm);
	} else {
		if (carve_pci_normalize(where->device_pci, norm) < 0)
			return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address '%.16s'",
					       where->device_pci);
		snprintf(dir, sizeof(dir), "bus/pci/devices/%s", norm);
	}
	if (!carve_sysfs_exists(h->fs, dir))
		return carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "%s does not exist", dir);
	char ndir[128];
	snprintf(ndir, sizeof(ndir), "%s/nvidia", dir);
	if (!carve_sysfs_is_dir(h->fs, ndir))
		return carve_error_set(err, -EOPNOTSUPP, "VGPU_PARAMS_UNSUPPORTED", "%s has no vgpu_params", dir);
	/* "\n" clears the parameters; sysfs ignores an empty write. */
	return carve_sysfs_write(h->fs, ndir, "vgpu_params", params[0] ? params : "\n", err);
}

static int sysfs_discover_gpu(struct carve_host *hh, const char *pci, struct carve_hw_inventory *out,
			      struct carve_error *err)
{
	struct sysfs_gpu_ctx ctx = {0};
	memset(out, 0, sizeof(*out));
	int r = carve_sysfs_discover_one(to_sh(hh), pci, out, &ctx, err);
	if (r < 0)
		carve_hw_inventory_clear(out);
	return r;
}

static void sysfs_free(struct carve_host *hh)
{
	struct sysfs_host *h = to_sh(hh);
	if (!h)
		return;
	carve_sysfs_close(h->fs);
	free(h->declared_pfs);
	free(h);
}

static int sysfs_set_numvfs(struct carve_host *hh, const char *pf_pci, uint32_t n, unsigned *waited_ms,
			    struct carve_error *err)
{
	if (waited_ms)
		*waited_ms = 0;
	struct sysfs_host *h = to_sh(hh);
	struct carve_hw_inventory inv = {0};
	struct sysfs_gpu_ctx ctx = {0};
	int r = carve_sysfs_discover_one(h, pf_pci, &inv, &ctx, err);
	/* A PF read only in part is no ground to act on (its mechanism, which
	 * the wait below looks for, may be wrong): say what could not be read. */
	if (r >= 0 && inv.gpus[0].broken) {
		const struct carve_hw_problem *p = carve_hw_gpu_find_problem(&inv.gpus[0], NULL);
		r = carve_error_set(err, -EIO, "DISCOVERY_PROBLEM", "%s: cannot change sriov_numvfs: %s",
				    inv.gpus[0].pci, p ? p->message : "unreadable");
	}
	if (r >= 0 && inv.gpus[0].sriov_totalvfs == 0)
		r = carve_error_set(err, -EINVAL, "SRIOV_NOT_SUPPORTED", "%s: not an SR-IOV GPU", inv.gpus[0].pci);
	if (r >= 0 && n != inv.gpus[0].sriov_numvfs)
		r = set_numvfs_wait(h, n, CARVE_SYSFS_VF_APPLY_WAIT_TRIES, &inv, &ctx, waited_ms, err);
	carve_hw_inventory_clear(&inv);
	return r;
}

/* The driver's switch for the mode: the testbed's emulated driver and
 * fixture trees have a file; NVIDIA's driver has NVML only. */
/* The testbed emulator's stand-in for an NVML call: "<PF> <value>" to
 * EMU_DRV/attr; 0 (nothing written) without the emulator. */
static int emu_drv_write(struct sysfs_host *h, const char *attr, const char *pci, const char *value,
			 struct carve_error *err)
{
	char path[96], line[320];
	snprintf(path, sizeof(path), EMU_DRV "/%s", attr);
	if (!carve_sysfs_exists(h->fs, path))
		return 0;
	snprintf(line, sizeof(line), "%s %s", pci, value);
	int r = carve_sysfs_write(h->fs, EMU_DRV, attr, line, err);
	return r < 0 ? r : 1;
}

static int write_mixed_size(struct sysfs_host *h, const struct sysfs_gpu_ctx *ctx, const char *pci, bool on,
			    struct carve_error *err)
{
	static const char *const files[][2] = {{"carve_emu", "mixed"}, {"nvidia", "vgpu_heterogeneous_mode"}};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char dir[160], path[192];
		snprintf(dir, sizeof(dir), "%s/%s", ctx->dir, files[i][0]);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][1]);
		if (carve_sysfs_exists(h->fs, path))
			return carve_sysfs_write(h->fs, dir, files[i][1], on ? "1" : "0", err);
	}
	int r = emu_drv_write(h, "mixed", pci, on ? "1" : "0", err);
	return r != 0 ? (r < 0 ? r : 0) : carve_nvml_set_mixed_size(pci, on, err);
}

/* The GPU at pci, with MIG, free of vGPUs: discovered into inv/ctx. */
static int mig_gpu(struct sysfs_host *h, const char *pci, struct carve_hw_inventory *inv, struct sysfs_gpu_ctx *ctx,
		   struct carve_error *err)
{
	int r = carve_sysfs_discover_one(h, pci, inv, ctx, err);
	if (r < 0)
		return r;
	return carve_mig_changeable(&inv->gpus[0], ctx->board, err);
}

static int sysfs_set_mig_mode(struct carve_host *hh, const char *pci, bool on, struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	_cleanup_(carve_hw_inventory_clear) struct carve_hw_inventory inv = {0};
	struct sysfs_gpu_ctx ctx = {0};
	int r = mig_gpu(h, pci, &inv, &ctx, err);
	if (r < 0 || inv.gpus[0].mig_mode == (on ? 1 : 0))
		return r;
	r = emu_drv_write(h, "mig_mode", inv.gpus[0].pci, on ? "1" : "0", err);
	return r != 0 ? (r < 0 ? r : 0) : carve_nvml_set_mig_mode(inv.gpus[0].pci, on, err);
}

static int sysfs_set_mig_instances(struct carve_host *hh, const char *pci, const struct carve_strv *profiles,
				   struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	_cleanup_(carve_hw_inventory_clear) struct carve_hw_inventory inv = {0};
	struct sysfs_gpu_ctx ctx = {0};
	int r = mig_gpu(h, pci, &inv, &ctx, err);
	if (r < 0)
		return r;
	struct carve_hw_gi gis[CARVE_HW_MAX_GIS];
	uint8_t n;
	if ((r = carve_mig_layout(ctx.board, inv.gpus[0].pci, profiles, gis, &n, err)) < 0)
		return r;
	if (inv.gpus[0].mig_mode != 1)
		return carve_error_set(err, -EIO, "MIG_MODE_OFF", "%s: GPU instances need MIG mode on", inv.gpus[0].pci);
	char list[256] = "-";
	for (size_t i = 0, off = 0; i < profiles->n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? "," : "", profiles->v[i]);
	r = emu_drv_write(h, "mig_instances", inv.gpus[0].pci, list, err);
	return r != 0 ? (r < 0 ? r : 0) : carve_nvml_set_mig_instances(inv.gpus[0].pci, profiles, err);
}

static int sysfs_set_mixed_size(struct carve_host *hh, const char *pci, bool on, struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	_cleanup_(carve_hw_inventory_clear) struct carve_hw_inventory inv = {0};
	struct sysfs_gpu_ctx ctx = {0};
	int r = carve_sysfs_discover_one(h, pci, &inv, &ctx, err);
	if (r < 0)
		return r;
	const struct carve_hw_gpu *g = &inv.gpus[0];
	if ((r = carve_mixed_size_changeable(g, on, err)) != 0)
		return r < 0 ? r : 0;
	return write_mixed_size(h, &ctx, g->pci, on, err);
}

static int sysfs_modprobe_dir(struct carve_host *hh, char *buf, size_t size, struct carve_error *err)
{
	const char *env = getenv("CARVE_MODPROBE_DIR");
	if (env && *env)
		snprintf(buf, size, "%s", env);
	else if (strcmp(carve_sysfs_root(to_sh(hh)->fs), "/sys") == 0)
		snprintf(buf, size, "/etc/modprobe.d");
	else
		return carve_error_set(err, -ENOTSUP, "MODPROBE_DIR_UNKNOWN",
				       "sysfs at %s is not this machine's: set $CARVE_MODPROBE_DIR for its modprobe.d",
				       carve_sysfs_root(to_sh(hh)->fs));
	return 0;
}

static int sysfs_gpu_reset(struct carve_host *hh, const char *pci, struct carve_error *err)
{
	struct sysfs_host *h = to_sh(hh);
	_cleanup_(carve_hw_inventory_clear) struct carve_hw_inventory inv = {0};
	struct sysfs_gpu_ctx ctx = {0};
	int r = carve_sysfs_discover_one(h, pci, &inv, &ctx, err);
	if (r < 0)
		return r;
	const struct carve_hw_gpu *g = &inv.gpus[0];
	if ((r = carve_hw_gpu_refuse_busy(g, "PGPU_IN_USE", "reset", err)) < 0)
		return r;
	return carve_sysfs_write(h->fs, ctx.dir, "reset", "1", err);
}

static const struct carve_host_ops sysfs_ops = {
	.name = "sysfs",
	.discover = sysfs_discover,
	.discover_gpu = sysfs_discover_gpu,
	.vgpu_create = sysfs_create,
	.vgpu_remove = sysfs_remove,
	.vgpu_set_params = sysfs_set_params,
	.sriov_set_numvfs = sysfs_set_numvfs,
	.set_mixed_size = sysfs_set_mixed_size,
	.modprobe_dir = sysfs_modprobe_dir,
	.gpu_reset = sysfs_gpu_reset,
	.set_mig_mode = sysfs_set_mig_mode,
	.set_mig_instances = sysfs_set_mig_instances,
	.free = sysfs_free,
};

int carve_host_open_sysfs(const char *sysfs_root, const char *declared_pfs, struct carve_host **out,
			  struct carve_error *err)
{
	*out = NULL;
	if (!sysfs_root || !*sysfs_root)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no sysfs root given");
	struct sysfs_host *h = calloc(1, sizeof(*h));
	if (!h)
		return oom(err);
	h->base.ops = &sysfs_ops;
	if (declared_pfs && *declared_pfs && !(h->declared_pfs = strdup(declared_pfs))) {
		free(h);
		return oom(err);
	}
	int r = carve_sysfs_open(sysfs_root, &h->fs, err);
	if (r == 0 && !carve_sysfs_is_dir(h->fs, "bus/pci/devices"))
		r = carve_error_set(err, -ENOTDIR, "SYSFS_ROOT_UNREADABLE",
				    "%s does not look like sysfs: no readable bus/pci/devices", sysfs_root);
	if (r < 0) {
		sysfs_free(&h->base);
		return r;
	}
	*out = &h->base;
	return 0;
}
