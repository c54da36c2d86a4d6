/* mdevctl.c - mdevctl's persistent definition of one mdev vGPU.
 *
 * mdevctl keeps /etc/mdevctl.d/<parent>/<uuid> files of the form
 *   {"mdev_type": "nvidia-46", "start": "auto|manual", "attrs": [{"path": "value"}, ...]}
 * where each attribute is written, in order, to /sys/bus/mdev/devices/<uuid>/<path>
 * after the device is created.  attrs is a list of one-key objects (not one
 * object) because order matters and keys may repeat.  NVIDIA reads its
 * per-vGPU settings from nvidia/vgpu_params, which is only writable before a
 * VM opens the device: exactly the window mdevctl writes attrs in.
 *
 * "start": "auto" - mdevctl recreates the vGPU when the parent appears (at
 * boot), matching carve's promise that a reboot does not lose vGPUs.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/str.h"

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_value_char(char c)
{
	return is_key_char(c) || c == '.' || c == ':' || c == '-';
}

/* NVIDIA's vgpu_params syntax: "key=value" items separated by ',' with
 * optional blanks ("frame_rate_limiter=0, disable_vnc=1").  The string is
 * written verbatim to sysfs, so only that syntax gets through. */
static bool vgpu_params_valid(const char *s)
{
	if (strlen(s) > 1024)
		return false;
	for (;;) {
		while (*s == ' ')
			s++;
		size_t k = 0, v = 0;
		while (is_key_char(s[k]))
			k++;
		if (k == 0 || k > 64 || s[k] != '=')
			return false;
		s += k + 1;
		while (is_value_char(s[v]))
			v++;
		if (v == 0 || v > 128)
			return false;
		s += v;
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return true;
		if (*s++ != ',')
			return false;
	}
}

int carve_emit_mdevctl_json(const struct carve_emit_vgpu *v, const char *type_id, const char *params,
                            json_t **out, struct carve_error *err)
{
	if (!out)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output pointer for the mdevctl JSON");
	*out = NULL;
	_cleanup_free_ struct emit_dev *d = NULL;
	int r = emit_check_vgpus(v, v ? 1 : 0, &d, err);
	if (r < 0)
		return r;
	if (!d)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no vGPU given for the mdevctl definition");
	if (!d->mdev)
		return carve_error_set(err, -EINVAL, "VGPU_NOT_MDEV",
		                       "vGPU %s is %s, a PCI device: mdevctl only defines mediated devices", d->uuid,
		                       carve_impl_name(d->impl));
	if (!type_id || !carve_ident_valid(type_id))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "vGPU %s: mdev type id must be an identifier such as nvidia-46", d->uuid);
	bool has_params = params && *params;
	if (has_params && d->impl != CARVE_IMPL_NVIDIA_MDEV)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "vGPU %s: vgpu_params are NVIDIA's; %s vGPUs take none", d->uuid,
		                       carve_impl_name(d->impl));
	if (has_params && !vgpu_params_valid(params))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "vGPU %s: vgpu_params must be key=value pairs separated by commas", d->uuid);

	_cleanup_json_ json_t *attrs = json_array();
	if (!attrs)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	if (has_params && json_array_append_new(attrs, json_pack("{s:s}", "nvidia/vgpu_params", params)) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	/* "O" takes a reference of its own; ours goes with the cleanup. */
	json_t *cfg = json_pack("{s:s, s:s, s:O}", "mdev_type", type_id, "start", "auto", "attrs", attrs);
	if (!cfg)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	*out = cfg;
	return 0;
}
