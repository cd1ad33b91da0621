#!/usr/bin/python3
"""Account updates racing across two `attestlab serve` OS processes on one data directory
(issue 13): a key rollover (RFC 8555 §7.3.5) sent to one process races a contact update
(§7.3.2) signed with the old key sent to the other. Whatever the order, the later state
must hold both effects or refuse one with a problem document: the rollover is never undone
by the contact update, and a contact update answered 200 is in the stored account.
The JWS are made here with `cryptography` (ES256), independently of attestlab's client."""
import base64
import hashlib
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib_e2e import check, free_port  # noqa: E402

BIN = os.environ["ATTESTLAB_BIN"]
ROUNDS = 8


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key):
    n = key.public_key().public_numbers()
    return {"crv": "P-256", "kty": "EC", "x": b64(n.x.to_bytes(32, "big")),
            "y": b64(n.y.to_bytes(32, "big"))}


def thumbprint(jwk):
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")},
                           separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(canonical.encode()).digest())


def jws(key, protected, payload):
    protected = dict(protected, alg="ES256")
    p64 = b64(json.dumps(protected))
    body64 = "" if payload is None else b64(json.dumps(payload))
    r, s = decode_dss_signature(key.sign(f"{p64}.{body64}".encode(), ec.ECDSA(hashes.SHA256())))
    return {"protected": p64, "payload": body64,
            "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}


class Server:
    """One `attestlab serve` process; its directory and nonces."""

    def __init__(self, data, ctx):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", data,
             "--log-level", "quiet"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        check(line == f"ready https://127.0.0.1:{self.port}/acme/directory",
              f"serve on port {self.port} ready ({line})")
        self.ctx = ctx
        self.base = f"https://127.0.0.1:{self.port}"
        self.dir = self.call("GET", line.split(" ", 1)[1])[1]

    def call(self, method, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/jose+json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=20) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None, r.headers
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, json.loads(text) if text else None, e.headers

    def nonce(self):
        return self.call("HEAD", self.dir["newNonce"])[2]["Replay-Nonce"]

    def post(self, key, url, payload, kid=None, jwk=None):
        protected = {"nonce": self.nonce(), "url": url}
        if kid:
            protected["kid"] = kid
        else:
            protected["jwk"] = jwk
        return self.call("POST", url, jws(key, protected, payload))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def stored_account(db, account_id):
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT json FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return json.loads(row[0])


def main():
    tmp = tempfile.mkdtemp(prefix="attestlab-race.")
    data = os.path.join(tmp, "data")
    first = second = None
    try:
        # The first process makes the data directory (CA, TLS identity, store); the second
        # one, another OS process, opens the same.
        boot = ssl.create_default_context()
        boot.check_hostname = False
        boot.verify_mode = ssl.CERT_NONE
        first = Server(data, boot)
        ctx = ssl.create_default_context(cafile=os.path.join(data, "tls", "cert.pem"))
        first.ctx = ctx
        second = Server(data, ctx)
        db = os.path.join(data, "attestlab.db")
        refused = applied = 0
        for rnd in range(ROUNDS):
            old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
            status, _, headers = first.post(old, first.dir["newAccount"],
                                            {"termsOfServiceAgreed": True}, jwk=jwk_of(old))
            check(status == 201, f"round {rnd}: account created at the first process")
            kid = headers["Location"]
            account_id = kid.rsplit("/", 1)[1]
            kid_second = kid.replace(first.base, second.base)
            mail = f"mailto:round{rnd}@example.com"
            inner = jws(new, {"url": first.dir["keyChange"], "jwk": jwk_of(new)},
                        {"account": kid, "oldKey": jwk_of(old)})
            results = {}

            def rollover():
                results["rollover"] = first.post(old, first.dir["keyChange"], inner, kid=kid)

            def contact():
                results["contact"] = second.post(old, kid_second, {"contact": [mail]},
                                                 kid=kid_second)

            threads = [threading.Thread(target=rollover), threading.Thread(target=contact)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            check(results["rollover"][0] == 200, f"round {rnd}: rollover answered 200")
            after = stored_account(db, account_id)
            check(after["thumbprint"] == thumbprint(jwk_of(new)),
                  f"round {rnd}: the rollover was not undone by the racing contact update")
            c_status, c_body, _ = results["contact"]
            if c_status == 200:
                applied += 1
                check(after.get("contact") == [mail],
                      f"round {rnd}: the contact update answered 200 is stored")
            else:
                refused += 1
                # Signed with the replaced key: refused as unauthorized (the process still
                # knew the old key; its compare-and-set saw the rollover) or as malformed
                # (the process already had the new key, so the signature does not verify).
                kinds = ("urn:ietf:params:acme:error:unauthorized",
                         "urn:ietf:params:acme:error:malformed")
                check(400 <= c_status < 500 and c_body and c_body.get("type") in kinds
                      and c_body.get("detail"),
                      f"round {rnd}: the refused contact update has a problem document "
                      f"({c_status} {c_body})")
                check(after.get("contact", []) != [mail],
                      f"round {rnd}: the refused contact update left no trace")
        print(f"{ROUNDS} rounds across two processes: {applied} contact updates applied, "
              f"{refused} refused (signed with the replaced key), no rollover undone")
    finally:
        for s in (first, second):
            if s:
                s.stop()


if __name__ == "__main__":
    main()
