#!/usr/bin/env bash
# test_risk_limits.sh - issue 13's controls through the commands: the holding
# limit (load refused with the figures, exit 6, by the wallet and by the
# server, so a copy of the wallet folder cannot load past it either; the
# waterfall of incoming payments to the online balance, exactly once), the
# offline time limit on the payer's side (a wallet and a copy of its folder
# refuse to pay offline a week after the last sync), and `offpayd audit`
# after each step.
. "$(dirname "$0")/lib.sh"

ledger 19800
enrol alice 100000
enrol bob 100000

online() { j "$1" .online balance; }

say "the defaults: holding 2000000, offline time a week, in offpayd limits and offpay limits"
"$OFFPAYD" limits --ledger "$LEDGER" --json >"$T/lim.json"
eq "server default holding" "$(jq .holding "$T/lim.json")" "2000000"
eq "server default offline time" "$(jq .offline_time "$T/lim.json")" "604800"
eq "the wallet has them" "$(j alice '[.server.holding, .server.offline_time]' limits)" "[2000000,604800]"

say "a holding limit of 6000 for alice: load 5000 is fine, then 2000 more is refused with the figures"
"$OFFPAYD" limits --ledger "$LEDGER" --wallet "$(wid alice)" --holding 6000 >/dev/null || fail "limits --holding"
run 0 alice sync
eq "alice's effective holding" "$(j alice .effective.holding limits)" "6000"
run 0 alice load 1000 4000
dump alice >"$T/before.dump"
run 6 alice load 2000
contains "the figures" "$T/err" "would make the offline coins 7000, above the holding limit of 6000 \(held now: 5000\); load at most 1000"
unchanged "a refused load" alice "$T/before.dump"
eq "used in limits --json" "$(j alice .used.holding limits)" "5000"
run 0 alice load 1000
eq "exactly at the limit is fine" "$(j alice .used.holding limits)" "6000"
audit "the loads"

say "the owner may tighten the holding limit, never loosen it"
run 2 alice limits set --holding 7000
contains "looser is refused" "$T/err" "looser than the server's 6000"
run 0 alice limits set --holding 5500
eq "effective is the stricter" "$(j alice .effective.holding limits)" "5500"

say "a copy of alice's wallet folder cannot load past the limit either: the server refuses (exit 6)"
run 0 alice unload --all
audit "the unload"
cp -a "$T/alice" "$T/alice2"
run 0 alice load 5000
run 0 alice2 load 1000 # the copy still thinks it holds nothing; the server sees 5000 + 1000
run 6 alice2 load 1000
contains "the server's figures" "$T/err" "holding_limit.*above its holding limit of 6000"
audit "the clone's loads"
eq "alice's online balance: 100000 - 5000 - 1000" "$(online alice)" "94000"

say "the waterfall: bob's holding limit is 3000; he holds 2500 and is paid 1000 offline"
"$OFFPAYD" limits --ledger "$LEDGER" --wallet "$(wid bob)" --holding 3000 >/dev/null || fail "limits bob"
run 0 bob sync
run 0 bob load 2500
bob_online=$(online bob)
handshake alice bob 1000
run 0 alice sync # the payer settles it: the output goes online then, once
audit "the payer's sync"
eq "bob's online balance got the 1000" "$(online bob)" "$((bob_online + 1000))"
"$OFFPAY" --wallet "$T/bob" sync --json >"$T/sync.json" 2>"$T/err" || fail "bob sync: $(cat "$T/err")"
eq "bob's sync --json reports the waterfall" "$(jq -c '[.waterfall[].amount, .waterfall_total, (.new_utxos | length)]' "$T/sync.json")" "[1000,1000,0]"
eq "no coin for bob" "$(amounts bob)" "2500"
eq "still once" "$(online bob)" "$((bob_online + 1000))"
run 0 bob sync
eq "a second sync changes nothing" "$(online bob)" "$((bob_online + 1000))"
audit "the payee's sync"

say "the waterfall in plain words, and when the payee syncs first"
handshake alice bob 700
"$OFFPAY" --wallet "$T/bob" sync >"$T/out" 2>"$T/err" || fail "bob sync: $(cat "$T/err")"
contains "sync says where it went" "$T/out" "received 7\\.00 CNY from alice .*went to your online balance"
eq "bob's online balance +700" "$(online bob)" "$((bob_online + 1700))"
run 0 alice sync
eq "the payer's sync does not pay it twice" "$(online bob)" "$((bob_online + 1700))"
audit "the second waterfall"

say "below the limit a payment is a coin as before"
run 0 bob unload --all
handshake alice bob 300
run 0 bob sync
eq "bob's coin" "$(amounts bob)" "300"
audit "a payment below the limit"
say "the offline time limit: a week after its last sync a wallet (and a copy of it) cannot pay offline"
run 0 alice sync
run 0 alice load 1000
cp -a "$T/alice" "$T/alice3"
later=$(($(date +%s) + 8 * 86400))
run 0 bob request 100 --out "$T/rq.txt"
for w in alice alice3; do
  dump "$w" >"$T/before.dump"
  OFFPAY_NOW=$later run 6 "$w" pay "$T/rq.txt" --out "$T/rc.txt"
  contains "$w: since when and what to do" "$T/err" "last synced at [0-9-]+ [0-9:]+ UTC, longer ago than its offline time limit of 604800 seconds .*offpay sync"
  unchanged "$w: a refused payment" "$w" "$T/before.dump"
done
eq "limits --json says when it synced" "$(j alice '.used.synced_at > 0' limits)" "true"
OFFPAY_NOW=$later run 0 alice sync
OFFPAY_NOW=$later run 0 alice pay "$T/rq.txt" --out "$T/rc.txt"
ok "after a sync it pays again" test -s "$T/rc.txt"
run 0 bob accept "$T/rc.txt" --out "$T/cf.txt"
run 0 alice confirm "$T/cf.txt"
run 0 alice sync
run 0 bob sync
audit "payments around the offline time limit"

say "the owner may shorten the offline time, never lengthen it"
run 2 alice limits set --offline-time 700000
contains "longer is refused" "$T/err" "looser than the server's 604800"
run 0 alice limits set --offline-time 60
run 0 bob request 100 --out "$T/rq2.txt"
OFFPAY_NOW=$(($(date +%s) + 120)) run 6 alice pay "$T/rq2.txt" --out "$T/rc2.txt"
contains "the owner's 60 s" "$T/err" "offline time limit of 60 seconds"
run 0 alice pay "$T/rq2.txt" --out "$T/rc2.txt"
audit "the end"
finish
