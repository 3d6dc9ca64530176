#!/usr/bin/env bash
# story.sh BUILD_DIR - the whole offpay story with the real programs, narrated:
# a server on the embedded ledger, three wallets, the offline payment of
# CN108921542A [0072] passed as files, the locked change refused, sync, the
# payee's incoming coin, the payee paying onward, a double spend from a cloned
# wallet caught and its author revoked, and an audit that the ledger conserves
# value.  Everything lives in a temporary folder; the server is stopped on exit.
set -euo pipefail

BUILD=${1:?usage: demo/story.sh BUILD_DIR}
OFFPAY=$(cd "$BUILD" && pwd)/src/wallet/offpay
OFFPAYD=$(cd "$BUILD" && pwd)/src/server/offpayd
for p in "$OFFPAY" "$OFFPAYD"; do
  [ -x "$p" ] || { echo "story.sh: $p is missing; build first" >&2; exit 1; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/offpay-story.XXXXXX")
LEDGER="sqlite:$DIR/ledger.db"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$DIR"' EXIT
trap 'echo "story.sh: a step failed (line $LINENO); server log:" >&2; tail -5 "$DIR/server.log" >&2' ERR
trap 'exit 130' INT TERM

if [ -t 1 ]; then B=$'\e[1m'; D=$'\e[2m'; N=$'\e[0m'; else B=""; D=""; N=""; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }
# Show a wallet command as a user would type it, then run it.
as() {
  local who=$1; shift
  printf '%s%s$ offpay %s%s\n' "$D" "$who" "$*" "$N"
  "$OFFPAY" --wallet "$DIR/$who" "$@"
}
# The same for a command that must be refused; shows its exit code.
as_refused() {
  local who=$1 want=$2; shift 2
  printf '%s%s$ offpay %s%s\n' "$D" "$who" "$*" "$N"
  local rc=0
  "$OFFPAY" --wallet "$DIR/$who" "$@" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "story.sh: expected exit $want, got $rc" >&2
    exit 1
  fi
  note "(refused with exit $rc, as it should be)"
}
coins() { "$OFFPAY" --wallet "$DIR/$1" balance --offline --json | jq -r '[.utxos[] | "\(.amount)\(if .state == "spendable" then "" else " (" + .state + ")" end)"] | join(", ")'; }

step "A transaction server on the embedded ledger"
"$OFFPAYD" init --ledger "$LEDGER"
PORT=""
for try in 0 1 2 3 4 5 6 7 8 9; do
  port=$((19990 + (try + $$) % 10))
  "$OFFPAYD" serve --ledger "$LEDGER" --listen "127.0.0.1:$port" >"$DIR/server.log" 2>&1 &
  SERVER_PID=$!
  # Wait for this server's own "listening on" line: probing the port could
  # reach some other program that already listens there.
  for _ in $(seq 1 200); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if grep -q '^listening on ' "$DIR/server.log"; then PORT=$port; break; fi
    sleep 0.05
  done
  [ -n "$PORT" ] && break
  stop_server
done
[ -n "$PORT" ] || { echo "story.sh: cannot start offpayd: $(cat "$DIR/server.log")" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
note "offpayd serves $URL"

step "Three people enrol a wallet each; alice has 20000 online"
for who in alice bob carol; do
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$who")
  as "$who" init --server "$URL" --account "$who" --token "$token"
done
"$OFFPAYD" account --ledger "$LEDGER" mint alice 20000

step "Before going underground, alice loads four coins (the example of [0072])"
as alice load 1000 2000 3000 4000
note "alice's coins: $(coins alice)"

step "Underground: no network.  The server is stopped."
stop_server
as alice balance

step "bob asks alice for 3500: a signed payment request, passed as a file"
as bob request 3500 --out "$DIR/request.txt"
note "$(cut -c1-72 "$DIR/request.txt")..."

step "alice pays offline: verifies bob's certificate, checks her limits, picks coins"
as alice pay "$DIR/request.txt" --out "$DIR/record.txt"
note "the 4000 is the smallest single coin that covers 3500; coins now: $(coins alice)"

step "bob verifies the record and confirms it (claim 5); he holds it pending"
as bob accept "$DIR/record.txt" --out "$DIR/confirmation.txt"
as bob balance

step "alice applies bob's confirmation: the 4000 is replaced by the change 500 (claim 1)"
as alice confirm "$DIR/confirmation.txt"
note "alice's coins: $(coins alice)   <- [0072]: 1000/2000/3000 and the change 500"

step "Claim 2: the change is locked until synced.  bob asks for 6500; only the locked 500 could cover it"
as bob request 6500 --out "$DIR/request2.txt"
as_refused alice 5 pay "$DIR/request2.txt" --out "$DIR/record2.txt"

step "Back above ground: the server is up again and bob syncs first"
before=$(grep -c '^listening on ' "$DIR/server.log")
"$OFFPAYD" serve --ledger "$LEDGER" --listen "127.0.0.1:$PORT" >>"$DIR/server.log" 2>&1 &
SERVER_PID=$!
up=""
for _ in $(seq 1 200); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  if [ "$(grep -c '^listening on ' "$DIR/server.log")" -gt "$before" ]; then up=1; break; fi
  sleep 0.05
done
[ -n "$up" ] || { echo "story.sh: offpayd did not come back on $URL: $(tail -3 "$DIR/server.log")" >&2; exit 1; }
as bob sync
note "bob's coins: $(coins bob)   <- the incoming coin exists only now, after sync ([0099])"

step "alice syncs: the same record settles once; her change becomes spendable"
as alice sync
note "alice's coins: $(coins alice)"

step "[0100]: bob, who was paid, now pays carol 1200 offline"
as carol request 1200 --out "$DIR/request3.txt"
as bob pay "$DIR/request3.txt" --out "$DIR/record3.txt"
as carol accept "$DIR/record3.txt" --out "$DIR/confirmation3.txt"
as bob confirm "$DIR/confirmation3.txt"
as carol sync
as bob sync
note "bob's coins: $(coins bob);  carol's coins: $(coins carol)"

step "A double spend: someone copies alice's wallet folder and spends the same 3000 coin twice"
cp -a "$DIR/alice" "$DIR/alice-copy"
as bob request 2500 --out "$DIR/request4.txt"
as alice pay "$DIR/request4.txt" --out "$DIR/record4.txt"
as bob accept "$DIR/record4.txt" --out "$DIR/confirmation4.txt"
as carol request 2500 --out "$DIR/request5.txt"
as alice-copy pay "$DIR/request5.txt" --out "$DIR/record5.txt"
as carol accept "$DIR/record5.txt" --out "$DIR/confirmation5.txt"
note "offline, neither bob nor carol can tell: each holds a valid-looking record"

step "Whoever syncs first settles; the second record is rejected as a double spend"
as bob sync
as carol sync
"$OFFPAYD" frauds --ledger "$LEDGER"

step "bob syncs again and learns the revocation list: alice is refused offline from now on"
as bob sync
as bob request 100 --out "$DIR/request6.txt"
as alice pay "$DIR/request6.txt" --out "$DIR/record6.txt"
as_refused bob 4 accept "$DIR/record6.txt" --out "$DIR/confirmation6.txt"

step "The ledger still conserves value: online balances + unspent coins = minted"
"$OFFPAYD" audit --ledger "$LEDGER"
note "The whole story ran with the real offpay and offpayd; see docs/wallet.md."
