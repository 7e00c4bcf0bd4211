"""Results per profile, shaped like the Gateway API's ConformanceReport.

Every profile is judged against the suite's whole inventory (conformance/inventory.py):
every scenario of every feature file, whatever pytest collected. A profile is `success`
only when every scenario it holds that the target claims ran and passed, and at least one
did. Anything else makes it `partial`, and the report says why, scenario by scenario:

- not selected: its feature file was not among the paths the run was given;
- deselected: `-k`, `-m` or `--deselect` took it out;
- not reached: the run stopped before it (`-x`, `--maxfail`, Ctrl-C, a crash);
- skipped: `--skip-tests`, or a core feature the target does not support;
- exempt: `--exempt-features` took a claimed feature out of this run;
- provisional: it passed, but against a stand-in (a stand-in CRD, say) or with a step the
  target could not check; it is listed, not counted as passed.

A scenario that failed anywhere (setup, call, teardown, or a pytest-xdist worker that
crashed while running it) is a failure. Extended scenarios whose features the target does
not claim are listed as not supported and not counted, as in the Gateway API report.

Under pytest-xdist the controller does not collect; every worker hands what it collected
to the controller when it finishes (`state()`, `merge()`), and the controller records
every test report itself, a crashed worker's included.

A run that collected none of this suite's scenarios (pytest inside another project, with
this plugin installed) has no verdict: nothing is written.
"""

from __future__ import annotations

import datetime
import os
import statistics
from dataclasses import dataclass, field

import pytest
import yaml

from . import pages
from .inventory import Entry, name_of
from .profiles import DEFAULT_PROFILES, EXTENDED, PROFILES, WHOLE, in_profile
from .provenance import suite_commit, suite_version
from .trace import CHANGE_KINDS, from_report

NOT_SELECTED = "not selected: the run's paths did not include its feature file"
DESELECTED = "deselected (-k, -m or --deselect)"
NOT_REACHED = "not reached: the run stopped before it (-x, --maxfail, a crash or an interrupt)"
SKIPPED_BY_ID = "skipped by --skip-tests"
NOTHING_RAN = "no scenario of this profile ran"


@dataclass
class _Profile:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    exempt: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    provisional: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        if self.failed:
            return "failure"
        if self.skipped or self.exempt or self.not_run or self.provisional or not self.passed:
            return "partial"
        return "success"

    def counted(self) -> bool:
        return any((self.passed, self.failed, self.skipped, self.exempt, self.not_run, self.provisional))


@dataclass(frozen=True)
class Verdict:
    """What the run does with one inventory entry before anything runs."""

    kind: str  # "run", "unsupported", "exempt" or "skipped"
    reason: str = ""  # for a skip marker
    listed: str = ""  # how the report lists an unsupported or exempt scenario


