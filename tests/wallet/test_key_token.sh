#!/usr/bin/env bash
# test_key_token.sh - a wallet whose key lives in a PKCS#11 token (SoftHSM2
# in a temporary token folder): `offpay init --pkcs11` generates the pair in
# the token, never extractable, and the folder only names it (key.token);
# the wallet enrols, loads, pays, accepts and syncs with every signature
# made in the token; a copy of the folder on the same machine is a second
# signer of the same key, whose double spend the server catches with its
# evidence; a copy taken to another machine (another token folder, even
# with a token of the same label and PIN) cannot pay: exit 9, nothing
# changed.  A wrong PIN, a missing token and a missing module are exit 9.
. "$(dirname "$0")/lib.sh"

softhsm wallet 1234
secret_file pin 1234
secret_file badpin 9999
# The module by a name of the test's own, so that it can go missing.
mkdir "$T/lib"
ln -s "$SOFTHSM_MODULE" "$T/lib/p11.so"
ledger 19850
enrol bob
enrol carol

say "init --pkcs11: the key pair is made in the token; the folder names it"
token=$("$OFFPAYD" account --ledger "$LEDGER" open alice)
"$OFFPAYD" account --ledger "$LEDGER" mint alice 10000 >/dev/null
run 0 alice init --server "$URL" --account alice --token "$token" --pkcs11 "$T/lib/p11.so" --pkcs11-token wallet \
  --pin-file "$T/pin" --json
eq "init says where the key is" "$(jq -r .key "$T/out")" "token"
ok "no plain key file" [ ! -e "$T/alice/key" ]
ok "no sealed key file" [ ! -e "$T/alice/key.sealed" ]
ok "no enrol.key left" [ ! -e "$T/alice/enrol.key" ]
eq "key.token: four lines" "$(wc -l <"$T/alice/key.token")" 4
eq "key.token: its first line" "$(sed -n 1p "$T/alice/key.token")" "offpay-pkcs11-key 1"
eq "key.token: the module" "$(sed -n 2p "$T/alice/key.token")" "module $T/lib/p11.so"
eq "key.token: the token" "$(sed -n 3p "$T/alice/key.token")" "token wallet"
id=$(sed -n 's/^id //p' "$T/alice/key.token")
eq "the key's id is the public key the server certified" \
  "$(sqlite3 "$T/alice/wallet.db" 'SELECT lower(hex(public_key)) FROM identity')" "$id"
p11() { pkcs11-tool --module "$SOFTHSM_MODULE" --token-label wallet --login --pin 1234 "$@" 2>/dev/null; }
if command -v pkcs11-tool >/dev/null; then
  p11 --list-objects --type privkey >"$T/objects"
  contains "the private key is in the token" "$T/objects" "EC_EDWARDS"
  contains "sensitive and never extractable" "$T/objects" "sensitive, always sensitive, never extractable"
  eq "one key pair in the token" "$(grep -c '^Private Key Object' "$T/objects")" 1
fi

say "with the PIN from the option or \$OFFPAY_PIN_FILE: load, pay, accept, sync"
run 0 alice --pin-file "$T/pin" load 4000 3000
eq "loaded" "$(amounts alice)" "3000 4000"
round_trip OFFPAY_PIN_FILE "$T/pin" alice bob 2500 1000
eq "bob's change" "$(amounts bob)" "1500"
eq "alice: change, her other coin, bob's payment" "$(amounts alice)" "500 1000 4000"

say "the commands that only read need no token"
mv "$T/tokens" "$T/tokens.away"
mkdir "$T/tokens"
reads_without_key alice "the token"

say "the token missing: exit 9, nothing changed"
dump alice >"$T/before.dump"
run 9 alice --pin-file "$T/pin" load 100
contains "names the missing token" "$T/err" 'No PKCS#11 token labelled "wallet"'
unchanged "load without the token" alice "$T/before.dump"
rm -rf "$T/tokens"
mv "$T/tokens.away" "$T/tokens"

say "a wrong PIN, no PIN, the module gone: exit 9, nothing changed"
run 9 alice --pin-file "$T/badpin" load 100
contains "says the PIN is wrong" "$T/err" "PIN is wrong"
eq "one sentence" "$(wc -l <"$T/err")" 1
CHECKS=$((CHECKS + 1))
setsid -w "$OFFPAY" --wallet "$T/alice" sync >"$T/out" 2>"$T/err" </dev/null
eq "no PIN and no terminal to ask on" "$?" 9
mv "$T/lib/p11.so" "$T/lib/p11.away"
rm -f "$T/req.txt" "$T/rec.txt"
run 9 alice --pin-file "$T/pin" request 100 --out "$T/req.txt"
contains "says the module cannot be loaded" "$T/err" "cannot be loaded"
ok "no request written" [ ! -e "$T/req.txt" ]
mv "$T/lib/p11.away" "$T/lib/p11.so"
unchanged "wrong PIN, no PIN, no module" alice "$T/before.dump"

