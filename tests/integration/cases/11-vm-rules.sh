# VM and vGPU rules: multi-vGPU only with multi-vGPU types, each on its own
# PGPU; NUMA preference; edits refused while running; extra-args reach the
# device; destroy.
export CARVE_HOST_PROFILE=$(profile dgx8) CARVE_SIM_STATE=$T/sim.json
g=$(carve gpu-group-list --minimal | tr , '\n' | while read -r u; do
	[ "$(carve gpu-group-param-get uuid=$u param-name=PGPU-uuids | tr ';' '\n' | grep -c .)" = 8 ] && echo $u; done)
full=$(carve vgpu-type-list --minimal multi-vgpu-supported=true implementation=nvidia-mdev | cut -d, -f1)
small=$(carve vgpu-type-list --minimal max-instances-per-pgpu=16 | cut -d, -f1)
echo "full-size type: $(carve vgpu-type-param-get uuid=$full param-name=model-name)"
echo "small type: $(carve vgpu-type-param-get uuid=$small param-name=model-name)"
vm=$(carve vm-create name-label=multi numa-node=1)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$full >/dev/null
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$full >/dev/null
echo "== a small type cannot join a multi-vGPU VM"
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$small 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
echo "== two full-size vGPUs land on two PGPUs of the VM's NUMA node"
carve vm-start uuid=$vm | grep -E '^(vm|  uuid)' | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
for v in $(carve vgpu-list --minimal vm-uuid=$vm | tr , ' '); do
	p=$(carve vgpu-param-get uuid=$v param-name=resident-on)
	echo "$(carve pgpu-param-get uuid=$p param-name=pci-id) numa $(carve pgpu-param-get uuid=$p param-name=numa-node)"
done
echo "== edits are refused while the VM runs"
v=$(carve vgpu-list --minimal vm-uuid=$vm | cut -d, -f1)
carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$full 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
carve vgpu-destroy uuid=$v 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
carve vm-destroy uuid=$vm 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
carve vm-start uuid=$vm 2>&1 | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
echo "== extra-args are validated and written as vgpu_params"
vm2=$(carve vm-create name-label=frl)
carve vgpu-create vm-uuid=$vm2 gpu-group-uuid=$g vgpu-type-uuid=$small extra-args='frame_rate_limiter=0;rm -rf /'
carve vgpu-create vm-uuid=$vm2 gpu-group-uuid=$g vgpu-type-uuid=$small extra-args=frame_rate_limiter=0 >/dev/null
carve vm-start uuid=$vm2 >/dev/null
v2=$(carve vgpu-list --minimal vm-uuid=$vm2)
carve --json host-discover | grep -A3 "\"$v2\"" | grep -o '"params": "[^"]*"'
echo "== shutdown, destroy"
carve vm-shutdown uuid=$vm
carve vm-destroy uuid=$vm
carve vm-list params=name-label,power-state
