/* check.c - input validation shared by the emitters (see internal.h).
 *
 * Everything a caller hands us ends up inside XML attributes, QEMU option
 * strings (where ',' separates options) or file names under /sys, so the
 * rule is whitelist-and-canonicalise before anything is written.  Error
 * messages name the field and the vGPU index but do not echo the rejected
 * bytes: they may be hostile and messages reach terminals and logs.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

bool emit_impl_is_mdev(enum carve_impl impl)
{
	return impl == CARVE_IMPL_NVIDIA_MDEV || impl == CARVE_IMPL_GVT_G;
}

int carve_emit_assign_display(struct carve_emit_vgpu *v, size_t n)
{
	int chosen = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		bool first = chosen < 0 && emit_impl_is_mdev(v[i].impl);
		v[i].display = first;
		if (first)
			chosen = (int)i;
	}
	return chosen;
}

/* Model names are free text from sysfs or the catalog ("GRID P40-2Q",
 * "Intel GVT-g (i915-GVTg_V5_4)").  They only decorate comments, so rather
 * than reject an odd one we keep a safe subset: anything else becomes '_',
 * and a '-' after a '-' becomes '_' because "--" may not appear in an XML
 * comment. */
static void label_from_model(const char *model, size_t cap, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; i < cap && model[i] && o + 1 < outsz; i++) {
		char c = model[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          strchr(" ._-()+:/=,", c) != NULL;
		if (!ok || (c == '-' && o > 0 && out[o - 1] == '-'))
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, outsz, "unnamed");
}

int emit_check_vgpus(const struct carve_emit_vgpu *v, size_t n, struct emit_dev **out,
                     struct carve_error *err)
{
	*out = NULL;
	if (n == 0)
		return 0;
	if (!v)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "vGPU list is NULL but has %zu entries", n);
	if (n > CARVE_EMIT_MAX_VGPUS)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "%zu vGPUs for one VM exceeds the limit of %d",
		                       n, CARVE_EMIT_MAX_VGPUS);

	_cleanup_free_ struct emit_dev *d = calloc(n, sizeof(*d));
	if (!d)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");

	int display_at = -1;
	for (size_t i = 0; i < n; i++) {
		const struct carve_emit_vgpu *g = &v[i];
		struct emit_dev *e = &d[i];

		if ((int)g->impl < 0 || (int)g->impl >= CARVE_IMPL__MAX)
			return carve_error_set(err, -EINVAL, "INVALID_VALUE",
			                       "vGPU %zu: implementation %d is not known", i, (int)g->impl);
		e->impl = g->impl;
		e->mdev = emit_impl_is_mdev(g->impl);

		if (carve_uuid_normalize(g->uuid, e->uuid) < 0)
			return carve_error_set(err, -EINVAL, "UUID_INVALID",
			                       "vGPU %zu: uuid is not a UUID (8-4-4-4-12 hex digits)", i);
		/* Bound the read first: the field is a fixed array that a caller
		 * may have filled to the brim without a terminator. */
		if (strnlen(g->device_pci, sizeof(g->device_pci)) == sizeof(g->device_pci) ||
		    carve_pci_parse(g->device_pci, &e->addr) < 0)
			return carve_error_set(err, -EINVAL, "PCI_ADDRESS_INVALID",
			                       "vGPU %zu (%s): %s is not a PCI address (DDDD:BB:SS.F)", i, e->uuid,
			                       e->mdev ? "parent device" : "device_pci");
		carve_pci_format(&e->addr, e->pci);

		if (g->display) {
			if (!e->mdev)
				return carve_error_set(err, -EINVAL, "VGPU_DISPLAY_NOT_MDEV",
				                       "vGPU %zu (%s): only an mdev-backed vGPU can drive the display, "
				                       "this one is %s", i, e->uuid, carve_impl_name(g->impl));
			if (display_at >= 0)
				return carve_error_set(err, -EINVAL, "VGPU_DISPLAY_CONFLICT",
				                       "vGPUs %d and %zu both ask for the display; at most one may",
				                       display_at, i);
			display_at = (int)i;
		}
		e->display = g->display;

		for (size_t j = 0; j < i; j++) {
			if (strcmp(d[j].uuid, e->uuid) == 0)
				return carve_error_set(err, -EINVAL, "VGPU_DUPLICATE",
				                       "vGPUs %zu and %zu have the same uuid %s", j, i, e->uuid);
			/* A PCI function can be assigned once; mdevs share parents. */
			if (!e->mdev && !d[j].mdev && carve_pci_cmp(&d[j].addr, &e->addr) == 0)
				return carve_error_set(err, -EINVAL, "VGPU_DUPLICATE",
				                       "vGPUs %zu and %zu are both PCI device %s", j, i, e->pci);
		}
		label_from_model(g->model_name, sizeof(g->model_name), e->label, sizeof(e->label));
	}
	*out = TAKE_PTR(d);
	return 0;
}

