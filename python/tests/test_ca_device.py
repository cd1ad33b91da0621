"""The mock Apple CA and the simulated device, without a server."""

import hashlib

import pytest

import attestlab


def test_package_exports_the_api():
    for name in ("MockAppleCA", "Device", "Target", "run_scenario", "conform", "load",
                 "AcmeProblem", "Result"):
        assert hasattr(attestlab, name), name
    assert "rogue_root_chain" in attestlab.client_fault_names()
    assert "iPhone" in attestlab.device_kinds()
    assert "os-below-minimum" in attestlab.scenario_names()
    assert issubclass(attestlab.AcmeProblem, attestlab.AttestlabError)


def test_ca_saves_loads_and_refuses_to_overwrite(tmp_path):
    ca = attestlab.MockAppleCA()
    assert "Mock Apple Enterprise Attestation Root CA" in ca.root.subject
    assert ca.root.is_ca and ca.intermediate.signed_by(ca.root)
    ca.save(str(tmp_path / "ca"))
    assert attestlab.MockAppleCA.exists_in(str(tmp_path / "ca"))
    loaded = attestlab.MockAppleCA.load(str(tmp_path / "ca"))
    assert loaded.root.fingerprint_sha256 == ca.root.fingerprint_sha256
    with pytest.raises(attestlab.AttestlabError) as err:
        attestlab.MockAppleCA().save(str(tmp_path / "ca"))
    assert err.value.type == "malformed"
    with pytest.raises(attestlab.AttestlabError):
        attestlab.MockAppleCA.load(str(tmp_path / "nothing-here"))


def test_ca_issues_an_attestation_for_properties_key_and_nonce():
    ca = attestlab.MockAppleCA()
    key_pem = attestlab.MockAppleCA().root.public_key_pem  # any EC public key
    a = ca.issue_attestation(key_pem, serial="F2LXQ7K9MN", udid="00008110-001A2D3E0C12801E",
                             os_version="17.5", nonce=b"abc")
    assert a.leaf.public_key_pem == key_pem
    assert a.leaf.signed_by(a.intermediate) and not a.leaf.signed_by(ca.root)
    assert a.intermediate.fingerprint_sha256 == ca.intermediate.fingerprint_sha256
    assert a.freshness == hashlib.sha256(b"abc").digest()
    facts = a.leaf.apple_facts()
    assert facts["serial"] == "F2LXQ7K9MN" and facts["os_version"] == "17.5"
    assert a.x5c == [a.leaf.der, a.intermediate.der]
    assert ca.issue_attestation(key_pem).freshness is None
    with pytest.raises(ValueError):
        ca.issue_attestation(key_pem, secure_boot="sideways")


def test_device_properties_update_and_attestation():
    ca = attestlab.MockAppleCA()
    device = attestlab.Device("iPhone", ca=ca, os_version="16.4", serial="ABCDEFGH12")
    assert device.kind == "iPhone" and device.platform == "iOS"
    assert device.serial == "ABCDEFGH12" and device.os_version == "16.4"
    assert device.supports_attestation
    first = device.attest(nonce=b"n1")
    assert first.freshness == hashlib.sha256(b"n1").digest()
    assert first.leaf.apple_facts()["serial"] == "ABCDEFGH12"
    assert first.leaf.apple_facts()["os_version"] == "16.4"
    assert first.leaf.signed_by(ca.intermediate)
    # Apple's 7-day throttle: the second request gets the cached leaf.
    assert device.attest(nonce=b"n2").from_cache
    device.update_software("17.5", build_version="21F79")
    assert device.os_version == "17.5" and device.build_version == "21F79"
    device.restore()
    assert device.erase_count == 1
    after = device.attest(nonce=b"n3")  # erased: Apple is asked again
    assert not after.from_cache and after.leaf.apple_facts()["os_version"] == "17.5"


def test_device_arguments_are_checked():
    with pytest.raises(ValueError):
        attestlab.Device("Toaster")
    legacy = attestlab.Device("LegacyiPhone")
    assert not legacy.supports_attestation
    with pytest.raises(attestlab.AttestlabError, match="no mock Apple CA"):
        attestlab.Device().attest()  # no CA to get an attestation from
    same = attestlab.Device("Mac", seed=7), attestlab.Device("Mac", seed=7)
    assert same[0].serial == same[1].serial
