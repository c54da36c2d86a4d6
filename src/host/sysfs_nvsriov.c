/* sysfs_nvsriov.c - NVIDIA vendor-specific VFIO (vGPU 17+, kernel >= 6.8):
 * no mdev; every VF of the GPU has
 *   nvidia/creatable_vgpu_types  "ID    : vGPU Name" then "1155  : NVIDIA L40S-24Q"
 *                                lines: what can be created on it *now*
 *   nvidia/current_vgpu_type     0 when free, else the type's number
 *   nvidia/vgpu_params
 * A vGPU is made by writing a type number to a free VF's current_vgpu_type,
 * and released by writing 0, which the driver may refuse for a while
 * (bounded retries).
 *
 * Because the driver lists only what is creatable now, the supported types
 * come from the catalog for the board, and the count of each that still fits
 * is computed with the same rule the simulator uses
 * (carve_hw_gpu_nv_capacity), limited by free VFs.
 */
#include "sysfs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/desc.h"
#include "util/cleanup.h"
#include "util/pci.h"

static int oom(struct carve_error *err)
{
	return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
}

int carve_sysfs_nvsriov_discover(struct carve_sysfs *fs, const struct sysfs_gpu_ctx *ctx, struct carve_hw_gpu *g,
				 struct carve_error *err)
{
	/* With no VF enabled (after a reboot) the loop below finds nothing:
	 * every type stays supported, none available. */
	int r = carve_sysfs_add_catalog_types(ctx->board, CARVE_IMPL_NVIDIA_SRIOV, 0, g, err);
	if (r < 0)
		return r;
	/* creatable ids seen on free VFs */
	struct carve_strv creatable = {0};
	uint32_t free_vfs = 0;
	for (size_t i = 0; i < g->n_vfs && r == 0; i++) {
		struct carve_hw_vf *vf = &g->vfs[i];
		char dir[64], path[128];
		snprintf(dir, sizeof(dir), "bus/pci/devices/%s/nvidia", vf->pci);
		_cleanup_free_ char *cur = NULL;
		snprintf(path, sizeof(path), "%s/current_vgpu_type", dir);
		if ((r = carve_sysfs_read(fs, path, &cur, err)) < 0)
			break;
		carve_strstrip(cur);
		uint32_t num;
		if (carve_parse_u32(cur, &num) < 0) {
			r = carve_error_set(err, -EBADMSG, "SYSFS_MALFORMED", "%s/%s: expected a type number, found '%.40s'",
					    carve_sysfs_root(fs), path, cur);
			break;
		}
		snprintf(vf->current_type, sizeof(vf->current_type), "%u", num);
		vf->in_use = num != 0;
		if (vf->in_use) {
			struct carve_hw_dev *d = carve_hw_gpu_add_dev(g);
			if (!d) {
				r = oom(err);
				break;
			}
			snprintf(d->type_id, sizeof(d->type_id), "%u", num);
			snprintf(d->parent, sizeof(d->parent), "%s", vf->pci);
			_cleanup_free_ char *params = NULL;
			snprintf(path, sizeof(path), "%s/vgpu_params", dir);
			if ((r = carve_sysfs_read_opt(fs, path, &params, err)) < 0)
				break;
			snprintf(d->params, sizeof(d->params), "%s", params ? carve_strstrip(params) : "");
			continue;
		}
		free_vfs++;
		_cleanup_free_ char *list = NULL;
		snprintf(path, sizeof(path), "%s/creatable_vgpu_types", dir);
		if ((r = carve_sysfs_read(fs, path, &list, err)) < 0)
			break;
		char origin[256];
		snprintf(origin, sizeof(origin), "%s/%s", carve_sysfs_root(fs), path);
		struct carve_sriov_entry *ents = NULL;
		size_t n = 0;
		if ((r = carve_sriov_creatable_parse(list, strlen(list), origin, &ents, &n, err)) < 0)
			break;
		for (size_t k = 0; k < n && r == 0; k++) {
			char id[16];
			snprintf(id, sizeof(id), "%u", ents[k].id);
			if (carve_strv_contains(&creatable, id))
				continue;
			if ((r = carve_strv_push(&creatable, id)) < 0)
				r = oom(err);
			/* A type the catalog does not know: keep what the driver says. */
			if (r == 0 && !carve_hw_gpu_find_type(g, id)) {
				struct carve_hw_type *t = carve_hw_gpu_add_type(g);
				if (!t) {
					r = oom(err);
					break;
				}
				snprintf(t->id, sizeof(t->id), "%s", id);
				snprintf(t->name, sizeof(t->name), "%s", ents[k].name);
				t->impl = CARVE_IMPL_NVIDIA_SRIOV;
			}
		}
		free(ents);
	}
	/* The mode decides the counts below, so it is inferred first, from the
	 * lists as the driver gave them. */
	for (size_t i = 0; i < g->n_types && r == 0; i++)
		g->types[i].available = carve_strv_contains(&creatable, g->types[i].id);
	carve_hw_gpu_infer_mixed_size(g);
	for (size_t i = 0; i < g->n_types && r == 0; i++) {
		struct carve_hw_type *t = &g->types[i];
		if (!carve_strv_contains(&creatable, t->id))
			continue;
		uint32_t cap = carve_hw_gpu_nv_capacity(g, t);
		/* Unknown types have no max_instances: count one per free VF. */
		if (t->max_instances == 0)
			cap = free_vfs;
		t->available = cap < free_vfs ? cap : free_vfs;
	}
	carve_strv_clear(&creatable);
	return r;
}

