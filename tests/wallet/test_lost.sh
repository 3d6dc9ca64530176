#!/usr/bin/env bash
# test_lost.sh - issue 13: a lost or stolen device (docs/wallet.md, "Lost
# device") and the operator's commands (offpayd account list|show, wallet
# list|show|revoke).  alice's phone is stolen; her other wallet (alice2)
# reports it.  The thief pays bob after the report and bob syncs within
# the grace period: it settles.  carol, paid before the report, syncs after
# the grace period: rejected (her loss, documented).  After the grace
# period alice's account gets the phone's unspent coins back, exactly once
# (the job runs at every start and once a minute).  The phone, found again,
# stays revoked.  audit after each step.  The server's clock is moved with
# $OFFPAYD_NOW (tests only).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../common/proxy.sh"

serial() { sqlite3 "$T/ledger.db" "SELECT serial FROM revocation"; }
# d ARGS...: offpayd ARGS --ledger LEDGER --json; stdout in $T/d.json, exit code in $DRC
d() {
  "$OFFPAYD" "$@" --ledger "$LEDGER" --json >"$T/d.json" 2>"$T/d.err"
  DRC=$?
}
online_of() { d account show "$1"; jq .online "$T/d.json"; }
# no_sanitizer_report: the servers of this log stopped without a sanitizer's report.
no_sanitizer_report() {
  CHECKS=$((CHECKS + 1))
  if grep -q "Sanitizer" "$T/server.log"; then fail "a sanitizer report in the server log: $(grep -m3 Sanitizer "$T/server.log")"; fi
}

ledger 19350
enrol alice 20000
"$OFFPAY" --wallet "$T/alice2" init --server "$URL" --account alice \
  --token "$("$OFFPAYD" account --ledger "$LEDGER" open alice 2>/dev/null)" >/dev/null || fail "alice2 init"
enrol bob 5000
enrol carol
enrol dave
A=$(wid alice)
A8=${A:0:8}
run 0 alice load 1000 2000 3000 4000
run 0 bob load 1000
run 0 bob sync
run 0 carol sync

say "the operator's view: account list and show, wallet list and show (short ids)"
d account list
eq "account list exits 0" "$DRC" "0"
eq "accounts by name" "$(jq -c '[.accounts[].name]' "$T/d.json")" '["alice","bob","carol","dave"]'
eq "alice's figures" "$(jq -c '.accounts[0] | [.online, .offline, .minted, .received, .sent]' "$T/d.json")" \
  "[10000,10000,20000,0,0]"
d account show alice
eq "alice has two wallets" "$(jq '.wallets | length' "$T/d.json")" "2"
eq "alice is active, no frauds" "$(jq -c '[.state, .frauds, .offline]' "$T/d.json")" '["active",0,10000]'
d wallet list --account alice
eq "wallet list --account" "$(jq -c '[.wallets[].account] | unique' "$T/d.json")" '["alice"]'
d wallet show "$A8"
eq "wallet show by 8 digits" "$(jq -r .id "$T/d.json")" "$A"
eq "its state, coins, certificate" "$(jq -c '[.state, .outstanding, .certificate.valid, .reason]' "$T/d.json")" \
  '["active",10000,true,null]'
eq "never synced" "$(jq .last_sync "$T/d.json")" "null"
run 0 alice sync
d wallet show "$A8"
ok "its last sync is known once it synced" jq -e '.last_sync > 0' "$T/d.json"
d wallet show "${A:0:7}"
eq "7 digits are too few (exit 2)" "$DRC" "2"
d wallet show 00000000
eq "no such wallet (exit 2)" "$DRC" "2"

say "an ambiguous short id is a usage error naming the candidates, for offpayd and offpay"
FAKE="${A8}000000000000000000000000"
sqlite3 "$T/ledger.db" "INSERT INTO wallets (id, account_id, public_key, certificate, created) SELECT x'$FAKE', \
  account_id, x'$(printf 'ff%.0s' $(seq 32))', x'00', 1 FROM wallets WHERE id = x'$A'" || fail "fake wallet"
d wallet show "$A8"
eq "ambiguous: exit 2" "$DRC" "2"
contains "names both" "$T/d.err" "$A"
contains "names both (2)" "$T/d.err" "$FAKE"
run 2 alice2 lost "$A8"
contains "offpay names them" "$T/err" "$FAKE"
d wallet show "$A8$(echo "${A:8:4}")"
eq "more digits: found" "$(jq -r .id "$T/d.json")" "$A"
sqlite3 "$T/ledger.db" "DELETE FROM wallets WHERE id = x'$FAKE'"

say "before the report, alice's phone pays bob 500 and carol 700 offline"
handshake alice bob 500
handshake alice carol 700

