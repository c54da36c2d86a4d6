#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# testbed-qemu: -m 2048
# testbed-pack: pack/libvirt.sh
#
# libvirt end to end: Debian's libvirtd (QEMU driver, TCG) starts a domain
# whose <hostdev type='mdev'> is a carve vGPU on the emulated P40, through
# carve's libvirt hook (dist/libvirt-hook-qemu at /etc/libvirt/hooks/qemu):
#   - the domain document is what `carve vm-libvirt-xml domain-type=qemu
#     display=false` prints (emulation, no KVM here; the emulated vGPU has
#     no console region), given to `virsh define` as it is;
#   - before `virsh start` the mdev does not exist; the hook's prepare runs
#     carve vm-start through carved, so the device exists when libvirt's
#     QEMU opens it and the start succeeds (the mdev is in QEMU's
#     arguments, held open: vgpu_params refuses writes);
#   - `virsh destroy`: the hook's release runs vm-shutdown, the mdev goes
#     and the capacity comes back;
#   - a domain that is no carve VM starts and stops with nothing changed in
#     carve.
# shellcheck source=tests/testbed/lib.sh
. "$TESTBED_LIB"
need_carve
[ -x /usr/local/bin/carved ] || { skip "no carved binary in the initramfs"; exit 0; }
[ -x /usr/sbin/libvirtd ] || { skip "libvirtd not packed (tests/testbed/install-deps)"; exit 0; }

A=0000:41:00.0
SOCK=/run/carve/carved.sock
unset CARVE_DB CARVE_SYSFS_ROOT CARVE_HOST_PROFILE CARVE_NVIDIA_VGPU_PFS
export CARVE_SOCKET=$SOCK

check "load emulator profile=p40" emu_load profile=p40
# libvirtd runs in /run, virsh looks in /var/run: one directory, as on Debian.
mkdir -p /var
[ -L /var/run ] || { rm -rf /var/run; ln -s /run /var/run; }
mkdir -p /run/carve /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt /etc/libvirt/qemu
printf 'reconcile:\n  refresh-interval-s: 3600\n  interval-s: 0\n' > /tmp/carved-lv.conf
carved --config /tmp/carved-lv.conf --socket $SOCK --db /tmp/carved-lv.db --hostname testbed > /tmp/carved-lv.log 2>&1 &
CARVED=$!
i=0; while [ ! -S $SOCK ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S $SOCK ] || { fail "carved did not open $SOCK: $(tail -n 5 /tmp/carved-lv.log)"; exit 0; }
note "carved up"

# The initramfs has no user database; libvirt's QEMU driver looks up its
# compiled-in user and group (Debian's libvirt-qemu, kvm) before it reads
# qemu.conf (which then makes QEMU run as root).
grep -q '^libvirt-qemu:' /etc/passwd 2>/dev/null ||
	printf 'root:x:0:0:root:/root:/bin/sh\nlibvirt-qemu:x:64055:108::/var/lib/libvirt:/bin/false\n' >> /etc/passwd
grep -q '^kvm:' /etc/group 2>/dev/null || printf 'root:x:0:\nkvm:x:108:\nlibvirt-qemu:x:64055:\n' >> /etc/group
t0=$(tb_ns)
libvirtd --config /etc/libvirt/libvirtd.conf --pid-file /run/libvirtd.pid > /tmp/libvirtd.out 2>&1 &
LIBVIRTD=$!
up=
i=0
while [ $i -lt 120 ] && kill -0 $LIBVIRTD 2>/dev/null; do
	if [ -S /run/libvirt/libvirt-sock ] &&
		timeout 60 virsh -c qemu:///system version > /tmp/virsh-version.txt 2>&1; then up=1; break; fi
	sleep 1
	i=$((i + 1))
	[ $((i % 30)) = 0 ] && note "waiting for libvirtd ${i}s: $(ps | grep -c '[q]emu-system') qemu; $(tail -n 2 /tmp/libvirtd.log | cut -c1-300)"
done
if [ -z "$up" ]; then
	cp /tmp/libvirtd.log /state/libvirtd.log 2>/dev/null
	fail "libvirtd answers virsh ($(tail -n 3 /tmp/virsh-version.txt 2>/dev/null); $(tail -n 8 /tmp/libvirtd.out); $(tail -n 8 /tmp/libvirtd.log 2>/dev/null))"
	exit 0
