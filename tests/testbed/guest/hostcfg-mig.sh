#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# MIG on the emulated SR-IOV driver (vf_board=H100, QEMU's SR-IOV NVMe as
# the PF), first at the driver's own interface, then through host-apply:
#   - the mode belongs to the GPU and outlives its VFs; GPU instances need
#     the VFs and MIG mode, fit in 7 slices, are listed, and are lost when
#     the VFs go (sriov-manage destroys them);
#   - a type out of MIG's order fails with EIO: time-sliced in MIG mode,
#     MIG-backed with no free GPU instance of its size;
#   - host-apply's plan runs in that order (mode, VFs, instances, types)
#     and MIG-backed vGPUs start on the instances; a new layout under a
#     running vGPU is refused, naming it.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/tmp/carve-mig.db
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF
D=/sys/bus/pci/drivers/carve_vf_emu

check "modprobe nvme" modprobe nvme
check "load emulator vf_pfs=$PF vf_board=H100" emu_load vf_pfs=$PF vf_board=H100
sysfs_write $P/sriov_drivers_autoprobe 1

# 1. the driver's rules
expect_write_err "GPU instances before the VFs" $D/mig_instances "$PF 1g.10gb" "No such device"
expect_write_ok "MIG mode on (no VFs yet)" $D/mig_mode "$PF 1"
expect_eq "mode listed" "$(cat $D/mig_mode)" "$PF 1"
expect_write_ok "4 VFs" $P/sriov_numvfs 4
set -- $(for v in $P/virtfn*; do basename "$(readlink "$v")"; done)
V1=/sys/bus/pci/devices/$1 V2=/sys/bus/pci/devices/$2 V3=/sys/bus/pci/devices/$3
expect_eq "no GPU instance yet" "$(cat $D/mig_instances)" "$PF "
expect_write_err "MIG-backed type without an instance" $V1/nvidia/current_vgpu_type 1298 "Input/output error"
expect_write_err "a profile H100 has not" $D/mig_instances "$PF 1g.5gb" "Invalid argument"
expect_write_err "more than 7 slices" $D/mig_instances "$PF 4g.40gb,4g.40gb" "No space left on device"
expect_write_ok "instances 3g.40gb,1g.10gb,1g.10gb" $D/mig_instances "$PF 3g.40gb,1g.10gb,1g.10gb"
expect_eq "instances listed" "$(cat $D/mig_instances)" "$PF 3g.40gb,1g.10gb,1g.10gb"
expect_eq "creatable: the MIG-backed types with a free instance" \
	"$(cut -d: -f1 $V1/nvidia/creatable_vgpu_types | tr -d ' ' | tail -n +2 | tr '\n' ' ')" "1298 1300 "
expect_write_err "time-sliced type in MIG mode" $V1/nvidia/current_vgpu_type 1290 "Input/output error"
expect_write_ok "H100-1-10C on VF1" $V1/nvidia/current_vgpu_type 1298
expect_write_ok "H100-1-10C on VF2" $V2/nvidia/current_vgpu_type 1298
expect_write_err "a third 1-10C: no free 1g instance" $V3/nvidia/current_vgpu_type 1298 "Input/output error"
expect_write_err "new instances under vGPUs" $D/mig_instances "$PF 7g.80gb" "Device or resource busy"
expect_write_err "mode off under vGPUs" $D/mig_mode "$PF 0" "Device or resource busy"
expect_write_err "mixed-size mode in MIG mode" $D/mixed "$PF 1" "Operation not supported"
sysfs_write $V1/nvidia/current_vgpu_type 0
sysfs_write $V2/nvidia/current_vgpu_type 0
expect_write_ok "VFs off" $P/sriov_numvfs 0
expect_write_ok "VFs on again" $P/sriov_numvfs 4
expect_eq "the instances went with the VFs" "$(cat $D/mig_instances)" "$PF "
expect_eq "the mode stayed" "$(cat $D/mig_mode)" "$PF 1"
expect_write_ok "MIG mode off" $D/mig_mode "$PF 0"
expect_write_ok "VFs off for carve" $P/sriov_numvfs 0

# 2. host-apply, in the driver's order
export CARVE_NVIDIA_VGPU_PFS="${PF#0000:}=H100"
cat >/tmp/mig.yaml <<'CFG'
gpus:
  - select: {board: H100}
    mig: [3g.40gb, 1g.10gb, 1g.10gb]
    sriov-vfs: 4
    enabled-types: [H100-1-10C, H100-3-40C]
CFG
expect_cv_ok "host-apply" cv host-apply config=/tmp/mig.yaml
echo "$CV_OUT" | sed 's/^/    /'
expect_eq "the plan's order" "$(echo "$CV_OUT" | grep -o 'step=[a-z-]*' | tr '\n' ' ')" \
	"step=mig-mode step=sriov-vfs step=mig-instances step=enabled-types "
expect_eq "the driver has them" "$(cat $D/mig_instances)" "$PF 3g.40gb,1g.10gb,1g.10gb"
PG=$(cvm pgpu-list --minimal pci-id=$PF)
expect_eq "mig-mode" "$(cvm pgpu-param-get uuid="$PG" param-name=mig-mode)" on
expect_eq "mig-instances" "$(cvm pgpu-param-get uuid="$PG" param-name=mig-instances)" "3g.40gb; 1g.10gb; 1g.10gb"
G=$(cvm pgpu-param-get uuid="$PG" param-name=gpu-group-uuid)
for t in 1-10C 3-40C; do
	VM=$(cvm vm-create name-label=mig$t)
	cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$(cvm vgpu-type-list --minimal model-name="NVIDIA H100-$t")" >/dev/null
	expect_cv_ok "H100-$t starts on a GPU instance" cv vm-start uuid="$VM"
done
expect_cv_ok "again: nothing to do" cv host-apply config=/tmp/mig.yaml
expect_eq "no step" "$(echo "$CV_OUT" | grep -c step=)" 0
sed 's/3g.40gb, 1g.10gb, 1g.10gb/1g.10gb/' /tmp/mig.yaml >/tmp/mig2.yaml
expect_cv_err "a new layout under running vGPUs" HOST_APPLY_REFUSED cv host-apply config=/tmp/mig2.yaml
expect_match "it names them" "$CV_OUT" "*running VM 'mig1-10C'*running VM 'mig3-40C'*"
expect_eq "nothing changed" "$(cat $D/mig_instances)" "$PF 3g.40gb,1g.10gb,1g.10gb"
for VM in $(cvm vm-list --minimal | tr , ' '); do cv vm-shutdown uuid="$VM" >/dev/null; done
expect_cv_ok "with the VMs halted it applies" cv host-apply config=/tmp/mig2.yaml
expect_eq "the new layout" "$(cat $D/mig_instances)" "$PF 1g.10gb"
