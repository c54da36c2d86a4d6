#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Side by side in one guest: create and remove N vGPUs (GRID P40-1Q on one
# emulated P40) with
#   raw      echo $uuid > .../mdev_supported_types/nvidia-46/create,
#            echo 1 > /sys/bus/mdev/devices/$uuid/remove (shell builtins:
#            no process per vGPU, the limit; median of 5 rounds),
#   mdevctl  Debian's mdevctl start -u UUID -p PARENT -t TYPE / stop -u UUID,
#   carve    vm-start / vm-shutdown of N one-vGPU VMs (each a full carve
#            process: store, discovery, placement, intent/act/confirm, emit),
#   carved   the same verbs through carved (the CLI forwards them over
#            carved's unix socket; the daemon holds the store open),
#   batch    the same verbs through carved, all N from one `carve --batch`
#            on one kept-alive connection: what an orchestrator talking to
#            carved's API pays, without a process per vGPU.
# Prints per-vGPU costs and the ratios to raw, and keeps them in
# /state/bench.txt (host: build/testbed/state-bench-create/bench.txt).  The
# checks are about correctness (every device made and removed, capacity
# back); the timings are reported, not asserted.
#
# N defaults to 6 (what make check runs); for the numbers in
# docs/performance.md:
#   TESTBED_APPEND=testbed.bench_n=20 tests/testbed/run guest/bench-create.sh
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"

N=6
for arg in $(cat /proc/cmdline); do
	case $arg in testbed.bench_n=*) N=${arg#*=} ;; esac
done
case $N in ''|*[!0-9]*) fail "testbed.bench_n must be a number, not '$N'"; exit 0 ;; esac
[ "$N" -ge 1 ] && [ "$N" -le 24 ] || { fail "testbed.bench_n must be 1..24 (P40-1Q fits 24)"; exit 0; }

P=0000:41:00.0 TY=nvidia-46
TD=$(emu_type_dir $P $TY)
OUTF=/tmp/bench.txt
: > $OUTF
command -v tb-clock > /dev/null || note "no tb-clock: timing from /proc/uptime (10 ms resolution)"

check "load emulator profile=p40" emu_load profile=p40
# per_vgpu T0 T1: microseconds per vGPU between two tb_ns readings
per_vgpu() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n / 1000 }'; }
result() {	# result METHOD CREATE_US REMOVE_US
	echo "$1 $2 $3" >> $OUTF
	note "bench $1: create $2 us/vGPU, remove $3 us/vGPU (N=$N)"
}
uuids() { _i=0; while [ $_i -lt "$N" ]; do new_uuid; _i=$((_i + 1)); done; }

# ---- raw sysfs writes ------------------------------------------------------------------
# (cheap and noisy at ~2 ms per write under TCG: RAW_ROUNDS rounds, median)
RAW_ROUNDS=5
r=0
: > /tmp/raw.c; : > /tmp/raw.r
while [ $r -lt $RAW_ROUNDS ]; do
	U=$(uuids)
	t0=$(tb_ns)
	for u in $U; do echo "$u" > "$TD/create"; done
	t1=$(tb_ns)
	[ "$(mdev_count):$(emu_avail $P $TY)" = "$N:$((24 - N))" ] || fail "raw round $r: $(mdev_count) mdevs after $N creates"
	t2=$(tb_ns)
	for u in $U; do echo 1 > "/sys/bus/mdev/devices/$u/remove"; done
	t3=$(tb_ns)
	[ "$(mdev_count):$(emu_avail $P $TY)" = "0:24" ] || fail "raw round $r: $(mdev_count) mdevs left after remove"
	per_vgpu "$t0" "$t1" >> /tmp/raw.c; echo >> /tmp/raw.c
	per_vgpu "$t2" "$t3" >> /tmp/raw.r; echo >> /tmp/raw.r
	r=$((r + 1))
done
ok "raw: $RAW_ROUNDS rounds of $N creates and $N removes, capacity back each time"
median() { sort -n "$1" | sed -n "$(( (RAW_ROUNDS + 1) / 2 ))p"; }
note "raw rounds (us/vGPU): create $(tr '\n' ' ' < /tmp/raw.c)remove $(tr '\n' ' ' < /tmp/raw.r)"
result raw "$(median /tmp/raw.c)" "$(median /tmp/raw.r)"

