# lib.sh - what the wallet's end-to-end tests share (sourced, bash).
#
# Each test runs the real programs: OFFPAY and OFFPAYD are given by ctest
# (CMake's $<TARGET_FILE:...>).  It gets a fresh temporary folder, a ledger on
# the embedded SQLite backend and its own offpayd on 127.0.0.1, on a port in
# the wallet tests' range (19000-19999) derived from the test's base port and
# its pid, retried when taken.  Everything is stopped and removed on exit,
# also on failure.
set -u

OFFPAY=${OFFPAY:?OFFPAY must name the offpay program}
OFFPAYD=${OFFPAYD:?OFFPAYD must name the offpayd program}
T=$(mktemp -d "${TMPDIR:-/tmp}/offpay-wallet-test.XXXXXX")
LEDGER="sqlite:$T/ledger.db"
# Under tests/server/pg_run (a *_pg test): its PostgreSQL ledger, whose
# issuer key needs a file of its own.
if [ -n "${OFFPAY_TEST_LEDGER_URL:-}" ]; then
  LEDGER=$OFFPAY_TEST_LEDGER_URL
  export OFFPAYD_ISSUER_KEY=$T/issuer.key
fi
SERVER_PID=""
# Extra options of every `offpayd serve` of the test (say, an issuer key in a token).
SERVE_ARGS=()
PORT=""
URL=""
FAILS=0
CHECKS=0

