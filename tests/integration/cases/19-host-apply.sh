# Host configuration (docs/host-config.md): host-apply compares a desired
# state with the host, prints the plan, applies it in the hardware's order
# (VF count before types), refuses whole what would touch a running VM's
# vGPU, undoes its own steps when a later one fails, and keeps what it
# applied (host-config-get).  Sections share the store, each on its profile.
U() { sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g'; }
enabled() { # pci: the model names of its enabled types, sorted
	local p; p=$(carve pgpu-list --minimal pci-id=$1)
	for u in $(carve pgpu-param-get uuid=$p param-name=enabled-VGPU-types | tr ';' ' '); do
		carve vgpu-type-param-get uuid=$u param-name=model-name
	done | sort | tr '\n' ',' | sed 's/,$//'; echo
}
numvfs() { carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=$1) param-name=sriov-numvfs; }

echo "==== Tesla T4 (mdev): enabled types by board"
export CARVE_HOST_PROFILE=$(profile a16-t4) CARVE_SIM_STATE=$T/t4.json
cat >t4.yaml <<'CFG'
version: 1
gpus:
  - select: {board: Tesla T4}
    enabled-types: [T4-4Q, "GRID T4-8Q", nvidia-232]
CFG
echo "enabled before: $(enabled 0000:af:00.0 | tr ',' '\n' | wc -l) types"
echo "== dry-run: the plan, nothing changed"
carve host-apply config=t4.yaml dry-run=true | U
echo "enabled after the dry-run: $(enabled 0000:af:00.0 | tr ',' '\n' | wc -l) types"
echo "== apply"
carve host-apply config=t4.yaml | U
enabled 0000:af:00.0
echo "== again: nothing to do"
carve host-apply config=t4.yaml | U
echo "== host-config-get"
carve host-config-get
echo "== disabling the type of a running VM's vGPU is refused whole"
g=$(carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:af:00.0) param-name=gpu-group-uuid)
vm=$(carve vm-create name-label=t4vm)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$(carve vgpu-type-list --minimal model-name="GRID T4-4Q") >/dev/null
carve vm-start uuid=$vm >/dev/null
printf 'gpus:\n  - select: {pci: "0000:af:00.0"}\n    enabled-types: [T4-8Q]\n' >t4b.yaml
carve host-apply config=t4b.yaml dry-run=true 2>&1 | U
enabled 0000:af:00.0
carve vm-shutdown uuid=$vm
echo "== default vgpu_params, for vGPUs created from now on; a vGPU's own keys win"
printf 'gpus:\n  - select: {board: Tesla T4}\n    vgpu-params: {frame_rate_limiter: 0, disable_vnc: 1}\n' >params.yaml
carve host-apply config=params.yaml | U
carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:af:00.0) param-name=default-vgpu-params
carve vgpu-param-set uuid=$(carve vgpu-list --minimal vm-uuid=$vm) extra-args=disable_vnc=0
carve vm-start uuid=$vm >/dev/null
echo "written to the device: $(grep -o '"params": "[^"]\+"' $T/t4.json)"
carve vgpu-mdevctl-json uuid=$(carve vgpu-list --minimal vm-uuid=$vm) | grep vgpu_params
echo "== other defaults under the running vGPU are refused"
printf 'gpus:\n  - select: all\n    vgpu-params: {frame_rate_limiter: 1}\n' >params2.yaml
carve host-apply config=params2.yaml 2>&1 | U
carve vm-shutdown uuid=$vm
carve host-apply config=params2.yaml | U

echo "==== NVIDIA L40S, vendor-specific VFIO, booted with no VF"
export CARVE_HOST_PROFILE=$(profile l40s-sriov-cold) CARVE_SIM_STATE=$T/l40s.json
cat >l40s.yaml <<'CFG'
gpus:
  - select: all
    sriov-vfs: 16
    enabled-types: [L40S-24Q, L40S-12Q]
CFG
echo "VFs before: $(numvfs 0000:41:00.0)"
carve host-apply config=l40s.yaml | U
echo "VFs after: $(numvfs 0000:41:00.0)"
enabled 0000:41:00.0
echo "the BMC (select: all leaves the console alone): $(enabled 0000:02:00.0 | tr ',' '\n' | grep -c .) enabled types"
echo "== a VM runs; fewer VFs would take its VF: refused, nothing changed"
g=$(carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:41:00.0) param-name=gpu-group-uuid)
vm=$(carve vm-create name-label=l40svm)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$(carve vgpu-type-list --minimal model-name="NVIDIA L40S-24Q") >/dev/null
carve vm-start uuid=$vm >/dev/null
printf 'gpus:\n  - select: all\n    sriov-vfs: 4\n' >l40s4.yaml
carve host-apply config=l40s4.yaml 2>&1 | U
echo "VFs: $(numvfs 0000:41:00.0)"
carve vm-shutdown uuid=$vm
echo "== with the VM halted it applies"
carve host-apply config=l40s4.yaml | U
echo "VFs: $(numvfs 0000:41:00.0)"

