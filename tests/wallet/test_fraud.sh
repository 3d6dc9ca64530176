#!/usr/bin/env bash
# test_fraud.sh - SPEC rule 7: a cloned wallet spends the same coin twice
# offline; the second record is rejected at sync as a double spend, the payer
# is revoked, wallets learn the revocation list at sync and refuse the
# revoked payer offline afterwards; the ledger still conserves value.
. "$(dirname "$0")/lib.sh"

ledger 19400
enrol alice 100000
enrol bob
enrol carol
run 0 alice load 4000 500
say "alice's wallet folder is copied: the clone holds the same coin"
cp -a "$T/alice" "$T/alice-clone"

say "alice pays bob 3000; the clone pays carol 3000 with the same coin, all offline"
stop_server
handshake alice bob 3000
handshake alice-clone carol 3000
eq "carol believes she was paid" "$(j carol .incoming_unsynced balance)" "3000"
restart_server

say "bob syncs first: his payment settles"
run 0 bob sync --json
eq "bob settled" "$(jq .settled "$T/out")" "1"
say "carol syncs: the clone's record is rejected as a double spend"
run 0 carol sync --json
eq "rejected reason" "$(jq -r '.rejected[0].reason' "$T/out")" "double_spend"
eq "carol settled nothing" "$(jq .settled "$T/out")" "0"
eq "carol has no coin from it" "$(amounts carol)" ""
eq "carol: nothing incoming any more" "$(j carol .incoming_unsynced balance)" "0"
run 0 carol history --json
contains "carol's history says rejected" "$T/out" '"kind":"rejected"'
say "the server keeps the evidence and names the fraudulent wallet"
"$OFFPAYD" frauds --ledger "$LEDGER" --json >"$T/frauds.json" 2>&1
contains "frauds lists alice" "$T/frauds.json" "alice"
ok "audit: no account lost value" "$OFFPAYD" audit --ledger "$LEDGER"

say "bob syncs again and learns the revocation list"
run 0 bob sync --json
eq "one revoked wallet" "$(jq .revoked_wallets "$T/out")" "1"
say "the revoked alice tries to pay bob offline: bob refuses (exit 4) and nothing changes"
run 0 bob request 100 --out "$T/req.txt"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
dump bob >"$T/before.dump"
run 4 bob accept "$T/rec.txt" --out "$T/conf.txt"
contains "says revoked" "$T/err" "revoked"
unchanged "record from a revoked payer" bob "$T/before.dump"
say "and bob will not pay the revoked alice either (exit 4, nothing changes)"
run 0 alice request 50 --out "$T/req_alice.txt"
dump bob >"$T/before.dump"
run 4 bob pay "$T/req_alice.txt" --out "$T/rec_bob.txt"
contains "says revoked" "$T/err" "revoked"
unchanged "paying a revoked payee" bob "$T/before.dump"
say "the clone's own sync reports its record rejected (or the server refuses the revoked wallet)"
CHECKS=$((CHECKS + 1))
"$OFFPAY" --wallet "$T/alice-clone" sync --json >"$T/out" 2>"$T/err"
rc=$?
case $rc in
  0) eq "clone's record rejected" "$(jq -r '.rejected[0].reason' "$T/out")" "double_spend" ;;
  8) contains "server names the revocation" "$T/err" "revoked" ;;
  *) fail "clone sync exited $rc" ;;
esac
ok "audit at the end" "$OFFPAYD" audit --ledger "$LEDGER"
finish
