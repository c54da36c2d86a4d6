#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# Injected sysfs faults on NVIDIA's SR-IOV vendor-VFIO model over real
# kernel VFs (QEMU's SR-IOV NVMe declared an L40S, carve_vf_emu giving the
# VFs nvidia/current_vgpu_type and vgpu_params, as in sriov-vfio.sh): the
# walk of fault-walk-mdev.sh (lib.sh, fw_walk) over vm-start, vm-shutdown
# and host-reconcile (of a VF whose type was cleared behind carve's back),
# the kernel's vGPUs being the VFs whose current_vgpu_type is not 0.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/tmp/carve-fw-sriov.db
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF

check "modprobe nvme" modprobe nvme
check "load emulator vf_pfs=$PF mixed=1" emu_load vf_pfs=$PF mixed=1
export CARVE_NVIDIA_VGPU_PFS="${PF#0000:}=L40S"
emu_vfs_bind $PF 4
PG=$(cv pgpu-list --minimal pci-id=$PF)
G=$(cvm pgpu-param-get uuid="$PG" param-name=gpu-group-uuid)
T=$(cvm vgpu-type-list --minimal model-name="NVIDIA L40S-4Q")
new_vm() {
	VM=$(cvm vm-create name-label="$1")
	cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$T" extra-args=frame_rate_limiter=0 > /dev/null
}
new_vm bystander; BY=$VM
expect_cv_ok "bystander VM started" cv vm-start uuid="$BY"
new_vm walked; FW_VM=$VM
FW_VGPU=$(cvm vgpu-list --minimal vm-uuid="$FW_VM")

curtype() { cat /sys/bus/pci/devices/$1/nvidia/current_vgpu_type; }
fw_kern_devs() { for vf in $VFS; do [ "$(curtype "$vf")" = 0 ] || echo "$vf"; done | sort; }
fw_carve_devs() { fw_running_vgpus 3; }
halted() { [ "$(fw_vm_state "$FW_VM")" = halted ] || cv vm-shutdown uuid="$FW_VM" > /dev/null; }
running() { [ "$(fw_vm_state "$FW_VM")" = running ] || cv vm-start uuid="$FW_VM" > /dev/null; }
lost() {
	running
	sysfs_write "/sys/bus/pci/devices/$(cvm vgpu-param-get uuid="$FW_VGPU" param-name=device-pci)/nvidia/current_vgpu_type" 0
}

fw_remove_dev() { sysfs_write "/sys/bus/pci/devices/$1/nvidia/current_vgpu_type" 0; }

fw_walk_lifecycle

expect_cv_ok "bystander shut down" cv vm-shutdown uuid="$BY"
expect_eq "every VF free" "$(for vf in $VFS; do curtype "$vf"; done | sort -u)" 0
