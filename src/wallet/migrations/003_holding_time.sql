-- 003_holding_time.sql - issue 13's controls in the wallet: the owner's own
-- holding and offline time limits (0 = not set, as for the other owner
-- values), and the server's latest sync stamp (an encoded type-9 message,
-- docs/wire-format.md): the proof, carried in every record this wallet
-- makes, that it synced within its offline time limit.  NULL until the
-- first enrolment or sync that hands one out.
ALTER TABLE limits ADD COLUMN owner_holding INTEGER NOT NULL DEFAULT 0;
ALTER TABLE limits ADD COLUMN owner_offline_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE limits ADD COLUMN sync_stamp BLOB;
