# wrk-lib.sh - sourced by the wrk benchmarks (bench-http.sh, bench-writes.sh).

# to_ms VALUE: wrk's "577.00us" / "1.23ms" / "1.01s" in milliseconds
to_ms() {
	awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0;
		else if (v ~ /s$/) printf "%.3f", v * 1000; else print "?" }'
}

# wrk_summary OUTPUT: "req/s p50_ms p99_ms" of wrk --latency's output
wrk_summary() {
	local rps p50 p99
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$1")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$1")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$1")")
	echo "$rps $p50 $p99"
}

# carved_start DIR DB [CONF]: carved on the demo host, store DB, its socket,
# token file and logs in DIR, a loopback TCP listener; CONF is more of its
# configuration (YAML lines).  Sets CARVED_PID, CARVE_SOCKET, TOKEN (a
# pool-admin token) and CARVED_ADDR (host:port).  Needs REPO, CARVED, CARVE.
carved_start() {
	local dir=$1 db=$2 extra=${3:-}
	printf 'reconcile: {refresh-interval-s: 0, interval-s: 0}\nlog-level: warning\n%s' "$extra" >"$dir/carved.conf"
	rm -f "$dir/carved.sock"
	"$CARVED" --config "$dir/carved.conf" --socket "$dir/carved.sock" --db "$db" \
		--host-profile "$REPO/examples/hosts/demo.yaml" --sim-state "$dir/sim.json" --hostname bench \
		--tcp 127.0.0.1:0 --token-file "$dir/tokens" >"$dir/carved.log" 2>&1 &
	CARVED_PID=$!
	for _ in $(seq 200); do [ -S "$dir/carved.sock" ] && break; sleep 0.05; done
	[ -S "$dir/carved.sock" ] || { cat "$dir/carved.log" >&2; exit 1; }
	export CARVE_SOCKET=$dir/carved.sock
	TOKEN=$("$CARVE" token-create role=pool-admin)
	# log-level warning hides the "serving" line: ask the kernel for the port.
	CARVED_ADDR=$(ss -Hltnp 2>/dev/null | awk -v p="pid=$CARVED_PID," 'index($0, p) {print $4; exit}')
	[ -n "$CARVED_ADDR" ] || { echo "$(basename "$0"): cannot find carved's TCP port" >&2; exit 1; }
}
