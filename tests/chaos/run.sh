#!/usr/bin/env bash
# run.sh - the chaos run (issue 9): honest wallets and cloned wallets pay,
# load, unload, sync and pay online through a network that loses requests
# and answers (offpay-faultproxy), while wallets and offpayd are killed with
# kill -9 at random moments; after every step and at the end, the invariants
# of invariants.sh must hold.
#
#     tests/chaos/run.sh [--seed N] [--steps N] [--pg | --ledger URL]
#                        [--require-coverage] [--keep] [--verbose]
#
# --seed N replays a run (every run prints its seed first); --steps N sets
# its length (default 200); --pg runs it on a private PostgreSQL (through
# tests/server/pg_run), --ledger URL on a given postgresql:// ledger, else on
# SQLite.  --require-coverage fails the run unless every endpoint the wallet
# calls met every fault at least once.  The programs are $OFFPAY, $OFFPAYD,
# $FAULTPROXY and $PG_RUN, else those of ./build (or $OFFPAY_BUILD).
# The temporary folder is removed at the end unless --keep or a violation.
#
# A step is one of: an offline payment between two honest wallets (request,
# pay, accept, confirm; sometimes cut off: the record or the answer is lost,
# or the payee refuses); load; unload; sync; pay-online; an online balance;
# a new honest wallet; a new cloner (a wallet whose folder is copied; both
# copies then pay honest payees, often with the same coin); a cloner's sync;
# a kill -9 of offpayd.  Before an online step, a fault may be armed on one of
# the endpoints it calls (preferring pairs not met yet), and the step's
# wallet command or offpayd may be killed a few milliseconds in.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${OFFPAY_BUILD:-$ROOT/build}
OFFPAY=${OFFPAY:-$BUILD/src/wallet/offpay}
OFFPAYD=${OFFPAYD:-$BUILD/src/server/offpayd}
FAULTPROXY=${FAULTPROXY:-$BUILD/tests/common/offpay-faultproxy}
PG_RUN=${PG_RUN:-$BUILD/tests/server/pg_run}

SEED=""
STEPS=200
LEDGER=""
REQUIRE_COVERAGE=0
KEEP=0
VERBOSE=0
ARGS=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --seed) SEED=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --ledger) LEDGER=$2; shift 2 ;;
    --pg)
      rest=()
      for a in "${ARGS[@]}"; do [ "$a" != --pg ] && rest+=("$a"); done
      exec "$PG_RUN" chaos "$(command -v bash)" "$ROOT/tests/chaos/run.sh" --ledger @PGURL@ "${rest[@]}" ;;
    --require-coverage) REQUIRE_COVERAGE=1; shift ;;
    --keep) KEEP=1; shift ;;
    --verbose) VERBOSE=1; shift ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "chaos: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $STEPS in '' | *[!0-9]*) echo "chaos: --steps needs a number" >&2; exit 2 ;; esac
[ -z "$SEED" ] && SEED=$(( $(od -An -N4 -tu4 /dev/urandom) % 2147483647 ))
case $SEED in '' | *[!0-9]*) echo "chaos: --seed needs a number" >&2; exit 2 ;; esac
for p in "$OFFPAY" "$OFFPAYD" "$FAULTPROXY"; do
  [ -x "$p" ] || { echo "chaos: $p is missing (build first, or set OFFPAY, OFFPAYD, FAULTPROXY)" >&2; exit 2; }
done

# In the steps the client gives up after 1 s, and a delayed answer comes
# 0.3 s after that.  Setting up and the final sync have no faults: there a
# slow machine must not pass for a lost answer, so the client waits 60 s.
STEP_TIMEOUT=${OFFPAY_TIMEOUT:-1}
CALM_TIMEOUT=60
export OFFPAY_TIMEOUT=$CALM_TIMEOUT
DELAY_MS=$((STEP_TIMEOUT * 1000 + 300))
# A held request reaches the server 2 s after the client gave up: often
# after a later step asked the server about it (POST /v1/outcome).
REQUEST_DELAY_MS=$((STEP_TIMEOUT * 1000 + 2000))
FAULT_PCT=40        # steps that go online with a fault armed
WALLET_KILL_PCT=6   # steps whose wallet command is killed
SERVER_KILL_PCT=4   # online steps during which offpayd is killed
DIRECT_PCT=70       # steps chosen for an endpoint x fault pair not met yet
MAX_HONEST=8
MAX_CLONERS=3
INITIAL_HONEST=4

