#!/usr/bin/env bash
# test_issuer_pin.sh - the issuer key a wallet trusts (docs/wallet.md, init):
# `offpayd init` prints it in its documented form (issuer_public_key=HEX, and
# --json); `offpay init --issuer-key HEX` refuses a server that presents
# another key (here: a real offpayd whose ledger has its own issuer key) and
# stores nothing; without a pin, init says on stderr that it trusts the key
# on first use and shows it.
. "$(dirname "$0")/lib.sh"

say "offpayd init prints the issuer key: a line of its own, and in --json"
"$OFFPAYD" init --ledger "$LEDGER" >"$T/init.out" || { echo "offpayd init failed" >&2; exit 1; }
key_a=$(sed -n 's/^issuer_public_key=\([0-9a-f]\{64\}\)$/\1/p' "$T/init.out")
eq "one issuer_public_key line of 64 hex digits" "${#key_a}" 64
"$OFFPAYD" init --ledger "sqlite:$T/other.db" --json >"$T/other.json" || { echo "second init failed" >&2; exit 1; }
key_b=$(jq -r .issuer_public_key "$T/other.json")
eq "--json has issuer_public_key" "${#key_b}" 64
eq "--json names the key file" "$(jq -r .issuer_key_file "$T/other.json")" "$T/other.db.issuer-key"
ok "two ledgers, two issuer keys" [ "$key_a" != "$key_b" ]
start_server 19400
token() { "$OFFPAYD" account --ledger "$LEDGER" open "$1"; }

say "a pin that matches: enrolled, no trust-on-first-use note"
run 0 alice init --server "$URL" --account alice --token "$(token alice)" --issuer-key "$key_a" --json
eq "json says pinned" "$(jq -c '[.issuer_public_key, .issuer_key_pinned]' "$T/out")" "[\"$key_a\",true]"
ok "no note on stderr" [ ! -s "$T/err" ]

say "a pin of another key: refused (exit 4), nothing stored"
bob_token=$(token bob)
run 4 bob init --server "$URL" --account bob --token "$bob_token" --issuer-key "$key_b"
contains "names the key the server presented" "$T/err" "presented issuer key $key_a"
ok "no wallet store" [ ! -e "$T/bob/wallet.db" ]
ok "no wallet key" [ ! -e "$T/bob/key" ]
ok "the enrolled key is kept for a retry" [ -s "$T/bob/enrol.key" ]

say "the same init with the right pin finishes that enrolment (same token, same key)"
run 0 bob init --server "$URL" --account bob --token "$bob_token" --issuer-key "$key_a"
ok "enrol.key is gone" [ ! -e "$T/bob/enrol.key" ]
run 0 bob balance --offline

say "no pin: trusted on first use, and said so with the key"
run 0 carol init --server "$URL" --account carol --token "$(token carol)"
contains "a note on stderr" "$T/err" "trusted on first use: $key_a"
run 2 carol init --server "$URL" --account carol --token x --issuer-key "abc"

finish
