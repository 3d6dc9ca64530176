-- 001_initial.sql - the wallet store.
-- Amounts are INTEGER minor units (SQLite integers are 64-bit signed; the
-- wallet refuses amounts of 2^63 or more before they reach the store).
-- Binary messages are stored in their canonical encoding, so what was signed
-- is exactly what is kept.

-- Who this wallet is: one row.
CREATE TABLE identity (
    one               INTEGER PRIMARY KEY CHECK (one = 1),
    wallet_id         BLOB    NOT NULL CHECK (length(wallet_id) = 16),
    public_key        BLOB    NOT NULL CHECK (length(public_key) = 32),
    certificate       BLOB    NOT NULL,             -- encoded offpay_cert
    issuer_public_key BLOB    NOT NULL CHECK (length(issuer_public_key) = 32),
    server_url        TEXT    NOT NULL,
    account           TEXT    NOT NULL,
    next_seq          INTEGER NOT NULL DEFAULT 1 CHECK (next_seq >= 1), -- record sequence, monotonic
    created           INTEGER NOT NULL
);

-- Offline limits: the server's signed policy and the owner's stricter values
-- (0 = not set).  One row.
CREATE TABLE limits (
    one                 INTEGER PRIMARY KEY CHECK (one = 1),
    server_policy       BLOB    NOT NULL,           -- encoded offpay_limits_policy
    owner_per_payment   INTEGER NOT NULL DEFAULT 0,
    owner_offline_total INTEGER NOT NULL DEFAULT 0,
    owner_count         INTEGER NOT NULL DEFAULT 0,
    owner_period        INTEGER NOT NULL DEFAULT 0
);

-- The issuer's signed revocation list (newest serial wins).  One row.
CREATE TABLE revocation (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    serial  INTEGER NOT NULL,
    message BLOB    NOT NULL                        -- encoded offpay_revocation
);

-- Coins.  spendable: attested and free.  locked: change of a confirmed,
-- unsynced outgoing record (not attested yet: attestation is NULL).
-- in_doubt: input of an outgoing record that left the wallet unconfirmed,
-- or of an unload in flight (record_id NULL).
CREATE TABLE utxos (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 32),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    state       TEXT    NOT NULL CHECK (state IN ('spendable', 'locked', 'in_doubt')),
    attestation BLOB,                               -- encoded offpay_utxo; NULL only when locked
    record_id   BLOB,                               -- locked: whose change; in_doubt: which record spends it
    added       INTEGER NOT NULL,
    CHECK ((state = 'locked') = (attestation IS NULL))
);
CREATE INDEX utxos_by_record ON utxos (record_id);

-- The pending store: every record this wallet made or accepted.  answer is
-- what the payee said (payer side) or what we said (payee side).
CREATE TABLE records (
    id           BLOB    PRIMARY KEY CHECK (length(id) = 32),
    direction    TEXT    NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
    record       BLOB    NOT NULL,                  -- encoded offpay_record
    amount       INTEGER NOT NULL CHECK (amount > 0),
    counterparty TEXT    NOT NULL,                  -- the other side's account
    nonce        BLOB    NOT NULL,                  -- the request's nonce
    payee_key    BLOB    NOT NULL,
    answer       TEXT    NOT NULL DEFAULT 'none' CHECK (answer IN ('none', 'confirmed', 'refused')),
    answer_msg   BLOB,                              -- encoded confirmation or refusal
    status       TEXT    NOT NULL DEFAULT 'unsynced' CHECK (status IN ('unsynced', 'settled', 'voided', 'rejected')),
    reason       TEXT,                              -- the server's reason when rejected
    created      INTEGER NOT NULL,                  -- wallet clock when stored
    synced       INTEGER
);
CREATE INDEX records_by_status ON records (status, direction);
CREATE UNIQUE INDEX records_one_per_request ON records (direction, payee_key, nonce);

-- The coins each record spends: the payer's in-doubt bookkeeping, and the
-- payee's offline double-spend check (a coin already spent to us).
CREATE TABLE record_inputs (
    record_id BLOB NOT NULL,
    utxo_id   BLOB NOT NULL,
    PRIMARY KEY (utxo_id, record_id)
);

-- Payment requests this wallet issued: a record is accepted only for a
-- request of ours, and only once (no replay).
CREATE TABLE requests (
    nonce     BLOB    PRIMARY KEY CHECK (length(nonce) = 16),
    amount    INTEGER NOT NULL CHECK (amount > 0),
    message   BLOB    NOT NULL,                     -- encoded offpay_request
    created   INTEGER NOT NULL,
    record_id BLOB                                  -- the record that answered it
);

-- What happened, oldest first.
CREATE TABLE history (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    time         INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    amount       INTEGER NOT NULL DEFAULT 0,
    counterparty TEXT    NOT NULL DEFAULT '',
    record_id    BLOB,
    detail       TEXT    NOT NULL DEFAULT ''
);