echo "==== L40S: VF count, then mixed-size mode, then types - the driver's order"
export CARVE_HOST_PROFILE=$(profile l40s-sriov-cold) CARVE_SIM_STATE=$T/l40m.json
mixed() { carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=$1) param-name=mixed-size; }
cat >l40m.yaml <<'CFG'
gpus:
  - select: {board: NVIDIA L40S}
    sriov-vfs: 8
    mixed-size: true
    enabled-types: [L40S-24Q, L40S-12Q, L40S-8Q]
CFG
echo "mixed-size before: $(mixed 0000:41:00.0)"
carve host-apply config=l40m.yaml dry-run=true | U
echo "after the dry-run: VFs $(numvfs 0000:41:00.0), mixed-size $(mixed 0000:41:00.0)"
carve host-apply config=l40m.yaml | U
echo "VFs: $(numvfs 0000:41:00.0), mixed-size: $(mixed 0000:41:00.0)"
echo "== two sizes side by side on one GPU"
g=$(carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:41:00.0) param-name=gpu-group-uuid)
for t in 24Q 12Q; do
	vm=$(carve vm-create name-label=mix$t)
	carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$(carve vgpu-type-list --minimal model-name="NVIDIA L40S-$t") >/dev/null
	carve vm-start uuid=$vm >/dev/null && echo "mix$t running"
done
echo "== turning the mode off under them is refused whole, naming both"
sed 's/mixed-size: true/mixed-size: false/' l40m.yaml >l40off.yaml
carve host-apply config=l40off.yaml dry-run=true 2>&1 | U | sed 's/): /):\n/; s/; /\n/g' | sort
for vm in $(carve vm-list --minimal name-label=mix24Q) $(carve vm-list --minimal name-label=mix12Q); do carve vm-shutdown uuid=$vm; done
echo "== a new VF count resets the mode: the plan sets it again after the VFs"
sed 's/sriov-vfs: 8/sriov-vfs: 4/' l40m.yaml >l40m4.yaml
carve host-apply config=l40m4.yaml | U
echo "VFs: $(numvfs 0000:41:00.0), mixed-size: $(mixed 0000:41:00.0)"
echo "== a reboot loses VFs and mode; host-apply (carved: at start-up) brings both back"
rm -f $T/l40m.json
carve host-reconcile >/dev/null
echo "after the reboot: VFs $(numvfs 0000:41:00.0), mixed-size $(mixed 0000:41:00.0)"
carve host-apply config=l40m4.yaml | U
echo "VFs: $(numvfs 0000:41:00.0), mixed-size: $(mixed 0000:41:00.0)"

echo "== the vGPU scheduler: a modprobe.d file, read when the nvidia driver loads"
printf 'gpus:\n  - select: {board: NVIDIA L40S}\n    scheduler: {policy: equal-share, time-slice-ms: 3}\n' >sched.yaml
carve host-apply config=sched.yaml | U
cat $T/l40m.json.modprobe.d/carve-nvidia-vgpu-scheduler.conf
echo "again: $(carve host-apply config=sched.yaml | grep -c step=) steps"
echo "== fixed share does not work in mixed-size mode"
printf 'gpus:\n  - select: all\n    scheduler: {policy: fixed-share}\n' >fixed.yaml
carve host-apply config=fixed.yaml dry-run=true 2>&1
printf 'gpus:\n  - select: all\n    mixed-size: false\n    scheduler: {policy: fixed-share}\n' >fixed.yaml
carve host-apply config=fixed.yaml | U
cat $T/l40m.json.modprobe.d/carve-nvidia-vgpu-scheduler.conf | tail -1
echo "== a file carve did not write is not overwritten"
echo 'options nvidia NVreg_RegistryDwords="RmPVMRL=0x01"' >$T/l40m.json.modprobe.d/carve-nvidia-vgpu-scheduler.conf
carve host-apply config=sched.yaml 2>&1 | sed "s|$T|\$T|g"
rm $T/l40m.json.modprobe.d/carve-nvidia-vgpu-scheduler.conf

