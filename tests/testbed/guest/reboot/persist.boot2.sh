#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reboot persistence demo, boot 2 of 2: the state written in boot 1 is
# there, the kernel is fresh (new boot_id, the vGPU is gone), and the vGPU
# can be re-created from the recorded state (what carve's reconcile does).
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"

expect_eq "this is boot 2" "$TESTBED_BOOT" 2
check "state from boot 1 survived" test -s /state/boot1
expect_eq "nested file survived" "$(cat /state/dir/nested/file 2>/dev/null)" data

old_boot=$(sed -n 's/^boot_id=//p' /state/boot1)
u=$(sed -n 's/^mdev=//p' /state/boot1)
t=$(sed -n 's/^type=//p' /state/boot1)
p=$(sed -n 's/^parent=//p' /state/boot1)
check "recorded boot_id differs from this boot" test "$old_boot" != "$(cat /proc/sys/kernel/random/boot_id)"
check_not "module not loaded yet after reboot" test -d /sys/module/carve_vgpu_emu
check "load emulator" emu_load profile=p40
check_not "vGPU $u did not survive the reboot" test -e "/sys/bus/mdev/devices/$u"
expect_eq "GPU is idle after reboot" "$(emu_avail "$p" "$t")" 12
check "re-create the recorded vGPU with the same uuid" emu_create "$p" "$t" "$u"
expect_eq "re-created with the recorded type" \
	"$(basename "$(readlink "/sys/bus/mdev/devices/$u/mdev_type")")" "$t"

if command -v sqlite3 >/dev/null; then
	expect_eq "sqlite3 WAL database survived the reboot" \
		"$(sqlite3 /state/test.db "SELECT type FROM vgpu WHERE uuid = '$u'")" nvidia-47
	expect_eq "database integrity" "$(sqlite3 /state/test.db 'PRAGMA integrity_check')" ok
else
	skip "no sqlite3 in the guest"
fi
