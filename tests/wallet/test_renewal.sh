#!/usr/bin/env bash
# test_renewal.sh - certificate renewal (issue 13), through the commands.
# A certificate lives 365 days; a sync within its last 30 days renews it
# (new certificate, same key, a new year), stored by the wallet in the
# sync's transaction; `balance` says when it ends once that is within 30
# days (and --json always: certificate_expires, certificate_renew_due,
# certificate_expired); payees accept the old and the new certificate while
# each is valid, and refuse the old one after its end; a wallet whose
# certificate ended cannot request or pay (exit 4, saying to sync), and a
# sync renews it.  The clocks move with $OFFPAY_NOW (wallets) and
# $OFFPAYD_NOW (the server, tests only).  `offpayd audit` after each step.
. "$(dirname "$0")/lib.sh"

ledger 19550
enrol alice 100000
enrol bob 100000
enrol carol 100000

server_at() {
  stop_server
  export OFFPAYD_NOW=$1
  restart_server
  unset OFFPAYD_NOW
}
cert_end() { "$OFFPAY" --wallet "$T/$1" balance --offline --json | jq -r .certificate_expires; }
payer_end() { "$OFFPAY" --wallet "$T/bob" show "$1" --json | jq -r '.. | objects | select(has("valid_until")) | .valid_until' | head -1; }
DAY=86400

say "no time limit here (the payments span a year); a fresh certificate is far from its end"
"$OFFPAYD" limits --ledger "$LEDGER" --offline-time 0 >/dev/null || fail "limits --offline-time 0"
for w in alice bob carol; do run 0 "$w" sync; done
run 0 alice load 1000 2000 3000 4000
now=$(date +%s)
end0=$(cert_end alice)
ok "a year ahead" test "$end0" -ge $((now + 364 * DAY))
eq "not due" "$(j alice '[.certificate_renew_due, .certificate_expired]' balance --offline)" "[false,false]"
run 0 alice balance --offline
ok "balance says nothing of it yet" sh -c "! grep -q certificate: '$T/out'"
audit "the start"

say "340 days on: balance says when it ends and to sync; alice pays twice with her old certificate"
t1=$((now + 340 * DAY))
server_at "$t1"
eq "due" "$(OFFPAY_NOW=$t1 j alice '[.certificate_renew_due, .certificate_expired]' balance --offline)" "[true,false]"
OFFPAY_NOW=$t1 run 0 alice balance --offline
contains "the line" "$T/out" 'certificate: +ends at .* UTC; run `offpay sync` to renew it'
OFFPAY_NOW=$t1 run 0 bob sync # bob renews first: he must stay a valid payee
run 0 bob request 100 --out "$T/q1.txt"
run 0 bob request 150 --out "$T/q2.txt"
OFFPAY_NOW=$t1 run 0 alice pay "$T/q1.txt" --out "$T/old1.txt"
OFFPAY_NOW=$t1 run 0 alice pay "$T/q2.txt" --out "$T/old2.txt"
eq "the records carry the old certificate" "$(payer_end "$T/old1.txt")" "$end0"

say "alice syncs: the server renews her certificate (same key, until a year from then); the sync also settles her two payments (SPEC rule 8)"
OFFPAY_NOW=$t1 "$OFFPAY" --wallet "$T/alice" sync --json >"$T/sync.json" 2>"$T/err" || fail "sync: $(cat "$T/err")"
eq "sync --json says until when" "$(jq .certificate_renewed_until "$T/sync.json")" "$((t1 + 365 * DAY))"
eq "the wallet keeps it" "$(cert_end alice)" "$((t1 + 365 * DAY))"
eq "no longer due" "$(OFFPAY_NOW=$t1 j alice .certificate_renew_due balance --offline)" "false"
OFFPAY_NOW=$t1 run 0 alice sync
contains "a second sync renews nothing" "$T/out" "Synced:"
ok "and says nothing of it" sh -c "! grep -q 'renewed' '$T/out'"
eq "the same end" "$(cert_end alice)" "$((t1 + 365 * DAY))"
eq "history" "$(j alice '[.events[] | select(.kind == "renew")] | length' history)" "1"
audit "the renewal"

say "payees accept the old and the new certificate while each is valid"
run 0 bob request 200 --out "$T/q3.txt"
OFFPAY_NOW=$t1 run 0 alice pay "$T/q3.txt" --out "$T/new.txt"
eq "the new record carries the new certificate" "$(payer_end "$T/new.txt")" "$((t1 + 365 * DAY))"
OFFPAY_NOW=$t1 run 0 bob accept "$T/old1.txt" --out "$T/c1.txt"
OFFPAY_NOW=$t1 run 0 bob accept "$T/new.txt" --out "$T/c3.txt"
OFFPAY_NOW=$t1 run 0 alice confirm "$T/c3.txt"
OFFPAY_NOW=$t1 run 0 bob sync
OFFPAY_NOW=$t1 run 0 alice sync
eq "bob got 100, 150 and 200" "$(amounts bob)" "100 150 200"
audit "payments under both certificates"

say "after the old certificate's end: a record under it is refused (exit 4), one under the new one is fine"
t2=$((end0 + 3600))
server_at "$t2"
dump bob >"$T/bob.dump"
OFFPAY_NOW=$t2 run 4 bob accept "$T/old2.txt" --out "$T/c2.txt"
contains "expired" "$T/err" "certificate has expired"
unchanged "bob after the old certificate" bob "$T/bob.dump"
run 0 bob request 250 --out "$T/q4.txt"
OFFPAY_NOW=$t2 run 0 alice pay "$T/q4.txt" --out "$T/new2.txt"
OFFPAY_NOW=$t2 run 0 bob accept "$T/new2.txt" --out "$T/c4.txt"
OFFPAY_NOW=$t2 run 0 alice confirm "$T/c4.txt"
audit "the old certificate's end"

say "carol never synced: her certificate ended; she is told to sync, cannot request or pay (exit 4)"
eq "expired" "$(OFFPAY_NOW=$t2 j carol '[.certificate_renew_due, .certificate_expired]' balance --offline)" "[true,true]"
OFFPAY_NOW=$t2 run 0 carol balance --offline
contains "what to do" "$T/out" 'certificate: +ENDED at .*Run `offpay sync` to renew it; if the server refuses .* enrol a new device'
dump carol >"$T/carol.dump"
OFFPAY_NOW=$t2 run 4 carol request 100 --out "$T/q5.txt"
contains "the request refused" "$T/err" "certificate ended at .*run .offpay sync. to renew it"
run 0 bob request 300 --out "$T/q6.txt"
OFFPAY_NOW=$t2 run 4 carol pay "$T/q6.txt" --out "$T/r6.txt"
contains "the payment refused" "$T/err" "certificate ended at"
unchanged "carol after refusals" carol "$T/carol.dump"
OFFPAY_NOW=$t2 run 0 carol sync
contains "the sync renews it" "$T/out" "renewed this wallet's certificate: valid until"
eq "valid again" "$(OFFPAY_NOW=$t2 j carol '[.certificate_renew_due, .certificate_expired]' balance --offline)" "[false,false]"
OFFPAY_NOW=$t2 run 0 carol request 100 --out "$T/q5.txt"
OFFPAY_NOW=$t2 run 0 alice pay "$T/q5.txt" --out "$T/r5.txt"
OFFPAY_NOW=$t2 run 0 carol accept "$T/r5.txt" --out "$T/c5.txt"
OFFPAY_NOW=$t2 run 0 alice sync
OFFPAY_NOW=$t2 run 0 carol sync
eq "carol got 100" "$(amounts carol)" "100"
audit "the end"
finish
