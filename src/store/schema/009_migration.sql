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
