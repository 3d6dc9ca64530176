-- 005_coins.sql - coins settled by key, without a query per coin.
--
-- The unspent coins' index is keyed by (owner, id).  A coin is always
-- looked up by both (ledger.h: under its owner's key only), and spending
-- one is a conditional update "id = ? AND owner = ? AND spent = 0".  With
-- the index on owner alone, whose predicate that update matches,
-- PostgreSQL may pick it for the update (a generic plan estimates few
-- coins per owner) and then walks all of the payer's unspent coins for
-- each coin spent: a payer holding N coins paid O(N) per record.  On
-- (owner, id) the same index answers that update, and the wallet's
-- listing (owner, ordered by id), with one lookup.
CREATE INDEX utxos_unspent ON utxos (owner, id) WHERE spent = 0;
DROP INDEX utxos_unspent_owner;

-- A coin's account is checked by the statements that insert coins, once a
-- statement (pg_ledger.c), instead of by a foreign key: PostgreSQL runs a
-- foreign key's check as one query per inserted row, a third of the
-- database's time in a batch of new coins.  Accounts are never deleted.
ALTER TABLE utxos DROP CONSTRAINT utxos_account_id_fkey;
