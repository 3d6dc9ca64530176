#!/usr/bin/env bash
# test_tls.sh - offpayd serves HTTPS with its own certificate, and wallets
# talk only to a server whose certificate verifies.  A certificate authority
# and server certificates are made here with openssl (handshakes are probed
# with gnutls-cli): one for 127.0.0.1, one for another name, one from an
# authority the wallet does not trust.
#  - offpayd refuses a key that is not the certificate's, and half a pair;
#  - it speaks TLS 1.2 and 1.3, not 1.1, and no plain HTTP on that port;
#  - `offpay init` against it without --ca-file fails verification (exit 7,
#    no wallet, the token not spent); with --ca-file it enrols and keeps the
#    authorities in the wallet folder; the patent's scenario then runs
#    over HTTPS;
#  - behind a certificate of another authority or for another name, every
#    call is refused with exit 7 and one sentence, and the wallet is unchanged.
. "$(dirname "$0")/../wallet/lib.sh"

# ---- the certificates ----
X=$T/x509
mkdir -p "$X"
mkca() { # NAME: a self-signed authority NAME.key/NAME.pem
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=offpay test $1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$X/$1.key" -out "$X/$1.pem" 2>/dev/null
}
mkcert() { # NAME CA SAN: a server certificate NAME.pem/NAME.key for SAN, signed by CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$X/$1.key" -out "$X/$1.csr" 2>/dev/null &&
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$3" >"$X/$1.ext" &&
  openssl x509 -req -in "$X/$1.csr" -CA "$X/$2.pem" -CAkey "$X/$2.key" -CAcreateserial -days 2 \
    -extfile "$X/$1.ext" -out "$X/$1.pem" 2>/dev/null
}
mkca ca && mkca rogue || { echo "openssl cannot make the test CAs" >&2; exit 1; }
mkcert server ca "IP:127.0.0.1,DNS:localhost" && mkcert othername ca "DNS:other.example" &&
  mkcert impostor rogue "IP:127.0.0.1" || { echo "openssl cannot make the test certificates" >&2; exit 1; }

# serve_tls CERT [PORT]: start offpayd over HTTPS with X/CERT.pem and its key
# (PORT: that one, else a free one); sets PORT, URL, SERVER_PID.
serve_tls() {
  "$OFFPAYD" serve --ledger "$LEDGER" --listen "127.0.0.1:${2:-0}" \
    --tls-cert "$X/$1.pem" --tls-key "$X/$1.key" >"$T/server.log" 2>&1 &
  SERVER_PID=$!
  wait_listening "$T/server.log" "$SERVER_PID" 0 || { echo "offpayd over TLS: $(cat "$T/server.log")" >&2; exit 1; }
  PORT=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$T/server.log" | head -1)
  URL="https://127.0.0.1:$PORT"
}

"$OFFPAYD" init --ledger "$LEDGER" >/dev/null || { echo "offpayd init failed" >&2; exit 1; }

say "offpayd refuses a key that is not the certificate's, and half a pair"
"$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 --tls-cert "$X/server.pem" --tls-key "$X/impostor.key" \
  >"$T/out" 2>"$T/err"
eq "mismatched key: exit 2" "$?" 2
contains "mismatched key: one sentence naming both files" "$T/err" "server.pem and key .*impostor.key cannot be used together"
"$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 --tls-cert "$X/server.pem" >"$T/out" 2>"$T/err"
eq "a certificate without a key: exit 2" "$?" 2
"$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 --tls-cert "$X/none.pem" --tls-key "$X/server.key" \
  >"$T/out" 2>"$T/err"
eq "a missing certificate file: exit 2" "$?" 2
contains "a missing certificate file: named" "$T/err" "none.pem cannot be read"

