"""pytest fixtures for attestlab: load with ``pytest -p attestlab.pytest`` or
``pytest_plugins = ["attestlab.pytest"]`` in a conftest.py.

    def test_enroll(embedded_target, apple_ca):
        device = attestlab.Device("iPhone", ca=apple_ca)
        cert = device.enroll(embedded_target).certificate
        assert cert.permanent_identifiers == [device.serial]

``embedded_target``: attestlab's ACME server started in-process once per test session
(no inventory check, the default posture policy), stopped at the end.
``apple_ca``: the mock Apple attestation CA that server trusts.
``attestlab_target``: with ``--attestlab-target URL`` (and ``--attestlab-trust-ca PEM``,
``--attestlab-attestation-ca DIR``) a foreign server instead; the embedded one otherwise.
"""

from __future__ import annotations

from typing import Iterator

import pytest

import attestlab


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("attestlab")
    group.addoption("--attestlab-target", default=None,
                    help="ACME directory URL for the attestlab_target fixture")
    group.addoption("--attestlab-trust-ca", default=None,
                    help="PEM file trusted for --attestlab-target's TLS")
    group.addoption("--attestlab-attestation-ca", default=None,
                    help="mock Apple CA directory (attestlab ca init) the target trusts")


@pytest.fixture(scope="session")
def embedded_target() -> Iterator[attestlab.Target]:
    """attestlab's ACME server, in-process, for the whole session."""
    with attestlab.Target.embedded() as target:
        yield target


@pytest.fixture(scope="session")
def apple_ca(embedded_target: attestlab.Target) -> attestlab.MockAppleCA:
    """The mock Apple attestation CA the embedded target trusts."""
    return embedded_target.apple_ca


@pytest.fixture(scope="session")
def attestlab_target(request: pytest.FixtureRequest) -> Iterator[attestlab.Target]:
    """The target named by --attestlab-target, or a session-wide embedded server."""
    url = request.config.getoption("--attestlab-target")
    if url is None:
        with attestlab.Target.embedded() as target:
            yield target
        return
    target = attestlab.Target(
        url,
        trust_ca=request.config.getoption("--attestlab-trust-ca"),
        attestation_ca=request.config.getoption("--attestlab-attestation-ca"),
    )
    try:
        yield target
    finally:
        target.close()
