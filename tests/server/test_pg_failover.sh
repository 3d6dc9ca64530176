#!/usr/bin/env bash
# test_pg_failover.sh - a shard's PostgreSQL primary dies under load and its
# synchronous standby takes over (docs/scale.md "Failover").
#
# A ledger of two shards: shard 0 is a primary with a synchronous standby
# (PostgreSQL's streaming replication, synchronous_standby_names), named by
# one multi-host URL with target_session_attrs=read-write; shard 1 is a
# single cluster.  Wallets on both shards pay offline and sync in a loop
# while the test kills shard 0's primary (kill -9 of the postmaster and its
# children), waits 4 s, promotes the standby, lets every wallet sync again
# and then checks:
#   - shard 1 settled payments while shard 0 had no primary (by the end
#     times of its syncs);
#   - each shard-0 call in the outage got exit 0 or 7 (outcome_unknown, the
#     documented retryable answer), offpayd answered 503 and never 500;
#   - every coin a sync answered with, before the kill or after it, is on
#     the promoted primary (no settled record lost: RPO 0), the wallets'
#     coins are exactly the ledger's, and each payee received exactly what
#     its settled records paid (nothing settled twice);
#   - `offpayd audit` passes.
# Each cluster runs as user postgres when the test runs as root (PostgreSQL
# refuses root); every wait is bounded.
set -u
. "$(dirname "$0")/../wallet/lib.sh"

