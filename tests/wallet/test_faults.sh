#!/usr/bin/env bash
# test_faults.sh - every call the wallet makes, under every fault of the
# network (issue 9): offpay -> offpay-faultproxy -> offpayd (SQLite ledger).
#
# For each endpoint (enrol, load, unload, sync, pay-online, the reads
# GET /v1/balance and GET /v1/utxos, and the sync's own POST /v1/outcome after
# an unload that did or did not happen) and each fault (drop_request,
# drop_answer, reset_answer, delay past $OFFPAY_TIMEOUT, duplicate), a fresh
# pair of wallets checks docs/wallet.md's "Calls in doubt":
#   - right after the call: a lost answer is exit 7 saying the outcome is not
#     known yet and that `offpay sync` will settle it, with nothing undone on
#     a guess (an unload's coins in doubt, a load's coins not there yet, no
#     pay_online in the history); a duplicate succeeds and acts once;
#   - after a plain `offpay sync`: the wallet agrees with the ledger (what the
#     server did happened exactly once, what it did not is undone), nothing
#     is left in doubt;
#   - after an offline payment with the coins involved (pay, accept, confirm,
#     both sync): nothing is rejected;
# and after every case: no wallet in `offpayd frauds`, `offpayd audit`
# passes, and every wallet's offline value plus every online balance equals
# what was minted.  Then a request that lands after the sync that asked
# about it (load, unload, pay-online held 4 s in the network): it must not
# take effect.
#
# Drops and resets are armed for two requests: libcurl resends a request
# once, on a fresh connection, when a reused connection died before any byte
# of the answer came, and the wallet must see the loss for the case to test it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../common/proxy.sh"

ledger 19600
start_proxy "$PORT"
export OFFPAY_TIMEOUT=1
FAULTS="drop_request drop_answer reset_answer delay:2500 duplicate"
CASES=0  # endpoint x fault cases run
SERIAL=0 # wallet pairs made
SETTLED=0 # offline value of the wallets of finished cases (left untouched)

sql() { sqlite3 "$T/ledger.db" "$1"; }
online() { sql "SELECT online FROM accounts WHERE name = '$1'"; }
offline() { j "$1" '.offline.spendable + .offline.locked + .offline.in_doubt' balance --offline; }
coin_id() { j "$1" ".utxos[] | select(.amount == $2) | .id" balance --offline | tr -d '"' | head -1; }
events() { j "$1" "[.events[] | select(.kind == \"$2\")] | length" history; }
# lost FAULT: the wallet cannot have seen the answer.  did FAULT: the server acted.
lost() { [ "$1" != duplicate ]; }
did() { [ "$1" != drop_request ]; }

# account NAME MINT: open it (token in $TOKEN), mint MINT online.
account() {
  TOKEN=$("$OFFPAYD" account --ledger "$LEDGER" open "$1") || { echo "account open $1 failed" >&2; exit 1; }
  if [ "$2" != 0 ]; then "$OFFPAYD" account --ledger "$LEDGER" mint "$1" "$2" >/dev/null || exit 1; fi
}

# pair [SKIP_A_INIT]: accounts A (20000 minted) and B of a new case, both
# enrolled through the proxy (A not, when asked: the case enrols it).
pair() {
  SERIAL=$((SERIAL + 1))
  A=a$SERIAL B=b$SERIAL
  account "$A" 20000; TOKEN_A=$TOKEN
  [ -z "${1:-}" ] && run 0 "$A" init --server "$PURL" --account "$A" --token "$TOKEN_A"
  account "$B" 0
  run 0 "$B" init --server "$PURL" --account "$B" --token "$TOKEN"
}

# arm METHOD PATH FAULT
arm() {
  local n=1
  case $3 in drop_* | reset_*) n=2 ;; esac
  fault "$1" "$2" "$3" "$n"
}

# faulted FAULT WALLET ARGS...: run the armed call, check what the wallet
# says, disarm.
faulted() {
  local f=$1
  shift
  if lost "$f"; then
    run 7 "$@"
    contains "$f: says the outcome is not known yet" "$T/err" "not known yet"
    contains "$f: says offpay sync settles it" "$T/err" "offpay sync"
  else
    run 0 "$@"
  fi
  nofault
}

