#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# carve_vgpu_emu on the real VFIO-mdev core, plain shell: discovery layout,
# NVIDIA description format, create/remove, available_instances accounting,
# homogeneous and full-GPU refusals, vgpu_params, vfio open, rmmod.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"

P=0000:41:00.0
PD=$(emu_parent $P)
T1=nvidia-46	# GRID P40-1Q, 1024M, 24 per GPU
T2=nvidia-47	# GRID P40-2Q, 2048M, 12 per GPU
T24=nvidia-53	# GRID P40-24Q, whole GPU

check "modprobe carve_vgpu_emu profile=p40" emu_load profile=p40

# ---- parent: PCI-like attributes ------------------------------------------
check "parent $P under /sys/class/mdev_bus" test -d "$PD"
expect_eq "vendor" "$(cat $PD/vendor)" 0x10de
expect_eq "device (Tesla P40)" "$(cat $PD/device)" 0x1b38
expect_eq "subsystem_vendor" "$(cat $PD/subsystem_vendor)" 0x10de
expect_match "subsystem_device" "$(cat $PD/subsystem_device)" "0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
expect_eq "class (3D controller)" "$(cat $PD/class)" 0x030200
expect_match "numa_node" "$(cat $PD/numa_node)" "*[0-9]"
expect_eq "parent bound to driver 'nvidia'" "$(basename "$(readlink $PD/driver)")" nvidia
check_not "vendor is read-only" sysfs_write $PD/vendor 0x1234

# ---- type table: every P40 row of the CSV, nothing else -----------------
ntypes=$(ls $PD/mdev_supported_types | wc -l)
nexp=$(csv_types P40 | wc -l)
expect_eq "number of P40 types = CSV rows" "$ntypes" "$nexp"
bad=0
csv_types P40 > /tmp/p40.types
while IFS='|' read -r id name fb heads res frl maxi; do
	d=$PD/mdev_supported_types/$id
	[ -d "$d" ] || { fail "type dir $id missing"; bad=1; continue; }
	n=$(cat "$d/name")
	[ "$n" = "$name" ] || { fail "$id name '$n' != '$name'"; bad=1; }
	want="num_heads=$heads, frl_config=$frl, framebuffer=${fb}M, max_resolution=$res, max_instance=$maxi"
	got=$(cat "$d/description")
	[ "$got" = "$want" ] || { fail "$id description '$got' != '$want'"; bad=1; }
	a=$(cat "$d/available_instances")
	[ "$a" = "$maxi" ] || { fail "$id available_instances $a != $maxi"; bad=1; }
	[ "$(cat "$d/device_api")" = vfio-pci ] || { fail "$id device_api"; bad=1; }
	[ -d "$d/devices" ] && [ -f "$d/create" ] || { fail "$id lacks devices/ or create"; bad=1; }
done < /tmp/p40.types
[ $bad = 0 ] && ok "all $nexp type dirs: name, description, available_instances, device_api, create, devices/"
expect_eq "nvidia-46 name" "$(cat "$(emu_type_dir $P $T1)/name")" "GRID P40-1Q"
expect_eq "nvidia-46 description (NVIDIA format)" "$(cat "$(emu_type_dir $P $T1)/description")" \
	"num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24"

