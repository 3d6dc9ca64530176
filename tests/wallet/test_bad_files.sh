#!/usr/bin/env bash
# test_bad_files.sh - hostile and stale message files: empty, garbage,
# truncated, a tampered byte, the wrong kind of message, a record for another
# payee, a replayed record, a replayed confirmation, a foreign confirmation.
# Each is refused with its documented exit code and leaves the wallet exactly
# as it was (the whole store is compared before and after).
. "$(dirname "$0")/lib.sh"

ledger 19200
enrol alice 100000
enrol bob
enrol carol
run 0 alice load 1000 2000 3000 4000
run 0 bob request 3500 --out "$T/req.txt"
run 0 alice pay "$T/req.txt" --out "$T/rec.txt"
run 0 carol request 3500 --out "$T/req_carol.txt"

# refuse RC WALLET COMMAND FILE WHAT: the command on FILE exits RC and changes nothing.
refuse() {
  local rc=$1 wallet=$2 cmd=$3 file=$4 what=$5
  dump "$wallet" >"$T/before.dump"
  run "$rc" "$wallet" "$cmd" "$file" --out "$T/answer.txt"
  unchanged "$what" "$wallet" "$T/before.dump"
  ok "$what: no answer file is left" test ! -e "$T/answer.txt"
}
# confirm takes no --out
refuse_confirm() {
  local rc=$1 wallet=$2 file=$3 what=$4
  dump "$wallet" >"$T/before.dump"
  run "$rc" "$wallet" confirm "$file"
  unchanged "$what" "$wallet" "$T/before.dump"
}

say "empty, garbage, binary and oversized files: exit 3"
: >"$T/empty.txt"
printf 'hello, this is not a payment\n' >"$T/garbage.txt"
head -c 300 /dev/urandom >"$T/binary.txt"
head -c 100000 /dev/zero | tr '\0' 'A' >"$T/huge.txt"
for f in empty garbage binary huge; do
  refuse 3 bob accept "$T/$f.txt" "accept $f"
done
refuse 3 alice pay "$T/empty.txt" "pay empty"
refuse 3 alice pay "$T/garbage.txt" "pay garbage"
refuse_confirm 3 alice "$T/binary.txt" "confirm binary"
refuse_confirm 3 alice "$T/huge.txt" "confirm huge"
run 3 bob accept "$T/empty.txt"
contains "the empty file is named as empty" "$T/err" "empty"

say "truncated record: exit 3"
rec=$(cat "$T/rec.txt")
printf '%s\n' "${rec:0:$((${#rec} / 2))}" >"$T/trunc.txt"
refuse 3 bob accept "$T/trunc.txt" "truncated record"
printf '%s\n' "${rec:0:$((${#rec} - 8))}" >"$T/trunc2.txt"
refuse 3 bob accept "$T/trunc2.txt" "record missing its last characters"

say "the wrong kind of message: a request where a record is expected: exit 3"
refuse 3 bob accept "$T/req.txt" "accept of a request"
refuse 3 alice pay "$T/rec.txt" "pay of a record"

say "a tampered byte: exit 3 or 4, never accepted"
# Flip characters across the whole text; each must be refused without change.
dump bob >"$T/before.dump"
n=${#rec}
for pos in 10 77 200 $((n - 30)) $((n - 3)); do
  c=${rec:$pos:1}
  if [ "$c" = "A" ]; then r=B; else r=A; fi
  printf '%s%s%s\n' "${rec:0:$pos}" "$r" "${rec:$((pos + 1))}" >"$T/tampered.txt"
  CHECKS=$((CHECKS + 1))
  "$OFFPAY" --wallet "$T/bob" accept "$T/tampered.txt" --out "$T/answer.txt" >/dev/null 2>"$T/err"
  rc=$?
  case $rc in 3|4) ;; *) fail "tampered at $pos: exit $rc, want 3 or 4";; esac
done
unchanged "tampered records" bob "$T/before.dump"

say "a record for another payee: carol refuses it (exit 4)"
refuse 4 carol accept "$T/rec.txt" "record for another payee"
contains "says it is for another wallet" "$T/err" "another wallet"

say "bob accepts the real record; a replay of it is refused (exit 4)"
run 0 bob accept "$T/rec.txt" --out "$T/conf.txt"
refuse 4 bob accept "$T/rec.txt" "replayed record"
contains "says it is a replay" "$T/err" "replay"
eq "still one incoming payment" "$(j bob .incoming_unsynced balance)" "3500"

say "alice confirms; a replayed confirmation is refused (exit 4)"
run 0 alice confirm "$T/conf.txt"
refuse_confirm 4 alice "$T/conf.txt" "replayed confirmation"
contains "says it is a replay" "$T/err" "replay"
eq "change locked once" "$(amounts alice locked)" "500"

say "a confirmation for a payment another wallet made: exit 4"
refuse_confirm 4 carol "$T/conf.txt" "foreign confirmation"

say "a tampered confirmation: exit 3 or 4, unchanged"
run 0 bob request 100 --out "$T/req5.txt"
run 0 alice pay "$T/req5.txt" --out "$T/rec5.txt"
run 0 bob accept "$T/rec5.txt" --out "$T/conf5.txt"
conf=$(cat "$T/conf5.txt")
dump alice >"$T/before.dump"
for pos in 12 60 $((${#conf} - 5)); do
  c=${conf:$pos:1}
  if [ "$c" = "A" ]; then r=B; else r=A; fi
  printf '%s%s%s\n' "${conf:0:$pos}" "$r" "${conf:$((pos + 1))}" >"$T/tconf.txt"
  CHECKS=$((CHECKS + 1))
  "$OFFPAY" --wallet "$T/alice" confirm "$T/tconf.txt" >/dev/null 2>"$T/err"
  rc=$?
  case $rc in 3|4) ;; *) fail "tampered confirmation at $pos: exit $rc, want 3 or 4";; esac
done
unchanged "tampered confirmations" alice "$T/before.dump"
run 0 alice confirm "$T/conf5.txt"

say "a file that does not exist: exit 2"
refuse 2 bob accept "$T/no-such-file.txt" "missing file"
finish
