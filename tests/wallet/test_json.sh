#!/usr/bin/env bash
# test_json.sh - --json on every offpay command (issue 16): one JSON object on
# stdout when it works, and when it fails {"error": {"code", "message",
# "exit"}} on stdout, the sentence still on stderr, the usual exit code.
. "$(dirname "$0")/lib.sh"

# one WHAT: stdout ($T/out) is exactly one line holding one JSON object.
one() {
  CHECKS=$((CHECKS + 1))
  if [ "$(wc -l <"$T/out")" != 1 ] || ! jq -e 'type == "object"' "$T/out" >/dev/null 2>&1; then
    fail "$1: stdout is not one JSON object: $(head -c 300 "$T/out")"
  fi
}
# error WHAT RC CODE: the failure just run ($T/out, $T/err) said in JSON and on stderr.
error() {
  one "$1"
  eq "$1: error code" "$(jq -r '.error.code' "$T/out")" "$3"
  eq "$1: error exit" "$(jq -r '.error.exit' "$T/out")" "$2"
  local msg line
  msg=$(jq -r '.error.message' "$T/out")
  line=$(head -1 "$T/err")
  CHECKS=$((CHECKS + 1))
  [[ "$line" == "${PROG:-offpay}: $msg"* ]] || fail "$1: stderr says '$line', the JSON '$msg'"
}

ledger 19200
token=$("$OFFPAYD" account --ledger "$LEDGER" open alice)
"$OFFPAYD" account --ledger "$LEDGER" mint alice 10000 >/dev/null
enrol bob
enrol carol 1000

say "success: one JSON object from every command"
run 0 alice init --server "$URL" --account alice --token "$token" --json
one init
eq "init" "$(jq -c '[.account, (.wallet_id | length)]' "$T/out")" '["alice",32]'
run 0 alice load 1000 2000 500 --json
one load
eq "load" "$(jq -c '[.loaded, .coins, .online]' "$T/out")" '[3500,3,6500]'
run 0 alice balance --json
one balance
eq "balance keeps SPEC's shape" "$(jq -c '[.online, .offline.spendable, .incoming_unsynced, .pending.outgoing, (.utxos | length)]' "$T/out")" \
  '[6500,3500,0,0,3]'
run 0 bob request 700 --json --out "$T/req.txt"
one request
eq "request" "$(jq -c '[.kind, .amount, .payee, .file]' "$T/out")" "[\"request\",700,\"bob\",\"$T/req.txt\"]"
eq "request: the currency" "$(jq -c '[.currency, .exponent]' "$T/out")" '["CNY",2]'
eq "request: the message is the file's" "$(jq -r .message "$T/out")" "$(cat "$T/req.txt")"
run 0 bob request 50 --json
one "request without --out"
eq "request without --out: the message only in the JSON" "$(jq -c '[.file, (.message | startswith("OP1REQ:"))]' "$T/out")" '[null,true]'
run 0 alice pay "$T/req.txt" --json --out "$T/rec.txt"
one pay
eq "pay" "$(jq -c '[.kind, .amount, .payee, .inputs, .inputs_total, .change]' "$T/out")" '["record",700,"bob",1,1000,300]'
record=$(jq -r .record "$T/out")
run 0 bob accept "$T/rec.txt" --json --out "$T/conf.txt"
one accept
eq "accept" "$(jq -c '[.kind, .answer, .amount, .payer]' "$T/out")" '["confirmation","confirmed",700,"alice"]'
eq "accept: the same record" "$(jq -r .record "$T/out")" "$record"
run 0 alice confirm "$T/conf.txt" --json
one confirm
eq "confirm" "$(jq -c '[.record, .answer, .amount, .change]' "$T/out")" "[\"$record\",\"confirmed\",700,300]"
run 0 alice show "$T/rec.txt" --json
one show
eq "show" "$(jq -c '[.kind, .record, .verified.ok]' "$T/out")" "[\"record\",\"$record\",true]"
run 0 bob request 100 --out "$T/req2.txt" --qr-png "$T/req2.png"
run 0 nowallet scan "$T/req2.png" --json
one scan
eq "scan" "$(jq -c '[.kind, .message]' "$T/out")" "[\"request\",\"$(cat "$T/req2.txt")\"]"
run 0 alice sync --json
one sync
eq "sync keeps SPEC's shape" "$(jq -c '[.submitted, .settled, (.rejected | length), (.new_utxos | length)]' "$T/out")" '[1,1,0,1]'
run 0 alice history --json
one history
eq "history" "$(jq -c '[.events[] | .kind] | index("pay") != null' "$T/out")" "true"
run 0 alice limits --json
one limits
run 0 alice limits set --per-payment 900 --json
one "limits set"
eq "limits set: the new effective limit" "$(jq '.effective.per_payment' "$T/out")" "900"
run 0 alice limits unset --per-payment --json
one "limits unset"
eq "limits unset: the server's limit again" "$(jq '.effective.per_payment == .server.per_payment' "$T/out")" "true"
run 0 alice limits set --per-payment 900
run 0 alice pay-online carol 100 --json
one pay-online
eq "pay-online" "$(jq -c '[.to, .amount]' "$T/out")" '["carol",100]'
run 0 nowallet --version --json
one "--version"
eq "--version --json" "$(jq -c '[(.version | type), .wire_format]' "$T/out")" '["string",1]'
id=$(j alice '.utxos[0].id' balance --offline | tr -d '"')
run 0 alice unload "${id:0:8}" --json
one unload

