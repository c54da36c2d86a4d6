# A real host (tests/fixtures/real): a Tesla P100, a board the catalog does
# not know, with two GRID P100-8C made by hand (devices carve did not make).
p100=$(listing real-p100)
carve --sysfs-root $p100 pgpu-list params=pci-id,device-name,board,numa-node,iommu-group
carve --sysfs-root $p100 vgpu-type-list --minimal vendor-name="NVIDIA Corporation" | tr , '\n' | wc -l
caps $p100 | grep -E 'P100-8C|P100-1Q|passthrough'
carve --sysfs-root $p100 host-reconcile
vm=$(carve --sysfs-root $p100 vm-create name-label=cuda)
carve --sysfs-root $p100 vgpu-adopt uuid=e55bf865-6983-4d53-967f-51e8a3bb0f57 vm-uuid=$vm
carve --sysfs-root $p100 host-reconcile
