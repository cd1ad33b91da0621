#!/usr/bin/python3
"""Third independent client: Python's `acme`/`josepy` (Debian packages) against
`attestlab serve`: an http-01 issuance, account key rollover (RFC 8555 §7.3.5, built with
josepy since python-acme has no helper for it), and revocation by the account key and by
the certificate key (§7.6). Exits non-zero on the first failed assertion."""
import datetime
import json
import ipaddress
import http.server
import os
import subprocess
import sys
import tempfile
import threading

import josepy as jose
from acme import challenges, client, crypto_util, errors, messages
from acme import jws as acme_jws
from OpenSSL import crypto
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib_e2e import Responder, check, free_port, tokens  # noqa: E402

BIN = os.environ["ATTESTLAB_BIN"]


def main():
    tmp = tempfile.mkdtemp(prefix="attestlab-pyacme.")
    http01 = free_port()
    port = free_port()
    responder = http.server.ThreadingHTTPServer(("127.0.0.1", http01), Responder)
    threading.Thread(target=responder.serve_forever, daemon=True).start()
    data = os.path.join(tmp, "data")
    srv = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                            "--http01-port", str(http01)],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "serve.log"), "w"),
                           text=True)
    try:
        line = srv.stdout.readline().strip()
        check(line == f"ready https://127.0.0.1:{port}/acme/directory", f"server ready ({line})")
        run(line.split(" ", 1)[1], os.path.join(data, "tls", "cert.pem"))
    finally:
        srv.terminate()
        srv.wait(10)
        responder.shutdown()


def new_client(url, cafile, key):
    alg = {256: jose.ES256, 384: jose.ES384}[key.key.curve.key_size]
    net = client.ClientNetwork(key, alg=alg, user_agent="attestlab-e2e", verify_ssl=cafile)
    net.session.trust_env = False  # REQUESTS_CA_BUNDLE must not override verify_ssl
    return client.ClientV2(client.ClientV2.get_directory(url, net), net), net


def issue(acme, ident="127.0.0.1"):
    """Orders a certificate for an IP identifier (RFC 8738) over http-01."""
    cert_key = ec.generate_private_key(ec.SECP256R1())
    pem = cert_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    csr = crypto_util.make_csr(pem, ipaddrs=[ipaddress.ip_address(ident)])
    order = acme.new_order(csr)
    for authz in order.authorizations:
        chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = chall.response_and_validation(acme.net.key)
        tokens[chall.chall.encode("token")] = validation
        acme.answer_challenge(chall, response)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    order = acme.poll_and_finalize(order, deadline)
    return order, cert_key


def run(url, cafile):
    key1 = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    acme, net = new_client(url, cafile, key1)
    regr = acme.new_account(messages.NewRegistration.from_data(
        email="py@example.com", terms_of_service_agreed=True))
    net.account = regr
    check(regr.body.status == "valid", "account created")

    order, _ = issue(acme)
    check("BEGIN CERTIFICATE" in order.fullchain_pem, "certificate issued over http-01 (IP identifier)")

    # Key rollover: inner JWS signed by the new key, {account, oldKey}, url = keyChange URL.
    key2 = jose.JWKEC(key=ec.generate_private_key(ec.SECP384R1()))
    kc_url = acme.directory["keyChange"]
    inner = acme_jws.JWS.sign(
        json.dumps({"account": regr.uri, "oldKey": key1.public_key().to_partial_json()}).encode(),
        key=key2, alg=jose.ES384, nonce=None, url=kc_url)
    resp = net.post(kc_url, inner)
    check(resp.status_code == 200, f"keyChange accepted ({resp.status_code})")

    # The old key is now unknown; the new key finds the same account.
    acme_old, net_old = new_client(url, cafile, key1)
    try:
        acme_old.new_account(messages.NewRegistration.from_data(only_return_existing=True))
        check(False, "old key still finds the account after rollover")
    except errors.Error as e:
        check("accountDoesNotExist" in str(getattr(e, "typ", e)) or "accountDoesNotExist" in str(e),
              "old key: accountDoesNotExist after rollover")
    acme2, net2 = new_client(url, cafile, key2)
    try:
        acme2.new_account(messages.NewRegistration.from_data(only_return_existing=True))
        check(False, "new_account with an existing key must raise ConflictError")
    except errors.ConflictError as e:
        check(e.location == regr.uri, "new key resolves to the same account URL")
    net2.account = regr

    # Revocation by the account key (new key), then by the certificate key.
    order2, cert_key2 = issue(acme2)
    cert = x509.load_pem_x509_certificate(order2.fullchain_pem.encode())
    acme2.revoke(jose.ComparableX509(crypto.X509.from_cryptography(cert)), 1)
    check(True, "revoked by account key (reason keyCompromise)")
    try:
        acme2.revoke(jose.ComparableX509(crypto.X509.from_cryptography(cert)), 1)
        check(False, "second revocation must fail")
    except messages.Error as e:
        check(e.code == "alreadyRevoked", f"second revocation: alreadyRevoked ({e.code})")

    order3, cert_key3 = issue(acme2)
    cert3 = x509.load_pem_x509_certificate(order3.fullchain_pem.encode())
    cert_jwk = jose.JWKEC(key=cert_key3)
    acme_ck, net_ck = new_client(url, cafile, cert_jwk)  # no account: jwk in the header
    acme_ck.revoke(jose.ComparableX509(crypto.X509.from_cryptography(cert3)), 4)
    check(True, "revoked by the certificate's own key (jwk), reason superseded")

    try:
        order4, _ = issue(acme2)
        cert4 = crypto.X509.from_cryptography(
            x509.load_pem_x509_certificate(order4.fullchain_pem.encode()))
        acme2.revoke(jose.ComparableX509(cert4), 7)
        check(False, "reason 7 must be refused")
    except messages.Error as e:
        check(e.code == "badRevocationReason", f"reason 7: badRevocationReason ({e.code})")


if __name__ == "__main__":
    main()
