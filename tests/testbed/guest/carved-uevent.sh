#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# carved follows the kernel's uevents (src/host/uevent.h): with its refresh
# timer at an hour, so that only an event can be what makes it look, it
# notices within DEADLINE_MS what is done behind its back through sysfs - an
# mdev created and removed on an emulated P40 (remaining capacity of
# P40-1Q through the CLI over carved's socket), SR-IOV VFs enabled and
# disabled on the NVMe PF declared as an L40S (its sriov-numvfs) - and it
# does not with reconcile.uevents: false (the control; SIGHUP turns them on).
# A storm of synthetic uevents (echo change > .../uevent) is coalesced:
# carved answers during it, rediscovers at most about once per 100 ms, and
# its memory does not grow.
#
# Prints the time from the sysfs write to carved's "rediscovered" log line
# (stamped as it arrives) and to the first CLI answer that shows the change
# (an upper bound: one CLI call costs 0.15-0.5 s under TCG), and keeps the
# raw uevents the kernel sent (uevent-dump) in /state/uevents.txt.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
[ -x /usr/local/bin/carved ] || { skip "no carved binary in the initramfs"; exit 0; }

P=0000:41:00.0 TY=nvidia-46 PF=0000:00:04.0
SOCK=/run/carved-ue.sock CONF=/tmp/carved-ue.conf LOG=/tmp/carved-ue.log
DEADLINE_MS=3000
# The CLI must go to carved: a store or host in its environment would make
# it run (and discover) in-process.
unset CARVE_DB CARVE_SYSFS_ROOT CARVE_HOST_PROFILE CARVE_NVIDIA_VGPU_PFS

check "modprobe nvme" modprobe nvme
check "load emulator profile=p40 vf_pfs=$PF" emu_load profile=p40 vf_pfs=$PF
sysfs_write /sys/bus/pci/devices/$PF/sriov_numvfs 0

# The kernel's own account, for the record (and for tests/unit/test-uevent.c).
if command -v uevent-dump > /dev/null; then
	rm -f /tmp/ue-ready
	uevent-dump 170 /tmp/ue-ready > /tmp/uevents.txt &
	DUMP=$!
	i=0; while [ ! -e /tmp/ue-ready ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
fi

conf() {	# conf UEVENTS
	printf 'log-level: debug\nhost:\n  nvidia-vgpu-pfs: ["%s=L40S"]\nreconcile:\n  refresh-interval-s: 3600\n  interval-s: 0\n  uevents: %s\n' \
		"${PF#0000:}" "$1" > $CONF
}
conf false
# carved's log lines, each stamped with tb-clock when it arrives
mkfifo /tmp/carved-ue.fifo
(while IFS= read -r line; do echo "$(tb_ns) $line"; done < /tmp/carved-ue.fifo > $LOG) &
carved --config $CONF --socket $SOCK --db /tmp/carved-ue.db --hostname testbed > /tmp/carved-ue.fifo 2>&1 &
CARVED=$!
i=0; while [ ! -S $SOCK ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -S $SOCK ]; then
	fail "carved did not open $SOCK: $(tail -n 5 $LOG)"
	exit 0
fi
c() { carve --socket $SOCK "$@"; }

PG=$(c pgpu-list --minimal pci-id=$P)
PF_PG=$(c pgpu-list --minimal pci-id=$PF)
T=$(c vgpu-type-list --minimal model-name="GRID P40-1Q")
expect_match "carved sees the P40, the declared L40S PF and P40-1Q" "$PG/$PF_PG/$T" "????????-*/????????-*/????????-*"
remaining() { c pgpu-param-get uuid="$PG" param-name=remaining-VGPU-capacities | tr ';' '\n' | sed -n "s/^ *$T: //p"; }
numvfs() { c pgpu-param-get uuid="$PF_PG" param-name=sriov-numvfs; }
expect_eq "P40-1Q: 24 remaining on the empty P40" "$(remaining)" 24
expect_eq "the PF has no VFs" "$(numvfs)" 0

# wait_for WHAT CMD WANT: poll CMD (a carve call) until it prints WANT or
# DEADLINE_MS have passed since $T0; sets WAITED_MS (-1: never).
wait_for() {
	WAITED_MS=-1
	while :; do
		_got=$($2)
		_now=$(tb_ns)
		if [ "$_got" = "$3" ]; then WAITED_MS=$(( (_now - T0) / 1000000 )); return 0; fi
		[ $(( (_now - T0) / 1000000 )) -ge $DEADLINE_MS ] && { WAIT_GOT=$_got; return 1; }
		sleep 0.05
	done
}
# log_ms: ms from $T0 to the end of the first rediscovery that started
# after it ("... rediscovered ... in N ms", stamped when logged).
log_ms() {
	awk -v t0="$T0" '/kernel uevents: rediscovered/ && $1 - $(NF - 1) * 1000000 >= t0 {
		printf "%d", ($1 - t0) / 1000000; exit }' $LOG
}
# settle: let the trailing rediscoveries of what came before finish
settle() { sleep 0.5; T0=$(tb_ns); }
# timed WHAT CMD WANT: check that carved shows WANT within DEADLINE_MS of T0
timed() {
	if wait_for "$1" "$2" "$3"; then
		_l=$(log_ms)
		ok "$1 within ${WAITED_MS} ms (carved rediscovered after ${_l:-?} ms)"
		echo "uevent-timing: $1: rediscovered ${_l:-?} ms, visible through the CLI ${WAITED_MS} ms" >> /tmp/timings.txt
	else
		fail "$1: carved still shows '$WAIT_GOT' after ${DEADLINE_MS} ms"
	fi
}

