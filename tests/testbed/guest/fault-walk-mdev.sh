#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Injected sysfs faults on the real kernel mdev core (carve_vgpu_emu, an
# emulated P40): vm-start, vm-shutdown and host-reconcile (of a running
# VM's vGPU removed behind carve's back) are each run with the N-th sysfs
# operation failing, N walked over the command's operations (lib.sh,
# fw_walk).  After each, a reconcile with no fault must leave: no VM half
# started or stopped, an acknowledged start running and an acknowledged
# shutdown halted, exactly the mdevs carve's running VMs own (none lost,
# no orphan, a bystander VM's untouched), nothing left for a second
# reconcile; a refusal names the file and the errno.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/tmp/carve-fw-mdev.db

check "load emulator profile=p40" emu_load profile=p40
G=$(cv gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
T=$(cvm vgpu-type-list --minimal model-name="GRID P40-2Q")
new_vm() {
	VM=$(cvm vm-create name-label="$1")
	cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$T" > /dev/null
}
new_vm bystander; BY=$VM
expect_cv_ok "bystander VM started" cv vm-start uuid="$BY"
new_vm walked; FW_VM=$VM
FW_VGPU=$(cvm vgpu-list --minimal vm-uuid="$FW_VM")

fw_kern_devs() { ls /sys/bus/mdev/devices 2>/dev/null | sort; }
fw_carve_devs() { fw_running_vgpus 1; }
halted() { [ "$(fw_vm_state "$FW_VM")" = halted ] || cv vm-shutdown uuid="$FW_VM" > /dev/null; }
running() { [ "$(fw_vm_state "$FW_VM")" = running ] || cv vm-start uuid="$FW_VM" > /dev/null; }
lost() { running; emu_remove "$FW_VGPU"; }

fw_remove_dev() { emu_remove "$1"; }

fw_walk_lifecycle
expect_cv_ok "bystander shut down" cv vm-shutdown uuid="$BY"
expect_eq "no mdev left" "$(mdev_count)" 0
