#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# carve's VM/vGPU lifecycle against the real kernel mdev core (two emulated
# P40s, 0000:41:00.0 on NUMA 0 and 0000:81:00.0 on NUMA 1), black-box:
#   - depth-first and breadth-first placement: VMs started and shut down one
#     at a time; after every step the kernel's available_instances per GPU
#     is what the algorithm implies and equals carve's
#     gpu-group-get-remaining-capacity; a VM's NUMA node breaks the tie
#     between equally free PGPUs,
#   - one type per PGPU: carve's placement refuses a second type
#     (VGPU_TYPE_NOT_COMPATIBLE_WITH_RUNNING_TYPE) and so does the kernel
#     (a raw create of that type fails with EBUSY),
#   - vgpu_params: extra-args reach nvidia/vgpu_params; params the driver
#     refuses roll the start back,
#   - hostile inputs (path-like or malformed UUIDs, type ids, params) are
#     refused before anything is written,
#   - a device created behind carve's back is reported by host-reconcile,
#     never removed, and taken over by vgpu-adopt,
#   - a create the driver refuses (fail_create) is rolled back: no device
#     left, no capacity leaked, VM halted, vGPUs 'defined'.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve

export CARVE_DB=/tmp/carve-lifecycle.db
A=0000:41:00.0 B=0000:81:00.0
FAIL_CREATE=$EMU_PARAMS/fail_create

check "load emulator profile=p40x2" emu_load profile=p40x2
G=$(cv gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
expect_match "P40 group found" "$G" "????????-????-????-????-????????????"
cvm vgpu-type-list params=uuid,model-name board="Tesla P40" | xe_table model-name uuid > /tmp/types.map
ty() { awk -F'|' -v m="GRID P40-$1" '$1 == m { print $2 }' /tmp/types.map; }
PGPU_A=$(cvm pgpu-list --minimal pci-id=$A)

# new_vm NAME MODEL [extra-args] [numa-node]: a halted VM with one vGPU
# ($VM, $VG).
new_vm() {
	VM=$(cvm vm-create name-label="$1" ${4:+numa-node=$4})
	VG=$(cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$(ty "$2")" ${3:+extra-args=$3})
}
# start: vm-start $VM; output in $CV_OUT, the GPU it landed on in $DEV.
start() {
	cv_run cv vm-start uuid="${1:-$VM}"
	DEV=$(echo "$CV_OUT" | sed -n 's/.* device-pci=\([^ ]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//')
}
# start_on DESC EXPECTED_PCI: start $VM, it must land on EXPECTED_PCI.
start_on() {
	start
	if [ "$CV_RC" = 0 ] && [ "$DEV" = "$2" ]; then ok "$1: started on $DEV"
	else fail "$1: expected to start on $2 (status $CV_RC, landed on '$DEV': $CV_OUT)"; fi
}
# state LABEL TYPEID MODEL "AVAIL_A AVAIL_B": the kernel's available_instances
# of TYPEID on A and B, and carve's remaining capacity == their sum (asked
# with --no-discover: carve's capacity is computed from its store, which
# vm-start/vm-shutdown just updated; half the cost under TCG).
state() {
	_k=$(kern_avail_list "$2" $A $B)
	_s=$(echo "$_k" | awk '{ print $1 + $2 }')
	_c=$(cvm gpu-group-get-remaining-capacity uuid="$G" vgpu-type-uuid="$(ty "$3")" 2>&1)
	if [ "$_k" = "$4" ] && [ "$_c" = "$_s" ]; then
		ok "$1: $2 available_instances [41 81] = $_k, carve remaining capacity $_c"
	else
		fail "$1: $2 available_instances [41 81] = '$_k' (expected '$4'), carve remaining capacity '$_c' (kernel sum $_s)"
	fi
}
# halted_clean DESC VM: the VM is halted and its vGPUs are 'defined' with no
# PGPU (nothing reserved, nothing resident).
halted_clean() {
	_st=$(cvm vm-param-get uuid="$2" param-name=power-state 2>&1)
	_v=$(cvm vgpu-list vm-uuid="$2" params=state,resident-on,scheduled-to-be-resident-on |
		xe_table state resident-on scheduled-to-be-resident-on | sort -u | tr '\n' ' ')
	if [ "$_st" = halted ] && [ "$_v" = "defined|| " ]; then ok "$1: VM halted, vGPUs defined, nothing reserved"
	else fail "$1: VM '$_st', vGPUs '$_v'"; fi
}

# ---- depth-first (the default): P40-8Q, 3 per GPU ------------------------------
expect_eq "allocation-algorithm defaults to depth-first" \
	"$(cvm gpu-group-param-get uuid="$G" param-name=allocation-algorithm)" depth-first
state "depth-first: empty" nvidia-51 8Q "3 3"
new_vm d1 8Q; D1=$VM; start_on "depth-first d1" $A
state "depth-first: d1 up" nvidia-51 8Q "2 3"
new_vm d2 8Q; D2=$VM; start_on "depth-first d2 packs onto the same GPU" $A
state "depth-first: d2 up" nvidia-51 8Q "1 3"
new_vm d3 8Q; D3=$VM; start_on "depth-first d3 fills it" $A
state "depth-first: d3 up" nvidia-51 8Q "0 3"
new_vm d4 8Q; D4=$VM; start_on "depth-first d4 spills to the second GPU" $B
state "depth-first: d4 up" nvidia-51 8Q "0 2"
expect_cv_ok "depth-first: shut down d2" cv vm-shutdown uuid="$D2"
state "depth-first: d2 down" nvidia-51 8Q "1 2"
new_vm d5 8Q; D5=$VM; start_on "depth-first d5 refills the fuller GPU" $A
state "depth-first: d5 up" nvidia-51 8Q "0 2"

# ---- one type per PGPU ----------------------------------------------------------------
n0=$(created_count)
new_vm mix 4Q; MIX=$VM
start
case $CV_RC:$CV_OUT in
1:*"carve: VGPU_TYPE_NOT_COMPATIBLE_WITH_RUNNING_TYPE: "*)
	ok "carve refuses P40-4Q next to running P40-8Q (VGPU_TYPE_NOT_COMPATIBLE_WITH_RUNNING_TYPE)" ;;
*) fail "carve should refuse P40-4Q on GPUs running P40-8Q (status $CV_RC: $CV_OUT)" ;;
esac
expect_eq "refused start wrote nothing to the kernel" "$(created_count)" "$n0"
halted_clean "refused start" "$MIX"
expect_eq "carve remaining capacity for P40-4Q is 0" \
	"$(cv gpu-group-get-remaining-capacity uuid="$G" vgpu-type-uuid="$(ty 4Q)")" 0