# ---- create / homogeneous rule ------------------------------------------
U1=$(new_uuid)
check "create $T1 $U1" emu_create $P $T1 "$U1"
check "/sys/bus/mdev/devices/$U1 exists" test -d /sys/bus/mdev/devices/$U1
check "listed in $T1/devices" test -e "$(emu_type_dir $P $T1)/devices/$U1"
expect_eq "mdev_type link" "$(basename "$(readlink /sys/bus/mdev/devices/$U1/mdev_type)")" $T1
expect_eq "mdev bound to mdev driver 'nvidia'" "$(basename "$(readlink /sys/bus/mdev/devices/$U1/driver)")" nvidia
check "mdev has an iommu_group (vfio emulated IOMMU)" test -e /sys/bus/mdev/devices/$U1/iommu_group
grp=$(basename "$(readlink /sys/bus/mdev/devices/$U1/iommu_group)")
check "/dev/vfio/$grp exists" test -c /dev/vfio/$grp
check "vfio-dev node registered" sh -c "ls /sys/bus/mdev/devices/$U1/vfio-dev/ | grep -q vfio"
expect_eq "$T1 available 24 -> 23" "$(emu_avail $P $T1)" 23
expect_eq "homogeneous: $T2 available 0" "$(emu_avail $P $T2)" 0
expect_eq "homogeneous: $T24 available 0" "$(emu_avail $P $T24)" 0
expect_eq "fb_used_mib" "$(cat $PD/carve_emu/fb_used_mib)" 1024
expect_write_err "homogeneous: create $T2 refused" "$(emu_type_dir $P $T2)/create" "$(new_uuid)" "Device or resource busy"
expect_eq "refused create left no device" "$(mdev_count)" 1
expect_write_err "duplicate uuid refused" "$(emu_type_dir $P $T1)/create" "$U1" "File exists"
expect_write_err "malformed uuid refused" "$(emu_type_dir $P $T1)/create" "not-a-uuid" "Invalid argument"

# ---- vgpu_params ------------------------------------------------------------
VP=/sys/bus/mdev/devices/$U1/nvidia/vgpu_params
check "nvidia/vgpu_params exists" test -f $VP
expect_eq "vgpu_params initially empty" "$(cat $VP)" ""
expect_write_ok "vgpu_params: frame_rate_limiter=0" $VP "frame_rate_limiter=0"
expect_eq "vgpu_params read back" "$(cat $VP)" "frame_rate_limiter=0"
expect_write_ok "vgpu_params: two keys with blanks" $VP "frame_rate_limiter=0, disable_vnc=1"
expect_eq "vgpu_params canonical form" "$(cat $VP)" "frame_rate_limiter=0,disable_vnc=1"
expect_write_ok "vgpu_params: enable_uvm=1" $VP "enable_uvm=1,frame_rate_limiter=1"
expect_eq "vgpu_params replaced" "$(cat $VP)" "frame_rate_limiter=1,enable_uvm=1"
for bad in "bogus=1" "frame_rate_limiter" "frame_rate_limiter=" "frame_rate_limiter=7" \
	   "frame_rate_limiter=x" "frame_rate_limiter=0,,disable_vnc=1" \
	   "frame_rate_limiter=0,frame_rate_limiter=1" "=1"; do
	expect_write_err "vgpu_params rejects '$bad'" $VP "$bad" "Invalid argument"
done
expect_eq "vgpu_params unchanged after rejects" "$(cat $VP)" "frame_rate_limiter=1,enable_uvm=1"
expect_write_ok "vgpu_params: blank clears" $VP " "
expect_eq "vgpu_params cleared" "$(cat $VP)" ""

# ---- vfio: the mdev is a real vfio device ------------------------------------
if [ -x /usr/local/bin/vfio-probe ]; then
	out=$(vfio-probe "$U1" 2>&1)
	expect_match "vfio open + config space via VFIO API" "$out" "vfio-probe: ok vendor=0x10de device=0x1b38*"
	rm -f /tmp/release
	vfio-probe "$U1" /tmp/release > /tmp/probe.out 2>&1 &
	pid=$!
	i=0
	while ! grep -q ok /tmp/probe.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	expect_write_err "vgpu_params refused while device open" $VP "frame_rate_limiter=0" "Device or resource busy"
	touch /tmp/release
	wait $pid
	expect_eq "vfio-probe (held open) exit status" "$?" 0
	expect_write_ok "vgpu_params writable after close" $VP "frame_rate_limiter=0"
else
	skip "vfio-probe not in initramfs (no static libc on host)"
fi

