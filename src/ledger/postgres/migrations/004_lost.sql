-- 004_lost.sql - lost or stolen devices (the same change as the SQLite
-- schema's 006_lost.sql, which says what each column means).
ALTER TABLE wallets ADD COLUMN loss BIGINT NOT NULL DEFAULT 0 CHECK (loss IN (0, 1, 2, 3));
ALTER TABLE wallets ADD COLUMN lost_at BIGINT NOT NULL DEFAULT 0 CHECK (lost_at >= 0);
ALTER TABLE wallets ADD COLUMN writeoff_at BIGINT NOT NULL DEFAULT 0 CHECK (writeoff_at >= 0);
ALTER TABLE wallets ADD COLUMN written_off_at BIGINT NOT NULL DEFAULT 0 CHECK (written_off_at >= 0);
ALTER TABLE wallets ADD COLUMN written_off BIGINT NOT NULL DEFAULT 0 CHECK (written_off >= 0);
ALTER TABLE wallets ADD COLUMN last_sync BIGINT NOT NULL DEFAULT 0 CHECK (last_sync >= 0);
CREATE INDEX wallets_by_account ON wallets (account_id, id);
CREATE INDEX wallets_writeoff_due ON wallets (writeoff_at) WHERE loss <> 0 AND written_off_at = 0;
