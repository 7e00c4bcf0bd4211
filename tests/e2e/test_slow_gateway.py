"""A gateway that takes its changes seconds late, within the convergence timeout, passes;
one later than the timeout fails, saying that the change never took effect within it.

The gateway is the reference behind `tests/slow/late_gateway.py`, which hands it every change
DELAY seconds after it was written. It keeps the reference target's confirmation honest: the
revision of a file appears on the admin address only once the late gateway serves it, so the
target's apply waits those seconds, and the back-to-back matches that confirmation allows
are taken on the new configuration, never on the old one.

The runs take a subset of the suite: at 3 s per change the whole of `features/` takes about
20 minutes (it was run so by hand, see docs/flakiness.md). The subset holds every kind of
change a scenario makes: objects applied (the docs page's set-up, a label selector, a
ConfigMap of hashed keys, a policy on an HTTPRoute, a ListenerSet), a Secret appearing
after the policy that needs it, a key added to a Secret in use and an old one revoked, a
Secret deleted while another still holds the key, a manifest refused with the last good
one left in force, policy status, and each scenario's clean-up.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from helpers import NO_KEY, ROOT, secret, status, strict_policy, with_key

from conformance.convergence import NotConverged, Rule, converge
from conformance.targets.base import ObjectRef, documents
from conformance.targets.reference import ReferenceTarget, _filename

# `bench` runs from a checkout; the package is not installed.
sys.path.insert(0, str(ROOT))
from bench.flakiness import failure_messages  # noqa: E402

LATE = ROOT / "tests" / "slow" / "late_gateway.py"
EVERY_KIND_OF_CHANGE = ("APIKEY-DOC-001", "APIKEY-DOC-002", "APIKEY-DOC-003", "APIKEY-EXT-030", "APIKEY-CORE-033", "APIKEY-CORE-034",
                        "APIKEY-EXT-022", "APIKEY-EXT-040", "APIKEY-EXT-050", "APIKEY-EXT-090", "APIKEY-EXT-105")
NEVER_TOOK_EFFECT = re.compile(r"never took (steady )?effect within")


def late(*options: str) -> str:
    return f"{sys.executable} {LATE} " + " ".join(options)


def run_suite(reference_command: str, timeout: float, report_dir: Path, scenarios: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "--reference-command", reference_command,
         "--convergence-timeout", str(timeout), "--report-dir", str(report_dir), "-m", " or ".join(scenarios)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )


def outcomes(report_dir: Path, scenarios: tuple[str, ...]) -> dict[str, str]:
    """Outcome per scenario (and outline example) of these IDs, from the run's ConformanceReport."""
    report = yaml.safe_load((report_dir / "conformance-report.yaml").read_text())
    return {s["name"]: s["outcome"] for s in report["scenarios"] if s["name"].partition("[")[0] in scenarios}


def test_a_gateway_three_seconds_late_passes_every_scenario(tmp_path):
    result = run_suite(late("--delay", "3"), 30, tmp_path, EVERY_KIND_OF_CHANGE)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    seen = outcomes(tmp_path, EVERY_KIND_OF_CHANGE)
    assert {name.partition("[")[0] for name in seen} == set(EVERY_KIND_OF_CHANGE)
    assert set(seen.values()) == {"passed"}, seen
    # Not a vacuous pass: every scenario makes a change, so each waited at least the delay.
    cases = {case.get("name").split()[0]: float(case.get("time")) for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    assert all(seconds >= 3 for seconds in cases.values()), cases


def test_a_gateway_later_than_the_timeout_fails_each_scenario_saying_its_change_never_took_effect(tmp_path):
    # Policies only, so that the base objects go in at set-up and each scenario reaches its own change.
    scenarios = ("APIKEY-DOC-001", "APIKEY-CORE-034", "APIKEY-EXT-040", "APIKEY-EXT-090")
    result = run_suite(late("--delay", "12", "--kinds", "AgentgatewayPolicy"), 5, tmp_path, scenarios)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    seen = outcomes(tmp_path, scenarios)
    assert {name.partition("[")[0] for name in seen} == set(scenarios) and set(seen.values()) == {"failed"}, seen
    messages = failure_messages(tmp_path / "junit.xml")
    assert set(messages) == set(seen), messages
    for name, message in messages.items():
        assert NEVER_TOOK_EFFECT.search(message) and "within 5 s" in message, f"{name}: {message}"


def test_a_gateway_too_late_for_its_base_objects_stops_the_run_at_set_up_saying_why(tmp_path):
    result = run_suite(late("--delay", "12"), 5, tmp_path, ("APIKEY-DOC-001",))
    assert result.returncode == 3, result.stdout[-4000:] + result.stderr[-2000:]
    out = result.stdout + result.stderr
    assert "the reference target could not be set up" in out and "never took effect within 5 s" in out, out[-3000:]


def test_on_a_target_that_does_not_confirm_the_convergence_rule_waits_for_a_late_change_or_says_it_never_came(tmp_path):
    """The cluster targets' way: the change is written and nothing waits for the gateway to take
    it, so the expectation itself waits, up to the timeout; here by writing the file the way
    the reference target does, without its wait."""
    with ReferenceTarget(frozenset(), command=late("--delay", "3", "--kinds", "AgentgatewayPolicy"), workdir=tmp_path).running() as target:
        target.apply(secret({"a": "late-key-0123456789"}))
        (doc,) = documents(strict_policy())
        written = time.monotonic()
        target._write(target.manifests / _filename(ObjectRef.of(doc)), yaml.safe_dump(doc).encode())
        try:
            converge(target.send, NO_KEY, status(401), Rule(threshold=3, timeout=1, interval=0.1), "status 401")
        except NotConverged as exc:
            first = str(exc).splitlines()[0]
        else:
            raise AssertionError("the policy was in force before the late gateway could have taken it")
        assert "within 1 s (the convergence timeout), and not one of" in first and "never took effect within the timeout" in first, first
        converge(target.send, NO_KEY, status(401), Rule(threshold=3, timeout=30, interval=0.1), "status 401")
        assert time.monotonic() - written >= 3
        converge(target.send, with_key("late-key-0123456789"), status(200), Rule(threshold=3, timeout=30, interval=0.1), "status 200")