# 1. the control: uevents off, timer at an hour - carved does not notice
U0=$(new_uuid)
check "mdev $U0 created behind carved" emu_create $P $TY "$U0"
sleep 2
expect_eq "uevents off: after 2 s carved still shows 24 remaining" "$(remaining)" 24
check_not "uevents off: carved does not listen" grep -q 'kernel uevents: listening' $LOG

# 2. SIGHUP with uevents: true - now an event is enough
conf true
kill -HUP $CARVED
i=0; while ! grep -q 'kernel uevents: listening' $LOG && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "SIGHUP with reconcile.uevents: true: carved listens" grep -q 'kernel uevents: listening' $LOG
U1=$(new_uuid)
settle
check "mdev $U1 created behind carved" emu_create $P $TY "$U1"
timed "mdev create noticed (22 remaining: both mdevs)" remaining 22
settle
check "mdev $U1 removed behind carved" emu_remove "$U1"
timed "mdev remove noticed (23 remaining)" remaining 23
settle
check "mdev $U0 removed behind carved" emu_remove "$U0"
timed "mdev remove noticed (24 remaining)" remaining 24

# 3. SR-IOV: VFs appear (add of each VF, bind to the vendor driver, change of
# the PF) and go
settle
expect_write_ok "sriov_numvfs=2 behind carved" /sys/bus/pci/devices/$PF/sriov_numvfs 2
timed "VFs enabled noticed (sriov-numvfs 2)" numvfs 2
settle
expect_write_ok "sriov_numvfs=0 behind carved" /sys/bus/pci/devices/$PF/sriov_numvfs 0
timed "VFs disabled noticed (sriov-numvfs 0)" numvfs 0

# 4. a storm: STORM synthetic change events of an mdev, as fast as the shell
# writes them; carved keeps answering, coalesces, and does not grow
[ -n "${DUMP:-}" ] && kill $DUMP 2> /dev/null && DUMP=
STORM=3000
U2=$(new_uuid)
emu_create $P $TY "$U2" || fail "mdev for the storm: $TB_ERR"
sleep 0.5
rss() { awk '/^VmRSS:/ { print $2 }' /proc/$CARVED/status; }
rss0=$(rss)
n0=$(grep -c 'kernel uevents: rediscovered' $LOG)
t0=$(tb_ns)
(i=0; while [ $i -lt $STORM ]; do echo change > /sys/bus/mdev/devices/$U2/uevent; i=$((i + 1)); done) &
STORMER=$!
ta=$(tb_ns)
during=$(remaining)
tb=$(tb_ns)
wait $STORMER
t1=$(tb_ns)
sleep 1
n1=$(grep -c 'kernel uevents: rediscovered' $LOG)
storm_ms=$(( (t1 - t0) / 1000000 ))
expect_eq "during the storm carved answers (23 remaining)" "$during" 23
note "a CLI call during the storm took $(( (tb - ta) / 1000000 )) ms"
rediscoveries=$((n1 - n0))
# at most one per 100 ms of storm, plus the leading and trailing edges
limit=$(( storm_ms / 100 + 3 ))
if [ $rediscoveries -ge 1 ] && [ $rediscoveries -le $limit ]; then
	ok "storm of $STORM events in $storm_ms ms coalesced into $rediscoveries rediscoveries (at most $limit)"
else
	fail "storm of $STORM events in $storm_ms ms: $rediscoveries rediscoveries (want 1..$limit)"
fi
rss1=$(rss)
if [ $((rss1 - rss0)) -le 1024 ]; then
	ok "carved's memory after the storm: ${rss0} -> ${rss1} KiB"
else
	fail "carved's memory grew in the storm: ${rss0} -> ${rss1} KiB"
fi
echo "uevent-timing: storm: $STORM events in $storm_ms ms, $rediscoveries rediscoveries, RSS $rss0 -> $rss1 KiB" >> /tmp/timings.txt
emu_remove "$U2"

kill $CARVED
wait $CARVED
expect_eq "carved stops cleanly" "$?" 0
[ -n "${DUMP:-}" ] && kill $DUMP 2> /dev/null
cat /tmp/timings.txt
if grep -q ' /state ' /proc/mounts; then
	cp /tmp/uevents.txt /state/uevents.txt 2> /dev/null
	cp $LOG /state/carved-uevent.log
fi
