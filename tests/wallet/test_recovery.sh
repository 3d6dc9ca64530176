#!/usr/bin/env bash
# test_recovery.sh - value is never lost: sync also takes the coins the server
# holds for the wallet that the wallet never saw (GET /v1/utxos).  (b) a
# payment whose record never reached the payee but was settled at the payer's
# sync (SPEC rule 8); (a) a load whose answer never reached the wallet.  A
# coin the wallet knows (in doubt above all) keeps its state; (c), (d) a coin
# an interrupted unload left in doubt is settled by the server's list.
. "$(dirname "$0")/lib.sh"
# The server lists coins two per page, so every recovery below reads
# several pages (GET /v1/utxos?after=ID).
export OFFPAYD_UTXOS_PAGE=2

ledger 19700
enrol alice 100000
enrol bob
run 0 alice load 1000 4000 10000

say "(b) alice pays bob 3500; the record never reaches bob; alice's sync settles it"
run 0 bob request 3500 --out "$T/req.txt"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
mv "$T/rec.txt" "$T/rec-lost.txt"
run 0 alice sync --json
eq "settled at alice's sync" "$(jq .settled "$T/out")" "1"
eq "alice recovers nothing" "$(jq -c .recovered "$T/out")" "[]"
eq "alice's coins" "$(amounts alice)" "500 1000 10000"
eq "bob has nothing yet" "$(amounts bob)" ""

say "bob syncs with nothing pending: he gets the 3500 the server holds for him"
run 0 bob sync
contains "tells the user" "$T/out" "Recovered 1 coin of 35\\.00 CNY the server holds for you"
eq "bob's spendable coin" "$(amounts bob spendable)" "3500"
eq "history records it" "$(j bob '[.events[] | select(.kind == "recovered") | .amount]' history)" "[3500]"
run 0 bob sync --json
eq "a second sync recovers nothing" "$(jq -c .recovered "$T/out")" "[]"
eq "no warning" "$(jq -c .recovery_warning "$T/out")" "null"
eq "SPEC keys still there" "$(jq -c '[.submitted, .settled, .new_utxos, .rejected]' "$T/out")" '[0,0,[],[]]'
eq "still one coin" "$(amounts bob)" "3500"

say "the lost record turns up: bob accepts it, syncs, and still holds 3500 once"
run 0 bob accept "$T/rec-lost.txt" --out "$T/conf.txt"
run 0 bob sync --json
eq "settled" "$(jq .settled "$T/out")" "1"
eq "nothing recovered" "$(jq -c .recovered "$T/out")" "[]"
eq "bob's coins unchanged" "$(amounts bob)" "3500"
eq "bob's offline total" "$(j bob .offline.spendable balance)" "3500"
say "bob can spend the recovered coin"
run 0 alice request 1500 --out "$T/req2.txt"
run 0 bob pay "$T/req2.txt" --out "$T/rec2.txt"
run 0 alice accept "$T/rec2.txt" --out "$T/conf2.txt"
run 0 bob confirm "$T/conf2.txt"
run 0 bob sync --json
run 0 alice sync --json
eq "alice got 1500" "$(jq -c '[.new_utxos[].amount]' "$T/out")" "[1500]"
eq "bob's change" "$(amounts bob)" "2000"
ok "audit after (b)" "$OFFPAYD" audit --ledger "$LEDGER"

say "(a) a load whose answer is lost: a copy of alice's wallet loads, the original never hears of it"
cp -a "$T/alice" "$T/alice-copy"
run 0 alice-copy load 2000 3000
eq "the copy has the coins" "$(amounts alice-copy spendable)" "500 1000 1500 2000 3000 10000"
eq "the original does not" "$(amounts alice)" "500 1000 1500 10000"
run 0 alice sync --json
eq "recovered in sync --json" "$(jq -c '[.recovered[].amount] | sort' "$T/out")" "[2000,3000]"
eq "recovered ids are 64 hex digits" "$(jq -r '.recovered[].id' "$T/out" | grep -Ec '^[0-9a-f]{64}$')" "2"
eq "the original has them now, spendable" "$(amounts alice spendable)" "500 1000 1500 2000 3000 10000"
eq "same coin ids as the copy" \
  "$(j alice '[.utxos[].id] | sort' balance --offline)" "$(j alice-copy '[.utxos[].id] | sort' balance --offline)"
ok "audit after (a)" "$OFFPAYD" audit --ledger "$LEDGER"
run 0 alice sync
contains "plural message" "$T/out" "Synced:"
eq "nothing more to recover" "$(j alice '.recovered | length' sync)" "0"
rm -rf "$T/alice-copy"
say "pay-online's sync recovers too"
cp -a "$T/alice" "$T/alice-copy"
run 0 alice-copy load 700
rm -rf "$T/alice-copy"
run 0 alice pay-online bob 100 --json
eq "recovered in pay-online's sync" "$(jq -c '[.sync.recovered[].amount]' "$T/out")" "[700]"
eq "the 700 is spendable" "$(amounts alice spendable)" "500 700 1000 1500 2000 3000 10000"

say "(c) an unload cut off before it reached the server: sync makes its coin spendable again"
id10k=$(j alice '.utxos[] | select(.amount == 10000) | .id' balance --offline | tr -d '"')
eq "found the 10000" "${#id10k}" "64"
sqlite3 "$T/alice/wallet.db" "UPDATE utxos SET state = 'in_doubt' WHERE hex(id) = upper('$id10k')"
eq "marked in doubt" "$(amounts alice in_doubt)" "10000"
online_before=$(j alice .online balance)
run 0 alice sync --json
eq "not recovered as a new coin" "$(jq -c .recovered "$T/out")" "[]"
eq "reported" "$(jq -c .interrupted_unload "$T/out")" '{"spendable_again":10000,"taken_online":0}'
eq "nothing in doubt" "$(amounts alice in_doubt)" ""
eq "spendable again" "$(amounts alice spendable)" "500 700 1000 1500 2000 3000 10000"
eq "online unchanged" "$(j alice .online balance)" "$online_before"
eq "history says so" "$(j alice '[.events[] | select(.kind == "unload_undone") | .amount]' history)" "[10000]"

say "(d) an unload the server carried out, whose answer never came back: sync takes the coin out"
cp -a "$T/alice" "$T/alice-copy"
run 0 alice-copy unload "$id10k"
rm -rf "$T/alice-copy"
sqlite3 "$T/alice/wallet.db" "UPDATE utxos SET state = 'in_doubt' WHERE hex(id) = upper('$id10k')"
run 0 alice sync
contains "tells the user" "$T/out" "An interrupted unload did reach the server: 100\\.00 CNY is in your online balance\\."
eq "the coin is gone" "$(amounts alice)" "500 700 1000 1500 2000 3000"
eq "online has it" "$(j alice .online balance)" "$((online_before + 10000))"
eq "history says so" "$(j alice '[.events[] | select(.kind == "unload") | .amount] | last' history)" "10000"

say "a coin in doubt under a payment record stays in doubt at sync (only its record decides)"
run 0 bob request 700 --out "$T/req3.txt"
run 0 alice pay "$T/req3.txt" --out "$T/rec3.txt"
eq "the 700 is in doubt" "$(amounts alice in_doubt)" "700"
run 0 alice sync --json
eq "settled as an unconfirmed payment" "$(jq .settled "$T/out")" "1"
eq "no unload touched" "$(jq -c .interrupted_unload "$T/out")" '{"spendable_again":0,"taken_online":0}'
ok "audit at the end" "$OFFPAYD" audit --ledger "$LEDGER"
finish
