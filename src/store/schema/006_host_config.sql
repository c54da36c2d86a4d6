-- A host's configuration (docs/host-config.md): the YAML text host-apply
-- last applied, so that carved applies it again at start-up; '' when none.
ALTER TABLE host ADD COLUMN config TEXT NOT NULL DEFAULT ''
