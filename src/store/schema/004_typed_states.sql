-- The states the resident model keeps as enums (state/objects.h), held to
-- their string tables by CHECK constraints; and the store generation that
-- every committed write bumps (store/db.c), so that a model in memory can
-- tell it is behind.
CREATE TABLE store_generation (n BIGINT NOT NULL)
--;
INSERT INTO store_generation (n) VALUES (1)
--;
-- Older carve wrote 'removing' for what /metrics and docs/api.md call 'stopping'.
UPDATE vgpu SET state='stopping' WHERE state='removing'
--;
-- No table references vgpu, so it is rebuilt with its constraints, portably.
CREATE TABLE vgpu_typed (
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
	UNIQUE (vm_uuid, device)
)
--;
INSERT INTO vgpu_typed (uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, scheduled_pgpu, resident_on,
	device_pci, extra_args, state, origin)
SELECT uuid, vm_uuid, vgpu_type_uuid, gpu_group_uuid, device, scheduled_pgpu, resident_on, device_pci,
	extra_args, state, origin FROM vgpu
--;
DROP TABLE vgpu
--;
ALTER TABLE vgpu_typed RENAME TO vgpu
--;
CREATE INDEX vgpu_vm ON vgpu(vm_uuid)
--;
CREATE INDEX vgpu_resident ON vgpu(resident_on)
--;
CREATE INDEX vgpu_scheduled ON vgpu(scheduled_pgpu)
--;
-- pgpu and vgpu_type are referenced by other tables: PostgreSQL adds the
-- constraint in place; SQLite cannot add one to an existing table without
-- rebuilding every table that references it, so triggers hold the same rule.
--@postgresql
ALTER TABLE vgpu_type ADD CONSTRAINT vgpu_type_implementation_check
	CHECK (implementation IN ('passthrough', 'nvidia-mdev', 'nvidia-sriov', 'amd-mxgpu', 'gvt-g'))
--;
--@postgresql
ALTER TABLE pgpu ADD CONSTRAINT pgpu_implementation_check
	CHECK (implementation IN ('passthrough', 'nvidia-mdev', 'nvidia-sriov', 'amd-mxgpu', 'gvt-g'))
--;
--@sqlite
CREATE TRIGGER vgpu_type_implementation_insert BEFORE INSERT ON vgpu_type
WHEN NEW.implementation NOT IN ('passthrough', 'nvidia-mdev', 'nvidia-sriov', 'amd-mxgpu', 'gvt-g')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: vgpu_type.implementation'); END
--;
--@sqlite
CREATE TRIGGER vgpu_type_implementation_update BEFORE UPDATE OF implementation ON vgpu_type
WHEN NEW.implementation NOT IN ('passthrough', 'nvidia-mdev', 'nvidia-sriov', 'amd-mxgpu', 'gvt-g')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: vgpu_type.implementation'); END
--;
--@sqlite
CREATE TRIGGER pgpu_implementation_insert BEFORE INSERT ON pgpu
WHEN NEW.implementation NOT IN ('passthrough', 'nvidia-mdev', 'nvidia-sriov', 'amd-mxgpu', 'gvt-g')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: pgpu.implementation'); END
--;
--@sqlite
CREATE TRIGGER pgpu_implementation_update BEFORE UPDATE OF implementation ON pgpu
WHEN NEW.implementation NOT IN ('passthrough', 'nvidia-mdev', 'nvidia-sriov', 'amd-mxgpu', 'gvt-g')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: pgpu.implementation'); END
