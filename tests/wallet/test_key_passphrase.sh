#!/usr/bin/env bash
# test_key_passphrase.sh - a wallet whose key is sealed under a passphrase
# (offpay init --passphrase, docs/wallet.md "Where the key lives"): the key
# rests only in key.sealed; commands that sign need the passphrase (a file
# named by --passphrase-file or $OFFPAY_PASSPHRASE_FILE, else the terminal)
# and pay, accept and sync with it as any wallet; a wrong or missing
# passphrase is exit 9 with nothing changed; the commands that only read
# never ask; `offpay passphrase change` makes the old passphrase useless and
# the new one work.
. "$(dirname "$0")/lib.sh"

ledger 19800
enrol bob
secret_file pass "correct horse battery staple"
secret_file wrong "correct horse battery stapler"
secret_file new "a new passphrase"
secret_file empty ""
: >"$T/empty"

say "init --passphrase-file: the key is sealed, no plain key file"
token=$("$OFFPAYD" account --ledger "$LEDGER" open alice)
"$OFFPAYD" account --ledger "$LEDGER" mint alice 10000 >/dev/null
run 0 alice --passphrase-file "$T/pass" init --server "$URL" --account alice --token "$token" --json
eq "init says where the key is" "$(jq -r .key "$T/out")" "passphrase"
ok "key.sealed is there" [ -f "$T/alice/key.sealed" ]
ok "no plain key file" [ ! -e "$T/alice/key" ]
ok "no enrol.key left" [ ! -e "$T/alice/enrol.key" ]
eq "key.sealed is the sealed format's size" "$(stat -c %s "$T/alice/key.sealed")" 109
eq "key.sealed is the owner's only" "$(stat -c %a "$T/alice/key.sealed")" 600
eq "it begins with its magic and version 1" "$(head -c 9 "$T/alice/key.sealed" | od -An -tx1 | tr -d ' \n')" \
  "6f6666706179736b01"

say "the commands that only read work without the passphrase"
reads_without_key alice "the passphrase"

say "a command that signs, with no passphrase and no terminal: exit 9, nothing changed"
dump alice >"$T/before.dump"
CHECKS=$((CHECKS + 1))
setsid -w "$OFFPAY" --wallet "$T/alice" load 1000 >"$T/out" 2>"$T/err" </dev/null
eq "no terminal to ask on" "$?" 9
contains "says to give it in a file" "$T/err" "terminal"
unchanged "load without the passphrase" alice "$T/before.dump"

say "the wrong passphrase: exit 9, one sentence, nothing changed"
run 9 alice --passphrase-file "$T/wrong" load 1000
contains "says the passphrase is wrong" "$T/err" "passphrase is wrong"
eq "one sentence" "$(wc -l <"$T/err")" 1
unchanged "load with the wrong passphrase" alice "$T/before.dump"
run 9 alice --passphrase-file "$T/wrong" request 100 --out "$T/req.txt"
ok "no request written" [ ! -e "$T/req.txt" ]
unchanged "request with the wrong passphrase" alice "$T/before.dump"
run 2 alice --passphrase-file "$T/empty" load 1000
contains "an empty passphrase file" "$T/err" "empty"
chmod 644 "$T/pass"
run 9 alice --passphrase-file "$T/pass" load 1000
contains "a passphrase file others may read" "$T/err" "chmod 600"
chmod 600 "$T/pass"
unchanged "refused passphrase files" alice "$T/before.dump"

say "the right passphrase, from the option and from \$OFFPAY_PASSPHRASE_FILE: load, pay, accept, sync"
run 0 alice --passphrase-file "$T/pass" load 4000 2000
eq "loaded" "$(amounts alice)" "2000 4000"
round_trip OFFPAY_PASSPHRASE_FILE "$T/pass" alice bob 2500 500
eq "bob's change" "$(amounts bob)" "2000"
eq "alice's coins: change and bob's payment" "$(amounts alice)" "500 1500 2000"
run 0 alice --passphrase-file "$T/pass" balance --json
eq "with the passphrase balance shows the online balance" "$(jq .online "$T/out")" "4000"

say "passphrase change: a wrong old passphrase changes nothing"
cp "$T/alice/key.sealed" "$T/sealed.before"
run 9 alice --passphrase-file "$T/wrong" passphrase change --new-passphrase-file "$T/new"
ok "key.sealed unchanged" cmp -s "$T/alice/key.sealed" "$T/sealed.before"
run 2 bob --passphrase-file "$T/pass" passphrase change --new-passphrase-file "$T/new"
contains "a plain wallet has no passphrase to change" "$T/err" "not sealed with a passphrase"
ok "bob keeps his plain key" [ -f "$T/bob/key" ]

say "passphrase change: the old one is then refused, the new one works"
run 0 alice --passphrase-file "$T/pass" passphrase change --new-passphrase-file "$T/new"
eq "key.sealed was replaced" "$(cmp -s "$T/alice/key.sealed" "$T/sealed.before" && echo same)" ""
ok "no temporary file left" [ ! -e "$T/alice/key.sealed.new" ]
eq "still the owner's only" "$(stat -c %a "$T/alice/key.sealed")" 600
dump alice >"$T/before.dump"
run 9 alice --passphrase-file "$T/pass" sync
unchanged "sync with the old passphrase" alice "$T/before.dump"
coin=$(j alice '.utxos[] | select(.amount == 500) | .id' balance --offline | tr -d '"')
export OFFPAY_PASSPHRASE_FILE="$T/new"
run 0 alice unload "$coin"
unset OFFPAY_PASSPHRASE_FILE
eq "unloaded with the new passphrase" "$(amounts alice)" "1500 2000"
run 0 alice history --json
contains "history tells of the change" "$T/out" '"kind":"passphrase"'

say "a sealed key file that was tampered with is refused, nothing changed"
cp "$T/alice/key.sealed" "$T/sealed.good"
printf '\x03' | dd of="$T/alice/key.sealed" bs=1 seek=12 conv=notrunc 2>/dev/null
dump alice >"$T/before.dump"
run 9 alice --passphrase-file "$T/new" load 100
contains "a cheaper Argon2id cost does not open it" "$T/err" "passphrase is wrong"
printf '\x09' | dd of="$T/alice/key.sealed" bs=1 seek=12 conv=notrunc 2>/dev/null
run 1 alice --passphrase-file "$T/new" load 100
contains "a cost out of bounds is damage" "$T/err" "damaged"
head -c 100 "$T/sealed.good" >"$T/alice/key.sealed"
run 1 alice --passphrase-file "$T/new" load 100
contains "a truncated file is damaged" "$T/err" "damaged"
cp "$T/sealed.good" "$T/alice/key.sealed"
cp "$T/alice/key.sealed" "$T/alice/key"
chmod 600 "$T/alice/key"
run 9 alice --passphrase-file "$T/new" load 100
contains "two key files" "$T/err" "more than one key file"
rm "$T/alice/key"
unchanged "refused key files" alice "$T/before.dump"
run 0 alice --passphrase-file "$T/new" sync

stop_server
ok "the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"
finish
