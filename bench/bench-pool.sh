#!/bin/bash
# bench-pool.sh - a pool of 1,000 hosts x 8 GPUs in one PostgreSQL: placement
# throughput through 1, 4 and 8 carved agents next to pgbench's simple-update
# TPS on the same server, and vm-start latency at 8,000 PGPUs vs 8.
#
#   bench/bench-pool.sh [BUILD]        (BUILD defaults to build/)
#
# A private PostgreSQL (unix socket, fsync off: both sides of each ratio run
# on it) holds two databases:
#   small  one host, a carved agent on a simulated DGX (8 V100): 8 PGPUs;
#   big    the same agent hosts (up to 8, each a simulated DGX) plus 992
#          hosts that exist as rows only (copied from a template host, their
#          heartbeats kept fresh by this script, every PGPU holding a running
#          V100X-16Q vGPU, so they are live candidates that placement must look
#          at and pass over): 8,000 PGPUs in one GPU group.
# The clients speak HTTP to the agents' unix sockets (POST /v1/call/vm-start);
# every VM has one V100X-2Q vGPU.  The timed starts come from pool-load
# (bench/pool-load.c: a C client on one thread, its connections dialled
# before the clock starts and closed after it stops, as pgbench's are), the
# set-up and the shutdowns between runs from Python.
#   placements/s  N agents (1, 4, 8), 48 starts per agent at once (a boot
#                 storm: every start of the run issued together, CONC
#                 connections per agent), after which they are shut down
#                 again (not timed), ROUNDS times; then the 8 agents again
#                 with 4 connections each (starts that arrive a few at a
#                 time);
#   pgbench       -N (simple update), 8 clients, same server, same run;
#   latency       LAT_N sequential vm-start (each followed by its shutdown) at
#                 the agent of "small" and at agent-1 of "big", taking turns
#                 (a slow spell of the machine falls on both alike), measured
#                 before agents 2-8 start (one agent per pool: the same CPU
#                 share on a small machine): median, and the ratio.
# Prints the numbers and the ratios; docs/performance.md records a run.
# Environment: STARTS (per agent, default 48), CONC (connections per agent,
# default STARTS), ROUNDS (default 5), LAT_N (default 200).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$REPO/build}" && pwd)
CARVE=$BUILD/src/cli/carve
CARVED=$BUILD/src/daemon/carved
STARTS=${STARTS:-48}
CONC=${CONC:-$STARTS}
ROUNDS=${ROUNDS:-5}
LOAD=$BUILD/bench/pool-load
[ -x "$LOAD" ] || { echo "$LOAD is not built (ninja -C $BUILD)" >&2; exit 1; }
LAT_N=${LAT_N:-200}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (scripts/install-deps)" >&2; exit 1; }
export PATH=$PGBIN:$PATH

W=$(mktemp -d /tmp/carve-bench-pool-XXXXXX)
# The simulated kernels' state (sim.c keeps what sysfs would hold in a
# file it replaces at every change) on tmpfs where there is one, as sysfs
# is in memory: on a disk file system, creating and renaming that file per
# device costs more than everything carve does for the start.
SIM=$W
[ -d /dev/shm ] && [ -w /dev/shm ] && SIM=$(mktemp -d /dev/shm/carve-bench-pool-XXXXXX)
AS=()
mkdir -p "$W/pg"
if [ "$(id -u)" = 0 ]; then chmod 711 "$W"; chown postgres: "$W/pg"; AS=(runuser -u postgres --); fi
chmod 700 "$W/pg"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	"${AS[@]}" pg_ctl -D "$W/pg/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$W" "$SIM"
}
trap cleanup EXIT
"${AS[@]}" initdb -D "$W/pg/data" -U postgres --auth=trust --locale=C -E UTF8 -N >/dev/null
"${AS[@]}" pg_ctl -D "$W/pg/data" -l "$W/pg/log" -w \
	-o "-c listen_addresses='' -c unix_socket_directories='$W/pg' -c fsync=off -c max_connections=300" start >/dev/null
