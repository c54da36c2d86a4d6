#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# A host configuration across a reboot, boot 2 of 2: a fresh kernel (no VF,
# no mode, no vGPU).  carved starts on boot 1's store: it applies the
# stored host configuration first (4 VFs, then mixed-size mode), then its
# reconcile recreates both running VMs' vGPUs - two sizes on one GPU,
# which only the mode allows - with their types and vgpu_params; the
# enabled types are still the configured ones.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
[ -x /usr/local/bin/carved ] || { skip "no carved binary in the initramfs"; exit 0; }
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF
SOCK=/tmp/carved-hc.sock
LOG=/tmp/carved-hc.log

expect_eq "this is boot 2" "$TESTBED_BOOT" 2
check "modprobe nvme" modprobe nvme
check "load emulator vf_pfs=$PF" emu_load vf_pfs=$PF
expect_eq "no VF after the reboot" "$(cat $P/sriov_numvfs)" 0
sysfs_write $P/sriov_drivers_autoprobe 1
printf 'host:\n  nvidia-vgpu-pfs: ["%s=L40S"]\nreconcile:\n  interval-s: 0\n' "${PF#0000:}" >/tmp/carved-hc.conf
carved --config /tmp/carved-hc.conf --socket $SOCK --db /state/carve.db --hostname testbed >$LOG 2>&1 &
CARVED=$!
i=0; while [ ! -S $SOCK ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "carved serves" test -S $SOCK
c() { carve --socket $SOCK "$@"; }
expect_match "start-up applied the host configuration (VFs, mode)" "$(cat $LOG)" "*start-up host configuration: 2 step(s) applied*"
expect_eq "4 VFs again" "$(cat $P/sriov_numvfs)" 4
expect_eq "mixed-size mode on again" "$(grep "^$PF " /sys/bus/pci/drivers/carve_vf_emu/mixed)" "$PF 1"
VM=$(cat /state/hostcfg.vm)
VM2=$(cat /state/hostcfg.vm2)
expect_match "then reconcile recreated the first VM's vGPU" "$(cat $LOG)" "*reconcile: recreated vm=$VM*"
expect_match "and the second's" "$(cat $LOG)" "*reconcile: recreated vm=$VM2*"
V=$(c vgpu-list --minimal vm-uuid="$VM")
DEV=$(c vgpu-param-get uuid="$V" param-name=device-pci)
expect_eq "on a VF with its type" "$(cat /sys/bus/pci/devices/$DEV/nvidia/current_vgpu_type 2>/dev/null)" 1150
expect_eq "and its vgpu_params" "$(cat /sys/bus/pci/devices/$DEV/nvidia/vgpu_params 2>/dev/null)" "frame_rate_limiter=0,disable_vnc=1"
DEV2=$(c vgpu-param-get uuid="$(c vgpu-list --minimal vm-uuid="$VM2")" param-name=device-pci)
expect_eq "the other size beside it" "$(cat /sys/bus/pci/devices/$DEV2/nvidia/current_vgpu_type 2>/dev/null)" 1152
PG=$(c pgpu-list --minimal pci-id=$PF)
expect_eq "the configured types are the ones enabled" \
	"$(for t in $(c pgpu-param-get uuid="$PG" param-name=enabled-VGPU-types | tr -d ';'); do c vgpu-type-param-get uuid="$t" param-name=model-name; done | sort | tr '\n' ' ')" \
	"NVIDIA L40S-4Q NVIDIA L40S-8Q "
expect_eq "host-config-get" "$(c host-config-get)" "$(cat /state/host.yaml)"
kill -TERM $CARVED; wait $CARVED
expect_eq "carved stopped cleanly" "$?" 0
