#!/usr/bin/env bash
# test_init_crash.sh - offpay init killed (SIGKILL, as a power cut) at each
# of its steps (the tests-only $OFFPAY_TEST_INIT_DIE, docs/wallet.md "A
# half-finished init"), for a plain key, a key sealed with a passphrase and
# a key in a PKCS#11 token: until wallet.db is there, every other command
# exits 2 saying init did not finish; the same init run again exits 0 with
# the key the killed one wrote down (so the server, which may have enrolled
# it, answers again); the server then knows one wallet for that account, and
# the wallet loads and pays.  Also: the store an init from before this fix
# left (tables, no identity) is finished by init too, and init never touches
# a finished wallet.
. "$(dirname "$0")/lib.sh"

softhsm wallet 1234
secret_file pin 1234
secret_file pass "correct horse battery staple"
ledger 19650
enrol bob

N=0
# crash KIND STEP: a new account, its init killed at STEP, then finished.
crash() {
  local kind=$1 step=$2 name token keyfile rc
  local -a opts=()
  N=$((N + 1))
  name=w$N
  case $kind in
    plain) keyfile=key ;;
    passphrase) keyfile=key.sealed opts=(--passphrase-file "$T/pass") ;;
    token) keyfile=key.token opts=(--pin-file "$T/pin") ;;
  esac
  local -a init
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$name") || { echo "account open failed" >&2; exit 1; }
  "$OFFPAYD" account --ledger "$LEDGER" mint "$name" 5000 >/dev/null || { echo "mint failed" >&2; exit 1; }
  init=(init --server "$URL" --account "$name" --token "$token")
  [ "$kind" = token ] && init+=(--pkcs11 "$SOFTHSM_MODULE" --pkcs11-token wallet)
  say "$kind key, killed at $step"
  CHECKS=$((CHECKS + 1))
  (OFFPAY_TEST_INIT_DIE=$step exec "$OFFPAY" --wallet "$T/$name" "${opts[@]}" "${init[@]}" >"$T/out" 2>"$T/err")
  rc=$?
  [ "$rc" = 137 ] || fail "$kind $step: init was not killed there (exit $rc: $(head -c 300 "$T/err"))"
  # A crash between the link that names a file and the unlink of its
  # temporary name leaves both names: as if killed there.
  case $step in enrol.key | "$keyfile" | wallet.db) ln "$T/$name/$step" "$T/$name/$step.new" ;; esac
  [ -e "$T/$name/enrol.key" ] && cp "$T/$name/enrol.key" "$T/enrol.key.saved" || rm -f "$T/enrol.key.saved"
  if [ ! -e "$T/$name/wallet.db" ]; then
    run 2 "$name" balance --offline
    case $step in
      enrol.key.new) contains "$step: nothing to finish" "$T/err" "no wallet" ;;
      *) contains "$step: other commands say init did not finish" "$T/err" "init did not finish.*run the same offpay init again" ;;
    esac
  else
    run 0 "$name" balance --offline # the wallet is whole from wallet.db on
  fi
  if [ "$step" = enrol.key.removed ]; then
    # Killed after its last step: init had finished, and a second one is
    # refused as on any wallet (the token it was given is not kept).
    run 2 "$name" "${opts[@]}" "${init[@]}"
    contains "$step: init had finished" "$T/err" "already holds a wallet"
  else
    run 0 "$name" "${opts[@]}" "${init[@]}"
    contains "$step: the same init finishes" "$T/out" "Wallet for $name created"
  fi
  ok "$step: no enrol.key left" [ ! -e "$T/$name/enrol.key" ]
  ok "$step: no file half made left" [ -z "$(ls "$T/$name" | grep '\.new' || true)" ]
  if [ -e "$T/enrol.key.saved" ]; then
    ok "$step: the wallet's key is the one the killed init wrote down" cmp -s "$T/enrol.key.saved" "$T/$name/$keyfile"
  fi
  eq "$step: the server knows one wallet for the account" \
    "$("$OFFPAYD" wallet --ledger "$LEDGER" list --account "$name" --json | jq '.wallets | length')" 1
  run 0 "$name" "${opts[@]}" load 1000
  handshake_opts "$name" bob 300 "${opts[@]}"
  eq "$step: the payer's coins" "$(amounts "$name")" "700"
}

# handshake_opts PAYER PAYEE AMOUNT [PAYER'S KEY OPTIONS]: as handshake.
handshake_opts() {
  local payer=$1 payee=$2 amount=$3
  shift 3
  run 0 "$payee" request "$amount" --out "$T/req.txt"
  run 0 "$payer" "$@" pay "$T/req.txt" --out "$T/rec.txt"
  run 0 "$payee" accept "$T/rec.txt" --out "$T/conf.txt"
  run 0 "$payer" "$@" confirm "$T/conf.txt"
}

for kind in plain passphrase token; do
  case $kind in
    plain) kf=key ;;
    passphrase) kf=key.sealed ;;
    token) kf=key.token ;;
  esac
  for step in enrol.key.new enrol.key answered "$kf.new" "$kf" wallet.db.new wallet.db.new.rows wallet.db \
    enrol.key.removed; do
    crash "$kind" "$step"
  done
done

say "a store an older init left half made (tables, no identity) beside enrol.key: init finishes it"
token=$("$OFFPAYD" account --ledger "$LEDGER" open old)
CHECKS=$((CHECKS + 1))
(OFFPAY_TEST_INIT_DIE=wallet.db.new exec "$OFFPAY" --wallet "$T/old" init --server "$URL" --account old \
  --token "$token" >/dev/null 2>&1)
[ "$?" = 137 ] || fail "init was not killed at wallet.db.new"
mv "$T/old/wallet.db.new" "$T/old/wallet.db"
rm -f "$T/old/wallet.db.new-"*
run 2 old balance --offline
contains "says init did not finish" "$T/err" "init did not finish"
run 0 old init --server "$URL" --account old --token "$token"
eq "one wallet for the account" "$("$OFFPAYD" wallet --ledger "$LEDGER" list --account old --json | jq '.wallets | length')" 1
run 0 old balance --offline

say "init never touches a finished wallet"
dump bob >"$T/before.dump"
cp "$T/bob/key" "$T/bob.key"
token=$("$OFFPAYD" account --ledger "$LEDGER" open other)
run 2 bob init --server "$URL" --account other --token "$token"
contains "says it holds a wallet" "$T/err" "already holds a wallet"
unchanged "bob after init" bob "$T/before.dump"
ok "bob's key unchanged" cmp -s "$T/bob.key" "$T/bob/key"
cp "$T/w1/key" "$T/bob/enrol.key" # a leftover enrol.key of another key
run 2 bob init --server "$URL" --account bob --token "$token"
contains "with a foreign enrol.key too" "$T/err" "already holds a wallet"
unchanged "bob after the second init" bob "$T/before.dump"

finish
