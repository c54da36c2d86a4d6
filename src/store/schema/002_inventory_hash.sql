-- The hash of the last inventory folded into the model: an unchanged host
-- needs no writes, so read verbs stay cheap (see src/ops/sync.c).
ALTER TABLE host ADD COLUMN inventory_hash TEXT NOT NULL DEFAULT ''
