#!/usr/bin/env bash
# test_hostile.sh - issue 10 item 3: a server that lies.  offpay talks to
# fake_server, which passes each request to a real offpayd and bends its
# answer (fake_server.c).  Every "The server ..." rejection of the wallet is
# met: the wallet refuses with a clear sentence and the right exit code, and
# its store is unchanged (a full dump before and after).  Calls that change
# the ledger (load, unload, pay-online) follow docs/wallet.md "Calls in
# doubt": a 2xx means the call happened even when the rest of its answer is
# bad, and a 5xx or a broken answer leaves the call in doubt, which the
# next honest sync settles - those are checked as in doubt, not unchanged.
. "$(dirname "$0")/lib.sh"
FAKE_SERVER=${FAKE_SERVER:?FAKE_SERVER must name the fake_server program}
FAKE_PID=""
MODE="$T/mode"

stop_fake() {
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=""; fi
}
trap 'stop_fake; cleanup' EXIT

# start_fake BASE_PORT: the liar in front of the real server; URL becomes its address.
start_fake() {
  local base=$1 try port
  echo pass >"$MODE"
  for try in 0 1 2 3 4 5 6 7; do
    port=$((base + ($$ * 7 + try * 13) % 97))
    "$FAKE_SERVER" "$port" "$URL" "$MODE" "$T/ledger.db.issuer-key" >"$T/fake.log" 2>&1 &
    FAKE_PID=$!
    if wait_listening "$T/fake.log" "$FAKE_PID" 0; then URL="http://127.0.0.1:$port"; return 0; fi
    stop_fake
  done
  echo "cannot start fake_server: $(cat "$T/fake.log")" >&2
  exit 1
}

# lie MODE RC WALLET PATTERN ARGS...: with the answer bent by MODE, offpay
# WALLET ARGS exits RC, says PATTERN, and leaves the store as it was.
lie() {
  local mode=$1 rc=$2 wallet=$3 pattern=$4; shift 4
  echo "$mode" >"$MODE"
  dump "$wallet" >"$T/before.dump"
  run "$rc" "$wallet" "$@"
  contains "$mode: the sentence" "$T/err" "$pattern"
  unchanged "$mode" "$wallet" "$T/before.dump"
  echo pass >"$MODE"
}

# calls_in_doubt WALLET: how many calls the wallet keeps in doubt.
calls_in_doubt() { sqlite3 "$T/$1/wallet.db" "SELECT count(*) FROM calls"; }

ledger 19900
start_fake 19400
enrol alice 100000
enrol bob
run 0 alice load 1000 4000 10000
handshake alice bob 3500
handshake alice bob 200

say "sync: the answer's shape (exit 8, nothing changed)"
lie sync_short 8 alice "sync answer is malformed" sync
lie sync_long 8 alice "sync answer is malformed" sync
lie sync_order 8 alice "does not match what was sent" sync
lie sync_status 8 alice "does not match what was sent" sync
lie sync_no_coins 8 alice "sync answer is malformed" sync
lie sync_coin_garbage 8 alice "handed out a malformed coin" sync
lie sync_limits_garbage 8 alice 'bad "limits" field' sync
lie sync_limits_short 8 alice "limits are malformed" sync
say "sync: what the answer says, checked against the issuer key and our identity (exit 4)"
lie sync_coin_unsigned 4 alice "coin from the server is not signed by its issuer key" sync
lie sync_coin_other_key 4 alice "coin from the server belongs to another wallet" sync
lie sync_limits_other 4 alice "limits are for another wallet" sync
lie sync_limits_unsigned 4 alice "limits are not signed by its issuer key" sync
lie sync_revocation_unsigned 4 alice "revocation list is not signed by its issuer key" sync
lie sync_revocation_short 3 alice "revocation list is malformed" sync
say "sync: a broken answer (exit 7, nothing changed: a sync is repeated, not guessed)"
lie sync_500 7 alice "outcome is not known yet" sync
lie sync_not_json 7 alice "not valid JSON" sync
lie sync_oversized 7 alice "not valid JSON" sync
lie sync_truncated 7 alice "answer was lost" sync
say "the honest sync after all that settles both payments"
run 0 alice sync --json
eq "settled" "$(jq .settled "$T/out")" "2"
eq "alice's coins" "$(amounts alice)" "500 800 10000"

