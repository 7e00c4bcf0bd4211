"""Small ConformanceReports written from the schema (conformance/schema/), for tests that read reports.

Each one is validated against the shipped schema as it is made, so a test cannot pass on a
document the suite would never write.
"""

from __future__ import annotations

import jsonschema
import yaml

from conformance.report_dir import schema

V1 = {"agentgateway": "v1.0.0 (aaaaaaaaaaaa)"}
V2 = {"agentgateway": "v2.0.0 (bbbbbbbbbbbb)"}
NOT_RUN = ("not selected", "deselected", "not reached")


def conformance_report(outcomes: dict[str, str], *, target: str = "agentgateway-local", versions: dict | None = None,
                       commit: str = "a" * 40, mode: str = "default") -> dict:
    """A ConformanceReport whose scenarios have these outcomes, valid against the shipped schema."""
    names = {o: [n for n, got in outcomes.items() if got == o] for o in set(outcomes.values())}
    statistics = {"Passed": len(names.get("passed", [])), "Skipped": len(names.get("skipped", [])), "Failed": len(names.get("failed", [])),
                  "NotRun": sum(len(names.get(o, [])) for o in NOT_RUN),
                  "Exempt": len(names.get("exempt", [])), "Provisional": len(names.get("provisional", []))}
    result = "failure" if statistics["Failed"] else "success" if statistics["Passed"] == len(outcomes) else "partial"
    part = {"result": result, "statistics": statistics, "failedTests": names.get("failed", []), "skippedTests": names.get("skipped", [])}
    document = {
        "apiVersion": "conformance.agentgateway.dev/v1alpha1",
        "kind": "ConformanceReport",
        "implementation": {"organization": "Example Org", "project": "example gateway", "url": "", "version": "v0", "contact": []},
        "date": "2026-01-02T03:04:05+00:00",
        "suiteVersion": "0.1.0",
        "suiteCommit": commit,
        "target": target,
        "mode": mode,
        "run": {"selection": {"paths": ["features/"]}, "convergence": {"threshold": 3, "intervalSeconds": 0.1, "timeoutSeconds": 30.0},
                "workers": 0, "target": {"name": target, "versions": dict(V1 if versions is None else versions)},
                "supportedFeatures": ["APIKeyCore"], "exemptFeatures": [], "inventory": max(len(outcomes), 1)},
        "profiles": [{"name": "APIKEY-CORE", "summary": result, "result": result, "statistics": statistics,
                      "failedTests": names.get("failed", []), "skippedTests": names.get("skipped", []),
                      "notRunTests": [f"{n}: {o}" for n, o in outcomes.items() if o in NOT_RUN],
                      "supportedFeatures": ["APIKeyCore"], "unsupportedFeatures": [], "core": part}],
        "convergence": {},
        "scenarios": [{"name": name, "title": "a scenario", "file": "a.feature", "features": ["APIKeyCore"], "outcome": outcome}
                      for name, outcome in outcomes.items()],
    }
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(document)
    return document


def write(path, outcomes: dict[str, str] | None = None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(conformance_report(outcomes or {}, **kw), sort_keys=False))
    return path