say "HTTPS with TLS 1.2 and 1.3 only"
serve_tls server
contains "the server says it serves HTTPS" "$T/server.log" "serving HTTPS \(TLS 1.2 and 1.3\)"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$X/ca.pem" "$URL/v1/limits")
eq "an HTTPS request is answered (401: not signed)" "$code" "401"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/v1/limits")
ok "plain HTTP on the TLS port gets no HTTP answer" test "$code" = "000"
# gnutls-cli offers exactly the version its priority string names (it does
# speak TLS 1.1 to a server that accepts it).
tls_handshake() { # VERSION: exit status of one handshake offering only it
  timeout 10 gnutls-cli --x509cafile "$X/ca.pem" --priority "NORMAL:-VERS-ALL:+VERS-$1" -p "$PORT" 127.0.0.1 \
    </dev/null >"$T/tls_cli" 2>&1
}
for v in TLS1.2 TLS1.3; do
  tls_handshake "$v"
  rc=$?
  eq "a $v handshake succeeds ($(grep -m1 -i 'error' "$T/tls_cli"))" "$rc" 0
done
for v in TLS1.1 TLS1.0; do
  tls_handshake "$v"
  ok "a $v handshake fails" test "$?" -ne 0
done

say "offpay init without the server's CA: not trusted, nothing made, token kept"
token=$("$OFFPAYD" account --ledger "$LEDGER" open alice)
"$OFFPAYD" account --ledger "$LEDGER" mint alice 20000 >/dev/null
run 7 alice init --server "$URL" --account alice --token "$token"
contains "the sentence says why" "$T/err" "not trusted: its TLS certificate does not verify against the system's certificate authorities"
contains "the sentence says nothing changed" "$T/err" "nothing was sent and nothing changed"
eq "one sentence" "$(wc -l <"$T/err")" "1"
ok "no wallet was made" test ! -e "$T/alice/wallet.db"
run 2 alice init --server "http://127.0.0.1:$PORT" --account alice --token "$token" --ca-file "$X/ca.pem"
contains "--ca-file with http://: refused" "$T/err" "ca-file is for an https:// server"
run 2 alice init --server "$URL" --account alice --token "$token" --ca-file "$X/none.pem"
contains "a missing CA file: named" "$T/err" "none.pem cannot be read"
run 2 alice init --server "$URL" --account alice --token "$token" --ca-file "$X/server.csr"
contains "a file with no certificate: refused" "$T/err" "holds no PEM certificate"
ok "still no wallet" test ! -e "$T/alice/wallet.db"

say "with --ca-file: enrolled (the same token: it was never sent), the CA kept"
run 0 alice init --server "$URL" --account alice --token "$token" --ca-file "$X/ca.pem"
ok "the wallet keeps the CA file" cmp -s "$X/ca.pem" "$T/alice/ca.pem"
eq "the kept CA file is the owner's alone" "$(stat -c %a "$T/alice/ca.pem")" "600"
token=$("$OFFPAYD" account --ledger "$LEDGER" open bob)
run 0 bob init --server "$URL" --account bob --token "$token" --ca-file "$X/ca.pem"

say "the patent's scenario over HTTPS"
run 0 alice load 1000 2000 3000 4000
handshake alice bob 3500
eq "alice: the 4000 became change 500" "$(amounts alice)" "500 1000 2000 3000"
run 0 bob sync --json
eq "bob's sync settled the payment" "$(jq -r .settled "$T/out")" "1"
run 0 alice sync --json
eq "alice's change is spendable" "$(amounts alice spendable)" "500 1000 2000 3000"
run 0 bob balance --json
eq "bob holds the 3500" "$(jq -r '.offline.spendable' "$T/out")" "3500"
ok "the ledger conserves value" "$OFFPAYD" audit --ledger "$LEDGER"

say "a server whose certificate does not verify is sent nothing"
for bad in impostor othername; do
  stop_server
  serve_tls "$bad" "$PORT"
  dump alice >"$T/before.dump"
  # balance works offline: the online balance is unknown, and says why.
  run 0 alice balance --json
  eq "$bad, balance: online unknown" "$(jq -r .online "$T/out")" "null"
  for cmd in "sync" "load 10" "unload --all" "pay-online bob 10"; do
    # shellcheck disable=SC2086
    run 7 alice $cmd
    contains "$bad, $cmd: not trusted" "$T/err" "is not trusted: its TLS certificate does not verify against the certificate authorities in $T/alice/ca.pem"
  done
  unchanged "$bad: nothing changed" alice "$T/before.dump"
done
run 0 alice balance --offline --json
eq "the offline balance still reads" "$(jq -r .offline.spendable "$T/out")" "6500"
stop_server
serve_tls server "$PORT"
run 0 alice sync
ok "the right server again: the wallet syncs" true
finish
