# Hostile strings at every entry point of the CLI: each is refused with one
# line, and neither the store nor the (simulated) host changes.
export CARVE_HOST_PROFILE=$(profile demo) CARVE_SIM_STATE=$T/sim.json
g=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
t=$(carve vgpu-type-list --minimal model-name="GRID P40-2Q")
vm=$(carve vm-create name-label=target)
v=$(carve vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t)
p=$(carve pgpu-list --minimal pci-id=0000:04:00.0)
snapshot() { for c in pgpu vgpu-type gpu-group vm vgpu host; do carve --json $c-list params=all; done | mask; cat "$T/sim.json" 2>/dev/null; }
before=$(snapshot)
long=$(printf 'a%.0s' $(seq 5000))
hostile=("../../../../etc/passwd" "$vm/../x" "' OR 1=1 --" '$(reboot)' '%s%s%n' "" " $vm" "$long"
	 "$(printf 'a\nb')" "00000000-0000-0000-0000-00000000000g")
n=0; refused=0
try() { # verb key=value...: must fail
	n=$((n + 1))
	if out=$("$CARVE_BIN" "$@" 2>&1); then echo "ACCEPTED: $*" | cut -c1-120; else refused=$((refused + 1)); fi
	case $out in *$'\n'*) echo "MULTI-LINE ERROR for $1: $(echo "$out" | head -2 | tr '\n' '|' | cut -c1-100)";; esac
}
for h in "${hostile[@]}"; do
	for verb in pgpu-param-list vgpu-type-param-list gpu-group-param-list vm-param-list vgpu-param-list host-param-list \
		    vm-start vm-shutdown vm-destroy vgpu-destroy gpu-group-destroy; do
		try $verb uuid="$h"
	done
	try pgpu-param-get uuid="$h" param-name=pci-id
	try pgpu-param-get uuid=$p param-name="$h"
	try pgpu-param-set uuid=$p gpu-group-uuid="$h"
	[ -n "$h" ] && try pgpu-param-set uuid=$p enabled-VGPU-types="$h" # empty = disable all, legitimately
	try pgpu-param-add uuid=$p param-name=enabled-VGPU-types param-key="$h"
	try pgpu-param-remove uuid=$p param-name=enabled-VGPU-types param-key="$h"
	try gpu-group-param-set uuid=$g allocation-algorithm="$h"
	try gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid="$h"
	try vgpu-create vm-uuid="$h" gpu-group-uuid=$g vgpu-type-uuid=$t
	try vgpu-create vm-uuid=$vm gpu-group-uuid="$h" vgpu-type-uuid=$t
	try vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid="$h"
	try vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t device="$h"
	try vgpu-create vm-uuid=$vm gpu-group-uuid=$g vgpu-type-uuid=$t extra-args="$h"
	try vgpu-param-set uuid=$v extra-args="frame_rate_limiter=0,$h"
	try vm-create name-label=x uuid="$h"
	try vm-create name-label=x numa-node="$h"
	try vm-param-set uuid=$vm numa-node="$h"
	try vgpu-adopt uuid="$h" vm-uuid=$vm
	try vgpu-adopt uuid=$v vm-uuid="$h"
	try "$h"
	try pgpu-list "$h"=1
done
echo "$refused of $n hostile calls refused"
after=$(snapshot)
[ "$before" = "$after" ] && echo "store and host unchanged"
