# Seed 003's GPU features on its DGX-1V (examples/hosts/dgx8.yaml): NVLink
# peers, ECC and driver facts in the model; P2P placement of several 1:1
# vGPUs on pairwise-connected GPUs (against the seed's matrix, including
# when the PCI-order choice is not connected); what P2P puts in the QEMU
# and libvirt configuration; health from ECC facts and the placement it
# allows; pgpu-reset, refused under a vGPU.
U() { sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g'; }
export CARVE_HOST_PROFILE=$(profile dgx8) CARVE_SIM_STATE=$T/dgx.json
pci() { carve pgpu-param-get uuid=$1 param-name=pci-id; }
pg() { carve pgpu-list --minimal pci-id=$1; }
on() { for v in $(carve vgpu-list --minimal vm-uuid=$1 | tr , ' '); do pci $(carve vgpu-param-get uuid=$v param-name=resident-on); done | sort | tr '\n' ' '; echo; }
vm16() { # NAME N P2P: a VM with N V100X-16Q (1:1) vGPUs
	local vm; vm=$(carve vm-create name-label=$1)
	for i in $(seq $2); do carve vgpu-create vm-uuid=$vm gpu-group-uuid=$G vgpu-type-uuid=$T16 >/dev/null; done
	carve vm-param-set uuid=$vm p2p=$3; echo $vm
}

echo "==== facts"
carve host-list params=driver-version
p0=$(pg 0000:06:00.0)
for q in $(carve pgpu-param-get uuid=$p0 param-name=nvlink-peers | tr -d ';'); do
	echo "GPU0 -> $(pci $q): $(carve pgpu-param-get uuid=$p0 param-name=nvlink-links param-key=$q) link(s)"
done | sort
carve pgpu-list pci-id=0000:06:00.0 params=ecc-mode,ecc-errors,retired-pages,retired-pages-pending,health

echo "==== P2P placement"
G=$(carve pgpu-param-get uuid=$p0 param-name=gpu-group-uuid)
T16=$(carve vgpu-type-list --minimal model-name="GRID V100X-16Q")
a=$(vm16 quad-a 4 required)
carve vm-start uuid=$a >/dev/null && echo "quad-a on: $(on $a)"
carve vm-shutdown uuid=$a
echo "== GPU0 taken: PCI order would give 07 0a 0b 85 (07-85 not joined); P2P takes the other quad"
one=$(vm16 one 1 none)
carve vm-start uuid=$one >/dev/null && echo "one on: $(on $one)"
carve vm-start uuid=$a >/dev/null && echo "quad-a on: $(on $a)"
echo "== 07 0a 0b are left: a P2P pair takes two of them that are joined"
b=$(vm16 pair 2 required)
carve vm-start uuid=$b >/dev/null && echo "pair on: $(on $b)"
echo "== one GPU left, two asked"
c=$(vm16 pair-c 2 required)
carve vm-start uuid=$c 2>&1 | U
carve vm-shutdown uuid=$b
carve vm-shutdown uuid=$one
echo "== 06 07 0a 0b free: the pair with the most links (06-0b, NV2)"
carve vm-start uuid=$c >/dev/null && echo "pair-c on: $(on $c)"
carve vm-shutdown uuid=$c
carve vm-shutdown uuid=$a
echo "== free 06 89 8a: no three of them are joined (06 reaches neither)"
carve vm-start uuid=$one >/dev/null
keep=$(vm16 keep 5 none)
carve vm-start uuid=$keep >/dev/null && echo "keep on: $(on $keep)"
carve vm-shutdown uuid=$one
trio=$(vm16 trio 3 required)
carve vm-start uuid=$trio 2>&1 | U
echo "== p2p=preferred: placed all the same, and no clique"
carve vm-param-set uuid=$trio p2p=preferred
carve vm-start uuid=$trio >/dev/null && echo "trio on: $(on $trio)"
echo "gpudirect in its QEMU arguments: $(carve vm-qemu-args uuid=$trio | grep -c gpudirect)"
carve vm-shutdown uuid=$trio
carve vm-shutdown uuid=$keep
echo "== what the guest gets: one GPUDirect clique"
carve vm-start uuid=$a >/dev/null
carve vm-qemu-args uuid=$a | U | grep -o 'sysfsdev=[^ ]*' | sed 's/sysfsdev=[^,]*,/sysfsdev=.../'
carve vm-libvirt-xml uuid=$a | U | grep -E "xmlns:qemu|alias|qemu:device|qemu:property" | head -5
carve vm-shutdown uuid=$a

echo "==== health"
sed -e '/0000:07:00.0"$/,/ecc:/s/ecc: {mode: true}/ecc: {mode: true, volatile_uncorrected: 1, retired_dbe: 1, retired_pending: true}/' \
    -e '/0000:0a:00.0"$/,/ecc:/s/ecc: {mode: true}/ecc: {mode: true, retired_sbe: 2, retired_pending: true}/' \
    -e '/0000:0b:00.0"$/,/ecc:/s/ecc: {mode: true}/ecc: {mode: true, retired_sbe: 40, retired_dbe: 24}/' \
    $(profile dgx8) >$T/sick.yaml
export CARVE_HOST_PROFILE=$T/sick.yaml CARVE_SIM_STATE=$T/sick.json CARVE_DB=$T/sick.db
carve pgpu-list params=pci-id,health,health-reason,retired-pages,retired-pages-pending is-system-display-device=false | grep -B1 -A3 "health ( RO): [df]"
G=$(carve pgpu-param-get uuid=$(pg 0000:06:00.0) param-name=gpu-group-uuid)
T16=$(carve vgpu-type-list --minimal model-name="GRID V100X-16Q")
echo "== five 1:1 vGPUs: GPUs 07 (failed), 0a (degraded), 0b (failed) are skipped: 8 - 3 = 5 fit"
f=$(vm16 five 5 none)
carve vm-start uuid=$f >/dev/null && echo "five on: $(on $f)"
s=$(vm16 sixth 1 none)
carve vm-start uuid=$s 2>&1 | U
echo "== the group takes degraded PGPUs"
carve gpu-group-param-set uuid=$G degraded-pgpus=allow
carve vm-start uuid=$s >/dev/null && echo "sixth on: $(on $s)"
echo "== the pending retirement needs a reset, refused under the vGPU"
carve pgpu-reset uuid=$(pg 0000:0a:00.0) 2>&1 | U
carve vm-shutdown uuid=$s
carve pgpu-reset uuid=$(pg 0000:0a:00.0) | U
carve pgpu-list pci-id=0000:0a:00.0 params=health,retired-pages,retired-pages-pending
carve pgpu-reset uuid=$(pg 0000:07:00.0) | U
carve gpu-group-param-set uuid=$G degraded-pgpus=sometimes
echo "==== seed 003: ECC on under a driver before GRID 9.0"
sed 's/driver_version: "440.33.01"/driver_version: "418.87.00"/' $(profile dgx8) >$T/old.yaml
export CARVE_HOST_PROFILE=$T/old.yaml CARVE_SIM_STATE=$T/old.json CARVE_DB=$T/old.db
carve pgpu-list pci-id=0000:06:00.0 params=health,health-reason
G=$(carve pgpu-param-get uuid=$(pg 0000:06:00.0) param-name=gpu-group-uuid)
T16=$(carve vgpu-type-list --minimal model-name="GRID V100X-16Q")
o=$(vm16 old 1 none)
carve vm-start uuid=$o 2>&1 | U

echo "==== the same facts through NVML: carve's stand-in library (tests/nvml) on a sysfs tree"
stub=$(dirname "$CARVE_BIN")/../../tests/nvml/libcarve-nvml-stub.so
facts() { # the facts carve keeps, one line per NVIDIA GPU
	carve "$@" pgpu-list params=pci-id,health,retired-pages,retired-pages-pending,ecc-mode vendor-id=10de |
		awk -F': ' '/pci-id/ {p=$2} /health/ {h=$2} /retired-pages \(/ {r=$2} /pending/ {q=$2} /ecc-mode/ {print p, h, r, q, $2}' | sort
	for p in $(carve "$@" pgpu-list --minimal vendor-id=10de | tr , ' '); do
		echo "$(carve "$@" pgpu-param-get uuid=$p param-name=pci-id): $(carve "$@" pgpu-param-get uuid=$p param-name=nvlink-links | tr ';' '\n' | grep -c .) peers"
	done | sort
}
export CARVE_HOST_PROFILE=$T/sick.yaml CARVE_SIM_STATE=$T/sick2.json CARVE_DB=$T/sick2.db
facts >$T/sim.facts
dgx=$(fixture dgx8)
unset CARVE_HOST_PROFILE CARVE_SIM_STATE
export CARVE_DB=$T/nvml.db
CARVE_NVML_LIBRARY=$stub CARVE_NVML_STUB_PROFILE=$T/sick.yaml facts --sysfs-root $dgx >$T/nvml.facts
cat $T/nvml.facts
cmp -s $T/sim.facts $T/nvml.facts && echo "NVML path and the sim agree"
CARVE_NVML_LIBRARY=$stub CARVE_NVML_STUB_PROFILE=$T/sick.yaml carve --sysfs-root $dgx host-list params=driver-version
echo "== without NVML the facts are unknown, not an error"
export CARVE_DB=$T/nonvml.db
CARVE_NVML_LIBRARY=none carve --sysfs-root $dgx pgpu-list pci-id=0000:07:00.0 params=health,ecc-mode,nvlink-peers

echo "==== vm-migration-check: every reason a move would fail for (with live agents: tests/pool/run)"
unset CARVE_HOST_PROFILE CARVE_SIM_STATE
export CARVE_DB=$T/mig.db
A="--hostname a --host-profile $(profile dgx8) --sim-state $T/a.json"
B="--hostname b --host-profile $T/old.yaml --sim-state $T/b.json"
carve $B host-list --minimal >/dev/null
G=$(carve $A pgpu-param-get uuid=$(carve $A pgpu-list --minimal pci-id=0000:06:00.0 host-name-label=a) param-name=gpu-group-uuid)
vm=$(carve $A vm-create name-label=mover)
carve $A vgpu-create vm-uuid=$vm gpu-group-uuid=$G vgpu-type-uuid=$(carve $A vgpu-type-list --minimal model-name="GRID V100X-8Q") >/dev/null
carve $A vm-migration-check uuid=$vm host=b | U
carve $A vm-start uuid=$vm on=a >/dev/null
carve $A vm-migration-check uuid=$vm host=b | U
carve $A vm-migration-check uuid=$vm host=a | U | grep SAME_HOST
carve $A vm-migration-check uuid=$vm host=nosuch 2>&1 | U
echo "== vm-migrate: refused before anything is reserved"
carve $A vm-migrate uuid=$vm host=b 2>&1 | U
carve $A vm-migrate uuid=$vm host=a 2>&1 | U
carve $A vm-migrate-confirm uuid=$vm 2>&1 | U
carve $A vm-migrate-abort uuid=$vm 2>&1 | U
carve $A vm-list uuid=$vm params=power-state,migration,migration-peer | U
carve $A vgpu-list vm-uuid=$vm params=scheduled-to-be-resident-on | U

echo "==== vm-suspend and vm-resume: the reservation and the device are kept"
dev=$(carve $A vgpu-list --minimal vm-uuid=$vm)
carve $A vm-suspend uuid=$vm | U
carve $A vm-list uuid=$vm params=power-state | U
grep -c "\"$dev\"" $T/a.json
carve $A vm-start uuid=$vm 2>&1 | U
carve $A vm-suspend uuid=$vm 2>&1 | U
carve $A vm-destroy uuid=$vm 2>&1 | U
carve $A vm-resume uuid=$vm >/dev/null && echo "resumed where it was: $(grep -c "\"$dev\"" $T/a.json) device"
carve $A vm-list uuid=$vm params=power-state | U
carve $A vm-resume uuid=$vm 2>&1 | U
echo "== a suspended VM shuts down: its device goes"
carve $A vm-suspend uuid=$vm >/dev/null
carve $A vm-shutdown uuid=$vm
carve $A vm-list uuid=$vm params=power-state | U
grep -c "\"$dev\"" $T/a.json
