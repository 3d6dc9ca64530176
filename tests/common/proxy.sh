# proxy.sh - offpay-faultproxy for the end-to-end tests and the chaos run
# (sourced, bash, once $T is set: after tests/wallet/lib.sh, or by
# tests/chaos/lib.sh).  Sourced after tests/wallet/lib.sh, it stops the
# proxy and then runs its cleanup on exit; the chaos run has a trap of its own.
#
# start_proxy runs the proxy in front of an offpayd and sets PURL,
# the URL wallets use to go through it; fault arms one rule (the next COUNT
# requests matching METHOD PATH get FAULT), nofault disarms every rule;
# proxy_log shows what the proxy did.  The proxy is stopped on exit with the
# server.
FAULTPROXY=${FAULTPROXY:?FAULTPROXY must name the offpay-faultproxy program}
PROXY_PID=""
PPORT=""
PURL=""
RULES="$T/rules"
PLOG="$T/proxy.log"

stop_proxy() {
  if [ -n "$PROXY_PID" ]; then
    kill "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
    PROXY_PID=""
  fi
}
trap 'stop_proxy; cleanup' EXIT

# start_proxy SERVER_PORT [PORT]: a proxy on 127.0.0.1 in front of the
# offpayd on SERVER_PORT, on a free port, or on PORT (to restart it where the
# wallets expect it).
start_proxy() {
  local i
  : >"$RULES"
  rm -f "$T/proxy.port"
  "$FAULTPROXY" --listen "127.0.0.1:${2:-0}" --to "127.0.0.1:$1" --port-file "$T/proxy.port" \
    --rules "$RULES" --log "$PLOG" 2>>"$T/proxy.err" &
  PROXY_PID=$!
  for i in $(seq 1 100); do
    [ -s "$T/proxy.port" ] && break
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$T/proxy.port" ] || { echo "cannot start offpay-faultproxy: $(cat "$T/proxy.err")" >&2; exit 1; }
  PPORT=$(cat "$T/proxy.port")
  PURL="http://127.0.0.1:$PPORT"
}

# fault METHOD PATH FAULT [COUNT]: arm one rule (replacing any other).
fault() {
  printf '%s\n' "$*" >"$RULES.new" && mv "$RULES.new" "$RULES"
}

nofault() {
  : >"$RULES.new" && mv "$RULES.new" "$RULES"
}

# proxy_lines: how many requests the proxy has logged so far.
proxy_lines() {
  if [ -f "$PLOG" ]; then wc -l <"$PLOG"; else echo 0; fi
}

# wait_log PATTERN: wait (bounded, 15 s) until a line of the proxy's log
# matches PATTERN (grep -E); fails if none does.
wait_log() {
  local i
  for i in $(seq 1 300); do
    grep -Eq -- "$1" "$PLOG" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