# settled WALLET: after a sync: nothing in doubt, nothing pending.
settled() {
  eq "$1: nothing in doubt" "$(j "$1" '[.offline.in_doubt, .pending.outgoing, .pending.incoming, .incoming_unsynced]' balance --offline)" "[0,0,0,0]"
}

# pay_offline PAYER PAYEE AMOUNT: the whole handshake, then both sync; nothing rejected.
pay_offline() {
  handshake "$1" "$2" "$3"
  run 0 "$1" sync --json
  eq "$1's sync rejects nothing" "$(jq -c .rejected "$T/out")" "[]"
  run 0 "$2" sync --json
  eq "$2's sync rejects nothing" "$(jq -c .rejected "$T/out")" "[]"
  settled "$1"
  settled "$2"
}

# end_case: the invariants, over this case's pair and over the whole ledger.
end_case() {
  local oa ob
  oa=$(offline "$A") ob=$(offline "$B")
  eq "$A+$B: offline + online = minted" "$((oa + ob + $(online "$A") + $(online "$B")))" \
    "$(sql "SELECT sum(minted) FROM accounts WHERE name IN ('$A', '$B')")"
  SETTLED=$((SETTLED + oa + ob))
  eq "every wallet + every online balance = minted" "$((SETTLED + $(sql 'SELECT sum(online) FROM accounts')))" \
    "$(sql 'SELECT sum(minted) FROM accounts')"
  eq "no wallet flagged" "$("$OFFPAYD" frauds --ledger "$LEDGER" --json | jq -c '.frauds')" "[]"
  ok "audit passes" "$OFFPAYD" audit --ledger "$LEDGER"
}

# ---- one function per endpoint: case_X FAULT ----

case_enrol() {
  local f=$1
  pair skip
  arm POST /v1/enrol "$f"
  if lost "$f"; then
    run 7 "$A" init --server "$PURL" --account "$A" --token "$TOKEN_A"
    contains "$f: says to run the same init again" "$T/err" "offpay init"
    nofault
    run 0 "$A" init --server "$PURL" --account "$A" --token "$TOKEN_A"
  else
    run 0 "$A" init --server "$PURL" --account "$A" --token "$TOKEN_A"
    nofault
  fi
  eq "one wallet enrolled for $A" "$(sql "SELECT count(*) FROM wallets w JOIN accounts a ON a.id = w.account_id WHERE a.name = '$A'")" 1
  run 0 "$A" sync
  run 0 "$A" load 3000 4000
  pay_offline "$A" "$B" 3500
}

case_load() {
  local f=$1
  pair
  arm POST /v1/load "$f"
  faulted "$f" "$A" load 3000 4000
  if lost "$f"; then
    eq "$f: a lost load adds no coin yet" "$(amounts "$A")" ""
  else
    eq "$f: loaded once" "$(amounts "$A" spendable)" "3000 4000"
  fi
  local want=20000
  did "$f" && want=13000
  eq "$f: the server's balance" "$(online "$A")" "$want"
  run 0 "$A" sync
  if did "$f"; then
    eq "$f: after sync the load's coins are there" "$(amounts "$A" spendable)" "3000 4000"
    eq "$f: one load event" "$(events "$A" load)" 1
  else
    eq "$f: after sync no coin" "$(amounts "$A")" ""
    run 0 "$A" load 3000 4000
  fi
  eq "$f: the server's balance after sync" "$(online "$A")" 13000
  settled "$A"
  pay_offline "$A" "$B" 3500
}

# unload_case FAULT PATH: an unload of the 4000 (lost with PATH's FAULT, or
# with the unload's own fault), then the checks; used by unload and outcome.
unload_checks() {
  local did=$1
  if [ "$did" = 1 ]; then
    eq "after sync the unloaded coin is gone" "$(amounts "$A")" "1000"
    eq "the server has it online" "$(online "$A")" 19000
  else
    eq "after sync the coin is spendable again" "$(amounts "$A" spendable)" "1000 4000"
    eq "the server's balance" "$(online "$A")" 15000
  fi
  settled "$A"
  if [ "$did" = 1 ]; then
    run 0 "$B" request 3500 --out "$T/req-big.txt"
    run 5 "$A" pay "$T/req-big.txt" --out "$T/x.txt"
    pay_offline "$A" "$B" 800
  else
    pay_offline "$A" "$B" 3500
  fi
}

