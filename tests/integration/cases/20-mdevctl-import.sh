# mdevctl-import: mdevctl's persistent definitions become carve vGPUs with
# the same UUIDs; a device mdevctl started is adopted (its VM running), the
# others are defined (their VMs halted) and created by carve at VM start;
# what carve cannot carry is skipped with the reason; mdevctl's files stay
# as they were; a second run imports nothing twice.
U() { sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g'; }
export CARVE_HOST_PROFILE=$(profile a16-t4) CARVE_SIM_STATE=$T/sim.json
live=5f0e4c2a-7d47-4c1b-9a43-2b8d3e6f1a01 # the T4-4Q the profile boots with
d=$T/mdevctl.d
mkdir -p $d/0000:af:00.0 $d/0000:3d:00.4 $d/0000:99:00.0 $d/scripts.d/callouts $d/0.0.0123
def() { printf '%s\n' "$2" >"$d/$1"; }
def 0000:af:00.0/$live '{"mdev_type": "nvidia-232", "start": "auto", "attrs": [{"nvidia/vgpu_params": "frame_rate_limiter=0"}]}'
def 0000:af:00.0/11111111-2222-4333-8444-555555555555 '{"mdev_type": "nvidia-232", "start": "manual"}'
def 0000:3d:00.4/22222222-2222-4333-8444-555555555555 '{"mdev_type": "nvidia-712", "start": "auto", "attrs": []}'
def 0000:af:00.0/33333333-2222-4333-8444-555555555555 '{"mdev_type": "nvidia-999", "start": "auto"}'
def 0000:af:00.0/44444444-2222-4333-8444-555555555555 '{"mdev_type": "nvidia-232", "start": "auto", "attrs": [{"remove": "1"}]}'
def 0000:99:00.0/55555555-2222-4333-8444-555555555555 '{"mdev_type": "nvidia-232", "start": "auto"}'
def 0000:af:00.0/not-a-uuid '{"mdev_type": "nvidia-232", "start": "auto"}'
def 0.0.0123/66666666-2222-4333-8444-555555555555 '{"mdev_type": "vfio_ccw-io", "start": "auto"}'
before=$(cd $d && find . -type f | sort | xargs md5sum)

echo "== dry-run: what would happen, nothing changed"
carve mdevctl-import dir=$d dry-run=true | sed "s|$T|\$T|g"
echo "VMs: $(carve vm-list --minimal | tr ',' '\n' | grep -c .)"
echo "== import, each definition into a VM of its own"
carve mdevctl-import dir=$d | U | sed "s|$T|\$T|g"
for n in mdevctl-11111111 mdevctl-22222222 mdevctl-5f0e4c2a; do
	echo "$n: $(carve vm-param-get uuid=$(carve vm-list --minimal name-label=$n) param-name=power-state)"
done
echo "the live device is resident on its PGPU: $(carve pgpu-param-get uuid=$(carve vgpu-param-get uuid=$live param-name=resident-on) param-name=pci-id)"
echo "== again: nothing is imported twice"
carve mdevctl-import dir=$d | U | grep -c "is carve's already"
echo "== carve creates a defined one when its VM starts, with the definition's UUID"
carve vm-start uuid=$(carve vm-list --minimal name-label=mdevctl-22222222) >/dev/null
grep -c 22222222-2222-4333-8444-555555555555 $T/sim.json
echo "== mdevctl's files are untouched"
[ "$before" = "$(cd $d && find . -type f | sort | xargs md5sum)" ] && echo same

echo "==== vm=: everything into one VM, created by that name"
export CARVE_SIM_STATE=$T/sim2.json CARVE_DB=$T/two.db
rm -rf $d/0000:af:00.0/$live $d/0000:3d:00.4
def 0000:af:00.0/77777777-2222-4333-8444-555555555555 '{"mdev_type": "nvidia-232", "start": "auto"}'
carve mdevctl-import dir=$d vm=imported | U | grep -E "vm-name-label|NOT_COMPATIBLE"
carve vgpu-list vm-uuid=$(carve vm-list --minimal name-label=imported) --minimal | tr ',' '\n' | grep -c .

echo "==== refused before anything is read"
carve mdevctl-import dir=relative/path
carve mdevctl-import dir=/etc/../etc
carve mdevctl-import dir=$T/none 2>&1 | sed "s|$T|\$T|g"
carve mdevctl-import dir=$d vm=00000000-0000-4000-8000-000000000000 | U
