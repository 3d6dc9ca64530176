#!/usr/bin/env bash
# test_ux.sh - the wallet as people use it (issue 16): what the commands say
# is true and names what they were given.
. "$(dirname "$0")/lib.sh"

ledger 19000
enrol alice 10000
enrol bob

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
contains "unload --all says the real online balance" "$T/out" "^Unloaded 500 to the online balance; it is now $online\\.$"

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
finish
