#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -machine q35 -device nvme-subsys,id=nvs0,nqn=carve-sriov -device nvme,serial=carvepf0,subsys=nvs0,addr=04.0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
#
# NVIDIA's SR-IOV vendor-VFIO model (vGPU 17+) on real kernel PCI objects.
. "$TESTBED_LIB"
PF=0000:00:04.0
P=/sys/bus/pci/devices/$PF
check "modprobe nvme" modprobe nvme
expect_eq "PF $PF present" "$(cat $P/vendor 2>/dev/null):$(cat $P/class 2>/dev/null)" "0x1b36:0x010802"
expect_eq "sriov_totalvfs" "$(cat $P/sriov_totalvfs)" 4
ls -l $P/driver
echo 0 > $P/sriov_drivers_autoprobe
expect_write_ok "sriov_numvfs=4" $P/sriov_numvfs 4
ls -l $P/ | grep virtfn
expect_eq "4 virtfn links" "$(ls -d $P/virtfn* | wc -l)" 4
for v in $P/virtfn*; do ls -l $v; cat $v/class; done
