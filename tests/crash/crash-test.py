#!/usr/bin/env python3
"""Crash test: SIGKILL carve at random points of long start/shutdown streams
on a simulated host whose state lives in a file (as kernel state outlives a
killed process), reconcile, and audit the invariants (tests/crash/crashlib.py,
shared with crash-carved.py, which kills the daemon instead): every
acknowledged vGPU exists, no orphans, nothing overbooked.

usage: crash-test.py CARVE_BIN PROFILE [KILLS] [SEED]
Environment: CARVE_CRASH_DB: the store (a SQLite path or a PostgreSQL
             connection string, which must name an empty database); default a
             SQLite file in a temporary directory.
             CARVE_CRASH_WINDOW_MS: kills land uniformly in [0, this) ms after
             the process starts (default 30).
Prints "crash: N passed, M failed" (one check = one kill + reconcile + audit,
then the final audit, and a first vm-start/vm-shutdown with nothing killed).
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crashlib import Carve, Expect, audit, choose_types, extra_args, host_state  # noqa: E402

carve_bin, profile = sys.argv[1], sys.argv[2]
kills_wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 200
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
rng = random.Random(seed)
tmp = tempfile.mkdtemp(prefix='carve-crash-')
db = os.environ.get('CARVE_CRASH_DB') or os.path.join(tmp, 'carve.db')
window = float(os.environ.get('CARVE_CRASH_WINDOW_MS', '30')) / 1000
env = dict(os.environ, CARVE_DB=db, CARVE_HOST_PROFILE=profile,
           CARVE_SIM_STATE=os.path.join(tmp, 'sim.json'), CARVE_HOSTNAME='crash-host')
carve = Carve(carve_bin, env)


def killable(*args):
    """Run carve, SIGKILL it after a random delay; return (acknowledged, rc)."""
    p = subprocess.Popen([carve_bin, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    delay = rng.uniform(0, window)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
    p.stderr.close()
    return p.returncode == 0, p.returncode


choices, type_of = choose_types(carve)
if not choices:
    print('crash: no vGPU type to exercise in %s' % profile)
    print('crash: 0 passed, 1 failed')
    sys.exit(1)
expect = Expect()   # last acknowledged power state, vGPUs
for i in range(12):
    vm = carve('vm-create', 'name-label=crash-%02d' % i).stdout.strip()
    g, t, _ = choices[i % min(3, len(choices))]
    v = carve('vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t,
              *extra_args(type_of[t], i)).stdout.strip()
    expect.add(vm, 'crash-%02d' % i, 'halted', [v])
vms = list(expect.vms)
passed = failed = kills = 0
# What the profile booted with and carve did not create (nothing has run yet).
foreign = tuple(set(x) for x in host_state(carve))

# The chosen types must run, or every start below is refused and the kills
# prove little: one start and shutdown with nothing killed.
probe = carve('vm-start', 'uuid=' + vms[0], check=False)
if probe.returncode == 0 and carve('vm-shutdown', 'uuid=' + vms[0], check=False).returncode == 0:
    passed += 1
else:
    failed += 1
    print('crash: vm-start/vm-shutdown with nothing killed failed: %s' % probe.stderr.strip())

t0 = time.time()
ops = acked_starts = 0
while kills < kills_wanted and ops < kills_wanted * 20:
    ops += 1
    vm = rng.choice(vms)
    verb = 'vm-start' if rng.random() < 0.55 else 'vm-shutdown'
    ok, rc = killable(verb, 'uuid=' + vm)
    if rc == -signal.SIGKILL:
        kills += 1
        expect.vms[vm]['state'] = None  # unknown until reconcile decides
        problems, snap = audit(carve, expect, foreign, type_of, choices)
        expect.settle(snap)   # after reconcile the state is decided: remember it
        if problems:
            failed += 1
            print('kill %d (%s %s): %s' % (kills, verb, vm, '; '.join(problems[:5])))
        else:
            passed += 1
    elif ok:
        expect.vms[vm]['state'] = 'running' if verb == 'vm-start' else 'halted'
        acked_starts += verb == 'vm-start'

final, _ = audit(carve, expect, foreign, type_of, choices)
if final:
    failed += 1
    print('final audit: ' + '; '.join(final[:5]))
else:
    passed += 1
print('crash: %d kills in %d operations (%d starts acknowledged), %.1fs, seed %d' %
      (kills, ops, acked_starts, time.time() - t0, seed))
print('crash: %d passed, %d failed' % (passed, failed))
subprocess.run(['rm', '-rf', tmp])
sys.exit(1 if failed or kills < kills_wanted else 0)