say "alice reports the phone stolen from alice2: it is revoked at once (the list's serial grows)"
S0=$(serial)
run 8 alice2 lost "$(wid alice2)"
contains "a wallet cannot report itself" "$T/err" "cannot report itself"
run 8 alice2 lost "$(wid bob)"
contains "another account's wallet is not found" "$T/err" "No wallet of your account"
run 0 alice2 lost "$A8" --reason stolen --json
eq "reported" "$(jq -c '[.wallet, .reason, .new]' "$T/out")" "[\"$A\",\"stolen\",true]"
GRACE_END=$(jq .writeoff_at "$T/out")
eq "grace period: 14 days" "$((GRACE_END - $(jq .reported_at "$T/out")))" "1209600"
eq "serial + 1" "$(serial)" "$((S0 + 1))"
run 0 alice2 lost "$A8"
eq "reported again: the first report stands" "$(serial)" "$((S0 + 1))"
contains "says so" "$T/out" "had been already"
d wallet show "$A8"
eq "state lost (stolen)" "$(jq -c '[.state, .reason, .written_off_at]' "$T/d.json")" '["lost","stolen",null]'
run 0 alice2 history --json
contains "alice2's history" "$T/out" "lost_report"
audit "the report"

say "the thief pays bob 2900 offline (bob has not synced since), and bob pays the phone 200"
handshake alice bob 2900
handshake bob alice 200
say "the phone itself can no longer reach the server (exit 8)"
run 8 alice sync
contains "revoked" "$T/err" "reported stolen"

say "bob syncs within the grace period: both of the phone's payments settle; his 200 goes to alice's online balance"
run 0 bob sync --json
eq "bob settled three" "$(jq .settled "$T/out")" "3"
eq "bob's coins" "$(amounts bob)" "500 800 2900"
eq "alice online: 10000 + 200" "$(online_of alice)" "10200"
d wallet show "$A8"
eq "what the phone still holds at the ledger: 500 + 2000 + 100 + 4000" "$(jq .outstanding "$T/d.json")" "6600"
audit "bob's sync within grace"
run 0 dave sync
say "dave, synced, now refuses the revoked phone offline (exit 4)"
run 0 dave request 100 --out "$T/rq.txt"
run 0 alice pay "$T/rq.txt" --out "$T/rc.txt"
run 4 dave accept "$T/rc.txt" --out "$T/cf.txt"
contains "dave says revoked" "$T/err" "revoked"

say "a wallet revoked is refused as a reporter too"
run 8 alice lost "$(wid alice2)"

say "after the grace period (server clock + 15 days): the phone's coins go back to alice, once"
stop_server
LATER=$(($(date +%s) + 15 * 86400))
OFFPAYD_NOW=$LATER restart_server
contains "the job ran at start" "$T/server.log" "1 lost wallet past the grace period: 6600 back"
eq "alice online: 10200 + 6600" "$(online_of alice)" "16800"
d wallet show "$A8"
eq "written off" "$(jq -c '[.written_off, .outstanding]' "$T/d.json")" "[6600,0]"
WOFF=$(jq .written_off_at "$T/d.json")
audit "the write-off"

say "carol syncs after the grace period: the phone's record to her is rejected (written_off)"
run 0 carol sync --json
eq "rejected" "$(jq -r '.rejected[0].reason' "$T/out")" "written_off"
eq "carol has nothing incoming" "$(j carol .incoming_unsynced balance)" "0"
eq "alice online unchanged" "$(online_of alice)" "16800"
eq "alice2 sees it (its signed requests use the real time)" "$(j alice2 .online balance)" "16800"
audit "carol's late sync"

say "the job runs again (another start, and a request): nothing more comes back"
stop_server
OFFPAYD_NOW=$((LATER + 120)) restart_server
run 0 bob sync
eq "alice online still" "$(online_of alice)" "16800"
d wallet show "$A8"
eq "written off once" "$(jq -c '[.written_off, .written_off_at]' "$T/d.json")" "[6600,$WOFF]"
audit "the second run"

say "the phone is found: it stays revoked; the owner enrols it anew (the server on the real clock again)"
run 8 alice sync
run 0 alice balance --offline --json
stop_server
restart_server
"$OFFPAY" --wallet "$T/alice-new" init --server "$URL" --account alice \
  --token "$("$OFFPAYD" account --ledger "$LEDGER" open alice 2>/dev/null)" >/dev/null || fail "alice-new init"
eq "the new wallet sees the online balance" "$(j alice-new .online balance)" "16800"

