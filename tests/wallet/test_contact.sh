#!/usr/bin/env bash
# test_contact.sh - how the wallet contacts its server (issue 16, docs/wallet.md
# "Settings"): `offpay config` moves it to a new server address, strictly
# checked; a hung server costs --timeout seconds, not 10, by the precedence
# --timeout > $OFFPAY_TIMEOUT > config file > 10 s; on a terminal a slow
# call is announced on one line, and nowhere else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../common/proxy.sh"

ledger 19600
enrol alice 100000
run 0 alice load 1000 2000
unset OFFPAY_TIMEOUT

say "config get lists the settings: the server of init, the default timeout"
run 0 alice config
contains "server line" "$T/out" "^server = $URL\$"
contains "timeout line" "$T/out" "^timeout = 10 \\(from the default\\)\$"
eq "config get --json" "$(j alice . config get)" "{\"server\":\"$URL\",\"timeout\":10,\"timeout_from\":\"default\",\"timeout_config\":null}"
run 0 alice config get server
eq "config get server alone" "$(cat "$T/out")" "$URL"

say "bad URLs and values are usage errors and change nothing"
dump alice >"$T/before.dump"
for bad in "ftp://127.0.0.1:1" "http://" "http://:80" "127.0.0.1:80" "http://h:0" "http://h:65536" "http://h:08" \
  "http://u@h" "http://h/x?y=1" "http://h/#f" "http://h /" "https://[zz]" "http://-h" "HTTP://h"; do
  run 2 alice config set server "$bad"
done
run 2 alice config set timeout 0
run 2 alice config set timeout 3601
run 2 alice config set timeout 1.5
run 2 alice config set colour blue
run 2 alice config unset server
run 2 alice config frob
unchanged "refused settings" alice "$T/before.dump"
ok "no config file written" test ! -e "$T/alice/config"
token=$("$OFFPAYD" account --ledger "$LEDGER" open carol)
run 2 carol init --server "ftp://127.0.0.1:$PORT" --account carol --token "$token"
ok "a refused init leaves no folder" test ! -e "$T/carol"

say "config set server moves the wallet: the next sync goes to the new address (the proxy's port)"
start_proxy "$PORT"
run 0 alice config set server "$PURL"
eq "the new server" "$(j alice .server config get)" "\"$PURL\""
before=$(proxy_lines)
run 0 alice sync
ok "sync went through the new address" test "$(proxy_lines)" -gt "$before"
eq "history says so" "$(j alice '[.events[] | select(.kind == "server") | .detail]' history)" "[\"server $PURL\"]"
run 0 alice config set server "$PURL/"
run 0 alice balance
eq "a path is kept as given" "$(j alice .server config get)" "\"$PURL/\""

say "a hung server: --timeout 1 gives the usual exit 7 after about a second, not 10"
# elapsed MS_VAR COMMAND...: run offpay on alice, expect exit 7, time it in ms.
timed7() {
  local t0 t1
  t0=$(date +%s%N)
  run 7 alice "$@"
  t1=$(date +%s%N)
  ELAPSED=$(((t1 - t0) / 1000000))
}
fault POST /v1/sync delay:20000
timed7 --timeout 1 sync
ok "--timeout 1 is bounded (${ELAPSED} ms)" test "$ELAPSED" -lt 5000
contains "says the outcome is not known" "$T/err" "outcome is not known"
contains "names the server" "$T/err" "$PURL"
fault GET /v1/balance delay:20000
t0=$(date +%s%N)
run 0 alice --timeout=1 balance --json
ELAPSED=$((($(date +%s%N) - t0) / 1000000))
eq "balance: online unknown" "$(jq .online "$T/out")" "null"
ok "balance waits at most a second too (${ELAPSED} ms)" test "$ELAPSED" -lt 5000

say "the config file's timeout applies when no option or environment says otherwise"
run 0 alice config set timeout 1
eq "config file" "$(cat "$T/alice/config" | grep -v '^#')" "timeout = 1"
eq "from the config" "$(j alice '[.timeout, .timeout_from, .timeout_config]' config get)" '[1,"config",1]'
fault POST /v1/sync delay:20000
timed7 sync
ok "config timeout 1 is bounded (${ELAPSED} ms)" test "$ELAPSED" -lt 5000
say "precedence: environment over config, option over environment"
run 0 alice config set timeout 30
eq "env wins over config" "$(OFFPAY_TIMEOUT=2 j alice '[.timeout, .timeout_from, .timeout_config]' config get)" '[2,"environment",30]'
eq "option wins over env" "$(OFFPAY_TIMEOUT=2 "$OFFPAY" --wallet "$T/alice" --timeout 5 config get --json | jq -c '[.timeout, .timeout_from]')" '[5,"option"]'
fault POST /v1/sync delay:20000
OFFPAY_TIMEOUT=1 timed7 sync
ok "env 1 beats config 30 (${ELAPSED} ms)" test "$ELAPSED" -lt 5000
fault POST /v1/sync delay:20000
OFFPAY_TIMEOUT=30 timed7 --timeout 1 sync
ok "option 1 beats env 30 (${ELAPSED} ms)" test "$ELAPSED" -lt 5000
run 2 alice --timeout 0 sync
run 2 alice --timeout abc sync
run 0 alice config unset timeout
ok "unset removes the file" test ! -e "$T/alice/config"
eq "back to the default" "$(j alice .timeout_from config get)" '"default"'

say "a config file edited by hand is read strictly"
printf 'timeout = 5\ncolour = blue\n' >"$T/alice/config"
run 2 alice sync
contains "names the line" "$T/err" "config, line 2: unknown setting"
run 2 alice config set timeout 7
contains "a broken file is not overwritten" "$T/alice/config" "colour"
printf '# mine\n\n  timeout=07\n' >"$T/alice/config"
run 2 alice sync
contains "names the bad value" "$T/err" "line 3: timeout takes 1 to 3600"
printf '# mine\n\n  timeout\t=  7  \n' >"$T/alice/config"
eq "spaces and comments are fine" "$(j alice .timeout config get)" "7"
rm -f "$T/alice/config"

say "on a terminal a slow call is announced once; not when stderr is not a terminal"
fault POST /v1/sync delay:2500
script -qec "'$OFFPAY' --wallet '$T/alice' --timeout 8 sync" /dev/null >"$T/tty.out" 2>&1
contains "the note under a pty" "$T/tty.out" "offpay: contacting $PURL/\\.\\.\\."
eq "one note" "$(grep -c contacting "$T/tty.out")" "1"
fault POST /v1/sync delay:2500
run 0 alice --timeout 8 sync
ok "no note without a terminal" test "$(grep -c contacting "$T/err" "$T/out" | awk -F: '{s += $2} END {print s}')" = 0
nofault
script -qec "'$OFFPAY' --wallet '$T/alice' sync" /dev/null >"$T/tty.out" 2>&1
ok "no note for a quick call" test "$(grep -c contacting "$T/tty.out")" = 0
finish
