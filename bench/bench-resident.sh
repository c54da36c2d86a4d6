#!/bin/bash
# bench-resident.sh - carved's resident model at scale, side by side in one
# run.
#
#   bench/bench-resident.sh [BUILD]        (BUILD defaults to build/)
#
#   vm-start   ROUNDS rounds (alternating between the hosts) of M
#              start+shutdown cycles of a one-vGPU VM through carved on
#              simulated hosts of 16 and of 1,024 Tesla P40s (after a
#              warm-up of M/5), medians: carved's own time per vm-start (its /metrics
#              histogram carve_placement_duration_seconds) and the client's
#              wall time per request (carve --batch, one kept-alive
#              connection), and the instructions carved executes per
#              request (callgrind); the ratio 1,024 / 16
#   pgpu-list  `carve pgpu-list` through carved at 1,024 PGPUs, wall time per
#              call of the whole command (a process each), median of R
#   RSS        carved's resident set (VmRSS) and carve_model_bytes, carved
#              on a sysfs tree (carve-mkfixture; the simulated host would
#              count its own simulated hardware) of 16 P40s, then:
#                local  on a tree of 1,024 P40s: per PGPU of its own host
#                       (last discovery kept + model + store)
#                pool   on the 16-P40 tree, the store also holding 1,024
#                       P40s of another host: per PGPU that only the model
#                       holds (what grows with a pool)
#                vGPUs  the pool store with VGPUS vGPUs more (16 per VM,
#                       defined): per vGPU
#              each measured after start-up (one discovery, the model
#              loaded once) and a pgpu-list and vgpu-list through it
#
# Stores, trees and sockets live in a temporary directory (the 1,024-GPU
# tree takes ~200k files).  Environment: M (cycles, default 50), R
# (pgpu-list calls, default 20), VGPUS (default 10000), CG_CYCLES (cycles
# counted by callgrind when valgrind is installed, default 20; 0 skips),
# ROUNDS (default 5).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
CARVED=$BUILD/src/daemon/carved
CARVE=$BUILD/src/cli/carve
MKFIXTURE=$BUILD/tools/carve-mkfixture
M=${M:-50}
R=${R:-20}
VGPUS=${VGPUS:-10000}
CG_CYCLES=${CG_CYCLES:-20}
ROUNDS=${ROUNDS:-5}
[ -x "$CARVED" ] || { echo "bench-resident: $CARVED not built (ninja -C $BUILD)" >&2; exit 2; }