# ---- fill the GPU: available_instances moves on every create ---------------
uuids=$U1
exp=23
good=1
while [ $exp -gt 0 ]; do
	u=$(new_uuid)
	emu_create $P $T1 "$u" || { good=0; fail "create #$((25 - exp)) failed: $TB_ERR"; break; }
	uuids="$uuids $u"
	exp=$((exp - 1))
	a=$(emu_avail $P $T1)
	[ "$a" = "$exp" ] || { good=0; fail "after create: available $a, expected $exp"; break; }
done
[ $good = 1 ] && ok "24 x $T1 created, available_instances counted down 23..0"
expect_eq "24 mdevs exist" "$(mdev_count)" 24
expect_eq "fb_used_mib full" "$(cat $PD/carve_emu/fb_used_mib)" 24576
expect_write_err "full GPU: 25th create refused" "$(emu_type_dir $P $T1)/create" "$(new_uuid)" "No space left on device"
expect_eq "full GPU: $T24 available 0" "$(emu_avail $P $T24)" 0

# ---- remove: available_instances moves back ------------------------------
set -- $uuids
check "remove one via /sys/bus/mdev/devices/<uuid>/remove" emu_remove "$1"
check_not "removed device gone" test -e /sys/bus/mdev/devices/$1
expect_eq "available back to 1" "$(emu_avail $P $T1)" 1
U2=$(new_uuid)
check "re-create after remove" emu_create $P $T1 "$U2"
expect_eq "available 0 again" "$(emu_avail $P $T1)" 0
shift
good=1
n=0
for u in "$@" "$U2"; do
	emu_remove "$u" || { good=0; fail "remove $u: $TB_ERR"; }
	n=$((n + 1))
	a=$(emu_avail $P $T1)
	[ "$a" = "$n" ] || { good=0; fail "after $n removes available $a"; break; }
done
[ $good = 1 ] && ok "removed all 24, available_instances counted up 1..24"
expect_eq "no mdevs left" "$(mdev_count)" 0
expect_eq "idle GPU: $T2 available 12 again" "$(emu_avail $P $T2)" 12
expect_eq "idle GPU: $T24 available 1 again" "$(emu_avail $P $T24)" 1

# whole-GPU type
U3=$(new_uuid)
check "create $T24 (P40-24Q)" emu_create $P $T24 "$U3"
expect_eq "$T1 available 0 next to a 24Q" "$(emu_avail $P $T1)" 0
expect_write_err "second $T24 refused" "$(emu_type_dir $P $T24)/create" "$(new_uuid)" "No space left on device"
check "remove $T24" emu_remove "$U3"

# ---- mixed-size mode (testbed knob) --------------------------------------
expect_eq "mixed mode off by default" "$(cat $PD/carve_emu/mixed)" 0
expect_write_ok "enable mixed mode on idle GPU" $PD/carve_emu/mixed 1
m1=$(new_uuid); m2=$(new_uuid); m3=$(new_uuid)
check "mixed: create P40-12Q" emu_create $P nvidia-52 "$m1"
expect_eq "mixed: P40-8Q available 1 (12 GiB left)" "$(emu_avail $P nvidia-51)" 1
expect_eq "mixed: P40-4Q available 3" "$(emu_avail $P nvidia-49)" 3
check "mixed: create P40-8Q next to 12Q" emu_create $P nvidia-51 "$m2"
check "mixed: create P40-4Q" emu_create $P nvidia-49 "$m3"
expect_eq "mixed: GPU full, P40-1Q available 0" "$(emu_avail $P $T1)" 0
expect_write_err "mixed: over budget refused" "$(emu_type_dir $P $T1)/create" "$(new_uuid)" "No space left on device"
expect_write_err "mixed mode not switchable while busy" $PD/carve_emu/mixed 0 "Device or resource busy"
for u in $m1 $m2 $m3; do emu_remove "$u"; done
expect_eq "mixed: all removed" "$(mdev_count)" 0
expect_write_ok "disable mixed mode" $PD/carve_emu/mixed 0

