-- A VM moving live to another host of the pool (vm-migrate, docs/emit.md).
-- While it moves the VM stays running where it is (resident_on), its
-- vGPUs are scheduled on the other host's PGPUs as XAPI's
-- scheduled_to_be_resident_on is during a migration, so that capacity is
-- held on both sides, and peer_device_pci is the device (the VF, for
-- VF-backed vGPUs) the other side holds.  migration is the phase:
--   preparing  the destination creates the devices (migration_peer = it);
--   prepared   they exist there: libvirt may move the VM;
--   releasing  the VM runs on the destination now (resident_on switched),
--              the source removes its devices (migration_peer = source);
--   aborting   the move is given up: the destination removes its devices.
-- migration_peer is the host that acts in the phase; claimed_by, as for a
-- start, the agent that took that act up.  The names match
-- src/state/enums.c.
ALTER TABLE vm ADD COLUMN migration TEXT NOT NULL DEFAULT 'none'
	CHECK (migration IN ('none', 'preparing', 'prepared', 'releasing', 'aborting'))
--;
ALTER TABLE vm ADD COLUMN migration_peer TEXT REFERENCES host(uuid)
--;
ALTER TABLE vgpu ADD COLUMN peer_device_pci TEXT NOT NULL DEFAULT ''
--;
CREATE INDEX vm_migration_peer ON vm(migration_peer)
--;
-- A suspended VM (vm-suspend): its state saved by libvirt, its vGPUs kept
-- where they are (the reservation and the devices stay); vm-resume runs it
-- again there, or places it again when its host was declared dead.
-- PostgreSQL swaps the power_state constraint in place; SQLite cannot alter
-- a constraint, so vm is rebuilt, and vgpu (which references it) with it,
-- with every column and constraint 001-009 gave them.
--@postgresql
ALTER TABLE vm DROP CONSTRAINT vm_power_state_check
--;
--@postgresql
ALTER TABLE vm ADD CONSTRAINT vm_power_state_check
	CHECK (power_state IN ('halted', 'starting', 'running', 'stopping', 'suspended'))
--;
--@sqlite
CREATE TABLE vgpu_keep AS SELECT * FROM vgpu
--;
--@sqlite
DROP TABLE vgpu
--;
--@sqlite
CREATE TABLE vm_typed (
	uuid TEXT PRIMARY KEY,
	name_label TEXT NOT NULL,
	name_description TEXT NOT NULL DEFAULT '',
	numa_node INTEGER NOT NULL DEFAULT -1,
	power_state TEXT NOT NULL DEFAULT 'halted'
		CHECK (power_state IN ('halted', 'starting', 'running', 'stopping', 'suspended')),
	resident_on TEXT REFERENCES host(uuid),
	claimed_by TEXT,
	last_error TEXT NOT NULL DEFAULT '',
	p2p TEXT NOT NULL DEFAULT 'none' CHECK (p2p IN ('none', 'preferred', 'required')),
	migration TEXT NOT NULL DEFAULT 'none'
		CHECK (migration IN ('none', 'preparing', 'prepared', 'releasing', 'aborting')),
	migration_peer TEXT REFERENCES host(uuid)
)
--;
--@sqlite
INSERT INTO vm_typed (uuid, name_label, name_description, numa_node, power_state, resident_on, claimed_by,
	last_error, p2p, migration, migration_peer)
SELECT uuid, name_label, name_description, numa_node, power_state, resident_on, claimed_by, last_error, p2p,
	migration, migration_peer FROM vm
--;
--@sqlite
DROP TABLE vm
--;
--@sqlite
ALTER TABLE vm_typed RENAME TO vm
--;
--@sqlite
CREATE INDEX vm_resident ON vm(resident_on)
--;
--@sqlite
CREATE INDEX vm_migration_peer ON vm(migration_peer)
--;
--@sqlite
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
	state TEXT NOT NULL DEFAULT 'defined'
		CHECK (state IN ('defined', 'reserved', 'running', 'stopping')),
	origin TEXT NOT NULL DEFAULT 'carve' CHECK (origin IN ('carve', 'adopted')),
	peer_device_pci TEXT NOT NULL DEFAULT '',
	UNIQUE (vm_uuid, device)
)
--;
--@sqlite
INSERT INTO vgpu (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, scheduled_pgpu, resident_on, device_pci,
	extra_args, state, origin, peer_device_pci)
SELECT uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, scheduled_pgpu, resident_on, device_pci, extra_args,
	state, origin, peer_device_pci FROM vgpu_keep
--;
--@sqlite
DROP TABLE vgpu_keep
--;
--@sqlite
CREATE INDEX vgpu_vm ON vgpu(vm_uuid)
--;
--@sqlite
CREATE INDEX vgpu_resident ON vgpu(resident_on)
--;
--@sqlite
CREATE INDEX vgpu_scheduled ON vgpu(scheduled_pgpu)
