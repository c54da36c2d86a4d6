#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# carve across a reboot, boot 1 of 2: carve's database lives on the
# persistent share (/state/carve.db, SQLite WAL on 9p); three VMs with
# vGPUs are started (two with vgpu_params, spread over both P40s), a fourth
# is started and shut down again, and a device is created behind carve's
# back.  What the kernel shows is recorded in /state/carve-boot1.* for boot 2.
# Run: tests/testbed/run guest/reboot/carve.boot1.sh
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve

export CARVE_DB=/state/carve.db
A=0000:41:00.0 B=0000:81:00.0

expect_eq "this is boot 1" "$TESTBED_BOOT" 1
check_not "no carve database on /state yet" test -e "$CARVE_DB"
check "load emulator profile=p40x2" emu_load profile=p40x2
G=$(cv gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
T=$(cvm vgpu-type-list --minimal model-name="GRID P40-12Q")
expect_match "P40-12Q type found" "$T" "????????-????-????-????-????????????"

# vm NAME [extra-args]: define and start a one-vGPU VM; prints its UUID.
vm() {
	_vm=$(cvm vm-create name-label="$1")
	cvm vgpu-create vm-uuid="$_vm" gpu-group-uuid="$G" vgpu-type-uuid="$T" ${2:+extra-args=$2} > /dev/null
	cv vm-start uuid="$_vm" > /dev/null || fail "vm-start $1"
	echo "$_vm"
}
R1=$(vm r1 frame_rate_limiter=0)
R2=$(vm r2 disable_vnc=1,frame_rate_limiter=1)
R3=$(vm r3)
R4=$(vm r4)
expect_cv_ok "shut down r3 (it must stay halted after the reboot)" cv vm-shutdown uuid="$R3"
expect_eq "running VMs" "$(cvm vm-list params=name-label power-state=running | xe_table name-label | sort | tr '\n' ' ')" "r1 r2 r4 "
O=$(new_uuid)
check "a device behind carve's back (P40-12Q on $B)" emu_create $B nvidia-52 "$O"

# the kernel's view: "uuid parent type params" per mdev
for d in /sys/bus/mdev/devices/*; do
	u=${d##*/}
	[ "$u" = "$O" ] && continue
	echo "$u $(basename "$(dirname "$(readlink -f "$d")")") $(basename "$(readlink "$d/mdev_type")") $(cat "$d/nvidia/vgpu_params")"
done | sort > /state/carve-boot1.devices
expect_eq "three vGPUs of running VMs on the host" "$(grep -c . /state/carve-boot1.devices)" 3
expect_eq "r1's params in the driver" \
	"$(grep "^$(cvm vgpu-list --minimal vm-uuid="$R1") " /state/carve-boot1.devices | cut -d' ' -f4)" frame_rate_limiter=0
expect_eq "r2's params in the driver (canonical)" \
	"$(grep "^$(cvm vgpu-list --minimal vm-uuid="$R2") " /state/carve-boot1.devices | cut -d' ' -f4)" \
	frame_rate_limiter=1,disable_vnc=1
expect_eq "vGPUs on both GPUs (depth-first: two on $A, one on $B)" \
	"$(cut -d' ' -f2 /state/carve-boot1.devices | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')" \
	"${A}x2 ${B}x1 "
kern_avail_list nvidia-52 $A $B > /state/carve-boot1.avail
echo "$R1 $R2 $R3 $R4" > /state/carve-boot1.vms
expect_eq "nvidia-52 available_instances with the orphan [41 81]" "$(cat /state/carve-boot1.avail)" "0 0"
expect_eq "SQLite store on /state in WAL mode" "$(sqlite3 "$CARVE_DB" 'PRAGMA journal_mode' 2>&1)" wal
sync