case_unload() {
  local f=$1 id
  pair
  run 0 "$A" load 1000 4000
  id=$(coin_id "$A" 4000)
  arm POST /v1/unload "$f"
  faulted "$f" "$A" unload "$id"
  if lost "$f"; then
    eq "$f: the coin is in doubt" "$(amounts "$A" in_doubt)" "4000"
  else
    eq "$f: unloaded once" "$(amounts "$A")" "1000"
  fi
  local want=15000
  did "$f" && want=19000
  eq "$f: the server's balance" "$(online "$A")" "$want"
  run 0 "$A" sync
  if did "$f"; then unload_checks 1; else unload_checks 0; fi
}

# case_outcome_done / _cancelled: the sync's POST /v1/outcome under FAULT,
# asking about an unload whose answer was dropped (done) or that never
# arrived (cancelled).
outcome_case() {
  local f=$1 under=$2 id
  pair
  run 0 "$A" load 1000 4000
  id=$(coin_id "$A" 4000)
  fault POST /v1/unload "$under"
  run 7 "$A" unload "$id"
  nofault
  arm POST /v1/outcome "$f"
  faulted "$f" "$A" sync
  if lost "$f"; then
    eq "$f: the coin is still in doubt" "$(amounts "$A" in_doubt)" "4000"
  fi
  run 0 "$A" sync
  if [ "$under" = drop_answer ]; then unload_checks 1; else unload_checks 0; fi
}
case_outcome_done() { outcome_case "$1" drop_answer; }
case_outcome_cancelled() { outcome_case "$1" drop_request; }

case_sync() {
  local f=$1
  pair
  run 0 "$A" load 1000 4000
  handshake "$A" "$B" 3500
  arm POST /v1/sync "$f"
  faulted "$f" "$A" sync
  if lost "$f"; then
    eq "$f: the payment is still pending" "$(j "$A" .pending.outgoing balance --offline)" 1
    eq "$f: its change still locked" "$(amounts "$A" locked)" "500"
  fi
  run 0 "$A" sync --json
  eq "$f: nothing rejected" "$(jq -c .rejected "$T/out")" "[]"
  eq "$f: the change is spendable" "$(amounts "$A" spendable)" "500 1000"
  settled "$A"
  pay_offline "$A" "$B" 400
  eq "$f: $B has both payments, once each" "$(amounts "$B" spendable)" "400 3500"
}

# The coin list is sync's last step (docs/wallet.md, "Sync", step 4): when
# its answer is lost the records are applied already, so the sync counts as
# done (exit 0) with a warning, and the next sync asks again.
case_utxos() {
  local f=$1 got
  pair
  run 0 "$A" load 1000 4000
  handshake "$A" "$B" 3500
  run 0 "$A" sync
  arm GET /v1/utxos "$f"
  run 0 "$B" sync --json
  nofault
  if lost "$f"; then
    contains "$f: warns that the coins could not be checked" "$T/err" "could not be checked"
    ok "$f: recovery_warning in JSON" test "$(jq -r .recovery_warning "$T/out")" != null
  fi
  eq "$f: $B's payment settled" "$(jq .settled "$T/out")" 1
  eq "$f: $B has the coin once" "$(amounts "$B")" "3500"
  run 0 "$B" sync --json
  eq "$f: the next sync recovers nothing more" "$(jq -c '[.recovered, .recovery_warning]' "$T/out")" "[[],null]"
  eq "$f: after sync $B has the coin once" "$(amounts "$B" spendable)" "3500"
  settled "$B"
  pay_offline "$B" "$A" 3000
}

case_pay_online() {
  local f=$1 want_a=15000 want_b=0 n=0
  pair
  run 0 "$A" load 1000 4000
  arm POST /v1/pay-online "$f"
  faulted "$f" "$A" pay-online "$B" 500
  if lost "$f"; then
    eq "$f: nothing recorded yet" "$(events "$A" pay_online)" 0
  else
    eq "$f: paid once" "$(events "$A" pay_online)" 1
  fi
  did "$f" && want_a=14500 want_b=500 n=1
  eq "$f: the server's balances" "$(online "$A") $(online "$B")" "$want_a $want_b"
  run 0 "$A" sync
  eq "$f: after sync the history says what the server did" "$(events "$A" pay_online)" "$n"
  eq "$f: the server's balances after sync" "$(online "$A") $(online "$B")" "$want_a $want_b"
  settled "$A"
  pay_offline "$A" "$B" 3500
}

