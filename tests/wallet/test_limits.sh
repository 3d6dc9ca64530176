#!/usr/bin/env bash
# test_limits.sh - claim 4: the server's offline limits arrive at init and at
# every sync; the owner may only make them stricter; a payment over a limit
# exits 6 and names the limit; nothing changes when it is refused.
. "$(dirname "$0")/lib.sh"

ledger 19500
enrol alice 1000000
enrol bob
run 0 alice load 20000 20000 20000 1000 1000 1000

say "the server's default limits arrived at init"
run 0 alice limits --json
ok "server limits are set" test "$(jq '.server.per_payment > 0 and .server.offline_total > 0 and .server.count > 0 and .server.period > 0' "$T/out")" = true
eq "effective = server when the owner set nothing" "$(jq -c '.effective == .server' "$T/out")" "true"

wid=$(sqlite3 "$T/alice/wallet.db" "SELECT lower(hex(wallet_id)) FROM identity")
say "the server sets alice's limits: per payment 5000, unsynced 9000, 4 payments per hour; alice learns them at sync"
"$OFFPAYD" limits --ledger "$LEDGER" --wallet "$wid" --per-payment 5000 --offline-total 9000 --count 4 --period 3600 >/dev/null ||
  fail "offpayd limits"
run 0 alice sync
eq "new server limits" "$(j alice '.server' limits)" '{"per_payment":5000,"offline_total":9000,"count":4,"period":3600,"holding":2000000,"offline_time":604800}'

say "per payment: 5000 is not below 5000 -> exit 6 naming the limit"
run 0 bob request 5000 --out "$T/r.txt"
dump alice >"$T/before.dump"
run 6 alice pay "$T/r.txt" --out "$T/x.txt"
contains "names the per-payment limit" "$T/err" "per-payment"
unchanged "refused over the per-payment limit" alice "$T/before.dump"
run 0 bob request 4999 --out "$T/r1.txt"
run 0 alice pay "$T/r1.txt" --out "$T/x1.txt"
say "offline total: 4999 unsynced + 4001 would reach 9000 -> exit 6"
run 0 bob request 4001 --out "$T/r2.txt"
run 6 alice pay "$T/r2.txt" --out "$T/x2.txt"
contains "names the offline-total limit" "$T/err" "offline-total"
run 0 bob request 4000 --out "$T/r3.txt"
run 0 alice pay "$T/r3.txt" --out "$T/x3.txt"
eq "used" "$(j alice '.used | [.offline_total, .count]' limits)" "[8999,2]"
say "sync clears the unsynced total but not the count of this period"
run 0 alice sync
eq "used after sync" "$(j alice '.used | [.offline_total, .count]' limits)" "[0,2]"
run 0 bob request 10 --out "$T/r4.txt"
run 0 alice pay "$T/r4.txt" --out "$T/x4.txt"
run 0 bob request 10 --out "$T/r5.txt"
run 0 alice pay "$T/r5.txt" --out "$T/x5.txt"
say "count: 4 payments this period -> the fifth exits 6"
run 0 bob request 10 --out "$T/r6.txt"
dump alice >"$T/before.dump"
run 6 alice pay "$T/r6.txt" --out "$T/x6.txt"
contains "names the count limit" "$T/err" "count limit"
unchanged "refused over the count limit" alice "$T/before.dump"
say "the count is per period: in the next period (the wallet's clock an hour on) the payment goes through"
next=$(( ($(date +%s) / 3600 + 1) * 3600 + 5 ))
OFFPAY_NOW=$next run 0 alice pay "$T/r6.txt" --out "$T/x6.txt"
eq "count in the new period" "$(OFFPAY_NOW=$next j alice .used.count limits)" "1"

say "owner limits: looser than the server's is refused (exit 2), stricter applies"
run 2 alice limits set --per-payment 6000
contains "says looser" "$T/err" "looser"
run 2 alice limits set --period 60
run 0 alice sync
"$OFFPAYD" limits --ledger "$LEDGER" --wallet "$wid" --per-payment 5000 --offline-total 9000 --count 40 --period 3600 >/dev/null
run 0 alice sync
run 0 alice limits set --per-payment 1000
eq "effective per-payment" "$(j alice .effective.per_payment limits)" "1000"
eq "server per-payment unchanged" "$(j alice .server.per_payment limits)" "5000"
run 0 bob request 1000 --out "$T/r7.txt"
run 6 alice pay "$T/r7.txt" --out "$T/x7.txt"
contains "names the per-payment limit of 1000" "$T/err" "per-payment offline limit of 1000"
run 0 bob request 999 --out "$T/r8.txt"
run 0 alice pay "$T/r8.txt" --out "$T/x8.txt"
say "owner limits survive a sync: the server's new values never loosen them"
run 0 alice sync
eq "still 1000" "$(j alice .effective.per_payment limits)" "1000"
run 2 alice limits set
run 2 alice limits set --count abc

say "limits unset lifts the owner's own values: the server's apply again (issue 16)"
run 0 alice limits set --offline-total 8000 --count 30 --period 7200 --holding 900000
eq "owner values" "$(j alice '.owner | [.per_payment, .offline_total, .count, .period, .holding]' limits)" "[1000,8000,30,7200,900000]"
run 2 alice limits unset
run 2 alice limits unset --per-payment 2000
run 2 alice limits unset --bogus
run 0 alice limits unset --per-payment --count
eq "per payment and count lifted, the rest kept" "$(j alice '.owner | [.per_payment, .offline_total, .count, .period, .holding]' limits)" "[0,8000,0,7200,900000]"
eq "effective per payment is the server's again" "$(j alice '.effective | [.per_payment, .count]' limits)" "[5000,40]"
run 0 bob request 3000 --out "$T/r9.txt"
run 0 alice pay "$T/r9.txt" --out "$T/x9.txt"
run 0 alice limits unset --all
eq "nothing of the owner's left" "$(j alice '.owner | [.per_payment, .offline_total, .count, .period, .holding, .offline_time]' limits)" "[0,0,0,0,0,0]"
eq "effective = server" "$(j alice '.effective == .server' limits)" "true"
finish
