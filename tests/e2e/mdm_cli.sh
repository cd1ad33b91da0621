#!/usr/bin/env bash
# End-to-end: `attestlab profile make|lint` and `attestlab mdm serve`, checked with code
# nobody here wrote: Python's plistlib reads and edits the profiles, plistutil converts the
# enrollment profile, and a Python MDM client speaks the check-in/command protocol over
# HTTPS (Authenticate, TokenUpdate, Idle → blueprint commands → Acknowledged).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
BIN=$ATTESTLAB_BIN
W=$E2E_TMP


# --- profile make -------------------------------------------------------------------------
expect_exit 0 "$BIN" profile --help
expect_exit 0 "$BIN" profile make --directory-url https://ca.example.com/acme/directory \
  --client-identifier F2LXQ7K9MN --wifi-ssid corp --vpn-server vpn.example.com --out "$W/good.mobileconfig"
$PY - "$W/good.mobileconfig" <<'EOF' || fail "plistlib does not read the profile as expected"
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
assert p["PayloadType"] == "Configuration", p["PayloadType"]
acme, wifi, vpn = p["PayloadContent"]
assert acme["PayloadType"] == "com.apple.security.acme"
assert acme["ClientIdentifier"] == "F2LXQ7K9MN"
assert acme["DirectoryURL"] == "https://ca.example.com/acme/directory"
assert acme["KeyType"] == "ECSECPrimeRandom" and acme["KeySize"] == 384
assert acme["HardwareBound"] is True and acme["Attest"] is True
assert wifi["PayloadCertificateUUID"] == acme["PayloadUUID"]
assert vpn["IKEv2"]["PayloadCertificateUUID"] == acme["PayloadUUID"]
EOF
expect_exit 0 "$BIN" profile make --directory-url https://ca.example.com/acme/directory --client-identifier X --key-size 256
grep -q "<integer>256</integer>" "$W/out" || fail "--key-size 256 not written to stdout"
pass "profile make"

expect_exit 2 "$BIN" profile make --client-identifier X
expect_exit 2 "$BIN" profile make --directory-url http://ca.example.com/acme/directory --client-identifier X
expect_exit 2 "$BIN" profile make --directory-url https://ca.example.com/acme/directory --client-identifier X --key-size 521
expect_exit 2 "$BIN" profile lint "$W/missing.mobileconfig"
expect_exit 2 "$BIN" profile lint
pass "profile usage errors"

# --- profile lint -------------------------------------------------------------------------
expect_exit 0 "$BIN" profile lint "$W/good.mobileconfig"
grep -q "0 errors, 0 warnings" "$W/out" || fail "good profile not clean: $(cat "$W/out")"

# Each broken copy is made with plistlib (an independent writer) and must fail with its code.
break_profile() {  # NAME PYTHON-STATEMENTS (acme, wifi, vpn, p in scope)
  $PY - "$W/good.mobileconfig" "$W/$1.mobileconfig" "$2" <<'EOF'
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
acme, wifi, vpn = p["PayloadContent"]
exec(sys.argv[3])
plistlib.dump(p, open(sys.argv[2], "wb"))
EOF
}
check_bad() {  # NAME CODE...
  local name=$1; shift
  expect_exit 1 "$BIN" profile lint "$W/$name.mobileconfig"
  for code in "$@"; do
    grep -q "^error $code " "$W/out" || fail "$name: no $code in $(cat "$W/out")"
  done
}
break_profile attest_no_hw 'acme["HardwareBound"] = False'
check_bad attest_no_hw attest_requires_hardware_bound
break_profile rsa_hw 'acme["KeyType"] = "RSA"; acme["KeySize"] = 2048'
check_bad rsa_hw hardware_bound_requires_ec attest_with_rsa
break_profile size521 'acme["KeySize"] = 521'
check_bad size521 hardware_bound_key_size
break_profile http_dir 'acme["DirectoryURL"] = "http://ca.example.com/acme/directory"'
check_bad http_dir directory_url_not_https
break_profile no_client_id 'del acme["ClientIdentifier"]'
check_bad no_client_id missing_client_identifier
break_profile dangling 'wifi["PayloadCertificateUUID"] = "00000000-0000-4000-8000-000000000000"'
check_bad dangling unknown_certificate_reference
break_profile dup_uuid 'vpn["PayloadUUID"] = wifi["PayloadUUID"]'
check_bad dup_uuid duplicate_payload_uuid
break_profile no_ident 'del wifi["PayloadIdentifier"]; del vpn["PayloadVersion"]'
check_bad no_ident missing_payload_identifier missing_payload_version
break_profile eleven 'p["PayloadContent"] += [dict(wifi, PayloadUUID="W-%d" % i, PayloadIdentifier="w.%d" % i) for i in range(9)]'
check_bad eleven too_many_acme_references
# Binary plist from plistlib lints the same.
$PY -c 'import plistlib,sys; plistlib.dump(plistlib.load(open(sys.argv[1],"rb")), open(sys.argv[2],"wb"), fmt=plistlib.FMT_BINARY)' \
  "$W/attest_no_hw.mobileconfig" "$W/attest_no_hw_bin.mobileconfig"
