-- The pool (docs/pool.md).  A host can be kept out of placement
-- (host-disable) and its carved agent heartbeats (heartbeat_ms, the store
-- server's clock in ms since the epoch, so agents' clocks never matter).
-- A VM between states names the agent acting on it (claimed_by: the host
-- whose carved took up the start or shutdown; NULL while no one has, which
-- is how an agent finds the work another host's placement left it), and
-- keeps the error of its last failed start or shutdown, for the requester
-- that waits on another host.
ALTER TABLE host ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1
--;
ALTER TABLE host ADD COLUMN heartbeat_ms BIGINT
--;
ALTER TABLE vm ADD COLUMN claimed_by TEXT
--;
ALTER TABLE vm ADD COLUMN last_error TEXT NOT NULL DEFAULT ''
--;
CREATE INDEX vm_resident ON vm(resident_on)
