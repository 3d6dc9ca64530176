#!/usr/bin/env bash
# test_show.sh - offpay show says what a message is and what it verified
# (issue 16), with or without a wallet, from text or a QR picture; and
# offpay pay on a terminal shows the same and asks before paying.
. "$(dirname "$0")/lib.sh"

ledger 19100
enrol alice 10000
enrol bob
run 0 alice load 1000 4000 500 500

say "show without a wallet: every kind of docs/wire-format.md's vectors decodes, nothing verified"
WIRE="$(dirname "$0")/../../docs/wire-format.md"
# vector NAME PREFIX: the text form of the hex vector that begins with NAME in docs/wire-format.md.
vector() {
  local hex
  hex=$(awk -v name="$1" 'index($0, name) == 1 {f = 1; next} f && /^```$/ {if (inb) exit; inb = 1; next}
                          f && inb {printf "%s", $0}' "$WIRE")
  printf '%s%s\n' "$2" "$(printf %s "$hex" | xxd -r -p | base32 -w0 | tr -d =)"
}
for v in "cert (the:OP1CRT:certificate" "utxo (the:OP1UTX:coin" "request (bob:OP1REQ:request" \
         "record (alice:OP1REC:record" "confirmation (bob:OP1CNF:confirmation" "refusal (bob:OP1REF:refusal" \
         "revocation (serial:OP1RVL:revocation_list" "limits (alice:OP1LIM:limits" "limits, long:OP1LIM:limits"; do
  IFS=: read -r name prefix kind <<<"$v"
  vector "$name" "$prefix:" >"$T/vec.txt"
  run 0 nowallet show "$T/vec.txt" --json
  eq "vector $name: kind" "$(jq -r .kind "$T/out")" "$kind"
  eq "vector $name: not verified without a wallet" "$(jq -c .verified "$T/out")" "null"
done
vector "record (alice" "OP1REC:" >"$T/vec.txt"
run 0 nowallet show "$T/vec.txt" --json
eq "record vector: parties, amounts, coins" \
  "$(jq -c '[.payer.account, .payer.wallet_id, .amount, .change, .sequence, .created, [.inputs[] | .amount], [.outputs[] | [.to, .amount, .id[0:8]]]]' "$T/out")" \
  '["alice","11111111111111111111111111111111",3500,500,1,1767225600,[4000],[["payee",3500,"db0a57d4"],["payer",500,"b30e3c7f"]]]'
eq "record vector: its id" "$(jq -r .record "$T/out")" "5d5781df35bb2a0934b2b07e7b4dcecfe76f6bfe1321159fed735e29d8d1a068"
run 0 nowallet show - <"$T/vec.txt"
contains "human form: kind" "$T/out" "^A payment record \\(OP1REC, 421 bytes\\)$"
contains "human form: valid until" "$T/out" "valid until: +2027-01-01 00:00:00 UTC"
contains "human form: nothing verified" "$T/out" "verified: +nothing \\(no wallet"
say "show: a sync stamp (type 9) and a record carrying one (type 10)"
vector "stamp (alice" "OP1STP:" >"$T/stamp.txt"
run 0 nowallet show "$T/stamp.txt" --json
eq "stamp vector: every field" "$(jq -c . "$T/out")" \
  '{"kind":"stamp","prefix":"OP1STP","bytes":90,"wallet_id":"11111111111111111111111111111111","synced_at":1767139200,"valid_until":null,"signatures":["issuer"],"verified":null,"currency":"CNY","exponent":2}'
run 0 nowallet show "$T/stamp.txt"
eq "stamp vector, human" "$(cat "$T/out")" "A sync stamp (OP1STP, 90 bytes)
  wallet id:       11111111111111111111111111111111
  synced at:       2025-12-31 00:00:00 UTC (1767139200)
  valid until:     no limit known here (the payee's offline time limit decides)
  signatures:
    - issuer
  verified:        nothing (no wallet here to check it against)"
run 0 alice show "$T/stamp.txt" --json
eq "a foreign stamp in a wallet: checked, not the issuer's" "$(jq -c '.verified | [.checked, .ok, .code]' "$T/out")" \
  '[true,false,"stamp_invalid"]'
vector "record with a sync stamp" "OP1REC:" >"$T/vec.txt"
run 0 nowallet show "$T/vec.txt" --json
eq "stamped record vector: its stamp" "$(jq -c .stamp "$T/out")" \
  '{"wallet_id":"11111111111111111111111111111111","synced_at":1767139200,"valid_until":null,"names_payer":true}'
eq "stamped record vector: 511 bytes, the record's fields" "$(jq -c '[.bytes, .payer.account, .amount, .sequence, (.signatures | length)]' "$T/out")" \
  '[511,"alice",3500,1,4]'
run 0 nowallet show "$T/vec.txt"
contains "stamped record, human: the stamp's time" "$T/out" "^    synced at: +2025-12-31 00:00:00 UTC \\(1767139200\\)$"
vector "record (alice" "OP1REC:" >"$T/vec.txt"
run 0 nowallet show "$T/vec.txt" --json
eq "a record without a stamp (type 4): stamp null" "$(jq -c .stamp "$T/out")" "null"

vector "refusal (bob" "OP1REF:" >"$T/vec.txt"
run 0 nowallet show "$T/vec.txt" --json
eq "refusal vector" "$(jq -c '[.answer, .reason, .record[0:8]]' "$T/out")" '["refused","declined","5d5781df"]'
vector "limits, long" "OP1LIM:" >"$T/vec.txt"
run 0 nowallet show "$T/vec.txt" --json
eq "limits vector" "$(jq -c '.limits | [.per_payment, .holding, .offline_time]' "$T/out")" '[10000,6000,604800]'
# The fixture's issuer is not this server's: a wallet says so.
vector "request (bob" "OP1REQ:" >"$T/vec.txt"
run 0 alice show "$T/vec.txt" --json
eq "a foreign request in a wallet: checked, not ok" "$(jq -c '.verified | [.checked, .ok, .code]' "$T/out")" \
  '[true,false,"cert_not_issued"]'

say "show in a wallet: a real request, record and answer verify; a tampered one does not"
run 0 bob request 3500 --out "$T/req.txt"
run 0 alice show "$T/req.txt" --json
eq "request: payee, amount, verified" "$(jq -c '[.kind, .payee.account, .amount, .verified.ok]' "$T/out")" \
  '["request","bob",3500,true]'
run 0 alice show "$T/req.txt"
contains "request, human: verified" "$T/out" "verified: +yes: the payee's certificate"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
run 0 bob show "$T/rec.txt" --json
eq "record: payer, payee is bob, coins, verified" \
  "$(jq -c '[.payer.account, .payee.this_wallet, .amount, .change, [.inputs[].amount], .verified.ok]' "$T/out")" \
  '["alice",true,3500,500,[4000],true]'
run 0 bob accept "$T/rec.txt" --out "$T/conf.txt"
run 0 alice show "$T/conf.txt" --json
eq "confirmation in the payer's wallet: signature checked" \
  "$(jq -c '[.kind, .payee.account, .verified.ok, (.verified.what | test("for a payment this wallet made"))]' "$T/out")" \
  '["confirmation","bob",true,true]'
run 0 bob show "$T/conf.txt" --json
eq "confirmation elsewhere: certificate only" "$(jq -c '[.verified.ok, (.verified.what | test("certificate only"))]' "$T/out")" \
  '[true,true]'
# The record's last byte (in the payer's signature) changed: it decodes, the signature fails.
body=$(sed 's/^OP1REC://' "$T/rec.txt")
pad=$(( (8 - ${#body} % 8) % 8 ))
hex=$(printf '%s%s' "$body" "$(head -c $pad /dev/zero | tr '\0' =)" | base32 -d | xxd -p | tr -d '\n')
last=$(printf '%02x' $(( 0x${hex: -2} ^ 1 )))
printf 'OP1REC:%s\n' "$(printf %s "${hex:0:${#hex}-2}$last" | xxd -r -p | base32 -w0 | tr -d =)" >"$T/tampered.txt"
run 0 bob show "$T/tampered.txt" --json
eq "tampered record: decoded, does not verify" "$(jq -c '[.amount, .verified.checked, .verified.ok, .verified.code]' "$T/out")" \
  '[3500,true,false,"bad_signature"]'
run 0 bob show "$T/tampered.txt"
contains "tampered, human: NO" "$T/out" "verified: +NO: "
dump alice >"$T/before.dump"
run 0 alice show "$T/rec.txt" --json
eq "the payer's own record verifies" "$(jq .verified.ok "$T/out")" "true"
unchanged "show changes nothing" alice "$T/before.dump"

say "show: a QR picture; malformed input is exit 3 in one sentence"
run 0 bob request 200 --out "$T/req2.txt" --qr-png "$T/req2.png"
run 0 nowallet show "$T/req2.png" --json
eq "QR picture: the request" "$(jq -c '[.kind, .payee.account, .amount]' "$T/out")" '["request","bob",200]'
printf 'OP1REC:AEAQ\n' >"$T/bad.txt"
run 3 nowallet show "$T/bad.txt"
eq "malformed: one line" "$(wc -l <"$T/err")" "1"
run 3 nowallet show "$T/bad.txt" --json
eq "malformed --json: the error object" "$(jq -r '.error.exit' "$T/out")" "3"
printf 'hello\n' >"$T/bad.txt"
run 3 nowallet show "$T/bad.txt"
head -c 100 /dev/urandom >"$T/bad.png"
run 3 nowallet show "$T/bad.png"
run 2 nowallet show "$T/missing.txt"

say "pay on a terminal shows the request and asks; no = exit 2, nothing changed"
if ! command -v script >/dev/null; then
  fail "util-linux script is needed for the terminal tests"
else
  # tty_pay ANSWER ARGS...: offpay pay on a pseudo-terminal, ANSWER typed; output in $T/tty.
  tty_pay() {
    local answer=$1; shift
    printf '%s\n' "$answer" | script -qec "$(printf '%q ' "$OFFPAY" --wallet "$T/alice" pay "$@"); echo \"rc=\$?\"" \
      /dev/null >"$T/tty" 2>&1
  }
  run 0 bob request 300 --out "$T/req3.txt"
  dump alice >"$T/before.dump"
  tty_pay n "$T/req3.txt" --out "$T/rec3.txt"
  contains "the summary names the payee" "$T/tty" "account: +bob"
  contains "the summary says the amount" "$T/tty" "amount: +3\\.00 CNY"
  contains "it says which coins it spends and what it leaves" "$T/tty" \
    "Paying 3\\.00 CNY to bob spends 5\\.00 CNY in 1 coin \\(2\\.00 CNY comes back as change, locked until you sync\\); 15\\.00 CNY stays spendable offline\\."
  contains "it asks" "$T/tty" "Pay\\? \\[y/N\\]"
  contains "no: exit 2" "$T/tty" "rc=2"
  contains "no: says nothing was paid" "$T/tty" "Not paid"
  unchanged "no: nothing changed" alice "$T/before.dump"
  ok "no: no record written" test ! -s "$T/rec3.txt"
  tty_pay "" "$T/req3.txt" --out "$T/rec3.txt"
  contains "an empty answer is no" "$T/tty" "rc=2"
  unchanged "empty answer: nothing changed" alice "$T/before.dump"
  tty_pay y "$T/req3.txt" --out "$T/rec3.txt"
  contains "yes: paid" "$T/tty" "rc=0"
  contains "yes: the record is written" "$T/rec3.txt" "^OP1REC:"
  run 0 bob accept "$T/rec3.txt" --out "$T/conf3.txt"
  run 0 alice confirm "$T/conf3.txt"
  run 0 bob request 400 --out "$T/req4.txt"
  tty_pay "" "$T/req4.txt" --yes --out "$T/rec4.txt"
  contains "--yes: not asked" "$T/tty" "rc=0"
  if grep -q "Pay?" "$T/tty"; then fail "--yes asked"; fi
  # A payment that cannot be made is not asked about: it fails as without a terminal.
  run 0 bob request 3000 --out "$T/req6.txt"
  tty_pay "" "$T/req6.txt"
  contains "over the coins: not asked, exit 5" "$T/tty" "rc=5"
  if grep -q "Pay?" "$T/tty"; then fail "a payment over the coins was asked about"; fi
  run 0 alice limits set --per-payment 350
  run 0 bob request 350 --out "$T/req7.txt"
  tty_pay "" "$T/req7.txt"
  contains "over a limit: not asked, exit 6" "$T/tty" "rc=6"
  if grep -q "Pay?" "$T/tty"; then fail "a payment over a limit was asked about"; fi
  run 0 alice limits unset --per-payment
  run 0 alice request 10 --out "$T/own.txt"
  tty_pay "" "$T/own.txt"
  contains "its own request: not asked, exit 4" "$T/tty" "rc=4"
  # With no terminal (this script's pipes) it pays as it always did.
  run 0 bob request 100 --out "$T/req5.txt"
  run 0 alice pay "$T/req5.txt" --out "$T/rec5.txt"
  contains "no terminal: paid without asking" "$T/rec5.txt" "^OP1REC:"
fi

say "show: a real record carries its payer's stamp"
# A real record carries its payer's stamp; a payee with an offline time limit sees until when it holds.
run 0 bob limits set --offline-time 86400
run 0 alice sync
run 0 bob request 100 --out "$T/sreq.txt"
run 0 alice pay "$T/sreq.txt" --out "$T/srec.txt"
run 0 alice limits --json
synced=$(jq .used.synced_at "$T/out")
run 0 bob show "$T/srec.txt" --json
eq "a real record's stamp: alice's wallet, her last sync, valid a day after it" "$(jq -c .stamp "$T/out")" \
  "{\"wallet_id\":\"$(sqlite3 "$T/alice/wallet.db" "SELECT lower(hex(wallet_id)) FROM identity")\",\"synced_at\":$synced,\"valid_until\":$((synced + 86400)),\"names_payer\":true}"
eq "a real stamped record verifies" "$(jq -c '[.verified.ok, (.verified.what | test("sync stamp"))]' "$T/out")" '[true,true]'
run 0 bob accept "$T/srec.txt" --out "$T/sconf.txt"
run 0 alice confirm "$T/sconf.txt"
run 0 bob limits unset --offline-time
say "pay --to on a terminal asks the same way; no = exit 2 and the payee is told"
if command -v script >/dev/null; then
  run 0 alice sync
  receive 100
  dump alice >"$T/before.dump"
  tty_pay n --to "127.0.0.1:$RPORT" 100
  contains "--to: the summary names the payee" "$T/tty" "account: +bob"
  contains "--to: the summary says the amount" "$T/tty" "amount: +1\\.00 CNY"
  contains "--to: it says which coins it spends" "$T/tty" "Paying 1\\.00 CNY to bob spends [0-9.]+ CNY in 1 coin"
  contains "--to: it asks" "$T/tty" "Pay\\? \\[y/N\\]"
  contains "--to, no: exit 2" "$T/tty" "rc=2"
  contains "--to, no: says nothing was paid" "$T/tty" "Not paid"
  unchanged "--to, no: nothing changed" alice "$T/before.dump"
  receive_done 4
  contains "--to, no: the payee hears why" "$T/recv.out" "The payer stopped: Not done: the answer was no"
  receive 100
  tty_pay y --to "127.0.0.1:$RPORT" 100
  contains "--to, yes: asked" "$T/tty" "Pay\\? \\[y/N\\]"
  contains "--to, yes: paid" "$T/tty" "rc=0"
  contains "--to, yes: says so" "$T/tty" "Paid 1\\.00 CNY to bob offline"
  receive_done 0
  receive 100
  tty_pay "" --to "127.0.0.1:$RPORT" 100 --yes
  contains "--to --yes: paid" "$T/tty" "rc=0"
  if grep -q "Pay?" "$T/tty"; then fail "--to --yes asked"; fi
  receive_done 0
fi
finish
