-- carve's model, XAPI's objects.  Portable SQL: runs on SQLite and PostgreSQL.
-- Statements are separated by lines holding only "--;".
-- Booleans are INTEGER 0/1; sizes BIGINT; UUIDs lower-case TEXT.
CREATE TABLE host (
	uuid TEXT PRIMARY KEY,
	name_label TEXT NOT NULL,
	name_description TEXT NOT NULL DEFAULT '',
	hostname TEXT NOT NULL UNIQUE,
	backend TEXT NOT NULL DEFAULT '',
	last_discovery TEXT
)
--;
CREATE TABLE gpu_group (
	uuid TEXT PRIMARY KEY,
	name_label TEXT NOT NULL,
	name_description TEXT NOT NULL DEFAULT '',
	allocation_algorithm TEXT NOT NULL DEFAULT 'depth-first'
		CHECK (allocation_algorithm IN ('depth-first', 'breadth-first')),
	gpu_types TEXT NOT NULL DEFAULT '',
	auto_key TEXT UNIQUE
)
--;
CREATE TABLE vgpu_type (
	uuid TEXT PRIMARY KEY,
	type_key TEXT NOT NULL UNIQUE,
	vendor_name TEXT NOT NULL,
	model_name TEXT NOT NULL,
	framebuffer_size BIGINT NOT NULL DEFAULT 0,
	max_heads INTEGER NOT NULL DEFAULT 0,
	max_resolution_x INTEGER NOT NULL DEFAULT 0,
	max_resolution_y INTEGER NOT NULL DEFAULT 0,
	frl_config INTEGER NOT NULL DEFAULT 0,
	max_instances INTEGER NOT NULL DEFAULT 1,
	size BIGINT NOT NULL,
	implementation TEXT NOT NULL,
	identifier TEXT NOT NULL,
	board TEXT NOT NULL DEFAULT '',
	multi_vgpu INTEGER NOT NULL DEFAULT 0,
	series TEXT NOT NULL DEFAULT '',
	experimental INTEGER NOT NULL DEFAULT 0
)
--;
CREATE TABLE pgpu (
	uuid TEXT PRIMARY KEY,
	host_uuid TEXT NOT NULL REFERENCES host(uuid),
	pci_id TEXT NOT NULL,
	vendor_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	subsystem_vendor_id TEXT NOT NULL DEFAULT '',
	subsystem_device_id TEXT NOT NULL DEFAULT '',
	vendor_name TEXT NOT NULL DEFAULT '',
	device_name TEXT NOT NULL DEFAULT '',
	board TEXT NOT NULL DEFAULT '',
	driver TEXT NOT NULL DEFAULT '',
	numa_node INTEGER NOT NULL DEFAULT -1,
	iommu_group INTEGER NOT NULL DEFAULT -1,
	is_system_display_device INTEGER NOT NULL DEFAULT 0,
	dom0_access TEXT NOT NULL DEFAULT 'enabled',
	implementation TEXT NOT NULL DEFAULT 'passthrough',
	mixed_size INTEGER NOT NULL DEFAULT 0,
	sriov_totalvfs INTEGER NOT NULL DEFAULT 0,
	sriov_numvfs INTEGER NOT NULL DEFAULT 0,
	size BIGINT NOT NULL,
	gpu_group_uuid TEXT REFERENCES gpu_group(uuid),
	present INTEGER NOT NULL DEFAULT 1,
	UNIQUE (host_uuid, pci_id)
)
--;
CREATE INDEX pgpu_group ON pgpu(gpu_group_uuid)
--;
CREATE TABLE pgpu_type (
	pgpu_uuid TEXT NOT NULL REFERENCES pgpu(uuid) ON DELETE CASCADE,
	vgpu_type_uuid TEXT NOT NULL REFERENCES vgpu_type(uuid),
	max_instances INTEGER NOT NULL,
	available INTEGER NOT NULL DEFAULT 0,
	supported INTEGER NOT NULL DEFAULT 1,
	enabled INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (pgpu_uuid, vgpu_type_uuid)
)
--;
CREATE TABLE vm (
	uuid TEXT PRIMARY KEY,
	name_label TEXT NOT NULL,
	name_description TEXT NOT NULL DEFAULT '',
	numa_node INTEGER NOT NULL DEFAULT -1,
	power_state TEXT NOT NULL DEFAULT 'halted'
		CHECK (power_state IN ('halted', 'starting', 'running', 'stopping')),
	resident_on TEXT REFERENCES host(uuid)
)
--;
CREATE TABLE vgpu (
	uuid TEXT PRIMARY KEY,
	vm_uuid TEXT NOT NULL REFERENCES vm(uuid),
	vgpu_type_uuid TEXT NOT NULL REFERENCES vgpu_type(uuid),
	gpu_group_uuid TEXT NOT NULL REFERENCES gpu_group(uuid),
	device TEXT NOT NULL DEFAULT '0',
	scheduled_pgpu TEXT REFERENCES pgpu(uuid),
	resident_on TEXT REFERENCES pgpu(uuid),
	device_pci TEXT NOT NULL DEFAULT '',
	extra_args TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL DEFAULT 'defined',
	origin TEXT NOT NULL DEFAULT 'carve',
	UNIQUE (vm_uuid, device)
)
--;
CREATE INDEX vgpu_vm ON vgpu(vm_uuid)
--;
CREATE INDEX vgpu_resident ON vgpu(resident_on)
--;
CREATE INDEX vgpu_scheduled ON vgpu(scheduled_pgpu)
