#!/usr/bin/env python3
"""Store faults: SQLite's writes, syncs and truncates fail (src/store/faultvfs.h)
under carve's lifecycle, and the store's file system fills up.

usage: store-faults.py CARVE_BIN PROFILE
Environment: STORE_FAULT_FULL=1: every fault kind at every operation (default:
             the kinds EIO, ENOSPC, short take turns).

Part 1 (I/O errors).  On a simulated host whose state lives in a file (as in
crash-test.py), each of vm-create, vgpu-create, vm-start, vm-shutdown and
vm-destroy is run once cleanly with the store's operations logged, then again
with the N-th of them failing, for every N.  After each, the crash tests'
audit (crashlib.audit: reconcile, then every acknowledged operation in the
store and on the host, nothing half done, no orphans, nothing overbooked)
with what carve answered: an operation that succeeded must have happened, one
that failed may have happened or not (a WAL frame written before a failed
sync may count, as SQLite decides) - reconcile must make either whole.  A
refusal must be DATABASE_ERROR (or the verb's own id) and say what failed.

Part 2 (a full disk).  In a mount namespace of its own (unshare; skipped with
a message where the kernel allows none), the store lives on a 2 MiB tmpfs
that a ballast file fills: VMs are created until the disk refuses one
(DATABASE_ERROR "database or disk is full"), reads still answer, every
acknowledged VM is there and PRAGMA-level integrity holds (a second process
reads them all); the ballast removed, writes succeed again.

Prints "store-faults: N passed, M failed".
"""
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crashlib import Carve, Expect, audit, choose_types, extra_args, host_state  # noqa: E402

carve_bin, profile = sys.argv[1], sys.argv[2]
FULL = os.environ.get('STORE_FAULT_FULL') == '1'
KINDS = ['EIO', 'ENOSPC', 'short']
passed = failed = 0


def ok(what):
    global passed
    passed += 1
    print('ok   store-faults: ' + what, flush=True)


def bad(what):
    global failed
    failed += 1
    print('FAIL store-faults: ' + what, flush=True)


def disk_full_part():
    """Runs inside the mount namespace (re-executed through unshare)."""
    d = tempfile.mkdtemp(prefix='carve-full-')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'carve-full', d], check=True)
    env = dict(os.environ, CARVE_DB=os.path.join(d, 'carve.db'), CARVE_HOST_PROFILE=profile,
               CARVE_SIM_STATE=os.path.join(d, 'sim.json'), CARVE_HOSTNAME='full-host')
    cv = Carve(carve_bin, env)
    cv('vm-list')
    ballast = os.path.join(d, 'ballast')
    with open(ballast, 'wb') as f:   # leave about 96 KiB
        st = os.statvfs(d)
        f.write(b'\0' * max(0, st.f_bavail * st.f_frsize - 96 * 1024))
    acked, refused = [], None
    for i in range(2000):
        u = str(uuid.uuid4())
        p = cv('vm-create', 'name-label=full-%04d-%s' % (i, 'x' * 200), 'uuid=' + u, check=False)
        if p.returncode == 0:
            acked.append(u)
        else:
            refused = p.stderr.strip()
            break
    print('disk full after %d VMs: %s' % (len(acked), refused))
    r = []
    r.append((refused is not None and 'DATABASE_ERROR' in refused and 'full' in refused,
              'the full disk refuses a write with DATABASE_ERROR naming it (%s)' % refused))
    p = cv('vm-list', 'params=uuid', '--minimal', check=False)
    have = set(filter(None, p.stdout.strip().split(',')))
    r.append((p.returncode == 0, 'reads answer while the disk is full'))
    r.append((set(acked) <= have, 'every acknowledged VM is in the store (%d)' % len(acked)))
    os.unlink(ballast)
    p = cv('vm-create', 'name-label=after', check=False)
    r.append((p.returncode == 0, 'with room again, writes succeed without a restart (%s)' % p.stderr.strip()))
    p = cv('vm-list', 'params=uuid', '--minimal', check=False)
    have = set(filter(None, p.stdout.strip().split(',')))
    r.append((set(acked) <= have and len(have) == len(acked) + 1, 'the store holds exactly what was acknowledged'))
    subprocess.run(['umount', d])
    os.rmdir(d)
    for good, what in r:
        print(('ok   ' if good else 'FAIL ') + 'store-faults: ' + what, flush=True)
    sys.exit(0 if all(g for g, _ in r) else 1)


