"""Devices enrolling against the embedded server, faults by name, many threads."""

from concurrent.futures import ThreadPoolExecutor

import pytest

import attestlab


def test_five_line_enrollment(embedded_target, apple_ca):
    device = attestlab.Device("iPhone", ca=apple_ca)
    enrollment = device.enroll(embedded_target)
    assert enrollment.ok and enrollment.certificate.permanent_identifiers == [device.serial]


def test_enrollment_certificate_and_chain(embedded_target, apple_ca):
    before = embedded_target.certificates_issued
    device = attestlab.Device("Mac", ca=apple_ca)
    e = device.enroll(embedded_target, wire_log=True)
    assert e.ok and e.failed_step == "" and e.error_type == ""
    assert e.identifier == device.serial and e.hardware_bound
    cert = e.certificate
    assert cert.permanent_identifiers == [device.serial]
    assert "1.3.6.1.5.5.7.3.2" in cert.extended_key_usages  # clientAuth
    assert not cert.is_ca
    chain = e.chain
    assert chain[0].fingerprint_sha256 == cert.fingerprint_sha256
    assert cert.signed_by(chain[1])
    issuing = attestlab.Certificate.from_pem(embedded_target.issuing_ca_pem)
    assert chain[1].fingerprint_sha256 == issuing.fingerprint_sha256
    assert device.certificate.serial == cert.serial
    assert embedded_target.certificates_issued == before + 1
    log = e.wire_log
    assert log[0]["method"] == "GET" and log[0]["url"] == embedded_target.directory_url
    assert any(x["method"] == "POST" and x["url"] == e.order_url for x in log)
    assert device.enroll(embedded_target).wire_log is None  # only on demand


def test_fault_by_name_is_refused_with_the_acme_type(embedded_target, apple_ca):
    device = attestlab.Device("iPhone", ca=apple_ca)
    with pytest.raises(attestlab.AcmeProblem) as err:
        device.enroll(embedded_target, faults=["rogue_root_chain"])
    problem = err.value
    assert problem.type == "badAttestationStatement"
    assert problem.urn == "urn:ietf:params:acme:error:badAttestationStatement"
    assert problem.step == "challenge"
    assert problem.status == 400
    assert problem.detail
    assert problem.enrollment is not None and not problem.enrollment.ok
    assert problem.enrollment.faults == ["rogue_root_chain"]
    # check=False returns the failed enrollment instead of raising.
    e = device.enroll(embedded_target, faults=["omit_freshness"], check=False)
    assert not e and e.error_type == "badAttestationStatement" and e.certificate is None
    # The honest device still enrolls afterwards.
    assert device.enroll(embedded_target).ok


def test_unknown_fault_name_is_a_value_error(embedded_target, apple_ca):
    with pytest.raises(ValueError, match="unknown client fault"):
        attestlab.Device(ca=apple_ca).enroll(embedded_target, faults=["no_such_knob"])


def test_device_that_cannot_attest(embedded_target):
    with pytest.raises(attestlab.AcmeProblem) as err:
        attestlab.Device("LegacyiPhone").enroll(embedded_target)
    assert err.value.type == "deviceCannotAttest" and err.value.step == "attest"


def test_thread_pool_enrolls_devices_concurrently(embedded_target, apple_ca):
    devices = [attestlab.Device(kind, ca=apple_ca)
               for kind in ("iPhone", "iPad", "Mac", "AppleTV", "iPhone", "Mac")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        enrollments = list(pool.map(lambda d: d.enroll(embedded_target), devices))
    assert all(e.ok for e in enrollments)
    assert [e.certificate.permanent_identifiers for e in enrollments] == \
        [[d.serial] for d in devices]
    assert len({e.certificate.serial for e in enrollments}) == len(devices)


def test_policy_refuses_old_os_until_the_update():
    # An attestation does not name its platform: the inventory entry says "iOS".
    device = attestlab.Device("iPhone", os_version="16.4", build_version="20E247")
    inventory = [{"serial": device.serial, "udid": device.udid, "status": "active",
                  "platform": "iOS"}]
    with attestlab.Target.embedded(policy={"min_os_version": {"iOS": "17.0"}},
                                   inventory=inventory) as target:
        with pytest.raises(attestlab.AcmeProblem) as err:
            device.enroll(target)
        assert err.value.type == "badAttestationStatement"
        device.update_software("17.5", build_version="21F79")
        assert device.enroll(target).certificate.permanent_identifiers == [device.serial]


def test_closed_target_refuses_use():
    target = attestlab.Target.embedded()
    url = target.directory_url
    assert url.startswith("https://127.0.0.1:") and target.is_embedded
    target.close()
    assert target.closed
    target.close()  # idempotent
    with pytest.raises(attestlab.AttestlabError) as err:
        attestlab.Device().enroll(target)
    assert err.value.type == "closed"


def test_foreign_target_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError):
        attestlab.Target()
    with pytest.raises(ValueError):
        attestlab.Target("not a url")
    with pytest.raises(ValueError):
        attestlab.Target("https://127.0.0.1:1/dir", eab_kid="k")
    ca = attestlab.MockAppleCA()
    t = attestlab.Target("https://127.0.0.1:1/dir", attestation_ca=ca, name="nowhere")
    assert t.name == "nowhere" and not t.is_embedded
    assert t.apple_ca.root.fingerprint_sha256 == ca.root.fingerprint_sha256
    e = attestlab.Device(ca=ca).enroll(t, check=False)
    assert not e.ok and e.failed_step == "account"
    t.close()
