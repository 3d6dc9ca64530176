-- 005_holding_time.sql - issue 13's limits: the holding limit (most value a
-- wallet may hold in offline coins) and the offline time limit (seconds after
-- its last sync during which a wallet may pay offline).  0 is "no such
-- limit": what every policy set before this migration had.
ALTER TABLE limits ADD COLUMN holding INTEGER NOT NULL DEFAULT 0 CHECK (holding >= 0);
ALTER TABLE limits ADD COLUMN offline_time INTEGER NOT NULL DEFAULT 0 CHECK (offline_time >= 0);
-- Every policy gets the documented defaults (docs/server.md): a week offline
-- at most, and at most ten times the default offline total held.
UPDATE limits SET holding = 2000000, offline_time = 604800;
