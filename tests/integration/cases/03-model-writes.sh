# Model-only writes and XAPI's rules for them; rediscovery keeps user settings.
export CARVE_HOST_PROFILE=$(profile demo)
p40a=$(carve pgpu-list --minimal pci-id=0000:04:00.0)
p40b=$(carve pgpu-list --minimal pci-id=0000:82:00.0)
t4=$(carve pgpu-list --minimal pci-id=0000:af:00.0)
t1q=$(carve vgpu-type-list --minimal model-name="GRID P40-1Q")
t4q=$(carve vgpu-type-list --minimal model-name="GRID T4-4Q")
echo "== new group, move a P40 into it"
g=$(carve gpu-group-create name-label="P40 for CAD" allocation-algorithm=breadth-first)
carve pgpu-param-set uuid=$p40b gpu-group-uuid=$g
carve gpu-group-param-list uuid=$g | grep -E 'name-label|PGPU-uuids|GPU-types|allocation' | sed "s/$p40b/<p40b>/"
echo "== a T4 cannot join a group of P40s"
carve pgpu-param-set uuid=$t4 gpu-group-uuid=$g 2>&1 | sed "s/$g/<g>/; s/$t4/<t4>/"
echo "== a group with a PGPU cannot be destroyed"
carve gpu-group-destroy uuid=$g 2>&1 | sed "s/$g/<g>/"
echo "== enabled types"
carve pgpu-param-remove uuid=$p40a param-name=enabled-VGPU-types param-key=$t1q
carve pgpu-param-get uuid=$p40a param-name=enabled-VGPU-types | tr ';' '\n' | grep -c -- -
carve pgpu-param-add uuid=$p40a param-name=enabled-VGPU-types param-key=$t4q
carve pgpu-param-remove uuid=$p40a param-name=supported-VGPU-types param-key=$t1q
echo "== rediscovery keeps the move, the disabled type and the algorithm"
carve pgpu-list uuid=$p40b params=gpu-group-uuid | sed "s/$g/<g>/"
carve vgpu-type-param-get uuid=$t1q param-name=enabled-on-PGPUs | sed "s/$p40b/<p40b>/"
carve gpu-group-param-get uuid=$g param-name=allocation-algorithm
echo "== move back, destroy the empty group"
auto=$(carve pgpu-param-get uuid=$p40a param-name=gpu-group-uuid)
carve pgpu-param-set uuid=$p40b gpu-group-uuid=$auto
carve gpu-group-destroy uuid=$g
carve gpu-group-list --minimal | tr , '\n' | grep -c $g
