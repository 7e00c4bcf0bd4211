"""Result tables in docs/, made from committed ConformanceReports and never typed by hand.

A report of a real run is committed under `docs/results/` (reports hold no keys). A page
asks for a table with a marker line, and everything up to the end marker is generated:

    <!-- generated: summary agentgateway-local-v1.4.1 -->
    ...
    <!-- end generated -->

`overview` gives one row per report (for the README), `summary` one block per report
(suite commit, target, versions, profile results, and why anything was not counted);
`scenarios` one row per scenario with one result column per report, so two upstream
versions sit side by side. Each table names the suite commit and the versions it came
from, from the report itself. One more kind of section is not a result table:
`<!-- generated: options -->` is the table of the suite's options (conformance/option_list.py).

    python -m conformance.tables          # rewrite every generated table in docs/ and the README
    python -m conformance.tables --check  # exit 1 if a table differs from its reports
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from . import option_list

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = DOCS / "results"
_BEGIN = re.compile(r"^<!-- generated: (?:(?P<kind>overview|summary|scenarios) (?P<reports>[\w.\- ]+)|(?P<options>options)) -->$")
_END = "<!-- end generated -->"


def load(name: str, results: Path = RESULTS) -> dict:
    path = results / f"{name}.yaml"
    if not path.is_file():
        raise SystemExit(f"no report {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return yaml.safe_load(path.read_text())


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _versions(report: dict) -> str:
    versions = report["run"]["target"].get("versions") or {}
    return ", ".join(f"{k} {v}" for k, v in versions.items()) or "not recorded"


def column(name: str, report: dict) -> str:
    """A report's column heading: what it ran against."""
    versions = report["run"]["target"].get("versions") or {}
    upstream = next((v for k, v in versions.items() if "agentgateway" in k), None)
    return f"{name}" + (f" ({upstream})" if upstream else "")


def summary(names: list[str], results: Path = RESULTS) -> list[str]:
    lines = []
    for name in names:
        report = load(name, results)
        commit = report["suiteCommit"]
        lines += [
            f"Report `docs/results/{name}.yaml`: the suite at commit `{commit}`, target `{report['target']}` "
            f"({_versions(report)}), {report['date']}.",
            "",
            "| profile | result | passed | failed | skipped | not run | passed, not counted | exempt | features not supported |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for p in report["profiles"]:
            s = p["statistics"]
            lines.append(f"| {p['name']} | {p['result']} | {s['Passed']} | {s['Failed']} | {s['Skipped']} | {s['NotRun']} | "
                         f"{s['Provisional']} | {s['Exempt']} | {', '.join(p['unsupportedFeatures']) or '-'} |")
        why = [(p["name"], t) for p in report["profiles"] for t in p.get("provisionalTests", [])]
        why += [(p["name"], t) for p in report["profiles"] for t in p.get("failedTests", []) + p.get("notRunTests", [])]
        if why:
            lines += ["", "Not counted as passed, and why:", ""] + [f"- {_cell(t)} ({profile})" for profile, t in why]
        lines.append("")
    return lines[:-1]


def _profile_cell(profile: dict) -> str:
    s = profile["statistics"]
    parts = [f"{s['Passed']} passed"] + [f"{s[k]} {what}" for k, what in (("Failed", "failed"), ("Skipped", "skipped"),
                                         ("NotRun", "not run"), ("Provisional", "not counted"), ("Exempt", "exempt")) if s[k]]
    unsupported = profile["unsupportedFeatures"]
    return f"{profile['result']}: {', '.join(parts)}" + (f"; not supported: {', '.join(unsupported)}" if unsupported else "")


def overview(names: list[str], results: Path = RESULTS) -> list[str]:
    """One row per report: what ran, at which commit and versions, and each profile's result."""
    lines = ["| report | suite commit | versions | APIKEY-CORE | APIKEY-EXTENDED | docs page |", "|---|---|---|---|---|---|"]
    for name in names:
        report = load(name, results)
        profiles = {p["name"]: p for p in report["profiles"]}
        cells = [_profile_cell(profiles[n]) if n in profiles else "not run" for n in ("APIKEY-CORE", "APIKEY-EXTENDED")]
        # The page profiles a report holds: which page (version and website commit) it checked.
        page_cells = [f"{p['page']['version']} (website `{p['page']['websiteCommit'][:8]}`): {_profile_cell(p)}"
                      for p in report["profiles"] if "page" in p]
        cells.append("<br>".join(page_cells) or "not checked")
        lines.append(f"| `docs/results/{name}.yaml` | `{report['suiteCommit'][:12]}` | {_versions(report)} | {' | '.join(cells)} |")
    return lines


def scenarios(names: list[str], results: Path = RESULTS) -> list[str]:
    reports = {name: load(name, results) for name in names}
    rows: dict[str, dict] = {}
    for name, report in reports.items():
        for s in report["scenarios"]:
            rows.setdefault(s["name"], {"scenario": s, "outcomes": {}})["outcomes"][name] = s["outcome"]
    head = "| ID | example | scenario | features | " + " | ".join(column(n, r) for n, r in reports.items()) + " |"
    lines = [head, "|" + "---|" * (4 + len(reports))]
    for key in sorted(rows):
        s = rows[key]["scenario"]
        example = key.partition("[")[2].rstrip("]")
        outcomes = " | ".join(rows[key]["outcomes"].get(n, "-") for n in reports)
        lines.append(f"| {s['name'].partition('[')[0]} | {_cell(example)} | {_cell(s['title'])} | {', '.join(s['features'])} | {outcomes} |")
    return lines


def render(text: str, results: Path = RESULTS) -> str:
    """`text` with every generated section made anew from its reports."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        out.append(lines[i])
        match = _BEGIN.match(lines[i].strip())
        i += 1
        if not match:
            continue
        end = next((j for j in range(i, len(lines)) if lines[j].strip() == _END), None)
        if end is None:
            raise SystemExit(f"a generated section has no end marker ({_END!r}) after: {lines[i - 1]}")
        if match["options"]:
            out += option_list.table()  # not a result table: the suite's options, from the parser
        else:
            make = {"overview": overview, "summary": summary, "scenarios": scenarios}[match["kind"]]
            out += make(match["reports"].split(), results)
        out.append(_END)
        i = end + 1
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def pages(docs: Path = DOCS) -> list[Path]:
    candidates = [*docs.glob("*.md"), docs.parent / "README.md"]
    return sorted(p for p in candidates if p.is_file() and "<!-- generated: " in p.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.tables", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every generated table matches its reports")
    args = parser.parse_args(argv)
    stale = []
    for page in pages():
        text = page.read_text()
        new = render(text)
        if new != text:
            stale.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(new)
    if args.check and stale:
        print(f"generated tables out of date in {', '.join(map(str, stale))}: run python -m conformance.tables", file=sys.stderr)
        return 1
    for page in stale:
        print(f"rewrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