if len(sys.argv) > 3 and sys.argv[3] == '--disk-full-inner':
    disk_full_part()

tmp = tempfile.mkdtemp(prefix='carve-store-faults-')
db = os.path.join(tmp, 'carve.db')
log = os.path.join(tmp, 'ops.log')
env = dict(os.environ, CARVE_DB=db, CARVE_HOST_PROFILE=profile, CARVE_SIM_STATE=os.path.join(tmp, 'sim.json'),
           CARVE_HOSTNAME='store-faults-host')
for k in ('CARVE_STORE_FAULT', 'CARVE_STORE_FAULT_LOG'):
    env.pop(k, None)
cv = Carve(carve_bin, env)
choices, type_of = choose_types(cv)
foreign = tuple(set(x) for x in host_state(cv))
expect = Expect()
g, t, _ = choices[0]


def faulted(spec, *args):
    e = dict(env, CARVE_STORE_FAULT_LOG=log)
    if spec:
        e['CARVE_STORE_FAULT'] = spec
    if os.path.exists(log):
        os.unlink(log)
    p = subprocess.run([carve_bin, *args], env=e, capture_output=True, text=True)
    fired = ''
    n = 0
    if os.path.exists(log):
        with open(log) as f:
            lines = f.read().splitlines()
        n = len(lines)
        fired = next((x for x in lines if x.endswith(' FAULT')), '')
    return p, n, fired


def new_vm(name, with_vgpu=True):
    vm = cv('vm-create', 'name-label=' + name).stdout.strip()
    vg = []
    if with_vgpu:
        vg = [cv('vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t,
                 *extra_args(type_of[t], 0)).stdout.strip()]
    expect.add(vm, name, 'halted', vg)
    return vm


# A bystander that runs throughout: nothing may touch it.
by = new_vm('bystander')
cv('vm-start', 'uuid=' + by)
expect.vms[by]['state'] = 'running'
walked = new_vm('walked')
steps = {}


def walk(name, prepare, args_of, on_ok, on_fail):
    """prepare() -> context; args_of(ctx) -> argv; on_ok/on_fail(ctx, proc)
    update expect.  The clean run counts the operations."""
    ctx = prepare()
    p, total, _ = faulted(None, *args_of(ctx))
    if p.returncode != 0:
        bad('%s: clean run failed: %s' % (name, p.stderr.strip()))
        return
    on_ok(ctx, p)
    problems, snap = audit(cv, expect, foreign, type_of, choices)
    expect.settle(snap)
    fired_n = refused = clean = 0
    runs = 0
    for n in range(1, total + 1):
        kinds = KINDS if FULL else [KINDS[n % len(KINDS)]]
        for kind in kinds:
            ctx = prepare()
            p, _, fired = faulted('%d:%s' % (n, kind), *args_of(ctx))
            runs += 1
            fired_n += bool(fired)
            if p.returncode == 0:
                on_ok(ctx, p)
            else:
                refused += 1
                on_fail(ctx, p)
                err = p.stderr.strip()
                if fired and not ('DATABASE_' in err or 'STORE_' in err or 'I/O' in err or 'full' in err):
                    bad('%s N=%d %s (%s): refused without naming the store: %s' % (name, n, kind, fired, err))
            problems, snap = audit(cv, expect, foreign, type_of, choices)
            expect.settle(snap)
            if problems:
                bad('%s N=%d %s (%s, exit %d): %s' % (name, n, kind, fired, p.returncode, '; '.join(problems[:4])))
            else:
                clean += 1
    steps[name] = (total, runs, fired_n, refused)
    line = '%s: %d store operations, %d faulted runs (%d fired, %d refused), audits clean' % (
        name, total, runs, fired_n, refused)
    (ok if clean == runs else bad)(line + ('' if clean == runs else ' (%d of %d)' % (clean, runs)))


