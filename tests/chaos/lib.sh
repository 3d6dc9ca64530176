# lib.sh - what the chaos run (run.sh) is made of: its random numbers, the
# processes it starts and kills, and how it asks the ledger and the wallets
# what they hold (sourced, bash).
#
# Every random choice comes from one 32-bit xorshift generator seeded by
# --seed, written out here rather than bash's $RANDOM so that a seed means
# the same run on every bash.  Each step draws the same number of values
# whatever happens (see draw_step in run.sh), so what one step finds (a kill
# that landed a few milliseconds early, a coin that is not there) changes
# only that step's meaning of its numbers, never the numbers of the steps
# after it.

# ---- random numbers ----

RNG=1

rng_seed() {
  local i
  RNG=$((($1 ^ 0x9E3779B9) & 0xFFFFFFFF))
  [ "$RNG" -eq 0 ] && RNG=1
  for i in 1 2 3 4 5 6 7 8; do rng_next; done
}

# rng_next: the next 32-bit value, in RNG.
rng_next() {
  local x=$RNG
  x=$((x ^ ((x << 13) & 0xFFFFFFFF)))
  x=$((x ^ (x >> 17)))
  x=$((x ^ ((x << 5) & 0xFFFFFFFF)))
  RNG=$x
}

# ---- processes ----

SERVER_PID=""
SERVER_PORT=0
BG_PID=""

# start_server: offpayd on 127.0.0.1, the first time on a port the kernel
# picks, after a kill on that same port (the proxy forwards there).
start_server() {
  local before i
  : >>"$T/server.log"
  before=$(grep -c '^listening on ' "$T/server.log")
  for i in 1 2 3 4 5 6 7 8 9 10; do
    "$OFFPAYD" serve --ledger "$LEDGER" --listen "127.0.0.1:$SERVER_PORT" >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    if wait_listening "$T/server.log" "$SERVER_PID" "${before:-0}"; then
      SERVER_PORT=$(grep '^listening on ' "$T/server.log" | tail -1 | sed 's/.*://')
      return 0
    fi
    # The port may still be held by the killed server's last connections.
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
    sleep 0.2
  done
  echo "chaos: cannot start offpayd: $(tail -3 "$T/server.log")" >&2
  exit 1
}

# kill_server: kill -9, as a power cut would.
kill_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
}

. "$(dirname "${BASH_SOURCE[0]}")/../common/server.sh" # wait_listening, stop_server

# The proxy in front of the server: start_proxy "$SERVER_PORT" (sets PURL),
# stop_proxy, and `fault METHOD PATH FAULT 1` to arm one fault for the next
# request that matches, nofault to disarm (the rules file is replaced by a
# rename: the proxy sees the new one by its content and stat).
. "$(dirname "${BASH_SOURCE[0]}")/../common/proxy.sh"

# ---- asking the ledger and the wallets ----

# lq SQL: one query on the ledger, rows on stdout, columns split by '|'.
# PostgreSQL is asked through one psql that lives as long as the run (a
# psql per query costs a connection each time); each query's rows end at a
# line the query cannot print.
lq() {
  local line
  case $BACKEND in
    sqlite) sqlite3 -batch -noheader -cmd '.timeout 10000' "$LEDGER_FILE" "$1" ;;
    pg)
      printf '%s;\n\\echo --chaos-end--\n' "$1" >&"$PSQL_TO"
      while IFS= read -r -t 60 line <&"$PSQL_FROM"; do
        [ "$line" = --chaos-end-- ] && return 0
        printf '%s\n' "$line"
      done
      echo "chaos: psql did not answer" >&2
      exit 1 ;;
  esac
}

# start_psql: the psql lq asks (from the run's own shell).  Its pipes are
# copied to plain descriptors, which subshells (pipelines) inherit, unlike
# a coprocess's own.
start_psql() {
  coproc PSQL { exec psql "$LEDGER" -XAtq 2>&1; }
  exec {PSQL_TO}>&"${PSQL[1]}" {PSQL_FROM}<&"${PSQL[0]}"
}

stop_psql() {
  if [ -n "${PSQL_PID:-}" ]; then
    exec {PSQL_TO}>&- {PSQL_FROM}<&-
    kill "$PSQL_PID" 2>/dev/null
    wait "$PSQL_PID" 2>/dev/null
    PSQL_PID=""
  fi
}

# hexsql EXPR: EXPR (a blob) as lowercase hex, in the ledger's SQL.
hexsql() {
  case $BACKEND in
    sqlite) printf 'lower(hex(%s))' "$1" ;;
    pg) printf "encode(%s, 'hex')" "$1" ;;
  esac
}

# blobsql HEX: a blob literal.
blobsql() {
  case $BACKEND in
    sqlite) printf "x'%s'" "$1" ;;
    pg) printf "decode('%s', 'hex')" "$1" ;;
  esac
}

# wq WALLET SQL: one query on a wallet's store (read only: no offpay runs meanwhile).
wq() {
  sqlite3 -batch -noheader -cmd '.timeout 10000' "$T/$1/wallet.db" "$2"
}
