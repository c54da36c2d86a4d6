#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# carve across a reboot, boot 2 of 2: a fresh kernel (every mdev is gone),
# carve's database from boot 1 on /state.  `carve host-reconcile` must
# recreate the vGPUs of the VMs that were running, with the same UUIDs,
# parents, types and vgpu_params, leave the halted VM alone, and leave the
# kernel's available_instances where boot 1 had them (minus the device that
# carve never owned).  A second reconcile has nothing to do.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve

export CARVE_DB=/state/carve.db
A=0000:41:00.0 B=0000:81:00.0

expect_eq "this is boot 2" "$TESTBED_BOOT" 2
check "carve's database survived the reboot" test -s "$CARVE_DB"
check "boot 1's record survived" test -s /state/carve-boot1.devices
expect_eq "database integrity" "$(sqlite3 "$CARVE_DB" 'PRAGMA integrity_check' 2>&1)" ok
check_not "module not loaded after the reboot" test -d /sys/module/carve_vgpu_emu
check "load emulator profile=p40x2" emu_load profile=p40x2
expect_eq "no mdev after the reboot" "$(mdev_count)" 0
expect_eq "nvidia-52 available_instances on the fresh GPUs [41 81]" "$(kern_avail_list nvidia-52 $A $B)" "2 2"
read -r R1 R2 R3 R4 < /state/carve-boot1.vms
expect_eq "the store still says r1 r2 r4 run" \
	"$(cvm vm-list params=name-label power-state=running | xe_table name-label | sort | tr '\n' ' ')" "r1 r2 r4 "

cv_run cv host-reconcile
expect_eq "host-reconcile succeeds" "$CV_RC" 0
echo "$CV_OUT" | sed 's/^/    /'
expect_eq "three vGPUs recreated" "$(echo "$CV_OUT" | grep -c 'action=recreated')" 3
for vm in $R1 $R2 $R4; do
	expect_match "reconcile recreated the vGPU of $vm" "$CV_OUT" "*action=recreated vm=$vm *"
done
case $CV_OUT in *"vm=$R3 "*) fail "reconcile touched the halted VM r3: $CV_OUT" ;; *) ok "halted r3 left alone" ;; esac

for d in /sys/bus/mdev/devices/*; do
	u=${d##*/}
	echo "$u $(basename "$(dirname "$(readlink -f "$d")")") $(basename "$(readlink "$d/mdev_type")") $(cat "$d/nvidia/vgpu_params")"
done | sort > /tmp/devices
if diff /state/carve-boot1.devices /tmp/devices > /tmp/devices.diff; then
	ok "same UUIDs, parents, types and vgpu_params as before the reboot ($(grep -c . /tmp/devices) vGPUs)"
else
	fail "devices differ from boot 1: $(tr '\n' ' ' < /tmp/devices.diff)"
fi
# boot 1 had its orphan on $B too; carve does not recreate what it never owned
expect_eq "nvidia-52 available_instances [41 81] (boot 1 minus the orphan)" \
	"$(kern_avail_list nvidia-52 $A $B)" "0 1"
G=$(cvm gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
T=$(cvm vgpu-type-list --minimal model-name="GRID P40-12Q")
expect_eq "carve's remaining capacity == the kernel's" \
	"$(cv gpu-group-get-remaining-capacity uuid="$G" vgpu-type-uuid="$T")" "$(kern_avail_sum nvidia-52)"
expect_eq "vGPUs of running VMs are 'running' again" \
	"$(cvm vgpu-list params=state | xe_table state | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')" \
	"definedx1 runningx3 "
cv_run cv host-reconcile
case $CV_RC:$CV_OUT in
0:*recreated*|0:*orphan*) fail "second reconcile still has work: $CV_OUT" ;;
0:*) ok "a second host-reconcile has nothing to do" ;;
*) fail "second host-reconcile: status $CV_RC: $CV_OUT" ;;
esac
expect_cv_ok "vm-shutdown r1 after the reboot" cv vm-shutdown uuid="$R1"
expect_eq "r1's vGPU removed, capacity back [41 81]" "$(kern_avail_list nvidia-52 $A $B)" "1 1"
expect_cv_ok "vm-start r3 after the reboot" cv vm-start uuid="$R3"
expect_eq "r3 takes the freed slot [41 81]" "$(kern_avail_list nvidia-52 $A $B)" "0 1"
for vm in $R2 $R3 $R4; do cv vm-shutdown uuid="$vm" > /dev/null || fail "shutdown $vm"; done
expect_eq "all shut down: no mdev left" "$(mdev_count)" 0
