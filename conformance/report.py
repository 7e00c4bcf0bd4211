"""Results per profile, shaped like the Gateway API's ConformanceReport.

A profile is `success` only when every scenario it expected ran and passed. Scenarios that
were expected but never ran (deselected with `-k`/`--deselect`, or not reached because the
run stopped early with `-x`, a crash or Ctrl-C) are listed with the reason and make the
profile `partial`; so do skipped core scenarios. Scenarios whose feature was checked only
against a stand-in (see `Report.provisional`) are run and listed, but not counted as passed.

Under pytest-xdist every worker keeps its own `Report`; each hands its state to the
controller when it finishes (`state()`), and the controller merges them (`merge()`), so the
controller's report is as complete as a single process's.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import statistics
from dataclasses import dataclass, field
from importlib import metadata

import pytest
import yaml

from . import features as ft
from .trace import CHANGE_KINDS, from_report

DESELECTED = "deselected (-k, -m or --deselect)"
NOT_REACHED = "not reached: the run stopped before it (-x, --maxfail, a crash or an interrupt)"


@dataclass
class _Profile:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    provisional: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        if self.failed:
            return "failure"
        if self.skipped or self.not_run or self.provisional:
            return "partial"
        return "success"


def _name(nodeid: str, scenario_id: str) -> str:
    # Outline examples share an ID; keep the example part so each is listed.
    param = nodeid.rpartition("[")[2].rstrip("]") if nodeid.endswith("]") else ""
    return f"{scenario_id}[{param}]" if param else scenario_id


def _shown(name: str, trace: dict | None) -> str:
    """A scenario's name as the reports show it.

    An outline example's name holds its values, keys among them. A scenario that ran has
    its name masked by its own trace (it knows its keys); for one that did not, the values
    are replaced by a short digest, which tells examples apart without showing them.
    """
    scenario_id, bracket, _ = name.partition("[")
    if not bracket:
        return name
    if trace is not None:
        return _name(trace["title"], scenario_id)
    return f"{scenario_id}[example {hashlib.sha256(name.encode()).hexdigest()[:8]}]"


class Report:
    def __init__(self, target):
        self.target = target
        self.supported: set[str] = set()
        # Features whose scenarios ran against something other than the real thing
        # (for example a stand-in CRD): feature -> why.
        self.provisional: dict[str, str] = {}
        self.crds: dict[str, str] = {}
        self._expected: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # nodeid -> (name, profile, features)
        self._outcome: dict[str, str] = {}
        self._unsupported: dict[str, tuple[str, str]] = {}  # entry -> (profile, kind)
        self._deselected: set[str] = set()
        # What a vendor says about the implementation (--implementation-* flags) and the mode.
        self.implementation: dict = {}
        self.mode = "default"
        self.traces: dict[str, dict] = {}  # nodeid -> the scenario's record (conformance/trace.py)

    def note_target(self) -> None:
        """Read what the started target says about its own parts (CRD origins, stand-ins)."""
        self.provisional.update(getattr(self.target, "provisional_features", None) or {})
        self.crds.update(getattr(self.target, "crd_sources", None) or {})

    # --- what collection decided ---------------------------------------------------

    def expect(self, nodeid: str, scenario_id: str, profile: str, features: set[str] | frozenset[str] = frozenset()) -> None:
        self._expected[nodeid] = (_name(nodeid, scenario_id), profile, tuple(sorted(features)))

    def unsupported(self, scenario_id: str, profile: str, missing: list[str]) -> None:
        # Core is what every implementation promises: not running it is a gap (skipped);
        # an extended scenario the target does not claim is simply not counted.
        entry = f"{scenario_id} (needs {', '.join(missing)})"
        self._unsupported[entry] = (profile, "skipped" if profile == ft.CORE else "unsupported")

    def skipped(self, nodeid: str, scenario_id: str, profile: str) -> None:
        self._expected[nodeid] = (_name(nodeid, scenario_id), profile, ())
        self._outcome[nodeid] = "skipped"

    def deselected(self, nodeids: list[str]) -> None:
        """Expected scenarios that something other than the profile choice took out."""
        self._deselected.update(n for n in nodeids if n in self._expected)

    def record(self, report: pytest.TestReport) -> None:
        trace = from_report(report)
        if trace is not None:
            self.traces[report.nodeid] = trace
        if report.nodeid not in self._expected:
            return
        if report.failed:
            self._outcome[report.nodeid] = "failed"
        elif report.skipped and self._outcome.get(report.nodeid) != "failed":
            self._outcome[report.nodeid] = "skipped"
        elif report.when == "call" and report.passed:
            self._outcome.setdefault(report.nodeid, "passed")

    # --- xdist ---------------------------------------------------------------------

    def state(self) -> dict:
        """What this process saw, in plain data a worker can hand to the controller."""
        return {
            "supported": sorted(self.supported),
            "expected": {k: list(v[:2]) + [list(v[2])] for k, v in self._expected.items()},
            "outcome": dict(self._outcome),
            "unsupported": {k: list(v) for k, v in self._unsupported.items()},
            "deselected": sorted(self._deselected),
            "provisional": dict(self.provisional),
            "crds": dict(self.crds),
            "traces": dict(self.traces),
        }

    def merge(self, state: dict) -> None:
        self.supported |= set(state["supported"])
        for nodeid, (name, profile, features) in state["expected"].items():
            self._expected.setdefault(nodeid, (name, profile, tuple(features)))
        for nodeid, outcome in state["outcome"].items():
            if self._outcome.get(nodeid) != "failed":
                self._outcome[nodeid] = outcome
        for entry, (profile, kind) in state["unsupported"].items():
            self._unsupported[entry] = (profile, kind)
        self._deselected |= set(state["deselected"])
        self.provisional.update(state["provisional"])
        self.crds.update(state["crds"])
        self.traces.update(state.get("traces", {}))

    # --- results -------------------------------------------------------------------

    def _tally(self) -> dict[str, _Profile]:
        out = {name: _Profile() for name in ft.PROFILES}
        for entry, (profile, kind) in self._unsupported.items():
            getattr(out[profile], kind).append(entry)
        for nodeid, (name, profile, features) in self._expected.items():
            name = _shown(name, self.traces.get(nodeid))
            outcome = self._outcome.get(nodeid)
            if outcome is None:
                reason = DESELECTED if nodeid in self._deselected else NOT_REACHED
                out[profile].not_run.append(f"{name}: {reason}")
            elif outcome == "passed" and self.provisional.keys() & set(features):
                why = "; ".join(self.provisional[f] for f in sorted(self.provisional.keys() & set(features)))
                out[profile].provisional.append(f"{name}: {why}")
            else:
                getattr(out[profile], outcome).append(name)
        return out

    def summary_lines(self) -> list[str]:
        lines = []
        for name, p in self._tally().items():
            if not (p.passed or p.failed or p.skipped or p.unsupported or p.not_run or p.provisional):
                continue
            line = f"{name}: {p.result} (passed {len(p.passed)}, failed {len(p.failed)}, skipped {len(p.skipped)}"
            if p.not_run:
                line += f", not run {len(p.not_run)}"
            if p.provisional:
                line += f", passed on a stand-in and not counted {len(p.provisional)}"
            line += ")"
            if p.unsupported:
                line += f"; not supported, not counted: {', '.join(p.unsupported)}"
            lines.append(line)
            why_not = getattr(self.target, "unsupported_reasons", None) or {}  # feature -> why the target lacks it
            lines += [f"  not supported: {f}: {why}" for f, why in why_not.items() if f in ft.in_profile(name) and f not in self.supported]
            reasons: dict[str, int] = {}
            for entry in p.not_run:
                reason = entry.rpartition(": ")[2]
                reasons[reason] = reasons.get(reason, 0) + 1
            lines += [f"  not run: {count} {reason}" for reason, count in reasons.items()]
            lines += [f"  not counted: {entry}" for entry in p.provisional]
        return lines

    def convergence(self) -> dict[str, dict[str, dict]]:
        """Per feature and change kind: how many changes were timed, their median and worst."""
        samples: dict[str, dict[str, list[float]]] = {}
        for nodeid, trace in self.traces.items():
            if nodeid not in self._expected:
                continue
            for feature in self._expected[nodeid][2]:
                for timing in trace.get("convergence", []):
                    samples.setdefault(feature, {}).setdefault(timing["change"], []).append(timing["seconds"])
        return {
            feature: {
                kind: {"samples": len(v), "medianSeconds": round(statistics.median(v), 3), "worstSeconds": round(max(v), 3)}
                for kind in CHANGE_KINDS if (v := kinds.get(kind))
            }
            for feature, kinds in sorted(samples.items())
        }

    def scenarios(self) -> list[dict]:
        """Every scenario the run knew of, with its outcome, for the HTML report."""
        out = []
        for nodeid, (name, profile, features) in self._expected.items():
            outcome = self._outcome.get(nodeid) or ("deselected" if nodeid in self._deselected else "not run")
            if outcome == "passed" and self.provisional.keys() & set(features):
                outcome = "provisional"
            trace = self.traces.get(nodeid)
            name = _shown(name, trace)
            out.append({"nodeid": nodeid, "name": name, "profile": profile, "features": list(features), "outcome": outcome,
                        "trace": trace})
        for entry, (profile, _kind) in self._unsupported.items():
            name, _, needs = entry.partition(" (needs ")
            out.append({"nodeid": "", "name": name, "profile": profile, "features": needs.rstrip(")").split(", "),
                        "outcome": "not supported", "trace": None})
        return sorted(out, key=lambda s: s["name"])

    def document(self) -> dict:
        """The ConformanceReport as plain data (schema: conformance/schema/conformance-report.schema.json)."""
        try:
            version = metadata.version("agw-apikey-conformance")
        except metadata.PackageNotFoundError:
            version = "unknown"
        profiles = []
        for name, p in self._tally().items():
            if name not in ft.DEFAULT_PROFILES and not (p.passed or p.failed or p.skipped or p.not_run or p.provisional):
                continue  # an opt-in profile appears only in runs that asked for it
            supported = self.supported & ft.in_profile(name)
            statistics_ = {"Passed": len(p.passed), "Skipped": len(p.skipped), "Failed": len(p.failed), "NotRun": len(p.not_run)}
            profile = {
                "name": name,
                "summary": p.result,
                "result": p.result,
                "statistics": statistics_,
                "failedTests": p.failed,
                "skippedTests": p.skipped,
                "notRunTests": p.not_run,
                "supportedFeatures": sorted(supported - self.provisional.keys()),
                "unsupportedFeatures": sorted(ft.in_profile(name) - self.supported),
            }
            # The Gateway API report's shape: a profile's core and extended parts. Every
            # feature of APIKEY-CORE is core and every feature of APIKEY-EXTENDED extended,
            # so each profile has the one part its features make.
            # Copies, so the YAML repeats the lists instead of using anchors.
            part = {"result": p.result, "statistics": dict(statistics_), "failedTests": list(p.failed), "skippedTests": list(p.skipped)}
            if name == ft.EXTENDED:
                part["supportedFeatures"] = list(profile["supportedFeatures"])
                part["unsupportedFeatures"] = list(profile["unsupportedFeatures"])
            profile["extended" if name == ft.EXTENDED else "core"] = part
            why_not = getattr(self.target, "unsupported_reasons", None) or {}
            if why_not.keys() & set(profile["unsupportedFeatures"]):
                profile["unsupportedFeatureReasons"] = {f: why_not[f] for f in profile["unsupportedFeatures"] if f in why_not}
            if p.provisional or supported & self.provisional.keys():
                profile["provisionalFeatures"] = {f: self.provisional[f] for f in sorted(supported & self.provisional.keys())}
                profile["provisionalTests"] = p.provisional
            profiles.append(profile)
        implementation = {"organization": "agw-apikey-conformance", "project": f"{self.target.name} target", "url": "",
                          "version": version, "contact": []}
        implementation.update({k: v for k, v in self.implementation.items() if v})
        report = {
            "apiVersion": "conformance.agentgateway.dev/v1alpha1",
            "kind": "ConformanceReport",
            "implementation": implementation,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "suiteVersion": version,
            "target": self.target.name,
            "mode": self.mode,
            "profiles": profiles,
            "convergence": self.convergence(),
        }
        if self.crds:
            report["crds"] = dict(self.crds)
        return report

    def write(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            yaml.safe_dump(self.document(), fh, sort_keys=False)