# ---- mdevctl -------------------------------------------------------------------------------
if command -v mdevctl > /dev/null; then
	U=$(uuids)
	t0=$(tb_ns)
	for u in $U; do mdevctl start -u "$u" -p $P -t $TY || fail "mdevctl start $u"; done
	t1=$(tb_ns)
	expect_eq "mdevctl: $N vGPUs created" "$(mdev_count):$(emu_avail $P $TY)" "$N:$((24 - N))"
	expect_eq "mdevctl list shows them" "$(mdevctl list | grep -c " $P $TY ")" "$N"
	t2=$(tb_ns)
	for u in $U; do mdevctl stop -u "$u" || fail "mdevctl stop $u"; done
	t3=$(tb_ns)
	expect_eq "mdevctl: all removed" "$(mdev_count):$(emu_avail $P $TY)" "0:24"
	result mdevctl "$(per_vgpu "$t0" "$t1")" "$(per_vgpu "$t2" "$t3")"
else
	skip "no mdevctl in the guest (install Debian's mdevctl on the host; tests/testbed/install-deps does)"
fi

# ---- carve ---------------------------------------------------------------------------------------
if [ -x /usr/local/bin/carve ]; then
	export CARVE_DB=/tmp/carve-bench.db
	G=$(cv gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
	T=$(cvm vgpu-type-list --minimal model-name="GRID P40-1Q")
	VMS=
	i=0
	while [ $i -lt "$N" ]; do
		vm=$(cvm vm-create name-label=bench$i)
		cvm vgpu-create vm-uuid="$vm" gpu-group-uuid="$G" vgpu-type-uuid="$T" > /dev/null || fail "vgpu-create bench$i"
		VMS="$VMS $vm"
		i=$((i + 1))
	done
	t0=$(tb_ns)
	for vm in $VMS; do cv vm-start uuid="$vm" > /dev/null || fail "carve vm-start $vm"; done
	t1=$(tb_ns)
	expect_eq "carve: $N vGPUs created" "$(mdev_count):$(emu_avail $P $TY)" "$N:$((24 - N))"
	expect_eq "carve: $N VMs running" "$(cvm vm-list --minimal power-state=running | tr ',' '\n' | grep -c .)" "$N"
	t2=$(tb_ns)
	for vm in $VMS; do cv vm-shutdown uuid="$vm" > /dev/null || fail "carve vm-shutdown $vm"; done
	t3=$(tb_ns)
	expect_eq "carve: all removed" "$(mdev_count):$(emu_avail $P $TY)" "0:24"
	result carve "$(per_vgpu "$t0" "$t1")" "$(per_vgpu "$t2" "$t3")"

	# the same through carved: the CLI forwards each verb over carved's
	# unix socket (no store open, no discovery in the CLI process)
	if [ -x /usr/local/bin/carved ]; then
		SOCK=/run/carve-bench.sock
		carved --socket $SOCK --db "$CARVE_DB" --hostname testbed > /tmp/carved.log 2>&1 &
		CARVED=$!
		i=0
		while [ ! -S $SOCK ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		if [ -S $SOCK ]; then
			# CARVE_DB unset in the shell itself: an `env -u` per call
			# would time a second process start per vGPU
			unset CARVE_DB
			t0=$(tb_ns)
			for vm in $VMS; do carve --socket $SOCK vm-start uuid="$vm" > /dev/null || fail "carved vm-start $vm"; done
			t1=$(tb_ns)
			expect_eq "carve via carved: $N vGPUs created" "$(mdev_count):$(emu_avail $P $TY)" "$N:$((24 - N))"
			t2=$(tb_ns)
			for vm in $VMS; do carve --socket $SOCK vm-shutdown uuid="$vm" > /dev/null || fail "carved vm-shutdown $vm"; done
			t3=$(tb_ns)
			expect_eq "carve via carved: all removed" "$(mdev_count):$(emu_avail $P $TY)" "0:24"
			result carved "$(per_vgpu "$t0" "$t1")" "$(per_vgpu "$t2" "$t3")"
			: > /tmp/batch.start; : > /tmp/batch.stop
			for vm in $VMS; do
				echo "vm-start uuid=$vm" >> /tmp/batch.start
				echo "vm-shutdown uuid=$vm" >> /tmp/batch.stop
			done
			t0=$(tb_ns)
			carve --socket $SOCK --batch < /tmp/batch.start > /dev/null || fail "carved --batch vm-start"
			t1=$(tb_ns)
			expect_eq "carve --batch via carved: $N vGPUs created" "$(mdev_count):$(emu_avail $P $TY)" "$N:$((24 - N))"
			t2=$(tb_ns)
			carve --socket $SOCK --batch < /tmp/batch.stop > /dev/null || fail "carved --batch vm-shutdown"
			t3=$(tb_ns)
			expect_eq "carve --batch via carved: all removed" "$(mdev_count):$(emu_avail $P $TY)" "0:24"
			result batch "$(per_vgpu "$t0" "$t1")" "$(per_vgpu "$t2" "$t3")"
		else
			fail "carved did not open $SOCK: $(tail -n 5 /tmp/carved.log)"
		fi
		kill "$CARVED" 2> /dev/null
		wait "$CARVED" 2> /dev/null
		export CARVE_DB=/tmp/carve-bench.db
	fi

	# where a carve call's time goes: a process start alone (/bin/true, the
	# floor of any per-call tool, mdevctl included), + the client's own
	# start (carve help), + opening the store (--no-discover vm-list), +
	# sysfs discovery (pgpu-list); same N calls each.
	tt=$(tb_ns); i=0; while [ $i -lt "$N" ]; do /bin/true; i=$((i + 1)); done
	t0=$(tb_ns); i=0; while [ $i -lt "$N" ]; do carve help > /dev/null; i=$((i + 1)); done
	t1=$(tb_ns); i=0; while [ $i -lt "$N" ]; do cvm vm-list > /dev/null; i=$((i + 1)); done
	t2=$(tb_ns); i=0; while [ $i -lt "$N" ]; do cv pgpu-list > /dev/null; i=$((i + 1)); done
	t3=$(tb_ns)
	echo "carve-calls $(per_vgpu "$t0" "$t1") $(per_vgpu "$t1" "$t2") $(per_vgpu "$t2" "$t3") $(per_vgpu "$tt" "$t0")" >> $OUTF
	note "carve per call: /bin/true $(per_vgpu "$tt" "$t0") us, help $(per_vgpu "$t0" "$t1") us, --no-discover vm-list $(per_vgpu "$t1" "$t2") us, pgpu-list (discovery) $(per_vgpu "$t2" "$t3") us"
else
	skip "no carve binary in the initramfs"
fi

# ---- summary --------------------------------------------------------------------------------------
awk -v n="$N" '
	$1 == "raw" { rc = $2; rr = $3 }
	$1 == "mdevctl" { mc = $2; mr = $3 }
	$1 != "carve-calls" { m[++k] = $1; c[k] = $2; r[k] = $3 }
	END {
		printf "BENCH: N=%d vGPUs (GRID P40-1Q on one emulated P40), microseconds per vGPU, QEMU TCG guest\n", n
		printf "BENCH: %-8s %10s %8s %10s %8s %16s\n", "method", "create", "x raw", "remove", "x raw", "create+remove"
		for (i = 1; i <= k; i++) {
			x = mc + mr ? sprintf("%.2fx mdevctl", (c[i] + r[i]) / (mc + mr)) : "-"
			printf "BENCH: %-8s %10d %8.1f %10d %8.1f %16s\n", m[i], c[i], rc ? c[i] / rc : 0, r[i], rr ? r[i] / rr : 0, x
		}
	}' $OUTF | tee /tmp/bench.summary
grep '^carve-calls' $OUTF | awk '{ printf "BENCH: per call (us): /bin/true %d, carve help %d, carve --no-discover vm-list %d, carve pgpu-list %d\n", $5, $2, $3, $4 }' |
	tee -a /tmp/bench.summary
if grep -q ' /state ' /proc/mounts; then
	cp /tmp/bench.summary /state/bench.txt
fi
