#!/bin/bash
# bench-discovery.sh - discovery + listing: carve vs Debian's mdevctl, same tree.
#
#   bench/bench-discovery.sh [BUILD]        (BUILD defaults to build/)
#
# Generates the sysfs tree of the 8-GPU DGX-like fixture host with
# carve-mkfixture, then times, N runs each:
#   carve --socket S pgpu-list / vgpu-type-list   (through a carved started on
#         the same tree: the lean client, answers from the resident model)
#   carve --help                                   (the client's start alone)
#   carve --local --db DB --sysfs-root TREE --hostname bench pgpu-list (warm DB)
#   carve ...                                        vgpu-type-list  (warm DB)
#   carve ...                                        pgpu-list       (fresh DB:
#         schema creation + first inventory sync, every run)
#   mdevctl types                                    (reads /sys only)
#   carve --no-discover pgpu-list                   (store + render only)
#   carve host-discover                              (raw discovery, printed)
# Every carve run (but --no-discover) is a full discovery of the tree plus a sync into the store
# plus rendering; `mdevctl types` walks /sys/class/mdev_bus and prints every
# type of every parent.  mdevctl cannot be pointed at another root, so the
# timed part runs inside a private mount namespace (`unshare -m`) where the
# fixture tree is bind-mounted over /sys; the namespace is set up once, so its
# cost is not in mdevctl's numbers.  Needs root (or CAP_SYS_ADMIN) for that;
# without it the mdevctl column is skipped.
#
# Timing uses hyperfine when installed (Debian package hyperfine), else a
# loop reading bash's $EPOCHREALTIME.  With valgrind installed, instructions per run are
# counted with callgrind as well (deterministic, unlike wall time).
#
# Environment: RUNS (default 30), WARMUP (default 3), PROFILE (default
# examples/hosts/dgx8.yaml), CALLGRIND (default 1; 0 skips it).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
PROFILE=${PROFILE:-$REPO/examples/hosts/dgx8.yaml}
CALLGRIND=${CALLGRIND:-1}
if [ "${1:-}" != --inner ]; then
	BUILD=${1:-build}
	case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
	CARVE=$BUILD/src/cli/carve
	CARVED=$BUILD/src/daemon/carved
	MKFIXTURE=$BUILD/tools/carve-mkfixture
fi

die() { echo "bench-discovery: $*" >&2; exit 1; }

