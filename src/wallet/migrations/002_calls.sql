-- 002_calls.sql - server calls whose outcome is in doubt (docs/wallet.md,
-- "Calls in doubt").  A load, unload or pay-online is written here, with the
-- nonce and timestamp its request will carry, in the same transaction that
-- puts its coins in doubt and before the request leaves.  The row goes when
-- the wallet learns the outcome: from the answer, or at the next sync from
-- the server (POST /v1/outcome), which also cancels a request that never
-- arrived, so it can never land later.
CREATE TABLE calls (
    nonce        BLOB    PRIMARY KEY CHECK (length(nonce) = 16),
    timestamp    INTEGER NOT NULL,                 -- the request's X-Offpay-Timestamp
    kind         TEXT    NOT NULL CHECK (kind IN ('load', 'unload', 'pay_online')),
    amount       INTEGER NOT NULL CHECK (amount > 0), -- loaded, unloaded or paid
    counterparty TEXT    NOT NULL DEFAULT '',      -- pay_online: the payee account
    created      INTEGER NOT NULL
);

-- in_doubt coins of an unload in flight name its call (NULL otherwise).
ALTER TABLE utxos ADD COLUMN call_nonce BLOB;
