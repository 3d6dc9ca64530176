#!/usr/bin/env bash
# test_key_modes.sh - offpay refuses, as ssh does, a wallet whose folder
# others may write to (they could swap its key) or whose key file others may
# read: exit 9 (the key is unavailable), one sentence that names the file
# and the chmod that fixes it, and nothing changed.  Once fixed, it works.
. "$(dirname "$0")/lib.sh"

ledger 19700
enrol alice 10000
run 0 alice load 1000
dump alice >"$T/before.dump"

# refused MODE_WHAT PATTERN ARGS...: exit 9, the sentence matches, nothing changed.
refused() {
  local what=$1 pattern=$2; shift 2
  run 9 alice "$@"
  contains "$what: the sentence names the file and the fix" "$T/err" "$pattern"
  eq "$what: one sentence" "$(wc -l <"$T/err")" "1"
  unchanged "$what: offpay $*" alice "$T/before.dump"
}

say "a key file readable by others: refused"
chmod 644 "$T/alice/key"
refused "key 0644" "key file $T/alice/key .*chmod 600 $T/alice/key" balance --offline
refused "key 0644" "chmod 600" load 10
refused "key 0644" "chmod 600" sync
eq "the key's mode is left alone" "$(stat -c %a "$T/alice/key")" "644"
chmod 640 "$T/alice/key"
refused "key 0640" "chmod 600" balance --offline
chmod 604 "$T/alice/key"
refused "key 0604" "chmod 600" balance --offline
chmod 600 "$T/alice/key"

say "a wallet folder writable by others: refused"
chmod 777 "$T/alice"
refused "folder 0777" "wallet folder $T/alice .*chmod go-w $T/alice" balance --offline
refused "folder 0777" "chmod go-w" unload --all
chmod 770 "$T/alice"
refused "folder 0770" "chmod go-w" balance --offline
eq "the folder's mode is left alone" "$(stat -c %a "$T/alice")" "770"

say "fixed as the sentence says: it works again"
chmod go-w "$T/alice"
run 0 alice balance --offline --json
contains "coins still there" "$T/out" '"spendable":1000'
chmod 700 "$T/alice"
run 0 alice load 10
contains "load works" "$T/out" "10"

say "init into an existing folder writable by others: refused, nothing written"
token=$("$OFFPAYD" account --ledger "$LEDGER" open carol)
mkdir -m 777 "$T/carol"
chmod 777 "$T/carol"
run 9 carol init --server "$URL" --account carol --token "$token"
contains "init names the folder" "$T/err" "chmod go-w $T/carol"
eq "nothing written" "$(ls -A "$T/carol" | wc -l)" "0"

finish
