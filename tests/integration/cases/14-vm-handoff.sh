# What a VM is handed: the libvirt domain (validated by libvirt's own
# virt-xml-validate), QEMU arguments, an mdevctl definition, the guest's
# gridd.conf, and the migration check.
export CARVE_HOST_PROFILE=$(profile demo) CARVE_SIM_STATE=$T/sim.json
g=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
t=$(carve vgpu-type-list --minimal model-name="GRID P40-24Q")
vm=$(carve vm-create name-label=cad-ws numa-node=1)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t extra-args=frame_rate_limiter=0 >/dev/null
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t >/dev/null
echo "== before start: nothing to hand over"
carve vm-libvirt-xml uuid=$vm 2>&1 | sed "s/$vm/<vm>/"
carve vm-start uuid=$vm >/dev/null
U() { sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g'; }
echo "== libvirt domain, 1 GiB hugepages, NUMA pinning, Hyper-V"
carve vm-libvirt-xml uuid=$vm vcpus=8 memory-mib=16384 hugepages=true hyperv=true cpuset=20-39 > dom.xml
U < dom.xml
if virt-xml-validate dom.xml domain >/dev/null 2>&1; then echo "virt-xml-validate: valid"; else echo "virt-xml-validate: FAILED"; virt-xml-validate dom.xml domain 2>&1 | head -5; fi
echo "== examples/migrate/virsh-migrate (vm-migrate's libvirt step) against a stand-in virsh"
mkdir -p $T/bin
python3 - dom.xml $T/hostdevs.xml $T/dom-nic.xml <<'PY'
import sys, xml.etree.ElementTree as ET
d = ET.parse(sys.argv[1]); devs = d.getroot().find("devices")
open(sys.argv[2], "w").write("".join(ET.tostring(h, encoding="unicode") for h in devs.findall("hostdev")))
nic = ET.fromstring("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x5e' slot='0x00' function='0x0'/></source></hostdev>")
devs.append(nic); d.write(sys.argv[3])
PY
printf '#!/bin/sh\ncase $1 in dumpxml) cat %s ;; migrate) while [ "$1" != --xml ]; do shift; done; cp "$2" %s; echo "migrate to $4" ;; esac\n' \
	$T/dom-nic.xml $T/moved.xml >$T/bin/virsh
chmod +x $T/bin/virsh
PATH=$T/bin:$PATH "$CARVE_REPO/examples/migrate/virsh-migrate" $vm cad-ws gpu-b $T/hostdevs.xml $T/hostdevs.xml | U
echo "hostdevs after: $(grep -o '<hostdev ' $T/moved.xml | wc -l) (2 vGPUs and the NIC, kept)"
if virt-xml-validate $T/moved.xml domain >/dev/null 2>&1; then echo "virt-xml-validate: valid"; else echo "virt-xml-validate: FAILED"; fi
echo '<hostdev mode="subsystem" type="mdev" model="vfio-pci"><source><address uuid="00000000-0000-0000-0000-000000000001"/></source></hostdev>' >$T/other.xml
PATH=$T/bin:$PATH "$CARVE_REPO/examples/migrate/virsh-migrate" $vm cad-ws gpu-b $T/hostdevs.xml $T/other.xml 2>&1 || echo "[refused]"
echo "== QEMU arguments"
carve vm-qemu-args uuid=$vm memory-mib=16384 hugepages=true | U
echo "== mdevctl definition of the first vGPU"
v=$(carve vgpu-list --minimal vm-uuid=$vm device=0)
carve vgpu-mdevctl-json uuid=$v
echo "== gridd.conf for the guest"
carve gridd-conf server=licence.example.com feature-type=2
carve gridd-conf server='evil;rm -rf /' 2>&1
carve gridd-conf server=licence.example.com feature-type=3 2>&1
echo "== migration check: the other P40 is full of this VM's second vGPU; the T4 does not support the type"
other=$(carve pgpu-list --minimal pci-id=0000:04:00.0)
t4=$(carve pgpu-list --minimal pci-id=0000:af:00.0)
here=$(carve vgpu-param-get uuid=$v param-name=resident-on)
carve vgpu-migration-check uuid=$v pgpu-uuid=$other
carve vgpu-migration-check uuid=$v pgpu-uuid=$t4
carve vgpu-migration-check uuid=$v pgpu-uuid=$here
carve vm-shutdown uuid=$vm
carve vgpu-migration-check uuid=$v pgpu-uuid=$other
