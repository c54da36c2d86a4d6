#!/usr/bin/env python3
"""Crash test of the daemon: carved serves a simulated host whose state lives
in a file (as kernel state outlives a killed process); clients drive
vm-create / vgpu-create / vm-start / vm-shutdown / vm-destroy through the
carve CLI over its socket, several at once on different VMs, and carved is
SIGKILLed with requests in flight: a random delay after they were sent, or
(3 rounds in 10 with a start or shutdown) as soon as the simulated host
saves a change, i.e. inside a vm-start/vm-shutdown; now and then it is
killed again during its start-up.  carved is restarted (its start-up host-reconcile resolves what the kill
interrupted before it serves) and audited after every restart with
tests/crash/crashlib.py's rules, the same as crash-test.py's, and:

  * the start-up reconcile left nothing undone: no VM starting/stopping, and
    another host-reconcile finds nothing to do (but the profile's own devices);
  * a request that failed because carved died (the CLI's DAEMON_* errors)
    happened whole or not at all; one that carved refused, or that found no
    carved to connect to, had no effect; acknowledged ones (exit 0) are all
    there; only a vm-start may be refused, and only for room or type;
  * carved's view after the restart (pgpu-list, remaining capacities
    included) equals carve --local's of the same store and simulated host.

carved dying by itself fails the check; a stop from outside the test (a
SIGKILL, or a SIGTERM it drains for: another job on a shared machine killing
a reused PID) is printed as a NOTE and survived like any other crash.

usage: crash-carved.py CARVE_BIN CARVED_BIN PROFILE [KILLS] [SEED]
Environment: CARVE_CRASH_DB: the store (a SQLite path or a PostgreSQL
             connection string, which must name an empty database); default a
             SQLite file in a temporary directory.
             CARVE_CRASH_WINDOW_MS: carved is killed uniformly in [0, this) ms
             after the round's requests are sent (default 40).
Prints "crash-carved: N passed, M failed" (one check = one kill + restart +
audit; first a vm-start/vm-shutdown with nothing killed, and last that some
vm-start was in flight at a kill).
"""
import collections
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

carve_bin, carved_bin, profile = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
kills_wanted = int(sys.argv[4]) if len(sys.argv) > 4 else 60
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
rng = random.Random(seed)
tmp = tempfile.mkdtemp(prefix='carve-crash-carved-')
db = os.environ.get('CARVE_CRASH_DB') or os.path.join(tmp, 'carve.db')
window = float(os.environ.get('CARVE_CRASH_WINDOW_MS', '40')) / 1000
sim, sock, log = (os.path.join(tmp, f) for f in ('sim.json', 'carved.sock', 'carved.log'))
HOSTNAME = 'crash-host'
NVMS = 12            # VMs the workload keeps
CUT = ('DAEMON_UNREACHABLE', 'DAEMON_PROTOCOL_ERROR')   # carved died under the request
open(os.path.join(tmp, 'carved.conf'), 'w').close()     # no /etc/carve/carved.conf
env = {k: v for k, v in os.environ.items() if not k.startswith('CARVE_')}
carve = Carve(carve_bin, dict(env, CARVE_SOCKET=sock))
local = Carve(carve_bin, dict(env, CARVE_DB=db, CARVE_HOST_PROFILE=profile, CARVE_SIM_STATE=sim,
                              CARVE_HOSTNAME=HOSTNAME), '--local')
carved_argv = [carved_bin, '--config', os.path.join(tmp, 'carved.conf'), '--token-file',
               os.path.join(tmp, 'tokens'), '--db', db, '--host-profile', profile, '--sim-state', sim,
               '--socket', sock, '--hostname', HOSTNAME]
carved = None
log_offset = 0   # where the running carved's log starts


