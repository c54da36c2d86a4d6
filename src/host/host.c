/* host.c - backend-independent parts of host.h. */
#include "host.h"

#include "model/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void carve_host_free(struct carve_host *h)
{
	if (h && h->ops && h->ops->free)
		h->ops->free(h);
}

bool carve_vgpu_params_valid(const char *p)
{
	if (!p || strlen(p) >= sizeof(((struct carve_vgpu_spec *)0)->params))
		return false;
	for (; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
		      strchr("_=,.:-", *p)))
			return false;
	return true;
}

/* Does params (k=v,k=v) set key (klen bytes)? */
static bool params_have(const char *params, const char *key, size_t klen)
{
	for (const char *p = params; *p;) {
		size_t n = strcspn(p, "=,");
		if (n == klen && strncmp(p, key, klen) == 0)
			return true;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return false;
}

int carve_vgpu_params_merge(const char *defaults, const char *own, char *out, size_t size)
{
	size_t off = 0;
	if (size == 0)
		return -E2BIG;
	out[0] = '\0';
	for (const char *p = defaults ? defaults : ""; *p;) {
		size_t item = strcspn(p, ","), klen = strcspn(p, "=,");
		if (!params_have(own ? own : "", p, klen)) {
			int n = snprintf(out + off, size - off, "%s%.*s", off ? "," : "", (int)item, p);
			if (n < 0 || (size_t)n >= size - off)
				goto too_big;
			off += (size_t)n;
		}
		p += item;
		if (*p == ',')
			p++;
	}
	if (own && *own) {
		int n = snprintf(out + off, size - off, "%s%s", off ? "," : "", own);
		if (n < 0 || (size_t)n >= size - off)
			goto too_big;
	}
	return 0;
too_big:
	out[0] = '\0';
	return -E2BIG;
}

int carve_mig_layout(const struct carve_board *b, const char *pci, const struct carve_strv *profiles,
		     struct carve_hw_gi gis[CARVE_HW_MAX_GIS], uint8_t *n, struct carve_error *err)
{
	unsigned slices = 0;
	*n = 0;
	for (size_t i = 0; i < profiles->n; i++) {
		const struct carve_type_entry *e = carve_mig_type_by_profile(b, profiles->v[i]);
		if (!e)
			return carve_error_set(err, -EINVAL, "MIG_PROFILE_INVALID", "%s (%s) has no GPU instance profile '%.32s'",
					       pci, b ? b->name : "unknown board", profiles->v[i]);
		slices += e->mig_slices;
		if (slices > CARVE_MIG_SLICES || *n == CARVE_HW_MAX_GIS)
			return carve_error_set(err, -ENOSPC, "MIG_NO_SPACE",
					       "%s: the GPU instances need more than the GPU's %d compute slices", pci,
					       CARVE_MIG_SLICES);
		snprintf(gis[*n].profile, sizeof(gis[*n].profile), "%s", profiles->v[i]);
		gis[*n].slices = e->mig_slices;
		(*n)++;
	}
	return 0;
}

int carve_mig_changeable(const struct carve_hw_gpu *g, const struct carve_board *b, struct carve_error *err)
{
	if (!carve_board_has_mig(b))
		return carve_error_set(err, -EOPNOTSUPP, "MIG_UNSUPPORTED", "%s: %s has no MIG", g->pci,
				       g->board[0] ? g->board : "this GPU");
	return carve_hw_gpu_refuse_busy(g, "MIG_BUSY", "change MIG", err);
}

int carve_hw_gpu_refuse_busy(const struct carve_hw_gpu *g, const char *id, const char *what, struct carve_error *err)
{
	if (g->n_devs == 0)
		return 0;
	return carve_error_set(err, -EBUSY, id, "%s: cannot %s: vGPU %s exists on the GPU", g->pci, what,
			       g->devs[0].uuid[0] ? g->devs[0].uuid : g->devs[0].parent);
}

int carve_mixed_size_changeable(const struct carve_hw_gpu *g, bool on, struct carve_error *err)
{
	if (g->mechanism != CARVE_IMPL_NVIDIA_SRIOV && g->mechanism != CARVE_IMPL_NVIDIA_MDEV)
		return carve_error_set(err, -EOPNOTSUPP, "MIXED_SIZE_UNSUPPORTED",
				       "%s: mixed-size mode is NVIDIA's (this GPU is %s)", g->pci,
				       carve_impl_name(g->mechanism));
	if (!g->mixed_size_supported)
		return carve_error_set(err, -EOPNOTSUPP, "MIXED_SIZE_UNSUPPORTED",
				       "%s: %s has no mixed-size (heterogeneous) mode", g->pci,
				       g->board[0] ? g->board : "this GPU");
	bool known = g->mixed_size_source == CARVE_HW_SOURCE_DRIVER || g->mixed_size_source == CARVE_HW_SOURCE_NVML;
	if (known && g->mixed_size == on)
		return 1;
	/* The driver answers "in use" (NVML's rc 19) once any vGPU exists. */
	return carve_hw_gpu_refuse_busy(g, "MIXED_SIZE_BUSY", on ? "turn mixed-size mode on" : "turn mixed-size mode off",
					err);
}