PGBIN=${OFFPAY_PG_BINDIR:-}
if [ -z "$PGBIN" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
if [ ! -x "$PGBIN/initdb" ]; then
  echo "PostgreSQL server binaries not found (scripts/install-deps.sh installs them)" >&2
  exit 1
fi

PG=$T/pg
mkdir -p "$PG"
chmod 755 "$T"
asp() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$PG"

# pg_stop_all: stop every cluster this test started (immediate mode).
pg_stop_all() {
  local d
  for d in p s q; do
    [ -f "$PG/$d/postmaster.pid" ] && asp "$PGBIN/pg_ctl" -D "$PG/$d" -m immediate -w -t 20 stop >/dev/null 2>&1
  done
}
LOAD0="" LOAD1=""
cleanup() {
  touch "$T/stop"
  [ -n "$LOAD0" ] && wait "$LOAD0"
  [ -n "$LOAD1" ] && wait "$LOAD1"
  stop_server
  pg_stop_all
  [ -n "${OFFPAY_TEST_KEEP:-}" ] && { echo "kept $T" >&2; return; }
  rm -rf "$T"
}

# start_cluster NAME PORT EXTRA_OPTIONS: pg_ctl start on a unix socket in $PG/NAME.
start_cluster() {
  local name=$1 port=$2 extra=$3
  asp mkdir -p "$PG/$name.sock"
  asp "$PGBIN/pg_ctl" -D "$PG/$name" -l "$PG/$name.log" -w -t 60 \
    -o "-c listen_addresses= -c unix_socket_directories=$PG/$name.sock -c port=$port -c fsync=off \
        -c full_page_writes=off -c shared_buffers=16MB -c max_connections=60 \
        -c dynamic_shared_memory_type=mmap $extra" start >/dev/null ||
    { echo "cannot start cluster $name: $(tail -5 "$PG/$name.log")" >&2; exit 1; }
}

initdb_cluster() {
  asp "$PGBIN/initdb" -D "$PG/$1" -U offpay -A trust -E UTF8 --locale=C --no-sync >/dev/null ||
    { echo "initdb $1 failed" >&2; exit 1; }
}

psql_on() { # psql_on SOCKETDIR PORT SQL: one value per line, unaligned
  asp "$PGBIN/psql" -X -q -A -t -h "$1" -p "$2" -U offpay -d postgres -c "$3"
}

enc() { printf '%s' "$1" | sed 's|/|%2F|g'; }

say "clusters: shard 0 = primary + synchronous standby, shard 1 = one server"
initdb_cluster p
start_cluster p 5432 "-c wal_level=replica -c max_wal_senders=4 -c synchronous_commit=on \
  -c synchronous_standby_names=s1"
asp "$PGBIN/pg_basebackup" -D "$PG/s" -h "$PG/p.sock" -p 5432 -U offpay -X stream -R >/dev/null ||
  { echo "pg_basebackup failed" >&2; exit 1; }
# -R wrote standby.signal and a primary_conninfo; name the standby so that the
# primary's synchronous_standby_names waits for it.
echo "primary_conninfo = 'host=$PG/p.sock port=5432 user=offpay application_name=s1'" |
  asp tee -a "$PG/s/postgresql.auto.conf" >/dev/null
start_cluster s 5433 ""
initdb_cluster q
start_cluster q 5434 ""

sync_ok=""
for i in $(seq 1 100); do
  sync_ok=$(psql_on "$PG/p.sock" 5432 "SELECT sync_state FROM pg_stat_replication WHERE application_name = 's1'")
  [ "$sync_ok" = sync ] && break
  sleep 0.1
done
eq "the standby is synchronous" "$sync_ok" sync

SHARD0="postgresql://offpay@/postgres?host=$(enc "$PG/p.sock"),$(enc "$PG/s.sock")&port=5432,5433&target_session_attrs=read-write&connect_timeout=2"
SHARD1="postgresql://offpay@/postgres?host=$(enc "$PG/q.sock")&port=5434"
printf 'shard 0 %s\nshard 1 %s\n' "$SHARD0" "$SHARD1" >"$T/shards"
LEDGER="shards:$T/shards"
export OFFPAYD_ISSUER_KEY=$T/issuer.key
ledger 19600

# Accounts fall on shards by the hash of their name: open a few and keep two
# of each shard.
on0=() on1=()
for n in acct1 acct2 acct3 acct4 acct5 acct6 acct7 acct8 acct9 acct10; do
  "$OFFPAYD" account --ledger "$LEDGER" open "$n" >"$T/token.$n" || { echo "account open $n failed" >&2; exit 1; }
  if [ "$(psql_on "$PG/p.sock" 5432 "SELECT count(*) FROM accounts WHERE name = '$n'")" = 1 ]; then
    on0+=("$n")
  else
    on1+=("$n")
  fi
done
if [ "${#on0[@]}" -lt 2 ] || [ "${#on1[@]}" -lt 2 ]; then
  echo "the test accounts did not fall on both shards: ${on0[*]} / ${on1[*]}" >&2
  exit 1
fi
P0=${on0[0]} Q0=${on0[1]} P1=${on1[0]} Q1=${on1[1]}
for n in "$P0" "$Q0" "$P1" "$Q1"; do
  "$OFFPAYD" account --ledger "$LEDGER" mint "$n" 100000 >/dev/null || { echo "mint $n failed" >&2; exit 1; }
  "$OFFPAY" --wallet "$T/$n" init --server "$URL" --account "$n" --token "$(cat "$T/token.$n")" >/dev/null ||
    { echo "offpay init $n failed" >&2; exit 1; }
done
run 0 "$P0" load $(printf '100 %.0s' $(seq 1 60))
run 0 "$P1" load $(printf '100 %.0s' $(seq 1 60))

# pay_loop PAYER PAYEE TAG: offline payments of 100 and syncs by both sides,
# until the file $T/stop appears.  Each sync's JSON answer is kept as
# $T/TAG.WHO.K and logged in $T/TAG.log as "END_TIME EXIT WHO K" (the exit
# code is taken before anything else runs: $(date) would reset $?).  At
# most 40 payments: the count limit is 50 a day, and the lock test below
# pays once more (a fast machine made 50 before the outage ended).
pay_loop() {
  local payer=$1 payee=$2 tag=$3 k=0 rc
  while [ ! -e "$T/stop" ] && [ "$k" -lt 400 ]; do
    k=$((k + 1))
    [ "$k" -gt 40 ] ||
      { "$OFFPAY" --wallet "$T/$payee" request 100 --out "$T/$tag.req" >/dev/null 2>&1 &&
        "$OFFPAY" --wallet "$T/$payer" pay "$T/$tag.req" --out "$T/$tag.rec" >/dev/null 2>&1 &&
        "$OFFPAY" --wallet "$T/$payee" accept "$T/$tag.rec" --out "$T/$tag.conf" >/dev/null 2>&1 &&
        "$OFFPAY" --wallet "$T/$payer" confirm "$T/$tag.conf" >/dev/null 2>&1; }
    "$OFFPAY" --wallet "$T/$payee" sync --json >"$T/$tag.payee.$k" 2>/dev/null
    rc=$?
    echo "$(date +%s.%N) $rc payee $k" >>"$T/$tag.log"
    "$OFFPAY" --wallet "$T/$payer" sync --json >"$T/$tag.payer.$k" 2>/dev/null
    rc=$?
    echo "$(date +%s.%N) $rc payer $k" >>"$T/$tag.log"
  done
}

say "load on both shards, then kill -9 of shard 0's primary"
pay_loop "$P0" "$Q0" s0 &
LOAD0=$!
pay_loop "$P1" "$Q1" s1 &
LOAD1=$!
# Let both shards settle a few payments first (bounded: 30 s).
for i in $(seq 1 300); do
  [ "$(awk '$2 == 0 && $3 == "payee"' "$T/s0.log" "$T/s1.log" 2>/dev/null | wc -l)" -ge 12 ] && break
  sleep 0.1
done
# The machine dies: the postmaster and every backend and WAL sender at once.
PRIMARY_PID=$(head -1 "$PG/p/postmaster.pid")
kill -9 "$PRIMARY_PID" $(pgrep -P "$PRIMARY_PID")
KILLED_AT=$(date +%s.%N)
sleep 4
PROMOTED_AT=$(date +%s.%N)
say "promote the standby"
asp "$PGBIN/pg_ctl" -D "$PG/s" -w -t 60 promote >/dev/null || fail "pg_ctl promote failed"
sleep 3
touch "$T/stop"
wait "$LOAD0" "$LOAD1"

# in_window LOG FROM TO: the "TIME EXIT WHO K" lines of LOG that ended
# between FROM and TO.
in_window() { awk -v a="$2" -v b="$3" '$1 > a && $1 < b' "$1"; }

# Shard 1 went on settling while shard 0 had no primary: a payee sync of
# shard 1 that ended between the kill and the promotion settled a record.
s1_settled=0
while read -r _ rc who k; do
  [ "$rc" = 0 ] && [ "$who" = payee ] || continue
  s1_settled=$((s1_settled + $(jq '.settled' "$T/s1.payee.$k")))
done < <(in_window "$T/s1.log" "$KILLED_AT" "$PROMOTED_AT")
CHECKS=$((CHECKS + 1))
[ "$s1_settled" -ge 1 ] || fail "shard 1 settled nothing during shard 0's outage: $(tail -5 "$T/s1.log")"

# A shard-0 call during the outage either waited and succeeded (exit 0:
# its coins are checked below with every other answer) or got the
# documented retryable answer (exit 7, an outcome_unknown error: the
# wallet keeps its records pending and its next sync settles them); never
# another exit code.  offpayd does not hold a request while no server of
# the shard is writable: each request tries the URL's hosts once
# (connect_timeout), so the calls made in the outage are answered 503.
# The first second after the kill may still see answers of the old
# primary in flight, so the refusals are counted after it.
in_window "$T/s0.log" "$KILLED_AT" "$PROMOTED_AT" >"$T/s0.outage"
eq "shard 0's callers during the outage got exit 0 or 7 only" \
  "$(awk '$2 != 0 && $2 != 7' "$T/s0.outage" | wc -l)" 0
down0=0
while read -r _ rc who k; do
  [ "$rc" = 7 ] || continue
  down0=$((down0 + 1))
  eq "a refused shard-0 call ($who $k) says outcome_unknown, exit 7" \
    "$(jq -c '[.error.code, .error.exit]' "$T/s0.$who.$k")" '["outcome_unknown",7]'
done <"$T/s0.outage"
# The wallet calls every 5xx "outcome unknown"; offpayd's log says which:
# 503 (storage_failed / outcome_unknown / shard_unavailable, retryable),
# never 500 (internal).
CHECKS=$((CHECKS + 1))
grep -q 'status=503' "$T/server.log" || fail "offpayd answered no 503 during the outage"
eq "offpayd answered no status but 200 and 503" \
  "$(grep -o 'status=[0-9]*' "$T/server.log" | sort -u | grep -v -x -e status=200 -e status=503 | tr '\n' ' ')" ""
# ... and says why: the dead primary refused, the standby was reached but
# refused by target_session_attrs=read-write (libpq's words).
contains "offpayd names the read-only standby it would not use" "$T/server.log" \
  'Cannot reconnect to PostgreSQL: .*s\.sock.*session is read-only'
CHECKS=$((CHECKS + 1))
[ "$(awk -v a="$KILLED_AT" '$1 > a + 1 && $2 == 7' "$T/s0.outage" | wc -l)" -ge 1 ] ||
  fail "no shard-0 call was refused during the 4 s outage: $(cat "$T/s0.outage")"

say "after the promotion every wallet settles what it holds"
for n in "$Q0" "$P0" "$Q1" "$P1" "$Q0" "$P0"; do
  run 0 "$n" sync
done

# The sessions offpayd reopened on the promoted primary are set up as at
# open: a lock wait ends after lock_timeout (5 s) and the request runs
# again, rather than hanging as long as the lock is held.  A psql session
# holds the accounts table for 8 s while a payment settles.
handshake "$P0" "$Q0" 100
asp "$PGBIN/psql" -X -q -h "$PG/s.sock" -p 5433 -U offpay -d postgres \
  -c "BEGIN; LOCK TABLE accounts IN EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT" >/dev/null 2>&1 &
LOCKER=$!
sleep 1
run 0 "$Q0" sync
wait "$LOCKER"
run 0 "$P0" sync
contains "a lock wait on the promoted primary ended by lock_timeout" "$PG/s.log" \
  'canceling statement due to lock timeout'

for n in "$P0" "$Q0" "$P1" "$Q1"; do
  eq "$n has nothing pending" "$(j "$n" '.pending.outgoing + .pending.incoming' balance)" 0
done

# Every coin a wallet holds is an unspent coin of the ledger on its shard
# (answers given before the kill survived it), and each payee received
# exactly what its records paid: nothing lost, nothing twice.
coins_on() { # coins_on SOCKETDIR PORT ACCOUNT
  psql_on "$1" "$2" "SELECT encode(u.id, 'hex') FROM utxos u JOIN accounts a ON a.id = u.account_id
                     WHERE a.name = '$3' AND u.spent = 0 ORDER BY 1"
}
wallet_coins() { j "$1" '.utxos[].id' balance | tr -d '"' | sort; }
for n in "$P0" "$Q0"; do
  eq "$n's coins are the ledger's (shard 0, promoted)" "$(wallet_coins "$n" | tr '\n' ' ')" \
    "$(coins_on "$PG/s.sock" 5433 "$n" | tr '\n' ' ')"
done
for n in "$P1" "$Q1"; do
  eq "$n's coins are the ledger's (shard 1)" "$(wallet_coins "$n" | tr '\n' ' ')" \
    "$(coins_on "$PG/q.sock" 5434 "$n" | tr '\n' ' ')"
done
# Every coin a shard-0 sync answered with (exit 0) is on the promoted
# primary, spent or not: the answers given before the kill included, so no
# settled record was lost with the old primary (synchronous replication:
# a commit is answered only once the standby has it).
answered_coins() { # answered_coins LOG FROM TO: coin ids of exit-0 answers ending in (FROM, TO)
  local rc who k
  while read -r _ rc who k; do
    [ "$rc" = 0 ] && jq -r '.new_utxos[].id' "$T/s0.$who.$k"
  done < <(in_window "$1" "$2" "$3") | sort -u
}
answered_coins "$T/s0.log" 0 "$KILLED_AT" >"$T/before.ids"
answered_coins "$T/s0.log" 0 9999999999 >"$T/all.ids"
psql_on "$PG/s.sock" 5433 "SELECT encode(id, 'hex') FROM utxos ORDER BY 1" | sort -u >"$T/promoted.ids"
CHECKS=$((CHECKS + 1))
[ "$(wc -l <"$T/before.ids")" -ge 5 ] || fail "too few coins answered before the kill: $(wc -l <"$T/before.ids")"
eq "every coin answered before the kill is on the promoted primary" \
  "$(comm -23 "$T/before.ids" "$T/promoted.ids" | wc -l)" 0
eq "every coin answered at all is on the promoted primary" \
  "$(comm -23 "$T/all.ids" "$T/promoted.ids" | head -3 | tr '\n' ' ')" ""
paid0=$(psql_on "$PG/s.sock" 5433 "SELECT count(*) * 100 FROM records WHERE state = 1")
recv0=$(psql_on "$PG/s.sock" 5433 "SELECT received FROM accounts WHERE name = '$Q0'")
eq "$Q0 received exactly its settled records" "$recv0" "$paid0"
CHECKS=$((CHECKS + 1))
[ "$paid0" -ge 200 ] || fail "too few shard-0 payments settled to mean anything: $paid0"
spent0=$(( $(j "$P0" '.offline.spendable' balance) ))
eq "$P0's coins + what it paid = what it loaded" "$((spent0 + paid0))" 6000

CHECKS=$((CHECKS + 1))
"$OFFPAYD" audit --ledger "$LEDGER" >"$T/audit.out" 2>&1 || fail "audit after failover: $(cat "$T/audit.out")"

printf '%d checks, %d failures\n' "$CHECKS" "$FAILS"
[ "$FAILS" = 0 ]
