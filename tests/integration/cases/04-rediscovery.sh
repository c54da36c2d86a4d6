# Discovery through sysfs (a generated tree): re-running discovery updates the
# model in place - same UUIDs, a vanished GPU is marked rather than dropped,
# what the user set survives.
root=$(fixture p40x2)
export CARVE_SYSFS_ROOT=$root
carve pgpu-list params=pci-id,device-name,numa-node,implementation,driver,is-system-display-device
gone=$(carve pgpu-list --minimal pci-id=0000:82:00.0)
t=$(carve vgpu-type-list --minimal model-name="GRID P40-2Q")
carve pgpu-param-remove uuid=$gone param-name=enabled-VGPU-types param-key=$t
g=$(carve gpu-group-create name-label=mine)
carve pgpu-param-set uuid=$gone gpu-group-uuid=$g
echo "== the GPU at 0000:82:00.0 disappears from the host"
dev=$(cd "$root" && find devices -maxdepth 3 -name 0000:82:00.0 | head -1)
mv "$root/$dev" "$T/unplugged"   # the device goes; its links dangle, as after a hot-unplug
carve pgpu-list params=pci-id,present
echo "== and comes back: same UUID, still disabled type, still in the user's group"
mv "$T/unplugged" "$root/$dev"
[ "$(carve pgpu-list --minimal pci-id=0000:82:00.0)" = "$gone" ] && echo "same uuid"
carve pgpu-param-get uuid=$gone param-name=present
carve pgpu-param-get uuid=$gone param-name=enabled-VGPU-types | grep -c "$t"
[ "$(carve pgpu-param-get uuid=$gone param-name=gpu-group-uuid)" = "$g" ] && echo "still in its group"
echo "== every profile's tree discovers (PGPU count, type count)"
for p in k1-k2 m10 l40s-sriov a100-sriov-mdev amd-s7150 intel-gvtg; do
	r=$(fixture $p)
	echo "$p: $(carve --sysfs-root $r --db $T/$p.db pgpu-list --minimal | tr , '\n' | grep -c .) PGPUs, $(carve --sysfs-root $r --db $T/$p.db vgpu-type-list --minimal | tr , '\n' | grep -c .) types"
done