def set_state(vm, state):
    have = cv('vm-param-get', 'uuid=' + vm, 'param-name=power-state').stdout.strip()
    if have != state:
        cv('vm-start' if state == 'running' else 'vm-shutdown', 'uuid=' + vm)
        expect.vms[vm]['state'] = state


def ack_state(state):
    def f(ctx, p):
        expect.vms[ctx]['state'] = state
    return f


def unknown(ctx, p):
    expect.vms[ctx]['state'] = None


# vm-create with a UUID of ours, so a refused create is known by name
def create_prepare():
    return str(uuid.uuid4())


def create_ok(ctx, p):
    expect.add(ctx, 'created', 'halted', [])


def create_fail(ctx, p):
    expect.add(ctx, 'created', 'halted', [], may_vanish=True)


walk('vm-create', create_prepare, lambda u: ['vm-create', 'name-label=created', 'uuid=' + u], create_ok, create_fail)


vgpu_vm = new_vm('vgpu-walked', with_vgpu=False)


def vgpu_prepare():
    # one vGPU at a time (a VM takes one vGPU of most types): the ones the
    # store holds are destroyed first
    have = cv('vgpu-list', 'vm-uuid=' + vgpu_vm, '--minimal').stdout.strip()
    for v in filter(None, have.split(',')):
        cv('vgpu-destroy', 'uuid=' + v)
    expect.vms[vgpu_vm].update(vgpus=set(), extra=0)
    return vgpu_vm


def vgpu_ok(ctx, p):
    expect.vms[ctx]['vgpus'].add(p.stdout.strip())


def vgpu_fail(ctx, p):
    expect.vms[ctx]['extra'] += 1


def vgpu_args(vm):
    return ['vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t, *extra_args(type_of[t], 1)]


walk('vgpu-create', vgpu_prepare, vgpu_args, vgpu_ok, vgpu_fail)
walk('vm-start', lambda: (set_state(walked, 'halted'), walked)[1], lambda vm: ['vm-start', 'uuid=' + vm],
     ack_state('running'), unknown)
walk('vm-shutdown', lambda: (set_state(walked, 'running'), walked)[1], lambda vm: ['vm-shutdown', 'uuid=' + vm],
     ack_state('halted'), unknown)


def destroy_prepare():
    vm = cv('vm-create', 'name-label=doomed').stdout.strip()
    expect.add(vm, 'doomed', 'halted', [])
    return vm


def destroy_ok(ctx, p):
    del expect.vms[ctx]


def destroy_fail(ctx, p):
    expect.vms[ctx]['may_vanish'] = True


walk('vm-destroy', destroy_prepare, lambda vm: ['vm-destroy', 'uuid=' + vm], destroy_ok, destroy_fail)

final, _ = audit(cv, expect, foreign, type_of, choices)
(bad if final else ok)('final audit' + (': ' + '; '.join(final[:4]) if final else ''))
shutil.rmtree(tmp, ignore_errors=True)

# Part 2, in a mount namespace of its own.
unshare = shutil.which('unshare')
args = [sys.executable, os.path.abspath(__file__), carve_bin, profile, '--disk-full-inner']
probe = subprocess.run([unshare, '-rm', 'true'], capture_output=True) if unshare else None
if probe is None or probe.returncode != 0:
    print('SKIP store-faults: full disk: no mount namespace here (%s)' %
          ('no unshare' if probe is None else probe.stderr.decode().strip()))
else:
    p = subprocess.run([unshare, '-rm', *args], capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    for line in p.stdout.splitlines():
        if line.startswith('ok   '):
            passed += 1
        elif line.startswith('FAIL '):
            failed += 1
    if p.returncode != 0 and 'FAIL' not in p.stdout:
        bad('full disk part: exit %d: %s' % (p.returncode, p.stderr.strip()[-400:]))

print('store-faults: %d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