expect_eq "kernel: nvidia-49 available_instances [41 81]" "$(kern_avail_list nvidia-49 $A $B)" "0 0"
expect_write_err "kernel refuses a raw P40-4Q create on $A" "$(emu_type_dir $A nvidia-49)/create" "$(new_uuid)" \
	"Device or resource busy"
expect_write_err "kernel refuses a raw P40-4Q create on $B" "$(emu_type_dir $B nvidia-49)/create" "$(new_uuid)" \
	"Device or resource busy"

# ---- vgpu_params -------------------------------------------------------------------------
new_vm p1 8Q frame_rate_limiter=0; P1=$VM; P1G=$VG
start_on "vm-start with extra-args=frame_rate_limiter=0" $B
expect_eq "nvidia/vgpu_params read back" "$(cat "/sys/bus/mdev/devices/$P1G/nvidia/vgpu_params")" frame_rate_limiter=0
state "params: p1 up" nvidia-51 8Q "0 1"
expect_cv_ok "shut down p1" cv vm-shutdown uuid="$P1"
check_not "p1's mdev removed" test -e "/sys/bus/mdev/devices/$P1G"
expect_cv_ok "vgpu-param-set two params on the halted VM" \
	cvm vgpu-param-set uuid="$P1G" extra-args=disable_vnc=1,frame_rate_limiter=0
start_on "restart p1" $B
expect_eq "both params reach the driver (canonical read-back)" \
	"$(cat "/sys/bus/mdev/devices/$P1G/nvidia/vgpu_params")" frame_rate_limiter=0,disable_vnc=1
expect_cv_ok "shut down p1" cv vm-shutdown uuid="$P1"
expect_cv_ok "vgpu-param-set a key the driver does not know" cvm vgpu-param-set uuid="$P1G" extra-args=bogus=1
start
expect_match "driver refuses vgpu_params bogus=1: vm-start fails" "$CV_RC:$CV_OUT" "1:*Invalid argument*"
check_not "no mdev left behind" test -e "/sys/bus/mdev/devices/$P1G"
halted_clean "params refused" "$P1"
state "params refused: nothing leaked" nvidia-51 8Q "0 2"

for vm in $D1 $D3 $D4 $D5; do cv vm-shutdown uuid="$vm" > /dev/null || fail "shutdown $vm"; done
state "depth-first: all down" nvidia-51 8Q "3 3"
expect_eq "no mdev left" "$(mdev_count)" 0

# ---- NUMA: a VM's node breaks the tie between equally free PGPUs ----------------------------
new_vm n1 8Q "" 1; N1=$VM; start_on "VM on NUMA node 1 goes to $B (not $A, first by PCI order)" $B
state "numa: n1 up" nvidia-51 8Q "3 2"
expect_cv_ok "shut down n1" cv vm-shutdown uuid="$N1"

