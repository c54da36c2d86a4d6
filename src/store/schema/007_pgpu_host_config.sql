-- vgpu_params that vGPUs created on a PGPU get unless they set the same key
-- themselves (host-apply's vgpu-params, docs/host-config.md); '' when none.
ALTER TABLE pgpu ADD COLUMN vgpu_params TEXT NOT NULL DEFAULT ''
--;
-- MIG as discovery last saw it: mig_mode '' (not known), 'off' or 'on';
-- mig_instances the GPU instance profiles, one per line.
ALTER TABLE pgpu ADD COLUMN mig_mode TEXT NOT NULL DEFAULT ''
--;
ALTER TABLE pgpu ADD COLUMN mig_instances TEXT NOT NULL DEFAULT ''