fi
ok "libvirtd (QEMU driver) answers virsh in $(( ($(tb_ns) - t0) / 1000000 )) ms"
v() { timeout 120 virsh -q -c qemu:///system "$@"; }

G=$(carve gpu-group-list --minimal name-label="Group of NVIDIA Corporation Tesla P40 GPUs")
T=$(carve vgpu-type-list --minimal model-name="GRID P40-1Q")
remaining() { carve gpu-group-get-remaining-capacity uuid="$G" vgpu-type-uuid="$T"; }
R0=$(remaining)
VM=$(carve vm-create name-label=lv-e2e)
VG=$(carve vgpu-create vm-uuid="$VM" gpu-group-uuid="$G" vgpu-type-uuid="$T")
expect_match "a carve VM with a P40-1Q vGPU" "$VM/$VG" "????????-*/????????-*"

# The domain document: what carve prints for the running VM, as it is.
expect_cv_ok "vm-start (to print the domain)" carve vm-start uuid="$VM"
carve vm-libvirt-xml uuid="$VM" vcpus=1 memory-mib=256 domain-type=qemu display=false > /tmp/lv-e2e.xml
expect_cv_ok "vm-shutdown (libvirt will start it)" carve vm-shutdown uuid="$VM"
check "the mdev is gone again before libvirt starts the domain" test ! -e /sys/bus/mdev/devices/$VG
expect_eq "and the capacity is back ($R0)" "$(remaining)" "$R0"
check "grep the mdev hostdev in the domain" grep -q "type='mdev'" /tmp/lv-e2e.xml
if v define /tmp/lv-e2e.xml > /tmp/define.txt 2>&1; then
	ok "virsh define takes carve's domain document as it is"
else
	fail "virsh define: $(cat /tmp/define.txt)"
	exit 0
fi

# virsh start: the hook's prepare makes the device before QEMU opens it.
t0=$(tb_ns)
if v start lv-e2e > /tmp/start.txt 2>&1; then
	ok "virsh start succeeded in $(( ($(tb_ns) - t0) / 1000000 )) ms"
else
	fail "virsh start: $(cat /tmp/start.txt) $(tail -n 5 /var/log/libvirt/qemu/lv-e2e.log 2>/dev/null)"
fi
check "the hook made the mdev (carve vm-start through carved)" test -e /sys/bus/mdev/devices/$VG
expect_eq "carve says the VM runs" "$(carve vm-param-get uuid="$VM" param-name=power-state)" running
expect_eq "v domstate" "$(v domstate lv-e2e | head -n 1)" running
check "libvirt's QEMU has the mdev in its arguments" grep -q "$VG" /var/log/libvirt/qemu/lv-e2e.log
sysfs_write /sys/bus/mdev/devices/$VG/nvidia/vgpu_params "frame_rate_limiter=0"
expect_eq "and holds it open: vgpu_params refuses writes" "$TB_ERR" "Device or resource busy"
expect_eq "capacity taken" "$(remaining)" "$((R0 - 1))"

# virsh destroy: release runs vm-shutdown.
check "virsh destroy" v destroy lv-e2e
i=0; while [ -e /sys/bus/mdev/devices/$VG ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "the hook removed the mdev" test ! -e /sys/bus/mdev/devices/$VG
expect_eq "carve says the VM is halted" "$(carve vm-param-get uuid="$VM" param-name=power-state)" halted
expect_eq "the capacity is back" "$(remaining)" "$R0"

# A domain that is no carve VM: started and stopped, carve untouched.
cat > /tmp/plain.xml <<EOF
<domain type='qemu'>
  <name>plain</name>
  <uuid>6b3c1f1e-4d1a-4a7e-9d0e-000000000001</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>
EOF
before=$(carve vm-list --minimal; carve vgpu-list --minimal)
check "virsh define a domain that is no carve VM" v define /tmp/plain.xml
check "it starts (the hook lets it be)" v start plain
check "and stops" v destroy plain
expect_eq "carve's VMs and vGPUs are as they were" "$(carve vm-list --minimal; carve vgpu-list --minimal)" "$before"

v undefine lv-e2e > /dev/null 2>&1
v undefine plain > /dev/null 2>&1
kill $LIBVIRTD 2>/dev/null
kill $CARVED 2>/dev/null
exit 0
