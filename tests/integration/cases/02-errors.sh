# Bad input gets one clear line, a non-zero exit, and changes nothing.
export CARVE_HOST_PROFILE=$(profile demo)
carve pgpu-list >/dev/null
before=$(carve --json pgpu-list params=all; carve --json gpu-group-list params=all)
carve no-such-verb
carve pgpu-list no-such-field=1
carve pgpu-param-list uuid=not-a-uuid
carve pgpu-param-list uuid=../../../../etc/passwd
carve pgpu-param-list uuid=00000000-0000-0000-0000-000000000000
carve pgpu-param-get uuid=00000000-0000-0000-0000-000000000000
carve pgpu-param-list uuid=00000000-0000-0000-0000-000000000000 uuid=00000000-0000-0000-0000-000000000001
carve pgpu-param-list junk
carve gpu-group-param-set uuid=$(carve gpu-group-list --minimal | cut -d, -f1) allocation-algorithm=random
carve gpu-group-create
carve gpu-group-create name-label=$(printf 'x%.0s' $(seq 300))
carve vgpu-type-list params=no-such-field
carve --sysfs-root /nonexistent/sys pgpu-list
carve --host-profile /nonexistent.yaml pgpu-list
printf 'name: bad\ngpus:\n  - board: Tesla P40\n    pci: "0000:zz:00.0"\n' > bad.yaml
carve --host-profile bad.yaml pgpu-list
printf 'name: bad\ngpus:\n  - board: Tesla P40\n    pci: "0000:04:00.0"\n    colour: red\n' > bad2.yaml
carve --host-profile bad2.yaml pgpu-list
after=$(carve --json pgpu-list params=all; carve --json gpu-group-list params=all)
[ "$before" = "$after" ] && echo "store unchanged"
