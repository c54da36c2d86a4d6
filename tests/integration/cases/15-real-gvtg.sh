# A real host (tests/fixtures/real): Intel GVT-g on a kernel before 6.1,
# where the types have no name file; an iGPU the catalog does not know, so
# the kernel's available_instances decide.
gvt=$(listing real-gvtg-skylake)
carve --sysfs-root $gvt pgpu-list params=pci-id,device-name,implementation,mixed-size,mixed-size-source
caps $gvt
echo "== the same iGPU with name files (as kernels since 6.1 give): the kernel still decides"
for d in $gvt/devices/pci0000:00/0000:00:02.0/mdev_supported_types/*/; do
	n=$(basename $d)
	echo "${n#i915-}" >$d/name
done
caps $gvt