# ---- injected create failure (rollback tests) -----------------------------
expect_write_ok "fail_create=2" $EMU_PARAMS/fail_create 2
f1=$(new_uuid); f2=$(new_uuid); f3=$(new_uuid)
check "fail_create: 1st create ok" emu_create $P $T2 "$f1"
expect_write_err "fail_create: 2nd create fails" "$(emu_type_dir $P $T2)/create" "$f2" "Input/output error"
check_not "fail_create: no half-created device" test -e /sys/bus/mdev/devices/$f2
expect_eq "fail_create: accounting unchanged" "$(emu_avail $P $T2)" 11
check "fail_create: 3rd create ok" emu_create $P $T2 "$f3"
expect_write_ok "fail_create=0" $EMU_PARAMS/fail_create 0

# ---- rmmod with live devices: parents tear them down ---------------------
expect_eq "2 mdevs before rmmod" "$(mdev_count)" 2
check "rmmod carve_vgpu_emu with live vGPUs" rmmod carve_vgpu_emu
expect_eq "no mdevs after rmmod" "$(mdev_count)" 0
check_not "parent gone from mdev_bus" test -e "$PD"
check "module reports clean unload" sh -c "dmesg | grep -q 'carve_vgpu_emu: unloaded cleanly'"
check_not "no leak reported" sh -c "dmesg | grep -q 'vGPUs still allocated'"

# ---- other profiles ----------------------------------------------------------
check "load profile=m10" emu_load profile=m10
for a in 0000:3d:00.0 0000:3e:00.0 0000:3f:00.0 0000:40:00.0; do
	test -d "$(emu_parent $a)" || fail "m10 parent $a missing"
done
expect_eq "m10: 4 parents" "$(ls /sys/class/mdev_bus | wc -l)" 4
expect_eq "m10: device id" "$(cat "$(emu_parent 0000:3e:00.0)/device")" 0x13bd
expect_eq "m10: M10-1Q (nvidia-39) available 8 per GPU" "$(emu_avail 0000:3e:00.0 nvidia-39)" 8
mu=$(new_uuid)
check "m10: create on GPU 2" emu_create 0000:3e:00.0 nvidia-41 "$mu"
expect_eq "m10: other GPU unaffected" "$(emu_avail 0000:3d:00.0 nvidia-39)" 8
expect_eq "m10: homogeneous per GPU" "$(emu_avail 0000:3e:00.0 nvidia-39)" 0
check "m10: remove" emu_remove "$mu"

check "load profile=t4" emu_load profile=t4
expect_eq "t4: device id" "$(cat "$(emu_parent 0000:5e:00.0)/device")" 0x1eb8
expect_eq "t4: T4-1Q (nvidia-230) available 16" "$(emu_avail 0000:5e:00.0 nvidia-230)" 16

check "load profile=p40x2" emu_load profile=p40x2
expect_eq "p40x2: 2 parents" "$(ls /sys/class/mdev_bus | wc -l)" 2
expect_eq "p40x2: second GPU on NUMA node 1" "$(cat "$(emu_parent 0000:81:00.0)/numa_node")" 1

check "load profile=p40,t4 (mixed host)" emu_load profile=p40,t4
expect_eq "p40,t4: 2 parents" "$(ls /sys/class/mdev_bus | sort | tr '\n' ' ')" "0000:41:00.0 0000:5e:00.0 "

check "load mixed=1 sets the parent default" emu_load profile=t4 mixed=1
expect_eq "mixed=1 parent knob" "$(cat "$(emu_parent 0000:5e:00.0)/carve_emu/mixed")" 1

emu_unload
check_not "unknown profile refused" modprobe carve_vgpu_emu profile=nosuchgpu
check_not "module not left loaded" test -d /sys/module/carve_vgpu_emu
