#!/usr/bin/env bash
# test_in_doubt.sh - SPEC rule 8: a payment whose confirmation never came back
# keeps its coins in doubt and settles at the payer's next sync (and the
# wallet says so); a payee's signed refusal lets the payer's sync void it and
# free the coins; an unreachable server changes nothing.
. "$(dirname "$0")/lib.sh"

ledger 19300
enrol alice 100000
enrol bob
run 0 alice load 1000 4000 10000

say "alice pays bob 3500; bob accepts, but his confirmation never reaches alice"
run 0 bob request 3500 --out "$T/req.txt"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
run 0 bob accept "$T/rec.txt" --out "$T/conf.txt"
eq "the 4000 is in doubt" "$(amounts alice in_doubt)" "4000"
eq "in_doubt total" "$(j alice .offline.in_doubt balance)" "4000"
say "claim 2 counts coins in doubt as not spendable: 11500 needs them -> exit 5"
run 0 bob request 11500 --out "$T/req_big.txt"
run 5 alice pay "$T/req_big.txt" --out "$T/x.txt"
contains "says in doubt" "$T/err" "in doubt"

say "the server is down: sync exits 7 and changes nothing"
stop_server
dump alice >"$T/before.dump"
run 7 alice sync
unchanged "sync while unreachable" alice "$T/before.dump"
run 0 alice balance --json
eq "balance works offline, online is null" "$(jq .online "$T/out")" "null"
restart_server

say "alice syncs: the unconfirmed payment settles and sync says it completed"
run 0 alice sync
contains "tells the user" "$T/out" "confirmation never came back, but the payment completed"
eq "no coin in doubt any more" "$(amounts alice in_doubt)" ""
eq "the change is spendable" "$(amounts alice spendable)" "500 1000 10000"
run 0 bob sync --json
eq "bob's sync: settled" "$(jq .settled "$T/out")" "1"
eq "bob's coin" "$(amounts bob spendable)" "3500"
say "the late confirmation changes nothing (exit 4)"
dump alice >"$T/before.dump"
run 4 alice confirm "$T/conf.txt"
unchanged "late confirmation" alice "$T/before.dump"

say "sync --json lists payments completed without confirmation"
run 0 bob request 200 --out "$T/req2.txt"
run 0 alice pay "$T/req2.txt" --out "$T/rec2.txt"
run 0 alice sync --json
eq "completed_unconfirmed lists it" "$(jq '.completed_unconfirmed | length' "$T/out")" "1"
eq "the 500 change was spent, 300 back" "$(amounts alice)" "300 1000 10000"

say "a refusal: bob declines; alice's coin stays in doubt until her sync voids the payment"
run 0 bob request 700 --out "$T/req3.txt"
run 0 alice pay "$T/req3.txt" --out "$T/rec3.txt"
eq "the 1000 is in doubt" "$(amounts alice in_doubt)" "1000"
run 0 bob accept "$T/rec3.txt" --refuse --out "$T/refusal.txt"
ok "the refusal is a refusal message" grep -q '^OP1REF:' "$T/refusal.txt"
run 0 alice confirm "$T/refusal.txt"
contains "says the coins stay in doubt" "$T/out" "in doubt"
eq "still in doubt after the refusal" "$(amounts alice in_doubt)" "1000"
say "bob cannot accept the record he refused"
run 4 bob accept "$T/rec3.txt" --out "$T/conf3.txt"
run 0 alice sync --json
eq "voided at sync" "$(jq -c '.voided | length' "$T/out")" "1"
eq "the coin is spendable again" "$(amounts alice)" "300 1000 10000"
eq "nothing in doubt" "$(j alice .offline.in_doubt balance)" "0"
say "interrupted: alice's record never reaches bob (lost); its coin stays in doubt and is never reused"
run 0 bob request 250 --out "$T/req4.txt"
run 0 alice pay "$T/req4.txt" --out "$T/rec4.txt"
mv "$T/rec4.txt" "$T/rec4-lost.txt"
eq "the 300 is in doubt" "$(amounts alice in_doubt)" "300"
run 0 bob request 200 --out "$T/req5.txt"
run 0 alice pay "$T/req5.txt" --out "$T/rec5.txt"
eq "the next payment takes another coin" "$(amounts alice in_doubt)" "300 1000"
run 0 alice sync --json
eq "both settle at alice's sync" "$(jq .settled "$T/out")" "2"
say "the lost record turns up later: bob accepts it offline and his sync gives him the coin"
run 0 bob accept "$T/rec4-lost.txt" --out "$T/conf4.txt"
run 0 bob accept "$T/rec5.txt" --out "$T/conf5.txt"
run 0 bob sync --json
eq "bob's new coins" "$(jq -c '[.new_utxos[].amount] | sort' "$T/out")" "[200,250]"

say "two payments at once from one wallet with one coin: exactly one wins, the other exits 5"
run 0 alice unload --all
run 0 alice load 600
run 0 bob request 500 --out "$T/req6.txt"
run 0 bob request 400 --out "$T/req7.txt"
"$OFFPAY" --wallet "$T/alice" pay "$T/req6.txt" --out "$T/rec6.txt" >/dev/null 2>&1 & p1=$!
"$OFFPAY" --wallet "$T/alice" pay "$T/req7.txt" --out "$T/rec7.txt" >/dev/null 2>&1 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
eq "exit codes of the two payments" "$(printf '%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" "0 5 "
eq "the one coin is in doubt once" "$(amounts alice in_doubt)" "600"
eq "one pending payment" "$(j alice .pending.outgoing balance)" "1"
ok "audit" "$OFFPAYD" audit --ledger "$LEDGER"
finish