# ---- breadth-first: P40-12Q, 2 per GPU ------------------------------------------------
expect_cv_ok "set breadth-first" cvm gpu-group-param-set uuid="$G" allocation-algorithm=breadth-first
state "breadth-first: empty" nvidia-52 12Q "2 2"
new_vm b1 12Q; B1=$VM; start_on "breadth-first b1" $A
state "breadth-first: b1 up" nvidia-52 12Q "1 2"
new_vm b2 12Q; B2=$VM; start_on "breadth-first b2 spreads to the emptier GPU" $B
state "breadth-first: b2 up" nvidia-52 12Q "1 1"
new_vm b3 12Q; B3=$VM; start_on "breadth-first b3" $A
state "breadth-first: b3 up" nvidia-52 12Q "0 1"
expect_cv_ok "breadth-first: shut down b1" cv vm-shutdown uuid="$B1"
state "breadth-first: b1 down" nvidia-52 12Q "1 1"
new_vm b4 12Q; B4=$VM; start_on "breadth-first b4" $A
new_vm b5 12Q; B5=$VM; start_on "breadth-first b5" $B
state "breadth-first: full" nvidia-52 12Q "0 0"
new_vm b6 12Q; B6=$VM
n0=$(created_count)
start
expect_match "a fifth P40-12Q is refused" "$CV_RC:$CV_OUT" "1:*carve: PGPU_INSUFFICIENT_CAPACITY_FOR_VGPU: *"
expect_eq "refused start wrote nothing" "$(created_count)" "$n0"
halted_clean "no capacity" "$B6"
for vm in $B2 $B3 $B4 $B5; do
	cv vm-shutdown uuid="$vm" > /dev/null || fail "shutdown $vm"
done
state "breadth-first: all down" nvidia-52 12Q "2 2"
expect_cv_ok "back to depth-first" cvm gpu-group-param-set uuid="$G" allocation-algorithm=depth-first

# ---- hostile inputs: refused before anything is written ------------------------------------
n0=$(created_count)
m0=$(mdev_count)
f0=$(cat "$FAIL_CREATE")
H=$(cvm vm-create name-label=hostile)
expect_cv_err "vm-start uuid=../../../module/carve_vgpu_emu" UUID_INVALID cv vm-start uuid=../../../module/carve_vgpu_emu
expect_cv_err "vm-shutdown uuid=PCI address" UUID_INVALID cv vm-shutdown uuid=$A
expect_cv_err "vgpu-adopt uuid=path into sysfs" UUID_INVALID \
	cv vgpu-adopt uuid=../../../module/carve_vgpu_emu/parameters/fail_create vm-uuid="$H"
expect_cv_err "vgpu-adopt uuid with a trailing newline" UUID_INVALID cv vgpu-adopt uuid="$(new_uuid)
" vm-uuid="$H"
expect_cv_err "vgpu-adopt of a UUID that is no device" DEVICE_NOT_FOUND cv vgpu-adopt uuid="$(new_uuid)" vm-uuid="$H"
expect_cv_err "vgpu-create with a type id instead of a type UUID" UUID_INVALID \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid=nvidia-46
expect_cv_err "vgpu-create with a type path" UUID_INVALID \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid=../nvidia-46/create
expect_cv_err "vgpu-create with an unknown type UUID" UUID_NOT_FOUND \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid="$(new_uuid)"
expect_cv_err "vgpu-create with device=99" INVALID_VALUE \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid="$(ty 1Q)" device=99
expect_cv_err "extra-args with a newline (second sysfs line)" INVALID_VALUE \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid="$(ty 1Q)" extra-args="frame_rate_limiter=0
disable_vnc=1"
expect_cv_err "extra-args with a path" INVALID_VALUE \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid="$(ty 1Q)" extra-args=frame_rate_limiter=../../remove
expect_cv_err "extra-args of 300 bytes" INVALID_VALUE \
	cvm vgpu-create vm-uuid="$H" gpu-group-uuid="$G" vgpu-type-uuid="$(ty 1Q)" \
	extra-args="frame_rate_limiter=$(printf '%0290d' 0)"
expect_cv_err "unknown parameter on vm-start" UNKNOWN_PARAMETER cv vm-start uuid="$H" create=1
expect_cv_err "allocation-algorithm=../x" INVALID_VALUE cvm gpu-group-param-set uuid="$G" allocation-algorithm=../x
expect_eq "hostile inputs: no vGPU created" "$(created_count)" "$n0"
expect_eq "hostile inputs: no mdev" "$(mdev_count)" "$m0"
expect_eq "hostile inputs: fail_create untouched" "$(cat "$FAIL_CREATE")" "$f0"
expect_eq "hostile inputs: the VM has no vGPU" "$(cvm vgpu-list --minimal vm-uuid="$H")" ""

