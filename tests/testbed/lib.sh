# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Helpers for testbed guest scripts (busybox sh inside the QEMU guest).
# Guest scripts start with:   . "$TESTBED_LIB"
#
# Every check appends "PASS <script>: <what>" or "FAIL <script>: <what>" to
# $TESTBED_RESULTS; /init counts them into the TESTBED-RESULT line.

: "${TESTBED_RESULTS:=/run/testbed/results}"
: "${TESTBED_SCRIPT:=$(basename "$0")}"
TB_ERR=

ok() {
	echo "PASS: $*"
	echo "PASS $TESTBED_SCRIPT: $*" >> "$TESTBED_RESULTS"
}

fail() {
	echo "FAIL: $*"
	echo "FAIL $TESTBED_SCRIPT: $*" >> "$TESTBED_RESULTS"
}

# Informational line; does not count.
note() { echo "NOTE: $*"; }

# skip WHAT: counted as skipped (neither pass nor fail), but visible.  A boot
# whose checks were all skipped is reported as skipped by the host.
skip() {
	echo "SKIP: $*"
	echo "SKIP $TESTBED_SCRIPT: $*" >> "$TESTBED_RESULTS"
}

# check DESC CMD...: pass if CMD succeeds.
check() {
	_d=$1; shift
	if "$@"; then ok "$_d"; else fail "$_d (failed: $*)"; fi
}

# check_not DESC CMD...: pass if CMD fails.
check_not() {
	_d=$1; shift
	if "$@"; then fail "$_d (unexpectedly succeeded: $*)"; else ok "$_d"; fi
}

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}

# expect_match DESC ACTUAL GLOB
expect_match() {
	# shellcheck disable=SC2254
	case $2 in
	$3) ok "$1" ;;
	*) fail "$1 (got '$2', expected to match '$3')" ;;
	esac
}

# sysfs_write FILE VALUE: write like userspace does (one write(2)); returns
# the status and leaves the error text (e.g. "No space left on device") in
# $TB_ERR.
# (The shell's own echo/printf builtins do not report errno, so use dd.)
# (No temp file: safe to call from concurrent subshells.)
sysfs_write() {
	TB_ERR=
	_out=$(printf '%s\n' "$2" | dd of="$1" bs=65536 2>&1 && echo __TB_WRITE_OK__)
	case $_out in
	*__TB_WRITE_OK__*) return 0 ;;
	esac
	TB_ERR=$(echo "$_out" | grep -E 'error|can.t open' | sed -e 's/^.*: //' | tail -n1)
	[ -n "$TB_ERR" ] || TB_ERR="write failed: $(echo "$_out" | tr '\n' ' ')"
	return 1
}

# expect_write_ok DESC FILE VALUE
expect_write_ok() {
	if sysfs_write "$2" "$3"; then ok "$1"; else fail "$1 (write '$3' > $2: $TB_ERR)"; fi
}

# expect_write_err DESC FILE VALUE ERRTEXT: the write must fail with ERRTEXT
# (strerror text, e.g. "Invalid argument", "No space left on device",
# "Device or resource busy", "I/O error", "File exists").
expect_write_err() {
	if sysfs_write "$2" "$3"; then
		fail "$1 (write '$3' > $2 unexpectedly succeeded)"
	elif [ -n "$4" ] && [ "$TB_ERR" != "$4" ]; then
		fail "$1 (write '$3' > $2 failed with '$TB_ERR', expected '$4')"
	else
		ok "$1 ($TB_ERR)"
	fi
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# ---- carve_vgpu_emu helpers ------------------------------------------------

# shellcheck disable=SC2034  # used by guest scripts
EMU_PARAMS=/sys/module/carve_vgpu_emu/parameters

# emu_load [module params...]: (re)load the emulated vGPU driver.
emu_load() {
	emu_unload
	modprobe carve_vgpu_emu "$@"
}

emu_unload() {
	if [ -d /sys/module/carve_vgpu_emu ]; then
		rmmod carve_vgpu_emu
	fi
}

# Parent directory of an emulated GPU (PCI-address-named mdev parent).
emu_parent() { echo "/sys/class/mdev_bus/$1"; }

# emu_type_dir PARENT TYPE -> .../mdev_supported_types/TYPE
emu_type_dir() { echo "/sys/class/mdev_bus/$1/mdev_supported_types/$2"; }

# emu_avail PARENT TYPE -> available_instances
emu_avail() { cat "$(emu_type_dir "$1" "$2")/available_instances"; }

# emu_create PARENT TYPE UUID
emu_create() { sysfs_write "$(emu_type_dir "$1" "$2")/create" "$3"; }

# emu_remove UUID
emu_remove() { sysfs_write "/sys/bus/mdev/devices/$1/remove" 1; }

# Number of mdev devices that exist right now.
mdev_count() { ls /sys/bus/mdev/devices 2>/dev/null | wc -l; }

# csv_types BOARD: "type_id|name|fb|heads|maxres|frl|maxinst" per line from
# the repo's type table (the same CSV the module's table is generated from).
csv_types() {
	awk -F, -v b="$1" 'NR > 1 && $3 == b {
		print $1 "|" $2 "|" $5 "|" $6 "|" $7 "|" $8 "|" $11 }' \
		"$TESTBED_DATA/nvidia-vgpu-types.csv"
}
