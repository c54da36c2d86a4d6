#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# carve against NVIDIA's SR-IOV vendor-VFIO model (vGPU 17+) on real kernel
# PCI objects: QEMU's SR-IOV NVMe is the PF, declared to carve as an L40S by
# the operator (CARVE_NVIDIA_VGPU_PFS, like host.conf's nvidia_vgpu_pfs),
# its VFs made by the real sriov_numvfs and given NVIDIA's nvidia/ files by
# carve_vf_emu (driver_override).  Black-box: discovery, vm-start writes
# current_vgpu_type (+ vgpu_params), creatable lists shrink, full PF
# refused, vm-shutdown writes 0, host-reconcile with the store removed
# reports the vGPU as an orphan, and a vm-start on a PF without VFs enables
# them itself.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/tmp/carve-sriov.db
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF
HDR="ID    : vGPU Name"

check "modprobe nvme" modprobe nvme
# mixed=1: carve's catalog says an L40S runs mixed sizes (no
# vgpu_heterogeneous_mode file on an NVMe PF to say otherwise)
check "load emulator vf_pfs=$PF mixed=1" emu_load vf_pfs=$PF mixed=1

expect_eq "undeclared NVMe PF is no PGPU" "$(cv pgpu-list --minimal pci-id=$PF)" ""
export CARVE_NVIDIA_VGPU_PFS="${PF#0000:}=L40S"

# VFs by hand: sriov_numvfs, then driver_override + drivers_probe
emu_vfs_bind $PF 4
expect_eq "4 VFs bound to carve_vf_emu" \
	"$(for vf in $VFS; do basename "$(readlink /sys/bus/pci/devices/$vf/driver)"; done | sort | uniq -c | tr -s ' ')" \
	" 4 carve_vf_emu"
creatable() { cat /sys/bus/pci/devices/$1/nvidia/creatable_vgpu_types; }
curtype() { cat /sys/bus/pci/devices/$1/nvidia/current_vgpu_type; }
ncsv=$(awk -F, 'NR > 1 && $3 == "L40S"' "$TESTBED_DATA/nvidia-sriov-types.csv" | wc -l)

# discovery
cv --json host-discover | inventory_summary > /tmp/inv.txt
expect_eq "declared PF discovered as an L40S vendor-VFIO PGPU" \
	"$(grep "^gpu $PF " /tmp/inv.txt | sed 's/ sub=.*driver=\([^ ]*\).*board=\(.*\) mech=\([^ ]*\).*/ driver=\1 board=\2 mech=\3/')" \
	"gpu $PF 1b36:0010 driver=nvme board=NVIDIA L40S mech=nvidia-sriov"
expect_eq "every L40S type of the CSV (+ passthrough)" "$(grep -c "^type $PF " /tmp/inv.txt)" $((ncsv + 1))
expect_eq "L40S-24Q available 2, L40S-1Q 4 (free VFs)" \
	"$(grep -E "^type $PF (1155|1147) " /tmp/inv.txt | sed 's/.* \([0-9]*\) name=.* avail=\([0-9]*\).*/\1=\2/' | tr '\n' ' ')" \
	"1147=4 1155=2 "
expect_eq "no VF is a PGPU" "$(grep -c '^gpu 0000:00:04\.[1-7]' /tmp/inv.txt)" 0
PG=$(cvm pgpu-list --minimal pci-id=$PF)
G=$(cvm pgpu-param-get uuid="$PG" param-name=gpu-group-uuid)
expect_match "PGPU and its group" "$PG/$G" "????????-*/????????-*"
cvm vgpu-type-list params=uuid,model-name | xe_table model-name uuid > /tmp/types.map
ty() { awk -F'|' -v m="NVIDIA L40S-$1" '$1 == m { print $2 }' /tmp/types.map; }
expect_match "type L40S-24Q known" "$(ty 24Q)" "????????-*"

# new_vm NAME MODEL [extra-args]: a halted VM with one vGPU ($VM)
new_vm() {
	VM=$(cvm vm-create name-label="$1")
	cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$(ty "$2")" ${3:+extra-args=$3} > /dev/null
}
start() {
	cv_run cv vm-start uuid="$1"
	DEV=$(echo "$CV_OUT" | sed -n 's/.* device-pci=\([^ ]*\) .*/\1/p' | head -n1)
}

