-- 003_holding_time.sql - issue 13's limits (the same change as the SQLite
-- schema's 005_holding_time.sql): the holding limit and the offline time
-- limit, 0 meaning "no such limit", as for every policy set before.
ALTER TABLE limits ADD COLUMN holding BIGINT NOT NULL DEFAULT 0 CHECK (holding >= 0);
ALTER TABLE limits ADD COLUMN offline_time BIGINT NOT NULL DEFAULT 0 CHECK (offline_time >= 0);
-- Every policy gets the documented defaults (docs/server.md): a week offline
-- at most, and at most ten times the default offline total held.
UPDATE limits SET holding = 2000000, offline_time = 604800;
