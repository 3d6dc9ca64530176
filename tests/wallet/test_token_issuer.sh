#!/usr/bin/env bash
# test_token_issuer.sh - the issuer key in a PKCS#11 token (SoftHSM2 in a
# temporary token folder): `offpayd init --issuer-pkcs11` generates it in the
# token and writes no key file; `offpayd serve` signs there, and wallets
# enrol, load, pay, accept and sync as with a key file (every certificate and
# coin they get verifies under the printed issuer key); a wrong PIN, a missing
# token, a missing module and a token ledger served without the token are
# exit 9, the key unavailable.
. "$(dirname "$0")/lib.sh"

softhsm issuer 4321
secret_file pin 4321
secret_file badpin 9999
TOKEN=(--issuer-pkcs11 "$SOFTHSM_MODULE" --token issuer --pin-file "$T/pin")

say "init generates the issuer key in the token, and no key file"
"$OFFPAYD" init --ledger "$LEDGER" "${TOKEN[@]}" --json >"$T/init.json" 2>"$T/init.err" ||
  { echo "offpayd init with a token failed: $(cat "$T/init.err")" >&2; exit 1; }
key=$(jq -r .issuer_public_key "$T/init.json")
eq "the key is printed" "${#key}" 64
eq "--json names the token" "$(jq -r .issuer_key_token "$T/init.json")" "issuer"
ok "no key file" [ ! -e "$T/ledger.db.issuer-key" ]

say "the key cannot be reached: exit 9, one sentence"
serve_rc() {
  "$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:1 "$@" >"$T/out" 2>"$T/err"
  echo $?
}
eq "served without the token" "$(serve_rc)" 9
contains "says the key is in a token" "$T/err" "PKCS#11 token"
eq "wrong PIN" "$(serve_rc --issuer-pkcs11 "$SOFTHSM_MODULE" --token issuer --pin-file "$T/badpin")" 9
contains "says the PIN is wrong" "$T/err" "PIN is wrong"
eq "no such token" "$(serve_rc --issuer-pkcs11 "$SOFTHSM_MODULE" --token nosuch --pin-file "$T/pin")" 9
contains "names the token" "$T/err" "nosuch"
eq "no such module" "$(serve_rc --issuer-pkcs11 "$T/none.so" --token issuer --pin-file "$T/pin")" 9
eq "a PIN file others may read" "$(chmod 644 "$T/pin" && serve_rc "${TOKEN[@]}")" 9
chmod 600 "$T/pin"
eq "a token and a key file at once" "$(serve_rc "${TOKEN[@]}" --issuer-key "$T/k")" 2
eq "a token without its PIN file" "$(serve_rc --issuer-pkcs11 "$SOFTHSM_MODULE" --token issuer)" 2

say "served from the token: enrol, load, pay, accept, sync, audit"
SERVE_ARGS=("${TOKEN[@]}")
start_server 19700
token() { "$OFFPAYD" account --ledger "$LEDGER" open "$1"; }
run 0 alice init --server "$URL" --account alice --token "$(token alice)" --issuer-key "$key"
"$OFFPAYD" account --ledger "$LEDGER" mint alice 10000 >/dev/null
run 0 bob init --server "$URL" --account bob --token "$(token bob)" --issuer-key "$key"
run 0 alice load 4000 3000
eq "coins attested in the token" "$(amounts alice)" "3000 4000"
handshake alice bob 3500
run 0 bob sync
run 0 alice sync
eq "bob's incoming coin" "$(amounts bob)" "3500"
eq "alice's change" "$(amounts alice spendable)" "500 3000"
stop_server
ok "the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"

say "the token gone (its folder moved away): exit 9"
mv "$T/tokens" "$T/tokens.away"
mkdir "$T/tokens"
eq "token missing" "$(serve_rc "${TOKEN[@]}")" 9
rm -rf "$T/tokens"
mv "$T/tokens.away" "$T/tokens"
restart_server
run 0 alice sync

finish
