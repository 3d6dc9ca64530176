-- GET /v1/utxos lists a wallet's unspent coins by owner key.  A partial
-- index: only unspent coins are in it, so it stays as small as the UTXO set
-- and a spent coin leaves it.
CREATE INDEX utxos_unspent_owner ON utxos (owner) WHERE spent = 0;