def start_carved(wait=True):
    """Start carved; wait for 'carved: serving' (after its start-up reconcile)."""
    global carved, log_offset
    with open(log, 'ab') as f:
        offset = log_offset = f.tell()
        carved = subprocess.Popen(carved_argv, stdout=f, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 30
    while wait and time.time() < deadline:
        with open(log, 'rb') as f:
            f.seek(offset)
            if b'carved: serving' in f.read():
                return
        if carved.poll() is not None:
            break
        time.sleep(0.002)
    if not wait:
        return
    with open(log, errors='replace') as f:
        tail = f.read()[offset:]
    raise RuntimeError('carved did not start (exit %s): %s' % (carved.poll(), tail[-2000:]))


def sim_signature():
    """Changes whenever the simulated host saves its state."""
    try:
        st = os.stat(sim)
        return (st.st_ino, st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return None


def log_tail():
    """The running (or last) carved's last log lines."""
    with open(log, errors='replace') as f:
        f.seek(log_offset)
        return ' | '.join(f.read().splitlines()[-4:])


def stopped_from_outside():
    """carved is gone by a signal the test did not send and carved cannot
    send itself: a SIGKILL, or a SIGTERM/SIGINT it drained for.  On a shared
    machine another job's kill of a stale PID can hit it; that is one more
    crash to survive, not carved's fault.  Any other end is."""
    try:
        rc = carved.wait(timeout=5)   # a drain takes a moment
    except subprocess.TimeoutExpired:
        return False
    if rc == -signal.SIGKILL:
        return True
    if rc == 0:
        with open(log, errors='replace') as f:
            f.seek(log_offset)
            said = f.read()
        return 'SIGTERM: draining' in said or 'SIGINT: draining' in said
    return False


def kill_carved():
    carved.send_signal(signal.SIGKILL)
    carved.wait()


def finish(passed, failed, msg=None):
    if carved and carved.poll() is None:
        carved.kill()
        carved.wait()
    if msg:
        print(msg)
    print('crash-carved: %d passed, %d failed' % (passed, failed))
    subprocess.run(['rm', '-rf', tmp])
    sys.exit(1 if failed else 0)


try:
    start_carved()
    choices, type_of = choose_types(carve)
except (RuntimeError, ValueError) as e:
    finish(0, 1, 'crash-carved: %s' % e)
if not choices:
    finish(0, 1, 'crash-carved: no vGPU type to exercise in %s' % profile)
# What the profile booted with and carve did not create (nothing has run yet).
foreign = tuple(set(x) for x in host_state(carve))
expect = Expect()
serial = 0
passed = failed = 0


def plan(vm, e):
    """A request for VM vm in the state the test knows (settled: no unknowns)."""
    if e['state'] == 'running':
        return ['vm-shutdown', 'uuid=' + vm]
    r = rng.random()
    if r < 0.1:
        return ['vm-destroy', 'uuid=' + vm]
    if not e['vgpus']:
        g, t, _ = rng.choice(choices[:3])
        return ['vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t,
                *extra_args(type_of[t], rng.randint(0, 1))]
    return ['vm-start', 'uuid=' + vm]


def new_vm():
    global serial
    serial += 1
    vm = '%08x-0000-4000-8000-%012x' % (seed, serial)
    return ['vm-create', 'uuid=' + vm, 'name-label=crash-%d' % serial]


def error_id(err):
    """'carve: ID: message' -> ID"""
    parts = err.split(': ', 2)
    return parts[1] if len(parts) > 2 and parts[0] == 'carve' else err.strip()[:60]


def apply(argv, vm, rc, out, err):
    """Fold one request's answer into what the test expects; returns a
    problem for a refusal that a healthy carved never gives, else None."""
    verb = argv[0]
    eid = error_id(err) if rc != 0 else None
    if eid in CUT and 'cannot connect' in err:
        stats['not sent ' + verb] += 1   # carved was dead already: nothing happened
        return None
    e = expect.vms.get(vm)
    if rc == 0:
        if verb == 'vm-create':
            expect.add(vm, argv[2].split('=', 1)[1])
        elif verb == 'vgpu-create':
            e['vgpus'].add(out.strip())
        elif verb == 'vm-destroy':
            del expect.vms[vm]
        else:
            e['state'] = 'running' if verb == 'vm-start' else 'halted'
        stats['acknowledged ' + verb] += 1
    elif eid in CUT:
        if verb == 'vm-create':
            expect.add(vm, argv[2].split('=', 1)[1], may_vanish=True)
        elif verb == 'vgpu-create':
            e['extra'] += 1
        elif verb == 'vm-destroy':
            e['may_vanish'] = True
        else:
            e['state'] = None
        stats['interrupted ' + verb] += 1
    else:
        stats['refused %s %s' % (verb, eid)] += 1
        # Only a vm-start may be refused: the host is full or runs another type.
        if verb != 'vm-start' or 'CAPACITY' not in eid and 'COMPATIBLE' not in eid:
            return '%s refused: %s' % (' '.join(argv), err.strip())
    return None


stats = collections.Counter()
# The chosen types must run, or every start is refused and the kills prove
# little: one VM made, started and shut down with nothing killed.
try:
    req = new_vm()
    carve(*req)
    vm = req[1].split('=', 1)[1]
    g, t, _ = choices[0]
    v = carve('vgpu-create', 'vm-uuid=' + vm, 'gpu-group-uuid=' + g, 'vgpu-type-uuid=' + t).stdout.strip()
    expect.add(vm, req[2].split('=', 1)[1], 'halted', [v])
    carve('vm-start', 'uuid=' + vm)
    carve('vm-shutdown', 'uuid=' + vm)
    passed += 1
except RuntimeError as e:
    failed += 1
    print('crash-carved: with nothing killed: %s' % e)
t0 = time.time()
try:
    for kill in range(1, kills_wanted + 1):
        # This round's requests: different VMs, so their order does not matter.
        reqs = []
        if len(expect.vms) < NVMS:
            reqs += [new_vm() for _ in range(min(rng.randint(1, 3), NVMS - len(expect.vms)))]
        busy = rng.sample(sorted(expect.vms), min(len(expect.vms), rng.randint(1, 4)))
        reqs += [plan(vm, expect.vms[vm]) for vm in busy]
        procs = [(argv, subprocess.Popen(carve.argv(*argv), env=carve.env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)) for argv in reqs]
        if rng.random() < 0.3 and any(a[0] in ('vm-start', 'vm-shutdown') for a in reqs):
            # Kill right after the host changed (a device made or removed):
            # between a vm-start's act and its confirm, if it lands well.
            before, deadline = sim_signature(), time.time() + window
            while sim_signature() == before and time.time() < deadline:
                time.sleep(0.0002)
            stats['killed as the host changed' if sim_signature() != before else 'killed at random'] += 1
        else:
            time.sleep(rng.uniform(0, window))
            stats['killed at random'] += 1
        problems = []
        if carved.poll() is not None:
            if stopped_from_outside():
                print('NOTE: kill %d: carved was stopped from outside the test (exit %s): %s' %
                      (kill, carved.returncode, log_tail()))
                stats['stopped from outside the test'] += 1
            else:
                problems.append('carved died by itself (exit %s) before the kill; it said: %s' %
                                (carved.returncode, log_tail()))
        kill_carved()
        for argv, p in procs:
            out, err = p.communicate()
            vm = argv[1].split('=', 1)[1]
            pr = apply(argv, vm, p.returncode, out, err)
            if pr:
                problems.append(pr)
        if rng.random() < 0.15:
            # Now and then kill it again during its start-up (reconcile).
            start_carved(wait=False)
            time.sleep(rng.uniform(0, 0.015))
            kill_carved()
            stats['killed again during start-up'] += 1
        for attempt in range(3):
            start_carved()
            try:
                found, snap = audit(carve, expect, foreign, type_of, choices, settled=True)
                break
            except RuntimeError:
                if attempt == 2 or not stopped_from_outside():
                    raise
                print('NOTE: kill %d: carved was stopped from outside the test during the audit (exit %s): %s' %
                      (kill, carved.returncode, log_tail()))
                stats['stopped from outside the test'] += 1
        problems += found
        if {p['uuid']: p for p in local.json('pgpu-list', 'params=all')} != snap[2]:
            problems.append("carved's pgpu-list differs from carve --local's of the same store and host")
        expect.settle(snap)
        if problems:
            failed += 1
            print('kill %d (%s): %s' % (kill, ', '.join(a[0] for a in reqs), '; '.join(problems[:5])))
        else:
            passed += 1
except (RuntimeError, ValueError) as e:
    finish(passed, failed + 1, 'crash-carved: %s; carved said: %s' % (e, log_tail()))

# The kills must have hit vm-starts in flight, or the run proved little.
with open(log, errors='replace') as f:
    carved_log = f.read()
if stats['interrupted vm-start']:
    passed += 1
else:
    failed += 1
    print('no vm-start was in flight at any kill: widen CARVE_CRASH_WINDOW_MS')
print('crash-carved: %d kills, %.1fs, seed %d, %s; start-up reconciles rolled back %d starts, '
      'finished %d shutdowns' % (kills_wanted, time.time() - t0, seed, profile.rsplit('/', 1)[-1],
                                 carved_log.count('reconcile: rolled-back-start'),
                                 carved_log.count('reconcile: finished-shutdown')))
print('crash-carved: ' + ', '.join('%s %d' % kv for kv in sorted(stats.items())))
finish(passed, failed)
