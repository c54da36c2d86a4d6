-- vgpu_params that vGPUs created on a PGPU get unless they set the same key
-- themselves (host-apply's vgpu-params, docs/host-config.md); '' when none.
ALTER TABLE pgpu ADD COLUMN vgpu_params TEXT NOT NULL DEFAULT ''
