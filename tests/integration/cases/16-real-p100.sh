# A real host (tests/fixtures/real): a Tesla P100, a board the catalog does
# not know, with two GRID P100-8C made by hand (devices carve did not make).
caps() { # SYSFS: each type's remaining capacity on the first PGPU, and which budget decided it
	local p g
	p=$(carve --sysfs-root "$1" pgpu-list --minimal is-system-display-device=false | cut -d, -f1)
	g=$(carve --sysfs-root "$1" pgpu-param-get uuid=$p param-name=gpu-group-uuid)
	for t in $(carve --sysfs-root "$1" pgpu-param-get uuid=$p param-name=supported-VGPU-types | tr -d ';'); do
		printf '%s: %s (%s)\n' "$(carve --sysfs-root "$1" vgpu-type-param-get uuid=$t param-name=model-name)" \
			"$(carve --sysfs-root "$1" gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)" \
			"$(carve --sysfs-root "$1" pgpu-param-get uuid=$p param-name=VGPU-capacity-sources param-key=$t)"
	done
}
p100=$(listing real-p100)
carve --sysfs-root $p100 pgpu-list params=pci-id,device-name,board,numa-node,iommu-group
carve --sysfs-root $p100 vgpu-type-list --minimal vendor-name="NVIDIA Corporation" | tr , '\n' | wc -l
caps $p100 | grep -E 'P100-8C|P100-1Q|passthrough'
carve --sysfs-root $p100 host-reconcile
vm=$(carve --sysfs-root $p100 vm-create name-label=cuda)
carve --sysfs-root $p100 vgpu-adopt uuid=e55bf865-6983-4d53-967f-51e8a3bb0f57 vm-uuid=$vm
carve --sysfs-root $p100 host-reconcile
