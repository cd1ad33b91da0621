#!/usr/bin/env bash
# The layering check must fail on each kind of broken include and pass on a clean tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mk() { mkdir -p "$tmp/$(dirname "$1")"; printf '#include "%s"\n' "$2" > "$tmp/$1"; }
expect() {  # expect RC FILE INCLUDE
  rm -rf "${tmp:?}"/*; mkdir -p "$tmp/core"; mk "$2" "$3"
  set +e; out=$(/usr/bin/python3 "$here/check_layers.py" "$tmp"); rc=$?; set -e
  if [ "$rc" != "$1" ]; then echo "FAIL: $2 including $3 gave exit $rc, want $1: $out"; exit 1; fi
  echo "ok: $2 -> $3 exit $rc"
}
expect 1 core/a.cpp client/acme_client.h
expect 1 client/a.cpp sim/device/device.h
expect 1 server/acme/a.cpp client/acme_client.h
expect 1 server/store/a.cpp server/acme/acme_server.h
expect 1 server/attest/a.h sim/device/apple_format.h
expect 1 sim/device/a.cpp server/attest/apple_attestation.h
expect 1 sim/device/a.cpp sim/mdm/mdm_agent.h
expect 1 conformance/a.cpp server/acme/acme_server.h
expect 1 cli/a.cpp testing/acme_test_client.h
expect 1 server/acme/a.cpp testing/acme_test_client.h
expect 0 server/acme/a_test.cpp testing/acme_test_client.h
expect 0 server/acme/a.cpp server/attest/device_attest.h
expect 0 sim/mdm/a.cpp sim/device/device.h
expect 0 cli/a.cpp server/acme/acme_server.h
expect 0 tests/a_test.cpp sim/device/device.h
echo "15 passed, 0 failed"
