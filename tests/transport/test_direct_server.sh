#!/usr/bin/env bash
# test_direct_server.sh - payments over a direct connection between two
# wallets enrolled at a real offpayd, then settled by sync: a clean payment,
# one whose confirmation was cut off (it settles at the payer's sync, SPEC
# rule 8), one whose record never reached the payee and one tampered with on
# the way (both settle too: the payer's genuine signed record is a payment).
# The ledger must conserve value.
# Ports: offpayd 20300-20399, payees 20400-20499, relay 21000-21099 (apart from test_direct.c's peers, 20750-20999: a payer of that test retrying a port this relay took over would be relayed to bob).
. "$(dirname "$0")/../wallet/lib.sh"
PEER=${PEER:?PEER must name offpay-test-peer}

ledger 20300
enrol alice 100000
enrol bob
run 0 alice load 1000 2000 3000 4000

RPID=""
RPORT=""
# receive AMOUNT: start bob's `offpay receive` on a free port; sets RPID, RPORT.
receive() {
  local amount=$1 try i
  for try in $(seq 0 20); do
    RPORT=$((20400 + ($$ * 11 + try * 7) % 100))
    "$OFFPAY" --wallet "$T/bob" receive --listen "127.0.0.1:$RPORT" "$amount" --timeout 20 \
      >"$T/recv.out" 2>"$T/recv.err" &
    RPID=$!
    for i in $(seq 1 200); do
      if grep -q "Waiting for a payer" "$T/recv.out"; then return 0; fi
      if ! kill -0 "$RPID" 2>/dev/null; then break; fi
      sleep 0.05
    done
    wait "$RPID"
    grep -q "in use" "$T/recv.err" || { echo "offpay receive did not start: $(cat "$T/recv.err")" >&2; exit 1; }
  done
  echo "no free port for offpay receive" >&2
  exit 1
}

# receive_done WANT_RC: wait for bob's receive and check its exit code.
receive_done() {
  local rc
  wait "$RPID"
  rc=$?
  eq "offpay receive exit code ($(head -c 300 "$T/recv.err"))" "$rc" "$1"
}

RELAY_PID=""
RELAY_PORT=""
# relay PLAN: start the test peer between alice and bob's receive.
relay() {
  "$PEER" relay 127.0.0.1:21000-21099 "127.0.0.1:$RPORT" "$1" >"$T/relay.out" 2>"$T/relay.err" &
  RELAY_PID=$!
  local i
  for i in $(seq 1 200); do
    RELAY_PORT=$(awk '/^LISTENING/ {print $2}' "$T/relay.out")
    [ -n "$RELAY_PORT" ] && return 0
    sleep 0.05
  done
  echo "the relay did not start: $(cat "$T/relay.err")" >&2
  exit 1
}

say "alice pays bob 3500 over TCP; both sync; the coin is bob's"
receive 3500
run 0 alice pay --to "127.0.0.1:$RPORT" 3500
contains "alice is told" "$T/out" "Paid 35\\.00 CNY to bob"
receive_done 0
eq "alice's change is locked" "$(amounts alice locked)" "500"
eq "bob has it unsynced" "$(j bob .incoming_unsynced balance --offline)" "3500"
run 0 alice sync --json
eq "alice's sync settles it" "$(jq .settled "$T/out")" "1"
run 0 bob sync --json
eq "bob's sync gives him the coin" "$(amounts bob spendable)" "3500"

say "the confirmation is cut off: alice's coin stays in doubt, her sync completes the payment"
receive 2500
relay cut:2
run 7 alice pay --to "127.0.0.1:$RELAY_PORT" 2500
contains "alice is told it settles at sync" "$T/err" "in doubt"
receive_done 0
wait "$RELAY_PID"
eq "the 3000 is in doubt" "$(amounts alice in_doubt)" "3000"
run 0 alice sync --json
eq "settled without its confirmation" "$(jq '.completed_unconfirmed | length' "$T/out")" "1"
eq "nothing in doubt any more" "$(amounts alice in_doubt)" ""
run 0 bob sync --json
eq "bob's coins" "$(amounts bob spendable)" "2500 3500"

say "the record is cut off before bob sees it: alice's sync still completes the payment"
receive 1000
relay cut:1
run 7 alice pay --to "127.0.0.1:$RELAY_PORT" 1000
receive_done 7
wait "$RELAY_PID"
eq "bob stored nothing" "$(j bob .pending.incoming balance --offline)" "0"
eq "the 1000 is in doubt" "$(amounts alice in_doubt)" "1000"
run 0 alice sync --json
eq "it settled" "$(jq .settled "$T/out")" "1"
eq "nothing in doubt any more" "$(amounts alice in_doubt)" ""
ok "audit: the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"

say "a record tampered with on the way: bob stores nothing; alice's genuine record settles at her sync"
receive 700
relay tamper:2
run 4 alice pay --to "127.0.0.1:$RELAY_PORT" 700
receive_done 4
wait "$RELAY_PID"
eq "bob stored nothing" "$(j bob .pending.incoming balance --offline)" "0"
eq "the 2000 is in doubt" "$(amounts alice in_doubt)" "2000"
run 0 alice sync --json
eq "it settled" "$(jq .settled "$T/out")" "1"
eq "alice's coins" "$(amounts alice)" "500 500 1300"
ok "audit at the end" "$OFFPAYD" audit --ledger "$LEDGER"

finish
