# The CLI session that must print the same through carved and in-process.
# Sourced by run with a function `c` that runs carve one way or the other.
c host-list params=name-label,hostname
c pgpu-list
c gpu-group-list params=uuid,name-label,allocation-algorithm,PGPU-uuids
group=$(c gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
type=$(c vgpu-type-list --minimal model-name="GRID P40-2Q")
c vgpu-type-list model-name="GRID P40-2Q" params=all
c --json vgpu-type-list model-name="GRID T4-4Q"
c gpu-group-get-remaining-capacity uuid="$group" vgpu-type-uuid="$type"
vm=$(c vm-create name-label=golden-vm numa-node=0)
echo "vm: $vm"
c vgpu-create vm-uuid="$vm" gpu-group-uuid="$group" vgpu-type-uuid="$type" extra-args=frame_rate_limiter=0 >/dev/null
c vm-start uuid="$vm"
c vgpu-list params=uuid,vm-name-label,type-model-name,state,device-pci
c --minimal vm-list
c vm-param-get uuid="$vm" param-name=power-state
c pgpu-param-get uuid="$(c pgpu-list --minimal pci-id=0000:04:00.0)" param-name=resident-VGPUs
c gpu-group-get-remaining-capacity uuid="$group" vgpu-type-uuid="$type"
c vm-shutdown uuid="$vm"
c --json vm-param-list uuid="$vm"
echo "== errors"
c vm-start uuid=not-a-uuid
c vm-create bogus=1
c vgpu-list no-such-field=1
c pgpu-param-get uuid="$(c pgpu-list --minimal pci-id=0000:04:00.0)" param-name=nope
c vm-destroy uuid=11111111-2222-4333-8444-555555555555
c no-such-verb
