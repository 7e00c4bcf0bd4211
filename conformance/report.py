"""Results per profile, shaped like the Gateway API's ConformanceReport."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from importlib import metadata

import pytest
import yaml

from . import features as ft


@dataclass
class _Profile:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        if self.failed:
            return "failure"
        if self.skipped:
            return "partial"
        return "success"


def _name(nodeid: str, scenario_id: str) -> str:
    # Outline examples share an ID; keep the example part so each is listed.
    param = nodeid.rpartition("[")[2].rstrip("]") if nodeid.endswith("]") else ""
    return f"{scenario_id}[{param}]" if param else scenario_id


class Report:
    def __init__(self, target):
        self.target = target
        self.supported: set[str] = set()
        self.profiles = {ft.CORE: _Profile(), ft.EXTENDED: _Profile()}
        self._expected: dict[str, tuple[str, str]] = {}  # nodeid -> (name, profile)
        self._outcome: dict[str, str] = {}

    def expect(self, nodeid: str, scenario_id: str, profile: str) -> None:
        self._expected[nodeid] = (_name(nodeid, scenario_id), profile)

    def unsupported(self, scenario_id: str, profile: str, missing: list[str]) -> None:
        entry = f"{scenario_id} (needs {', '.join(missing)})"
        if profile == ft.CORE:
            # Core is what every implementation promises: not running it is a gap.
            self.profiles[profile].skipped.append(entry)
        elif entry not in self.profiles[profile].unsupported:
            self.profiles[profile].unsupported.append(entry)

    def skipped(self, nodeid: str, scenario_id: str, profile: str) -> None:
        self.profiles[profile].skipped.append(_name(nodeid, scenario_id))

    def record(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self._expected:
            return
        if report.failed:
            self._outcome[report.nodeid] = "failed"
        elif report.skipped and self._outcome.get(report.nodeid) != "failed":
            self._outcome[report.nodeid] = "skipped"
        elif report.when == "call" and report.passed:
            self._outcome.setdefault(report.nodeid, "passed")

    def _tally(self) -> dict[str, _Profile]:
        out = {name: _Profile(list(p.passed), list(p.failed), list(p.skipped), list(p.unsupported)) for name, p in self.profiles.items()}
        for nodeid, (name, profile) in self._expected.items():
            outcome = self._outcome.get(nodeid)
            if outcome is None:
                continue  # not run (for example deselected with -k)
            getattr(out[profile], outcome).append(name)
        return out

    def summary_lines(self) -> list[str]:
        lines = []
        for name, p in self._tally().items():
            if not (p.passed or p.failed or p.skipped or p.unsupported):
                continue
            line = f"{name}: {p.result} (passed {len(p.passed)}, failed {len(p.failed)}, skipped {len(p.skipped)})"
            if p.unsupported:
                line += f"; not supported, not counted: {', '.join(p.unsupported)}"
            lines.append(line)
        return lines

    def write(self, path: str) -> None:
        try:
            version = metadata.version("agw-apikey-conformance")
        except metadata.PackageNotFoundError:
            version = "unknown"
        profiles = []
        for name, p in self._tally().items():
            profiles.append(
                {
                    "name": name,
                    "summary": f"{p.result}",
                    "result": p.result,
                    "statistics": {"Passed": len(p.passed), "Skipped": len(p.skipped), "Failed": len(p.failed)},
                    "failedTests": p.failed,
                    "skippedTests": p.skipped,
                    "supportedFeatures": sorted(self.supported & ft.in_profile(name)),
                    "unsupportedFeatures": sorted(ft.in_profile(name) - self.supported),
                }
            )
        report = {
            "apiVersion": "conformance.agentgateway.dev/v1alpha1",
            "kind": "ConformanceReport",
            "implementation": {
                "organization": "agw-apikey-conformance",
                "project": f"{self.target.name} target",
                "url": "",
                "version": version,
                "contact": [],
            },
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": "default",
            "profiles": profiles,
        }
        with open(path, "w") as fh:
            yaml.safe_dump(report, fh, sort_keys=False)
