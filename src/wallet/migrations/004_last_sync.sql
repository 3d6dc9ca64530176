-- 004_last_sync.sql - when the wallet last completed a sync (or enrolled),
-- by its own clock: the offline time limit (issue 13) counts from it.  0 for
-- a wallet from before this migration: it pays offline again after its
-- next sync.
ALTER TABLE limits ADD COLUMN last_sync INTEGER NOT NULL DEFAULT 0;
