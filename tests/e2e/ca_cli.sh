#!/usr/bin/env bash
# End-to-end: `attestlab ca init|export|issue` round trip. The issued attObj is decoded
# with independent code (Python cbor2 + cryptography) and checked byte for byte against
# docs/APPLE_FORMAT.md: CBOR shape, serial/UDID/version/freshness raw values, Mac posture
# flags, User Enrollment, the attested key, and the chain signatures up to the exported
# root. Exits non-zero on the first mismatch.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BIN=$ATTESTLAB_BIN
PY=/usr/bin/python3
WORK=$E2E_TMP  # expect_exit (lib.sh) leaves stdout and stderr in $WORK/out and $WORK/err

CA="$WORK/ca"

# --- help --------------------------------------------------------------------------------
for sub in "" init export issue; do
  expect_exit 0 "$BIN" ca $sub --help
  grep -q -- "--help" "$WORK/out" || fail "ca $sub --help prints no help"
done

# --- init --------------------------------------------------------------------------------
expect_exit 0 "$BIN" ca init --dir "$CA"
for f in root.pem root.key intermediate.pem intermediate.key; do
  [[ -f "$CA/$f" ]] || fail "ca init did not write $f"
done
for f in root.key intermediate.key; do
  [[ $(stat -c %a "$CA/$f") == 600 ]] || fail "$f is not mode 0600"
done
cp "$CA/root.pem" "$WORK/root-first.pem"
expect_exit 2 "$BIN" ca init --dir "$CA"
grep -q -- "--force" "$WORK/err" || fail "refusal should mention --force"
cmp -s "$CA/root.pem" "$WORK/root-first.pem" || fail "refused init still changed root.pem"
expect_exit 0 "$BIN" ca init --dir "$CA" --force
cmp -s "$CA/root.pem" "$WORK/root-first.pem" && fail "init --force did not replace the CA"

# --- export ------------------------------------------------------------------------------
expect_exit 0 "$BIN" ca export --dir "$CA"
cp "$WORK/out" "$WORK/exported.pem"
cmp -s "$WORK/exported.pem" "$CA/root.pem" || fail "export differs from root.pem"
expect_exit 0 "$BIN" ca export --dir "$CA" --out "$WORK/exported2.pem"
cmp -s "$WORK/exported2.pem" "$CA/root.pem" || fail "export --out differs from root.pem"
openssl x509 -in "$WORK/exported.pem" -noout -subject | grep -q "Mock Apple Enterprise Attestation Root CA" \
  || fail "exported root is not the mock root"

# --- issue -------------------------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$WORK/device.key" 2>/dev/null
openssl pkey -in "$WORK/device.key" -pubout -out "$WORK/device.pub.pem"
TOKEN="DGyRejmCefe7v4NfDGDKfA2kb5d_6XIJzrVvrPmdXuE"
SERIAL="C02XL0GVJGH5"
UDID="00008103-000A4C9E1E8A001E"

expect_exit 0 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --serial "$SERIAL" \
  --udid "$UDID" --os-version 17.5 --sepos-version 21.5.0 --llb-version 10151.121.1 --nonce "$TOKEN"
cp "$WORK/out" "$WORK/attobj.txt"
expect_exit 0 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --serial "$SERIAL" \
  --udid "$UDID" --sip disabled --secure-boot reduced --kexts allowed \
  --freshness-hex "$(printf '%064d' 0 | tr 0 a)" --at 2026-11-25T16:00:00Z --out "$WORK/mac.txt"
[[ -s "$WORK/mac.txt" ]] || fail "issue --out wrote nothing"
[[ ! -s "$WORK/out" ]] || fail "issue --out also printed to stdout"
expect_exit 0 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --user-enrollment \
  --os-version 17.5 --nonce "$TOKEN"
cp "$WORK/out" "$WORK/byod.txt"

"$PY" - "$WORK" "$TOKEN" "$SERIAL" "$UDID" <<'PYEOF'
import base64, hashlib, os, sys
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

work, token, serial, udid = sys.argv[1:5]
APPLE = "1.2.840.113635.100.8."
OID = {"serial": APPLE + "9.1", "udid": APPLE + "9.2", "os": APPLE + "10.1",
       "sepos": APPLE + "10.2", "llb": APPLE + "10.3", "fresh": APPLE + "11.1",
       "sip": APPLE + "13.1", "boot": APPLE + "13.2", "kexts": APPLE + "13.3"}

def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)

def decode(name):
    text = open(f"{work}/{name}").read().strip()
    check("=" not in text and "+" not in text and "/" not in text, f"{name}: not base64url")
    obj = cbor2.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    check(isinstance(obj, dict) and set(obj) == {"fmt", "attStmt"}, f"{name}: keys {obj!r:.80}")
    check(obj["fmt"] == "apple", f"{name}: fmt {obj['fmt']!r}")
    x5c = obj["attStmt"]["x5c"]
    check(isinstance(x5c, list) and len(x5c) == 2, f"{name}: x5c length")
    check(all(isinstance(c, bytes) for c in x5c), f"{name}: x5c entries must be byte strings")
    return [x509.load_der_x509_certificate(c) for c in x5c]