say "the operator revokes dave's wallet (no reason: revoked; again: the first stands)"
S1=$(serial)
D=$(wid dave)
d wallet revoke "${D:0:10}"
eq "revoked" "$(jq -c '[.state, .reason, .new]' "$T/d.json")" '["revoked","revoked",true]'
d wallet revoke "$D" --reason lost
eq "again" "$(jq -c '[.state, .new]' "$T/d.json")" '["revoked",false]'
eq "serial + 1 once" "$(serial)" "$((S1 + 1))"
d wallet revoke "$D" --reason mislaid
eq "a bad reason: exit 2" "$DRC" "2"
run 8 dave sync
d wallet list
eq "wallets by state" "$(jq -c '[.wallets[].state] | sort' "$T/d.json")" \
  '["active","active","active","active","lost","revoked"]'
d account show alice
eq "alice: three wallets, one lost" "$(jq -c '[(.wallets | length), ([.wallets[].state] | sort)]' "$T/d.json")" \
  '[3,["active","active","lost"]]'
d limits --grace 0
eq "--grace 0 refused" "$DRC" "2"
d limits --grace 864000
eq "--grace set" "$(jq .grace "$T/d.json")" "864000"
audit "the operator's revocation"

say "a report whose answer is lost is a call in doubt: the next sync asks the server and settles it"
start_proxy "$PORT"
SAVED_URL=$URL
URL=$PURL
enrol kim
for k in kim2 kim3; do
  "$OFFPAY" --wallet "$T/$k" init --server "$PURL" --account kim \
    --token "$("$OFFPAYD" account --ledger "$LEDGER" open kim 2>/dev/null)" >/dev/null || fail "$k init"
done
URL=$SAVED_URL
K2=$(wid kim2) K3=$(wid kim3)
fault POST /v1/wallets/lost drop_answer 2
run 7 kim lost "${K2:0:8}"
contains "not known yet" "$T/err" "not known yet"
nofault
d wallet show "${K2:0:8}"
eq "the server did it" "$(jq -r .state "$T/d.json")" "lost"
run 0 kim sync --json
eq "the sync learns it was made" "$(jq -c '[.calls[] | [.kind, .outcome, .counterparty]]' "$T/out")" \
  "[[\"lost\",\"done\",\"${K2:0:8}\"]]"
run 0 kim history --json
contains "history" "$T/out" '"kind":"lost_report"'
fault POST /v1/wallets/lost drop_request 2
run 7 kim lost "${K3:0:8}"
nofault
run 0 kim sync --json
eq "the sync learns it never arrived (and burns it)" "$(jq -c '[.calls[] | [.kind, .outcome]]' "$T/out")" \
  '[["lost","cancelled"]]'
d wallet show "${K3:0:8}"
eq "kim3 still active" "$(jq -r .state "$T/d.json")" "active"
run 0 kim sync --json
eq "nothing left in doubt" "$(jq -c .calls "$T/out")" "[]"
stop_proxy
audit "the reports in doubt"

stop_server
no_sanitizer_report

say "on a ledger of three shards: list gathers every shard, show and revoke find the wallet's shard"
stop_server
printf 'shard 0 sqlite:%s/s0.db\nshard 1 sqlite:%s/s1.db\nshard 2 sqlite:%s/s2.db\n' "$T" "$T" "$T" >"$T/shards.conf"
LEDGER="shards:$T/shards.conf"
export OFFPAYD_ISSUER_KEY="$T/shards.issuer-key"
ledger 19450
for n in erin frank gina hugo ivan; do enrol "$n" 1000; done
for n in erin frank gina hugo ivan; do run 0 "$n" load 100; done
ok "the accounts are on more than one shard" test "$(for i in 0 1 2; do
  sqlite3 "$T/s$i.db" "SELECT count(*) FROM wallets"; done | grep -vc '^0$')" -ge 2
d account list
eq "every shard's accounts, by name" "$(jq -c '[.accounts[] | [.name, .online, .offline]]' "$T/d.json")" \
  '[["erin",900,100],["frank",900,100],["gina",900,100],["hugo",900,100],["ivan",900,100]]'
d wallet list
eq "every shard's wallets" "$(jq -c '[.wallets[].account] | sort' "$T/d.json")" '["erin","frank","gina","hugo","ivan"]'
G=$(wid gina)
d wallet revoke "${G:0:8}" --reason lost
eq "revoked on its shard" "$(jq -c '[.account, .state, .outstanding]' "$T/d.json")" '["gina","lost",100]'
d account show gina
eq "gina's wallet lost" "$(jq -c '[.wallets[].state]' "$T/d.json")" '["lost"]'
run 8 gina sync
stop_server
OFFPAYD_NOW=$(($(date +%s) + 15 * 86400)) restart_server
eq "gina's coins back" "$(online_of gina)" "1000"
audit "the sharded write-off"
stop_server
no_sanitizer_report

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
