#!/usr/bin/env bash
# test_ux.sh - the wallet as people use it (issue 16): what the commands say
# is true and names what they were given.
. "$(dirname "$0")/lib.sh"

ledger 19000
enrol alice 10000
enrol bob
enrol carol 10000

say "unload --all reports the real online balance (human and --json)"
run 0 alice load 1000
run 0 alice load 2000
run 0 alice unload --all --json
online=$(j alice .online balance)
eq "balance after unload --all" "$online" "10000"
eq "unload --all --json: unloaded" "$(jq .unloaded "$T/out")" "3000"
eq "unload --all --json: online is balance's online" "$(jq .online "$T/out")" "$online"
run 0 alice load 500
run 0 alice unload --all
contains "unload --all says the real online balance" "$T/out" "^Unloaded 5\\.00 CNY to the online balance; it is now $((online / 100))\\.$(printf %02d $((online % 100))) CNY\\.$"

say "confirm given a message that is not an answer names what it got: exit 3, nothing changes"
run 0 alice load 1000
run 0 bob request 300 --out "$T/req.txt"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
dump alice >"$T/before.dump"
run 3 alice confirm "$T/rec.txt"
contains "confirm a record" "$T/err" "is a payment record, not a confirmation or refusal\\."
unchanged "confirm a record" alice "$T/before.dump"
run 3 alice confirm "$T/req.txt"
contains "confirm a request" "$T/err" "is a payment request, not a confirmation or refusal\\."
unchanged "confirm a request" alice "$T/before.dump"
run 3 alice confirm - <"$T/rec.txt"
contains "confirm a record on stdin" "$T/err" "is a payment record, not a confirmation or refusal\\."
unchanged "confirm a record on stdin" alice "$T/before.dump"
# The real answer still completes the payment.
run 0 bob accept "$T/rec.txt" --out "$T/conf.txt"
run 0 alice confirm "$T/conf.txt"

say "short ids: any unique beginning of at least 8 hex digits names a coin"
run 0 carol load 100 200 300
id() { "$OFFPAY" --wallet "$T/carol" balance --offline --json | jq -r ".utxos[] | select(.amount == $1) | .id"; }
id100=$(id 100); id200=$(id 200); id300=$(id 300)
run 0 carol unload "${id100:0:8}"
eq "8 digits unload that coin" "$(amounts carol)" "200 300"
run 0 carol unload "${id200:0:9}"
eq "9 digits (odd) unload that coin" "$(amounts carol)" "300"
run 0 carol unload "$(printf %s "${id300:0:16}" | tr a-f A-F)" --json
eq "16 digits in capitals unload that coin" "$(amounts carol)" ""
eq "short id: --json" "$(jq -c . "$T/out")" "{\"unloaded\":300,\"online\":$(j carol .online balance)}"

say "short ids: too short, not hex, unknown, ambiguous"
run 0 carol load 400
id400=$(id 400)
dump carol >"$T/before.dump"
run 3 carol unload "${id400:0:7}"
unchanged "7 digits" carol "$T/before.dump"
run 3 carol unload "${id400:0:7}g"
unchanged "not hex" carol "$T/before.dump"
run 3 carol unload "${id400}0"
unchanged "65 digits" carol "$T/before.dump"
other=$(printf %s "${id400:0:8}" | tr 0-9a-f 1-9a-f0)
run 2 carol unload "$other"
contains "unknown prefix" "$T/err" "no coin whose id begins with $other"
unchanged "unknown prefix" carol "$T/before.dump"
# A second coin whose id begins with the same 16 digits (made in the store:
# a real collision takes some 2^32 coins).
twin=${id400:0:16}$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
sqlite3 "$T/carol/wallet.db" "INSERT INTO utxos (id, amount, state, attestation, record_id, added)
  SELECT X'$twin', amount, state, attestation, record_id, added FROM utxos" ||
  fail "cannot make a second coin"
dump carol >"$T/before.dump"
run 2 carol unload "${id400:0:12}"
contains "ambiguous prefix: says so" "$T/err" "begins 2 coin ids"
contains "ambiguous prefix: names the first" "$T/err" "$id400"
contains "ambiguous prefix: names the second" "$T/err" "$twin"
contains "ambiguous prefix: usage line" "$T/err" "Usage: offpay"
unchanged "ambiguous prefix" carol "$T/before.dump"
run 2 carol unload "${id400:0:16}"
unchanged "ambiguous 16 digits" carol "$T/before.dump"
# 17 digits and more tell them apart (unless the twin's random 17th digit agrees).
if [ "${twin:16:1}" != "${id400:16:1}" ]; then
  run 0 carol unload "${id400:0:17}"
  eq "the unique longer prefix unloads that coin" "$(amounts carol)" "400"
  eq "the twin stays" "$("$OFFPAY" --wallet "$T/carol" balance --offline --json | jq -r ".utxos[0].id")" "$twin"
fi
finish
