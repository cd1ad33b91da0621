"""attestlab for Python: simulated Apple devices and the mock Apple attestation CA,
ACME device-attest-01 enrollment against any target (or attestlab's embedded server),
scenarios, the conformance suite and the load generator, with the C++ engine underneath.

    import attestlab
    with attestlab.Target.embedded() as target:
        device = attestlab.Device("iPhone", os_version="17.5")
        enrollment = device.enroll(target)
        print(enrollment.certificate.permanent_identifiers)

Failures of an enrollment raise :class:`AcmeProblem` (type, status, detail); other
failures :class:`AttestlabError`; bad arguments ``ValueError``. Network and crypto work
releases the GIL, so a thread pool can drive several devices at once (one device per
thread). The pytest plugin is ``attestlab.pytest`` (``pytest -p attestlab.pytest``).
"""

from ._errors import AcmeProblem, AttestlabError
from ._attestlab import (
    Attestation,
    CaseResult,
    Certificate,
    Device,
    Enrollment,
    MockAppleCA,
    Result,
    Target,
    TargetRun,
    client_fault_names,
    conform,
    conformance_cases,
    device_kinds,
    load,
    run_scenario,
    scenario_names,
)

__version__ = "0.1.0"

__all__ = [
    "AcmeProblem",
    "Attestation",
    "AttestlabError",
    "CaseResult",
    "Certificate",
    "Device",
    "Enrollment",
    "MockAppleCA",
    "Result",
    "Target",
    "TargetRun",
    "client_fault_names",
    "conform",
    "conformance_cases",
    "device_kinds",
    "load",
    "run_scenario",
    "scenario_names",
]