# ---- inner part: runs inside the mount namespace, /sys = fixture tree ----
if [ "${1:-}" = --inner ]; then
	WORK=$2
	TREE=$WORK/tree
	DB=$WORK/carve.db
	HAVE_MDEVCTL=$3
	# --local: never hand the request to a carved that happens to run here
	carve_cmd() { echo "$CARVE --local --db $DB --sysfs-root $TREE --hostname bench $*"; }

	# measure NAME PREPARE CMD: appends "NAME median mean stddev min runs" (ms) to results
	measure() {
		local name=$1 prepare=$2 cmd=$3
		if command -v hyperfine >/dev/null; then
			local args=(-N --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/$name.json")
			[ -n "$prepare" ] && args+=(--prepare "$prepare")
			hyperfine "${args[@]}" "$cmd" >/dev/null 2>"$WORK/$name.err" ||
				{ cat "$WORK/$name.err" >&2; die "hyperfine failed on: $cmd"; }
			python3 - "$WORK/$name.json" "$name" >>"$WORK/results" <<-'EOF'
				import json, sys
				r = json.load(open(sys.argv[1]))["results"][0]
				ms = lambda k: "%.3f" % (r[k] * 1e3)
				print(sys.argv[2], ms("median"), ms("mean"), ms("stddev"), ms("min"), len(r["times"]))
			EOF
		else
			# $EPOCHREALTIME (microseconds) forks nothing: a $(date) around
			# each run would add a process start to every command alike.
			local i t0 t1
			: >"$WORK/$name.times"
			for ((i = 0; i < WARMUP + RUNS; i++)); do
				[ -n "$prepare" ] && $prepare
				t0=${EPOCHREALTIME/[.,]/}
				$cmd >/dev/null
				t1=${EPOCHREALTIME/[.,]/}
				((i >= WARMUP)) && echo $((t1 - t0)) >>"$WORK/$name.times"
			done
			sort -n "$WORK/$name.times" | awk -v n="$name" '{t[c++] = $1; s += $1; q += $1 * $1}
				END {m = s / c; v = q / c - m * m; if (v < 0) v = 0;
				     med = c % 2 ? t[(c - 1) / 2] : (t[c / 2 - 1] + t[c / 2]) / 2;
				     printf "%s %.3f %.3f %.3f %.3f %d\n", n, med / 1e3, m / 1e3, sqrt(v) / 1e3, t[0] / 1e3, c}' \
				>>"$WORK/results"
		fi
	}

	# callgrind NAME CMD...: instructions executed by the process, carve's
	# execv() of carve-engine included: the client's part is dumped at the
	# exec into NAME.cg.1, the engine's into NAME.cg; their sum is the run.
	callgrind() {
		local name=$1
		shift
		local ir
		valgrind --tool=callgrind --trace-children=yes --dump-before=execv \
			--callgrind-out-file="$WORK/$name.cg" "$@" >/dev/null 2>&1 || true
		ir=$(cat "$WORK/$name.cg"* 2>/dev/null | awk '/^summary:/ {s += $2; n++} END {if (n) print s}')
		echo "$name ${ir:-?}" >>"$WORK/instructions"
	}

	: >"$WORK/results"
	: >"$WORK/instructions"
	# Sanity: both tools must see the same GPUs before their times mean anything.
	# shellcheck disable=SC2091 # carve_cmd prints the command line to run
	$(carve_cmd pgpu-list) >/dev/null || die "carve pgpu-list failed on the fixture tree"
	# shellcheck disable=SC2091
	n_carve=$($(carve_cmd --minimal pgpu-list) | tr ',' '\n' | grep -c . || true)
	if [ "$HAVE_MDEVCTL" = 1 ]; then
		n_mdev=$(mdevctl types | grep -c '^[^ ]' || true)
		echo "PGPUs seen: carve $n_carve, mdevctl types $n_mdev (mdev parents; carve also lists" \
			"passthrough-only devices such as a BMC display)" >>"$WORK/notes"
	else
		echo "PGPUs seen: carve $n_carve" >>"$WORK/notes"
	fi

	# carved on the same tree (its own store): the CLI is the lean client, the
	# answer comes from carved's resident model.  Its uevent listener is off:
	# the tree is a copy, no kernel event concerns it.
	"$CARVED" --db "$WORK/carved.db" --sysfs-root "$TREE" --socket "$WORK/carved.sock" --hostname bench \
		--config "$WORK/carved.conf" >"$WORK/carved.log" 2>&1 &
	carved_pid=$!
	trap 'kill -TERM $carved_pid 2>/dev/null; wait $carved_pid 2>/dev/null' EXIT
	for _ in $(seq 300); do grep -q 'carved: serving' "$WORK/carved.log" && break; sleep 0.1; done
	grep -q 'carved: serving' "$WORK/carved.log" || { tail -5 "$WORK/carved.log" >&2; die "carved did not start"; }
	daemon_cmd() { echo "$CARVE --socket $WORK/carved.sock $*"; }
	# shellcheck disable=SC2091
	n_daemon=$($(daemon_cmd --minimal pgpu-list) | tr ',' '\n' | grep -c . || true)
	[ "$n_daemon" = "$n_carve" ] || die "carved sees $n_daemon PGPUs, carve --local $n_carve"

	measure carve-pgpu-list "" "$(carve_cmd pgpu-list)"
	measure carve-vgpu-type-list "" "$(carve_cmd vgpu-type-list)"
	measure carved-pgpu-list "" "$(daemon_cmd pgpu-list)"
	measure carved-vgpu-type-list "" "$(daemon_cmd vgpu-type-list)"
	measure carve-help "" "$CARVE --help"
	measure carve-pgpu-list-fresh "rm -f $DB $DB-wal $DB-shm" "$(carve_cmd pgpu-list)"
	measure carve-pgpu-list-nodisc "" "$(carve_cmd --no-discover pgpu-list)"
	measure carve-host-discover "" "$(carve_cmd host-discover)"
	[ "$HAVE_MDEVCTL" = 1 ] && measure mdevctl-types "" "mdevctl types"
	if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
		# shellcheck disable=SC2091 # warm DB again after the fresh-DB runs
		$(carve_cmd pgpu-list) >/dev/null
		# shellcheck disable=SC2046 # word splitting of the command is intended
		callgrind carve-pgpu-list $(carve_cmd pgpu-list)
		# shellcheck disable=SC2046
		callgrind carve-vgpu-type-list $(carve_cmd vgpu-type-list)
		# shellcheck disable=SC2046
		callgrind carved-vgpu-type-list $(daemon_cmd vgpu-type-list)
		[ "$HAVE_MDEVCTL" = 1 ] && callgrind mdevctl-types mdevctl types
	fi
	exit 0
fi

# ---- outer part ----------------------------------------------------------
[ -x "$CARVE" ] || die "$CARVE missing: run 'ninja -C $BUILD' first"
[ -x "$MKFIXTURE" ] || die "$MKFIXTURE missing: run 'ninja -C $BUILD' first"
[ -r "$PROFILE" ] || die "host profile $PROFILE missing"
WORK=$(mktemp -d /tmp/carve-bench-discovery.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Time a private copy: a concurrent `ninja` relinking build/src/cli/carve
# mid-run would otherwise fail a run (EACCES/ETXTBSY) or mix two builds.
# carve-engine goes beside it, where carve looks first.
cp "$CARVE" "$WORK/carve"
cp "$(dirname "$CARVE")/carve-engine" "$WORK/carve-engine"
cp "$CARVED" "$WORK/carved"
CARVE=$WORK/carve
CARVED=$WORK/carved
printf 'reconcile:\n  uevents: false\n' >"$WORK/carved.conf"
"$MKFIXTURE" "$PROFILE" "$WORK/tree" >/dev/null || die "carve-mkfixture $PROFILE failed"

HAVE_MDEVCTL=0
if command -v mdevctl >/dev/null && unshare -m true 2>/dev/null; then
	HAVE_MDEVCTL=1
else
	echo "bench-discovery: mdevctl or 'unshare -m' (root) unavailable: timing carve only" >&2
fi
export CARVE CARVED RUNS WARMUP CALLGRIND
if [ "$HAVE_MDEVCTL" = 1 ]; then
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m bash -c 'mount --bind "$1/tree" /sys && exec "$2" --inner "$1" 1' _ "$WORK" "$0"
else
	"$0" --inner "$WORK" 0
fi

# ---- report ----------------------------------------------------------------
get() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$WORK/results"; }
ir() { awk -v n="$1" '$1 == n {print $2}' "$WORK/instructions"; }
timer=$(command -v hyperfine >/dev/null && echo "hyperfine -N, $WARMUP warmup" || echo "\$EPOCHREALTIME loop, $WARMUP warmup")
echo "bench-discovery: $(basename "$PROFILE") fixture tree, $RUNS runs each ($timer)"
cat "$WORK/notes"
# Medians decide the ratios: on a shared machine a few descheduled runs move
# the mean a lot and the median hardly at all.
mdev_ms=$(get mdevctl-types 2)
printf '%-34s %10s %10s %10s %10s %12s\n' "command" "median ms" "mean ms" "stddev" "min ms" "vs mdevctl"
row() { # label name
	local ratio=-
	[ -n "$mdev_ms" ] && ratio=$(awk -v a="$(get "$2" 2)" -v b="$mdev_ms" 'BEGIN {printf "%.2fx", a / b}')
	printf '%-34s %10s %10s %10s %10s %12s\n' "$1" "$(get "$2" 2)" "$(get "$2" 3)" "$(get "$2" 4)" \
		"$(get "$2" 5)" "$ratio"
}
row "carve pgpu-list (through carved)" carved-pgpu-list
row "carve vgpu-type-list (thr. carved)" carved-vgpu-type-list
row "carve --help" carve-help
row "carve --local pgpu-list" carve-pgpu-list
row "carve --local vgpu-type-list" carve-vgpu-type-list
if [ -n "$mdev_ms" ]; then
	both=$(awk -v a="$(get carve-pgpu-list 2)" -v b="$(get carve-vgpu-type-list 2)" 'BEGIN {printf "%.3f", a + b}')
	printf '%-34s %10s %10s %10s %10s %12s\n' "carve --local pgpu-list + v-t-list" "$both" "" "" "" \
		"$(awk -v a="$both" -v b="$mdev_ms" 'BEGIN {printf "%.2fx", a / b}')"
fi
row "carve pgpu-list (fresh DB)" carve-pgpu-list-fresh
row "carve --no-discover pgpu-list" carve-pgpu-list-nodisc
row "carve host-discover" carve-host-discover
[ -n "$mdev_ms" ] && row "mdevctl types" mdevctl-types
if [ -s "$WORK/instructions" ]; then
	echo
	printf '%-34s %16s %14s\n' "callgrind (one run)" "instructions" "vs mdevctl"
	mi=$(ir mdevctl-types)
	for n in carved-vgpu-type-list carve-pgpu-list carve-vgpu-type-list mdevctl-types; do
		i=$(ir "$n")
		[ -n "$i" ] || continue
		r=-
		[ -n "$mi" ] && [ "$mi" != "?" ] && [ "$i" != "?" ] && r=$(awk -v a="$i" -v b="$mi" 'BEGIN {printf "%.2fx", a / b}')
		printf '%-34s %16s %14s\n' "${n//-/ }" "$i" "$r"
	done
	# Where carve's instructions go (inclusive cost of a few functions); names
	# that no longer exist print as "?".
	if [ -s "$WORK/carve-pgpu-list.cg" ] && command -v callgrind_annotate >/dev/null; then
		callgrind_annotate --inclusive=yes --threshold=100 "$WORK/carve-pgpu-list.cg" 2>/dev/null >"$WORK/cg.txt" || true
		for f in sysfs_discover carve_model_load sqlite3_prepare_v2; do
			i=$(awk -v f=":$f " 'index($0, f) {gsub(",", "", $1); print $1; exit}' "$WORK/cg.txt")
			printf '%-34s %16s %14s\n' "  in $f" "${i:-?}" \
				"$([ -n "$i" ] && awk -v a="$i" -v b="$(ir carve-pgpu-list)" 'BEGIN {printf "%.0f%%", 100 * a / b}')"
		done
	fi
fi
