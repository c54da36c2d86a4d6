# SR-IOV across a reboot.  The kernel does not keep sriov_numvfs, so a reboot
# loses the VFs as well as the vGPUs on them (NVIDIA vendor VFIO, AMD MxGPU).
# The *-cold profiles boot with no VF enabled; the sim state file holds the
# enabled count, and removing it is the reboot.  vm-start enables the VFs
# (writes sriov_numvfs), and host-reconcile enables them again and recreates
# the vGPUs of the running VMs: same PGPU, type and params, each on a VF the
# host shows in use, the same remaining capacity.  The sections share the
# store (one host whose profile changes), so each ends with its VMs halted.
sriov() { # the PF's VF counts and supported types, as the model has them
	local p; p=$(carve pgpu-list --minimal pci-id=$1)
	echo "$1: $(carve pgpu-param-get uuid=$p param-name=sriov-numvfs) of $(carve pgpu-param-get uuid=$p param-name=sriov-totalvfs) VFs enabled, $(carve pgpu-param-get uuid=$p param-name=supported-VGPU-types | tr ';' '\n' | grep -c .) types supported"
}
hostdevs() { # the vGPUs the host carries: "VF type [params]"
	carve --json host-discover | sed -nE -e 's/^          "type": "(.*)",$/\1/p' -e 's/^          "parent": "(.*)",$/\1/p' \
		-e 's/^          "params": "(.*)"$/\1/p' | paste - - - | awk -F'\t' '{print $2, $1, "[" $3 "]"}'
}
vms() { # each VM's vGPU from the store, checked against the host
	local n vm v pgpu dev extra
	for n in "$@"; do
		vm=$(carve vm-list --minimal name-label=$n)
		v=$(carve vgpu-list --minimal vm-uuid=$vm)
		pgpu=$(carve pgpu-param-get uuid=$(carve vgpu-param-get uuid=$v param-name=resident-on) param-name=pci-id)
		dev=$(carve vgpu-param-get uuid=$v param-name=device-pci)
		extra=$(carve vgpu-param-get uuid=$v param-name=extra-args)
		printf '%s: %s on %s [%s], ' $n "$(carve vgpu-param-get uuid=$v param-name=type-model-name)" $pgpu "$extra"
		# which VF a VM gets back depends on reconcile's order: not printed
		if hostdevs | awk -v d="$dev" -v e="[$extra]" '$1 == d && $3 == e {f = 1} END {exit !f}'; then
			echo "on its VF on the host"
		else
			echo "NOT on the host (the store says $dev)"
		fi
	done
}
start() { # name group type [extra-args]
	local vm; vm=$(carve vm-create name-label=$1)
	carve vgpu-create vm-uuid=$vm gpu-group-uuid=$2 vgpu-type-uuid=$3 ${4:+extra-args=$4} >/dev/null
	carve vm-start uuid=$vm >/dev/null
}
shutdown() { # names
	local n; for n in "$@"; do carve vm-shutdown uuid=$(carve vm-list --minimal name-label=$n); done
}
U() { sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g'; }

echo "==== NVIDIA L40S, vendor-specific VFIO, booted with no VF enabled"
export CARVE_HOST_PROFILE=$(profile l40s-sriov-cold) CARVE_SIM_STATE=$T/l40s.json
pf=0000:41:00.0
g=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation NVIDIA L40S GPUs")
t=$(carve vgpu-type-list --minimal model-name="NVIDIA L40S-12Q")
sriov $pf
echo "remaining L40S-12Q: $(carve gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)"
echo "== two VMs start: the first create enables every VF"
start l1 $g $t frame_rate_limiter=1
start l2 $g $t frame_rate_limiter=0
sriov $pf
hostdevs
vms l1 l2
cap=$(carve gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)
echo "remaining L40S-12Q: $cap"
before=$(vms l1 l2)
echo "== reboot: no VF, no vGPU"
rm -f $CARVE_SIM_STATE
sriov $pf
hostdevs | wc -l
echo "== reconcile enables the VFs and recreates both vGPUs"
carve host-reconcile | U
sriov $pf
hostdevs | cut -d' ' -f1 | sort | tr '\n' ' '; echo
[ "$(vms l1 l2)" = "$before" ] && echo "same PGPU, type and params; each on a VF in use"
[ "$(carve gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)" = "$cap" ] && echo "same remaining capacity: $cap"
echo "== a second reconcile has nothing to do"
carve host-reconcile
echo "== shutdown releases the vGPUs; the VFs stay enabled"
shutdown l1 l2
sriov $pf
hostdevs | wc -l

echo "==== AMD FirePro S7150 MxGPU, booted with no VF enabled"
export CARVE_HOST_PROFILE=$(profile amd-s7150-cold) CARVE_SIM_STATE=$T/amd.json
pf=0000:04:00.0
g=$(carve gpu-group-list --minimal name-label="Group of Advanced Micro Devices, Inc. [AMD/ATI] AMD FirePro S7150 GPUs")
t=$(carve vgpu-type-list --minimal model-name="FirePro S7150 MxGPU 1/4")
echo "== gim could run any VF count: every type is supported (and passthrough), none available yet"
sriov $pf
echo "== two 1/4 VMs: the type's count (4) is enabled, gim publishes that type only"
start a1 $g $t
start a2 $g $t
sriov $pf
hostdevs
vms a1 a2
cap=$(carve gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)
echo "remaining 1/4: $cap"
before=$(vms a1 a2)
echo "== reboot"
rm -f $CARVE_SIM_STATE
sriov $pf
echo "== reconcile enables 4 VFs again and hands two to the VMs"
carve host-reconcile | U
sriov $pf
hostdevs | cut -d' ' -f1 | sort | tr '\n' ' '; echo
[ "$(vms a1 a2)" = "$before" ] && echo "same PGPU, type and params; each on a VF in use"
[ "$(carve gpu-group-get-remaining-capacity uuid=$g vgpu-type-uuid=$t)" = "$cap" ] && echo "same remaining capacity: $cap"
shutdown a1 a2

echo "==== NVIDIA L40S whose VFs the boot enables (l40s-sriov): only the vGPUs are lost"
export CARVE_HOST_PROFILE=$(profile l40s-sriov) CARVE_SIM_STATE=$T/warm.json
pf=0000:41:00.0
g=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation NVIDIA L40S GPUs")
t=$(carve vgpu-type-list --minimal model-name="NVIDIA L40S-24Q")
start w1 $g $t frame_rate_limiter=1
hostdevs
before=$(vms w1)
rm -f $CARVE_SIM_STATE
echo "== after the reboot: the boot vGPU (not carve's) is back, w1's is not"
hostdevs
carve host-reconcile | U
hostdevs
[ "$(vms w1)" = "$before" ] && echo "same PGPU, type and params; on a VF in use"