check_bad attest_no_hw_bin attest_requires_hardware_bound
expect_exit 1 "$BIN" profile lint --json "$W/dangling.mobileconfig"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["errors"]>=1 and d["problems"][0]["code"]=="unknown_certificate_reference", d' "$W/out" \
  || fail "lint --json"
echo "not a plist" >"$W/garbage.mobileconfig"
check_bad garbage not_a_profile
pass "profile lint catches every broken copy"

# --- mdm serve ----------------------------------------------------------------------------
expect_exit 0 "$BIN" mdm serve --help
expect_exit 2 "$BIN" mdm serve --listen 127.0.0.1:0
expect_exit 2 "$BIN" mdm serve --listen nonsense --acme-directory https://127.0.0.1:1/acme/directory
expect_exit 2 "$BIN" mdm serve --listen 127.0.0.1:0 --acme-directory http://127.0.0.1:1/acme/directory
expect_exit 2 "$BIN" mdm serve --listen 127.0.0.1:0 --acme-directory https://127.0.0.1:1/acme/directory \
  --client-identifier imei
pass "mdm serve usage errors"

# A CA for the (pretend) ACME server, handed to devices through --trust-ca.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/acme-ca.key" \
  -out "$W/acme-ca.pem" -days 2 -subj /CN=acme-test-ca >/dev/null 2>&1
MDM_PORT=$(free_port)
MDM_DATA=$W/mdm-data
"$BIN" mdm serve --listen "127.0.0.1:$MDM_PORT" --acme-directory "https://127.0.0.1:1/acme/directory" \
  --data-dir "$MDM_DATA" --trust-ca "$W/acme-ca.pem" --client-identifier udid \
  >"$W/mdm.out.log" 2>"$W/mdm.err.log" &
MDM_PID=$!
E2E_PIDS+=($MDM_PID)
deadline=$((SECONDS + 30))
until grep -q '^ready ' "$W/mdm.out.log" 2>/dev/null; do
  kill -0 $MDM_PID 2>/dev/null || fail "mdm serve exited: $(cat "$W/mdm.err.log")"
  [ $SECONDS -lt $deadline ] || fail "mdm serve never printed ready"
  sleep 0.1
done
MDM_URL=$(cut -d' ' -f2 <"$W/mdm.out.log")
[[ $MDM_URL == "https://127.0.0.1:$MDM_PORT/mdm" ]] || fail "unexpected ready line $(cat "$W/mdm.out.log")"
[[ $(wc -l <"$W/mdm.out.log") == 1 ]] || fail "mdm serve printed more than the ready line"
[[ -s $MDM_DATA/tls/cert.pem ]] || fail "no TLS certificate at DATA_DIR/tls/cert.pem"

curl -sk "$MDM_URL/enroll" | plistutil -i - -o "$W/enroll.bin" -f bin || fail "plistutil cannot read /mdm/enroll"
plistutil -i "$W/enroll.bin" -o "$W/enroll.xml" -f xml
curl -s --cacert "$MDM_DATA/tls/cert.pem" -D "$W/enroll.headers" -o "$W/enroll.direct" "$MDM_URL/enroll" \
  || fail "the MDM's certificate in DATA_DIR/tls does not verify"
grep -qi '^content-type: application/x-apple-aspen-config' "$W/enroll.headers" || fail "enroll content type"
$PY - "$W/enroll.xml" "$MDM_URL" <<'EOF' || fail "enrollment profile content"
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
(mdm,) = p["PayloadContent"]
assert mdm["PayloadType"] == "com.apple.mdm"
assert mdm["ServerURL"] == sys.argv[2] + "/connect" and mdm["CheckInURL"] == sys.argv[2] + "/checkin"
assert mdm["Topic"].startswith("com.apple.mgmt.") and mdm["AccessRights"] == 8191 and mdm["SignMessage"] is False
EOF
expect_exit 0 "$BIN" profile lint "$W/enroll.xml"
pass "mdm serve: ready line, TLS identity, enrollment profile"