echo "==== A100 (SR-IOV + mdev): MIG mode, then VFs, then GPU instances, then types"
export CARVE_HOST_PROFILE=$(profile a100-sriov-mdev) CARVE_SIM_STATE=$T/a100.json
mig() { local p; p=$(carve pgpu-list --minimal pci-id=0000:ca:00.0)
	echo "mig-mode $(carve pgpu-param-get uuid=$p param-name=mig-mode), instances [$(carve pgpu-param-get uuid=$p param-name=mig-instances)]"; }
cap() { carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:ca:00.0) param-name=remaining-VGPU-capacities \
	param-key=$(carve vgpu-type-list --minimal model-name="GRID $1"); }
cat >mig.yaml <<'CFG'
gpus:
  - select: {board: A100}
    mig: [3g.20gb, 2g.10gb, 1g.5gb, 1g.5gb]
    enabled-types: [A100-3-20C, A100-2-10C, A100-1-5C]
CFG
echo "== a device carve did not create (the profile's boot vGPU) blocks MIG"
carve host-apply config=mig.yaml 2>&1 | U
echo "== without it"
grep -v 'vgpus:\|nvidia-468' $(profile a100-sriov-mdev) >a100.yaml
export CARVE_HOST_PROFILE=$T/a100.yaml CARVE_SIM_STATE=$T/a100b.json CARVE_DB=$T/a100.db
mig
carve host-apply config=mig.yaml | U
mig
echo "capacity: 3-20C $(cap A100-3-20C), 1-5C $(cap A100-1-5C), time-sliced 4C $(cap A100-4C)"
g=$(carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:ca:00.0) param-name=gpu-group-uuid)
for t in 1-5C 1-5C 1-5C; do
	vm=$(carve vm-create name-label=mig$t)
	carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$(carve vgpu-type-list --minimal model-name="GRID A100-$t") >/dev/null
	carve vm-start uuid=$vm 2>&1 | U | grep -E '^carve:|exit' || echo "started on a GPU instance"
done
echo "== new GPU instances under a running vGPU are refused"
sed 's/1g.5gb, 1g.5gb/1g.5gb/' mig.yaml >mig2.yaml
carve host-apply config=mig2.yaml 2>&1 | U | sed 's/): /):\n/; s/; /\n/g' | sort
echo "== the layout must fit the GPU's 7 slices, with the board's profiles"
printf 'gpus:\n  - select: {pci: "0000:ca:00.0"}\n    mig: [4g.20gb, 4g.20gb]\n' >big.yaml
carve host-apply config=big.yaml dry-run=true 2>&1
printf 'gpus:\n  - select: {pci: "0000:ca:00.0"}\n    mig: [1g.10gb]\n' >h100p.yaml
carve host-apply config=h100p.yaml dry-run=true 2>&1
printf 'gpus:\n  - select: {pci: "0000:ca:00.0"}\n    mig: [1g.5gb]\n    mixed-size: true\n' >mixmig.yaml
carve host-apply config=mixmig.yaml dry-run=true 2>&1
for vm in $(carve vm-list --minimal power-state=running | tr , ' '); do carve vm-shutdown uuid=$vm; done
echo "== a reboot loses the GPU instances; host-apply makes them again"
rm -f $T/a100b.json
carve host-reconcile >/dev/null
mig
carve host-apply config=mig.yaml | U
mig
echo "== MIG off: time-sliced types again"
printf 'gpus:\n  - select: {board: A100}\n    mig: []\n    enabled-types: [A100-4C, A100-1-5C]\n' >migoff.yaml
carve host-apply config=migoff.yaml | U
mig
echo "capacity: 1-5C $(cap A100-1-5C), 4C $(cap A100-4C)"

echo "==== NVIDIA vgpu-device-manager's file, read as it is (format=vgpu-device-manager selector=NAME)"
export CARVE_HOST_PROFILE=$(profile a16-t4) CARVE_SIM_STATE=$T/vdm.json CARVE_DB=$T/vdm.db
cat >vdm.yaml <<'CFG'
version: v1
vgpu-configs:
  a16-2q:
    - devices: all
      device-filter: "0x25B610DE"
      vgpu-devices:
        "A16-2Q": 8
    - devices: [4]
      vgpu-devices:
        "T4-4Q": 4
  t4-8q:
    - devices: all
      device-filter: ["0x1EB810DE"]
      vgpu-devices: {"T4-8Q": 2}
