# Reconcile after a "reboot" (the sim state file is lost, as kernel state is):
# running VMs get their vGPUs back with the same UUIDs and params; devices
# carve did not create are reported, never removed; vgpu-adopt takes one.
export CARVE_HOST_PROFILE=$(profile p40x2) CARVE_SIM_STATE=$T/sim.json
g=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
t=$(carve vgpu-type-list --minimal model-name="GRID P40-4Q")
for i in 1 2 3; do
	vm=$(carve vm-create name-label=r$i)
	carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t extra-args=frame_rate_limiter=$((i % 2)) >/dev/null
	carve vm-start uuid=$vm >/dev/null
done
carve vm-shutdown uuid=$(carve vm-list --minimal name-label=r3)
before=$(carve --json host-discover | grep -E '"(uuid|params)"' | sort)
echo "== reboot: the host forgets every device"
rm -f $T/sim.json
carve --json host-discover | grep -c '"params"' || true
carve host-reconcile | sed -E 's/[0-9a-f-]{36}/<uuid>/g'
after=$(carve --json host-discover | grep -E '"(uuid|params)"' | sort)
[ "$before" = "$after" ] && echo "same devices, same UUIDs, same params"
echo "== a second reconcile has nothing to do"
carve host-reconcile
echo "== adopt one of them into a VM; it is no longer an orphan"
vm=$(carve vm-create name-label=adopter)
carve vgpu-adopt uuid=070bcb42-18fc-4971-9aa9-67f5ee1281c3 vm-uuid=$vm
carve vgpu-list uuid=070bcb42-18fc-4971-9aa9-67f5ee1281c3 params=vm-name-label,type-model-name,state,origin
carve vm-param-get uuid=$vm param-name=power-state
carve host-reconcile
carve vgpu-adopt uuid=070bcb42-18fc-4971-9aa9-67f5ee1281c3 vm-uuid=$vm 2>&1 | sed -E "s/$vm/<vm>/"
carve vgpu-adopt uuid=11111111-2222-3333-4444-555555555555 vm-uuid=$vm
