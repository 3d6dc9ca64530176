#!/usr/bin/env bash
# test_money.sh - money shown as money (issue 16, docs/wallet.md "Money"): the
# ledger's currency and exponent, set at `offpayd init`, reach the wallet in
# the signed limits policy; human output shows "35.00 EUR", --json keeps
# integer minor units; amounts are taken as minor units (3500) or major
# units with a point (35.00), strictly.
. "$(dirname "$0")/lib.sh"

say "offpayd init refuses bad money"
for bad in "--currency eur" "--currency EURO" "--currency E1R" "--currency ''" "--exponent 5" "--exponent -1" \
  "--exponent 02" "--exponent x"; do
  eval "\"\$OFFPAYD\" init --ledger \"sqlite:\$T/bad.db\" $bad" >/dev/null 2>"$T/err"
  eq "offpayd init $bad" "$?" "2"
  ok "no ledger left by init $bad" test ! -e "$T/bad.db"
done

say "a EUR ledger with exponent 2"
"$OFFPAYD" init --ledger "$LEDGER" --currency EUR --exponent 2 --json >"$T/init.json" || fail "offpayd init --currency EUR"
eq "init --json says the money" "$(jq -c '[.currency, .exponent]' "$T/init.json")" '["EUR",2]'
start_server 19700
"$OFFPAYD" account --ledger "$LEDGER" open dora >/dev/null
eq "offpayd mint says euros" "$("$OFFPAYD" account --ledger "$LEDGER" mint dora 1234)" "Minted 12.34 EUR to dora; online balance 12.34 EUR."
enrol alice 100000
enrol bob
eq "the wallet learnt its money" "$(j alice '[.currency, .exponent]' limits)" '["EUR",2]'

say "load takes major units with a point, minor units without"
run 0 alice load 35.00 20.5 1000 0.07
eq "human output in euros" "$(cat "$T/out")" "Loaded 65.57 EUR offline as 4 coins; the online balance is now 934.43 EUR."
eq "the coins in minor units" "$(amounts alice)" "7 1000 2050 3500"
eq "balance --json stays in minor units" "$(j alice '[.offline.spendable, .currency, .exponent]' balance)" '[6557,"EUR",2]'
run 0 alice balance
contains "balance shows money" "$T/out" "^online: +934\\.43 EUR$"
contains "balance shows the offline money" "$T/out" "^offline: +65\\.57 EUR spendable, 0\\.00 EUR locked change"
contains "a coin line" "$T/out" " 35\\.00 EUR  spendable "

say "ambiguous or malformed amounts are usage errors and change nothing"
dump alice >"$T/before.dump"
for bad in 35.123 35. .5 . -1.00 +1.00 "1,00" "1 .00" 035.00 0.00 0 1.2.3 1e3 92233720368547758.08 184467440737095516.16; do
  run 2 alice load "$bad"
done
contains "the sentence gives the rule" "$T/err" "at most 2 decimals"
unchanged "refused amounts" alice "$T/before.dump"

say "a payment in euros, end to end"
run 0 bob request 12.34 --out "$T/r.txt"
eq "request note" "$(cat "$T/out")" "Payment request for 12.34 EUR from bob written to $T/r.txt; give it to the payer."
run 0 alice pay "$T/r.txt" --out "$T/x.txt"
contains "pay says euros" "$T/out" "^Paid 12\\.34 EUR to bob offline"
contains "and the change" "$T/out" "the change of 8\\.16 EUR stays locked"
run 0 bob accept "$T/x.txt" --out "$T/c.txt"
contains "accept says euros" "$T/out" "^Accepted 12\\.34 EUR from alice offline"
run 0 alice confirm "$T/c.txt"
eq "confirm says euros" "$(cat "$T/out")" "bob confirmed the payment of 12.34 EUR; your change of 8.16 EUR is locked until you sync."
run 0 bob sync
contains "sync says euros" "$T/out" "received 12\\.34 EUR from alice"
eq "bob's coin: 1234 minor units" "$(amounts bob)" "1234"
run 0 bob history
contains "history in euros" "$T/out" "settled +12\\.34 EUR"

say "limits take money too, and show it"
run 0 alice limits set --per-payment 40.00 --holding 500
eq "owner values in minor units" "$(j alice '.owner | [.per_payment, .holding]' limits)" "[4000,500]"
run 2 alice limits set --per-payment 40.001
run 0 alice limits
contains "limits in euros" "$T/out" "per payment: +below 40\\.00 EUR"

say "pay-online takes money"
run 0 alice pay-online bob 1.50
contains "pay-online in euros" "$T/out" "^Paid 1\\.50 EUR to bob online; your online balance is now 932\\.93 EUR\\.$"

say "a JPY ledger with exponent 0: no minor unit, no decimal point"
stop_server
LEDGER="sqlite:$T/jpy.db"
"$OFFPAYD" init --ledger "$LEDGER" --currency JPY --exponent 0 >"$T/init.out" || fail "offpayd init --currency JPY"
contains "init says the money" "$T/init.out" "Amounts are counted in JPY with 0 decimal places"
start_server 19750
token=$("$OFFPAYD" account --ledger "$LEDGER" open carol)
"$OFFPAYD" account --ledger "$LEDGER" mint carol 5000 >/dev/null
run 0 carol init --server "$URL" --account carol --token "$token"
contains "init shows the limits in yen" "$T/out" "each payment below [0-9]+ JPY"
run 0 carol load 70
eq "yen" "$(cat "$T/out")" "Loaded 70 JPY offline as 1 coin; the online balance is now 4930 JPY."
run 2 carol load 7.0
contains "no minor unit" "$T/err" "JPY has no minor unit"
eq "money in JSON" "$(j carol '[.currency, .exponent]' balance)" '["JPY",0]'
finish