int carve_sysfs_nvsriov_create(struct sysfs_host *h, const struct carve_hw_gpu *g, const struct carve_hw_type *t,
			       const struct carve_vgpu_spec *spec, struct carve_vgpu_placement *out,
			       struct carve_error *err)
{
	uint32_t num;
	if (carve_parse_u32(t->id, &num) < 0 || num == 0)
		return carve_error_set(err, -EINVAL, "VGPU_TYPE_INVALID", "%s: '%s' is not a vGPU type number", g->pci,
				       t->id);
	/* The requested VF (spec->vf_pci) or the first free VF whose creatable
	 * list has the type. */
	const char *vf = NULL;
	struct carve_error unread = {0}; /* the first VF whose list could not be read, named if none fits */
	for (size_t i = 0; i < g->n_vfs && !vf; i++) {
		if (g->vfs[i].in_use || !carve_pci_valid(g->vfs[i].pci))
			continue;
		if (spec->vf_pci[0] && strcmp(g->vfs[i].pci, spec->vf_pci) != 0)
			continue;
		char path[128];
		_cleanup_free_ char *list = NULL;
		snprintf(path, sizeof(path), "bus/pci/devices/%s/nvidia/creatable_vgpu_types", g->vfs[i].pci);
		struct carve_error e = {0};
		struct carve_sriov_entry *ents = NULL;
		size_t n = 0;
		if (carve_sysfs_read(h->fs, path, &list, &e) < 0 ||
		    carve_sriov_creatable_parse(list, strlen(list), path, &ents, &n, &e) < 0) {
			if (!carve_error_isset(&unread))
				unread = e;
			continue;
		}
		for (size_t k = 0; k < n && !vf; k++)
			if (ents[k].id == num)
				vf = g->vfs[i].pci;
		free(ents);
	}
	if (!vf && carve_error_isset(&unread))
		return carve_error_set(err, unread.code, "NO_FREE_VF", "%s: %s: no free VF can create %s (%s); %s",
				       g->driver, g->pci, t->id, t->name, unread.message);
	if (!vf)
		return carve_error_set(err, -ENOSPC, "NO_FREE_VF", "%s: %s: no free VF can create %s (%s)", g->driver,
				       g->pci, t->id, t->name);
	char dir[64], value[16];
	snprintf(dir, sizeof(dir), "bus/pci/devices/%s/nvidia", vf);
	snprintf(value, sizeof(value), "%u", num);
	int r = carve_sysfs_write(h->fs, dir, "current_vgpu_type", value, err);
	if (r < 0)
		return r;
	if (spec->params[0] && (r = carve_sysfs_write(h->fs, dir, "vgpu_params", spec->params, err)) < 0) {
		struct carve_error ignore = {0};
		carve_sysfs_nvsriov_remove(h, vf, &ignore);
		return r;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->device_pci, sizeof(out->device_pci), "%s", vf);
	return 0;
}

int carve_sysfs_nvsriov_remove(struct sysfs_host *h, const char *vf_pci, struct carve_error *err)
{
	if (!carve_pci_valid(vf_pci))
		return carve_error_set(err, -EINVAL, "PCI_INVALID", "invalid PCI address");
	char dir[64], path[96];
	snprintf(dir, sizeof(dir), "bus/pci/devices/%s/nvidia", vf_pci);
	snprintf(path, sizeof(path), "%s/current_vgpu_type", dir);
	uint32_t cur;
	int r = carve_sysfs_read_u32(h->fs, path, false, 0, &cur, err);
	if (r < 0)
		return r == -ENOENT ? carve_error_reset(err, -ENOENT, "VGPU_NOT_FOUND", "%s has no vGPU", vf_pci) : r;
	if (cur == 0)
		return carve_error_set(err, -ENOENT, "VGPU_NOT_FOUND", "%s carries no vGPU (current_vgpu_type is 0)",
				       vf_pci);
	return carve_sysfs_write_retry(h->fs, dir, "current_vgpu_type", "0", err);
}
