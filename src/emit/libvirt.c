/* libvirt.c - <hostdev> elements and a minimal KVM domain document.
 *
 * Shape of the output, and why:
 *  - mdev vGPUs (NVIDIA mdev, GVT-g) are type='mdev' model='vfio-pci' hostdevs
 *    addressed by UUID.  libvirt never creates or destroys mdevs for
 *    type='mdev' (managed='no' is implied); carve owns their lifetime.
 *  - PCI-backed vGPUs (NVIDIA SR-IOV VFs, AMD MxGPU VFs, whole GPUs) are
 *    type='pci' managed='no' with the vfio driver: carve binds them to
 *    vfio-pci (or the vendor's VFIO variant driver) and must stay the only
 *    one that does, so libvirt is told not to rebind.
 *  - display='on' needs a graphics device in the domain (libvirt refuses the
 *    domain otherwise), so the document adds VNC on 127.0.0.1 plus
 *    egl-headless when the display comes from GVT-g, whose console is a
 *    dma-buf QEMU can only read through OpenGL.  <video><model type='none'/>
 *    makes the vGPU the only display adapter.
 *  - <memballoon model='none'/>: VFIO pins all guest RAM, a balloon would
 *    only pretend to reclaim it.
 * Indentation is two spaces per level, the layout `virsh dumpxml` uses.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

static void indent(struct emit_buf *b, int level)
{
	for (int i = 0; i < level; i++)
		emit_buf_add(b, "  ");
}

static void add_hostdev(struct emit_buf *b, const struct emit_dev *e, size_t idx, int level, bool alias)
{
	indent(b, level);
	emit_buf_addf(b, "<!-- vGPU %zu: %s, %s %s on %s -->\n", idx, e->label, carve_impl_name(e->impl), e->uuid,
	              e->pci);
	indent(b, level);
	if (e->mdev) {
		emit_buf_addf(b, "<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='%s'%s>\n",
		              e->display ? "on" : "off", e->display ? " ramfb='on'" : "");
		indent(b, level + 1);
		emit_buf_add(b, "<source>\n");
		indent(b, level + 2);
		emit_buf_addf(b, "<address uuid='%s'/>\n", e->uuid);
	} else {
		emit_buf_add(b, "<hostdev mode='subsystem' type='pci' managed='no'>\n");
		indent(b, level + 1);
		emit_buf_add(b, "<driver name='vfio'/>\n");
		indent(b, level + 1);
		emit_buf_add(b, "<source>\n");
		indent(b, level + 2);
		emit_buf_addf(b, "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n",
		              e->addr.domain, e->addr.bus, e->addr.slot, e->addr.func);
	}
	indent(b, level + 1);
	emit_buf_add(b, "</source>\n");
	if (alias) { /* for <qemu:override> to name it (libvirt's user aliases start with ua-) */
		indent(b, level + 1);
		emit_buf_addf(b, "<alias name='ua-carve-vgpu%zu'/>\n", idx);
	}
	indent(b, level);
	emit_buf_add(b, "</hostdev>\n");
}

int carve_emit_libvirt_hostdevs(const struct carve_emit_vgpu *v, size_t n, char **xml, struct carve_error *err)
{
	if (!xml)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output pointer for the hostdev XML");
	*xml = NULL;
	_cleanup_free_ struct emit_dev *d = NULL;
	int r = emit_check_vgpus(v, n, &d, err);
	if (r < 0)
		return r;
	_cleanup_(emit_buf_free) struct emit_buf b = {0};
	for (size_t i = 0; i < n; i++)
		add_hostdev(&b, &d[i], i, 0, false);
	return emit_buf_finish(&b, xml, err);
}

static const char *const hyperv_features[] = {
	/* relaxed: no watchdog bug check when a vCPU is descheduled; vapic:
	 * APIC access through MSRs; spinlocks: yield to the hypervisor after
	 * 8191 (0x1fff) spins, the value Windows itself uses; vpindex/runtime:
	 * per-vCPU index and time accounting; synic+stimer: synthetic timers
	 * (they need vpindex and hypervclock); frequencies: TSC/APIC frequency
	 * MSRs, so the guest skips calibrating them. */
	"<relaxed state='on'/>", "<vapic state='on'/>", "<spinlocks state='on' retries='8191'/>",
	"<vpindex state='on'/>", "<runtime state='on'/>", "<synic state='on'/>", "<stimer state='on'/>",
	"<frequencies state='on'/>",
};

