#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# A host configuration across a reboot, boot 1 of 2: host-apply on the
# emulated L40S PF (QEMU's SR-IOV NVMe, carve_vf_emu claiming its VFs as
# NVIDIA's driver would) enables 4 VFs, then mixed-size mode (after the
# VFs: enabling them resets it), two types of different sizes and default
# vgpu_params; two VMs start, one of each size.  The store (on /state)
# keeps the configuration for carved to apply at its start after the
# reboot (boot 2), which loses the VFs, the mode and the vGPUs.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/state/carve.db
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF

expect_eq "this is boot 1" "$TESTBED_BOOT" 1
check "modprobe nvme" modprobe nvme
check "load emulator vf_pfs=$PF" emu_load vf_pfs=$PF
export CARVE_NVIDIA_VGPU_PFS="${PF#0000:}=L40S"
sysfs_write $P/sriov_drivers_autoprobe 1
cat >/state/host.yaml <<'CFG'
version: 1
gpus:
  - select: {board: NVIDIA L40S}
    sriov-vfs: 4
    mixed-size: true
    enabled-types: [L40S-4Q, L40S-8Q]
    vgpu-params: {disable_vnc: 1}
CFG
expect_cv_ok "host-apply" cv host-apply config=/state/host.yaml
echo "$CV_OUT" | sed 's/^/    /'
expect_match "the plan: VFs, then the mode, then the types" "$(echo "$CV_OUT" | grep -o 'step=[a-z-]*' | tr '\n' ' ')" \
	"step=sriov-vfs step=mixed-size step=enabled-types step=vgpu-params *"
expect_eq "4 VFs" "$(cat $P/sriov_numvfs)" 4
expect_eq "mixed-size mode on in the driver" "$(grep "^$PF " /sys/bus/pci/drivers/carve_vf_emu/mixed)" "$PF 1"
PG=$(cvm pgpu-list --minimal pci-id=$PF)
expect_eq "two types enabled" "$(cvm pgpu-param-get uuid="$PG" param-name=enabled-VGPU-types | tr ';' '\n' | grep -c .)" 2
G=$(cvm pgpu-param-get uuid="$PG" param-name=gpu-group-uuid)
VM=$(cvm vm-create name-label=survivor)
cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$(cvm vgpu-type-list --minimal model-name="NVIDIA L40S-4Q")" \
	extra-args=frame_rate_limiter=0 >/dev/null
expect_cv_ok "the VM starts on a VF" cv vm-start uuid="$VM"
VM2=$(cvm vm-create name-label=other-size)
cvm vgpu-create vm-uuid="$VM2" gpu-group-uuid="$G" vgpu-type-uuid="$(cvm vgpu-type-list --minimal model-name="NVIDIA L40S-8Q")" >/dev/null
expect_cv_ok "a second size starts beside it (mixed-size mode)" cv vm-start uuid="$VM2"
D1=$(cvm vgpu-param-get uuid="$(cvm vgpu-list --minimal vm-uuid="$VM")" param-name=device-pci)
expect_eq "the default params under the vGPU's own" "$(cat /sys/bus/pci/devices/$D1/nvidia/vgpu_params)" "frame_rate_limiter=0,disable_vnc=1"
echo "$VM" >/state/hostcfg.vm
echo "$VM2" >/state/hostcfg.vm2
