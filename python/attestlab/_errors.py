"""The exceptions of attestlab (the C++ engine raises these)."""

from __future__ import annotations

from typing import Any, Optional

ACME_URN = "urn:ietf:params:acme:error:"


class AttestlabError(RuntimeError):
    """Something attestlab could not do: a malformed scenario, a server that does not
    start, a closed target. ``type`` is the error's short name, ``detail`` says why."""

    def __init__(self, type: str, detail: str) -> None:
        super().__init__(f"{type}: {detail}")
        self.type = type
        self.detail = detail


class AcmeProblem(AttestlabError):
    """An ACME enrollment that failed: the server's refusal (RFC 8555 §6.7 problem) or
    the device's own failure before it.

    ``type`` is the ACME error short name (``badAttestationStatement``, ``rejectedIdentifier``,
    ...; ``urn`` is the full ``urn:ietf:params:acme:error:`` form), ``status`` the HTTP
    status (0 when there was no HTTP refusal), ``detail`` the problem's detail, ``step``
    the enrollment step that failed, ``problem`` the whole problem document (dict or None)
    and ``enrollment`` the :class:`attestlab.Enrollment` with everything else."""

    def __init__(self, type: str, status: int, detail: str, step: str = "",
                 problem: Optional[dict] = None, enrollment: Any = None) -> None:
        super().__init__(type, detail)
        self.args = (f"{step + ': ' if step else ''}{type} ({status}): {detail}",)
        self.status = status
        self.step = step
        self.problem = problem
        self.enrollment = enrollment

    @property
    def urn(self) -> str:
        """The error type as a URN (the short name when it is not an ACME type)."""
        if self.problem and isinstance(self.problem.get("type"), str):
            return self.problem["type"]
        return ACME_URN + self.type
