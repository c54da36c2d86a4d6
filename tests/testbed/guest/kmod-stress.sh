#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# carve_vgpu_emu under pressure: concurrent creates racing for one GPU's
# framebuffer, remove while a "VM" holds the vfio device open, rmmod refused
# while open, repeated load/create/unload cycles.  /init fails the boot if
# the kernel logged any WARN/BUG/oops.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"

P=0000:41:00.0
T1=nvidia-46	# P40-1Q, 24 fit

check "load p40" emu_load profile=p40

# ---- 32 concurrent creates: exactly 24 win --------------------------------
rm -rf /tmp/race && mkdir -p /tmp/race
i=0
while [ $i -lt 32 ]; do
	(
		u=$(new_uuid)
		if emu_create $P $T1 "$u"; then echo "$u" > /tmp/race/ok.$i
		else echo "$TB_ERR" > /tmp/race/err.$i; fi
	) &
	i=$((i + 1))
done
wait
expect_eq "concurrent creates: 24 succeeded" "$(find /tmp/race -name 'ok.*' | wc -l)" 24
expect_eq "concurrent creates: 8 refused" "$(find /tmp/race -name 'err.*' | wc -l)" 8
expect_eq "refusals are ENOSPC" "$(cat /tmp/race/err.* | sort -u)" "No space left on device"
expect_eq "24 mdevs" "$(mdev_count)" 24
expect_eq "framebuffer exactly full" "$(cat "$(emu_parent $P)/carve_emu/fb_used_mib")" 24576
expect_eq "available 0" "$(emu_avail $P $T1)" 0

# concurrent removes
for f in /tmp/race/ok.*; do ( emu_remove "$(cat "$f")" ) & done
wait
expect_eq "concurrent removes: none left" "$(mdev_count)" 0
expect_eq "concurrent removes: all framebuffer back" "$(cat "$(emu_parent $P)/carve_emu/fb_used_mib")" 0
expect_eq "concurrent removes: available 24" "$(emu_avail $P $T1)" 24

# ---- a "running VM" holds the vfio device ---------------------------------
if [ -x /usr/local/bin/vfio-probe ]; then
	u=$(new_uuid)
	check "create vGPU for open tests" emu_create $P $T1 "$u"
	rm -f /tmp/release /tmp/removed
	vfio-probe "$u" /tmp/release > /tmp/hold.out 2>&1 &
	pid=$!
	i=0
	while ! grep -q ok /tmp/hold.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	check "device opened through VFIO" grep -q 'vfio-probe: ok' /tmp/hold.out
	check_not "rmmod refused while a vGPU is open" rmmod carve_vgpu_emu
	check "module still loaded" test -d /sys/module/carve_vgpu_emu
	( emu_remove "$u" && touch /tmp/removed ) &
	rpid=$!
	sleep 1
	check_not "remove blocks while the VM holds the device" test -e /tmp/removed
	# Real kernel order: device_del() drops the /sys/bus/mdev/devices link
	# first, then unbinds (our remove blocks in vfio_unregister_group_dev),
	# and only then deletes the device directory under its parent.
	check_not "bus link already gone while remove blocks" test -e "/sys/bus/mdev/devices/$u"
	check "device dir under the parent still there while held" test -d "/sys/devices/platform/$P/$u"
	touch /tmp/release
	wait $pid
	expect_eq "holder exited cleanly" "$?" 0
	wait $rpid
	check "remove completed once the VM let go" test -e /tmp/removed
	check_not "device gone" test -e "/sys/devices/platform/$P/$u"
	expect_eq "available 24 after remove" "$(emu_avail $P $T1)" 24
else
	skip "vfio-probe missing: open/remove/rmmod interplay not tested"
fi

# ---- load / create / unload cycles -----------------------------------------
good=1
n=0
while [ $n -lt 10 ]; do
	emu_load profile=p40x2 || { good=0; fail "cycle $n: load"; break; }
	for p in 0000:41:00.0 0000:81:00.0; do
		emu_create $p nvidia-49 "$(new_uuid)" || { good=0; fail "cycle $n: create on $p: $TB_ERR"; }
		emu_create $p nvidia-49 "$(new_uuid)" || { good=0; fail "cycle $n: create on $p: $TB_ERR"; }
	done
	[ "$(mdev_count)" = 4 ] || { good=0; fail "cycle $n: $(mdev_count) mdevs"; }
	emu_unload || { good=0; fail "cycle $n: rmmod"; break; }
	[ "$(mdev_count)" = 0 ] || { good=0; fail "cycle $n: mdevs left after rmmod"; }
	n=$((n + 1))
done
[ $good = 1 ] && ok "10 load/create/rmmod cycles with live vGPUs"
expect_eq "every unload was clean" "$(dmesg | grep -c 'carve_vgpu_emu: unloaded cleanly')" \
	"$(dmesg | grep -c 'carve_vgpu_emu: loaded:')"
check_not "no vGPU leak reported" sh -c "dmesg | grep -q 'vGPUs still allocated'"
