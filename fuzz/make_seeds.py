#!/usr/bin/python3
"""Writes the seed corpora of fixtures/fuzz/<target>/ from real traffic.

Usage: fuzz/make_seeds.py RESULT_JSON [SOURCE_DIR]
  RESULT_JSON: result.json of `attestlab conform --embedded --report-dir DIR`, whose wire
  logs hold every request and response of the run.
Each seed is named by the SHA-1 of its content (as libFuzzer names corpus files), so a
rerun adds new shapes and never duplicates; at most MAX_PER_TARGET seeds a target, the
most varied first (one per distinct URL path shape / payload key set).
"""
import base64
import hashlib
import json
import os
import plistlib
import re
import sys

MAX_PER_TARGET = 60
LIMITS = {"attestation": 24, "identifier": 40}
MAX_SEED_BYTES = 16 * 1024


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Corpus:
    def __init__(self, root):
        self.root = root
        self.seen = {}

    def add(self, target, data, shape=None):
        if isinstance(data, str):
            data = data.encode()
        if not data or len(data) > MAX_SEED_BYTES:
            return
        shapes = self.seen.setdefault(target, {})
        key = shape if shape is not None else hashlib.sha1(data).hexdigest()
        if key in shapes or len(shapes) >= LIMITS.get(target, MAX_PER_TARGET):
            return
        shapes[key] = data

    def write(self):
        for target, shapes in sorted(self.seen.items()):
            folder = os.path.join(self.root, target)
            os.makedirs(folder, exist_ok=True)
            for data in shapes.values():
                name = hashlib.sha1(data).hexdigest()
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(data)
            print(f"{target}: {len(shapes)} seeds")


def path_shape(url):
    path = re.sub(r"^https?://[^/]+", "", url)
    return re.sub(r"/[A-Za-z0-9_-]{12,}", "/ID", path)


def jws_payload(body):
    try:
        jws = json.loads(body)
        payload = jws.get("payload", "")
        return json.loads(b64u_decode(payload)) if payload else None
    except (ValueError, AttributeError):
        return None


def client_response_seed(status, header, body):
    escaped = header.replace("\\", "\\\\").encode() + b"\\x"
    v = status - 100
    return escaped + body.encode() + bytes([v & 0xFF, v >> 8])


def from_wire(corpus, entry):
    method, url = entry.get("method", ""), entry.get("url", "")
    request, response = entry.get("request", {}), entry.get("response", {})
    body = request.get("body", "")
    shape = method + " " + path_shape(url)
    path = re.sub(r"^https?://[^/]+", "", url) or "/"
    host = re.sub(r"^https?://([^/]+).*", r"\1", url)
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    head += [f"{k}: {v}" for k, v in request.get("headers", []) if k.lower() != "host"]
    if body:
        head.append(f"Content-Length: {len(body.encode())}")
    corpus.add("http_acme", "\r\n".join(head) + "\r\n\r\n" + body, shape)
    payload = None
    if method == "POST" and body.startswith("{"):
        payload = jws_payload(body)
        try:
            header = json.loads(b64u_decode(json.loads(body).get("protected", "")))
        except (ValueError, AttributeError):
            header = {}
        keys = ",".join(sorted(payload)) if isinstance(payload, dict) else str(type(payload))
        detail = f"{shape} {sorted(header) if isinstance(header, dict) else ''} {keys}"
        corpus.add("jws", body, detail)
        corpus.add("http_acme", "\r\n".join(head) + "\r\n\r\n" + body, detail)
    if isinstance(payload, dict):
        keys = ",".join(sorted(payload))
        if isinstance(payload.get("attObj"), str):
            corpus.add("attestation", payload["attObj"])
            try:
                corpus.add("attestation", b64u_decode(payload["attObj"]))
            except ValueError:
                pass
        if isinstance(payload.get("csr"), str):
            try:
                corpus.add("x509_csr", b64u_decode(payload["csr"]))
            except ValueError:
                pass
        for ident in payload.get("identifiers", []) if isinstance(payload.get("identifiers"), list) else []:
            pattern = re.sub(r"[a-z0-9]", "a", json.dumps(ident, sort_keys=True))
            corpus.add("identifier", json.dumps(ident), pattern)
        if "contact" in payload:
            corpus.add("identifier", json.dumps({"contact": payload["contact"]}))
        if isinstance(payload.get("jwk"), dict):
            corpus.add("jws", body, "inner " + keys)
    rbody = response.get("body", "")
    status = int(response.get("status", 200) or 200)
    link = next((v for k, v in response.get("headers", []) if k.lower() == "link"), "")
    if rbody:
        corpus.add("client_responses", client_response_seed(status, link, rbody),
                   f"{status} {shape}")
    if "BEGIN CERTIFICATE" in rbody:
        corpus.add("x509_csr", rbody, "pem " + shape)
        m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END", rbody, re.S)
        if m:
            corpus.add("x509_csr", base64.b64decode("".join(m.group(1).split())), "der " + shape)


