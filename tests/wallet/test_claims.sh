#!/usr/bin/env bash
# test_claims.sh - the patent's claims, as a user sees them through offpay:
# claim 1 ([0072]), claim 2 (locked change), claims 5-6 (payee side, sync in
# any order, any number of times), [0100] (the payee pays onward) and claim 3
# (pay-online syncs first; nothing is paid when that sync fails).
. "$(dirname "$0")/lib.sh"

ledger 19100
enrol alice 100000
enrol bob
enrol carol

say "claim 1, [0072]: alice holds 1000/2000/3000/4000 and pays bob 3500 offline"
run 0 alice load 1000 2000 3000 4000
eq "coins after load" "$(amounts alice)" "1000 2000 3000 4000"
eq "online after load" "$(j alice .online balance)" "90000"
stop_server # from here on nobody can reach the server
run 0 bob request 3500 --out "$T/req.txt"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
contains "pay says it in plain words" "$T/out" "Paid 35\\.00 CNY to bob offline; it settles when either of you syncs"
eq "the 4000 is in doubt until confirmed" "$(amounts alice in_doubt)" "4000"
run 0 bob accept "$T/rec.txt" --out "$T/conf.txt"
contains "accept says so" "$T/out" "Accepted 35\\.00 CNY from alice"
run 0 alice confirm "$T/conf.txt"
contains "confirm names the locked change" "$T/out" "change of 5\\.00 CNY is locked"
eq "list after the payment" "$(amounts alice)" "500 1000 2000 3000"
eq "the change is locked" "$(amounts alice locked)" "500"
eq "spendable" "$(j alice .offline.spendable balance)" "6000"
eq "online is null when unreachable" "$(j alice .online balance)" "null"
eq "pending outgoing" "$(j alice .pending.outgoing balance)" "1"
eq "history has the payment" "$(j alice '[.events[] | select(.kind == "pay") | .amount]' history)" "[3500]"

say "claim 2: the locked 500 is never selected; only it could cover 6500 -> exit 5, says why"
run 0 bob request 6500 --out "$T/req2.txt"
dump alice >"$T/before.dump"
run 5 alice pay "$T/req2.txt" --out "$T/rec2.txt"
contains "exit 5 says the change is locked" "$T/err" "locked"
unchanged "refused payment" alice "$T/before.dump"
ok "no record file is left behind" test ! -e "$T/rec2.txt"
say "claim 2: 5500 is covered by other coins (3000+2000+1000), never the locked 500"
run 0 bob request 5500 --out "$T/req3.txt"
run 0 alice pay "$T/req3.txt" --out "$T/rec3.txt"
eq "in doubt: the three spendable coins" "$(amounts alice in_doubt)" "1000 2000 3000"
eq "the locked change is untouched" "$(amounts alice locked)" "500"
run 0 bob accept "$T/rec3.txt" --out "$T/conf3.txt"
run 0 alice confirm "$T/conf3.txt"
eq "list now" "$(amounts alice)" "500 500"
eq "both changes locked" "$(amounts alice locked)" "500 500"

say "claims 5-6: bob's payments are pending, incoming_unsynced, no coin yet"
eq "incoming_unsynced" "$(j bob .incoming_unsynced balance)" "9000"
eq "pending incoming" "$(j bob .pending.incoming balance)" "2"
eq "bob has no coin before sync" "$(amounts bob)" ""

say "claim 3: pay-online with the server down: the sync fails and nothing is paid (exit 7)"
dump alice >"$T/before.dump"
run 7 alice pay-online carol 100
unchanged "failed pay-online" alice "$T/before.dump"

restart_server
say "settlement: bob syncs first and gets his incoming coins"
run 0 bob sync --json
eq "bob: submitted" "$(jq .submitted "$T/out")" "2"
eq "bob: settled" "$(jq .settled "$T/out")" "2"
eq "bob: new coins" "$(jq -c '[.new_utxos[].amount] | sort' "$T/out")" "[3500,5500]"
eq "bob's coins are spendable" "$(amounts bob spendable)" "3500 5500"
eq "bob: nothing incoming any more" "$(j bob .incoming_unsynced balance)" "0"
say "settlement: bob syncing again changes nothing"
run 0 bob sync --json
eq "second sync submits nothing" "$(jq .submitted "$T/out")" "0"
eq "bob's coins" "$(amounts bob)" "3500 5500"

say "claim 3: alice pays carol 100 online; her two records are synced first"
eq "online before" "$(j alice .online balance)" "90000"
run 0 alice pay-online carol 100 --json
eq "the sync ran first and settled both records" "$(jq -c '[.sync.submitted, .sync.settled]' "$T/out")" "[2,2]"
eq "online after" "$(jq .online "$T/out")" "89900"
eq "alice's change is spendable now" "$(amounts alice spendable)" "500 500"
eq "no locked coin left" "$(amounts alice locked)" ""
eq "carol got 100 online" "$(j carol .online balance)" "100"

say "[0100]: bob, who was paid, pays carol onward offline"
run 0 carol request 4000 --out "$T/req4.txt"
run 0 bob pay "$T/req4.txt" --out "$T/rec4.txt"
eq "bob spends the smallest coin that covers 4000" "$(amounts bob in_doubt)" "5500"
run 0 carol accept "$T/rec4.txt" --out "$T/conf4.txt"
run 0 bob confirm "$T/conf4.txt"
eq "bob: 3500 spendable, 1500 locked" "$(amounts bob)" "1500 3500"
say "settlement in the other order: the payer bob syncs first, then carol"
run 0 bob sync --json
eq "bob's change settles" "$(jq -c '[.new_utxos[].amount]' "$T/out")" "[1500]"
run 0 carol sync --json
eq "carol's sync settles the same record once more (already settled)" "$(jq .settled "$T/out")" "1"
eq "carol's coin" "$(amounts carol spendable)" "4000"

say "unload: alice gives a coin back online; the ledger still conserves value"
id=$("$OFFPAY" --wallet "$T/alice" balance --offline --json | jq -r '.utxos[0].id')
run 0 alice unload "$id"
eq "one coin left" "$(amounts alice)" "500"
run 0 alice unload --all
eq "no coin left" "$(amounts alice)" ""
eq "online after unload" "$(j alice .online balance)" "90900"
ok "audit: the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"
finish
