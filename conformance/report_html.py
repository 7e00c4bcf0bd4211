"""The conformance report as one self-contained HTML file, for a person to read.

A matrix of profiles and features (pass, fail, not supported, with the convergence times
per change kind), then every scenario, each expandable to its steps, manifests, and the
requests and responses its expectations converged on. No script, stylesheet or font is
fetched from anywhere: the file opens the same offline, attached to a submission.

Everything shown comes from the report's document and the scenario records, in which keys
are already masked (conformance/trace.py).
"""

from __future__ import annotations

import html

from .profiles import FEATURES
from .trace import CHANGE_KINDS

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:20px}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0 0;font-size:13px;color:#cfd6e4}
header dt{font-weight:600}header dd{margin:0}
main{padding:20px 28px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:14px 18px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e6e9ef;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f6;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.mark{display:inline-block;min-width:7.5em;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;text-align:center}
.pass,.passed,.success{background:#d9f2e1;color:#14622f}.fail,.failed,.failure{background:#fbdcdc;color:#8a1c1c}
.not-supported{background:#e6e9ef;color:#4b5565}.partial,.skipped,.not-run,.deselected,.provisional{background:#fdf0cf;color:#7a5300}
.time{font-variant-numeric:tabular-nums;white-space:nowrap;font-size:12px}
details.scenario{border:1px solid #e0e4ea;border-radius:5px;margin:6px 0;background:#fff}
details.scenario>summary{cursor:pointer;padding:6px 10px;list-style-position:inside}
details.scenario[open]>summary{border-bottom:1px solid #e0e4ea;background:#fafbfc}
.body{padding:8px 14px}.body h3{font-size:13px;margin:12px 0 4px;color:#4b5565}
pre{background:#f4f5f8;border:1px solid #e3e6ec;border-radius:4px;padding:8px;overflow:auto;max-height:360px;font-size:12px;margin:4px 0}
.feature-tags{color:#5d6b82;font-size:12px}
#matrix td:first-child{white-space:nowrap}.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600}
"""

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _mark(text: str) -> str:
    return f'<span class="mark {_e(text.replace(" ", "-"))}">{_e(text)}</span>'


def feature_mark(feature: str, supported: bool, outcomes: list[str]) -> str:
    """What the matrix shows for one feature: its scenarios' outcomes, summed up."""
    if not supported:
        return "not supported"
    if "failed" in outcomes:
        return "fail"
    if "provisional" in outcomes:
        return "provisional"
    if outcomes and all(o == "passed" for o in outcomes):
        return "pass"
    # Some passed, the rest never ran (deselected, skipped, not reached).
    return "partial" if "passed" in outcomes else "not run"


def _times(entry: dict | None) -> str:
    if not entry:
        return "&ndash;"
    return (f'<span class="time" title="{entry["samples"]} changes timed">{entry["medianSeconds"]:.3f} s'
            f' / {entry["worstSeconds"]:.3f} s</span>')


def _matrix(doc: dict, scenarios: list[dict]) -> str:
    rows = []
    for profile in doc["profiles"]:
        supported = set(profile["supportedFeatures"]) | set(profile.get("provisionalFeatures", {}))
        covered = supported | set(profile["unsupportedFeatures"]) | set(profile.get("exemptFeatures", []))
        for feature in sorted(covered):
            mine = [s for s in scenarios if feature in s["features"] and s["outcome"] != "not supported"]
            outcomes = [s["outcome"] for s in mine]
            mark = feature_mark(feature, feature in supported, outcomes)
            counts = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes)) or "&ndash;"
            conv = doc["convergence"].get(feature, {})
            rows.append(
                f'<tr data-feature="{_e(feature)}" data-mark="{_e(mark)}"><td>{_e(profile["name"])}</td>'
                f'<td title="{_e(FEATURES[feature][1])}">{_e(feature)}</td><td>{_mark(mark)}</td><td>{counts}</td>'
                + "".join(f"<td>{_times(conv.get(kind))}</td>" for kind in CHANGE_KINDS) + "</tr>"
            )
    head = "".join(f"<th>{k}<br>median / worst</th>" for k in CHANGE_KINDS)
    return (f'<table id="matrix"><thead><tr><th>Profile</th><th>Feature</th><th>Result</th><th>Scenarios</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _profiles(doc: dict) -> str:
    rows = []
    for p in doc["profiles"]:
        s = p["statistics"]
        rows.append(f'<tr data-profile="{_e(p["name"])}"><td>{_e(p["name"])}</td><td>{_mark(p["result"])}</td>'
                    f'<td>{s["Passed"]}</td><td>{s["Failed"]}</td><td>{s["Skipped"]}</td><td>{s["NotRun"]}</td>'
                    f'<td>{len(p["unsupportedFeatures"])}</td></tr>')
    return ('<table id="profiles"><thead><tr><th>Profile</th><th>Result</th><th>Passed</th><th>Failed</th><th>Skipped</th>'
            f'<th>Not run</th><th>Features not supported</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _scenario(s: dict) -> str:
    trace = s["trace"] or {}
    title = trace.get("scenario", "")
    where = f'{trace.get("feature", "")}:{trace.get("line", "")}' if trace else ""
    parts = [f'<details class="scenario" data-outcome="{_e(s["outcome"])}" data-id="{_e(s["name"])}"><summary>'
             f'{_mark(s["outcome"])} <span class="id">{_e(s["name"])}</span> {_e(title)} '
             f'<span class="feature-tags">{_e(", ".join(s["features"]))}</span></summary><div class="body">']
    if not trace:
        parts.append("<p>Not run: " + ("the target does not support " + _e(", ".join(s["features"]))
                                       if s["outcome"] == "not supported" else _e(s["outcome"])) + ".</p>")
    else:
        parts.append(f"<p class=\"feature-tags\">{_e(where)}</p><h3>Steps</h3><table class=\"steps\"><tbody>")
        for step in trace.get("steps", []):
            secs = f'{step["seconds"]:.3f} s' if "seconds" in step else ""
            parts.append(f'<tr><td>{_mark(step["status"])}</td><td><b>{_e(step["keyword"])}</b> {_e(step["name"])}</td>'
                         f'<td class="time">{secs}</td></tr>')
        parts.append("</tbody></table>")
        if trace.get("convergence"):
            parts.append("<h3>Convergence</h3><ul>" + "".join(
                f'<li>{_e(t["change"])} {_e(t["object"])}: <span class="time">{t["seconds"]:.3f} s</span></li>'
                for t in trace["convergence"]) + "</ul>")
        for i, manifest in enumerate(trace.get("manifests", []), 1):
            parts.append(f'<h3>Manifest {i}</h3><pre class="manifest">{_e(manifest)}</pre>')
        for i, ex in enumerate(trace.get("exchanges", []), 1):
            parts.append(f'<h3>Expectation {i}: {_e(ex["expectation"])}</h3><pre class="request">{_e(ex["request"])}</pre>')
            response = ex.get("response")
            if response and "status" in response:
                head = "\n".join(f"{k}: {v}" for k, v in response["headers"])
                parts.append(f'<pre class="response">HTTP {response["status"]}\n{_e(head)}\n\n{_e(response["body"])}</pre>')
            elif response:
                parts.append(f'<pre class="response">no response: {_e(response["error"])}</pre>')
            if ex.get("error"):
                parts.append(f'<pre class="error">{_e(ex["error"])}</pre>')
    parts.append("</div></details>")
    return "".join(parts)


# The selection's parts as the options that make them (conformance.plugin.describe_run).
_SELECTION = (("keyword", "-k"), ("markers", "-m"), ("deselect", "--deselect"), ("ignore", "--ignore"),
              ("ignoreGlob", "--ignore-glob"), ("maxfail", "--maxfail"), ("skipTests", "--skip-tests"), ("profiles", "--profiles"))


def _selection(selection: dict) -> str:
    parts = [" ".join(selection.get("paths") or []) or "the current directory"]
    for key, flag in _SELECTION:
        value = selection.get(key)
        if value:
            parts.append(f"{flag} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return "; ".join(parts)


def _rule(conv: dict) -> str:
    interval = f"{conv['intervalSeconds']:g} s"
    spacing = f"matches {interval} apart" if conv.get("matchesSpaced") else "matches back to back (the target confirms each change)"
    return f"{conv['threshold']} matches in a row within {conv['timeoutSeconds']:g} s, {interval} after a miss; {spacing}"


def run_meta(doc: dict) -> dict[str, str]:
    """How the run was judged, as the ConformanceReport says it: one line each."""
    run = doc.get("run") or {}
    target = run.get("target") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (target.get("versions") or {}).items())
    meta = {
        "Suite": f'{doc["suiteVersion"]}, commit {doc.get("suiteCommit", "unknown")}',
        "Target": f'{doc["target"]}' + (f" ({versions})" if versions else ""),
    }
    if doc.get("crds"):
        meta["CRDs"] = ", ".join(f"{k}: {v}" for k, v in doc["crds"].items())
    if run:
        meta["Selection"] = _selection(run.get("selection") or {})
        meta["Features"] = (f'claimed: {", ".join(run.get("supportedFeatures") or []) or "none"}; '
                            f'exempt: {", ".join(run.get("exemptFeatures") or []) or "none"}')
        meta["Convergence"] = _rule(run["convergence"]) if run.get("convergence") else "not described"
        meta["Workers"] = str(run.get("workers") or "none (one process)")
        deployment = target.get("deployment")
        if deployment:
            meta["Deployment"] = deployment.get("note") or "the docs page's names (Gateway, namespaces, class, listener, host)"
            if deployment.get("gatewayCA"):
                meta["Deployment"] += "; https verified with the CA given by --gateway-ca"
    return meta


def render(doc: dict, scenarios: list[dict]) -> str:
    impl = doc["implementation"]
    meta = {
        "Implementation": f'{impl["organization"]} / {impl["project"]} {impl["version"]}',
        "URL": impl["url"] or "not given",
        "Contact": ", ".join(impl["contact"]) or "not given",
        "Mode": doc["mode"],
        **run_meta(doc),
        "Date": doc["date"],
    }
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta.items())
    body = "".join(_scenario(s) for s in scenarios)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>API key auth conformance: {_e(impl['project'])}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>API key auth conformance report</h1><dl>{dl}</dl></header><main>"
        f"<section><h2>Profiles</h2>{_profiles(doc)}</section>"
        f"<section><h2>Features</h2><p>Convergence: seconds from the target holding a change to the gateway answering "
        f"as it requires (median / worst over the changes timed).</p>{_matrix(doc, scenarios)}</section>"
        f"<section><h2>Scenarios</h2>{body}</section></main></body></html>\n"
    )


def write(path: str, doc: dict, scenarios: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render(doc, scenarios))
