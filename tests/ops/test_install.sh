#!/usr/bin/env bash
# test_install.sh - what `cmake --install` puts in a prefix is complete and
# works: both programs (and their --version), the man pages (groff finds no
# fault in them), the documents, and a systemd unit that `systemd-analyze
# verify` accepts and that names the installed offpayd.  Then the installed
# programs run the patent's scenario as an operator would set it up: a
# ledger, the server behind its own TLS certificate (a CA made here), two
# wallets that verify it (--ca-file) and pin the issuer key, an offline
# payment, both sides synced, audit.
#
# Usage: test_install.sh BUILD_DIR (ctest passes it).
BUILD=${1:?usage: test_install.sh BUILD_DIR}
P=$(mktemp -d "${TMPDIR:-/tmp}/offpay-install-test.XXXXXX")
export OFFPAY="$P/prefix/bin/offpay" OFFPAYD="$P/prefix/sbin/offpayd"
. "$(dirname "$0")/../wallet/lib.sh"
trap 'stop_server; rm -rf "$T" "$P"' EXIT

say "cmake --install into a temporary prefix"
ok "cmake --install succeeds" cmake --install "$BUILD" --prefix "$P/prefix" >"$T/install.log" 2>&1
for f in bin/offpay sbin/offpayd share/man/man1/offpay.1 share/man/man8/offpayd.8 \
         share/doc/offpay/server.md share/doc/offpay/api.md share/doc/offpay/wallet.md \
         share/doc/offpay/LICENSE share/doc/offpay/README.md \
         lib/systemd/system/offpayd.service lib/sysusers.d/offpay.conf lib/tmpfiles.d/offpay.conf; do
  ok "$f is installed" test -s "$P/prefix/$f"
done
ok "the programs are executable" test -x "$OFFPAY" -a -x "$OFFPAYD"

say "--version"
"$OFFPAY" --version >"$T/v1" 2>&1; eq "offpay --version exits 0" "$?" 0
"$OFFPAYD" --version >"$T/v2" 2>&1; eq "offpayd --version exits 0" "$?" 0
contains "offpay names its version and wire format" "$T/v1" '^offpay [0-9]+\.[0-9]+\.[0-9]+ \(wire format 1\)$'
contains "offpayd names its version and wire format" "$T/v2" '^offpayd [0-9]+\.[0-9]+\.[0-9]+ \(wire format 1, HTTP API v1\)$'
eq "both report the same version" "$(cut -d' ' -f2 "$T/v1")" "$(cut -d' ' -f2 "$T/v2")"

say "man pages"
for m in man1/offpay.1 man8/offpayd.8; do
  LC_ALL=C groff -t -man -ww -z -Tutf8 "$P/prefix/share/man/$m" >"$T/groff" 2>&1
  eq "groff is silent about $m" "$(cat "$T/groff")" ""
done
LC_ALL=C MANWIDTH=80 man -l "$P/prefix/share/man/man8/offpayd.8" >"$T/man" 2>/dev/null
contains "offpayd(8) renders" "$T/man" 'offpayd --version'

say "the systemd unit"
U="$P/prefix/lib/systemd/system/offpayd.service"
contains "ExecStart names the installed offpayd" "$U" "^ExecStart=$OFFPAYD serve "
for h in 'User=offpay' 'StateDirectory=offpay' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' \
         'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service'; do
  contains "the unit has $h" "$U" "^$h"
done
# verify loads the unit as systemd would, checks every directive, that
# ExecStart's program exists and is executable, and that man finds the page
# Documentation= names (in the prefix: MANPATH).
MANPATH="$P/prefix/share/man:" SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$U" >"$T/verify" 2>&1
rc=$? # taken before the $(...) of the message, which sets $? again
eq "systemd-analyze verify exits 0 ($(head -c 600 "$T/verify"))" "$rc" 0
if grep -q 'offpayd.service' "$T/verify"; then fail "systemd-analyze verify complains: $(cat "$T/verify")"; fi

say "the installed programs run the scenario over TLS, with wallets that verify the server"
X=$T/x509
mkdir -p "$X"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=offpay install test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$X/ca.key" -out "$X/ca.pem" 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$X/server.key" -out "$X/server.csr" 2>/dev/null &&
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$X/server.ext" &&
openssl x509 -req -in "$X/server.csr" -CA "$X/ca.pem" -CAkey "$X/ca.key" -CAcreateserial -days 2 \
  -extfile "$X/server.ext" -out "$X/server.pem" 2>/dev/null || { fail "openssl cannot make the test certificates"; finish; }
chmod 600 "$X/server.key"
"$OFFPAYD" init --ledger "$LEDGER" >"$T/init.out" || fail "installed offpayd init"
contains "init prints the issuer key" "$T/init.out" '^issuer_public_key=[0-9a-f]{64}$'
ikey=$(sed -n 's/^issuer_public_key=//p' "$T/init.out")
# Port 0: the kernel picks a free port, and offpayd prints it.
"$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 --tls-cert "$X/server.pem" --tls-key "$X/server.key" \
  >"$T/server.log" 2>&1 &
SERVER_PID=$!
wait_listening "$T/server.log" "$SERVER_PID" 0 || { fail "the installed offpayd serves: $(cat "$T/server.log")"; finish; }
URL="https://$(sed -n 's/^listening on //p' "$T/server.log" | head -1)"
for who in alice bob; do
  token=$("$OFFPAYD" account --ledger "$LEDGER" open "$who")
  run 0 "$who" init --server "$URL" --account "$who" --token "$token" --ca-file "$X/ca.pem" --issuer-key "$ikey"
done
"$OFFPAYD" account --ledger "$LEDGER" mint alice 10000 >/dev/null || fail "mint"
run 0 alice load 1000 2000 3000 4000
eq "alice holds the coins she loaded" "$(amounts alice)" "1000 2000 3000 4000"
handshake alice bob 3500
eq "[0072]: the 4000 became change 500, locked" "$(amounts alice)" "500 1000 2000 3000"
run 0 bob sync
run 0 alice sync
eq "bob holds 3500 after sync" "$(amounts bob spendable)" "3500"
eq "alice's change is spendable after sync" "$(amounts alice spendable)" "500 1000 2000 3000"
"$OFFPAYD" audit --ledger "$LEDGER" >"$T/audit" 2>&1; eq "audit passes" "$?" 0
finish
