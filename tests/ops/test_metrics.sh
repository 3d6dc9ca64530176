#!/usr/bin/env bash
# test_metrics.sh - what offpayd tells its operator: the request log, GET
# /v1/health and GET /metrics.  The test runs the patent's scenario with a
# double spend (as test_fraud.sh) against a server logging to a file, then:
#  - `promtool check metrics` accepts the exposition, before and after;
#  - the counters match the work done: records settled once (a re-sync does
#    not count again), the double spend caught and its record rejected with
#    its reason, requests by endpoint and status equal to the log's lines;
#  - every log line has the documented keys, a sync's line its counts, and
#    no line holds a token, a full wallet id, a key or a signature;
#  - SIGHUP reopens the log file (rotation); --quiet logs nothing.
. "$(dirname "$0")/../wallet/lib.sh"

command -v promtool >/dev/null || { echo "promtool is missing (Debian package prometheus)" >&2; exit 1; }
LOG=$T/requests.log

# serve ARGS...: offpayd on a free port of 127.0.0.1; sets PORT, URL, SERVER_PID.
serve() {
  "$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 "$@" >"$T/server.log" 2>"$T/server.err" &
  SERVER_PID=$!
  local i
  for i in $(seq 1 200); do
    grep -q '^listening on ' "$T/server.log" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  PORT=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$T/server.log" | head -1)
  [ -n "$PORT" ] || { echo "offpayd did not start: $(cat "$T/server.err")" >&2; exit 1; }
  URL="http://127.0.0.1:$PORT"
}

# scrape FILE: GET /metrics into FILE; promtool must accept it.
scrape() {
  curl -s -D "$1.head" -o "$1" "$URL/metrics"
  contains "/metrics has Prometheus' content type" "$1.head" '^Content-Type: text/plain; version=0\.0\.4'
  promtool check metrics <"$1" >"$T/promtool" 2>&1
  local rc=$? # taken before the $(...) of the message, which sets $? again
  eq "promtool check metrics accepts $(basename "$1") ($(head -c 300 "$T/promtool"))" "$rc" 0
}
# value FILE SERIES: the sample of SERIES (name with its labels, as printed), or 0 when absent.
value() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }

"$OFFPAYD" init --ledger "$LEDGER" >/dev/null || { echo "offpayd init failed" >&2; exit 1; }
serve --log "$LOG"

say "health and an empty exposition"
code=$(curl -s -o "$T/health" -w '%{http_code}' "$URL/v1/health")
eq "health: 200 while the ledger answers" "$code" 200
eq "health says ok" "$(jq -r .status "$T/health")" "ok"
scrape "$T/m0"
eq "nothing settled yet" "$(value "$T/m0" offpayd_records_settled_total)" 0
version=$("$OFFPAYD" --version | cut -d' ' -f2)
eq "build_info names this version" "$(value "$T/m0" "offpayd_build_info{version=\"$version\",wire_format=\"1\"}")" 1
start=$(value "$T/m0" process_start_time_seconds)
ok "process_start_time_seconds is now-ish ($start)" test "$start" -gt $(( $(date +%s) - 600 )) -a "$start" -le "$(date +%s)"

say "the scenario: enrol, load, pay offline, a cloned wallet spends the same coin"
tokens=""
for who in alice bob carol; do
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$who")
  tokens="$tokens $token"
  [ "$who" = alice ] && "$OFFPAYD" account --ledger "$LEDGER" mint alice 100000 >/dev/null
  run 0 "$who" init --server "$URL" --account "$who" --token "$token"
done
run 0 alice load 4000 500
cp -a "$T/alice" "$T/alice-clone"
handshake alice bob 3000
handshake alice-clone carol 3000
run 0 bob sync --json
eq "bob's sync settled it" "$(jq .settled "$T/out")" 1
run 0 bob sync --json
run 0 carol sync --json
eq "carol's record: double spend" "$(jq -r '.rejected[0].reason' "$T/out")" "double_spend"
curl -s -o /dev/null "$URL/no/such%20thing"
curl -s -o /dev/null "$URL/v1/health"

scrape "$T/m1"
eq "one record settled (bob's second sync does not count it again)" \
  "$(value "$T/m1" offpayd_records_settled_total)" 1
eq "one record rejected as a double spend" \
  "$(value "$T/m1" 'offpayd_records_rejected_total{reason="double_spend"}')" 1
eq "one double spend caught" "$(value "$T/m1" offpayd_double_spends_caught_total)" 1
eq "three enrolments" "$(value "$T/m1" 'offpayd_http_requests_total{endpoint="/v1/enrol",method="POST",status="200"}')" 3
eq "one load" "$(value "$T/m1" 'offpayd_http_requests_total{endpoint="/v1/load",method="POST",status="200"}')" 1
eq "the probe: 404 under endpoint other" \
  "$(value "$T/m1" 'offpayd_http_requests_total{endpoint="other",method="GET",status="404"}')" 1
