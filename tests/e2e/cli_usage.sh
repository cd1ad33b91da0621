#!/usr/bin/env bash
# What a new user meets first: wrong subcommands, missing or malformed files and unusable
# start-up flags are usage errors (exit 2, one line naming the flag and the path), never
# start-up failures (3); `serve` says when it shuts down.
source "$(dirname "$0")/lib.sh"

# expect_usage "what" substring -- command...: exit 2 and stderr contains substring.
expect_usage() {
  local what=$1 want=$2
  shift 3
  local rc=0
  "$@" >"$E2E_TMP/out.log" 2>"$E2E_TMP/err.log" || rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2 ($(cat "$E2E_TMP/err.log"))"
  grep -qF -- "$want" "$E2E_TMP/err.log" || fail "$what: stderr lacks \"$want\": $(cat "$E2E_TMP/err.log")"
  [ "$(wc -l <"$E2E_TMP/err.log")" -eq 1 ] || fail "$what: more than one line: $(cat "$E2E_TMP/err.log")"
  pass "$what"
}

A=$ATTESTLAB_BIN
expect_usage "unknown subcommand" 'unknown subcommand "bogus"' -- "$A" bogus
for flag in --inventory --policy --eab-keys --attestation-roots; do
  expect_usage "serve $flag missing file" "$flag: /nope/x.json: No such file or directory" -- \
    "$A" serve --data-dir "$E2E_TMP/d" "$flag" /nope/x.json
done
expect_usage "conform --target-profile missing" "--target-profile: /nope: No such file or directory" -- \
  "$A" conform --target-profile /nope
expect_usage "load --trust-ca missing" "--trust-ca: /nope: No such file or directory" -- \
  "$A" load --target https://127.0.0.1:1/dir --trust-ca /nope --count 1
expect_usage "mdm serve --policy missing" "--policy: /nope: No such file or directory" -- \
  "$A" mdm serve --acme-directory https://127.0.0.1:1/dir --policy /nope

printf '{"match": "serial",\n "curves": [P-256]}\n' >"$E2E_TMP/policy.json"
expect_usage "serve malformed policy: line and column" "line 2, column" -- \
  "$A" serve --data-dir "$E2E_TMP/d" --policy "$E2E_TMP/policy.json"
printf '[{"serial": "C02X", "status": "active"}' >"$E2E_TMP/inventory.json"
expect_usage "serve malformed inventory" "inventory $E2E_TMP/inventory.json: invalid JSON" -- \
  "$A" serve --data-dir "$E2E_TMP/d" --inventory "$E2E_TMP/inventory.json"
expect_usage "serve --store mysql" '--store must be sqlite:PATH or postgresql://' -- \
  "$A" serve --data-dir "$E2E_TMP/d" --store mysql://x
touch "$E2E_TMP/plainfile"
expect_usage "serve unwritable --data-dir" "--data-dir $E2E_TMP/plainfile/sub" -- \
  "$A" serve --data-dir "$E2E_TMP/plainfile/sub"

# A port in use: a first server holds it.
start_server
expect_usage "serve --listen in use" "--listen 127.0.0.1:$SERVER_PORT" -- \
  "$A" serve --data-dir "$E2E_TMP/d2" --listen "127.0.0.1:$SERVER_PORT"

# serve logs its shutdown and exits 0 on SIGTERM.
kill -TERM "$SERVER_PID"
rc=0; wait "$SERVER_PID" || rc=$?
[ $rc -eq 0 ] || fail "serve exited $rc on SIGTERM"
grep -q "SIGTERM received, shutting down" "$E2E_TMP/serve.stderr.log" || fail "no shutdown line"
grep -q "attestlab serve: stopped" "$E2E_TMP/serve.stderr.log" || fail "no stopped line"
pass "serve logs its shutdown on SIGTERM"

# Values that cannot mean anything are refused at parse time.
expect_usage "conform --timeout -1" "--timeout" -- "$A" conform --embedded --timeout -1
expect_usage "conform --jobs 0" "--jobs" -- "$A" conform --embedded --jobs 0
printf '[{"serial": "C02X", "status": "weird"}]' >"$E2E_TMP/weird.json"
expect_usage "serve inventory with an unknown status" 'unknown status "weird"' -- \
  "$A" serve --data-dir "$E2E_TMP/d" --inventory "$E2E_TMP/weird.json"
