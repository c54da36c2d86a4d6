# A real host (tests/fixtures/real): Intel GVT-g on a kernel before 6.1,
# where the types have no name file; an iGPU the catalog does not know, so
# the kernel's available_instances decide.
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
gvt=$(listing real-gvtg-skylake)
carve --sysfs-root $gvt pgpu-list params=pci-id,device-name,implementation,mixed-size,mixed-size-source
caps $gvt
echo "== the same iGPU with name files (as kernels since 6.1 give): the kernel still decides"
for d in $gvt/devices/pci0000:00/0000:00:02.0/mdev_supported_types/*/; do
	n=$(basename $d)
	echo "${n#i915-}" >$d/name
done
caps $gvt
