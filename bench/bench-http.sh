#!/bin/bash
# bench-http.sh - carved's HTTP API under load, side by side with nginx
# serving the same JSON body on the same machine.
#
#   bench/bench-http.sh [BUILD]        (BUILD defaults to build/)
#
# Starts carved on the demo host (examples/hosts/demo.yaml, a temporary
# store and sim state) with a loopback TCP listener, and nginx on another
# loopback port serving the exact bytes of carved's GET /v1/pgpus answer as a
# static file.  Then runs wrk (--latency) against:
#   nginx   GET /v1/pgpus              the ceiling: a static file, same body
#   carved  GET /v1/pgpus              bearer token check + routing + the read
#                                      cache (the model did not change)
#   carved  GET /v1/pgpus?pci-id=<n>   a new filter value every request: the
#                                      cache never hits, so every request is a
#                                      store read of all PGPU records (the
#                                      work `carve pgpu-list` does)
#   carved  create/destroy mix         POST /v1/vms and DELETE /v1/vms/{uuid},
#                                      alternating: durable writes (WAL,
#                                      synchronous=FULL), committed in groups
#                                      (bench-writes.sh measures them alone)
# and prints requests/s, p50 and p99 latency, and the ratios to nginx.
# Everything listens on 127.0.0.1 only.
#
# Needs wrk and nginx (Debian packages; installed when missing and run as
# root).  Environment: DURATION (seconds per run, default 10), CONNS (wrk
# connections, default 32), THREADS (wrk threads, default 2).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
CARVED=$BUILD/src/daemon/carved
CARVE=$BUILD/src/cli/carve
DURATION=${DURATION:-10}
# shellcheck source=wrk-lib.sh
. "$REPO/bench/wrk-lib.sh"
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}

for t in wrk nginx; do
	if ! command -v $t >/dev/null && ! [ -x /usr/sbin/$t ]; then
		if [ "$(id -u)" = 0 ]; then
			echo "bench-http: installing wrk nginx" >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk nginx >/dev/null
		else
			echo "bench-http: needs wrk and nginx (apt-get install wrk nginx)" >&2
			exit 2
		fi
	fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$CARVED" ] || { echo "bench-http: $CARVED not built (ninja -C $BUILD)" >&2; exit 2; }

T=$(mktemp -d /tmp/carve-bench-http-XXXXXX)
chmod 755 "$T"
CARVED_PID=
NGINX_PID=
cleanup() {
	[ -n "$CARVED_PID" ] && kill -TERM "$CARVED_PID" 2>/dev/null && wait "$CARVED_PID" 2>/dev/null
	[ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- carved ----
carved_start "$T" "$T/carve.db"

# ---- nginx with the same body ----
mkdir -p "$T/www/v1" "$T/nginx"
curl -sf -H "Authorization: Bearer $TOKEN" "http://$CARVED_ADDR/v1/pgpus" >"$T/www/v1/pgpus"
chmod -R a+rX "$T/www"
NGINX_PORT=$(free_port)
cat >"$T/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $T/www;
		location = /v1/pgpus { default_type application/json; }
	}
}
EOF
"$NGINX" -c "$T/nginx/nginx.conf" -p "$T/nginx" &
NGINX_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/v1/pgpus" && break; sleep 0.05; done
cmp -s "$T/www/v1/pgpus" <(curl -sf "http://127.0.0.1:$NGINX_PORT/v1/pgpus") ||
	{ echo "bench-http: nginx does not serve the same body" >&2; exit 1; }

# ---- wrk scripts ----
cat >"$T/nocache.lua" <<'EOF'
-- a filter value never seen before: the read cache cannot answer
local n = 0
request = function()
	n = n + 1
	return wrk.format("GET", "/v1/pgpus?pci-id=x" .. tostring(math.random(1, 1e9)) .. "-" .. n)
end
EOF

# run LABEL URL [wrk args...]: prints "label rps p50_ms p99_ms errors"
run() {
	local label=$1 url=$2
	shift 2
	local out
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url")
	local rps p50 p99 errs
	read -r rps p50 p99 < <(wrk_summary "$out")
	errs=$(awk '/Non-2xx or 3xx responses:/ {print $NF} /Socket errors/ {print "sock:" $0}' <<<"$out" | tr '\n' ' ')
	printf '%s|%s|%s|%s|%s\n' "$label" "$rps" "$p50" "$p99" "${errs:-0}"
}

AUTH=(-H "Authorization: Bearer $TOKEN")
echo "bench-http: $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d${DURATION}s, body $(wc -c <"$T/www/v1/pgpus") bytes, loopback TCP" >&2
results=()
results+=("$(run "nginx GET /v1/pgpus (static file)" "http://127.0.0.1:$NGINX_PORT/v1/pgpus")")
results+=("$(run "carved GET /v1/pgpus (read cache)" "http://$CARVED_ADDR/v1/pgpus" "${AUTH[@]}")")
results+=("$(run "carved GET /v1/pgpus?filter (no cache)" "http://$CARVED_ADDR/v1/pgpus" "${AUTH[@]}" -s "$T/nocache.lua")")
results+=("$(run "carved POST+DELETE /v1/vms (writes)" "http://$CARVED_ADDR/v1/vms" "${AUTH[@]}" -s "$REPO/bench/write-mix.lua")")

nginx_rps=$(cut -d'|' -f2 <<<"${results[0]}")
nginx_p50=$(cut -d'|' -f3 <<<"${results[0]}")
nginx_p99=$(cut -d'|' -f4 <<<"${results[0]}")
echo
echo "| scenario | req/s | p50 ms | p99 ms | nginx req/s ÷ this | this p50 ÷ nginx p50 | this p99 ÷ nginx p99 | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for r in "${results[@]}"; do
	IFS='|' read -r label rps p50 p99 errs <<<"$r"
	awk -v l="$label" -v r="$rps" -v a="$p50" -v b="$p99" -v nr="$nginx_rps" -v na="$nginx_p50" -v nb="$nginx_p99" -v e="$errs" \
		'BEGIN { printf "| %s | %d | %.3f | %.3f | %.1f | %.1f | %.1f | %s |\n", l, r, a, b, (r > 0 ? nr / r : 0), (na > 0 ? a / na : 0), (nb > 0 ? b / nb : 0), e }'
done
left=$("$CARVE" vm-list --minimal | tr ',' '\n' | grep -c . || true)
echo
echo "bench-http: after the mix $left VM(s) remain (POSTs whose DELETE the run's end cut off)" >&2
