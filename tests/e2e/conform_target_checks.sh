#!/usr/bin/env bash
# End-to-end: `conform` and `scenario run` check the target before any case runs. A target
# that is unreachable, whose TLS certificate is not trusted, or that is not an ACME
# directory is one line (with a hint to pass --trust-ca for TLS) and exit 2; so is a
# missing file given to an option, its path named once.
source "$(dirname "$0")/lib.sh"

expect_usage() {  # name needle command...
  local name=$1 needle=$2; shift 2
  local rc=0
  "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.log" || rc=$?
  [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2: $(tail -3 "$E2E_TMP/$name.log")"
  grep -qF -- "$needle" "$E2E_TMP/$name.log" || fail "$name: no \"$needle\" in: $(cat "$E2E_TMP/$name.log")"
  [ "$(wc -l <"$E2E_TMP/$name.log")" -eq 1 ] || fail "$name: more than one line: $(cat "$E2E_TMP/$name.log")"
  if grep -q '^\[ *1/' "$E2E_TMP/$name.log"; then fail "$name: a case ran"; fi
}

DOWN="https://127.0.0.1:$(free_port)/dir"
expect_usage conform-down "$DOWN is unreachable" "$ATTESTLAB_BIN" conform --target "$DOWN" \
  --report-dir "$E2E_TMP/r1"
[ ! -e "$E2E_TMP/r1" ] || fail "conform-down wrote reports"
"$ATTESTLAB_BIN" ca init --dir "$E2E_TMP/ca" >/dev/null || fail "ca init"
expect_usage scenario-down "$DOWN is unreachable" "$ATTESTLAB_BIN" scenario run happy-iphone \
  --target "$DOWN" --attestation-ca "$E2E_TMP/ca"

expect_usage missing-profile "$E2E_TMP/nope.json: No such file or directory" \
  "$ATTESTLAB_BIN" conform --target-profile "$E2E_TMP/nope.json"
[ "$(grep -o "nope.json" "$E2E_TMP/missing-profile.log" | wc -l)" -eq 1 ] || fail "the path is printed more than once"
expect_usage missing-trust-ca "--trust-ca: $E2E_TMP/nope.pem: No such file or directory" \
  "$ATTESTLAB_BIN" conform --target "$DOWN" --trust-ca "$E2E_TMP/nope.pem"
expect_usage missing-baseline "$E2E_TMP/b.json: No such file or directory" \
  "$ATTESTLAB_BIN" conform --embedded --baseline "$E2E_TMP/b.json"

start_server
expect_usage conform-tls "pass that CA with --trust-ca PEM" env -u SSL_CERT_FILE \
  "$ATTESTLAB_BIN" conform --target "$DIRECTORY_URL"
# Something that is not ACME: the server's own TLS certificate file served over HTTP.
# It binds a port the system picks and prints it (a port picked free may be taken before a
# later bind, and then another listener would answer).
/usr/bin/python3 -c 'import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.HTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()' "$E2E_TMP" >"$E2E_TMP/http.port" 2>"$E2E_TMP/http.log" &
E2E_PIDS+=($!)
for _ in $(seq 100); do [ -s "$E2E_TMP/http.port" ] && break; sleep 0.1; done
NOT_ACME_PORT=$(cat "$E2E_TMP/http.port")
[ -n "$NOT_ACME_PORT" ] || fail "the plain HTTP server did not start: $(cat "$E2E_TMP/http.log")"
expect_usage conform-not-acme "is not an ACME directory: it answered HTTP 404" \
  "$ATTESTLAB_BIN" conform --target "http://127.0.0.1:$NOT_ACME_PORT/acme/directory"
pass "a target that is not there: one line, exit 2, no case run"
