-- What discovery could not read, and where capacity and modes come from
-- (see docs/architecture.md, "What the hardware does not say").
-- host.discovery_problems: devices that could not be told to be GPUs;
-- pgpu.discovery_problems: the GPU's and its types' problems, one
-- "ID: message" a line; pgpu.broken: the GPU's own files failed, so it
-- offers nothing; pgpu_type.problem: the type's files failed.
ALTER TABLE host ADD COLUMN discovery_problems TEXT NOT NULL DEFAULT ''
--;
ALTER TABLE pgpu ADD COLUMN discovery_problems TEXT NOT NULL DEFAULT ''
--;
ALTER TABLE pgpu ADD COLUMN broken INTEGER NOT NULL DEFAULT 0
--;
ALTER TABLE pgpu ADD COLUMN mixed_size_source TEXT NOT NULL DEFAULT 'none'
--;
ALTER TABLE pgpu ADD COLUMN mixed_size_supported INTEGER NOT NULL DEFAULT 0
--;
ALTER TABLE pgpu_type ADD COLUMN problem TEXT NOT NULL DEFAULT ''
--;
ALTER TABLE pgpu_type ADD COLUMN max_instances_source TEXT NOT NULL DEFAULT 'none'