# A device from outside this repository: Python's plistlib over HTTPS.
$PY - "$MDM_URL" "$MDM_DATA/tls/cert.pem" "$W/acme-ca.pem" <<'EOF' || fail "Python MDM client"
import json, os, plistlib, ssl, sys, urllib.request
base, cafile, acme_ca = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=cafile)
def call(method, path, body=None, ctype="application/x-apple-aspen-mdm-checkin"):
    data = plistlib.dumps(body) if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, context=ctx) as r:
        return r.status, r.read()
enroll = plistlib.loads(call("GET", "/enroll")[1])
topic = enroll["PayloadContent"][0]["Topic"]
udid, serial = "00008110-000A1B2C3D4E5F60", "P7XJ3K2LQW"
assert call("PUT", "/checkin", {"MessageType": "Authenticate", "Topic": topic, "UDID": udid,
            "SerialNumber": serial, "OSVersion": "17.5", "BuildVersion": "21F79",
            "ProductName": "iPhone15,2"})[0] == 200
assert call("PUT", "/checkin", {"MessageType": "TokenUpdate", "Topic": topic, "UDID": udid,
            "Token": os.urandom(32), "PushMagic": "magic"})[0] == 200
cmd_type = "application/x-apple-aspen-mdm"
status, body = call("PUT", "/connect", {"UDID": udid, "Status": "Idle"}, cmd_type)
first = plistlib.loads(body)
assert first["Command"]["RequestType"] == "InstallProfile", first
profile = plistlib.loads(first["Command"]["Payload"])
types = [p["PayloadType"] for p in profile["PayloadContent"]]
assert types == ["com.apple.security.root", "com.apple.security.acme"], types
acme = profile["PayloadContent"][1]
assert acme["ClientIdentifier"] == udid and acme["Attest"] is True
assert acme["DirectoryURL"] == "https://127.0.0.1:1/acme/directory"
import ssl as _s
der = profile["PayloadContent"][0]["PayloadContent"]
assert _s.DER_cert_to_PEM_cert(der).strip().split() == open(acme_ca).read().strip().split()
status, body = call("PUT", "/connect", {"UDID": udid, "Status": "Acknowledged",
                                         "CommandUUID": first["CommandUUID"]}, cmd_type)
second = plistlib.loads(body)
cmd = second["Command"]
assert cmd["RequestType"] == "DeviceInformation"
assert "DevicePropertiesAttestation" in cmd["Queries"] and len(cmd["DeviceAttestationNonce"]) == 32
status, body = call("PUT", "/connect", {"UDID": udid, "Status": "Error", "CommandUUID": second["CommandUUID"],
    "ErrorChain": [{"ErrorCode": 1, "ErrorDomain": "Test", "LocalizedDescription": "no attestation here"}]}, cmd_type)
assert status == 200 and body == b"", body
with urllib.request.urlopen(base + "/devices", context=ctx) as r:
    devices = json.load(r)["devices"]
(d,) = devices
assert d["udid"] == udid and d["serial"] == serial and d["enrollment_type"] == "device"
assert d["attestation"]["verdict"] == "unknown"
assert [c["status"] for c in d["commands"]] == ["Acknowledged", "Error"], d["commands"]
assert d["commands"][1]["error_chain"][0]["LocalizedDescription"] == "no attestation here"
assert call("PUT", "/checkin", {"MessageType": "CheckOut", "Topic": topic, "UDID": udid})[0] == 200
with urllib.request.urlopen(base + "/devices", context=ctx) as r:
    assert json.load(r)["devices"] == []
EOF
pass "a Python MDM client enrolls, receives the ACME profile and the attestation request, checks out"

# The documented curl walk-through (sim/mdm/README.md) runs as written.
"$ATTESTLAB_SOURCE_DIR/sim/mdm/examples/curl_device.sh" "$MDM_URL" "$MDM_DATA/tls/cert.pem" \
  >"$W/curl_device.log" 2>&1 || fail "curl_device.sh failed: $(cat "$W/curl_device.log")"
for line in "command: InstallProfile" "command: DeviceInformation" "command queue empty" \
  "the MDM lists the device" "checked out"; do
  grep -q "$line" "$W/curl_device.log" || fail "curl_device.sh did not print \"$line\": $(cat "$W/curl_device.log")"
done
pass "the curl walk-through enrolls a device: $(grep -c '^command:' "$W/curl_device.log") commands acknowledged"

kill -TERM $MDM_PID
rc=0
wait $MDM_PID || rc=$?
[[ $rc == 0 ]] || fail "mdm serve exited $rc after SIGTERM"
pass "mdm serve stops on SIGTERM"
