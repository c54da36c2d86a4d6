#!/bin/bash
# bench-resident.sh - carved's resident model at scale, side by side in one
# run: simulated hosts of 16 and 1,024 Tesla P40s.
#
#   bench/bench-resident.sh [BUILD]        (BUILD defaults to build/)
#
#   vm-start   M start+shutdown cycles of a one-vGPU VM through carved, on
#              16 and on 1,024 PGPUs: carved's own time per vm-start (its
#              /metrics histogram carve_placement_duration_seconds) and the
#              client's wall time per request (carve --batch, one kept-alive
#              connection); the ratio 1,024 / 16
#   pgpu-list  `carve pgpu-list` through carved at 1,024 PGPUs, wall time per
#              call of the whole command (a process each), median of R
#   RSS        carved's resident set (VmRSS) and carve_model_bytes with 16
#              PGPUs, with 1,024, and with 1,024 PGPUs and 10,000 vGPUs in
#              the store (written before carved starts, 16 per VM, defined):
#              bytes per PGPU and per vGPU beyond the fixed base
#
# The hosts are generated profiles (one P40 per PCI bus); stores and sockets
# live in a temporary directory.  Environment: M (cycles, default 50), R
# (pgpu-list calls, default 20), VGPUS (default 10000).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
CARVED=$BUILD/src/daemon/carved
CARVE=$BUILD/src/cli/carve
M=${M:-50}
R=${R:-20}
VGPUS=${VGPUS:-10000}
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

start() { # NAME N [DB] -> starts carved on $T/NAME.sock and $T/DB.db (DB defaults to NAME)
	"$CARVED" --db "$T/${3:-$1}.db" --host-profile "$(profile "$2")" --socket "$T/$1.sock" --hostname bench \
		>"$T/$1.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$1=$!"
	for _ in $(seq 300); do grep -q 'carved: serving' "$T/$1.log" 2>/dev/null && return; sleep 0.1; done
	echo "bench-resident: carved $1 did not start" >&2
	tail -5 "$T/$1.log" >&2
	exit 1
}

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
vm_start() { # NAME -> "server_us client_us"
	export CARVE_SOCKET=$T/$1.sock
	local g t vm
	g=$("$CARVE" gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
	t=$("$CARVE" vgpu-type-list --minimal model-name="GRID P40-2Q")
	vm=$("$CARVE" vm-create name-label=bench)
	"$CARVE" vgpu-create vm-uuid="$vm" gpu-group-uuid="$g" vgpu-type-uuid="$t" >/dev/null
	"$CARVE" vm-start uuid="$vm" >/dev/null && "$CARVE" vm-shutdown uuid="$vm" >/dev/null # warm
	local s0 c0 s1 c1 t0 t1
	s0=$(metric "$1" carve_placement_duration_seconds_sum)
	c0=$(metric "$1" carve_placement_duration_seconds_count)
	: >"$T/$1.batch"
	for ((i = 0; i < M; i++)); do
		echo "vm-start uuid=$vm" >>"$T/$1.batch"
		echo "vm-shutdown uuid=$vm" >>"$T/$1.batch"
	done
	t0=$(ns)
	"$CARVE" --batch <"$T/$1.batch" >/dev/null
	t1=$(ns)
	s1=$(metric "$1" carve_placement_duration_seconds_sum)
	c1=$(metric "$1" carve_placement_duration_seconds_count)
	awk -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" -v w=$((t1 - t0)) -v m="$M" \
		'BEGIN { printf "%.0f %.0f", (s1 - s0) / (c1 - c0) * 1e6, w / 1000 / (2 * m) }'
}

start small 16
start large 1024
read -r s16 c16 <<<"$(vm_start small)"
read -r s1k c1k <<<"$(vm_start large)"

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
rss16=$(rss_kib small) mb16=$(metric small carve_model_bytes)
rss1k=$(rss_kib large) mb1k=$(metric large carve_model_bytes)
stop large
python3 - "$T/large.db" "$VGPUS" <<'EOF'
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
EOF
start full 1024 large # the same store, now with the vGPUs: loaded once at start-up
rssf=$(rss_kib full) mbf=$(metric full carve_model_bytes)
n_vgpus=$(CARVE_SOCKET=$T/full.sock "$CARVE" vgpu-list --minimal | tr ',' '\n' | grep -c .)

echo "BENCH: carved resident model, simulated Tesla P40 hosts (commit $(git -C "$REPO" rev-parse --short HEAD))"
printf 'BENCH: vm-start through carved, us per call   16 PGPUs   1024 PGPUs   ratio\n'
printf 'BENCH:   carved (its histogram)             %8d     %8d   %5.2f\n' "$s16" "$s1k" "$(awk -v a="$s1k" -v b="$s16" 'BEGIN { print a / b }')"
printf 'BENCH:   client wall (--batch, per request) %8d     %8d   %5.2f\n' "$c16" "$c1k" "$(awk -v a="$c1k" -v b="$c16" 'BEGIN { print a / b }')"
printf 'BENCH: carve pgpu-list through carved, 1024 PGPUs: median %d us (min %d, max %d, %d calls, %d bytes out)\n' \
	"$list_med" "$list_min" "$list_max" "$R" "$list_bytes"
printf 'BENCH: carved RSS: 16 PGPUs %d KiB (model %d B); 1024 PGPUs %d KiB (model %d B); 1024 PGPUs + %d vGPUs %d KiB (model %d B)\n' \
	"$rss16" "$mb16" "$rss1k" "$mb1k" "$n_vgpus" "$rssf" "$mbf"
awk -v a="$rss16" -v b="$rss1k" -v c="$rssf" -v ma="$mb16" -v mb="$mb1k" -v mc="$mbf" -v n="$n_vgpus" 'BEGIN {
	printf "BENCH: per PGPU: RSS %.0f B, model %.0f B; per vGPU: RSS %.0f B, model %.0f B\n",
		(b - a) * 1024 / 1008, (mb - ma) / 1008, (c - b) * 1024 / n, (mc - mb) / n }'