say "recovery: a bad list of our coins takes nothing (sync exit 0 with the warning, nothing changed)"
for m in "utxos_order:out of order" "utxos_coin_garbage:listed a malformed coin" \
         "utxos_coin_unsigned:not signed by its issuer key" "utxos_coin_other_key:belongs to another wallet" \
         "utxos_more_empty:list of our coins is malformed" "utxos_500:did not answer in full" \
         "utxos_oversized:did not answer in full"; do
  echo "${m%%:*}" >"$MODE"
  dump alice >"$T/before.dump"
  run 0 alice sync --json
  eq "${m%%:*}: nothing recovered" "$(jq -c .recovered "$T/out")" "[]"
  contains "${m%%:*}: the warning" "$T/out" "${m#*:}"
  unchanged "${m%%:*}" alice "$T/before.dump"
done
echo pass >"$MODE"

say "balance: a bad online figure is not shown (online null, as when unreachable); the store is not touched"
echo balance_negative >"$MODE"
dump alice >"$T/before.dump"
run 0 alice balance --json
eq "online unknown" "$(jq .online "$T/out")" "null"
unchanged "balance_negative" alice "$T/before.dump"
echo pass >"$MODE"

say "load: a 2xx whose coins are wrong is a load that happened: in doubt (exit 7), settled by the next sync"
run 0 alice unload --all
for m in "load_count:wrong number of coins" "load_coin_garbage:malformed coin" \
         "load_coin_other_key:belongs to another wallet" "load_coin_unsigned:not signed by its issuer key" \
         "load_coin_amount:do not add up" "load_500:outcome is not known yet" "load_truncated:outcome is not known yet"; do
  echo "${m%%:*}" >"$MODE"
  run 7 alice load 300
  contains "${m%%:*}: the sentence" "$T/err" "${m#*:}"
  eq "${m%%:*}: the call is in doubt" "$(calls_in_doubt alice)" "1"
  eq "${m%%:*}: no coin yet" "$(amounts alice)" ""
  echo pass >"$MODE"
  run 0 alice sync --json
  eq "${m%%:*}: sync finds it done" "$(jq -c '[.calls[] | [.kind, .outcome]]' "$T/out")" '[["load","done"]]'
  eq "${m%%:*}: the coin is in" "$(amounts alice)" "300"
  run 0 alice unload --all
done
run 0 alice load 500 800 10000

say "outcome: a bad answer about a call in doubt is refused (exit 8); the call stays in doubt"
echo load_500 >"$MODE"
run 7 alice load 700
lie outcome_garbage 8 alice "answer about a call in doubt is malformed" sync
run 0 alice sync --json
eq "then settled" "$(jq -c '[.calls[] | .outcome]' "$T/out")" '["done"]'
eq "no call in doubt" "$(calls_in_doubt alice)" "0"

say "unload: a 2xx with a bad figure still took the coin; a 500 leaves it in doubt until sync"
coin=$(j alice '[.utxos[] | select(.amount == 700)][0].id' balance --offline | tr -d '"')
echo unload_online >"$MODE"
run 0 alice unload "$coin"
eq "the coin left" "$(amounts alice)" "500 800 10000"
coin=$(j alice '[.utxos[] | select(.amount == 500)][0].id' balance --offline | tr -d '"')
echo unload_500 >"$MODE"
run 7 alice unload "$coin"
eq "in doubt" "$(amounts alice in_doubt)" "500"
echo pass >"$MODE"
run 0 alice sync --json
eq "sync: the unload was done" "$(jq -c '[.calls[] | [.kind, .outcome]]' "$T/out")" '[["unload","done"]]'
eq "the coin left" "$(amounts alice)" "800 10000"

say "pay-online: a 500 leaves the payment in doubt; sync finds it made"
echo pay_500 >"$MODE"
run 7 alice pay-online bob 100
echo pass >"$MODE"
run 0 alice sync --json
eq "sync: the payment was made" "$(jq -c '[.calls[] | [.kind, .outcome]]' "$T/out")" '[["pay_online","done"]]'

say "init: a lying enrolment leaves no wallet behind"
for m in "enrol_cert_garbage:8:bad \"certificate\" field" "enrol_cert_short:8:certificate is malformed" \
         "enrol_cert_other:4:certificate for another key" "enrol_no_issuer:8:enrolment answer is malformed" \
         "enrol_limits_other:4:limits are for another wallet" "enrol_revocation_unsigned:4:does not verify"; do
  name="c$RANDOM"
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$name") || exit 1
  echo "${m%%:*}" >"$MODE"
  m2=${m#*:}
  run "${m2%%:*}" "$name" init --server "$URL" --account "$name" --token "$token"
  contains "${m%%:*}: the sentence" "$T/err" "${m2#*:}"
  ok "${m%%:*}: no store" test ! -e "$T/$name/wallet.db"
done
echo pass >"$MODE"
ok "the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"
finish
