#!/usr/bin/env bash
# `report merge` of two runs against targets of the same name keeps two columns a reader
# can tell apart (issue 14); load shards of one target still merge into one.
source "$(dirname "$0")/lib.sh"
A=$ATTESTLAB_BIN
for i in 1 2; do
  "$A" scenario run csr-identifier-mismatch --embedded --report-dir "$E2E_TMP/run$i" \
    >"$E2E_TMP/run$i.log" 2>&1 || fail "scenario run $i failed: $(tail -3 "$E2E_TMP/run$i.log")"
done
"$A" report merge "$E2E_TMP/run1/result.json" "$E2E_TMP/run2/result.json" --out "$E2E_TMP/merged" \
  >"$E2E_TMP/merge.log" 2>&1 || fail "merge failed: $(cat "$E2E_TMP/merge.log")"
/usr/bin/python3 - "$E2E_TMP/merged/result.json" "$E2E_TMP/run2/result.json" <<'PY' || fail "target names"
import json, sys
names = [t["name"] for t in json.load(open(sys.argv[1]))["targets"]]
assert len(names) == 2, names
assert names[0] == "embedded", names
assert names[1] == "embedded (" + sys.argv[2] + ")", names
PY
grep -c "embedded (" "$E2E_TMP/merged/summary.md" >/dev/null || fail "summary.md does not show the second name"
pass "report merge keeps two same-named targets apart: $(tr -d '\n' <"$E2E_TMP/merge.log")"

# The recorded command can be pasted back: flags without a value ("--embedded", not
# "--embedded true").
/usr/bin/python3 - "$E2E_TMP/run1/result.json" <<'PY' || fail "recorded command"
import json, sys
cmd = json.load(open(sys.argv[1]))["command"]
assert cmd.startswith("attestlab scenario run csr-identifier-mismatch --embedded "), cmd
assert " true" not in cmd, cmd
PY
pass "the recorded command re-runs as written"
