-- 003_unspent_spent.sql - the coin set split in two, for settlement speed.
--
-- unspent holds the coins that can still be spent, keyed by (owner, id):
-- a wallet's coins are one range of the key (GET /v1/utxos needs no second
-- index), and settling a record touches one row per input and output instead
-- of a row plus a partial-index entry each.  Spending a coin moves it to
-- spent, keyed by id, where it stays as the proof of who spent it.
--
-- A coin id names its owner: an output's id is a hash of the record id (which
-- commits to payer and payee) and the output index, and a loaded coin's id is
-- 32 random bytes.  So an id is never created for two owners, and an insert
-- checks spent so that a spent id never comes back.

CREATE TABLE unspent (
    owner      BLOB NOT NULL,
    id         BLOB NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    created    INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
) WITHOUT ROWID;

-- how: 1 spent by the record spent_by, 2 returned to the online balance (unload).
CREATE TABLE spent (
    id         BLOB PRIMARY KEY,
    owner      BLOB NOT NULL,
    account_id INTEGER NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    created    INTEGER NOT NULL,
    how        INTEGER NOT NULL CHECK (how IN (1, 2)),
    spent_by   BLOB,
    spent_at   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO unspent (owner, id, account_id, amount, created)
    SELECT owner, id, account_id, amount, created FROM utxos WHERE spent = 0;
INSERT INTO spent (id, owner, account_id, amount, created, how, spent_by, spent_at)
    SELECT id, owner, account_id, amount, created, spent, spent_by, coalesce(spent_at, created)
    FROM utxos WHERE spent <> 0;
DROP INDEX utxos_unspent_owner;
DROP TABLE utxos;

-- The whole coin set as one read-only view, in the shape of the old table,
-- for operators' queries.
CREATE VIEW utxos (id, owner, account_id, amount, created, spent, spent_by, spent_at) AS
    SELECT id, owner, account_id, amount, created, 0, NULL, NULL FROM unspent
    UNION ALL
    SELECT id, owner, account_id, amount, created, how, spent_by, spent_at FROM spent;
