# One malformed description on one of eight GPUs never costs the rest: the
# problem is reported where it is, and is the reason a write that needs the
# broken type there is refused.
hide() { sed -e "s|$T|<T>|g"; }
dgx=$(fixture dgx8)
echo "num_heads=four, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4" \
	>$dgx/devices/pci0000:0a/0000:0a:00.0/mdev_supported_types/nvidia-112/description
carve --sysfs-root $dgx pgpu-list params=pci-id,discovery-problems | hide
carve --sysfs-root $dgx vgpu-type-list --minimal | tr , '\n' | wc -l
t=$(carve --sysfs-root $dgx vgpu-type-list --minimal model-name="GRID V100X-4Q")
carve --sysfs-root $dgx vgpu-type-param-get uuid=$t param-name=discovery-problems | hide
carve --sysfs-root $dgx --json host-discover | grep -A6 '"problems"' | hide
echo "== the other seven still place; where only the broken one could, the problem is the reason"
g=$(carve --sysfs-root $dgx vgpu-type-param-get uuid=$t param-name=supported-on-GPU-groups)
vm=$(carve --sysfs-root $dgx vm-create name-label=a)
carve --sysfs-root $dgx vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t >/dev/null
carve --sysfs-root $dgx vm-start uuid=$vm | grep -c hostdev
carve --sysfs-root $dgx vm-shutdown uuid=$vm
for p in $(carve --sysfs-root $dgx pgpu-list --minimal is-system-display-device=false | tr , ' '); do
	[ "$(carve --sysfs-root $dgx pgpu-param-get uuid=$p param-name=pci-id)" = 0000:0a:00.0 ] ||
		carve --sysfs-root $dgx pgpu-param-remove uuid=$p param-name=enabled-VGPU-types param-key=$t
done
carve --sysfs-root $dgx vm-start uuid=$vm 2>&1 | sed -E "s/vGPU [0-9a-f-]{36}/vGPU <vgpu>/" | hide
carve --sysfs-root $dgx vm-param-get uuid=$vm param-name=power-state
echo "== the file is mended: the problem is gone"
echo "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4" \
	>$dgx/devices/pci0000:0a/0000:0a:00.0/mdev_supported_types/nvidia-112/description
carve --sysfs-root $dgx vgpu-type-param-get uuid=$t param-name=discovery-problems
carve --sysfs-root $dgx vm-start uuid=$vm | grep -c hostdev
echo "== a GPU whose own file is junk: broken, offers nothing, the rest work"
carve --sysfs-root $dgx vm-shutdown uuid=$vm
printf 'zero\n' >$dgx/devices/pci0000:85/0000:85:00.0/numa_node
carve --sysfs-root $dgx pgpu-list pci-id=0000:85:00.0 params=pci-id,numa-node,discovery-problems | hide
carve --sysfs-root $dgx pgpu-list --minimal | tr , '\n' | wc -l
