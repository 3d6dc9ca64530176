#!/usr/bin/env bash
# test_lib.sh - liboffpay as an app maker gets it, as CI must check it:
# `cmake --install` into a temporary prefix puts the shared and the static
# library, the public headers (and no others) and offpay.pc there; the shared
# library exports the API of those headers and nothing else; examples/pos.c
# and tests/lib/test_api.c build with `pkg-config --cflags --libs offpay`
# alone; then, against a test offpayd, test_api checks the API's answers and
# the point-of-sale example takes two payments from `offpay pay --to` (once
# linked to liboffpay.so, once to liboffpay.a) and syncs them: the balances
# after sync are the proof.
#
# Usage: test_lib.sh BUILD_DIR SOURCE_DIR (ctest passes them, and OFFPAY,
# OFFPAYD; OFFPAY_LIB_CFLAGS: what else to compile with, e.g. the sanitizers
# of a sanitized build).
BUILD=${1:?usage: test_lib.sh BUILD_DIR SOURCE_DIR}
SRC=${2:?usage: test_lib.sh BUILD_DIR SOURCE_DIR}
. "$SRC/tests/wallet/lib.sh"
P=$T/prefix
read -r -a EXTRA <<<"${OFFPAY_LIB_CFLAGS:-}"
POS_PID=""
trap 'if [ -n "$POS_PID" ]; then kill "$POS_PID" 2>/dev/null; wait "$POS_PID" 2>/dev/null; fi; cleanup' EXIT

say "cmake --install puts the library, its headers and offpay.pc in the prefix"
ok "cmake --install succeeds" cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1
PC=$(find "$P" -name offpay.pc -path '*/pkgconfig/*' | head -1)
ok "offpay.pc is installed" test -s "$PC"
ok "the example is installed with the documents" test -s "$P/share/doc/offpay/examples/pos.c"
LIBDIR=$(dirname "$(dirname "$PC")")
ok "liboffpay.a is installed" test -s "$LIBDIR/liboffpay.a"
ok "liboffpay.so.1 is installed" test -s "$LIBDIR/liboffpay.so.1"
ok "liboffpay.so links to it" test "$(readlink "$LIBDIR/liboffpay.so")" = liboffpay.so.1
eq "its SONAME carries the interface version" \
  "$(readelf -d "$LIBDIR/liboffpay.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" liboffpay.so.1
eq "only the public headers are installed" "$(cd "$P/include/offpay" && echo *)" "offpay.h status.h version.h"
contains "offpay.pc names the install prefix" "$PC" "^prefix=$P\$"
contains "offpay.pc lists what a static link needs" "$PC" '^Requires.private: libsodium libcurl jansson sqlite3$'

say "the shared library exports the API of the installed headers, nothing else"
nm -D --defined-only "$LIBDIR/liboffpay.so.1" | awk '{print $3}' | sort >"$T/exported"
grep -h '^OFFPAY_API ' "$P/include/offpay/"*.h | grep -o '^[^(]*(' | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort >"$T/declared"
eq "exported = declared OFFPAY_API ($(diff "$T/exported" "$T/declared" | grep '^[<>]' | head -5 | tr '\n' ' '))" \
  "$(cat "$T/exported")" "$(cat "$T/declared")"
eq "the API has its 25 functions" "$(wc -l <"$T/declared")" 25

say "apps build against it with pkg-config alone"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
eq "pkg-config knows its version" "$(pkg-config --modversion offpay)" "$("$OFFPAY" --version | cut -d' ' -f2)"
eq "pos.c includes no offpay header but offpay.h" \
  "$(grep -o '#include <offpay/[a-z]*\.h>' "$SRC/examples/pos.c" | tr '\n' ' ')" "#include <offpay/offpay.h> "
ok "pos.c is under 150 lines" test "$(wc -l <"$SRC/examples/pos.c")" -lt 150
CC=${CC:-cc}
WARN=(-std=gnu11 -Wall -Wextra -Werror)
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
ok "pos builds with liboffpay.so" "$CC" "${WARN[@]}" "${EXTRA[@]}" -o "$T/pos" "$SRC/examples/pos.c" \
  $(pkg-config --cflags --libs offpay)
# liboffpay.a, with the libraries it needs linked as shared ones: what
# Requires.private names, and Libs.private.  (`pkg-config --static --libs
# offpay` asks for static libcurl's own dependencies too, which Debian's
# libcurl packages do not all install.)
# shellcheck disable=SC2046
ok "pos builds with liboffpay.a" "$CC" "${WARN[@]}" "${EXTRA[@]}" -o "$T/pos-static" "$SRC/examples/pos.c" \
  $(pkg-config --cflags offpay) "$LIBDIR/liboffpay.a" $(pkg-config --libs $(pkg-config --print-requires-private offpay)) \
  $(sed -n 's/^Libs.private: //p' "$PC")
