#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The carve binaries packed into the initramfs run inside the guest (their
# shared libraries and the dynamic loader were found by ldd), and see the
# emulated host.  Skipped when the host had no carve binaries to pack.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"

if [ ! -x /usr/local/bin/carve ]; then
	skip "no carve binary in the initramfs (build it first, or set CARVE_BIN_DIR)"
	exit 0
fi

out=$(carve -h 2>&1)
rc=$?
expect_eq "carve -h runs in the guest (libraries resolved)" "$rc" 0
expect_match "carve -h prints usage" "$out" "*usage: carve*"
# -h is the lean client alone; in-process, carve executes carve-engine,
# whose libraries (store, YAML, libpq) were packed for it.
expect_cv_ok "carve --local runs carve-engine in the guest" cvm vm-list
check "emulator loads next to carve" emu_load profile=p40
if [ -x /usr/local/bin/carved ]; then
	out=$(carved -h 2>&1)
	case $out in
	*"not found"*|*"No such file"*|*"error while loading shared"*)
		fail "carved does not start: $out" ;;
	*) ok "carved starts (loader/libraries ok)" ;;
	esac
fi