"$A" ca issue --help | grep -q "Required: --dir, --pubkey" || fail "ca issue --help does not say what is required"
pass "ca issue --help says what is required"

# An unusable --report-dir is refused before any work starts.
for sub in "conform --embedded" "scenario run all --embedded" "load --embedded --count 1" "demo"; do
  expect_usage "$sub --report-dir unwritable" "--report-dir: $E2E_TMP/plainfile/r" -- \
    "$A" $sub --report-dir "$E2E_TMP/plainfile/r"
done

# profile lint: a misspelled ACME PayloadType is named and fails the lint; profile make
# refuses flags whose profile its own lint warns about.
"$A" profile make --directory-url https://acme.example/acme/directory --client-identifier C02X \
  --out "$E2E_TMP/p.mobileconfig" || fail "profile make failed"
sed 's/com.apple.security.acme/com.apple.security.acm/' "$E2E_TMP/p.mobileconfig" >"$E2E_TMP/bad.mobileconfig"
rc=0; "$A" profile lint "$E2E_TMP/bad.mobileconfig" >"$E2E_TMP/lint.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "profile lint of a misspelled PayloadType exited $rc"
grep -q "did you mean com.apple.security.acme" "$E2E_TMP/lint.log" || fail "no spelling hint: $(cat "$E2E_TMP/lint.log")"
grep -q "no_acme_payload" "$E2E_TMP/lint.log" || fail "no no_acme_payload error"
pass "profile lint names a misspelled PayloadType and fails"
rc=0; "$A" profile make --directory-url https://acme.example/acme/directory --client-identifier "a b/c" \
  >/dev/null 2>"$E2E_TMP/make.log" || rc=$?
[ $rc -eq 2 ] || fail "profile make --client-identifier 'a b/c' exited $rc"
grep -q client_identifier_not_permanent_identifier "$E2E_TMP/make.log" || fail "make did not say why"
pass "profile make refuses what its own lint warns about"

# conform on SIGINT / SIGTERM (cli/stop_signals.h InterruptGuard): it stops starting cases,
# writes the partial report with the rest marked "not run: interrupted", removes its
# temporary files and exits 128 + signal.
for sig in INT TERM; do
  log="$E2E_TMP/conform-$sig.log"
  rc=0
  scratch="$E2E_TMP/tmp-$sig"
  mkdir -p "$scratch"
  TMPDIR="$scratch" "$A" conform --embedded --jobs 1 --report-dir "$E2E_TMP/report-$sig" \
    >/dev/null 2>"$log" &
  pid=$!
  for _ in $(seq 1 300); do grep -qE '^\[ *[0-9]+/' "$log" && break; sleep 0.1; done
  grep -qE '^\[ *[0-9]+/' "$log" || fail "conform never started a case: $(cat "$log")"
  kill -"$sig" "$pid"
  wait "$pid" || rc=$?
  want=$((128 + $(kill -l "$sig")))
  [ $rc -eq $want ] || fail "conform on SIG$sig exited $rc, expected $want: $(tail -3 "$log")"
  grep -q "interrupted by SIG$sig: [0-9]* case(s) not run" "$log" || fail "no interruption line: $(tail -3 "$log")"
  /usr/bin/python3 - "$E2E_TMP/report-$sig/result.json" <<'PY' || fail "SIG$sig: partial report check"
import json, sys
run = json.load(open(sys.argv[1]))
assert run["command"].endswith("# interrupted"), run["command"]
cases = [c for t in run["targets"] for c in t["cases"]]
not_run = [c for c in cases if c["reason"].startswith("not run: interrupted")]
done = [c for c in cases if c["outcome"] == "pass"]
assert not_run and done, (len(not_run), len(done))
PY
  [ -z "$(ls -A "$scratch")" ] || fail "SIG$sig left temporary files: $(ls -A "$scratch")"
  pass "conform on SIG$sig: exit $want, partial report, no temporary files left"
done