CI="host=$W/pg user=postgres"
q() { psql "$CI dbname=$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }
for d in small big bench; do q postgres "CREATE DATABASE $d"; done

# ---- the big pool's rows-only hosts ----
DGX=$REPO/examples/hosts/dgx8.yaml
"$CARVE" --local --db "$CI dbname=big" --hostname template --host-profile "$DGX" --sim-state "$W/template.sim.json" \
	pgpu-list --minimal >/dev/null
T=$(q big "SELECT uuid FROM host WHERE hostname='template'")
FULL=$(q big "SELECT uuid FROM vgpu_type WHERE model_name='GRID V100X-16Q'")
NROWS=992
t0=$(date +%s)
q big "
CREATE TEMP TABLE hmap AS SELECT i, md5('bench-host-' || i)::uuid::text AS uuid, 'rows-' || i AS name
	FROM generate_series(1, $NROWS) i;
INSERT INTO host SELECT (jsonb_populate_record(NULL::host, to_jsonb(h) || jsonb_build_object(
	'uuid', m.uuid, 'hostname', m.name, 'name_label', m.name, 'backend', 'rows'))).*
	FROM host h, hmap m WHERE h.uuid = '$T';
CREATE TEMP TABLE pmap AS SELECT p.uuid AS old, md5('bench-pgpu-' || m.i || p.pci_id)::uuid::text AS new, m.uuid AS host
	FROM pgpu p, hmap m WHERE p.host_uuid = '$T' AND p.device_name LIKE '%V100%';
INSERT INTO pgpu SELECT (jsonb_populate_record(NULL::pgpu, to_jsonb(p) || jsonb_build_object(
	'uuid', m.new, 'host_uuid', m.host))).* FROM pgpu p JOIN pmap m ON m.old = p.uuid;
INSERT INTO pgpu_type SELECT (jsonb_populate_record(NULL::pgpu_type, to_jsonb(t) || jsonb_build_object(
	'pgpu_uuid', m.new, 'available', 0))).* FROM pgpu_type t JOIN pmap m ON m.old = t.pgpu_uuid;
INSERT INTO vm (uuid, name_label, power_state, resident_on)
	SELECT md5('bench-vm-' || new)::uuid::text, 'rows-vm', 'running', host FROM pmap;
INSERT INTO vgpu (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, resident_on, state)
	SELECT md5('bench-vgpu-' || m.new)::uuid::text, md5('bench-vm-' || m.new)::uuid::text, '$FULL', p.gpu_group_uuid,
		'0', m.new, 'running' FROM pmap m JOIN pgpu p ON p.uuid = m.new;
UPDATE host SET enabled = 0 WHERE uuid = '$T';
UPDATE store_generation SET n = n + 1;
" >/dev/null
echo "big pool: $(q big "SELECT COUNT(*) FROM host") hosts, $(q big "SELECT COUNT(*) FROM pgpu WHERE device_name LIKE '%V100%'") V100 PGPUs before the agents ($(($(date +%s) - t0)) s to write)"
# Their heartbeats: live hosts that placement has to consider.
( while :; do q big "UPDATE host SET heartbeat_ms = (extract(epoch from clock_timestamp()) * 1000)::bigint WHERE backend = 'rows'" >/dev/null 2>&1; sleep 1; done ) &
PIDS+=($!)

agent() { # db name
	local db=$1 h=$2
	cat >"$W/$db-$h.yaml" <<EOC
store: "$CI dbname=$db"
hostname: $h
host: {profile: $DGX, sim-state: $SIM/$db-$h.sim.json}
listen: {unix: $W/$db-$h.sock}
limits: {in-flight: 64, write-queue: 1024}
log-level: warning
EOC
	"$CARVED" --config "$W/$db-$h.yaml" 2>>"$W/$db-$h.log" &
	PIDS+=($!)
	for _ in $(seq 600); do [ -S "$W/$db-$h.sock" ] && return 0; sleep 0.1; done
	echo "carved $db/$h did not start: $(tail -3 "$W/$db-$h.log")" >&2
	return 1
}
cat >"$W/client.py" <<'PYEOF'
import http.client, json, os, re, socket, statistics, subprocess, sys, threading, time
mode, w, starts, lat_n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
load, conc = os.environ.get("LOAD"), int(os.environ.get("CONC", "48"))
rounds = int(os.environ.get("ROUNDS", "5"))

class UConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("carved")
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

def call(conn, method, url, body=None):
    conn.request(method, url, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None

def sock(db, i):
    return f"{w}/{db}-agent-{i}.sock"

def setup(db, i, n):
    c = UConn(sock(db, i))
    _, groups = call(c, "POST", "/v1/call/gpu-group-list", {"name-label": "Group of NVIDIA Corporation Tesla V100 SXM2 16GB GPUs"})
    _, types = call(c, "POST", "/v1/call/vgpu-type-list", {"model-name": "GRID V100X-2Q"})
    g, t = groups["records"][0]["uuid"], types["records"][0]["uuid"]
    vms = []
    for k in range(n):
        _, vm = call(c, "POST", "/v1/call/vm-create", {"name-label": f"b-{i}-{k}"})
        s, v = call(c, "POST", "/v1/call/vgpu-create", {"vm-uuid": vm["uuid"], "gpu-group-uuid": g, "vgpu-type-uuid": t})
        assert s < 300, v
        vms.append(vm["uuid"])
    return vms

def run_all(db, agents, vms_of, verb):
    errors = []
    def worker(i, vms):
        c = UConn(sock(db, i))
        for vm in vms:
            s, r = call(c, "POST", f"/v1/call/{verb}", {"uuid": vm})
            if s >= 300:
                errors.append(r)
    threads = []
    for i in agents:
        vms = vms_of[i]
        for part in range(4):
            threads.append(threading.Thread(target=worker, args=(i, vms[part::4])))
    t0 = time.monotonic()
    for t in threads: t.start()
    for t in threads: t.join()
    return time.monotonic() - t0, errors

result = json.load(open(f"{w}/result.json")) if os.path.exists(f"{w}/result.json") else {}
if mode == "throughput":
  vms_of = {i: setup("big", i, starts) for i in range(1, 9)}
  # Untimed, through every agent at the same concurrency: each opens the
  # store connections it serves with (a new PostgreSQL backend is costly).
  warm = {i: vms[:8] for i, vms in vms_of.items()}
  run_all("big", list(range(1, 9)), warm, "vm-start")
  run_all("big", list(range(1, 9)), warm, "vm-shutdown")
  def timed(agents, c):
    args = [load, "vm-start", str(c)]
    for i in agents:
      path = f"{w}/vms-{i}.txt"
      with open(path, "w") as f:
        f.write("\n".join(vms_of[i]) + "\n")
      args.append(f"{sock('big', i)}:{path}")
    out = subprocess.run(args, capture_output=True, text=True).stdout
    m = re.match(r"(\d+) ok, (\d+) failed in ([0-9.]+) s", out)
    if not m:
      sys.exit(f"pool-load: {out}")
    refusal = out.splitlines()[1] if int(m.group(2)) else ""
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), refusal
  def batches():
    nb = ns = 0
    for i in range(1, 9):
      c = UConn(sock("big", i))
      c.request("GET", "/metrics")
      for line in c.getresponse().read().decode().splitlines():
        if line.startswith("carve_start_batches_total "): nb += int(line.split()[1])
        if line.startswith("carve_start_batch_starts_total "): ns += int(line.split()[1])
    return nb, ns
  rates = {}
  for n, c, storm in ((1, conc, True), (4, conc, True), (8, conc, True), (8, 4, False)):
    agents = list(range(1, n + 1))
    b0 = batches()
    ok = failed = 0
    dt = 0.0
    refusal = ""
    for r in range(rounds):
      if r:
        run_all("big", agents, vms_of, "vm-shutdown")
      o, f, d, refusal = timed(agents, c)
      ok, failed, dt = ok + o, failed + f, dt + d
    b1 = batches()
    rate = ok / dt
    if storm:
      rates[n] = rate
    else:
      result["rate_8_conc4"] = rate
    mean = (b1[1] - b0[1]) / max(b1[0] - b0[0], 1)
    print(f"placements/s with {n} agent(s), {c} connections each: {rate:.0f} ({ok} starts in {dt:.3f} s, "
          f"{failed} refused; {mean:.1f} starts per batch)" + (f" {refusal}" if refusal else ""))
    run_all("big", agents, vms_of, "vm-shutdown")
  result["rates"] = rates

def latency(dbs, i):
    # the pools take turns, a start (and its shutdown) each: a slow spell
    # of the machine (autovacuum, another tenant) falls on both alike
    vms = {db: setup(db, i, 1)[0] for db in dbs}
    conns = {db: UConn(sock(db, i)) for db in dbs}
    ts = {db: [] for db in dbs}
    for _ in range(lat_n):
        for db in dbs:
            t0 = time.monotonic()
            s, r = call(conns[db], "POST", "/v1/call/vm-start", {"uuid": vms[db]})
            ts[db].append(time.monotonic() - t0)
            assert s < 300, r
            call(conns[db], "POST", "/v1/call/vm-shutdown", {"uuid": vms[db]})
    return [statistics.median(ts[db]) * 1000 for db in dbs]
if mode == "latency":
  small, big = latency(("small", "big"), 1)
  print(f"vm-start latency (median of {lat_n}): {small:.2f} ms at 8 PGPUs, {big:.2f} ms at 8,000 PGPUs: {big / small:.2f}x")
  result.update({"lat_small_ms": small, "lat_big_ms": big})
json.dump(result, open(f"{w}/result.json", "w"))
PYEOF
agent small agent-1
agent big agent-1
sleep 2
# Latency first, one agent in each pool (the same CPU share): what grows is
# the pool, 8 PGPUs or 8,000, nothing else.
python3 "$W/client.py" latency "$W" "$STARTS" "$LAT_N"
for i in 2 3 4 5 6 7 8; do agent big agent-$i; done
sleep 2
echo "big pool: $(q big "SELECT COUNT(*) FROM pgpu WHERE device_name LIKE '%V100%'") V100 PGPUs on $(q big "SELECT COUNT(*) FROM host WHERE enabled = 1") hosts"
LOAD=$LOAD CONC=$CONC ROUNDS=$ROUNDS python3 "$W/client.py" throughput "$W" "$STARTS" "$LAT_N"
pgbench -i -q -s 8 "$CI dbname=bench" >/dev/null 2>&1
TPS=$(pgbench -N -c 8 -j 2 -T 10 "$CI dbname=bench" 2>/dev/null | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -1)
echo "pgbench -N (simple update), 8 clients: $TPS TPS"
python3 - "$W/result.json" "$TPS" <<'PYEOF'
import json, sys
r, tps = json.load(open(sys.argv[1])), float(sys.argv[2])
for n, v in sorted(r["rates"].items(), key=lambda x: int(x[0])):
    print(f"ratio: placements/s with {n} agent(s) / pgbench TPS = {v / tps:.2f}")
print(f"ratio: placements/s with 8 agents, 4 connections each / pgbench TPS = {r['rate_8_conc4'] / tps:.2f}")
print(f"ratio: vm-start latency 8,000 / 8 PGPUs = {r['lat_big_ms'] / r['lat_small_ms']:.2f}")
PYEOF