say "failure: the error object on stdout, the sentence on stderr, the usual exit code"
run 2 alice balance --bogus --json
error "unknown option" 2 usage
run 2 alice --json
error "no command" 2 usage
run 2 alice frobnicate --json
error "unknown command" 2 usage
run 2 nowhere balance --json
error "no wallet" 2 usage
printf 'OP1REQ:AEAQ\n' >"$T/bad.txt"
run 3 alice pay "$T/bad.txt" --json
error "malformed request" 3 wrong_type
run 3 alice confirm "$T/rec.txt" --json
error "confirm a record" 3 wrong_type
run 4 bob accept "$T/rec.txt" --json
error "a replayed record" 4 wrong_nonce
run 0 bob request 5000 --out "$T/req3.txt"
run 6 alice pay "$T/req3.txt" --json
error "over the owner's per-payment limit" 6 limit_per_payment
run 0 bob request 800 --out "$T/req4.txt"
run 5 carol pay "$T/req4.txt" --json
error "no coins" 5 insufficient_funds
run 8 alice pay-online nobody 10 --json
error "unknown account" 8 rejected
stop_server
run 7 alice sync --json
error "server down" 7 unreachable
restart_server
chmod 0644 "$T/carol/key"
run 9 carol request 10 --json
error "a key others may read" 9 key_unavailable
chmod 0600 "$T/carol/key"
# A sentence that is not UTF-8 (a file name) is still JSON.
run 2 alice pay "$T/$(printf 'caf\xe9').txt" --json
one "a file name that is not UTF-8"
eq "a file name that is not UTF-8: code" "$(jq -r .error.code "$T/out")" "usage"
contains "its odd byte is a question mark" "$T/out" 'caf\?\.txt'

say "docs/wallet.md's table of error codes is the code's"
SRC="$(dirname "$0")/../.."
code_codes=$(grep -o '^    \[OFFPAY_[A-Z_]*\] = {"[a-z_]*", "[^"]*", OFFPAY_EXIT_[A-Z_]*}' "$SRC/src/core/status.c" |
  sed -E 's/.*\{"([a-z_]*)", .*OFFPAY_EXIT_([A-Z_]*)\}/\2 \1/' | grep -v '^OK ' |
  sed 's/^INTERNAL /1 /; s/^USAGE /2 /; s/^MALFORMED /3 /; s/^VERIFICATION /4 /; s/^FUNDS /5 /; s/^LIMIT /6 /;
       s/^UNREACHABLE /7 /; s/^REJECTED /8 /; s/^KEY_UNAVAILABLE /9 /' | sort)
doc_codes=$(sed -n '/^### Errors/,/^## /p' "$SRC/docs/wallet.md" | grep -E '^\| [1-9] \|' |
  while IFS='|' read -r _ exit codes _; do
    for c in $(printf %s "$codes" | tr -d '`,'); do echo "${exit// /} $c"; done
  done | sort)
eq "every status code in the table, with its exit code" "$doc_codes" "$code_codes"
ok "the table is not empty" test "$(printf '%s\n' "$doc_codes" | wc -l)" -gt 40

say "offpayd's --json commands say their failures the same way"
"$OFFPAYD" frauds --ledger "sqlite:$T/none.db" --json >"$T/out" 2>"$T/err"
eq "offpayd frauds: exit 2" "$?" "2"
PROG=offpayd error "offpayd frauds with no ledger" 2 usage
finish