say "key.token is decoded strictly and must name the certified key"
cp "$T/alice/key.token" "$T/key.token.good"
sed -i "s/^id .*/id $(printf '%064d' 0)/" "$T/alice/key.token"
run 1 alice --pin-file "$T/pin" load 100
contains "another key is refused" "$T/err" "names a key other than"
cp "$T/key.token.good" "$T/alice/key.token"
echo "extra line" >>"$T/alice/key.token"
run 1 alice --pin-file "$T/pin" load 100
contains "a trailing line is damage" "$T/err" "damaged"
sed 's/^token wallet$/token wallet /' "$T/key.token.good" >"$T/alice/key.token"
run 1 alice --pin-file "$T/pin" load 100
contains "a label with a trailing blank is damage" "$T/err" "damaged"
cp "$T/key.token.good" "$T/alice/key.token"
unchanged "refused key.token files" alice "$T/before.dump"

say "the folder copied to another machine (its own token of the same label and PIN): exit 9, nothing changed"
cp -a "$T/alice" "$T/alice-away"
dump alice-away >"$T/before.dump"
mkdir "$T/tokens2"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens2" >"$T/softhsm2-away.conf"
SOFTHSM2_CONF="$T/softhsm2-away.conf" softhsm2-util --init-token --free --label wallet --so-pin 0000 --pin 1234 >/dev/null
run 0 bob request 500 --out "$T/req.txt"
SOFTHSM2_CONF="$T/softhsm2-away.conf" run 9 alice-away --pin-file "$T/pin" pay "$T/req.txt" --out "$T/rec.txt"
contains "the token there holds no such key" "$T/err" "no private key"
ok "no record written" [ ! -s "$T/rec.txt" ]
SOFTHSM2_CONF="$T/softhsm2-away.conf" run 9 alice-away --pin-file "$T/pin" sync
unchanged "the copy cannot pay or sync" alice-away "$T/before.dump"
rm -rf "$T/alice-away" "$T/rec.txt"

say "a copy on the same machine signs with the same token: its double spend is caught with evidence"
cp -a "$T/alice" "$T/alice-clone"
export OFFPAY_PIN_FILE="$T/pin"
stop_server
handshake alice bob 3000
handshake alice-clone carol 3000
restart_server
run 0 bob sync --json
eq "bob settled" "$(jq .settled "$T/out")" "1"
run 0 carol sync --json
eq "the clone's record is a double spend" "$(jq -r '.rejected[0].reason' "$T/out")" "double_spend"
unset OFFPAY_PIN_FILE
"$OFFPAYD" frauds --ledger "$LEDGER" --json >"$T/frauds.json" 2>&1
contains "the server keeps the evidence against alice" "$T/frauds.json" "alice"

say "init --pkcs11 with a wrong PIN or no such token: exit 9, nothing left"
token=$("$OFFPAYD" account --ledger "$LEDGER" open dave)
run 9 dave init --server "$URL" --account dave --token "$token" --pkcs11 "$T/lib/p11.so" --pkcs11-token wallet \
  --pin-file "$T/badpin"
ok "no folder left" [ ! -e "$T/dave" ]
run 9 dave init --server "$URL" --account dave --token "$token" --pkcs11 "$T/lib/p11.so" --pkcs11-token nosuch \
  --pin-file "$T/pin"
ok "no folder left" [ ! -e "$T/dave" ]
run 2 dave init --server "$URL" --account dave --token "$token" --pkcs11 "$T/lib/p11.so" --passphrase
run 2 dave init --server "$URL" --account dave --token "$token" --pkcs11 "$T/lib/p11.so"
say "init --pkcs11 refused by the server: the token's new key is destroyed again"
run 8 dave init --server "$URL" --account dave --token "not-the-token" --pkcs11 "$T/lib/p11.so" \
  --pkcs11-token wallet --pin-file "$T/pin"
ok "no folder left" [ ! -e "$T/dave" ]
if command -v pkcs11-tool >/dev/null; then
  eq "still one key pair in the token" "$(p11 --list-objects --type privkey | grep -c '^Private Key Object')" 1
fi

stop_server
ok "the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"
finish