T=$(mktemp -d "${TMPDIR:-/tmp}/offpay-chaos.XXXXXX")
RULES="$T/rules"
PLOG="$T/proxy.log"
: >"$PLOG"
. "$ROOT/tests/chaos/lib.sh"
. "$ROOT/tests/chaos/invariants.sh"

cleanup() {
  [ -n "$BG_PID" ] && kill -9 "$BG_PID" 2>/dev/null && wait "$BG_PID" 2>/dev/null
  stop_psql
  stop_proxy
  stop_server
  if [ "$KEEP" = 1 ] || [ "$VIOLATIONS" -gt 0 ]; then
    echo "chaos: the run's folder is kept: $T" >&2
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$LEDGER" ]; then
  BACKEND=sqlite
  LEDGER="sqlite:$T/ledger.db"
  LEDGER_FILE="$T/ledger.db"
else
  BACKEND=pg
  export OFFPAYD_ISSUER_KEY="$T/issuer.key"
fi

# ---- the wallets ----

HONEST=()                 # honest wallet names (each has its own account)
CLONERS=()                # cloner names; the copy's folder is NAME-copy
declare -A IS_HONEST PUBKEY WALLET_ID HONEST_BY_ID
MINTED=0

ENDPOINTS=("POST /v1/enrol" "GET /v1/balance" "GET /v1/utxos" "POST /v1/load" "POST /v1/unload"
           "POST /v1/sync" "POST /v1/pay-online" "POST /v1/outcome")
FAULTS=(drop_request drop_answer reset_answer delay duplicate delay_request)
declare -A COVER FAULT_COUNT OP_COUNT
for f in "${FAULTS[@]}"; do FAULT_COUNT[$f]=0; done
PLOG_SEEN=0
KILLS_WALLET=0
KILLS_SERVER=0
CALLS=0
STEP=setup
CAUGHT=0
CAUGHT_EXPECTED=0
DIRECTED=""
CHECK_US=0
NAMES=0                   # wallets named so far (h1, h2, ..., m5, ...)

say() { [ "$VERBOSE" = 1 ] && printf '%s\n' "$*"; printf '%s\n' "$*" >>"$T/steps.log"; }

ms_sleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# ---- one wallet command ----
#
# No process substitution (<(...)) in this script: a long run forks past
# pid_max, and bash 5.2 can then take a command's reused pid for an old
# substitution's and wait for that command for ever.

# Set by the step: kill the wallet command number KILL_AT of this step after
# KILL_MS ms (WALLET_KILL=1), or offpayd during it (SERVER_KILL=1).
WALLET_KILL=0
SERVER_KILL=0
KILL_AT=1
KILL_MS=0
STEP_CALLS=0

# wrun ALLOWED WALLET ARGS...: run offpay on WALLET; its exit code (RC) must be
# one of ALLOWED (e.g. "0 7"), unless it was killed (RC 137).
wrun() {
  local allowed=$1 w=$2 killed=0; shift 2
  CALLS=$((CALLS + 1))
  STEP_CALLS=$((STEP_CALLS + 1))
  rm -f "$T/out" "$T/err"
  if [ "$STEP_CALLS" = "$KILL_AT" ] && { [ "$WALLET_KILL" = 1 ] || [ "$SERVER_KILL" = 1 ]; }; then
    "$OFFPAY" --wallet "$T/$w" "$@" >"$T/out" 2>"$T/err" &
    BG_PID=$!
    ms_sleep "$KILL_MS"
    if [ "$SERVER_KILL" = 1 ]; then
      kill_server
      KILLS_SERVER=$((KILLS_SERVER + 1))
      say "  offpayd killed ${KILL_MS} ms into: offpay $w $*"
    fi
    [ "$WALLET_KILL" = 1 ] && kill -9 "$BG_PID" 2>/dev/null
    wait "$BG_PID" 2>/dev/null
    RC=$?
    BG_PID=""
    if [ "$WALLET_KILL" = 1 ] && [ "$RC" = 137 ]; then
      killed=1
      KILLS_WALLET=$((KILLS_WALLET + 1))
    fi
  else
    "$OFFPAY" --wallet "$T/$w" "$@" >"$T/out" 2>"$T/err"
    RC=$?
  fi
  say "  offpay $w $* -> $RC$([ $killed = 1 ] && echo ' (killed)')"
  [ "$killed" = 1 ] && return 0
  case " $allowed " in
    *" $RC "*) ;;
    *) violation "offpay $w $* exited $RC (allowed: $allowed): $(tr '\n' ' ' <"$T/err" | head -c 400)" ;;
  esac
  # The server's refusal, not any mention (a sync reports "N revoked" wallets).
  if [ -n "${IS_HONEST[$w]:-}" ] && [ "$RC" = 8 ] && grep -q 'refused (revoked)' "$T/err"; then
    violation "the server refused honest wallet $w as revoked: $(head -c 300 "$T/err")"
  fi
  return 0
}