new_vm vm1 24Q frame_rate_limiter=0; VM1=$VM
start "$VM1"
expect_match "vm1 started on a VF" "$CV_RC:$DEV" "0:0000:00:04.[1-4]"
D1=$DEV
expect_eq "carve wrote current_vgpu_type" "$(curtype "$D1" 2>/dev/null)" 1155
expect_eq "carve wrote vgpu_params" "$(cat /sys/bus/pci/devices/$D1/nvidia/vgpu_params 2>/dev/null)" "frame_rate_limiter=0"
expect_eq "vm1's VF lists nothing" "$(creatable "$D1" 2>/dev/null)" "$HDR"
FREE=$(for vf in $VFS; do [ "$(curtype "$vf")" = 0 ] && echo "$vf"; done | head -n1)
n1=$(creatable "$FREE" | grep -c '^[0-9]')
expect_eq "free VF's creatable list shrank to the types of <= 24 GiB" "$n1" \
	"$(awk -F, 'NR > 1 && $3 == "L40S" && $5 <= 24576' "$TESTBED_DATA/nvidia-sriov-types.csv" | wc -l)"
check_not "48Q no longer creatable" sh -c "creatable() { cat /sys/bus/pci/devices/\$1/nvidia/creatable_vgpu_types; }; creatable $FREE | grep -q '^1156 '"

new_vm vm2 24Q; VM2=$VM
start "$VM2"
expect_match "vm2 started on another VF" "$CV_RC:$DEV" "0:0000:00:04.[1-4]"
D2=$DEV
check_not "vm2 not on vm1's VF" test "$D1" = "$D2"
expect_eq "vm2's VF type" "$(curtype "$D2" 2>/dev/null)" 1155
FREE=$(for vf in $VFS; do [ "$(curtype "$vf")" = 0 ] && echo "$vf"; done | head -n1)
expect_eq "PF full: free VFs list nothing" "$(creatable "$FREE")" "$HDR"
new_vm vm3 1Q; VM3=$VM
start "$VM3"
expect_match "vm3 refused on the full PF" "$CV_RC" "[1-9]*"
note "vm3: $CV_OUT"
expect_eq "nothing written for vm3" "$(for vf in $VFS; do curtype "$vf"; done | tr '\n' ' ')" \
	"$(for vf in $VFS; do case $vf in "$D1"|"$D2") printf '1155 ';; *) printf '0 ';; esac; done)"

expect_cv_ok "vm-shutdown vm1" cv vm-shutdown uuid="$VM1"
expect_eq "vm-shutdown wrote 0" "$(curtype "$D1")" 0
expect_match "vm1's VF lists 24Q again" "$(creatable "$D1")" "*1155  : NVIDIA L40S-24Q*"
cv --json host-discover | inventory_summary > /tmp/inv.txt
expect_eq "carve: one vGPU, on vm2's VF" "$(grep "^dev " /tmp/inv.txt | cut -d' ' -f1-2,4)" "dev $D2 type=1155"

# the store is lost: reconcile reports vm2's vGPU as an orphan, leaves it
mv "$CARVE_DB" /tmp/carve-sriov.saved.db
cv_run cv host-reconcile
expect_match "reconcile without state reports the VF's vGPU as an orphan" "$CV_RC:$CV_OUT" "0:*orphan*$D2*"
expect_eq "orphan left alone" "$(curtype "$D2")" 1155
rm -f "$CARVE_DB"*; mv /tmp/carve-sriov.saved.db "$CARVE_DB"
expect_cv_ok "vm-shutdown vm2 (state back)" cv vm-shutdown uuid="$VM2"
expect_eq "every VF free" "$(for vf in $VFS; do curtype "$vf"; done | sort -u)" 0

# after a reboot sriov_numvfs is 0: vm-start enables the VFs itself (the
# emulator claims new VFs of vf_pfs, as the vendor driver does)
expect_write_ok "sriov_numvfs=0" $P/sriov_numvfs 0
sysfs_write $P/sriov_drivers_autoprobe 1
cv --json host-discover | inventory_summary > /tmp/inv.txt
expect_eq "PF without VFs: still vendor-VFIO, 24Q available 0" \
	"$(grep -E "^(gpu $PF|type $PF 1155) " /tmp/inv.txt | sed -n 's/.*mech=\([^ ]*\).*/\1/p; s/.* avail=\([0-9]*\).*/\1/p' | tr '\n' ' ')" \
	"nvidia-sriov 0 "
start "$VM1"
expect_match "vm-start enabled VFs and placed vm1" "$CV_RC:$DEV:$(cat $P/sriov_numvfs)" "0:0000:00:04.[1-4]:4"
[ -n "$DEV" ] && expect_eq "on a VF of type 1155" "$(curtype "$DEV")" 1155
expect_cv_ok "vm-shutdown vm1 again" cv vm-shutdown uuid="$VM1"
expect_write_ok "sriov_numvfs=0 at the end" $P/sriov_numvfs 0
