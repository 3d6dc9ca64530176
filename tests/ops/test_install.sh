#!/usr/bin/env bash
# test_install.sh - what `cmake --install` puts in a prefix is complete and
# works: both programs (and their --version), the man pages (groff finds no
# fault in them), the documents, and a systemd unit that `systemd-analyze
# verify` accepts and that names the installed offpayd.  Then the installed
# programs run the start of the patent's scenario: a ledger, a server on
# 127.0.0.1, an enrolled wallet that loads coins.
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
eq "systemd-analyze verify exits 0 ($(head -c 600 "$T/verify"))" "$?" 0
if grep -q 'offpayd.service' "$T/verify"; then fail "systemd-analyze verify complains: $(cat "$T/verify")"; fi

say "the installed programs run the scenario's start"
"$OFFPAYD" init --ledger "$LEDGER" >"$T/init.out" || fail "installed offpayd init"
contains "init prints the issuer key" "$T/init.out" '^issuer_public_key=[0-9a-f]{64}$'
# Port 0: the kernel picks a free port, and offpayd prints it.
"$OFFPAYD" serve --ledger "$LEDGER" --listen 127.0.0.1:0 >"$T/server.log" 2>&1 &
SERVER_PID=$!
wait_listening "$T/server.log" "$SERVER_PID" 0 || { fail "the installed offpayd serves: $(cat "$T/server.log")"; finish; }
URL="http://$(sed -n 's/^listening on //p' "$T/server.log" | head -1)"
enrol alice 10000
run 0 alice load 1000 4000
eq "alice holds the coins she loaded" "$(amounts alice)" "1000 4000"
run 0 alice balance --json
eq "alice's online balance went down" "$(jq -r .online "$T/out")" "5000"
finish
