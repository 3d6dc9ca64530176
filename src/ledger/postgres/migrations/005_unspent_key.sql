-- 005_unspent_key.sql - the unspent coins' index keyed by (owner, id).
-- A coin is always looked up by both (ledger.h: under its owner's key only),
-- and spending one is a conditional update "id = ? AND owner = ? AND
-- spent = 0".  With the index on owner alone, whose predicate that update
-- matches, PostgreSQL may pick it for the update (a generic plan estimates
-- few coins per owner) and then walks all of the payer's unspent coins for
-- each coin spent: a payer holding N coins paid O(N) per record.  On
-- (owner, id) the same index answers that update, and the wallet's listing
-- (owner, ordered by id), with one lookup.
CREATE INDEX utxos_unspent ON utxos (owner, id) WHERE spent = 0;
DROP INDEX utxos_unspent_owner;
