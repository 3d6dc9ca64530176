# server.sh - waiting for and stopping a test's offpayd (sourced, bash), for
# tests/wallet/lib.sh and the chaos run (tests/chaos/lib.sh), which each
# start it their own way and keep its pid in SERVER_PID.

# wait_listening LOG PID BEFORE: wait (bounded, 10 s) until the offpayd with
# PID has written a new "listening on" line to LOG (it had BEFORE such lines).
# Probing the port instead could reach another test's server on that port.
wait_listening() {
  local log=$1 pid=$2 before=$3 i
  for i in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(grep -c '^listening on ' "$log" 2>/dev/null)" -gt "$before" ] && return 0
    sleep 0.05
  done
  return 1
}

# stop_server: SIGTERM to the offpayd of SERVER_PID (if any), wait for it.
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
}
