#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# NVIDIA's SR-IOV vendor-VFIO model (vGPU 17+) on real kernel PCI objects:
# QEMU's SR-IOV NVMe is the PF (the kernel's nvme driver implements
# sriov_configure), its VFs appear through the real sriov_numvfs, and
# carve_vgpu_emu's PCI driver carve_vf_emu, bound through driver_override,
# gives them nvidia/creatable_vgpu_types, current_vgpu_type, vgpu_params
# (board L40S, data/nvidia-sriov-types.csv).
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF
check "modprobe nvme" modprobe nvme
expect_eq "PF $PF is QEMU's NVMe" "$(cat $P/vendor 2>/dev/null):$(cat $P/class 2>/dev/null)" "0x1b36:0x010802"
expect_eq "sriov_totalvfs" "$(cat $P/sriov_totalvfs 2>/dev/null)" 4
expect_eq "PF bound to nvme" "$(basename "$(readlink $P/driver)")" nvme
check "modprobe carve_vgpu_emu" emu_load

# 1. VFs through sriov_numvfs, bound by hand (driver_override + drivers_probe)
sysfs_write $P/sriov_drivers_autoprobe 0
expect_write_ok "sriov_numvfs=4" $P/sriov_numvfs 4
expect_eq "4 virtfn links" "$(ls -d $P/virtfn* 2>/dev/null | wc -l)" 4
VFS=
for v in $P/virtfn*; do VFS="$VFS $(basename "$(readlink "$v")")"; done
VFS=${VFS# }
expect_eq "VF addresses" "$VFS" "0000:00:04.1 0000:00:04.2 0000:00:04.3 0000:00:04.4"
set -- $VFS
V1=/sys/bus/pci/devices/$1 V2=/sys/bus/pci/devices/$2 V3=/sys/bus/pci/devices/$3
expect_eq "VFs unbound with autoprobe off" "$(ls -d $V1/driver 2>/dev/null)" ""
for vf in $VFS; do
	sysfs_write /sys/bus/pci/devices/$vf/driver_override carve_vf_emu &&
	sysfs_write /sys/bus/pci/drivers_probe "$vf" || fail "bind $vf: $TB_ERR"
done
expect_eq "VFs bound to carve_vf_emu" \
	"$(for vf in $VFS; do basename "$(readlink /sys/bus/pci/devices/$vf/driver)"; done | sort -u)" carve_vf_emu
check "nvidia/ files on the VF" test -r $V1/nvidia/creatable_vgpu_types -a -w $V1/nvidia/current_vgpu_type -a -w $V1/nvidia/vgpu_params
check_not "no nvidia/ on the PF" test -e $P/nvidia

csv_sriov() { awk -F, -v b=L40S 'NR > 1 && $3 == b { printf "%-6s: %s\n", $1, $2 }' "$TESTBED_DATA/nvidia-sriov-types.csv"; }
expect_eq "creatable on an idle PF = the CSV's L40S types" \
	"$(cat $V1/nvidia/creatable_vgpu_types)" "$(printf 'ID    : vGPU Name\n'; csv_sriov)"
expect_eq "current_vgpu_type 0 when free" "$(cat $V1/nvidia/current_vgpu_type)" 0

# 2. take types: homogeneous, capacity, errors
expect_write_ok "VF1 takes 1155 (L40S-24Q)" $V1/nvidia/current_vgpu_type 1155
expect_eq "VF1 current_vgpu_type" "$(cat $V1/nvidia/current_vgpu_type)" 1155
expect_eq "VF1 lists nothing once used" "$(cat $V1/nvidia/creatable_vgpu_types)" "ID    : vGPU Name"
expect_eq "VF2 lists only 1155 (one type per PF)" "$(cat $V2/nvidia/creatable_vgpu_types)" \
	"$(printf 'ID    : vGPU Name\n1155  : NVIDIA L40S-24Q')"
expect_write_err "VF1 second type refused" $V1/nvidia/current_vgpu_type 1155 "Device or resource busy"
expect_write_err "VF2 other type refused" $V2/nvidia/current_vgpu_type 1150 "Device or resource busy"
expect_write_err "unknown type refused" $V2/nvidia/current_vgpu_type 9999 "Invalid argument"
expect_write_err "garbage refused" $V2/nvidia/current_vgpu_type ../x "Invalid argument"
expect_write_ok "VF2 takes 1155" $V2/nvidia/current_vgpu_type 1155
expect_eq "VF3 lists nothing (48 GiB used)" "$(cat $V3/nvidia/creatable_vgpu_types)" "ID    : vGPU Name"
expect_write_err "VF3 full" $V3/nvidia/current_vgpu_type 1155 "No space left on device"
expect_eq "fb used" "$(cat $V3/carve_emu/fb_used_mib)" 49152

# 3. vgpu_params
expect_write_ok "VF1 vgpu_params" $V1/nvidia/vgpu_params "frame_rate_limiter=0,disable_vnc=1"
expect_eq "VF1 vgpu_params read back" "$(cat $V1/nvidia/vgpu_params)" "frame_rate_limiter=0,disable_vnc=1"
expect_write_err "vgpu_params bad key" $V1/nvidia/vgpu_params "bogus=1" "Invalid argument"
expect_write_err "vgpu_params on a free VF" $V3/nvidia/vgpu_params "disable_vnc=1" "No such device"

# 4. release: refused while "a VM runs on it", then accepted
sysfs_write $V1/carve_emu/busy 1
expect_write_err "release refused while busy" $V1/nvidia/current_vgpu_type 0 "Device or resource busy"
sysfs_write $V1/carve_emu/busy 0
expect_write_ok "VF1 release" $V1/nvidia/current_vgpu_type 0
expect_eq "VF1 params cleared" "$(cat $V1/nvidia/vgpu_params)" ""
expect_eq "VF3 lists 1155 again" "$(cat $V3/nvidia/creatable_vgpu_types)" \
	"$(printf 'ID    : vGPU Name\n1155  : NVIDIA L40S-24Q')"
expect_write_ok "VF2 release" $V2/nvidia/current_vgpu_type 0
expect_eq "idle PF lists every type again" "$(cat $V3/nvidia/creatable_vgpu_types | wc -l)" "$(($(csv_sriov | wc -l) + 1))"
expect_write_ok "VF3 takes 1156 (48Q) after release" $V3/nvidia/current_vgpu_type 1156

# 4b. mixed-size mode: NVML's switch (nvmlDeviceSetVgpuHeterogeneousMode),
# the carve_vf_emu driver's attribute here; only while no vGPU exists
D=/sys/bus/pci/drivers/carve_vf_emu
expect_eq "mixed-size off by default" "$(grep "^$PF " $D/mixed)" "$PF 0"
expect_write_err "mixed-size on under a vGPU" $D/mixed "$PF 1" "Device or resource busy"
expect_write_err "MIG on a board without it" $D/mig_mode "$PF 1" "Operation not supported"
sysfs_write $V3/nvidia/current_vgpu_type 0
expect_write_ok "mixed-size on with no vGPU" $D/mixed "$PF 1"
expect_write_ok "VF1 takes 1155 (24Q)" $V1/nvidia/current_vgpu_type 1155
expect_write_ok "VF2 takes 1150 (4Q) beside it" $V2/nvidia/current_vgpu_type 1150
sysfs_write $V1/nvidia/current_vgpu_type 0
sysfs_write $V2/nvidia/current_vgpu_type 0
expect_write_ok "VF3 takes 1156 again" $V3/nvidia/current_vgpu_type 1156

# 5. disabling VFs under a vGPU: the kernel removes the VFs, the driver lets go
expect_write_ok "sriov_numvfs=0" $P/sriov_numvfs 0
expect_eq "VFs gone" "$(ls -d $P/virtfn* 2>/dev/null | wc -l)" 0
check "release logged" sh -c 'dmesg | grep -q "unbound with vGPU NVIDIA L40S-48Q"'

# 6. vf_pfs=: new VFs of the PF are claimed automatically (autoprobe on)
check "reload with vf_pfs=$PF" emu_load vf_pfs=$PF
sysfs_write $P/sriov_drivers_autoprobe 1
expect_write_ok "sriov_numvfs=4 again" $P/sriov_numvfs 4
expect_eq "enabling VFs reset mixed-size mode" "$(grep "^$PF " $D/mixed)" "$PF 0"
expect_eq "every VF bound to carve_vf_emu by itself" \
	"$(for v in $P/virtfn*; do basename "$(readlink "$v/driver")"; done | tr '\n' ' ')" \
	"carve_vf_emu carve_vf_emu carve_vf_emu carve_vf_emu "
expect_write_ok "VF takes 1147 (L40S-1Q)" $V1/nvidia/current_vgpu_type 1147
check "rmmod with a vGPU on a VF" emu_unload
expect_eq "VFs unbound after rmmod" "$(ls -d $V1/driver 2>/dev/null)" ""
expect_write_ok "sriov_numvfs=0 at the end" $P/sriov_numvfs 0
