/* qemu.c - QEMU argv fragments for a VM's vGPUs (see emit.h for the shape).
 *
 * -uuid: NVIDIA's vGPU manager (nvidia-vgpu-mgr) identifies the VM that
 * opens a vGPU by the SMBIOS/VM UUID QEMU reports; without -uuid QEMU uses
 * all zeroes, every VM looks the same and multi-vGPU VMs and licensing break.
 *
 * Memory: when 1 GiB pages or a host NUMA node are asked for, guest RAM comes
 * from an explicit backend wired in with -machine memory-backend= (QEMU >=
 * 5.0), whose size must equal -m, so both are emitted together.  Huge pages
 * use memory-backend-memfd with hugetlb=on,hugetlbsize=1G rather than
 * memory-backend-file: the kernel's internal hugetlbfs serves the memfd, so
 * the arguments do not depend on where (or whether) the host mounted a 1 GiB
 * hugetlbfs.  prealloc=on makes a host short of huge pages fail at start
 * instead of SIGBUS-ing the guest later.  host-nodes=N,policy=bind is
 * libvirt's numatune mode='strict'.  A NUMA-only VM needs no prealloc: VFIO
 * pins (and so faults in) all guest RAM when the device is realised.
 *
 * Display: the vGPU that drives the console is vfio-pci-nohotplug, not
 * vfio-pci: QEMU only has the ramfb property on that variant (a boot
 * framebuffer in fw_cfg cannot be hot-plugged), and plain vfio-pci rejects
 * ramfb=on with "Property 'vfio-pci.ramfb' not found".  It is the same
 * device otherwise; libvirt makes the same switch for ramfb='on'.  The
 * display front-end (-vnc/-spice, plus -display egl-headless for GVT-g's
 * dma-buf console) is left to the caller.
 *
 * Everything interpolated here is validated (UUIDs, canonical PCI, numbers),
 * so no value can smuggle a ',' into QEMU's option syntax.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/str.h"

/* Append opt and value as two argv elements; value NULL means an earlier
 * allocation failed. */
static int push_pair(json_t *argv, const char *opt, const char *value, struct carve_error *err)
{
	if (!value || json_array_append_new(argv, json_string(opt)) < 0 ||
	    json_array_append_new(argv, json_string(value)) < 0)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	return 0;
}

int carve_emit_qemu_args(const struct carve_emit_vm *vm, const struct carve_emit_vgpu *v, size_t n, json_t **out,
                         struct carve_error *err)
{
	if (!out)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output pointer for the QEMU arguments");
	*out = NULL;
	char uuid[CARVE_UUID_STRLEN + 1];
	int r = emit_check_vm(vm, false, uuid, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct emit_dev *d = NULL;
	r = emit_check_vgpus(v, n, &d, err);
	if (r < 0)
		return r;

	_cleanup_json_ json_t *argv = json_array();
	if (!argv)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	r = push_pair(argv, "-uuid", uuid, err);
	if (r < 0)
		return r;

	if (vm->hugepages_1g || vm->numa_node >= 0) {
		_cleanup_free_ char *numa = vm->numa_node >= 0
		                                ? carve_strdupf(",host-nodes=%d,policy=bind", (int)vm->numa_node)
		                                : strdup("");
		if (!numa)
			return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
		_cleanup_free_ char *size = carve_strdupf("%uM", vm->memory_mib);
		_cleanup_free_ char *backend =
		        vm->hugepages_1g ? carve_strdupf("memory-backend-memfd,id=carve-ram,size=%uM,hugetlb=on,"
		                                         "hugetlbsize=1G,prealloc=on%s",
		                                         vm->memory_mib, numa)
		                         : carve_strdupf("memory-backend-ram,id=carve-ram,size=%uM%s", vm->memory_mib, numa);
		if ((r = push_pair(argv, "-m", size, err)) < 0 || (r = push_pair(argv, "-object", backend, err)) < 0 ||
		    (r = push_pair(argv, "-machine", "memory-backend=carve-ram", err)) < 0)
			return r;
	}

	for (size_t i = 0; i < n; i++) {
		const char *clique = vm->p2p ? ",x-nv-gpudirect-clique=0" : "";
		_cleanup_free_ char *dev =
		        !d[i].mdev     ? carve_strdupf("vfio-pci,host=%s%s", d[i].pci, clique)
		        : d[i].display ? carve_strdupf("vfio-pci-nohotplug,sysfsdev=/sys/bus/mdev/devices/%s,"
		                                       "display=on,ramfb=on%s",
		                                       d[i].uuid, clique)
		                       : carve_strdupf("vfio-pci,sysfsdev=/sys/bus/mdev/devices/%s%s", d[i].uuid, clique);
		if ((r = push_pair(argv, "-device", dev, err)) < 0)
			return r;
	}
	*out = TAKE_PTR(argv);
	return 0;
}
