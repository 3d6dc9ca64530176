#!/usr/bin/env bash
# test_faultproxy.sh - offpay-faultproxy does what it says, fault by fault,
# against a real offpayd: the client's view (curl, offpay) and the server's
# side effect (an online balance in the ledger), keep-alive connections,
# counts, rules read again when they change, and answers framed by
# Content-Length or chunked encoding (from a small python3 server).
. "$(dirname "$0")/../wallet/lib.sh"
. "$(dirname "$0")/proxy.sh"

ledger 19500
start_proxy "$PORT"
export OFFPAY_TIMEOUT=1

# online NAME: the account's online balance as the ledger holds it.
online() { sqlite3 "$T/ledger.db" "SELECT online FROM accounts WHERE name = '$1'"; }
# last_log: the proxy's last log line without its connection number.
last_log() { tail -1 "$PLOG" | sed 's/ c=[0-9]*$//'; }
# GET /v1/health: no auth, no effect; offpayd may not serve it yet (404):
# any answer of the server will do, and the log says which status it was.
HS=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/health")

say "no rule: requests pass; curl's two requests share one kept-alive connection"
curl -s "$PURL/v1/health" "$PURL/v1/health" >"$T/two.out"
eq "curl through the proxy" "$?" "0"
eq "two requests logged" "$(proxy_lines)" "2"
eq "on one connection" "$(awk '{print $5}' "$PLOG" | sort -u | wc -l)" "1"
eq "log line" "$(last_log)" "GET /v1/health none $HS"

say "offpay works through the proxy"
token=$("$OFFPAYD" account --ledger "$LEDGER" open alice)
"$OFFPAYD" account --ledger "$LEDGER" mint alice 100000 >/dev/null
run 0 alice init --server "$PURL" --account alice --token "$token"
run 0 alice load 1000
eq "online after a load" "$(online alice)" "99000"

say "drop_request: the server never sees it, the client gets no answer"
fault POST /v1/load drop_request
run 7 alice load 2000
eq "log" "$(last_log)" "POST /v1/load drop_request -"
eq "the server did nothing" "$(online alice)" "99000"
fault GET /v1/health drop_request
curl -s "$PURL/v1/health" >/dev/null
eq "curl: empty reply (52)" "$?" "52"

say "drop_answer: the server committed, the client got nothing"
fault POST /v1/load drop_answer
run 7 alice load 2000
eq "log" "$(last_log)" "POST /v1/load drop_answer 200"
eq "the server did it" "$(online alice)" "97000"
fault GET /v1/health drop_answer
curl -s "$PURL/v1/health" >/dev/null
eq "curl: empty reply (52)" "$?" "52"

say "reset_answer: part of the answer, then a reset"
fault POST /v1/load reset_answer
run 7 alice load 3000
eq "log" "$(last_log)" "POST /v1/load reset_answer 200"
eq "the server did it" "$(online alice)" "94000"
fault GET /v1/health reset_answer
curl -sv "$PURL/v1/health" >/dev/null 2>"$T/curl.err"
rc=$?
ok "curl: reset while receiving (56), got $rc" test "$rc" = 56
contains "part of the answer arrived" "$T/curl.err" "< HTTP/1.1 $HS"

say "delay:MS: the answer comes late (past the client's timeout of 1 s)"
fault POST /v1/load delay:2500
start=$(date +%s%N)
run 7 alice load 4000
took=$((($(date +%s%N) - start) / 1000000))
ok "the wallet gave up after its timeout (${took} ms)" test "$took" -ge 900 -a "$took" -lt 2400
eq "the server did it" "$(online alice)" "90000"
fault GET /v1/health delay:300
start=$(date +%s%N)
curl -s "$PURL/v1/health" >/dev/null
eq "curl waits and gets the answer" "$?" "0"
took=$((($(date +%s%N) - start) / 1000000))
ok "it was held ${took} ms" test "$took" -ge 300