ok "payment signatures were verified" test "$(value "$T/m1" 'offpayd_signatures_verified_total{kind="payment"}')" -ge 2
ok "request signatures were verified" test "$(value "$T/m1" 'offpayd_signatures_verified_total{kind="request"}')" -ge 5
commits=$(value "$T/m1" offpayd_commit_seconds_count)
ok "commits were timed ($commits)" test "$commits" -ge 5
eq "every commit lies in the +Inf bucket" "$(value "$T/m1" 'offpayd_commit_seconds_bucket{le="+Inf"}')" "$commits"
eq "a commit carries one transaction" "$(value "$T/m1" 'offpayd_commit_group_size_bucket{le="1"}')" "$commits"
eq "no ledger errors" "$(value "$T/m1" 'offpayd_ledger_errors_total{kind="failed"}')" 0

say "the request log"
# Every request before the last scrape is in the log, and the metrics count the same.
awk '{ split($2, m, "="); split($3, p, "="); split($4, s, "="); n[m[2] " " p[2] " " s[2]]++ }
     END { for (k in n) print k, n[k] }' "$LOG" | sort >"$T/log.counts"
grep '^offpayd_http_requests_total{' "$T/m1" |
  sed -E 's/^offpayd_http_requests_total\{endpoint="([^"]*)",method="([^"]*)",status="([^"]*)"\} ([0-9]+)$/\2 \1 \3 \4/' |
  sed 's# other # /no/such%20thing #' | sort >"$T/metric.counts"
# The last scrape itself is logged but was not counted in its own output.
grep -v '^GET /metrics ' "$T/log.counts" >"$T/log.counts2"
grep -v '^GET /metrics ' "$T/metric.counts" >"$T/metric.counts2"
ok "the log's requests are the metrics' ($(diff "$T/log.counts2" "$T/metric.counts2" | head -5 | tr '\n' ' '))" \
  cmp -s "$T/log.counts2" "$T/metric.counts2"
bad=$(grep -Evc '^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z method=(GET|POST|other) path=[^ ]+ status=[0-9]+ us=[0-9]+ wallet=([0-9a-f]{8}|-)( records=[0-9]+ settled=[0-9]+ rejected=[0-9]+)?$' "$LOG")
eq "every line has the documented keys" "$bad" 0
contains "bob's first sync: one record, settled" "$LOG" 'path=/v1/sync status=200 us=[0-9]+ wallet=[0-9a-f]{8} records=1 settled=1 rejected=0$'
contains "carol's sync: one record, rejected" "$LOG" 'path=/v1/sync status=200 us=[0-9]+ wallet=[0-9a-f]{8} records=1 settled=0 rejected=1$'
contains "a path is escaped" "$LOG" 'path=/no/such%20thing status=404'
for token in $tokens; do
  if grep -q "$token" "$LOG"; then fail "the log holds an enrolment token"; fi
done
CHECKS=$((CHECKS + 1))
if grep -Eq '[0-9a-f]{32}' "$LOG"; then fail "the log holds a full id, key or signature: $(grep -Em1 '[0-9a-f]{32}' "$LOG")"; fi
contains "a wallet appears as its id's first 8 hex digits" "$LOG" "wallet=$(sqlite3 "$T/bob/wallet.db" 'SELECT lower(hex(wallet_id)) FROM identity' | cut -c1-8)"

say "SIGHUP reopens the log file"
mv "$LOG" "$LOG.1"
kill -HUP "$SERVER_PID"
for i in $(seq 1 100); do [ -e "$LOG" ] && break; sleep 0.05; done
ok "a new log file is made" test -e "$LOG"
curl -s -o /dev/null "$URL/v1/health"
for i in $(seq 1 100); do grep -q 'path=/v1/health' "$LOG" 2>/dev/null && break; sleep 0.05; done
contains "the next request goes to the new file" "$LOG" 'path=/v1/health status=200'
ok "the server lives on" kill -0 "$SERVER_PID"
before=$(wc -l <"$LOG.1")
curl -s -o /dev/null "$URL/v1/health"
eq "the old file gets nothing more" "$(wc -l <"$LOG.1")" "$before"
stop_server

say "--quiet logs nothing; --log and --quiet do not go together"
serve --quiet
curl -s -o /dev/null "$URL/v1/health"
curl -s -o /dev/null "$URL/v1/health"
stop_server
CHECKS=$((CHECKS + 1))
if grep -q 'time=' "$T/server.err"; then fail "--quiet still logged: $(cat "$T/server.err")"; fi
"$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 --quiet --log "$LOG" >/dev/null 2>"$T/err"
eq "--quiet with --log: exit 2" "$?" 2
serve
curl -s -o /dev/null "$URL/v1/health"
for i in $(seq 1 100); do grep -q 'path=/v1/health' "$T/server.err" && break; sleep 0.05; done
stop_server
contains "without --log the lines go to stderr" "$T/server.err" '^time=.* method=GET path=/v1/health status=200'
finish