class Report:
    def __init__(self, target, inventory: dict[str, Entry] | None = None):
        self.target = target
        self.inventory: dict[str, Entry] = dict(inventory or {})
        self.profiles: set[str] = set(DEFAULT_PROFILES)
        self.supported: set[str] = set()  # what the target claims, before exemptions
        self.exempt: set[str] = set()
        self.skip_ids: set[str] = set()
        # Why the run checks the docs pages it checks (the target's version, or --docs-pages).
        self.page_choice = ""
        # Features whose scenarios ran against something other than the real thing
        # (for example a stand-in CRD): feature -> why.
        self.provisional: dict[str, str] = {}
        self.crds: dict[str, str] = {}
        self.collected: set[str] = set()
        self._deselected: set[str] = set()
        self._outcome: dict[str, str] = {}
        # What a vendor says about the implementation (--implementation-* flags) and the mode.
        self.implementation: dict = {}
        self.mode = "default"
        # How the run was made: the suite, the convergence rule, the selection, the target.
        self.run: dict = {}
        self.traces: dict[str, dict] = {}  # entry name -> the scenario's record (conformance/trace.py)
        # Read when the run starts: the commit whose code ran, even if the checkout moves on
        # while a long run is under way.
        self.commit = suite_commit()

    def note_target(self) -> None:
        """Read what the started target says about its own parts (CRD origins, stand-ins, versions)."""
        self.provisional.update(getattr(self.target, "provisional_features", None) or {})
        self.crds.update(getattr(self.target, "crd_sources", None) or {})
        versions = getattr(self.target, "versions", None)
        if callable(versions):
            self.run.setdefault("target", {})["versions"] = versions()

    # --- what the run does with each scenario ------------------------------------------

    def verdict(self, entry: Entry) -> Verdict:
        missing = sorted(entry.needs - self.supported)
        if missing:
            return Verdict("unsupported", f"{entry.scenario_id} needs {', '.join(missing)}, which the target does not support",
                           f"{entry.scenario_id} (needs {', '.join(missing)})")
        exempt = sorted(entry.needs & self.exempt)
        if exempt:
            return Verdict("exempt", f"{entry.scenario_id} needs {', '.join(exempt)}, exempted from this run by --exempt-features",
                           f"{entry.scenario_id} (exempt: {', '.join(exempt)})")
        if entry.scenario_id in self.skip_ids:
            return Verdict("skipped", f"{entry.scenario_id} {SKIPPED_BY_ID}")
        return Verdict("run")

    def features_in(self, profile: str) -> set[str]:
        """The features a profile covers: for a docs page, those its scenarios need."""
        if profile in pages.BY_PROFILE:
            return {f for e in self.inventory.values() if e.profile == profile for f in e.needs}
        return in_profile(profile)

    def judged(self) -> list[Entry]:
        """The inventory's entries in the profiles this run asked for."""
        return [e for e in self.inventory.values() if e.profile in self.profiles]

    def is_ours(self) -> bool:
        """Whether this run collected (or ran) any scenario of the suite at all."""
        return bool(self.inventory) and bool(self.collected or self._outcome.keys() & self.inventory.keys())

    # --- what collection and the run did -----------------------------------------------

    def collect(self, names) -> None:
        self.collected.update(names)

    def deselected(self, names) -> None:
        """Scenarios that -k, -m or --deselect took out after collection."""
        self._deselected.update(names)

    def record(self, report: pytest.TestReport) -> None:
        name = name_of(report.nodeid)
        if name is None:
            return  # not a scenario of this suite
        trace = from_report(report)
        if trace is not None:
            self.traces[name] = trace
        if report.failed:
            self._outcome[name] = "failed"
        elif report.skipped and self._outcome.get(name) != "failed":
            self._outcome[name] = "skipped"
        elif report.when == "call" and report.passed:
            self._outcome.setdefault(name, "passed")

    # --- xdist ---------------------------------------------------------------------

    def state(self) -> dict:
        """What this process saw, in plain data a worker can hand to the controller."""
        return {
            "supported": sorted(self.supported),
            "collected": sorted(self.collected),
            "outcome": dict(self._outcome),
            "deselected": sorted(self._deselected),
            "provisional": dict(self.provisional),
            "crds": dict(self.crds),
            "run": dict(self.run),
            "traces": dict(self.traces),
        }

    def merge(self, state: dict) -> None:
        self.supported |= set(state["supported"])
        self.collected |= set(state["collected"])
        for name, outcome in state["outcome"].items():
            if self._outcome.get(name) != "failed":
                self._outcome[name] = outcome
        self._deselected |= set(state["deselected"])
        self.provisional.update(state["provisional"])
        self.crds.update(state["crds"])
        for key, value in state.get("run", {}).items():
            self.run.setdefault(key, value)
        self.traces.update(state.get("traces", {}))

    # --- results -------------------------------------------------------------------

    def _tally(self) -> dict[str, _Profile]:
        out = {name: _Profile() for name in PROFILES}
        listed: set[str] = set()  # an outline's examples share one line
        for entry in self.judged():
            profile, name = out[entry.profile], entry.name
            verdict = self.verdict(entry)
            if verdict.kind in ("unsupported", "exempt"):
                if verdict.listed in listed:
                    continue
                listed.add(verdict.listed)
                kind = "skipped" if verdict.kind == "unsupported" and entry.profile in WHOLE else verdict.kind
                getattr(profile, kind).append(verdict.listed)
                continue
            outcome = self._outcome.get(name)
            if verdict.kind == "skipped":
                profile.skipped.append(name)
            elif outcome is None:
                profile.not_run.append(f"{name}: {self._why_not_run(name)}")
            elif outcome == "passed" and self._provisional_because(entry):
                profile.provisional.append(f"{name}: {self._provisional_because(entry)}")
            else:
                getattr(profile, outcome).append(name)
        return out

    def _why_not_run(self, name: str) -> str:
        if name in self._deselected:
            return DESELECTED
        return NOT_REACHED if name in self.collected else NOT_SELECTED

    def _provisional_because(self, entry: Entry) -> str:
        """Why a passed scenario does not count as passed, or "" when it does."""
        stand_ins = sorted(self.provisional.keys() & entry.needs)
        why = [self.provisional[f] for f in stand_ins]
        unchecked = (self.traces.get(entry.name) or {}).get("unchecked") or []
        why += [f"not checked on this target: {u.get('step', '?')}: {u.get('reason', '')}" for u in unchecked]
        return "; ".join(why)

    def summary_lines(self) -> list[str]:
        if not self.is_ours():
            return []
        lines = []
        for name, p in self._tally().items():
            if name not in self.profiles:
                continue
            line = f"{name}: {p.result} (passed {len(p.passed)}, failed {len(p.failed)}, skipped {len(p.skipped)}"
            if p.not_run:
                line += f", not run {len(p.not_run)}"
            if p.exempt:
                line += f", exempt {len(p.exempt)}"
            if p.provisional:
                line += f", passed but not counted {len(p.provisional)}"
            line += ")"
            if p.unsupported:
                line += f"; not supported, not counted: {', '.join(p.unsupported)}"
            lines.append(line)
            if not p.passed and not p.failed:
                lines.append(f"  {NOTHING_RAN}")
            why_not = getattr(self.target, "unsupported_reasons", None) or {}  # feature -> why the target lacks it
            lines += [f"  not supported: {f}: {why}" for f, why in why_not.items() if f in self.features_in(name) and f not in self.supported]
            lines += [f"  exempt: {entry}" for entry in p.exempt]
            reasons: dict[str, int] = {}
            for entry in p.not_run:
                reason = entry.partition(": ")[2]
                reasons[reason] = reasons.get(reason, 0) + 1
            lines += [f"  not run: {count} {reason}" for reason, count in reasons.items()]
            lines += [f"  not counted: {entry}" for entry in p.provisional]
        return lines

    def convergence(self) -> dict[str, dict[str, dict]]:
        """Per feature and change kind: how many changes were timed, their median and worst."""
        samples: dict[str, dict[str, list[float]]] = {}
        for name, trace in self.traces.items():
            entry = self.inventory.get(name)
            if entry is None:
                continue
            for feature in entry.needs:
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
        """Every scenario the run judged, with its outcome, for the HTML report."""
        out = []
        for entry in self.judged():
            verdict = self.verdict(entry)
            outcome = self._outcome.get(entry.name)
            if verdict.kind == "unsupported":
                outcome = "not supported"
            elif verdict.kind == "exempt":
                outcome = "exempt"
            elif outcome is None:
                outcome = self._why_not_run(entry.name).partition(" (")[0].partition(":")[0]
            elif outcome == "passed" and self._provisional_because(entry):
                outcome = "provisional"
            out.append({"name": entry.name, "title": entry.title, "file": entry.file, "profile": entry.profile,
                        "features": sorted(entry.needs), "outcome": outcome, "trace": self.traces.get(entry.name)})
        return sorted(out, key=lambda s: s["name"])

    def document(self) -> dict:
        """The ConformanceReport as plain data (schema: conformance/schema/conformance-report.schema.json)."""
        version = suite_version()
        profiles = []
        for name, p in self._tally().items():
            if name not in self.profiles:
                continue  # only the profiles this run asked for
            claimed = self.supported & self.features_in(name)
            statistics_ = {"Passed": len(p.passed), "Skipped": len(p.skipped), "Failed": len(p.failed), "NotRun": len(p.not_run),
                           "Exempt": len(p.exempt), "Provisional": len(p.provisional)}
            profile = {
                "name": name,
                "summary": p.result,
                "result": p.result,
                "statistics": statistics_,
                "failedTests": p.failed,
                "skippedTests": p.skipped,
                "notRunTests": p.not_run,
                "supportedFeatures": sorted(claimed - self.provisional.keys() - self.exempt),
                "unsupportedFeatures": sorted(self.features_in(name) - self.supported),
            }
            page = pages.BY_PROFILE.get(name)
            if page is not None:
                profile["page"] = {**page.describe(), "chosenBy": self.page_choice}
            if claimed & self.exempt:
                profile["exemptFeatures"] = sorted(claimed & self.exempt)
                profile["exemptTests"] = p.exempt
            # The Gateway API report's shape: a profile's core and extended parts. Every
            # feature of APIKEY-CORE is core and every feature of APIKEY-EXTENDED extended,
            # so each profile has the one part its features make.
            # Copies, so the YAML repeats the lists instead of using anchors.
            part = {"result": p.result, "statistics": dict(statistics_), "failedTests": list(p.failed), "skippedTests": list(p.skipped)}
            if name == EXTENDED:
                part["supportedFeatures"] = list(profile["supportedFeatures"])
                part["unsupportedFeatures"] = list(profile["unsupportedFeatures"])
            profile["extended" if name == EXTENDED else "core"] = part
            why_not = getattr(self.target, "unsupported_reasons", None) or {}
            if why_not.keys() & set(profile["unsupportedFeatures"]):
                profile["unsupportedFeatureReasons"] = {f: why_not[f] for f in profile["unsupportedFeatures"] if f in why_not}
            if p.provisional or claimed & self.provisional.keys():
                profile["provisionalFeatures"] = {f: self.provisional[f] for f in sorted(claimed & self.provisional.keys())}
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
            "suiteCommit": self.commit,
            "target": self.target.name,
            "mode": self.mode,
            "run": self._run_description(),
            "profiles": profiles,
            "convergence": self.convergence(),
            # Every scenario judged, one line each, so that result tables can be made from the
            # report alone (conformance/tables.py), at the suite commit it names.
            "scenarios": [{k: s[k] for k in ("name", "title", "file", "features", "outcome")} for s in self.scenarios()],
        }
        if self.crds:
            report["crds"] = dict(self.crds)
        return report

    def _run_description(self) -> dict:
        run = {k: v for k, v in self.run.items() if k != "target"}
        run["target"] = {"name": self.target.name, **(self.run.get("target") or {})}
        deployment = getattr(self.target, "deployment", None)
        if deployment is not None:
            # The names the scenarios' manifests were rendered with (conformance/deployment.py).
            run["target"]["deployment"] = {**deployment.describe(), "gatewayCA": bool(getattr(self.target, "gateway_ca", None))}
            ports = getattr(self.target, "worker_listener_ports", None)
            if ports:  # each worker's Gateway listened on a port of its own, not on the one above
                run["target"]["deployment"]["workerListenerPorts"] = dict(sorted(ports.items()))
        run["supportedFeatures"] = sorted(self.supported)
        run["exemptFeatures"] = sorted(self.exempt)
        run["inventory"] = len(self.inventory)
        return run

    def write(self, path: str) -> bool:
        """Write the report; False (and nothing written) when the run has no verdict."""
        if not self.is_ours():
            return False
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            yaml.safe_dump(self.document(), fh, sort_keys=False)
        return True