say "duplicate: the server gets the request twice, the client the second answer"
fault POST /v1/load duplicate
"$OFFPAY" --wallet "$T/alice" load 5000 >/dev/null 2>&1
ok "the server answered twice: $(last_log)" grep -Eq '^POST /v1/load duplicate 200,[0-9]{3}$' <(last_log)
eq "one load at the server" "$(online alice)" "85000"
fault GET /v1/health duplicate
curl -s "$PURL/v1/health" >/dev/null
eq "curl gets an answer" "$?" "0"
eq "log" "$(last_log)" "GET /v1/health duplicate $HS,$HS"

say "delay_request:MS: the request reaches the server late"
fault POST /v1/load delay_request:2500
: >"$PLOG"
run 7 alice load 6000
eq "the server has not seen it yet" "$(online alice)" "85000"
ok "then it arrives" wait_log '^POST /v1/load delay_request:2500 200 '
eq "and the server did it" "$(online alice)" "79000"
fault GET /v1/health delay_request:300
start=$(date +%s%N)
curl -s "$PURL/v1/health" >/dev/null
eq "curl waits and gets the answer" "$?" "0"
took=$((($(date +%s%N) - start) / 1000000))
ok "it was held ${took} ms" test "$took" -ge 300

say "COUNT: the next N matching requests; then none; a rewrite re-arms"
fault GET /v1/health drop_answer 2
for i in 1 2 3; do curl -s "$PURL/v1/health" >/dev/null; echo $?; done >"$T/rcs"
eq "two dropped, then through" "$(tr '\n' ' ' <"$T/rcs")" "52 52 0 "
fault GET /v1/health drop_answer 2
curl -s "$PURL/v1/health" >/dev/null
eq "re-armed" "$?" "52"
say "* matches any method or path; other paths pass"
fault '*' /v1/balance drop_answer
curl -s "$PURL/v1/health" >/dev/null
eq "other path passes" "$?" "0"
nofault
curl -s "$PURL/v1/health" >/dev/null
eq "nofault" "$?" "0"

say "framing: Content-Length request bodies, chunked and Content-Length answers, keep-alive"
if command -v python3 >/dev/null; then
  cat >"$T/echo.py" <<'PY'
# Echoes a POST body back, chunked in pieces of 7 bytes, or with Content-Length for GET.
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(body), 7):
            c = body[i:i + 7]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
        self.wfile.write(b"0\r\n\r\n")
    def do_GET(self):
        b = b"plain " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
  python3 "$T/echo.py" "$T/echo.port" & ECHO_PID=$!
  trap 'kill $ECHO_PID 2>/dev/null; wait $ECHO_PID 2>/dev/null; stop_proxy; cleanup' EXIT
  for i in $(seq 1 100); do [ -s "$T/echo.port" ] && break; sleep 0.05; done
  stop_proxy; start_proxy "$(cat "$T/echo.port")"
  head -c 100000 /dev/urandom | base64 -w0 >"$T/big"
  : >"$PLOG"
  curl -sf --data-binary @"$T/big" "$PURL/echo" -o "$T/echoed" --next "$PURL/x?y=1" -o "$T/plain"
  eq "curl" "$?" "0"
  ok "the chunked answer is the body sent" cmp -s "$T/big" "$T/echoed"
  eq "the Content-Length answer" "$(cat "$T/plain")" "plain /x?y=1"
  eq "one connection for both" "$(awk '{print $5}' "$PLOG" | sort -u | wc -l)" "1"
  eq "the path is logged without its query" "$(awk '{print $2}' "$PLOG" | tail -1)" "/x"
  fault POST /echo reset_answer
  curl -s --data-binary @"$T/big" "$PURL/echo" -o "$T/cut"
  ok "a chunked answer cut half-way" test "$(stat -c %s "$T/cut")" -lt "$(stat -c %s "$T/big")"
else
  say "(python3 missing: framing checks skipped)"
fi
finish
