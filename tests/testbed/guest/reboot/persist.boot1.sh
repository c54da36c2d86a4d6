#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reboot persistence demo, boot 1 of 2: record state on the persistent
# share (/state) and create a vGPU that will NOT survive the reboot.
# Run with:  tests/testbed/run --reboot guest/reboot/persist.boot1.sh guest/reboot/persist.boot2.sh
#   (or just tests/testbed/run guest/reboot/persist.boot1.sh)
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"

check "/state is a 9p mount" sh -c "grep -q ' /state 9p ' /proc/mounts"
expect_eq "this is boot 1" "$TESTBED_BOOT" 1
check_not "/state starts empty" test -e /state/boot1

check "load emulator" emu_load profile=p40
u=$(new_uuid)
check "create P40-2Q" emu_create 0000:41:00.0 nvidia-47 "$u"

{
	echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
	echo "mdev=$u"
	echo "type=nvidia-47"
	echo "parent=0000:41:00.0"
} > /state/boot1.tmp && mv /state/boot1.tmp /state/boot1
sync
check "state written" test -s /state/boot1
mkdir -p /state/dir/nested && echo data > /state/dir/nested/file
check "nested dirs on the share" test -f /state/dir/nested/file

# SQLite in WAL mode on the share (what a carve database on /state needs:
# 9p is mounted with cache=mmap so the -shm file can be mmap'ed shared).
if command -v sqlite3 >/dev/null; then
	check "sqlite3 WAL database on /state" sqlite3 /state/test.db \
		"PRAGMA journal_mode=WAL; CREATE TABLE vgpu(uuid TEXT PRIMARY KEY, type TEXT); INSERT INTO vgpu VALUES('$u', 'nvidia-47');"
	expect_eq "sqlite3 reads its row back" "$(sqlite3 /state/test.db 'SELECT type FROM vgpu')" nvidia-47
else
	skip "no sqlite3 in the guest"
fi
