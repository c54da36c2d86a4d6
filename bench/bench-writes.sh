#!/bin/bash
# bench-writes.sh - carved's durable writes under concurrency, next to what
# the disk and PostgreSQL can do on the same machine in the same run.
#
#   bench/bench-writes.sh [BUILD]        (BUILD defaults to build/)
#
# For each store (the embedded SQLite file, then a local PostgreSQL server
# with its default durability: fsync on, synchronous_commit on) carved runs
# on the demo host with a loopback TCP listener, and wrk drives the write mix
# of bench-http.sh - POST /v1/vms and DELETE /v1/vms/{uuid} alternating, every
# answer an acknowledged, durable write - at 1, 8, 32 and 128 clients.  Next
# to it, on the same filesystem in the same run:
#   pg_test_fsync   fdatasync/s of one 8 kB write (a single writer: what one
#                   commit at a time can reach)
#   pgbench -N      PostgreSQL's simple-update TPS at the same client counts,
#                   against the same server carved uses
# and prints one table: writes/s, p50, p99, p99/p50, and the ratios.
#
# Needs wrk (installed when missing and run as root) and PostgreSQL's
# binaries (scripts/install-deps).  Environment: DURATION (seconds per run,
# default 8), CLIENTS (default "1 8 32 128"), STORES (default
# "sqlite postgresql"), THREADS (wrk threads, default 2).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
CARVED=$BUILD/src/daemon/carved
CARVE=$BUILD/src/cli/carve
DURATION=${DURATION:-8}
CLIENTS=${CLIENTS:-1 8 32 128}
STORES=${STORES:-sqlite postgresql}
THREADS=${THREADS:-2}
# shellcheck source=wrk-lib.sh
. "$REPO/bench/wrk-lib.sh"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "bench-writes: PostgreSQL is not installed (scripts/install-deps)" >&2; exit 2; }
export PATH=$PGBIN:$PATH
if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
	else
		echo "bench-writes: needs wrk (apt-get install wrk)" >&2
		exit 2
	fi
fi
[ -x "$CARVED" ] || { echo "bench-writes: $CARVED not built (ninja -C $BUILD)" >&2; exit 2; }

W=$(mktemp -d /tmp/carve-bench-writes-XXXXXX)
chmod 711 "$W"
AS=()
mkdir -p "$W/pg"
if [ "$(id -u)" = 0 ]; then chown postgres: "$W/pg"; AS=(runuser -u postgres --); fi
chmod 700 "$W/pg"
CARVED_PID=
PG_UP=
cleanup() {
	[ -n "$CARVED_PID" ] && kill -TERM "$CARVED_PID" 2>/dev/null && wait "$CARVED_PID" 2>/dev/null
	[ -n "$PG_UP" ] && "${AS[@]}" pg_ctl -D "$W/pg/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

# ---- the disk: one writer, one fdatasync per 8 kB write ----
FSYNC=$(pg_test_fsync -s 2 -f "$W/fsync.test" 2>/dev/null |
	awk '/one 8kB write/ {on = 1} on && $1 == "fdatasync" {printf "%.0f", $2; exit}')
rm -f "$W/fsync.test"
echo "bench-writes: $(nproc) CPUs, $(df --output=source,fstype "$W" | tail -1 | tr -s ' '), fdatasync $FSYNC/s (pg_test_fsync, one 8 kB write)" >&2

start_carved() { # DB
	carved_start "$W" "$1" 'limits: {in-flight: 512}'
}
stop_carved() {
	kill -TERM "$CARVED_PID" 2>/dev/null && wait "$CARVED_PID" 2>/dev/null || true
	CARVED_PID=
}

# mix C: "writes/s p50 p99 errors" of the write mix at C clients
mix() {
	local c=$1 t=$THREADS out
	[ "$c" -lt "$t" ] && t=$c
	out=$(wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" -s "$REPO/bench/write-mix.lua" "http://$CARVED_ADDR/v1/vms")
	local rps p50 p99 errs
	read -r rps p50 p99 < <(wrk_summary "$out")
	errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors/ {n += 1} END {print n + 0}' <<<"$out")
	echo "$rps $p50 $p99 $errs"
}

rows=()
for store in $STORES; do
	case $store in
	sqlite)
		start_carved "$W/carve.db"
		for c in $CLIENTS; do rows+=("sqlite $c $(mix "$c") -"); done
		stop_carved
		;;
	postgresql)
		"${AS[@]}" initdb -D "$W/pg/data" -U postgres --auth=trust --locale=C -E UTF8 >/dev/null
		"${AS[@]}" pg_ctl -D "$W/pg/data" -l "$W/pg/log" -w \
			-o "-c listen_addresses='' -c unix_socket_directories='$W/pg' -c max_connections=400" start >/dev/null
		PG_UP=1
		CI="host=$W/pg user=postgres"
		psql "$CI dbname=postgres" -XAtq -c "CREATE DATABASE carve" -c "CREATE DATABASE bench"
		pgbench -i -q -s 16 "$CI dbname=bench" >/dev/null 2>&1
		start_carved "$CI dbname=carve"
		for c in $CLIENTS; do
			m=$(mix "$c")
			j=$THREADS
			[ "$c" -lt "$j" ] && j=$c
			tps=$(pgbench -N -c "$c" -j "$j" -T "$DURATION" "$CI dbname=bench" 2>/dev/null |
				sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -1)
			rows+=("postgresql $c $m ${tps%.*}")
		done
		stop_carved
		;;
	*) echo "bench-writes: unknown store $store" >&2; exit 2 ;;
	esac
done

echo
echo "| store | clients | writes/s | p50 ms | p99 ms | p99 ÷ p50 | writes/s ÷ fdatasync/s ($FSYNC) | pgbench -N TPS | writes/s ÷ pgbench | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do
	read -r store c rps p50 p99 errs tps <<<"$r"
	awk -v s="$store" -v c="$c" -v r="$rps" -v a="$p50" -v b="$p99" -v e="$errs" -v f="$FSYNC" -v t="$tps" 'BEGIN {
		printf "| %s | %d | %d | %.2f | %.2f | %.1f | %.2f | %s | %s | %d |\n", s, c, r, a, b, (a > 0 ? b / a : 0),
			(f > 0 ? r / f : 0), t, (t + 0 > 0 ? sprintf("%.2f", r / t) : "-"), e }'
done
