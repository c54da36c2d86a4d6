-- Every non-HOT update of a row writes an entry into each index of its
-- table, and a start rewrites its VM and vGPU rows twice (intent, then
-- confirm: docs/architecture.md).  So: vgpu_vm goes - the UNIQUE
-- (vm_uuid, device) index answers vm_uuid = ? as well - and the indexes on
-- columns that are NULL for most rows (a vGPU's scheduled_pgpu once it
-- runs, its resident_on while reserved, a VM's resident_on while halted
-- and its migration_peer unless it moves) hold only the rows that name
-- something.  Every query on them asks for a value (column = ?), which
-- both PostgreSQL and SQLite know implies IS NOT NULL, so the partial
-- indexes serve the same queries, and the foreign-key checks of a PGPU's
-- or a host's removal.
DROP INDEX vgpu_vm
--;
DROP INDEX vgpu_scheduled
--;
CREATE INDEX vgpu_scheduled ON vgpu(scheduled_pgpu) WHERE scheduled_pgpu IS NOT NULL
--;
DROP INDEX vgpu_resident
--;
CREATE INDEX vgpu_resident ON vgpu(resident_on) WHERE resident_on IS NOT NULL
--;
DROP INDEX vm_resident
--;
CREATE INDEX vm_resident ON vm(resident_on) WHERE resident_on IS NOT NULL
--;
DROP INDEX vm_migration_peer
--;
CREATE INDEX vm_migration_peer ON vm(migration_peer) WHERE migration_peer IS NOT NULL