int carve_emit_libvirt_domain(const struct carve_emit_vm *vm, const struct carve_emit_vgpu *v, size_t n,
                              char **xml, struct carve_error *err)
{
	if (!xml)
		return carve_error_set(err, -EINVAL, "INVALID_ARGUMENT", "no output pointer for the domain XML");
	*xml = NULL;
	char uuid[CARVE_UUID_STRLEN + 1];
	int r = emit_check_vm(vm, true, uuid, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct emit_dev *d = NULL;
	r = emit_check_vgpus(v, n, &d, err);
	if (r < 0)
		return r;
	const struct emit_dev *display = NULL;
	for (size_t i = 0; i < n; i++)
		if (d[i].display)
			display = &d[i];

	_cleanup_(emit_buf_free) struct emit_buf b = {0};
	emit_buf_addf(&b, "<domain type='%s'%s>\n", vm->emulated ? "qemu" : "kvm",
		      vm->p2p ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : "");
	emit_buf_addf(&b, "  <!-- written by carve for VM %s: %zu vGPU(s) -->\n", uuid, n);
	emit_buf_add(&b, "  <name>");
	emit_buf_add_xml(&b, vm->name);
	emit_buf_add(&b, "</name>\n");
	emit_buf_addf(&b, "  <uuid>%s</uuid>\n", uuid);
	emit_buf_addf(&b, "  <memory unit='MiB'>%u</memory>\n", vm->memory_mib);
	if (vm->hugepages_1g)
		emit_buf_add(&b, "  <memoryBacking>\n"
		                 "    <hugepages>\n"
		                 "      <page size='1048576' unit='KiB'/>\n"
		                 "    </hugepages>\n"
		                 "  </memoryBacking>\n");
	emit_buf_addf(&b, "  <vcpu placement='static'>%u</vcpu>\n", vm->vcpus);
	if (vm->cpuset) {
		/* Each vCPU may float over the node's CPUs rather than own one
		 * core: 1:1 core pinning needs to know every other VM's pins,
		 * which emit does not.  Locality is what the GPU needs. */
		emit_buf_add(&b, "  <cputune>\n");
		for (uint32_t i = 0; i < vm->vcpus; i++)
			emit_buf_addf(&b, "    <vcpupin vcpu='%u' cpuset='%s'/>\n", i, vm->cpuset);
		emit_buf_addf(&b, "    <emulatorpin cpuset='%s'/>\n", vm->cpuset);
		emit_buf_add(&b, "  </cputune>\n");
	}
	if (vm->numa_node >= 0)
		/* <memory>, not <memnode>: memnode needs a guest NUMA topology,
		 * and this guest has one node that lives on one host node. */
		emit_buf_addf(&b, "  <numatune>\n    <memory mode='strict' nodeset='%d'/>\n  </numatune>\n",
		              (int)vm->numa_node);
	emit_buf_add(&b, "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n");
	emit_buf_add(&b, "  <features>\n    <acpi/>\n    <apic/>\n");
	if (vm->hyperv) {
		emit_buf_add(&b, "    <hyperv>\n");
		for (size_t i = 0; i < ARRAY_SIZE(hyperv_features); i++)
			emit_buf_addf(&b, "      %s\n", hyperv_features[i]);
		emit_buf_add(&b, "    </hyperv>\n");
	}
	emit_buf_add(&b, "  </features>\n");
	if (vm->hyperv)
		/* Windows keeps its RTC in local time. */
		emit_buf_add(&b, "  <clock offset='localtime'>\n"
		                 "    <timer name='hypervclock' present='yes'/>\n"
		                 "  </clock>\n");
	else
		emit_buf_add(&b, "  <clock offset='utc'/>\n");
	emit_buf_add(&b, "  <devices>\n");
	for (size_t i = 0; i < n; i++)
		add_hostdev(&b, &d[i], i, 2, vm->p2p);
	if (display) {
		emit_buf_add(&b, "    <graphics type='vnc' autoport='yes'>\n"
		                 "      <listen type='address' address='127.0.0.1'/>\n"
		                 "    </graphics>\n");
		if (display->impl == CARVE_IMPL_GVT_G)
			emit_buf_add(&b, "    <graphics type='egl-headless'/>\n");
		emit_buf_add(&b, "    <video>\n      <model type='none'/>\n    </video>\n");
	}
	emit_buf_add(&b, "    <memballoon model='none'/>\n");
	emit_buf_add(&b, "  </devices>\n");
	if (vm->p2p) {
		/* libvirt has no element for QEMU's GPUDirect clique: set the
		 * vfio-pci property on each hostdev (libvirt >= 8.2). */
		emit_buf_add(&b, "  <qemu:override>\n");
		for (size_t i = 0; i < n; i++)
			emit_buf_addf(&b,
				      "    <qemu:device alias='ua-carve-vgpu%zu'>\n"
				      "      <qemu:frontend>\n"
				      "        <qemu:property name='x-nv-gpudirect-clique' type='unsigned' value='0'/>\n"
				      "      </qemu:frontend>\n"
				      "    </qemu:device>\n",
				      i);
		emit_buf_add(&b, "  </qemu:override>\n");
	}
	emit_buf_add(&b, "</domain>\n");
	return emit_buf_finish(&b, xml, err);
}
