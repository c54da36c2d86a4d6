# NVIDIA vendor-specific VFIO as a real L40S prints it (the format of
# tests/fixtures/real/real-l40s-vfio.yaml): one VF runs an L40S-24Q, its
# siblings list only the 24Q - the GPU is homogeneous (mixed-size mode off,
# NVIDIA's default), whatever the catalog says the board supports.
cat >$T/l40s-busy.yaml <<'END'
# The state issue 16 reports: VF 0 runs type 1155 (its list is the bare
# header, as the driver prints it for a VF in use), VFs 1-3 list only 1155.
devices:
  - pci: "0000:26:00.0"
    driver: nvidia
    files: {vendor: "0x10de", device: "0x26b9", class: "0x030200", sriov_totalvfs: "4", sriov_numvfs: "4"}
  - {pci: "0000:26:00.4", driver: nvidia, physfn: "0000:26:00.0", vf_index: 0,
     files: {class: "0x030200", nvidia/current_vgpu_type: "1155", nvidia/creatable_vgpu_types: "ID    : vGPU Name"}}
  - {pci: "0000:26:00.5", driver: nvidia, physfn: "0000:26:00.0", vf_index: 1,
     files: {class: "0x030200", nvidia/current_vgpu_type: "0", nvidia/creatable_vgpu_types: "ID    : vGPU Name\n1155  : NVIDIA L40S-24Q"}}
  - {pci: "0000:26:00.6", driver: nvidia, physfn: "0000:26:00.0", vf_index: 2,
     files: {class: "0x030200", nvidia/current_vgpu_type: "0", nvidia/creatable_vgpu_types: "ID    : vGPU Name\n1155  : NVIDIA L40S-24Q"}}
  - {pci: "0000:26:00.7", driver: nvidia, physfn: "0000:26:00.0", vf_index: 3,
     files: {class: "0x030200", nvidia/current_vgpu_type: "0", nvidia/creatable_vgpu_types: "ID    : vGPU Name\n1155  : NVIDIA L40S-24Q"}}
END
l40s=$(listing $T/l40s-busy.yaml)
carve --sysfs-root $l40s pgpu-list params=pci-id,implementation,mixed-size,mixed-size-source,mixed-size-supported
caps $l40s | grep -E 'L40S-(24Q|48Q|12Q|1B):'
carve --sysfs-root $l40s host-reconcile
