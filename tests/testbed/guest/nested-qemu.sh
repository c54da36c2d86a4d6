#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-default: no
# testbed-qemu: -m 1024
# testbed-pack: pack/nested-qemu.sh
#
# The nested-QEMU check: a guest sees the vGPU carve created.  carve
# creates a P40-1Q vGPU for a VM (vm-create, vgpu-create, vm-start) on the
# emulated P40; a second-level QEMU (TCG inside this TCG guest) takes the
# mdev with -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/<uuid> through
# the kernel's VFIO container/group API (vfio_iommu_type1, emulated IOMMU)
# and boots the same kernel with a tiny busybox initramfs
# (tests/testbed/pack/nested-qemu.sh); its /init lists
# /sys/bus/pci/devices and prints "L2-SEES-VGPU: ..." for the NVIDIA
# function.  Checked: the level-2 guest sees 10de:<the P40's device id>
# with the vGPU type id as subsystem id, the device is held open while QEMU
# runs (vgpu_params refuses writes), and carve's vm-shutdown removes the
# mdev after QEMU has gone.  Slow (TCG in TCG, ~1-2 min): not in the
# default run; tests/testbed/run --timeout 400 guest/nested-qemu.sh
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
export CARVE_DB=/tmp/carve-nested.db
A=0000:41:00.0
NQ=/testbed/nested
L2_TIMEOUT=${L2_TIMEOUT:-300}

check "level-2 payload packed (qemu, firmware, kernel, initrd)" \
	test -x /usr/bin/qemu-system-x86_64 -a -s $NQ/kernel -a -s $NQ/initrd -a -s $NQ/fw/bios-256k.bin
check "/dev/vfio/vfio present (devtmpfs)" test -c /dev/vfio/vfio
check "vfio_iommu_type1 loaded" test -d /sys/module/vfio_iommu_type1
check "load emulator profile=p40" emu_load profile=p40
DEVID=$(cat /sys/class/mdev_bus/$A/device)

G=$(cv gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
T=$(cvm vgpu-type-list --minimal model-name="GRID P40-1Q")
VM=$(cvm vm-create name-label=nested)
VG=$(cvm vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$T")
expect_match "carve vgpu-create" "$VG" "????????-????-????-????-????????????"
expect_cv_ok "carve vm-start" cv vm-start uuid="$VM"
D=/sys/bus/mdev/devices/$VG
check "carve created mdev $VG" test -e "$D"
expect_eq "its type" "$(basename "$(readlink "$D/mdev_type")")" nvidia-46
GRP=$(basename "$(readlink "$D/iommu_group")")
check "its vfio group /dev/vfio/$GRP" test -c "/dev/vfio/$GRP"

# level 2: -M pc, no default devices but the serial console; PVH/bzImage
# kernel with the tiny initramfs; -L points at the packed firmware.
t0=$(tb_ns)
timeout -s KILL "$L2_TIMEOUT" qemu-system-x86_64 -L $NQ/fw -accel tcg -m 128 -nographic -no-reboot \
	-nic none -vga none -nodefaults -serial stdio -monitor none \
	-kernel $NQ/kernel -initrd $NQ/initrd \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off" \
	-device "vfio-pci,sysfsdev=$D" < /dev/null > /tmp/l2.log 2>&1 &
QPID=$!
# while level 2 runs, the device is open through VFIO: the driver refuses
# vgpu_params writes (EBUSY) — proof the open is QEMU's, not a leftover
i=0 busy=
while [ $i -lt 600 ] && kill -0 $QPID 2>/dev/null; do
	if grep -q 'L2: up' /tmp/l2.log 2>/dev/null; then
		sysfs_write "$D/nvidia/vgpu_params" disable_vnc=1 || busy=$TB_ERR
		break
	fi
	sleep 1; i=$((i + 1))
done
wait $QPID
rc=$?
t1=$(tb_ns)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
note "level-2 QEMU exited $rc after ${secs}s"
tr -d '\r' < /tmp/l2.log | grep -v '^$' | sed 's/^/    | /' | tail -n 40
expect_eq "level-2 QEMU exit status" "$rc" 0
expect_eq "vgpu_params refused while level 2 holds the device" "$busy" "Device or resource busy"
m=$(tr -d '\r' < /tmp/l2.log | grep '^L2-SEES-VGPU: ')
expect_match "level-2 guest sees the vGPU (vendor 0x10de, device $DEVID, subsystem 10de:002e = type 46)" \
	"$m" "L2-SEES-VGPU: 0000:00:0?.0 0x10de:$DEVID subsys=0x10de:0x002e class=0x030000"
[ -n "$m" ] && echo "$m"
BENCH=$secs; echo "BENCH: nested-qemu level-2 boot+check+poweroff ${BENCH}s"

expect_cv_ok "carve vm-shutdown" cv vm-shutdown uuid="$VM"
check_not "mdev removed by carve" test -e "$D"
expect_eq "no mdev left" "$(mdev_count)" 0
