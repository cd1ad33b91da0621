"""Conformance, scenarios and load from Python, and their structured results."""

import json

import pytest

import attestlab

DIRECTORY_CASES = "rfc8555-7.1.1"


def test_conform_only_some_cases_returns_outcomes(embedded_target):
    wanted = [c["id"] for c in attestlab.conformance_cases(only=DIRECTORY_CASES)]
    assert wanted and all(i.startswith(DIRECTORY_CASES) for i in wanted)
    result = attestlab.conform(embedded_target, only=[DIRECTORY_CASES], jobs=2)
    assert result.kind == "conformance"
    assert [c.id for c in result.cases] == sorted(wanted)
    outcomes = [(c.id, c.outcome, c.reason) for c in result.cases]
    assert all(c.outcome in ("pass", "skip") for c in result.cases), outcomes
    assert all(c.reason for c in result.cases if c.outcome == "skip"), outcomes
    counts = result.counts()
    assert result.passed and counts["pass"] >= 2 and counts["fail"] == counts["error"] == 0
    assert counts["pass"] + counts["skip"] == len(wanted)
    case = result.case(wanted[0])
    assert case.spec == "RFC 8555" and case.level in ("MUST", "SHOULD", "MAY")
    assert case.requirement and isinstance(case.wire_log, list) and case.wire_log
    assert "<testsuite" in result.to_junit() and wanted[0] in result.to_junit()
    assert result.to_html().lstrip().lower().startswith("<!doctype html")
    doc = result.to_json()
    assert doc["schema"] == "attestlab.result/1"
    again = attestlab.Result.from_json(json.dumps(doc))
    assert [c.id for c in again.cases] == [c.id for c in result.cases]


def test_conform_skip_and_bad_patterns(embedded_target):
    wanted = [c["id"] for c in attestlab.conformance_cases(only=DIRECTORY_CASES)]
    result = attestlab.conform(embedded_target, only=DIRECTORY_CASES, skip=wanted[0])
    assert wanted[0] not in [c.id for c in result.cases]
    assert len(result.cases) == len(wanted) - 1
    with pytest.raises(ValueError, match="matches no case"):
        attestlab.conform(embedded_target, only=["no-such-case-anywhere"])


def test_library_scenario_on_its_own_embedded_server(tmp_path):
    result = attestlab.run_scenario("forged-chain", seed=1)
    assert result.kind == "scenario" and result.passed
    assert len(result.cases) == 1
    case = result.cases[0]
    assert case.outcome == "pass" and case.profile == "forged-chain"
    result.write(str(tmp_path / "report"))
    assert (tmp_path / "report" / "junit.xml").read_text().count("<testcase") == 1


def test_scenario_as_dict_against_a_given_target(embedded_target):
    scenario = {
        "name": "py-two-phones",
        "summary": "two phones enroll",
        "threat": "none",
        "spec": ["draft-ietf-acme-device-attest-10"],
        "devices": [{"id": "a", "kind": "iPhone"}, {"id": "b", "kind": "iPad"}],
        "steps": [
            {"type": "acme_enroll", "device": "a", "expect": {"issued": True}},
            {"type": "acme_enroll", "device": "b", "client_faults": ["wrong_fmt"],
             "expect": {"error": "badAttestationStatement"}},
        ],
    }
    result = attestlab.run_scenario(scenario, embedded_target)
    assert [c.outcome for c in result.cases] == ["pass", "pass"], \
        [(c.id, c.reason) for c in result.cases]
    with pytest.raises(attestlab.AttestlabError) as err:
        attestlab.run_scenario({"name": "x", "steps": "not a list"}, embedded_target)
    assert err.value.type == "malformed"
    with pytest.raises(attestlab.AttestlabError, match="unknown scenario"):
        attestlab.run_scenario("no-such-scenario")


def test_load_device_flow(embedded_target):
    result = attestlab.load(embedded_target, flow="device", count=6, concurrency=2,
                            thresholds=["errors<1%"])
    assert result.kind == "load"
    figures = result.load
    summary = figures["summary"]
    assert summary["offered"] == 6 and summary["latency_ms"]["count"] == 6, summary
    assert summary["unfinished"] == 0 and summary["error_share"] == 0
    assert figures["target_issued"] == 6  # the embedded server's own count
    assert figures["flow"] == "device"
    assert figures["thresholds"][0]["passed"]
    assert result.passed
    with pytest.raises(ValueError):
        attestlab.load(embedded_target, rate="5/s", concurrency=2)