# enrol NAME MINT KIND: open account NAME, mint MINT online, init wallet NAME
# (through the proxy: the step's fault may hit it; a lost answer is retried
# with the same token, as the user would).  KIND is honest or cloner.
enrol() {
  local name=$1 mint=$2 kind=$3 token try ids
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$name") || { echo "chaos: account open $name failed" >&2; exit 1; }
  if [ "$mint" -gt 0 ]; then
    "$OFFPAYD" account --ledger "$LEDGER" mint "$name" "$mint" >/dev/null || { echo "chaos: mint failed" >&2; exit 1; }
    MINTED=$((MINTED + mint))
  fi
  for try in 1 2 3 4; do
    wrun "0 7" "$name" init --server "$PURL" --account "$name" --token "$token"
    [ -f "$T/$name/wallet.db" ] && [ "$RC" = 0 ] && break
    # Killed once the wallet was whole (wallet.db appears only whole, and
    # enrol.key goes last): it is made, and a re-run would rightly answer
    # that the folder holds a wallet (exit 2).
    [ "$RC" = 137 ] && [ -f "$T/$name/wallet.db" ] && [ ! -e "$T/$name/enrol.key" ] && break
    # The user tries again, on a network that works now.
    nofault
    [ -z "$SERVER_PID" ] && start_server
    export OFFPAY_TIMEOUT=$CALM_TIMEOUT
  done
  if [ ! -f "$T/$name/wallet.db" ]; then
    violation "offpay init $name never succeeded (4 tries with one token)"
    return 1
  fi
  ids=$(wq "$name" "SELECT lower(hex(wallet_id)) || ' ' || lower(hex(public_key)) FROM identity")
  WALLET_ID[$name]=${ids% *}
  PUBKEY[$name]=${ids#* }
  if [ "$kind" = honest ]; then
    HONEST+=("$name")
    IS_HONEST[$name]=1
    HONEST_BY_ID[${WALLET_ID[$name]}]=$name
  fi
  return 0
}

# ---- the faults ----

# plan_fault ENDPOINT...: maybe arm one fault on one of these endpoints
# (those the step's command calls), preferring a pair not met yet.
plan_fault() {
  local cands=() eps=("$@") e f pick
  if [ -n "$DIRECTED" ]; then
    for e in "$@"; do
      if [ "$e" = "${DIRECTED% *}" ]; then
        f=${DIRECTED##* }
        f=$(fault_arg "$f")
        fault $e "$f" 1
        say "  fault armed: $e $f (not met yet)"
        return 0
      fi
    done
  fi
  [ $((D_FAULT % 100)) -lt "$FAULT_PCT" ] || return 0
  [ $# -gt 0 ] || return 0
  for e in "$@"; do
    for f in "${FAULTS[@]}"; do
      [ -z "${COVER[$e $f]:-}" ] && cands+=("$e $f")
    done
  done
  if [ ${#cands[@]} -gt 0 ] && [ $((D_FPICK % 2)) = 0 ]; then
    pick=${cands[$((D_FKIND % ${#cands[@]}))]}
  else
    e=${eps[$(((D_FPICK >> 1) % $#))]}
    pick="$e ${FAULTS[$((D_FKIND % ${#FAULTS[@]}))]}"
  fi
  f=${pick##* }
  f=$(fault_arg "$f")
  fault ${pick% *} "$f" 1
  say "  fault armed: ${pick% *} $f"
}

# fault_arg FAULT: the rule's fault, with its hold time for the delays.
fault_arg() {
  case $1 in
    delay) echo "delay:$DELAY_MS" ;;
    delay_request) echo "delay_request:$REQUEST_DELAY_MS" ;;
    *) echo "$1" ;;
  esac
}

# read_proxy_log: count the faults the proxy applied since the last look.
read_proxy_log() {
  local m p f rest n=0
  tail -n +$((PLOG_SEEN + 1)) "$PLOG" >"$T/proxy.new"
  while read -r m p f rest; do
    n=$((n + 1))
    f=${f%%:*}
    [ "$f" = none ] && continue
    COVER["$m $p $f"]=$((${COVER["$m $p $f"]:-0} + 1))
    FAULT_COUNT[$f]=$((${FAULT_COUNT[$f]:-0} + 1))
  done <"$T/proxy.new"
  PLOG_SEEN=$((PLOG_SEEN + n))
}

# ---- the steps ----

# honest_pick N: the honest wallet number N (mod their count), in W.
honest_pick() { W=${HONEST[$(($1 % ${#HONEST[@]}))]}; }

# in_doubt_wallets: honest wallets with a call in doubt.
in_doubt_wallets() {
  local w
  for w in "${HONEST[@]}"; do
    [ "$(wq "$w" "SELECT count(*) FROM calls")" != 0 ] && printf '%s\n' "$w"
  done
}

# sync_endpoints WALLET: what a sync of WALLET calls.
sync_endpoints() {
  SYNC_EP=("POST /v1/sync" "GET /v1/utxos")
  [ "$(wq "$1" "SELECT count(*) FROM calls")" != 0 ] && SYNC_EP+=("POST /v1/outcome")
}

# handshake PAYER PAYEE AMOUNT CUT PAY_OK ACCEPT_OK: one offline payment.
# CUT: 0 the whole of it, 1 the record is lost, 2 the confirmation is lost,
# 3 the payee refuses, 4 the payee refuses and the refusal is lost.
handshake() {
  local a=$1 b=$2 amt=$3 cut=$4 pay_ok=$5 accept_ok=$6
  rm -f "$T/req" "$T/rec" "$T/ans"
  wrun "0" "$b" request "$amt" --out "$T/req"
  [ "$RC" = 0 ] || return 0
  wrun "$pay_ok" "$a" pay "$T/req" --out "$T/rec"
  [ "$RC" = 0 ] || return 0
  [ "$cut" = 1 ] && { say "  the record is lost"; return 0; }
  if [ "$cut" -ge 3 ]; then
    wrun "0" "$b" accept "$T/rec" --refuse --out "$T/ans"
  else
    wrun "$accept_ok" "$b" accept "$T/rec" --out "$T/ans"
  fi
  [ "$RC" = 0 ] || return 0
  { [ "$cut" = 2 ] || [ "$cut" = 4 ]; } && { say "  the answer is lost"; return 0; }
  wrun "0" "$a" confirm "$T/ans"
}

op_pay() {
  local a b n=${#HONEST[@]} cut
  honest_pick "$D_A"; a=$W
  honest_pick $((D_A + 1 + D_B % (n - 1))); b=$W
  cut=$((D_CUT % 10))
  case $cut in 6) cut=1 ;; 7) cut=2 ;; 8) cut=3 ;; 9) cut=4 ;; *) cut=0 ;; esac
  KILL_AT=$((D_KILL / 128 % 4 + 1))
  TOUCHED=("$a" "$b")
  handshake "$a" "$b" $((D_AMT % 3000 + 1)) "$cut" "0 5 6" "0"
}

op_load() {
  local a amounts=() i k=$((D_AMT % 3 + 1))
  honest_pick "$D_A"; a=$W
  for i in $(seq 1 $k); do amounts+=($((100 * (1 + (D_AMT >> (2 + 6 * i)) % 50)))); done
  TOUCHED=("$a")
  plan_fault "POST /v1/load"
  wrun "0 7 8" "$a" load "${amounts[@]}"
}

op_unload() {
  local a coins=()
  honest_pick "$D_A"; a=$W
  TOUCHED=("$a")
  wallet_coins "$a" spendable >"$T/coins"
  mapfile -t coins <"$T/coins"
  plan_fault "POST /v1/unload"
  if [ ${#coins[@]} = 0 ] || [ $((D_AMT % 8)) = 0 ]; then
    wrun "0 5 7" "$a" unload --all
  else
    local c=${coins[$((D_B % ${#coins[@]}))]}
    wrun "0 5 7" "$a" unload "${c%%|*}"
  fi
}

# sync_pick: the wallet a sync or pay-online step uses, in W: now and then
# one with a call in doubt, so that POST /v1/outcome meets its faults too.
sync_pick() {
  local doubt=()
  if [ $((D_B % 3)) = 0 ] || [ "${DIRECTED% *}" = "POST /v1/outcome" ]; then
    in_doubt_wallets >"$T/doubt"
    mapfile -t doubt <"$T/doubt"
  fi
  if [ ${#doubt[@]} -gt 0 ]; then
    W=${doubt[$((D_A % ${#doubt[@]}))]}
  else
    honest_pick "$D_A"
  fi
}

op_sync() {
  sync_pick
  TOUCHED=("$W")
  sync_endpoints "$W"
  plan_fault "${SYNC_EP[@]}"
  wrun "0 7" "$W" sync
}

op_pay_online() {
  local a b n=${#HONEST[@]}
  sync_pick; a=$W
  b=$a
  while [ "$b" = "$a" ]; do honest_pick $((D_B++)); b=$W; done
  TOUCHED=("$a")
  sync_endpoints "$a"
  plan_fault "${SYNC_EP[@]}" "POST /v1/pay-online"
  wrun "0 7 8" "$a" pay-online "$b" $((D_AMT % 2000 + 1))
}

op_balance() {
  honest_pick "$D_A"
  TOUCHED=("$W")
  plan_fault "GET /v1/balance"
  wrun "0 7" "$W" balance --json
}

op_enrol() {
  if [ ${#HONEST[@]} -ge $MAX_HONEST ] && { [ -z "$DIRECTED" ] || [ ${#HONEST[@]} -ge $((MAX_HONEST + 4)) ]; }; then
    op_sync
    return
  fi
  NAMES=$((NAMES + 1))
  local name="h$NAMES"
  plan_fault "POST /v1/enrol"
  enrol "$name" 100000 honest && TOUCHED=("$name")
}

# new_cloner: a wallet with coins whose folder is then copied.
new_cloner() {
  NAMES=$((NAMES + 1))
  local m="m$NAMES"
  enrol "$m" 20000 cloner || return 0
  wrun "0 7" "$m" load 1000 2000 3000 4000 5000
  cp -a "$T/$m" "$T/$m-copy"
  CLONERS+=("$m")
  LAST_CLONE=$STEP
  say "  $m's folder is copied to $m-copy"
}

op_clone() {
  if [ ${#CLONERS[@]} -ge $MAX_CLONERS ] || [ $((STEP - LAST_CLONE)) -lt 25 ]; then op_pay; return; fi
  plan_fault "POST /v1/enrol"
  new_cloner
}

# op_cloner_pay: one copy pays an honest payee; often the other copy pays
# another the same amount next, which picks the same coin: a double spend.
op_cloner_pay() {
  if [ ${#CLONERS[@]} = 0 ]; then op_pay; return; fi
  local m=${CLONERS[$((D_A % ${#CLONERS[@]}))]} first second p1 p2 amt=$((D_AMT % 2500 + 1))
  if [ $((D_CUT >> 8 & 1)) = 0 ]; then first=$m; second=$m-copy; else first=$m-copy; second=$m; fi
  honest_pick "$D_B"; p1=$W
  honest_pick $((D_B >> 8)); p2=$W
  TOUCHED=("$p1" "$p2")
  KILL_AT=$((D_KILL / 128 % 8 + 1))
  # Records of a cloner are never refused (check_final counts coins two
  # records spend as a double spend), but may be lost.
  handshake "$first" "$p1" "$amt" $(( (D_CUT % 4 == 0) ? 1 : 0 )) "0 5 6" "0 4"
  if [ $((D_CUT >> 4 & 15)) -lt 11 ]; then
    handshake "$second" "$p2" "$amt" $(( (D_CUT >> 2) % 4 == 0 ? 2 : 0 )) "0 5 6" "0 4"
  fi
}

op_cloner_sync() {
  if [ ${#CLONERS[@]} = 0 ]; then op_sync; return; fi
  local m=${CLONERS[$((D_A % ${#CLONERS[@]}))]}
  [ $((D_B % 2)) = 1 ] && m=$m-copy
  plan_fault "POST /v1/sync" "GET /v1/utxos"
  wrun "0 7 8" "$m" sync
}

op_kill_server() {
  kill_server
  KILLS_SERVER=$((KILLS_SERVER + 1))
  say "  offpayd killed between steps"
}

# The step's random numbers: always the same count, whatever the step does.
draw_step() {
  rng_next; D_OP=$RNG
  rng_next; D_A=$RNG
  rng_next; D_B=$RNG
  rng_next; D_AMT=$RNG
  rng_next; D_CUT=$RNG
  rng_next; D_FAULT=$RNG
  rng_next; D_FPICK=$RNG
  rng_next; D_FKIND=$RNG
  rng_next; D_KILL=$RNG
  rng_next; D_KMS=$RNG
}

# pick_op: the step's operation, by weight (percent).
pick_op() {
  local r=$((D_OP % 100))
  if   [ $r -lt 33 ]; then OP=pay
  elif [ $r -lt 43 ]; then OP=load
  elif [ $r -lt 52 ]; then OP=unload
  elif [ $r -lt 66 ]; then OP=sync
  elif [ $r -lt 74 ]; then OP=pay_online
  elif [ $r -lt 79 ]; then OP=balance
  elif [ $r -lt 82 ]; then OP=enrol
  elif [ $r -lt 84 ]; then OP=clone
  elif [ $r -lt 93 ]; then OP=cloner_pay
  elif [ $r -lt 97 ]; then OP=cloner_sync
  else OP=kill_server
  fi
}

# direct: now and then (DIRECT_PCT of the steps) a step is chosen for an
# endpoint x fault pair not met yet (DIRECTED), so that a short run meets
# them all.  POST /v1/outcome needs a wallet with a call in doubt; without
# one, a load whose answer is lost makes one.
direct() {
  local e f cands=()
  DIRECTED=""
  [ $((D_OP / 100 % 100)) -lt $DIRECT_PCT ] || return 0
  for e in "${ENDPOINTS[@]}"; do
    for f in "${FAULTS[@]}"; do
      [ -z "${COVER[$e $f]:-}" ] && cands+=("$e $f")
    done
  done
  [ ${#cands[@]} -gt 0 ] || return 0
  DIRECTED=${cands[$((D_FKIND % ${#cands[@]}))]}
  case ${DIRECTED% *} in
    "POST /v1/enrol") OP=enrol ;;
    "GET /v1/balance") OP=balance ;;
    "GET /v1/utxos" | "POST /v1/sync") OP=sync ;;
    "POST /v1/load") OP=load ;;
    "POST /v1/unload") OP=unload ;;
    "POST /v1/pay-online") OP=pay_online ;;
    "POST /v1/outcome")
      OP=sync
      [ -z "$(in_doubt_wallets)" ] && { OP=load; DIRECTED="POST /v1/load drop_answer"; } ;;
  esac
}

run_step() {
  local w
  export OFFPAY_TIMEOUT=$STEP_TIMEOUT
  draw_step
  pick_op
  direct
  OP_COUNT[$OP]=$((${OP_COUNT[$OP]:-0} + 1))
  TOUCHED=()
  STEP_CALLS=0
  KILL_AT=1
  KILL_MS=$((D_KMS % 120))
  WALLET_KILL=0
  SERVER_KILL=0
  [ $((D_KILL % 100)) -lt $WALLET_KILL_PCT ] && WALLET_KILL=1
  case $OP in
    pay | cloner_pay | kill_server) ;;
    *) [ $((D_KILL / 100 % 100)) -lt $SERVER_KILL_PCT ] && SERVER_KILL=1 ;;
  esac
  say "step $STEP: $OP$([ $WALLET_KILL = 1 ] && echo " (wallet kill at $KILL_MS ms)")$([ $SERVER_KILL = 1 ] && echo " (offpayd kill at $KILL_MS ms)")"
  "op_$OP"
  nofault
  [ -z "$SERVER_PID" ] && start_server
  read_proxy_log
  local t0=$EPOCHREALTIME
  if [ $((STEP % 10)) = 0 ]; then check_step "${HONEST[@]}"; else check_step "${TOUCHED[@]}"; fi
  CHECK_US=$((CHECK_US + ${EPOCHREALTIME/./} - ${t0/./}))
}

# final_sync: no more faults or kills; every wallet syncs until nothing moves.
final_sync() {
  local round w quiet
  export OFFPAY_TIMEOUT=$CALM_TIMEOUT
  nofault
  WALLET_KILL=0
  SERVER_KILL=0
  [ -z "$SERVER_PID" ] && start_server
  ms_sleep $((REQUEST_DELAY_MS + 200))   # requests and answers the proxy still holds
  for round in 1 2 3 4; do
    for w in "${HONEST[@]}"; do wrun "0" "$w" sync; done
    for w in "${CLONERS[@]}"; do
      wrun "0 8" "$w" sync
      wrun "0 8" "$w-copy" sync
    done
    [ "$round" -lt 2 ] && continue
    quiet=1
    for w in "${HONEST[@]}"; do
      [ "$(wq "$w" "SELECT (SELECT count(*) FROM calls) + (SELECT count(*) FROM utxos WHERE state <> 'spendable')
                    + (SELECT count(*) FROM records WHERE status = 'unsynced')")" = 0 ] || quiet=0
    done
    [ "$quiet" = 1 ] && break
  done
  read_proxy_log
}

# ---- the run ----

START=$(date +%s)
echo "chaos: seed=$SEED steps=$STEPS ledger=$BACKEND (replay: tests/chaos/run.sh --seed $SEED --steps $STEPS$([ $BACKEND = pg ] && echo ' --pg'))"
rng_seed "$SEED"
"$OFFPAYD" init --ledger "$LEDGER" >/dev/null || { echo "chaos: offpayd init failed" >&2; exit 1; }
[ "$BACKEND" = pg ] && start_psql
# Limits that the run's payments do not reach: this run is about faults.
"$OFFPAYD" limits --ledger "$LEDGER" --per-payment 1000000 --offline-total 1000000000 --count 1000000 \
  --period 86400 >/dev/null || { echo "chaos: offpayd limits failed" >&2; exit 1; }
start_server
start_proxy "$SERVER_PORT"
LAST_CLONE=0
for NAMES in $(seq 1 $INITIAL_HONEST); do
  enrol "h$NAMES" 100000 honest
  wrun "0" "h$NAMES" load 1000 2000 3000 5000
done
STEP=0
new_cloner

for STEP in $(seq 1 "$STEPS"); do
  run_step
  if [ "$VERBOSE" = 0 ] && [ $((STEP % 100)) = 0 ]; then
    echo "chaos: step $STEP, $VIOLATIONS violation(s), $(( $(date +%s) - START )) s"
  fi
done
STEP=final
final_sync
check_final

# ---- the report ----

covered=0
missing=()
for e in "${ENDPOINTS[@]}"; do
  for f in "${FAULTS[@]}"; do
    if [ -n "${COVER[$e $f]:-}" ]; then covered=$((covered + 1)); else missing+=("$e $f"); fi
  done
done
total=$((${#ENDPOINTS[@]} * ${#FAULTS[@]}))
faults=""
nf=0
for f in "${FAULTS[@]}"; do faults+=" $f=${FAULT_COUNT[$f]}"; nf=$((nf + FAULT_COUNT[$f])); done
ops=""
for o in pay load unload sync pay_online balance enrol clone cloner_pay cloner_sync kill_server; do ops+=" $o=${OP_COUNT[$o]:-0}"; done
echo "chaos: seed=$SEED steps=$STEPS ledger=$BACKEND duration=$(( $(date +%s) - START ))s wallet_commands=$CALLS"
echo "chaos: steps by kind:$ops"
echo "chaos: faults=$nf:$faults"
echo "chaos: time in the checks after each step: $((CHECK_US / 1000000)) s"
echo "chaos: kills: wallet=$KILLS_WALLET offpayd=$KILLS_SERVER"
echo "chaos: wallets: honest=${#HONEST[@]} cloners=${#CLONERS[@]} (double spent: $CAUGHT_EXPECTED, caught: $CAUGHT)"
echo "chaos: final: $FINAL_SUMS"
echo "chaos: coverage: $covered/$total endpoint x fault pairs"
for p in "${missing[@]}"; do echo "chaos:   not met: $p"; done
echo "chaos: violations=$VIOLATIONS"
rc=0
[ "$VIOLATIONS" = 0 ] || rc=1
if [ "$REQUIRE_COVERAGE" = 1 ] && [ "$covered" -lt "$total" ]; then
  echo "chaos: FAIL: $((total - covered)) endpoint x fault pair(s) not met; run more steps" >&2
  rc=1
fi
exit $rc
