# The read side on the demo host: xe-style lists, params=all, param-get, JSON.
export CARVE_HOST_PROFILE=$(profile demo)
carve host-list
carve pgpu-list
carve pgpu-list pci-id=0000:04:00.0 params=all
p40=$(carve pgpu-list --minimal pci-id=0000:04:00.0)
for f in supported-VGPU-types enabled-VGPU-types resident-VGPUs gpu-group-uuid pci-id vendor-name device-name numa-node is-system-display-device SUPPORTED-vgpu-TYPES; do
	echo "== $f"; carve pgpu-param-get uuid=$p40 param-name=$f
done
carve vgpu-type-list
carve vgpu-type-list model-name="GRID T4-16Q" params=all
carve gpu-group-list
carve --json gpu-group-list params=uuid,name-label,GPU-types
g=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla T4 GPUs")
carve gpu-group-param-list uuid=$g
for t in $(carve vgpu-type-list --minimal board="Tesla T4" | tr , ' '); do
	printf '%s %s\n' "$(carve vgpu-type-param-get uuid=$t param-name=model-name)" \
		"$(carve gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)"
done
carve --json host-discover | mask | head -40