def raw(cert, key):
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(OID[key]))
    except x509.ExtensionNotFound:
        return None
    check(not ext.critical, f"{key} extension must be non-critical")
    return ext.value.value  # UnrecognizedExtension: the extnValue content, raw

root = x509.load_pem_x509_certificate(open(f"{work}/exported.pem", "rb").read())
source_dir = os.environ.get("ATTESTLAB_SOURCE_DIR")
apple_root = None
if source_dir:  # set by ctest; Apple's real root must never anchor a mock chain
    with open(f"{source_dir}/fixtures/apple-enterprise-attestation-root-ca.pem", "rb") as f:
        apple_root = x509.load_pem_x509_certificate(f.read())
device_pub = serialization.load_pem_public_key(open(f"{work}/device.pub.pem", "rb").read())
spki = lambda k: k.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)

def verify_sig(child, issuer):
    issuer.public_key().verify(child.signature, child.tbs_certificate_bytes,
                               ec.ECDSA(child.signature_hash_algorithm))

def check_chain(leaf, sub):
    check(leaf.issuer == sub.subject and sub.issuer == root.subject, "chain names")
    verify_sig(leaf, sub)   # raises InvalidSignature on mismatch
    verify_sig(sub, root)
    verify_sig(root, root)
    if apple_root is not None:
        try:
            verify_sig(sub, apple_root)
        except Exception:
            pass
        else:
            check(False, "mock intermediate verifies under Apple's real root")
    check(spki(leaf.public_key()) == spki(device_pub), "leaf must certify the device key")
    days = (leaf.not_valid_after - leaf.not_valid_before).total_seconds() / 86400
    check(abs(days - 7) < 0.01, f"leaf validity {days} days, expected 7")

# ACME-style attestation: identifiers, versions, freshness = SHA-256(token).
leaf, sub = decode("attobj.txt")
check_chain(leaf, sub)
check(raw(leaf, "serial") == serial.encode(), f"serial {raw(leaf, 'serial')!r}")
check(raw(leaf, "udid") == udid.encode(), "udid")
check(raw(leaf, "os") == b"17.5", "os version")
check(raw(leaf, "sepos") == b"21.5.0", "sepOS version")
check(raw(leaf, "llb") == b"10151.121.1", "LLB version")
check(raw(leaf, "fresh") == hashlib.sha256(token.encode()).digest(), "freshness")
check(all(raw(leaf, k) is None for k in ("sip", "boot", "kexts")), "iPhone-style leaf has Mac OIDs")

# Mac posture flags, explicit freshness, explicit issue time.
leaf, sub = decode("mac.txt")
check_chain(leaf, sub)
check(raw(leaf, "sip") == b"\x00", f"sip {raw(leaf, 'sip')!r}")
check(raw(leaf, "boot") == b"reduced", "secure boot")
check(raw(leaf, "kexts") == b"\x01", "kexts")
check(raw(leaf, "fresh") == bytes.fromhex("aa" * 32), "freshness-hex")
check(leaf.not_valid_before.isoformat() == "2026-11-25T16:00:00", f"--at {leaf.not_valid_before}")
check(raw(leaf, "os") is None, "unset --os-version must leave the OID out")

# User Enrollment: no identifiers.
leaf, sub = decode("byod.txt")
check_chain(leaf, sub)
check(raw(leaf, "serial") is None and raw(leaf, "udid") is None, "User Enrollment has serial/UDID")
check(raw(leaf, "os") == b"17.5", "User Enrollment os version")
print("attObj checks passed")
PYEOF

# --- bad arguments (exit 2) and failures (exit 3) ----------------------------------------
expect_exit 2 "$BIN" ca
expect_exit 2 "$BIN" ca init
expect_exit 2 "$BIN" ca issue --dir "$CA" --serial "$SERIAL" --udid "$UDID"             # no --pubkey
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/missing.pem" --serial S --udid U
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --udid U      # no serial
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --serial S --udid U \
  --nonce a --freshness-hex "$(printf '%064d' 0)"
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --serial S --udid U \
  --freshness-hex abcd
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --serial S --udid U \
  --sip maybe
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --serial S --udid U \
  --at yesterday
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/device.pub.pem" --user-enrollment --serial S
echo "not a key" >"$WORK/junk.pem"
expect_exit 2 "$BIN" ca issue --dir "$CA" --pubkey "$WORK/junk.pem" --serial S --udid U
mkdir -p "$WORK/empty"
expect_exit 3 "$BIN" ca export --dir "$WORK/empty"
expect_exit 3 "$BIN" ca issue --dir "$WORK/empty" --pubkey "$WORK/device.pub.pem" --serial S --udid U
grep -q "root.pem" "$WORK/err" || fail "missing-CA error should name the file"

echo "ca_cli: all checks passed"