eq "pos-static needs no liboffpay.so" "$(readelf -d "$T/pos-static" | grep -c 'liboffpay')" 0
# shellcheck disable=SC2046
ok "test_api builds with liboffpay.so" "$CC" "${WARN[@]}" "${EXTRA[@]}" -pthread -I"$SRC/tests/common" \
  -o "$T/test_api" "$SRC/tests/lib/test_api.c" "$SRC/tests/common/check.c" $(pkg-config --cflags --libs offpay)
# A C++ app links the same symbols (the headers declare them extern "C").
if command -v "${CXX:-c++}" >/dev/null; then
  printf '#include <offpay/offpay.h>\n#include <cstdio>\nint main() { std::printf("%%s %%s\\n", offpay_version(), offpay_status_code(OFFPAY_ERR_USAGE)); return 0; }\n' >"$T/app.cc"
  # shellcheck disable=SC2046
  ok "a C++ program builds with liboffpay.so" "${CXX:-c++}" -Wall -Wextra -Werror "${EXTRA[@]}" -o "$T/app" "$T/app.cc" \
    $(pkg-config --cflags --libs offpay)
fi
[ "$FAILS" -eq 0 ] || finish
export LD_LIBRARY_PATH="$LIBDIR"
if [ -x "$T/app" ]; then
  eq "the C++ program runs" "$("$T/app")" "$(pkg-config --modversion offpay) usage"
fi
ldd "$T/pos" >"$T/ldd"
contains "pos runs on the installed liboffpay.so.1" "$T/ldd" "liboffpay.so.1 => $LIBDIR/liboffpay.so.1"

say "the API's answers, against a server"
ledger 21200
enrol shop
enrol alice 10000
enrol bob 5000
run 0 alice load 1000 2000 3000 4000
run 0 bob load 1000 2000
"$T/test_api" "$T/nowhere" "$T/shop" "$T/bob" >"$T/api.out" 2>&1
rc=$? # (before the $(...) below, which sets $? again)
eq "test_api passes ($(tail -3 "$T/api.out"))" "$rc" 0

# pos_sale PROGRAM AMOUNT: one sale at the terminal PROGRAM, which alice pays.
pos_sale() {
  local prog=$1 amount=$2 i port=""
  printf '%s\n' "$amount" | "$prog" "$T/shop" 127.0.0.1:0 >"$T/pos.out" 2>&1 &
  POS_PID=$!
  for i in $(seq 1 200); do
    grep -q "^sale 1: waiting for a customer to pay $amount\$" "$T/pos.out" && break
    kill -0 "$POS_PID" 2>/dev/null || break
    sleep 0.05
  done
  port=$(sed -n 's/^pos: shop takes payments on port \([0-9]*\) .*/\1/p' "$T/pos.out")
  if [ -z "$port" ]; then fail "$prog does not listen: $(cat "$T/pos.out")"; return; fi
  run 0 alice pay --to "127.0.0.1:$port" "$amount" --payee shop --timeout 20
  for i in $(seq 1 400); do kill -0 "$POS_PID" 2>/dev/null || break; sleep 0.05; done
  wait "$POS_PID"
  local rc=$?
  eq "$(basename "$prog") exits 0 after its sale ($(tr '\n' '|' <"$T/pos.out"))" "$rc" 0
  POS_PID=""
  contains "$(basename "$prog") took $amount from alice" "$T/pos.out" "^sale 1: paid $amount by alice \(record [0-9a-f]{16}\)\$"
  contains "$(basename "$prog") synced" "$T/pos.out" '^synced: [0-9]+ payment\(s\) settled$'
}

say "the point-of-sale example takes payments over TCP and syncs them"
pos_sale "$T/pos" 3500
contains "the first sync settled bob's 700 and 300 and the 3500" "$T/pos.out" '^synced: 3 payment\(s\) settled$'
contains "pos shows the balance after sync" "$T/pos.out" '^balance: spendable 4500, waiting for sync 0$'
pos_sale "$T/pos-static" 1200
contains "pos-static shows the balance after sync" "$T/pos.out" '^balance: spendable 5700, waiting for sync 0$'
eq "the shop holds the three payments as coins" "$(amounts shop spendable)" "300 700 1200 3500"
run 0 alice sync
run 0 bob sync
sum() { amounts "$1" spendable | tr ' ' '\n' | awk '{s += $1} END {print s + 0}'; }
eq "alice paid 4700 of her 10000" "$(sum alice)" 5300
eq "alice has nothing left in doubt or locked" "$(amounts alice)" "$(amounts alice spendable)"
eq "bob paid 1000 of his 3000" "$(sum bob)" 2000
"$OFFPAYD" audit --ledger "$LEDGER" >"$T/audit" 2>&1
rc=$?
eq "audit passes ($(head -c 300 "$T/audit"))" "$rc" 0

say "a terminal with no wallet says why"
"$T/pos-static" "$T/nowhere" 127.0.0.1:0 </dev/null >"$T/pos.out" 2>"$T/pos.err"
eq "pos on a folder with no wallet exits 2 (usage)" "$?" 2
contains "with a sentence" "$T/pos.err" '^pos: .+'
finish
