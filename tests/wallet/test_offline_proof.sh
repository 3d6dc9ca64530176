#!/usr/bin/env bash
# test_offline_proof.sh - a cloned wallet trying to outrun issue 13's limits,
# through the commands.  The time limit: a copy of alice's folder keeps her
# old sync stamp while alice syncs on; eight days later the copy refuses to
# pay by itself (payer side), and when forced (its clock set back, its own
# store told it synced, a stamp of another wallet slipped in, no stamp at
# all) the payee refuses it offline: a stale or missing stamp is the limit
# (exit 6), a stamp that is not the payer's is a forgery (exit 4).  The
# holding limit: what the copies load together stays within it (the server
# refuses, exit 6).  `offpayd audit` after each step.  The server's clock of
# stamps and certificates is moved with $OFFPAYD_NOW (tests only).
. "$(dirname "$0")/lib.sh"

ledger 19450
enrol alice 100000
enrol bob 100000

stamp_hex() { sqlite3 "$T/$1/wallet.db" "SELECT hex(sync_stamp) FROM limits"; }
kind() { head -c 7 "$1"; }

say "enrolment hands out a stamp; a record carries it (type 10, 511 bytes for one coin)"
ok "alice has a stamp" test -n "$(stamp_hex alice)"
run 0 alice load 1000 2000 3000 4000
handshake alice bob 300
eq "a record is still OP1REC:" "$(kind "$T/rec.txt")" "OP1REC:"
bytes=$(( ($(tr -d '\n' <"$T/rec.txt" | wc -c) - 7) * 5 / 8 ))
eq "one coin with change" "$bytes" "511"
run 0 alice sync
run 0 bob sync
audit "a stamped payment"

say "a copy of alice's folder; eight days on, alice syncs (a fresh stamp), the copy does not"
cp -a "$T/alice" "$T/clone"
now=$(date +%s)
later=$((now + 8 * 86400))
old_stamp=$(stamp_hex clone)
stop_server
export OFFPAYD_NOW=$later
restart_server
unset OFFPAYD_NOW
contains "the server says its clock is moved" "$T/server.log" "OFFPAYD_NOW is set"
OFFPAY_NOW=$later run 0 alice sync
OFFPAY_NOW=$later run 0 bob sync
ok "alice's stamp is new" test "$(stamp_hex alice)" != "$old_stamp"
eq "the copy's is not" "$(stamp_hex clone)" "$old_stamp"

say "alice pays bob at that time: bob accepts her fresh stamp"
run 0 bob request 400 --out "$T/r1.txt"
OFFPAY_NOW=$later run 0 alice pay "$T/r1.txt" --out "$T/c1.txt"
OFFPAY_NOW=$later run 0 bob accept "$T/c1.txt" --out "$T/f1.txt"
OFFPAY_NOW=$later run 0 alice confirm "$T/f1.txt"

say "the copy refuses to pay by itself: its last sync is eight days old (exit 6)"
run 0 bob request 500 --out "$T/r2.txt"
dump clone >"$T/before.dump"
OFFPAY_NOW=$later run 6 clone pay "$T/r2.txt" --out "$T/c2.txt"
contains "since when" "$T/err" "last synced at .* longer ago than its offline time limit of 604800 seconds"
unchanged "the copy's refused payment" clone "$T/before.dump"

say "forced with its clock set back, it pays; bob, eight days on, refuses the stale stamp (exit 6)"
OFFPAY_NOW=$((now + 60)) run 0 clone pay "$T/r2.txt" --out "$T/c2.txt"
dump bob >"$T/bob.dump"
OFFPAY_NOW=$later run 6 bob accept "$T/c2.txt" --out "$T/f2.txt"
contains "the payee says why" "$T/err" "payer alice last synced at .* \(its sync stamp\), longer ago than this wallet's offline time limit of 604800 seconds"
unchanged "bob after a stale stamp" bob "$T/bob.dump"
ok "no confirmation" test ! -s "$T/f2.txt"
audit "the stale copy's attempt"

say "forced by telling its store it synced just now: the stamp still says when it did (exit 6)"
run 0 bob request 600 --out "$T/r3.txt"
dump bob >"$T/bob.dump"
sqlite3 "$T/clone/wallet.db" "UPDATE limits SET last_sync = $later"
OFFPAY_NOW=$later run 0 clone pay "$T/r3.txt" --out "$T/c3.txt"
OFFPAY_NOW=$later run 6 bob accept "$T/c3.txt" --out "$T/f3.txt"
contains "stale" "$T/err" "longer ago than this wallet's offline time limit"
unchanged "bob after a lying store" bob "$T/bob.dump"

say "forced with bob's fresh stamp in its store: a stamp of another wallet is a forgery (exit 4)"
run 0 bob request 700 --out "$T/r4.txt"
dump bob >"$T/bob.dump"
sqlite3 "$T/clone/wallet.db" "UPDATE limits SET sync_stamp = X'$(stamp_hex bob)'"
OFFPAY_NOW=$later run 0 clone pay "$T/r4.txt" --out "$T/c4.txt"
OFFPAY_NOW=$later run 4 bob accept "$T/c4.txt" --out "$T/f4.txt"
contains "forged" "$T/err" "sync stamp is not the issuer's or is another wallet's"
unchanged "bob after another wallet's stamp" bob "$T/bob.dump"

say "forced with no stamp at all (a record of an older offpay, type 4): refused as unproven (exit 6)"
run 0 bob request 800 --out "$T/r5.txt"
dump bob >"$T/bob.dump"
sqlite3 "$T/clone/wallet.db" "UPDATE limits SET sync_stamp = NULL"
OFFPAY_NOW=$later run 0 clone pay "$T/r5.txt" --out "$T/c5.txt"
bytes=$(( ($(tr -d '\n' <"$T/c5.txt" | wc -c) - 7) * 5 / 8 ))
eq "a type-4 record, one coin with change" "$bytes" "421"
OFFPAY_NOW=$later run 6 bob accept "$T/c5.txt" --out "$T/f5.txt"
contains "no stamp" "$T/err" "carries no sync stamp"
unchanged "bob after a record without a stamp" bob "$T/bob.dump"
audit "the forced copies"

say "the honest payment settles; the copy's never reached bob"
OFFPAY_NOW=$later run 0 alice sync
OFFPAY_NOW=$later run 0 bob sync
eq "bob got 300 and 400" "$(amounts bob)" "300 400"
audit "the settlement"

say "the holding limit: alice and her copy together cannot load past it (the server refuses, exit 6)"
held=$(j alice .used.holding limits)
limit=$((held + 3000))
"$OFFPAYD" limits --ledger "$LEDGER" --wallet "$(wid alice)" --holding "$limit" >/dev/null || fail "limits --holding"
OFFPAY_NOW=$later run 0 alice sync
OFFPAY_NOW=$later run 0 alice load 2000
cp -a "$T/alice" "$T/clone2"
OFFPAY_NOW=$later run 0 alice load 1000
OFFPAY_NOW=$later run 6 clone2 load 1000
contains "the server's figures" "$T/err" "above its holding limit of $limit"
audit "the copies' loads"
finish
