#!/usr/bin/env python3
"""Crash test: SIGKILL carve at random points of long create/start/shutdown/
destroy streams on a simulated host whose state lives in a file (as kernel
state outlives a killed process), reconcile, and check the invariants:

  * every acknowledged vGPU exists: a VM whose last *acknowledged* operation
    was vm-start is running and each of its vGPUs has a device on the host;
    one whose last acknowledged operation was vm-shutdown is halted;
  * no orphans: every device on the host belongs to a vGPU carve knows;
  * nothing overbooked: no device exists without a running VM, no PGPU holds
    more than its size, and carve's remaining capacity is never negative.

Devices are matched by what identifies them on the host:
  * mediated devices (nvidia-mdev, gvt-g) by UUID (host-discover's devices);
  * VF-backed vGPUs (NVIDIA vendor VFIO "nvidia-sriov", AMD MxGPU) have no
    host-side UUID: by VF.  The VFs host-discover shows in use must be exactly
    the device-pci of the vGPUs of running VMs (one VF each, a VF of the
    vGPU's own PGPU, NVIDIA: current_type = the vGPU's type); a halted VM's
    vGPUs hold no VF.
What the profile boots with (devices/VFs in use that carve did not create,
e.g. l40s-sriov's L40S-24Q) is recorded first: reconcile must report exactly
those as orphans, and the audit leaves them out.

usage: crash-test.py CARVE_BIN PROFILE [KILLS] [SEED]
Environment: CARVE_CRASH_DB: the store (a SQLite path or a PostgreSQL
             connection string, which must name an empty database); default a
             SQLite file in a temporary directory.
             CARVE_CRASH_WINDOW_MS: kills land uniformly in [0, this) ms after
             the process starts (default 30).
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
db = os.environ.get('CARVE_CRASH_DB') or os.path.join(tmp, 'carve.db')
window = float(os.environ.get('CARVE_CRASH_WINDOW_MS', '30')) / 1000
env = dict(os.environ, CARVE_DB=db, CARVE_HOST_PROFILE=profile,
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
    delay = rng.uniform(0, window)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
    p.stderr.close()
    return p.returncode == 0, p.returncode


VF_IMPLS = ('nvidia-sriov', 'amd-mxgpu')   # one vGPU = one VF, no host-side UUID
groups = carve_json('gpu-group-list')
types = carve_json('vgpu-type-list', 'params=all')
type_of = {t['uuid']: t for t in types}
# Choose vGPU types that the profile's groups support.
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
if type_of[choices[0][1]]['implementation'] in VF_IMPLS:
    # A VF-backed GPU (usually one) runs one series at a time: exercise the
    # most numerous type and the types it mixes with (different sizes), so
    # that starts fill the GPU instead of being refused as incompatible.
    first = choices[0]
    mixes = set(type_of[first[1]].get('compatible-types-on-pgpu') or [])
    choices = [first] + [c for c in choices[1:] if c[0] == first[0] and c[1] in mixes] + \
        [c for c in choices[1:] if c[0] != first[0] or c[1] not in mixes]
vms = []
for i in range(12):
    vm = carve('vm-create', 'name-label=crash-%02d' % i).stdout.strip()
    g, t, _ = choices[i % min(3, len(choices))]
    carve('vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t,
          'extra-args=frame_rate_limiter=%d' % (i % 2))
    vms.append(vm)

expected = {vm: 'halted' for vm in vms}   # last acknowledged power state
passed = failed = kills = 0


def host_state():
    """(mdev devices by UUID, in-use VFs by PCI address -> (VF, its GPU's PCI))."""
    inv = carve_json('host-discover')
    devices, vfs = {}, {}
    for gpu in inv['gpus']:
        for d in gpu.get('devices', []):
            if d.get('uuid'):
                devices[d['uuid']] = d
        for vf in gpu.get('vfs', []):
            if vf.get('in_use'):
                vfs[vf['pci']] = (vf, gpu['pci'])
    return devices, vfs


# What the profile booted with and carve did not create (nothing has run yet).
foreign_devices, foreign_vfs = (set(x) for x in host_state())


def audit():
    problems = []
    actions = carve_json('host-reconcile').get('actions', [])
    for a in actions:
        if a['action'] == 'orphan' and a['vgpu'] in foreign_devices:
            continue
        if a['action'] == 'orphan-vf' and a['detail'] in foreign_vfs:
            continue
        if a['action'] in ('orphan', 'orphan-vf', 'recreate-failed'):
            problems.append('reconcile: %s' % a)
    devices, vfs = host_state()
    vgpus = {v['uuid']: v for v in carve_json('vgpu-list', 'params=all')}
    vmrecs = {v['uuid']: v for v in carve_json('vm-list')}
    pgpus = {p['uuid']: p for p in carve_json('pgpu-list', 'params=all')}
    for vm, want in expected.items():
        have = vmrecs[vm]['power-state']
        if want is not None and have != want:
            problems.append('VM %s is %s, last acknowledged %s' % (vm, have, want))
        if have not in ('halted', 'running'):
            problems.append('VM %s left %s after reconcile' % (vm, have))
    vf_owner = {}
    for u, v in vgpus.items():
        running = vmrecs[v['vm-uuid']]['power-state'] == 'running'
        t = type_of[v['type-uuid']]
        if t['implementation'] in VF_IMPLS:
            pci = v['device-pci']
            if running:
                if not pci or pci not in vfs:
                    problems.append('vGPU %s of running VM has no VF in use (device-pci %r)' % (u, pci))
                    continue
                if pci in vf_owner:
                    problems.append('VF %s is device-pci of vGPUs %s and %s' % (pci, vf_owner[pci], u))
                vf_owner[pci] = u
                vf, parent = vfs[pci]
                pgpu = pgpus.get(v['resident-on'])
                if not pgpu or pgpu['pci-id'] != parent:
                    problems.append('vGPU %s runs on VF %s of %s, resident-on %s' %
                                    (u, pci, parent, pgpu and pgpu['pci-id']))
                if t['implementation'] == 'nvidia-sriov' and vf.get('current_type') != t['identifier']:
                    problems.append('vGPU %s (type %s) on VF %s whose current_type is %s' %
                                    (u, t['identifier'], pci, vf.get('current_type')))
            elif pci or v['resident-on'] or v['scheduled-to-be-resident-on']:
                problems.append('vGPU %s of halted VM still holds VF %r / PGPU %r' %
                                (u, pci, v['resident-on'] or v['scheduled-to-be-resident-on']))
        elif t['implementation'] != 'passthrough':
            if running and u not in devices:
                problems.append('vGPU %s of running VM has no device' % u)
            if not running and u in devices:
                problems.append('vGPU %s of halted VM still has a device' % u)
    for u in devices:
        if u not in vgpus and u not in foreign_devices:
            problems.append('orphan device %s' % u)
    for pci in vfs:
        if pci not in vf_owner and pci not in foreign_vfs:
            problems.append('VF %s in use without a vGPU of a running VM' % pci)
    # capacity: no PGPU holds more than its size; carve never has less than nothing left
    for p in pgpus.values():
        on = [v for v in vgpus.values() if p['uuid'] in (v['resident-on'], v['scheduled-to-be-resident-on'])]
        used = sum(type_of[v['type-uuid']]['size'] for v in on)
        if used > p['size']:
            problems.append('PGPU %s overbooked: %d vGPUs, %d of %d' % (p['pci-id'], len(on), used, p['size']))
        nvfs = int(p.get('sriov-numvfs') or 0)
        inuse = sum(1 for _, parent in vfs.values() if parent == p['pci-id'])
        if nvfs and inuse > nvfs:
            problems.append('PGPU %s has %d VFs in use of %d enabled' % (p['pci-id'], inuse, nvfs))
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
