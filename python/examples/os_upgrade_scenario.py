#!/usr/bin/python3
"""A new scenario written in Python: an iPhone whose iOS is below the fleet's floor is
refused a certificate, gets a software update, and then enrolls.

    PYTHONPATH=build/release/python /usr/bin/python3 python/examples/os_upgrade_scenario.py

It runs twice against attestlab's embedded server -- as a scenario document (the same
JSON format as scenarios/library, here a Python dict) and played step by step with
Device and Target -- and then against pebble, Let's Encrypt's test server, when the
`pebble` program is installed (`--no-pebble` leaves it out).

What pebble can show, honestly: pebble has no device-attest-01 challenge, no
permanent-identifier identifiers, no device inventory and no posture policy, so it cannot
run this story at all. Against pebble the example therefore checks that
  1. the scenario is reported as *skipped* (it needs a target that applies the OS-version
     policy), never as passed;
  2. the device, played by hand, is refused before any attestation is sent: pebble turns
     down the permanent-identifier order, and AcmeProblem carries pebble's error type;
  3. what pebble does support, RFC 8555's directory (section 7.1.1), passes the
     conformance cases.
Exit status 0 when every check held.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import attestlab

FLOOR = {"min_os_version": {"iOS": "17.0"}}

SCENARIO = {
    "name": "ios-upgrade-then-enroll",
    "summary": "An iPhone on iOS 16.4, below the fleet's 17.0 floor, is refused until it "
               "updates to 17.5",
    "threat": "an out-of-date device",
    "spec": ["attestlab policy: min_os_version", "draft-ietf-acme-device-attest-10 §5"],
    "assumes_policy": FLOOR,
    "level": "policy",
    "devices": [{"id": "phone", "kind": "iPhone",
                 "identity": {"os_version": "16.4", "build_version": "20E247"}}],
    "steps": [
        {"type": "acme_enroll", "device": "phone", "title": "attested iOS 16.4 < floor 17.0",
         "expect": {"error": "badAttestationStatement", "failed_step": "challenge"}},
        {"type": "update_device", "device": "phone", "title": "software update to 17.5",
         "identity": {"os_version": "17.5", "build_version": "21F79"}},
        {"type": "acme_enroll", "device": "phone", "title": "after the update",
         "expect": {"issued": True}},
    ],
}


def show(result: attestlab.Result) -> None:
    for case in result.cases:
        print(f"  {case.outcome:5} {case.id}: {case.title}"
              + (f" ({case.reason})" if case.reason else ""))


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def against_embedded() -> None:
    print("== the scenario against the embedded server (policy: iOS >= 17.0)")
    result = attestlab.run_scenario(SCENARIO)
    show(result)
    check(result.passed and [c.outcome for c in result.cases] == ["pass", "pass"],
          "refused below the floor, enrolled after the update")

    print("== the same story step by step")
    phone = attestlab.Device("iPhone", os_version="16.4", build_version="20E247")
    # An attestation does not name its platform: the inventory entry says "iOS".
    inventory = [{"serial": phone.serial, "udid": phone.udid, "status": "active",
                  "platform": "iOS"}]
    with attestlab.Target.embedded(policy=FLOOR, inventory=inventory) as target:
        try:
            phone.enroll(target)
            check(False, "iOS 16.4 must be refused")
        except attestlab.AcmeProblem as problem:
            print(f"  refused: {problem}")
            check(problem.type == "badAttestationStatement" and problem.step == "challenge",
                  "iOS 16.4 refused with badAttestationStatement")
        phone.update_software("17.5", build_version="21F79")
        cert = phone.enroll(target).certificate
        print(f"  issued: {cert.subject}, serial {cert.serial}")
        check(cert.permanent_identifiers == [phone.serial], "iOS 17.5 enrolled")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"pebble did not listen on {port}")


def against_pebble(work: str) -> None:
    print("== against pebble (no device-attest-01: see the file comment)")
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    port = free_port()
    config = os.path.join(work, "pebble.json")
    with open(config, "w") as f:
        f.write('{"pebble":{"listenAddress":"127.0.0.1:%d","managementListenAddress":'
                '"127.0.0.1:%d","certificate":"%s","privateKey":"%s","httpPort":%d,'
                '"tlsPort":%d,"ocspResponderURL":"","externalAccountBindingRequired":false}}'
                % (port, free_port(), cert, key, free_port(), free_port()))
    log = open(os.path.join(work, "pebble.log"), "w")
    pebble = subprocess.Popen(["pebble", "-config", config], stdout=log, stderr=log,
                              env={**os.environ, "PEBBLE_VA_NOSLEEP": "1"})
    try:
        wait_port(port)
        url = f"https://127.0.0.1:{port}/dir"
        # The scenario engine's devices need a mock Apple CA that the target is said to
        # trust; pebble trusts none, which is one more reason the scenario cannot run there.
        with attestlab.Target(url, trust_ca=cert, attestation_ca=attestlab.MockAppleCA(),
                              name="pebble") as target:
            result = attestlab.run_scenario(SCENARIO, target)
            show(result)
            check(all(c.outcome == "skip" for c in result.cases) and not result.failed,
                  "the scenario is skipped on pebble (no policy), not passed")

        with attestlab.Target(url, trust_ca=cert, name="pebble") as target:
            phone = attestlab.Device("iPhone", os_version="17.5", ca=attestlab.MockAppleCA())
            enrollment = phone.enroll(target, check=False)
            print(f"  device enrollment: {enrollment.summary}")
            check(not enrollment.ok and enrollment.failed_step == "order",
                  "pebble refuses the permanent-identifier order")

            basics = attestlab.conform(target, only="rfc8555-7.1.1")
            show(basics)
            check(basics.passed and basics.counts()["pass"] > 0,
                  "pebble passes the RFC 8555 directory cases")
    finally:
        pebble.terminate()
        pebble.wait(10)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-pebble", action="store_true", help="only the embedded server")
    args = parser.parse_args()
    against_embedded()
    if args.no_pebble:
        return 0
    if shutil.which("pebble") is None:
        print("pebble is not installed (apt-get install pebble): its part is left out")
        return 0
    with tempfile.TemporaryDirectory(prefix="attestlab-example-") as work:
        against_pebble(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
