#!/usr/bin/python3
"""Crash consistency of `attestlab serve` on its SQLite store (SQLite's crash-testing idea,
applied to the whole server): clients enroll over http-01 while the server is killed with
SIGKILL at a random moment; it is restarted on the same data directory and port, and:

  - PRAGMA integrity_check of the store is "ok" right after the kill;
  - every certificate a client received is in the store (by serial) and downloadable from
    its URL, byte for byte the same leaf;
  - no order is "valid" without a certificate row;
  - no order is left "processing" after the restart (known issue below);
  - no nonce is accepted twice across the restart: a signed request accepted before the
    kill is refused (badNonce) when replayed after it, and a nonce issued but unused before
    the kill is accepted at most once after it.

ATTESTLAB_CRASH_CYCLES=N sets the number of kill/restart cycles (default 3, CI; 50 for the
long mode). ATTESTLAB_CRASH_SEED makes the kill moments reproducible. Loopback only; every
loop is bounded (cycle count, per-cycle deadline, client timeouts).

Known issue, reported and not hidden: the server does not yet resume or invalidate an
order that a kill left in "processing" (finalize is synchronous; nothing sweeps such
orders on start). When a kill lands in that window the test prints
"KNOWN ISSUE stuck-processing-order-after-kill" with the order ids and goes on; every
other check fails the test. ATTESTLAB_CRASH_STRICT=1 makes the known issue fail too."""
import base64
import datetime
import http.server
import ipaddress
import json
import os
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import josepy as jose
import requests
from acme import challenges, client, crypto_util, messages
from acme import jws as acme_jws
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib_e2e import Responder, check, fail, free_port, tokens  # noqa: E402

BIN = os.environ["ATTESTLAB_BIN"]
CYCLES = int(os.environ.get("ATTESTLAB_CRASH_CYCLES", "3"))
SEED = int(os.environ.get("ATTESTLAB_CRASH_SEED", str(int(time.time()))))
STRICT = os.environ.get("ATTESTLAB_CRASH_STRICT") == "1"
WORKERS = 3
KNOWN_STUCK = "KNOWN ISSUE stuck-processing-order-after-kill"


class Server:
    """`attestlab serve` on a fixed port and data directory, restartable."""

    def __init__(self, tmp, port, http01):
        self.tmp, self.port, self.http01 = tmp, port, http01
        self.data = os.path.join(tmp, "data")
        self.db = os.path.join(self.data, "attestlab.db")
        self.cafile = os.path.join(self.data, "tls", "cert.pem")
        self.url = f"https://127.0.0.1:{port}/acme/directory"
        self.proc = None
        self.starts = 0

    def start(self):
        for attempt in range(50):  # the killed server's port may linger briefly
            self.starts += 1
            log = open(os.path.join(self.tmp, f"serve.{self.starts}.log"), "w")
            self.proc = subprocess.Popen(
                [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data,
                 "--http01-port", str(self.http01), "--log-level", "quiet"],
                stdout=subprocess.PIPE, stderr=log, text=True)
            ready, _, _ = select.select([self.proc.stdout], [], [], 30)
            line = self.proc.stdout.readline().strip() if ready else ""
            if line == f"ready {self.url}":
                return
            self.proc.kill()
            self.proc.wait(10)
            time.sleep(0.1)
        fail(f"server did not restart on the same store (see {self.tmp}/serve.*.log)")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def new_client(server, key, account=None):
    net = client.ClientNetwork(key, account=account, alg=jose.ES256, user_agent="attestlab-crash",
                               verify_ssl=server.cafile, timeout=10)
    net.session.trust_env = False
    return client.ClientV2(client.ClientV2.get_directory(server.url, net), net), net


def issue(acme):
    cert_key = ec.generate_private_key(ec.SECP256R1())
    pem = cert_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    order = acme.new_order(crypto_util.make_csr(pem, ipaddrs=[ipaddress.ip_address("127.0.0.1")]))
    for authz in order.authorizations:
        chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = chall.response_and_validation(acme.net.key)
        tokens[chall.chall.encode("token")] = validation
        acme.answer_challenge(chall, response)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=20)
    return acme.poll_and_finalize(order, deadline)


def enroll_until_killed(server, stop, received):
    """One account; enrollments until the server dies (or stop). Records what it got."""
    try:
        key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        acme, net = new_client(server, key)
        regr = acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
        net.account = regr
        while not stop.is_set():
            order = issue(acme)
            leaf = x509.load_pem_x509_certificate(order.fullchain_pem.encode())
            received.append({"key": key, "regr": regr, "cert_url": order.body.certificate,
                              "serial": format(leaf.serial_number, "x"),
                              "leaf_der": leaf.public_bytes(serialization.Encoding.DER)})
    except Exception:  # the kill ends every enrollment in flight, at any step
        pass


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fresh_nonce(server):
    directory = requests.get(server.url, verify=server.cafile, timeout=10).json()
    r = requests.head(directory["newNonce"], verify=server.cafile, timeout=10)
    return r.headers["Replay-Nonce"]