# ---- a device created behind carve's back -----------------------------------------------------
O=$(new_uuid)
check "raw create of P40-2Q $O on $A (behind carve's back)" emu_create $A nvidia-47 "$O"
cv_run cv host-reconcile
expect_match "host-reconcile reports the orphan" "$CV_RC:$CV_OUT" \
	"0:*action=orphan vgpu=$O detail=type nvidia-47 on $A*"
check "host-reconcile left the orphan alone" test -e "/sys/bus/mdev/devices/$O"
expect_eq "carve's remaining P40-1Q capacity counts the orphan" \
	"$(cv gpu-group-get-remaining-capacity uuid="$G" vgpu-type-uuid="$(ty 1Q)")" "$(kern_avail_sum nvidia-46)"
new_vm o1 1Q; O1=$VM
start
expect_eq "a P40-1Q VM is placed around the orphan" "$CV_RC:$DEV" "0:$B"
if [ "$CV_RC" != 0 ]; then
	note "vm-start next to the orphan: $CV_OUT"
	# carve's sysfs backend reads available_instances before it writes
	# create (VGPU_TYPE_INCOMPATIBLE); without that the kernel says EBUSY
	expect_match "the start fails cleanly on the GPU the orphan occupies" "$CV_OUT" \
		"*carve: VGPU_TYPE_INCOMPATIBLE: *$A*nvidia-47*"
	halted_clean "start refused on the orphan's GPU" "$O1"
else
	cv vm-shutdown uuid="$O1" > /dev/null
fi
expect_eq "only the orphan is on the host" "$(ls /sys/bus/mdev/devices)" "$O"
AD=$(cvm vm-create name-label=adopter)
expect_cv_ok "vgpu-adopt the orphan" cv vgpu-adopt uuid="$O" vm-uuid="$AD"
expect_eq "adopted vGPU: VM, type, state, origin, PGPU" \
	"$(cvm vgpu-list uuid="$O" params=vm-uuid,type-model-name,state,origin,resident-on |
		xe_table vm-uuid type-model-name state origin resident-on)" \
	"$AD|GRID P40-2Q|running|adopted|$PGPU_A"
expect_eq "adopter VM is running" "$(cvm vm-param-get uuid="$AD" param-name=power-state)" running
cv_run cv host-reconcile
expect_match "host-reconcile has no orphan any more" "$CV_RC:$CV_OUT" "0:*"
case $CV_OUT in *orphan*) fail "still an orphan after adoption: $CV_OUT" ;; *) ok "no orphan after adoption" ;; esac
state "adopted: carve counts it" nvidia-47 2Q "11 12"
expect_cv_ok "shut down the adopter" cv vm-shutdown uuid="$AD"
check_not "the adopted mdev is removed by carve" test -e "/sys/bus/mdev/devices/$O"
state "adopter down" nvidia-46 1Q "24 24"

# ---- a create the driver refuses: rolled back, nothing leaked ------------------------------------
new_vm f1 1Q; F1=$VM; F1G=$VG
echo 1 > "$FAIL_CREATE"
start
expect_match "fail_create=1: vm-start fails with the driver's EIO" "$CV_RC:$CV_OUT" "1:*Input/output error*"
check_not "no mdev left behind" test -e "/sys/bus/mdev/devices/$F1G"
halted_clean "fail_create=1" "$F1"
state "fail_create=1: no capacity leaked" nvidia-46 1Q "24 24"

FM=$(cvm vm-create name-label=multi)
for d in 0 1; do
	cvm vgpu-create vm-uuid="$FM" gpu-group-uuid="$G" vgpu-type-uuid="$(ty 24Q)" device=$d > /dev/null ||
		fail "vgpu-create P40-24Q device=$d"
done
echo 2 > "$FAIL_CREATE"
n0=$(created_count)
start "$FM"
expect_match "fail_create=2: the second vGPU of a 2-vGPU VM fails" "$CV_RC:$CV_OUT" "1:*Input/output error*"
expect_eq "the first vGPU was created, then removed again" \
	"$(($(created_count) - n0)):$(mdev_count)" "1:0"
halted_clean "fail_create=2" "$FM"
state "fail_create=2: no capacity leaked" nvidia-53 24Q "1 1"
echo 0 > "$FAIL_CREATE"
start "$FM"
expect_eq "without the fault the 2-vGPU VM starts, one vGPU per GPU" "$CV_RC:$DEV" "0:$A $B"
state "2-vGPU VM up" nvidia-53 24Q "0 0"
expect_cv_ok "shut down the 2-vGPU VM" cv vm-shutdown uuid="$FM"
state "2-vGPU VM down" nvidia-53 24Q "1 1"
expect_eq "no mdev left at the end" "$(mdev_count)" 0
