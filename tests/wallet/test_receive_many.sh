#!/usr/bin/env bash
# test_receive_many.sh - offpay receive --count N / --keep (issue 16): one
# payee serves payers in a row over direct connections; a payer who breaks
# off mid-handshake (offpay-test-peer) is logged and does not end it; a
# signal ends --keep cleanly; the payments settle at sync.
. "$(dirname "$0")/lib.sh"
PEER=${PEER:?PEER must name offpay-test-peer}

ledger 19300
enrol alice 10000
enrol carol 10000
enrol bob
run 0 alice load 100 100
run 0 carol load 100

# fake KIND: a payer that takes bob's request and then breaks off (close: hangs up; abort: says stop).
fake() {
  CHECKS=$((CHECKS + 1))
  "$PEER" fake-payer "127.0.0.1:$RPORT" "$1" >"$T/peer.out" 2>&1 || fail "fake payer $1: $(cat "$T/peer.out")"
}
events() { jq -r '.event' "$T/recv.out" | paste -sd' '; }

say "--count 3: three payers, two who break off in between; all three payments received"
receive 100 --count 3 --timeout 20
run 0 alice pay --to "127.0.0.1:$RPORT" 100
fake close
run 0 carol pay --to "127.0.0.1:$RPORT" 100 --json
eq "pay --to --json" "$(jq -c '[.kind, .amount, .payee, .change, .currency]' "$T/out")" '["record",100,"bob",0,"CNY"]'
fake abort
run 0 alice pay --to "127.0.0.1:$RPORT" 100
receive_done 0
eq "the events" "$(events)" "listening received failed received failed received done"
eq "the summary" "$(jq -c 'select(.event == "done") | [.received, .failed, .total]' "$T/recv.out")" "[3,2,300]"
eq "the payers" "$(jq -r 'select(.event == "received") | .payer' "$T/recv.out" | paste -sd' ')" "alice carol alice"
eq "each failure is logged on stderr" "$(grep -c '^offpay: payer [0-9]*: ' "$T/recv.err")" "2"
eq "the failures' codes" "$(jq -r 'select(.event == "failed") | .code' "$T/recv.out" | paste -sd' ')" \
  "peer_closed peer_refused"
eq "bob holds three unsynced payments" "$(j bob .incoming_unsynced balance --offline)" "300"
run 0 alice sync
run 0 carol sync
run 0 bob sync
eq "after sync bob has three coins" "$(amounts bob spendable)" "100 100 100"
eq "alice spent both coins" "$(amounts alice)" ""
eq "carol spent hers" "$(amounts carol)" ""
eq "nothing pending for bob" "$(j bob .pending.incoming balance --offline)" "0"
ok "audit: the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"

say "--keep: serves until SIGINT, which ends it cleanly (exit 0)"
run 0 alice load 100
receive 100 --keep --timeout 20
fake close
run 0 alice pay --to "127.0.0.1:$RPORT" 100
kill -INT "$RPID"
receive_done 0
eq "keep: events" "$(events)" "listening failed received done"
eq "keep: summary" "$(jq -c 'select(.event == "done") | [.received, .failed, .signal]' "$T/recv.out")" '[1,1,"SIGINT"]'
receive 100 --keep
kill -TERM "$RPID"
receive_done 0
eq "keep, SIGTERM with nobody served" "$(jq -c 'select(.event == "done") | [.received, .signal]' "$T/recv.out")" '[0,"SIGTERM"]'
run 0 bob sync
eq "bob's fourth coin" "$(amounts bob spendable)" "100 100 100 100"

say "--count: no payer in time is exit 7, after the summary; bad options are usage errors"
receive 100 --count 1 --timeout 1
receive_done 7
eq "timeout: summary" "$(jq -c 'select(.event == "done") | [.received, .failed]' "$T/recv.out")" '[0,0]'
eq "timeout: the error object last" "$(tail -1 "$T/recv.out" | jq -r .error.code)" "peer_timeout"
run 2 bob receive --listen 127.0.0.1:0 100 --count 2 --keep
run 2 bob receive --listen 127.0.0.1:0 100 --count 0
run 2 bob receive --listen 127.0.0.1:0 100 --count x
ok "audit at the end" "$OFFPAYD" audit --ledger "$LEDGER"
finish