def signed_get(server, key, kid, nonce):
    """The JSON body of a POST-as-GET of the account, signed with this nonce."""
    padded = nonce + "=" * (-len(nonce) % 4)
    jws = acme_jws.JWS.sign(b"", key=key, alg=jose.ES256,
                            nonce=base64.urlsafe_b64decode(padded), url=kid, kid=kid)
    return jws.json_dumps()


def post(server, url, body):
    r = requests.post(url, data=body, headers={"Content-Type": "application/jose+json"},
                      verify=server.cafile, timeout=10)
    problem = r.json().get("type", "") if r.status_code >= 400 else ""
    return r.status_code, problem


def store_checks(server, cycle):
    """On the killed server's files: integrity, and valid orders have certificates."""
    db = sqlite3.connect(server.db, timeout=10)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        check(integrity == [("ok",)], f"cycle {cycle}: PRAGMA integrity_check ok after SIGKILL")
        certs = {row[0] for row in db.execute("SELECT id FROM certificates")}
        bad = [oid for oid, text in db.execute("SELECT id, json FROM orders WHERE status='valid'")
               if json.loads(text).get("certificate_id", "") not in certs]
        check(not bad, f"cycle {cycle}: no valid order without its certificate ({bad[:3]})")
    finally:
        db.close()


def stuck_processing(server):
    db = sqlite3.connect(server.db, timeout=10)
    try:
        return [row[0] for row in db.execute("SELECT id FROM orders WHERE status='processing'")]
    finally:
        db.close()


def verify_received(server, received, cycle):
    db = sqlite3.connect(server.db, timeout=10)
    try:
        serials = {row[0] for row in db.execute("SELECT serial FROM certificates")}
    finally:
        db.close()
    missing = [r["serial"] for r in received if r["serial"] not in serials]
    check(not missing, f"cycle {cycle}: all {len(received)} received certificates are in the store")
    for r in received:
        acme, _ = new_client(server, r["key"], r["regr"])
        chain = acme._post_as_get(r["cert_url"]).text
        leaf = x509.load_pem_x509_certificate(chain.encode())
        if leaf.public_bytes(serialization.Encoding.DER) != r["leaf_der"]:
            fail(f"cycle {cycle}: {r['cert_url']} serves another certificate after restart")
    print(f"ok: cycle {cycle}: all {len(received)} received certificates download unchanged")


def main():
    rng = random.Random(SEED)
    print(f"crash consistency: {CYCLES} cycles, seed {SEED}")
    tmp = tempfile.mkdtemp(prefix="attestlab-crash.")
    http01 = free_port()
    responder = http.server.ThreadingHTTPServer(("127.0.0.1", http01), Responder)
    threading.Thread(target=responder.serve_forever, daemon=True).start()
    server = Server(tmp, free_port(), http01)
    server.start()
    received, stuck_seen, ok = [], set(), False
    try:
        for cycle in range(1, CYCLES + 1):
            # A signed request accepted now, replayed after the kill; a nonce left unused.
            key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
            acme, net = new_client(server, key)
            regr = acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
            used = signed_get(server, key, regr.uri, fresh_nonce(server))
            check(post(server, regr.uri, used)[0] == 200, f"cycle {cycle}: signed request accepted")
            unused = signed_get(server, key, regr.uri, fresh_nonce(server))

            stop, before = threading.Event(), len(received)
            workers = [threading.Thread(target=enroll_until_killed, args=(server, stop, received))
                       for _ in range(WORKERS)]
            for w in workers:
                w.start()
            time.sleep(rng.uniform(1.0, 4.0))
            server.kill()
            stop.set()
            for w in workers:
                w.join(60)
            check(not any(w.is_alive() for w in workers), f"cycle {cycle}: clients stopped")
            print(f"cycle {cycle}: SIGKILL after {len(received) - before} enrollments")
            store_checks(server, cycle)

            server.start()
            status, problem = post(server, regr.uri, used)
            check(status == 400 and problem.endswith(":badNonce"),
                  f"cycle {cycle}: request accepted before the kill is refused when replayed "
                  f"({status} {problem})")
            first, second = post(server, regr.uri, unused), post(server, regr.uri, unused)
            check(second[0] == 400 and second[1].endswith(":badNonce"),
                  f"cycle {cycle}: a nonce from before the kill is accepted at most once "
                  f"({first[0]}, then {second[0]} {second[1]})")
            verify_received(server, received, cycle)
            stuck = stuck_processing(server)
            if stuck:
                stuck_seen.update(stuck)
                print(f"{KNOWN_STUCK}: cycle {cycle}: orders {stuck} stay processing after restart")
            else:
                print(f"ok: cycle {cycle}: no order stuck in processing")
        print(f"survived {CYCLES} SIGKILL cycles, {len(received)} certificates checked")
        if stuck_seen:
            print(f"{KNOWN_STUCK}: {len(stuck_seen)} orders in total")
            if STRICT:
                fail("orders stuck in processing (ATTESTLAB_CRASH_STRICT=1)")
        ok = True
    finally:
        server.stop()
        responder.shutdown()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs and store kept in {tmp}", file=sys.stderr)


if __name__ == "__main__":
    main()