case_balance() {
  local f=$1
  pair
  run 0 "$A" load 1000 4000
  arm GET /v1/balance "$f"
  run 0 "$A" balance --json
  nofault
  if lost "$f"; then
    eq "$f: online unknown" "$(jq .online "$T/out")" null
  else
    eq "$f: online" "$(jq .online "$T/out")" 15000
  fi
  eq "$f: offline as before" "$(jq -c .offline "$T/out")" '{"spendable":5000,"locked":0,"in_doubt":0}'
  run 0 "$A" sync
  pay_offline "$A" "$B" 3500
}

# $FAULT_ENDPOINTS runs fewer, when debugging one.
ENDPOINTS=${FAULT_ENDPOINTS:-enrol load unload sync pay_online balance utxos outcome_done outcome_cancelled}
for e in $ENDPOINTS; do
  for f in $FAULTS; do
    say "case $((CASES + 1)): $e x $f"
    before=$FAILS
    "case_$e" "$f"
    end_case
    CASES=$((CASES + 1))
    [ "$FAILS" = "$before" ] || printf 'FAIL: case %s x %s failed (proxy log: %s)\n' "$e" "$f" "$(tail -3 "$PLOG" | tr '\n' ';')" >&2
  done
done
# A request held in the network past the wallet's timeout that lands after
# the next sync asked about it: the sync cancelled it, so it must not take
# effect (409 cancelled), and the wallet's view (undone) stays true.
LATE=0
late_case() {
  local what=$1 f=delay_request:4000
  say "late request: $what lands after the sync that settled it"
  pair
  run 0 "$A" load 1000 4000
  : >"$PLOG"
  case $what in
    load) fault POST /v1/load "$f"; run 7 "$A" load 2000 ;;
    unload) fault POST /v1/unload "$f"; run 7 "$A" unload "$(coin_id "$A" 4000)" ;;
    pay_online) fault POST /v1/pay-online "$f"; run 7 "$A" pay-online "$B" 500 ;;
  esac
  contains "$what: says not known yet" "$T/err" "not known yet"
  nofault
  run 0 "$A" sync
  ok "$what: the sync came before the request" test "$(grep -c "$f" "$PLOG")" = 0
  ok "$what: the request lands, refused" wait_log " $f 409 "
  eq "$what: the server's balances" "$(online "$A") $(online "$B")" "15000 0"
  eq "$what: the wallet's coins" "$(amounts "$A" spendable)" "1000 4000"
  eq "$what: nothing paid online" "$(events "$A" pay_online)" 0
  settled "$A"
  pay_offline "$A" "$B" 3500
  end_case
  LATE=$((LATE + 1))
}
for what in load unload pay_online; do late_case "$what"; done

say "not a lost answer: a request that never left (no proxy) is exit 7 and changes nothing"
pair
run 0 "$A" load 1000 4000
stop_proxy
for cmd in "load 500" "unload $(coin_id "$A" 4000)" "pay-online $B 100" "sync"; do
  dump "$A" >"$T/before.dump"
  run 7 "$A" $cmd
  contains "$cmd: says nothing changed" "$T/err" "cannot be reached; nothing changed"
  unchanged "$cmd, server unreachable" "$A" "$T/before.dump"
done
start_proxy "$PORT" "$PPORT"
say "a definite refusal (4xx) is exit 8 and changes nothing"
for cmd in "load 999999" "pay-online nobody-$CASES 100" "pay-online $B 999999"; do
  dump "$A" >"$T/before.dump"
  run 8 "$A" $cmd
  unchanged "$cmd, refused" "$A" "$T/before.dump"
done
run 0 "$A" sync
pay_offline "$A" "$B" 3500
end_case

say "$LATE late-request cases ran"
say "$CASES endpoint x fault cases ran ($(echo $ENDPOINTS | wc -w) endpoints x $(echo $FAULTS | wc -w) faults)"
finish
