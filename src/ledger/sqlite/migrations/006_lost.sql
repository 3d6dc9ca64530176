-- 006_lost.sql - issue 13's lost or stolen devices (docs/wallet.md, "Lost
-- device"), and what offpayd wallet shows of each wallet.
--
-- loss: 0 in use, 1 reported lost, 2 stolen, 3 revoked by the operator with
-- no reason given; a wallet so reported is on the revocation list (as a
-- fraudulent one is) but its records made before still settle until
-- writeoff_at, the end of its grace period; then its unspent coins go back
-- to its account's online balance, once: written_off_at (0: not yet) and
-- written_off (how much).  last_sync: its last sync request (0: none).
ALTER TABLE wallets ADD COLUMN loss INTEGER NOT NULL DEFAULT 0 CHECK (loss IN (0, 1, 2, 3));
ALTER TABLE wallets ADD COLUMN lost_at INTEGER NOT NULL DEFAULT 0 CHECK (lost_at >= 0);
ALTER TABLE wallets ADD COLUMN writeoff_at INTEGER NOT NULL DEFAULT 0 CHECK (writeoff_at >= 0);
ALTER TABLE wallets ADD COLUMN written_off_at INTEGER NOT NULL DEFAULT 0 CHECK (written_off_at >= 0);
ALTER TABLE wallets ADD COLUMN written_off INTEGER NOT NULL DEFAULT 0 CHECK (written_off >= 0);
ALTER TABLE wallets ADD COLUMN last_sync INTEGER NOT NULL DEFAULT 0 CHECK (last_sync >= 0);
CREATE INDEX wallets_by_account ON wallets (account_id, id);
-- The write-off job's question: whose grace period is over.
CREATE INDEX wallets_writeoff_due ON wallets (writeoff_at) WHERE loss <> 0 AND written_off_at = 0;
