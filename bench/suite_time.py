"""Where a run of the suite spent its time, from the reports it wrote (`--report-dir`).

    python -m bench.suite_time reports/suite [reports/envtest ...]

Each step of `cucumber.json` is put in one of four parts: applying or deleting objects
(until the target holds the change), sending (building the request), expectations (the
convergence rule: polling until enough consecutive matches; the docs page's "httpbin is
installed" step is one, proving a clean state), and given facts that change nothing.
What a test case took in `junit.xml` beyond its steps is its fixtures' set-up and clean-up.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

_SEND = re.compile(r"^(I send a request|I repeat the request|requests go to)")
_READ = re.compile(r"^(I generated the API key|an agentgateway proxy is set up)")
# A Given that converges like an expectation: it proves no earlier scenario is still in force.
_CLEAN = "the httpbin sample app is installed"


def part(keyword: str, text: str) -> str:
    if keyword.strip() == "Then":
        return "expectations"
    if text == _CLEAN:
        return "clean-state check (an expectation)"
    if _SEND.match(text):
        return "sending"
    if _READ.match(text):
        return "given, no change"
    return "applying and deleting"


def breakdown(directory: Path) -> dict[str, float]:
    parts: dict[str, float] = {}
    for feature in json.loads((directory / "cucumber.json").read_text()):
        for scenario in feature.get("elements", []):
            for step in scenario.get("steps", []):
                seconds = step.get("result", {}).get("duration", 0) / 1e9
                name = part(step.get("keyword", ""), step.get("name", ""))
                parts[name] = parts.get(name, 0.0) + seconds
    cases = ET.parse(directory / "junit.xml").getroot().iter("testcase")
    total = sum(float(case.get("time", 0)) for case in cases)
    parts["fixtures: set-up and clean-up"] = max(0.0, total - sum(parts.values()))
    return parts


def _how_matches_were_taken(directory: Path) -> str:
    try:
        rule = yaml.safe_load((directory / "conformance-report.yaml").read_text())["run"]["convergence"]
    except (OSError, KeyError, TypeError):
        return ""
    spaced = rule.get("matchesSpaced", True)  # reports from before the field always spaced them
    return f" (matches {rule['intervalSeconds']:g} s apart)" if spaced else " (matches back to back: the target confirms its changes)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="directories a run wrote with --report-dir")
    args = parser.parse_args(argv)
    for directory in args.reports:
        parts = breakdown(directory)
        total = sum(parts.values())
        print(f"{directory}: {total:.1f} s in test cases{_how_matches_were_taken(directory)}")
        for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
            print(f"  {name:32} {seconds:7.1f} s  {seconds / total:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
