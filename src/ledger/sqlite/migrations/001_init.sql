-- 001_init.sql - the first schema of the offpay ledger (SQLite).
-- Amounts are INTEGER (64-bit signed; the API keeps every amount below 2^63).
-- Binary ids and keys are BLOBs of their exact size.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE accounts (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    online   INTEGER NOT NULL DEFAULT 0 CHECK (online >= 0),
    minted   INTEGER NOT NULL DEFAULT 0 CHECK (minted >= 0),
    received INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),
    sent     INTEGER NOT NULL DEFAULT 0 CHECK (sent >= 0),
    created  INTEGER NOT NULL
);

-- One-time enrolment tokens, by BLAKE2b-256 hash (the token itself is never stored).
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created    INTEGER NOT NULL,
    used       INTEGER
);

CREATE TABLE wallets (
    id          BLOB PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    public_key  BLOB NOT NULL UNIQUE,
    certificate BLOB NOT NULL,
    created     INTEGER NOT NULL,
    fraudulent  INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER
);

-- Request nonces seen per wallet; pruned once their timestamps are stale.
CREATE TABLE nonces (
    wallet_id BLOB NOT NULL,
    nonce     BLOB NOT NULL,
    ts        INTEGER NOT NULL,
    PRIMARY KEY (wallet_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_ts ON nonces (ts);

-- Offline limits; wallet_id all-zero is the default policy.
CREATE TABLE limits (
    wallet_id     BLOB PRIMARY KEY,
    per_payment   INTEGER NOT NULL,
    offline_total INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    period        INTEGER NOT NULL,
    issued_at     INTEGER NOT NULL
);

-- The revocation list: one row of serial/issue time, and the revoked ids.
CREATE TABLE revocation (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    serial    INTEGER NOT NULL,
    issued_at INTEGER NOT NULL
);
INSERT INTO revocation (id, serial, issued_at) VALUES (1, 1, 0);
CREATE TABLE revoked (
    wallet_id BLOB PRIMARY KEY,
    at        INTEGER NOT NULL
) WITHOUT ROWID;

-- The UTXO set, spent ones included (spent = 1 by a record, 2 by an unload).
CREATE TABLE utxos (
    id         BLOB PRIMARY KEY,
    owner      BLOB NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    created    INTEGER NOT NULL,
    spent      INTEGER NOT NULL DEFAULT 0 CHECK (spent IN (0, 1, 2)),
    spent_by   BLOB,
    spent_at   INTEGER
) WITHOUT ROWID;

-- Settled (state 1) and voided (state 2) payment records, encoded.  A rowid
-- table with a unique index on the id: rows are appended in arrival order, so
-- a batch of records dirties few pages (ids are random; only the small index
-- entries land all over the tree).
CREATE TABLE records (
    seq          INTEGER PRIMARY KEY,
    id           BLOB NOT NULL UNIQUE,
    state        INTEGER NOT NULL CHECK (state IN (1, 2)),
    payer_wallet BLOB NOT NULL,
    payee_key    BLOB NOT NULL,
    body         BLOB NOT NULL,
    confirmation BLOB,
    refusal      BLOB,
    at           INTEGER NOT NULL
);

-- Evidence of double spends: the rejected record and the one that spent its input first.
CREATE TABLE frauds (
    record_id    BLOB PRIMARY KEY,
    payer_wallet BLOB NOT NULL,
    account_id   INTEGER NOT NULL,
    input        BLOB NOT NULL,
    record       BLOB NOT NULL,
    first_record BLOB,
    at           INTEGER NOT NULL
);