def mdm_seeds(corpus):
    udid = "00008030-001A2B3C4D5E6F70"
    messages = [
        {"MessageType": "Authenticate", "UDID": udid, "Topic": "com.apple.mgmt.test",
         "SerialNumber": "C02XYZ123456", "Model": "iPhone14,2", "OSVersion": "17.2"},
        {"MessageType": "TokenUpdate", "UDID": udid, "Topic": "com.apple.mgmt.test",
         "Token": b"\x01\x02\x03\x04", "PushMagic": "6E3D8C1A", "UnlockToken": b"\x00" * 8},
        {"MessageType": "CheckOut", "EnrollmentID": "user-enrollment-1"},
        {"Status": "Idle", "UDID": udid},
        {"Status": "Acknowledged", "UDID": udid, "CommandUUID": "0A1B2C3D-0000-4000-8000-000000000001",
         "QueryResponses": {"SerialNumber": "C02XYZ123456", "DevicePropertiesAttestation": [b"0\x82"]}},
        {"Status": "Error", "UDID": udid, "CommandUUID": "0A1B2C3D-0000-4000-8000-000000000002",
         "ErrorChain": [{"ErrorCode": 4001, "ErrorDomain": "MCProfileErrorDomain",
                         "LocalizedDescription": "The profile is invalid.",
                         "USEnglishDescription": "The profile is invalid."}]},
        {"Status": "NotNow", "EnrollmentID": "user-enrollment-1",
         "CommandUUID": "0A1B2C3D-0000-4000-8000-000000000003"},
        {"CommandUUID": "0A1B2C3D-0000-4000-8000-000000000004",
         "Command": {"RequestType": "DeviceInformation", "Queries": ["SerialNumber", "UDID"],
                     "DeviceAttestationNonce": b"\x11" * 32}},
        {"CommandUUID": "0A1B2C3D-0000-4000-8000-000000000005",
         "Command": {"RequestType": "InstallProfile", "Payload": b"<?xml version=\"1.0\"?><plist/>"}},
        {"CommandUUID": "0A1B2C3D-0000-4000-8000-000000000006",
         "Command": {"RequestType": "ProfileList"}},
    ]
    for m in messages:
        corpus.add("mdm_plist", plistlib.dumps(m, fmt=plistlib.FMT_XML))
        corpus.add("mdm_plist", plistlib.dumps(m, fmt=plistlib.FMT_BINARY))


# Identifier shapes the conformance run sends only as random labels, written out so each
# syntax branch has a seed (IPv6, wildcard, device identifiers with and without parts).
IDENTIFIERS = [
    {"type": "dns", "value": "*.fleet.example"},
    {"type": "dns", "value": "xn--bcher-kva.example"},
    {"type": "ip", "value": "2001:db8::1"},
    {"type": "ip", "value": "::ffff:192.0.2.1"},
    {"type": "permanent-identifier", "value": "C02XYZ123456/1.2.840.113635.100.8.9.1"},
    {"type": "permanent-identifier", "value": "00008030-001A2B3C4D5E6F70"},
    {"type": "hardware-module", "value": "SE0123456789/1.3.6.1.4.1.99999.1"},
    [{"type": "dns", "value": "a.example"}, {"type": "ip", "value": "192.0.2.7"}],
    {"contact": ["mailto:admin@fleet.example", "mailto:o'neil+acme@example.org"]},
]
PROFILE = {
    "_comment": "every member of client/target_profile.h",
    "name": "full", "directory": "https://[::1]:14000/acme/directory", "trust_ca": "ca.pem",
    "challenges": ["http-01", "dns-01", "device-attest-01"],
    "capabilities": ["key-change", "revocation", "eab"],
    "http01": {"listen": "127.0.0.1:5002"}, "dns01": {"management": "http://127.0.0.1:8055"},
    "device": {"attestation_ca_dir": "ca", "inventory_file": "inventory.json"},
    "timing": {"poll_timeout_ms": 30000},
}


def handmade(corpus):
    for ident in IDENTIFIERS:
        corpus.add("identifier", json.dumps(ident))
    corpus.add("target_profile", json.dumps(PROFILE, indent=1))
    for text in ("127.0.0.1:14000", "[::1]:443"):
        corpus.add("target_profile", text)


def files_under(folder, suffix=".json"):
    for dirpath, _, names in os.walk(folder):
        for name in sorted(names):
            if name.endswith(suffix):
                with open(os.path.join(dirpath, name), "rb") as f:
                    yield f.read()


def main():
    result = sys.argv[1]
    source = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    corpus = Corpus(os.path.join(source, "fixtures", "fuzz"))
    with open(result) as f:
        doc = json.load(f)
    for target in doc.get("targets", []):
        for case in target.get("cases", []):
            for entry in case.get("wire_log", []):
                from_wire(corpus, entry)
    mdm_seeds(corpus)
    handmade(corpus)
    for data in files_under(os.path.join(source, "scenarios")):
        corpus.add("scenario", data)
    for folder in ("conformance/targets", "fixtures/interop"):
        for data in files_under(os.path.join(source, folder)):
            corpus.add("target_profile", data)
    corpus.write()


if __name__ == "__main__":
    main()
