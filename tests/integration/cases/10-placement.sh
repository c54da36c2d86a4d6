# Placement on the K1 + K2 host (seed 000): capacities, depth-first packing,
# breadth-first spreading, the ranked errors, rollback of a failed create.
export CARVE_HOST_PROFILE=$(profile k1-k2) CARVE_SIM_STATE=$T/sim.json
k2=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation GRID K2 GPUs")
k1=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation GRID K1 GPUs")
ty() { carve vgpu-type-list --minimal model-name="$1"; }
echo "== remaining capacity of the K2 group (2 PGPUs) per type"
for t in "GRID K200" "GRID K220Q" "GRID K240Q" "GRID K260Q" "GRID K280Q"; do
	echo "$t: $(carve gpu-group-get-remaining-capacity uuid=$k2 vgpu-type-uuid=$(ty "$t"))"
done
echo "== K1 group (4 PGPUs): k100 fits 8 per PGPU, 32 in all"
carve gpu-group-get-remaining-capacity uuid=$k1 vgpu-type-uuid=$(ty "GRID K100")
start_vm() { # name group type -> prints the PGPU PCI address it landed on
	local vm; vm=$(carve vm-create name-label=$1)
	carve vgpu-create vm-uuid=$vm gpu-group-uuid=$2 vgpu-type-uuid=$3 >/dev/null
	carve vm-start uuid=$vm >/dev/null
	[ "$(carve vm-param-get uuid=$vm param-name=power-state)" = running ] || { echo "$1 not started"; return; }
	local p; p=$(carve vgpu-list --minimal vm-uuid=$vm)
	carve pgpu-param-get uuid=$(carve vgpu-param-get uuid=$p param-name=resident-on) param-name=pci-id
}
echo "== depth-first: four k240q fill the first K2 GPU before the second"
for i in 1 2 3 4 5; do start_vm d$i $k2 $(ty "GRID K240Q"); done
echo "== the K2 group can now take 3 more k240q, no k260q on the partly used PGPU"
carve gpu-group-get-remaining-capacity uuid=$k2 vgpu-type-uuid=$(ty "GRID K240Q")
carve gpu-group-get-remaining-capacity uuid=$k2 vgpu-type-uuid=$(ty "GRID K260Q")
echo "== mixed types are refused with the ranked reason"
start_vm mix1 $k2 $(ty "GRID K260Q") 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
echo "== breadth-first spreads k100 over the four K1 GPUs"
carve gpu-group-param-set uuid=$k1 allocation-algorithm=breadth-first
for i in 1 2 3 4 5 6; do start_vm b$i $k1 $(ty "GRID K100"); done
echo "== a create that the driver refuses is rolled back: no capacity leaks"
before=$(carve gpu-group-get-remaining-capacity uuid=$k1 vgpu-type-uuid=$(ty "GRID K100"))
vm=$(carve vm-create name-label=failing)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$k1 vgpu-type-uuid=$(ty "GRID K100") >/dev/null
CARVE_SIM_FAIL_CREATE=1 carve vm-start uuid=$vm 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
carve vm-param-get uuid=$vm param-name=power-state
carve vgpu-list vm-uuid=$vm params=state,resident-on,scheduled-to-be-resident-on
after=$(carve gpu-group-get-remaining-capacity uuid=$k1 vgpu-type-uuid=$(ty "GRID K100"))
echo "capacity before $before after $after"
echo "== shutting everything down gives all capacity back"
for vm in $(carve vm-list --minimal power-state=running | tr , ' '); do carve vm-shutdown uuid=$vm; done
carve gpu-group-get-remaining-capacity uuid=$k2 vgpu-type-uuid=$(ty "GRID K240Q")
carve gpu-group-get-remaining-capacity uuid=$k1 vgpu-type-uuid=$(ty "GRID K100")
carve --json host-discover | grep -c '"uuid"' || true
