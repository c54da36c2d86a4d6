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

cat >"$W/mix.lua" <<'EOF'
-- alternate POST /v1/vms and DELETE /v1/vms/{uuid} of a VM this connection made
local made, n = {}, 0
wrk.headers["Content-Type"] = "application/json"
request = function()
	n = n + 1
	if n % 2 == 0 and #made > 0 then
		return wrk.format("DELETE", "/v1/vms/" .. table.remove(made, 1))
	end
	return wrk.format("POST", "/v1/vms", nil, '{"name-label":"bench"}')
end
response = function(status, headers, body)
	if status == 201 then
		local u = body:match('"uuid":"([0-9a-f-]+)"')
		if u then table.insert(made, u) end
	end
end
EOF
to_ms() { # wrk's "577.00us" / "1.23ms" / "1.01s"
	awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0;
		else if (v ~ /s$/) printf "%.3f", v * 1000; else print "?" }'
}

start_carved() { # DB
	printf 'reconcile: {refresh-interval-s: 0, interval-s: 0}\nlog-level: warning\nlimits: {in-flight: 512}\n' >"$W/carved.conf"
	rm -f "$W/carved.sock"
	"$CARVED" --config "$W/carved.conf" --socket "$W/carved.sock" --db "$1" \
		--host-profile "$REPO/examples/hosts/demo.yaml" --sim-state "$W/sim.json" --hostname bench \
		--tcp 127.0.0.1:0 --token-file "$W/tokens" >"$W/carved.log" 2>&1 &
	CARVED_PID=$!
	for _ in $(seq 200); do [ -S "$W/carved.sock" ] && break; sleep 0.05; done
	[ -S "$W/carved.sock" ] || { cat "$W/carved.log" >&2; exit 1; }
	export CARVE_SOCKET=$W/carved.sock
	TOKEN=$("$CARVE" token-create role=pool-admin)
	ADDR=$(ss -Hltnp 2>/dev/null | awk -v p="pid=$CARVED_PID," 'index($0, p) {print $4; exit}')
	[ -n "$ADDR" ] || { echo "bench-writes: cannot find carved's TCP port" >&2; exit 1; }
}
stop_carved() {
	kill -TERM "$CARVED_PID" 2>/dev/null && wait "$CARVED_PID" 2>/dev/null || true
	CARVED_PID=
}

# mix C: "writes/s p50 p99 errors" of the write mix at C clients
mix() {
	local c=$1 t=$THREADS out
	[ "$c" -lt "$t" ] && t=$c
	out=$(wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" -s "$W/mix.lua" "http://$ADDR/v1/vms")
	local rps p50 p99 errs
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
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
