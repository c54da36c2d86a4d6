/* sysfs_amd.c - AMD MxGPU with the gim driver: gim owns the PF and splits
 * it into vf_num equal VFs (sriov_numvfs); a vGPU is one whole VF handed to
 * a VM, i.e. bound to vfio-pci.  VFs carry no type names, so the type is the
 * catalog's entry for the board whose instance count equals the VF count.
 * Enabling (or changing) the count is sysfs_host.c's ensure_vfs.
 */
#include "sysfs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

int carve_sysfs_amd_discover(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g,
			     struct carve_error *err)
{
	(void)fs;
	const struct carve_type_entry *const *tab = NULL;
	size_t n = ctx->board ? carve_catalog_types(ctx->board->short_name, &tab) : 0;
	const struct carve_type_entry *e = NULL;
	for (size_t i = 0; i < n && !e; i++)
		if (g->sriov_numvfs > 0 && tab[i]->max_instance == g->sriov_numvfs)
			e = tab[i];
	uint32_t free_vfs = 0;
	for (size_t i = 0; i < g->n_vfs; i++) {
		struct carve_hw_vf *vf = &g->vfs[i];
		vf->in_use = strcmp(vf->driver, "vfio-pci") == 0;
		if (!vf->in_use) {
			free_vfs++;
			continue;
		}
		struct carve_hw_dev *d = carve_hw_gpu_add_dev(g);
		if (!d)
			return oom(err);
		snprintf(d->type_id, sizeof(d->type_id), "%s", e ? e->type_id : "");
		snprintf(d->parent, sizeof(d->parent), "%s", vf->pci);
	}
	/* No VF enabled (after a reboot): gim could be set up for any count, so
	 * every type that fits sriov_totalvfs is supported, none available;
	 * creating one enables its count. */
	if (g->sriov_numvfs == 0)
		return carve_sysfs_add_catalog_types(ctx->board, CARVE_IMPL_AMD_MXGPU, 0, g, err);
	if (!e)
		return 0; /* a VF count gim has no profile for */
	size_t first = g->n_types;
	int r = carve_sysfs_add_catalog_types(ctx->board, CARVE_IMPL_AMD_MXGPU, g->sriov_numvfs, g, err);
	for (size_t i = first; i < g->n_types && r == 0; i++)
		g->types[i].available = free_vfs;
	return r;
}

int carve_sysfs_amd_create(struct sysfs_host *h, const struct carve_hw_gpu *g, const struct carve_hw_type *t,
			   const struct carve_vgpu_spec *spec, struct carve_vgpu_placement *out, struct carve_error *err)
{
	/* The requested VF (spec->vf_pci) or the first free one. */
	for (size_t i = 0; i < g->n_vfs; i++) {
		const struct carve_hw_vf *vf = &g->vfs[i];
		if (vf->in_use || (spec->vf_pci[0] && strcmp(vf->pci, spec->vf_pci) != 0))
			continue;
		int r = carve_sysfs_bind_vfio(h, vf->pci, vf->driver, err);
		if (r < 0)
			return r;
		memset(out, 0, sizeof(*out));
		snprintf(out->device_pci, sizeof(out->device_pci), "%s", vf->pci);
		return 0;
	}
	return carve_error_set(err, -ENOSPC, "NO_FREE_VF", "gim: %s: no free VF for %s", g->pci, t->id);
}
