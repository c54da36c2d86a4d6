-- The typed values match their string tables (src/host/health.c,
-- src/state/enums.c) by CHECK constraints, as in 004.
-- What NVML says of a PGPU (docs/emit.md): its NVLink peers, one
-- "<peer PCI address> <links>" per line ('' when not known); its ECC
-- counters as JSON ('' when not known); and the health carve derives from
-- them (src/host/health.h) with the reason.
ALTER TABLE pgpu ADD COLUMN nvlink TEXT NOT NULL DEFAULT ''
--;
ALTER TABLE pgpu ADD COLUMN ecc TEXT NOT NULL DEFAULT ''
--;
ALTER TABLE pgpu ADD COLUMN health TEXT NOT NULL DEFAULT 'ok' CHECK (health IN ('ok', 'degraded', 'failed'))
--;
ALTER TABLE pgpu ADD COLUMN health_reason TEXT NOT NULL DEFAULT ''
--;
-- NVIDIA's driver version on the host ('' when not known).
ALTER TABLE host ADD COLUMN driver_version TEXT NOT NULL DEFAULT ''
--;
-- A VM's wish for peer-to-peer between its vGPUs over NVLink: none,
-- preferred or required.
ALTER TABLE vm ADD COLUMN p2p TEXT NOT NULL DEFAULT 'none' CHECK (p2p IN ('none', 'preferred', 'required'))
--;
-- Whether placement may use a degraded PGPU of the group: avoid or allow.
ALTER TABLE gpu_group ADD COLUMN degraded_pgpus TEXT NOT NULL DEFAULT 'avoid' CHECK (degraded_pgpus IN ('avoid', 'allow'))
