#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# Injected sysfs faults under host-apply (docs/host-config.md) on real
# kernel VFs: QEMU's SR-IOV NVMe declared an L40S, carve_vf_emu claiming
# its VFs as NVIDIA's driver would (vf_pfs, autoprobe on).  host-apply goes
# from 4 VFs with two types enabled to 2 VFs with one - the count through 0
# - with the N-th sysfs operation failing (lib.sh, fw_walk).  After each run
# and a reconcile with no fault: an acknowledged apply left 2 VFs, a refused
# one the 4 it found (its steps undone, the VF step its own half), carve's
# store says what the kernel has, no VF carries a vGPU.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/tmp/carve-fw-apply.db
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF

check "modprobe nvme" modprobe nvme
check "load emulator vf_pfs=$PF" emu_load vf_pfs=$PF
export CARVE_NVIDIA_VGPU_PFS="${PF#0000:}=L40S"
sysfs_write $P/sriov_drivers_autoprobe 1
printf 'gpus:\n  - select: {pci: "%s"}\n    sriov-vfs: 4\n    enabled-types: [L40S-4Q, L40S-8Q]\n' $PF >/tmp/four.yaml
printf 'gpus:\n  - select: {pci: "%s"}\n    sriov-vfs: 2\n    enabled-types: [L40S-4Q]\n' $PF >/tmp/two.yaml
expect_cv_ok "host-apply enables 4 VFs" cv host-apply config=/tmp/four.yaml
expect_eq "4 VFs" "$(cat $P/sriov_numvfs)" 4
PG=$(cvm pgpu-list --minimal pci-id=$PF)
FW_VM=$(cvm vm-create name-label=idle) # halted throughout: nothing may run on the PF

curtype() { cat "/sys/bus/pci/devices/$1/nvidia/current_vgpu_type"; }
vfs_now() { for v in $P/virtfn*; do [ -e "$v" ] && basename "$(readlink "$v")"; done; }
fw_kern_devs() { for vf in $(vfs_now); do [ "$(curtype "$vf")" = 0 ] || echo "$vf"; done | sort; }
fw_carve_devs() { fw_running_vgpus 3; }
fw_remove_dev() { sysfs_write "/sys/bus/pci/devices/$1/nvidia/current_vgpu_type" 0; }
fw_extra() {
	_kv=$(cat $P/sriov_numvfs)
	_cv=$(cvm pgpu-param-get uuid="$PG" param-name=sriov-numvfs)
	[ "$_kv" = "$_cv" ] || echo "the kernel has $_kv VFs, carve's store $_cv"
	case $1 in
	applied) [ "$_kv" = 2 ] || echo "acknowledged 2 VFs, the kernel has $_kv" ;;
	any) [ "$_kv" = 4 ] || [ "$_kv" = 2 ] || echo "a failed apply left $_kv VFs (neither 4 nor 2)" ;;
	esac
}
fw_reset() { cv host-apply config=/tmp/four.yaml >/dev/null 2>&1 || fail "reset to 4 VFs: $(cv host-apply config=/tmp/four.yaml 2>&1)"; }
fw_walk host-apply applied cv host-apply config=/tmp/two.yaml

fw_reset
expect_eq "4 VFs again, every one free" "$(vfs_now | wc -l):$(for vf in $(vfs_now); do curtype "$vf"; done | sort -u)" "4:0"
expect_write_ok "sriov_numvfs=0 at the end" $P/sriov_numvfs 0
