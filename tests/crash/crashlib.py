"""What the crash tests share: how they call carve, which vGPU types they
exercise, how they read the host, and the audit itself - one set of rules for
tests/crash/crash-test.py (the carve CLI killed in-process) and
tests/crash/crash-carved.py (the daemon carved killed under its clients).

The audit, after a kill and a reconcile:
  * every acknowledged VM and vGPU exists: a VM whose last *acknowledged*
    operation was vm-start is running and each of its vGPUs has a device on
    the host; one whose last acknowledged operation was vm-shutdown is halted;
    an acknowledged vgpu-create's vGPU is in the store, an acknowledged
    vm-destroy's VM and vGPUs are not;
  * interrupted requests leave nothing half done: a VM is halted or running,
    never starting/stopping; an interrupted vm-create/vm-destroy/vgpu-create
    either happened whole or not at all; nothing is in the store that no
    request of the test made;
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
e.g. l40s-sriov's L40S-24Q) is recorded first (host_state() before anything
runs): reconcile must report exactly those as orphans, and the audit leaves
them out.
"""
import json
import subprocess

VF_IMPLS = ('nvidia-sriov', 'amd-mxgpu')   # one vGPU = one VF, no host-side UUID


class Carve:
    """The carve CLI with a fixed environment (in-process or over carved's socket)."""

    def __init__(self, binary, env, *opts):
        self.binary, self.env, self.opts = binary, env, list(opts)

    def argv(self, *args):
        return [self.binary, *self.opts, *args]

    def __call__(self, *args, check=True):
        p = subprocess.run(self.argv(*args), env=self.env, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError('carve %s failed: %s' % (' '.join(args), p.stderr.strip()))
        return p

    def json(self, *args):
        return json.loads(self('--json', *args).stdout)


def choose_types(cv):
    """The (gpu-group, vgpu-type, remaining capacity) the test creates vGPUs
    of: the types the host can still create (a type the boot devices exclude
    would only ever be refused), most room first; and the vGPU types by UUID."""
    groups = cv.json('gpu-group-list')
    types = cv.json('vgpu-type-list', 'params=all')
    type_of = {t['uuid']: t for t in types}
    room = {}   # (group, type) -> how many more fit on its PGPUs
    for p in cv.json('pgpu-list', 'params=all'):
        for t, n in (p.get('remaining-VGPU-capacities') or {}).items():
            room[(p['gpu-group-uuid'], t)] = room.get((p['gpu-group-uuid'], t), 0) + int(n)
    choices = []
    for g in groups:
        for t in types:
            left = room.get((g['uuid'], t['uuid']), 0)
            if t['uuid'] in g['supported-VGPU-types'] and t['implementation'] != 'passthrough' and left > 0:
                choices.append((g['uuid'], t['uuid'], left))
    choices.sort(key=lambda c: -c[2])
    if choices and type_of[choices[0][1]]['implementation'] in VF_IMPLS:
        # A VF-backed GPU (usually one) runs one series at a time: exercise the
        # most numerous type and the types it mixes with (different sizes), so
        # that starts fill the GPU instead of being refused as incompatible.
        first = choices[0]
        mixes = set(type_of[first[1]].get('compatible-types-on-pgpu') or [])
        choices = [first] + [c for c in choices[1:] if c[0] == first[0] and c[1] in mixes] + \
            [c for c in choices[1:] if c[0] != first[0] or c[1] not in mixes]
    return choices, type_of


def extra_args(vtype, n):
    """vgpu-create's extra-args for a vGPU of this type: NVIDIA's drivers take
    vgpu_params, the others none (carve refuses them: VGPU_PARAMS_UNSUPPORTED)."""
    if vtype['implementation'].startswith('nvidia'):
        return ['extra-args=frame_rate_limiter=%d' % (n % 2)]
    return []


def host_state(cv):
    """(mdev devices by UUID, in-use VFs by PCI address -> (VF, its GPU's PCI))."""
    inv = cv.json('host-discover')
    devices, vfs = {}, {}
    for gpu in inv['gpus']:
        for d in gpu.get('devices', []):
            if d.get('uuid'):
                devices[d['uuid']] = d
        for vf in gpu.get('vfs', []):
            if vf.get('in_use'):
                vfs[vf['pci']] = (vf, gpu['pci'])
    return devices, vfs


class Expect:
    """What the clients were told, per VM: its name, the power state its last
    acknowledged operation left (None: an interrupted request, reconcile
    decides), the vGPUs acknowledged to it, how many more interrupted
    vgpu-creates may have made (extra), and whether an interrupted vm-create
    or vm-destroy leaves its existence open (may_vanish).  A VM not listed
    must not exist."""

    def __init__(self):
        self.vms = {}

    def add(self, vm, label=None, state='halted', vgpus=(), may_vanish=False):
        self.vms[vm] = {'label': label, 'state': state, 'vgpus': set(vgpus), 'extra': 0,
                        'may_vanish': may_vanish}
        return self.vms[vm]

    def settle(self, snap):
        """After an audit: take what reconcile decided (and, after a reported
        problem, what the store says) as known, so one fault is reported once."""
        vmrecs, vgpus = snap[:2]
        for vm in list(self.vms):
            r = vmrecs.get(vm)
            if r is None:
                del self.vms[vm]
                continue
            e = self.vms[vm]
            e.update(state=r['power-state'], extra=0, may_vanish=False,
                     vgpus={u for u, v in vgpus.items() if v['vm-uuid'] == vm})
        for vm, r in vmrecs.items():
            if vm not in self.vms:
                self.add(vm, r['name-label'], r['power-state'],
                         {u for u, v in vgpus.items() if v['vm-uuid'] == vm})


def audit(cv, expect, foreign, type_of, choices, settled=False):
    """Reconcile, then check the invariants; returns (problems, snapshot: the
    VM, vGPU and PGPU records by UUID, for Expect.settle).  foreign = host_state() before the test's first request.
    settled: a reconcile has already run (carved's at start-up), so no VM may
    be starting/stopping before this one and it must find nothing to do."""
    foreign_devices, foreign_vfs = foreign
    problems = []
    if settled:
        for v in cv.json('vm-list', 'params=all'):
            if v['power-state'] not in ('halted', 'running'):
                problems.append('VM %s is %s before any reconcile of ours' % (v['uuid'], v['power-state']))
    actions = cv.json('host-reconcile').get('actions', [])
    for a in actions:
        if a['action'] == 'orphan' and a['vgpu'] in foreign_devices:
            continue
        if a['action'] == 'orphan-vf' and a['detail'] in foreign_vfs:
            continue
        if settled or a['action'] in ('orphan', 'orphan-vf', 'recreate-failed'):
            problems.append('reconcile: %s' % a)
    devices, vfs = host_state(cv)
    vgpus = {v['uuid']: v for v in cv.json('vgpu-list', 'params=all')}
    vmrecs = {v['uuid']: v for v in cv.json('vm-list', 'params=all')}
    pgpus = {p['uuid']: p for p in cv.json('pgpu-list', 'params=all')}
    for vm, e in expect.vms.items():
        r = vmrecs.get(vm)
        if r is None:
            if not e['may_vanish']:
                problems.append('VM %s (%s) is gone, never acknowledged destroyed' % (vm, e['label']))
            continue
        have = r['power-state']
        if e['state'] is not None and have != e['state']:
            problems.append('VM %s is %s, last acknowledged %s' % (vm, have, e['state']))
        if have not in ('halted', 'running'):
            problems.append('VM %s left %s after reconcile' % (vm, have))
        if e['label'] is not None and r['name-label'] != e['label']:
            problems.append('VM %s is named %r, created as %r' % (vm, r['name-label'], e['label']))
        mine = {u for u, v in vgpus.items() if v['vm-uuid'] == vm}
        if e['vgpus'] - mine:
            problems.append('acknowledged vGPU(s) %s of VM %s lost' % (sorted(e['vgpus'] - mine), vm))
        if len(mine - e['vgpus']) > e['extra']:
            problems.append('VM %s has vGPU(s) %s that no request made' % (vm, sorted(mine - e['vgpus'])))
    for vm, r in vmrecs.items():
        if vm not in expect.vms:
            problems.append('VM %s (%s) exists, but no request made it or it was destroyed' % (vm, r['name-label']))
    vf_owner = {}
    for u, v in vgpus.items():
        vmrec = vmrecs.get(v['vm-uuid'])
        if vmrec is None:
            problems.append('vGPU %s of VM %s, which does not exist' % (u, v['vm-uuid']))
        running = vmrec is not None and vmrec['power-state'] == 'running'
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
        left = int(cv('gpu-group-get-remaining-capacity', 'uuid=' + g, 'vgpu-type-uuid=' + t).stdout)
        if left < 0:
            problems.append('negative capacity in group %s' % g)
    return problems, (vmrecs, vgpus, pgpus)