T=$(mktemp -d /tmp/carve-bench-resident-XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

profile() { # N -> profile path
	local f=$T/p40-$1.yaml
	{
		echo "name: p40-$1"
		echo "description: $1 Tesla P40"
		echo "gpus:"
		for ((i = 0; i < $1; i++)); do
			printf '  - {board: Tesla P40, pci: "%04x:%02x:00.0", numa_node: %d}\n' $((i / 256)) $((i % 256)) $((i % 2))
		done
	} >"$f"
	echo "$f"
}

# start NAME N [DB] [sysfs]: carved on $T/NAME.sock and $T/DB.db (DB defaults
# to NAME), the host simulated from an N-P40 profile, or with "sysfs" the
# sysfs tree carve-mkfixture made of it; uevents off (the trees are copies)
start() {
	local host=(--host-profile "$(profile "$2")")
	if [ "${4:-}" = sysfs ]; then
		[ -d "$T/tree-$2" ] || "$MKFIXTURE" "$(profile "$2")" "$T/tree-$2" >/dev/null
		host=(--sysfs-root "$T/tree-$2")
	fi
	"$CARVED" --config "$T/carved.conf" --db "$T/${3:-$1}.db" "${host[@]}" --socket "$T/$1.sock" --hostname bench \
		>"$T/$1.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$1=$!"
	for _ in $(seq 600); do grep -q 'carved: serving' "$T/$1.log" 2>/dev/null && return; sleep 0.1; done
	echo "bench-resident: carved $1 did not start" >&2
	tail -5 "$T/$1.log" >&2
	exit 1
}
printf 'reconcile:\n  uevents: false\n' >"$T/carved.conf"

stop() { # NAME
	local pid
	eval "pid=\$PID_$1"
	kill -TERM "$pid" && wait "$pid" 2>/dev/null || true
}

metric() { # NAME METRIC -> value
	curl -s --unix-socket "$T/$1.sock" http://carved/metrics | awk -v m="$2" '$1 == m { print $2 }'
}

rss_kib() { # NAME -> VmRSS in KiB
	local pid
	eval "pid=\$PID_$1"
	awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
}

ns() { date +%s%N; }

# ---- vm-start on 16 and on 1,024 PGPUs ----
# bench_vm: a halted VM with one GRID P40-2Q on the carved at $CARVE_SOCKET;
# prints its UUID
bench_vm() {
	local g t vm
	g=$("$CARVE" gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
	t=$("$CARVE" vgpu-type-list --minimal model-name="GRID P40-2Q")
	vm=$("$CARVE" vm-create name-label=bench)
	"$CARVE" vgpu-create vm-uuid="$vm" gpu-group-uuid="$g" vgpu-type-uuid="$t" >/dev/null
	echo "$vm"
}

# vm_prepare NAME: a halted one-vGPU VM on carved NAME, warmed up with M/5
# cycles; its batch of M start+shutdown cycles in $T/NAME.batch
vm_prepare() {
	export CARVE_SOCKET=$T/$1.sock
	local vm
	vm=$(bench_vm)
	: >"$T/$1.batch"
	for ((i = 0; i < M; i++)); do
		echo "vm-start uuid=$vm" >>"$T/$1.batch"
		echo "vm-shutdown uuid=$vm" >>"$T/$1.batch"
	done
	head -n $((2 * (M / 5 + 1))) "$T/$1.batch" | "$CARVE" --batch >/dev/null
}

# vm_round NAME: one batch; appends "server_us client_us" to $T/NAME.rounds
vm_round() {
	export CARVE_SOCKET=$T/$1.sock
	local s0 c0 s1 c1 t0 t1
	s0=$(metric "$1" carve_placement_duration_seconds_sum)
	c0=$(metric "$1" carve_placement_duration_seconds_count)
	t0=$(ns)
	"$CARVE" --batch <"$T/$1.batch" >/dev/null
	t1=$(ns)
	s1=$(metric "$1" carve_placement_duration_seconds_sum)
	c1=$(metric "$1" carve_placement_duration_seconds_count)
	awk -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" -v w=$((t1 - t0)) -v m="$M" \
		'BEGIN { printf "%.0f %.0f\n", (s1 - s0) / (c1 - c0) * 1e6, w / 1000 / (2 * m) }' >>"$T/$1.rounds"
}

# median NAME COLUMN of the rounds
median() { awk -v c="$2" '{ print $c }' "$T/$1.rounds" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# instr N -> instructions carved executes per request (vm-start or
# vm-shutdown) on an N-P40 simulated host, counted by callgrind over
# CG_CYCLES cycles after one warm cycle: deterministic, unlike wall time
instr() {
	local name=cg$1 pid vm
	valgrind --tool=callgrind --callgrind-out-file="$T/$name.cg" "$CARVED" --config "$T/carved.conf" \
		--db "$T/$name.db" --host-profile "$(profile "$1")" --socket "$T/$name.sock" --hostname bench \
		>"$T/$name.log" 2>&1 &
	pid=$!
	PIDS+=($pid)
	for _ in $(seq 1200); do grep -q 'carved: serving' "$T/$name.log" 2>/dev/null && break; sleep 0.1; done
	export CARVE_SOCKET=$T/$name.sock
	vm=$(bench_vm)
	"$CARVE" vm-start uuid="$vm" >/dev/null && "$CARVE" vm-shutdown uuid="$vm" >/dev/null
	callgrind_control -z "$pid" >/dev/null 2>&1
	for ((i = 0; i < CG_CYCLES; i++)); do echo "vm-start uuid=$vm"; echo "vm-shutdown uuid=$vm"; done |
		"$CARVE" --batch >/dev/null
	callgrind_control -d "$pid" >/dev/null 2>&1
	kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	awk -v n=$((2 * CG_CYCLES)) '/^summary:/ { printf "%.0f", $2 / n }' "$T/$name.cg.1"
}

start small 16
start large 1024
vm_prepare small
vm_prepare large
# the two hosts alternate, ROUNDS times: the machine's noise falls on both
for ((r = 0; r < ROUNDS; r++)); do
	vm_round small
	vm_round large
done
s16=$(median small 1) c16=$(median small 2) s1k=$(median large 1) c1k=$(median large 2)
i16=- i1k=-
if [ "$CG_CYCLES" -gt 0 ] && command -v callgrind_control >/dev/null; then
	i16=$(instr 16)
	i1k=$(instr 1024)
fi

# ---- pgpu-list at 1,024 ----
export CARVE_SOCKET=$T/large.sock
"$CARVE" pgpu-list >/dev/null
for ((i = 0; i < R; i++)); do
	t0=$(ns)
	"$CARVE" pgpu-list >/dev/null
	t1=$(ns)
	echo $(((t1 - t0) / 1000))
done | sort -n >"$T/list.us"
list_med=$(sed -n "$(((R + 1) / 2))p" "$T/list.us")
list_min=$(head -1 "$T/list.us")
list_max=$(tail -1 "$T/list.us")
list_bytes=$("$CARVE" pgpu-list | wc -c)

# ---- RSS ----
stop small
stop large
# rss NAME -> "KiB model_bytes" after a pgpu-list and a vgpu-list through it
rss() {
	CARVE_SOCKET=$T/$1.sock "$CARVE" pgpu-list >/dev/null
	CARVE_SOCKET=$T/$1.sock "$CARVE" vgpu-list >/dev/null
	echo "$(rss_kib "$1") $(metric "$1" carve_model_bytes)"
}
start base 16 base sysfs
read -r rss_base mb_base <<<"$(rss base)"
stop base
start local 1024 local sysfs
read -r rss_local mb_local <<<"$(rss local)"
stop local
# the pool: another host's 1,024 P40s in the store (written by an in-process
# carve under another host name), carved still on its 16
cp "$T/base.db" "$T/pool.db"
"$CARVE" --local --db "$T/pool.db" --sysfs-root "$T/tree-1024" --hostname other pgpu-list >/dev/null
start pool 16 pool sysfs
read -r rss_pool mb_pool <<<"$(rss pool)"
n_pool=$(CARVE_SOCKET=$T/pool.sock "$CARVE" pgpu-list --minimal | tr ',' '\n' | grep -c .)
stop pool
python3 - "$T/pool.db" "$VGPUS" <<'EOF2'
import sqlite3, sys, uuid
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
g = db.execute("SELECT uuid FROM gpu_group WHERE name_label LIKE '%Tesla P40%'").fetchone()[0]
t = db.execute("SELECT uuid FROM vgpu_type WHERE model_name='GRID P40-1Q'").fetchone()[0]
vms = (n + 15) // 16
with db:
    for v in range(vms):
        vm = str(uuid.uuid4())
        db.execute("INSERT INTO vm (uuid, name_label) VALUES (?, ?)", (vm, "rss-%05d" % v))
        for d in range(min(16, n - v * 16)):
            db.execute("INSERT INTO vgpu (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device) VALUES (?,?,?,?,?)",
                       (str(uuid.uuid4()), vm, t, g, str(d)))
    db.execute("UPDATE store_generation SET n = n + 1")
EOF2
start vgpus 16 pool sysfs
read -r rss_vgpus mb_vgpus <<<"$(rss vgpus)"
n_vgpus=$(CARVE_SOCKET=$T/vgpus.sock "$CARVE" vgpu-list --minimal | tr ',' '\n' | grep -c .)

echo "BENCH: carved resident model, Tesla P40 hosts (commit $(git -C "$REPO" rev-parse --short HEAD), $(nproc) CPUs)"
printf 'BENCH: vm-start through carved, us per call   16 PGPUs   1024 PGPUs   ratio   (simulated hosts, median of %d rounds of %d cycles)\n' "$ROUNDS" "$M"
printf 'BENCH:   carved (its histogram)             %8d     %8d   %5.2f\n' "$s16" "$s1k" "$(awk -v a="$s1k" -v b="$s16" 'BEGIN { print a / b }')"
printf 'BENCH:   client wall (--batch, per request) %8d     %8d   %5.2f\n' "$c16" "$c1k" "$(awk -v a="$c1k" -v b="$c16" 'BEGIN { print a / b }')"
printf 'BENCH:   carved instructions per request   %8s     %8s   %5s   (callgrind, %d cycles)\n' "$i16" "$i1k" \
	"$([ "$i16" != - ] && awk -v a="$i1k" -v b="$i16" 'BEGIN { printf "%.2f", a / b }' || echo -)" "$CG_CYCLES"
printf 'BENCH: carve pgpu-list through carved, 1024 PGPUs: median %d us (min %d, max %d, %d calls, %d bytes out)\n' \
	"$list_med" "$list_min" "$list_max" "$R" "$list_bytes"
printf 'BENCH: carved RSS (sysfs trees):     VmRSS KiB   model bytes\n'
printf 'BENCH:   16 local PGPUs             %10d  %12d\n' "$rss_base" "$mb_base"
printf 'BENCH:   1024 local PGPUs           %10d  %12d\n' "$rss_local" "$mb_local"
printf 'BENCH:   16 local + 1024 in the pool%10d  %12d   (%d PGPUs listed)\n' "$rss_pool" "$mb_pool" "$n_pool"
printf 'BENCH:   + %d vGPUs             %10d  %12d\n' "$n_vgpus" "$rss_vgpus" "$mb_vgpus"
awk -v b="$rss_base" -v l="$rss_local" -v p="$rss_pool" -v v="$rss_vgpus" -v mb="$mb_base" -v ml="$mb_local" \
	-v mp="$mb_pool" -v mv="$mb_vgpus" -v n="$n_vgpus" 'BEGIN {
	printf "BENCH: per local PGPU: RSS %.0f B, model %.0f B\n", (l - b) * 1024 / 1008, (ml - mb) / 1008
	printf "BENCH: per pool PGPU:  RSS %.0f B, model %.0f B\n", (p - b) * 1024 / 1024, (mp - mb) / 1024
	printf "BENCH: per vGPU:       RSS %.0f B, model %.0f B\n", (v - p) * 1024 / n, (mv - mp) / n }'
