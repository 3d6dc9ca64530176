#!/usr/bin/env bash
# test_exit_codes.sh - every exit code of SPEC.md from the real program, and
# --help on every command.
#   0 ok, 1 internal, 2 usage, 3 malformed input, 4 verification failed,
#   5 not enough spendable offline funds, 6 offline limit reached,
#   7 server unreachable, 8 rejected by the server.
. "$(dirname "$0")/lib.sh"

ledger 19600
enrol alice 10000
enrol bob

say "--help on every command: exit 0"
for cmd in init balance load unload request pay accept confirm sync pay-online history limits; do
  run 0 alice "$cmd" --help
  contains "$cmd --help shows its usage" "$T/out" "Usage: offpay"
done
run 0 alice --help

say "the secret key and the store are readable by the owner only"
eq "key file mode" "$(stat -c %a "$T/alice/key")" "600"
eq "store mode" "$(stat -c %a "$T/alice/wallet.db")" "600"
eq "folder mode" "$(stat -c %a "$T/alice")" "700"

say "0: ok"
run 0 alice balance
run 0 alice load 1000

say "the wallet folder: --wallet, else \$OFFPAY_WALLET, else ~/.offpay"
CHECKS=$((CHECKS + 1))
OFFPAY_WALLET="$T/alice" "$OFFPAY" balance --offline --json >"$T/out" 2>&1 || fail "OFFPAY_WALLET names the wallet"
contains "OFFPAY_WALLET" "$T/out" '"spendable":1000'
mkdir -p "$T/home"
cp -a "$T/bob" "$T/home/.offpay"
CHECKS=$((CHECKS + 1))
env -u OFFPAY_WALLET HOME="$T/home" "$OFFPAY" limits --json >"$T/out" 2>&1 || fail "HOME/.offpay is the default wallet"
CHECKS=$((CHECKS + 1))
OFFPAY_WALLET="$T/home/.offpay" "$OFFPAY" --wallet "$T/alice" balance --offline --json >"$T/out" 2>&1
contains "--wallet wins over OFFPAY_WALLET" "$T/out" '"spendable":1000'

say "1: internal (a damaged key file)"
cp -a "$T/alice" "$T/broken"
head -c 10 "$T/alice/key" >"$T/broken/key"
run 1 broken request 10

say "2: usage"
run 2 alice
run 2 alice frobnicate
run 2 alice request
run 2 alice request 12abc
run 2 alice request 0
run 2 alice request -5
run 2 alice load
run 2 alice pay
run 2 alice pay a b
run 2 alice balance --bogus
run 2 alice unload
run 2 nowallet balance
contains "says there is no wallet" "$T/err" "no wallet"
token=$("$OFFPAYD" account --ledger "$LEDGER" open carol)
run 2 alice init --server "$URL" --account carol --token "$token"
contains "an existing wallet is never overwritten" "$T/err" "already holds a wallet"

say "3: malformed input"
printf 'OP1REC:NOTBASE32!!\n' >"$T/bad.txt"
run 3 bob accept "$T/bad.txt"
run 3 alice unload zz

say "4: verification failed (a request tampered with)"
run 0 bob request 100 --out "$T/req.txt"
req=$(cat "$T/req.txt")
# Change one character in the middle: the signature no longer verifies.
pos=60
c=${req:$pos:1}; if [ "$c" = "A" ]; then r=B; else r=A; fi
printf '%s%s%s\n' "${req:0:$pos}" "$r" "${req:$((pos + 1))}" >"$T/treq.txt"
CHECKS=$((CHECKS + 1))
"$OFFPAY" --wallet "$T/alice" pay "$T/treq.txt" >/dev/null 2>"$T/err"
rc=$?
case $rc in 3|4) ;; *) fail "tampered request: exit $rc";; esac
run 0 alice request 5 --out "$T/own.txt"
run 4 alice pay "$T/own.txt"
contains "a wallet cannot pay itself" "$T/err" "itself"

say "5: not enough spendable offline funds"
run 0 bob request 2000 --out "$T/req2.txt"
run 5 alice pay "$T/req2.txt"
run 5 bob unload --all

say "6: offline limit reached (the server's per-payment limit)"
per=$(j alice .effective.per_payment limits)
run 0 bob request "$per" --out "$T/req3.txt"
run 6 alice pay "$T/req3.txt"

say "8: rejected by the server"
run 8 alice load 1000000
run 8 alice pay-online nobody 10
run 8 fresh init --server "$URL" --account dave --token nosuchtoken
ok "a failed init leaves no wallet" test ! -e "$T/fresh/wallet.db"
ok "a failed init leaves no key" test ! -e "$T/fresh/key"
ok "a failed init leaves no folder" test ! -e "$T/fresh"

say "7: server unreachable"
stop_server
run 7 alice load 10
run 7 alice sync
run 7 alice pay-online bob 10
run 7 alice unload --all
eq "unload while unreachable keeps the coin spendable" "$(amounts alice spendable)" "1000"
token=$("$OFFPAYD" account --ledger "$LEDGER" open erin)
run 7 erin init --server "$URL" --account erin --token "$token"
run 0 alice balance
finish
