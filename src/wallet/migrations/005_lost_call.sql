-- 005_lost_call.sql - `offpay lost` (docs/wallet.md, "Lost device"): a
-- report that another wallet of the account is lost changes the ledger, so
-- it is written down as a call in doubt like a load, unload or pay-online:
-- kind 'lost', amount 0, counterparty the id (or its beginning) reported.
-- SQLite cannot change a CHECK, so the table is made again.
CREATE TABLE calls_new (
    nonce        BLOB    PRIMARY KEY CHECK (length(nonce) = 16),
    timestamp    INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('load', 'unload', 'pay_online', 'lost')),
    amount       INTEGER NOT NULL CHECK (amount > 0 OR (kind = 'lost' AND amount = 0)),
    counterparty TEXT    NOT NULL DEFAULT '',
    created      INTEGER NOT NULL
);
INSERT INTO calls_new (nonce, timestamp, kind, amount, counterparty, created)
    SELECT nonce, timestamp, kind, amount, counterparty, created FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