/* libvirt's cpuset grammar minus the '^' exclusions: "N", "N-M", joined by
 * ','.  CPU numbers are capped well above any real host so the loops and
 * integers stay small. */
static bool cpuset_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 1024)
		return false;
	for (;;) {
		unsigned long lo = 0, hi;
		size_t digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 6) {
			lo = lo * 10 + (unsigned long)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits == 6 || lo > 65535)
			return false;
		hi = lo;
		if (*s == '-') {
			s++;
			hi = 0;
			digits = 0;
			while (*s >= '0' && *s <= '9' && digits < 6) {
				hi = hi * 10 + (unsigned long)(*s++ - '0');
				digits++;
			}
			if (digits == 0 || digits == 6 || hi > 65535 || hi < lo)
				return false;
		}
		if (*s == '\0')
			return true;
		if (*s++ != ',')
			return false;
	}
}

/* libvirt refuses '/' in domain names and the schema refuses newlines; we
 * go further and take printable ASCII only, so the name can never break
 * the document's encoding.  XML metacharacters are fine: they are escaped. */
static bool vm_name_valid(const char *name, size_t cap)
{
	size_t len = strnlen(name, cap);
	if (len == 0 || len == cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c > 0x7e || c == '/')
			return false;
	}
	return true;
}

int emit_check_vm(const struct carve_emit_vm *vm, bool need_size, char uuid[CARVE_UUID_STRLEN + 1],
                  struct carve_error *err)
{
	if (!vm)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "VM description is NULL");
	if (carve_uuid_normalize(vm->uuid, uuid) < 0)
		return carve_error_set(err, -EINVAL, "UUID_INVALID", "VM uuid is not a UUID (8-4-4-4-12 hex digits)");
	if (need_size && !vm_name_valid(vm->name, sizeof(vm->name)))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "VM %s: name must be 1-127 printable ASCII characters without '/'", uuid);
	if (vm->numa_node < -1 || vm->numa_node > 1023)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "VM %s: NUMA node %d is out of range (-1..1023)",
		                       uuid, (int)vm->numa_node);
	if (need_size && (vm->vcpus < 1 || vm->vcpus > 4096))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "VM %s: %u vCPUs is out of range (1..4096)",
		                       uuid, vm->vcpus);
	bool need_memory = need_size || vm->hugepages_1g || vm->numa_node >= 0;
	/* 16 TiB: beyond any host carve places on, and keeps MiB*1024 in range. */
	if (need_memory && (vm->memory_mib < 1 || vm->memory_mib > 16u * 1024 * 1024))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE", "VM %s: memory %u MiB is out of range (1..16777216)",
		                       uuid, vm->memory_mib);
	/* QEMU cannot back a RAM size that is not a whole number of pages. */
	if (vm->hugepages_1g && vm->memory_mib % 1024 != 0)
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "VM %s: memory %u MiB is not a multiple of the 1 GiB huge page", uuid,
		                       vm->memory_mib);
	if (vm->cpuset && !cpuset_valid(vm->cpuset))
		return carve_error_set(err, -EINVAL, "INVALID_VALUE",
		                       "VM %s: cpuset must be CPU numbers and ranges like 0-19,40-59", uuid);
	return 0;
}