cleanup() {
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  stop_server
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$(dirname "${BASH_SOURCE[0]}")/../common/server.sh"

say() { printf '== %s\n' "$*"; }

fail() {
  FAILS=$((FAILS + 1))
  printf 'FAIL: %s\n' "$*" >&2
}

# ok COND_DESCRIPTION COMMAND...: passes when the command succeeds.
ok() {
  local what=$1; shift
  CHECKS=$((CHECKS + 1))
  if ! "$@"; then fail "$what"; fi
}

# eq WHAT GOT WANT
eq() {
  CHECKS=$((CHECKS + 1))
  if [ "$2" != "$3" ]; then fail "$1: got '$2', want '$3'"; fi
}

# contains WHAT FILE PATTERN (grep -E)
contains() {
  CHECKS=$((CHECKS + 1))
  if ! grep -Eq -- "$3" "$2"; then fail "$1: '$3' not in $(head -c 600 "$2")"; fi
}

# run RC WALLET ARGS...: run offpay on wallet folder WALLET ($T/WALLET),
# expect exit code RC; stdout in $T/out, stderr in $T/err.
run() {
  local want=$1 wallet=$2; shift 2
  CHECKS=$((CHECKS + 1))
  "$OFFPAY" --wallet "$T/$wallet" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" != "$want" ]; then
    fail "offpay $wallet $* exited $rc, want $want; stdout: $(head -c 400 "$T/out") stderr: $(head -c 400 "$T/err")"
  fi
  # An error is one sentence on stderr.
  if [ "$rc" != 0 ] && [ "$(wc -l <"$T/err")" -lt 1 ]; then fail "offpay $wallet $*: no error sentence"; fi
  return 0
}

# j WALLET FILTER ARGS...: jq FILTER over `offpay ARGS --json` of WALLET.
j() {
  local wallet=$1 filter=$2; shift 2
  "$OFFPAY" --wallet "$T/$wallet" "$@" --json 2>"$T/jerr" | jq -c "$filter"
}

# dump WALLET: every row of the wallet store, for before/after comparisons,
# except the time of the last completed sync (limits.last_sync, which the
# offline time limit counts from) and the server's sync stamp that comes
# with it (limits.sync_stamp): a sync that changes nothing else still moves
# them, as pay-online's sync before a refused payment does.
dump() {
  rm -f "$T/dump.db"
  sqlite3 "$T/$1/wallet.db" ".backup '$T/dump.db'" &&
    sqlite3 "$T/dump.db" "UPDATE limits SET last_sync = 0, sync_stamp = NULL" 2>/dev/null
  sqlite3 "$T/dump.db" .dump
}

# unchanged WHAT WALLET BEFORE_FILE
unchanged() {
  CHECKS=$((CHECKS + 1))
  dump "$2" >"$T/after.dump"
  if ! cmp -s "$3" "$T/after.dump"; then
    fail "$1: the wallet $2 changed: $(diff "$3" "$T/after.dump" | head -5)"
  fi
}

RPID=""
RPORT=""
# receive ARGS...: start bob's `offpay receive --listen 127.0.0.1:0 ... --json`; sets RPID, RPORT.
receive() {
  local i
  "$OFFPAY" --wallet "$T/bob" receive --listen 127.0.0.1:0 --json "$@" >"$T/recv.out" 2>"$T/recv.err" &
  RPID=$!
  for i in $(seq 1 200); do
    RPORT=$(jq -r 'select(.event == "listening") | .port' "$T/recv.out" 2>/dev/null | head -1)
    [ -n "$RPORT" ] && return 0
    kill -0 "$RPID" 2>/dev/null || break
    sleep 0.05
  done
  echo "offpay receive did not start: $(cat "$T/recv.err")" >&2
  exit 1
}
# receive_done WANT_RC: wait for it (bounded) and check its exit code.
receive_done() {
  local i rc
  for i in $(seq 1 400); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$RPID" 2>/dev/null && { fail "offpay receive did not end"; kill "$RPID"; }
  wait "$RPID"
  rc=$?
  eq "offpay receive exit code ($(head -c 300 "$T/recv.err"))" "$rc" "$1"
}

# start_server BASE_PORT: start offpayd; sets PORT, URL, SERVER_PID.
start_server() {
  local base=$1 try
  for try in 0 1 2 3 4 5 6 7; do
    PORT=$((base + ($$ * 7 + try * 13) % 97))
    URL="http://127.0.0.1:$PORT"
    "$OFFPAYD" serve --ledger "$LEDGER" --listen "127.0.0.1:$PORT" ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"} \
      >"$T/server.log" 2>&1 &
    SERVER_PID=$!
    if wait_listening "$T/server.log" "$SERVER_PID" 0; then return 0; fi
    stop_server
  done
  echo "cannot start offpayd: $(cat "$T/server.log")" >&2
  exit 1
}

# restart the server on the same port (after stop_server).
restart_server() {
  local before
  before=$(grep -c '^listening on ' "$T/server.log" 2>/dev/null)
  "$OFFPAYD" serve --ledger "$LEDGER" --listen "127.0.0.1:$PORT" ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"} \
    >>"$T/server.log" 2>&1 &
  SERVER_PID=$!
  if wait_listening "$T/server.log" "$SERVER_PID" "${before:-0}"; then return 0; fi
  echo "cannot restart offpayd on port $PORT: $(tail -3 "$T/server.log")" >&2
  exit 1
}

# ledger BASE_PORT: a fresh ledger and a running server.
# audit WHEN: offpayd audit must pass (a check; its output on failure).
audit() {
  CHECKS=$((CHECKS + 1))
  "$OFFPAYD" audit --ledger "$LEDGER" >"$T/audit.out" 2>&1 || fail "audit after $1: $(cat "$T/audit.out")"
}

# wid NAME: wallet NAME's id, 32 lowercase hex digits, from its store.
wid() { sqlite3 "$T/$1/wallet.db" "SELECT lower(hex(wallet_id)) FROM identity"; }

ledger() {
  "$OFFPAYD" init --ledger "$LEDGER" >/dev/null || { echo "offpayd init failed" >&2; exit 1; }
  start_server "$1"
}

# enrol NAME [MINT]: open an account (minting MINT online), init wallet $T/NAME.
enrol() {
  local name=$1 mint=${2:-0} token
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$name") || { echo "account open $name failed" >&2; exit 1; }
  if [ "$mint" != 0 ]; then
    "$OFFPAYD" account --ledger "$LEDGER" mint "$name" "$mint" >/dev/null || { echo "mint failed" >&2; exit 1; }
  fi
  "$OFFPAY" --wallet "$T/$name" init --server "$URL" --account "$name" --token "$token" >/dev/null ||
    { echo "offpay init $name failed" >&2; exit 1; }
}

# handshake PAYER PAYEE AMOUNT: request, pay, accept, confirm via files; all must succeed.
handshake() {
  local payer=$1 payee=$2 amount=$3
  run 0 "$payee" request "$amount" --out "$T/req.txt"
  run 0 "$payer" pay "$T/req.txt" --out "$T/rec.txt"
  run 0 "$payee" accept "$T/rec.txt" --out "$T/conf.txt"
  run 0 "$payer" confirm "$T/conf.txt"
}

# reads_without_key NAME WHAT: wallet NAME's commands that only read work
# with its key out of reach (WHAT: "the passphrase", "the token"): balance
# --offline and history exit 0, and balance --json, with nothing to ask on,
# exits 0 with the online balance unknown.
reads_without_key() {
  run 0 "$1" balance --offline
  run 0 "$1" history
  CHECKS=$((CHECKS + 1))
  "$OFFPAY" --wallet "$T/$1" balance --json >"$T/out" 2>"$T/err" </dev/null
  eq "balance without $2: exit 0" "$?" 0
  eq "the online balance is unknown without it" "$(jq .online "$T/out")" "null"
}

# round_trip VAR FILE PAYER PAYEE AMOUNT BACK: with $VAR naming FILE (the
# key's passphrase or PIN file, exported for these calls only), PAYER pays
# PAYEE AMOUNT, PAYEE syncs and pays BACK to PAYER, and both sync.
round_trip() {
  export "$1=$2"
  handshake "$3" "$4" "$5"
  run 0 "$4" sync
  handshake "$4" "$3" "$6"
  run 0 "$3" sync
  run 0 "$4" sync
  unset "$1"
}

# amounts WALLET STATE: the sorted amounts of the wallet's coins in that state ("" = all), space-separated.
amounts() {
  local f='.utxos[]'
  [ -n "${2:-}" ] && f=".utxos[] | select(.state == \"$2\")"
  "$OFFPAY" --wallet "$T/$1" balance --offline --json | jq -r "[$f | .amount] | sort | map(tostring) | join(\" \")"
}

# softhsm LABEL PIN [LABEL PIN]...: SoftHSM2 with its tokens in $T/tokens
# (SOFTHSM2_CONF, exported), one initialised token per LABEL (SO PIN 0000),
# and SOFTHSM_MODULE naming its PKCS#11 module ($OFFPAY_TEST_PKCS11_MODULE,
# else where Debian puts it; scripts/install-deps.sh installs softhsm2).
softhsm() {
  local m
  SOFTHSM_MODULE=${OFFPAY_TEST_PKCS11_MODULE:-}
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
    [ -z "$SOFTHSM_MODULE" ] && [ -e "$m" ] && SOFTHSM_MODULE=$m
  done
  if [ -z "$SOFTHSM_MODULE" ] || ! command -v softhsm2-util >/dev/null; then
    echo "SoftHSM2 is not installed (scripts/install-deps.sh installs softhsm2)" >&2
    exit 1
  fi
  # Under the sanitizers: SoftHSM2's own leak is suppressed (softhsm.supp),
  # which needs whole stacks to see that it is SoftHSM2's.
  export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/softhsm.supp"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
  mkdir -p "$T/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens" >"$T/softhsm2.conf"
  export SOFTHSM2_CONF="$T/softhsm2.conf"
  while [ $# -ge 2 ]; do
    softhsm2-util --init-token --free --label "$1" --so-pin 0000 --pin "$2" >/dev/null ||
      { echo "softhsm2-util cannot make token $1" >&2; exit 1; }
    shift 2
  done
}

# secret_file NAME TEXT: $T/NAME holding TEXT on one line, mode 0600.
secret_file() {
  (umask 077 && printf '%s\n' "$2" >"$T/$1")
}

finish() {
  if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS of $CHECKS checks failed" >&2
    exit 1
  fi
  echo "all $CHECKS checks passed"
  exit 0
}
