#!/usr/bin/env bash
# test_sync_bounded.sh - issue 10 item 4: a sync stays within the server's
# request body limit.  A thousand confirmed records of the largest size (16
# inputs) take more than the limit in one request (the helper shows it); the
# wallet splits them into requests the server takes, so both sides' syncs
# settle every record on the first try instead of being refused (413) at
# every sync.
. "$(dirname "$0")/lib.sh"
MAKE_RECORDS=${MAKE_RECORDS:?MAKE_RECORDS must name the make_records helper}
COUNT=1000

"$OFFPAYD" init --ledger "$LEDGER" >/dev/null || exit 1
# Limits that let alice make a thousand offline payments before a sync.
"$OFFPAYD" limits --ledger "$LEDGER" --per-payment 1000000 --offline-total 1000000000 --count 1000000 \
  --period 86400 >/dev/null || exit 1
start_server 19800
enrol alice 1000000
enrol bob

say "alice pays bob $COUNT times with 16 coins each; bob confirms each"
"$MAKE_RECORDS" "$T/alice" "$T/bob" "$COUNT" >"$T/made" 2>"$T/made.err" || { cat "$T/made.err" >&2; exit 1; }
read -r max bytes < <(sed 's/body_max=\([0-9]*\) pending_bytes=\([0-9]*\)/\1 \2/' "$T/made")
ok "the records alone ($bytes bytes) do not fit in one request ($max)" test "$bytes" -gt "$max"
eq "alice's pending" "$(j alice .pending.outgoing balance --offline)" "$COUNT"
eq "bob's pending" "$(j bob .pending.incoming balance --offline)" "$COUNT"

say "alice syncs: every record settles, in requests the server takes"
run 0 alice sync --json
eq "submitted" "$(jq .submitted "$T/out")" "$COUNT"
eq "settled" "$(jq .settled "$T/out")" "$COUNT"
eq "none rejected" "$(jq '.rejected | length' "$T/out")" "0"
eq "nothing pending" "$(j alice .pending.outgoing balance --offline)" "0"
ok "the server refused no request as too large" bash -c "! grep -q too_large '$T/server.log'"

say "bob syncs his side (records with his confirmations): the same"
run 0 bob sync --json
eq "bob submitted" "$(jq .submitted "$T/out")" "$COUNT"
eq "bob settled" "$(jq .settled "$T/out")" "$COUNT"
eq "bob's coins" "$(jq '.new_utxos | length' "$T/out")" "$COUNT"
eq "bob's spendable" "$(j bob .offline.spendable balance --offline)" "$((COUNT * 16))"
run 0 alice sync --json
eq "a second sync submits nothing" "$(jq .submitted "$T/out")" "0"
ok "the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"
finish