CFG
carve host-apply config=vdm.yaml format=vgpu-device-manager selector=a16-2q dry-run=true | U | grep -v "^  *#\|^translated\|^  *[a-z-]*:\|^  *- select"
carve host-apply config=vdm.yaml format=vgpu-device-manager selector=a16-2q | U | grep "step=" | sed 's/ pgpu=<uuid>//'
echo "== stored as carve's configuration, which carved applies at start-up"
carve host-config-get
echo "== a VM runs a T4-4Q: t4-8q would strand its vGPU, refused"
g=$(carve pgpu-param-get uuid=$(carve pgpu-list --minimal pci-id=0000:af:00.0) param-name=gpu-group-uuid)
vm=$(carve vm-create name-label=vdmvm)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$(carve vgpu-type-list --minimal model-name="GRID T4-4Q") >/dev/null
carve vm-start uuid=$vm >/dev/null
carve host-apply config=vdm.yaml format=vgpu-device-manager selector=t4-8q 2>&1 | U
carve host-apply config=vdm.yaml format=vgpu-device-manager selector=nope 2>&1
carve host-apply config=vdm.yaml format=mdevctl 2>&1
carve host-apply config=vdm.yaml selector=a16-2q 2>&1

echo "==== AMD FirePro S7150 (MxGPU), booted with no VF: the VF count decides the type"
export CARVE_HOST_PROFILE=$(profile amd-s7150-cold) CARVE_SIM_STATE=$T/amd.json
printf 'gpus:\n  - select: {device-id: "1002:6929"}\n    sriov-vfs: 4\n    enabled-types: [s7150-2]\n' >amd-bad.yaml
echo "== the type of 2 VFs with 4 VFs: the second step fails, the first is undone"
carve host-apply config=amd-bad.yaml 2>&1 | U
echo "VFs: $(numvfs 0000:04:00.0)"
printf 'gpus:\n  - select: {board: S7150}\n    sriov-vfs: 4\n    enabled-types: [s7150-4]\n' >amd.yaml
carve host-apply config=amd.yaml | U
echo "VFs: $(numvfs 0000:04:00.0)"
enabled 0000:04:00.0

echo "==== configurations refused before anything is looked at"
bad() { printf "$1" >bad.yaml; carve host-apply config=bad.yaml dry-run=true 2>&1; }
bad 'version: 2\ngpus: []\n'
bad 'gpus:\n  - select: all\n    sriov-vfs: 4\n    sriov-vfs: 8\n'
bad 'gpus:\n  - select: {pci: "0000:zz:00.0"}\n'
bad 'gpus:\n  - sriov-vfs: 4\n'
bad 'gpus:\n  - select: all\n    mig: [5gb]\n'
bad 'gpus:\n  - select: {pci: "0000:04:00.0"}\n    mig: []\n'
bad 'gpus:\n  - select: all\n    vgpu-params: {Frame: 1}\n'
bad 'gpus:\n  - select: all\n    vgpu-params: {frame_rate_limiter: "0,x=1"}\n'
bad 'gpus:\n  - select: {pci: "0000:04:00.0"}\n    vgpu-params: {frame_rate_limiter: 0}\n'
bad 'gpus:\n  - select: all\n    scheduler: {policy: best-effort, time-slice-ms: 2}\n'
bad 'gpus:\n  - select: all\n    scheduler: {policy: round-robin}\n'
bad 'gpus:\n  - select: all\n    scheduler: {policy: equal-share, time-slice-ms: 31}\n'
bad 'gpus:\n  - select: {pci: "0000:04:00.0"}\n    scheduler: {policy: equal-share}\n'
bad 'gpus:\n  - select: {pci: "0000:04:00.0"}\n    mixed-size: true\n'
bad 'gpus:\n  - select: all\n    colour: blue\n'
bad 'gpus:\n  - &x {select: all}\n  - *x\n'
bad 'gpus:\n  - select: {pci: "0000:99:00.0"}\n    sriov-vfs: 2\n'
bad 'gpus:\n  - select: {pci: "0000:04:00.0"}\n    sriov-vfs: 64\n'
carve host-apply config=/nonexistent/host.yaml 2>&1
