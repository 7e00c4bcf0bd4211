"""The HTML report in a real headless Chromium.

The suite runs as a vendor runs it, against a reference gateway with one rule broken (a
mutant from tests/mutation), so the report has a failure, a pass and features the target
does not support. A copy of the report with a probe script appended is loaded in Chromium;
the probe reads what the browser rendered (computed styles, what is visible before and
after a scenario is expanded, which resources were loaded) into the DOM, and the test reads
that back with --dump-dom. A screenshot of the report is kept next to it.
"""

from __future__ import annotations

import base64
import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import ROOT, system_tool

from conformance import report_html

pytestmark = pytest.mark.needs_chromium

LAUNCH = ROOT / "tests" / "mutation" / "launch.py"
DOC_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
# mode-defaults-to-optional breaks APIKEY-CORE-013; DOC-001 and both GRPC scenarios pass, EXT-012
# needs a feature the reference gateway does not support.
SCENARIOS = "APIKEY-CORE-013 or APIKEY-DOC-001 or APIKEY-EXT-072 or APIKEY-EXT-079 or APIKEY-EXT-012"

PROBE = """
<script>
(function () {
  const out = {};
  const mark = f => document.querySelector(`#matrix tr[data-feature="${f}"]`);
  out.matrixRows = document.querySelectorAll('#matrix tbody tr').length;
  out.marks = {};
  out.colors = {};
  for (const f of ['APIKeyCore', 'GRPC', 'ExpressionLocation']) {
    const row = mark(f);
    out.marks[f] = row.querySelector('.mark').innerText.trim();
    out.colors[f] = getComputedStyle(row.querySelector('.mark')).backgroundColor;
  }
  out.profiles = [...document.querySelectorAll('#profiles tbody tr')].map(r => r.innerText.split('\\t').map(s => s.trim()));
  const failed = document.querySelector('details.scenario[data-outcome="failed"]');
  out.failedId = failed.dataset.id;
  const body = failed.querySelector('.body');
  out.closedVisible = body.checkVisibility();
  out.closedTextShown = document.body.innerText.includes('kind: AgentgatewayPolicy');
  failed.open = true;
  out.openVisible = body.checkVisibility();
  out.openHeight = body.getBoundingClientRect().height;
  out.openText = body.innerText;
  out.openSteps = [...body.querySelectorAll('table.steps tr')].map(r => r.innerText.replace(/\\s+/g, ' ').trim());
  out.resources = performance.getEntriesByType('resource').map(e => e.name);
  out.title = document.title;
  const pre = document.createElement('pre');
  pre.id = 'agw-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""

# For the screenshot: the scenario list, with the failed scenario opened at the top.
SHOW_FAILURE = """
<script>
document.querySelectorAll('main > section').forEach((s, i) => { if (i < 2) s.style.display = 'none'; });
const f = document.querySelector('details.scenario[data-outcome="failed"]');
f.open = true; f.parentNode.insertBefore(f, f.parentNode.querySelector('details'));
</script>
"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    browser = system_tool("chromium")
    with tempfile.TemporaryDirectory(prefix="agw-chromium-") as profile:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("html")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-m", SCENARIOS, "--report-dir", str(directory),
         "--reference-command", f"{sys.executable} {LAUNCH} mode-defaults-to-optional", "--convergence-timeout", "3",
         "--convergence-interval", "0.05"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-3000:]
    return directory / "report.html"


@pytest.fixture(scope="module")
def rendered(report, tmp_path_factory) -> dict:
    probe = tmp_path_factory.mktemp("probe") / "report-probe.html"
    probe.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    done = chromium("--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    start = done.stdout.index('<pre id="agw-probe">') + len('<pre id="agw-probe">')
    return json.loads(html.unescape(done.stdout[start:done.stdout.index("</pre>", start)]))


def test_the_matrix_shows_pass_fail_and_not_supported(rendered):
    from conformance.inventory import load
    from conformance.profiles import FEATURES, PAGE_PROFILES, RELIABILITY

    # One row per feature of the profiles run (the opt-in profile was not asked for), and one
    # per feature each version of the docs page needs.
    pages = {(e.profile, f) for e in load(ROOT / "features").values() if e.profile in PAGE_PROFILES for f in e.needs}
    assert rendered["matrixRows"] == len([f for f, (profile, _) in FEATURES.items() if profile != RELIABILITY]) + len(pages)
    assert rendered["marks"] == {"APIKeyCore": "fail", "GRPC": "pass", "ExpressionLocation": "not supported"}
    # Three marks, three different colours as rendered.
    assert len(set(rendered["colors"].values())) == 3


def test_the_profiles_table_shows_the_results(rendered):
    rows = {r[0]: r for r in rendered["profiles"]}
    assert rows["APIKEY-CORE"][1] == "failure" and rows["APIKEY-CORE"][3] == "1"  # the failed column
    assert rows["APIKEY-EXTENDED"][1] == "partial"


def test_a_scenario_expands_to_its_steps_manifests_and_exchanges(rendered):
    assert rendered["failedId"] == "APIKEY-CORE-013"
    assert not rendered["closedVisible"] and not rendered["closedTextShown"]
    assert rendered["openVisible"] and rendered["openHeight"] > 100
    text = rendered["openText"]
    assert "Manifest 1" in text and "kind: AgentgatewayPolicy" in text
    assert "Expectation 1: httpbin to answer through the gateway" in text and "GET /headers" in text and "HTTP 200" in text
    # The expectation the mutant broke, with what came back instead.
    assert "Expectation 2: a 401 saying 'no API Key found'" in text and "misses: 200 x" in text
    assert any(s.startswith("failed ") for s in rendered["openSteps"])
    assert any(s.startswith("not run ") for s in rendered["openSteps"]) or rendered["openSteps"][-1].startswith("failed ")


def test_nothing_is_fetched_and_no_key_is_shown(rendered, report):
    assert rendered["resources"] == []
    page = report.read_text()
    assert DOC_KEY not in page and base64.b64encode(DOC_KEY.encode()).decode() not in page
    assert DOC_KEY not in rendered["openText"]


def test_screenshots(report):
    """Screenshots for a person to look at (kept next to the report; not compared)."""
    top = report.with_name("report.png")
    done = chromium("--window-size=1280,1400", f"--screenshot={top}", report.as_uri())
    assert done.returncode == 0 and top.stat().st_size > 10_000, done.stderr[-2000:]
    failure = report.with_name("report-failure.html")
    failure.write_text(report.read_text().replace("</body>", SHOW_FAILURE + "</body>"))
    shot = report.with_name("report-failure.png")
    done = chromium("--window-size=1280,1400", f"--screenshot={shot}", failure.as_uri())
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
    if os.environ.get("AGW_SCREENSHOT_DIR"):
        for path in (top, shot):
            Path(os.environ["AGW_SCREENSHOT_DIR"], path.name).write_bytes(path.read_bytes())


@pytest.mark.parametrize("supported, outcomes, mark", [
    (False, [], "not supported"),
    (True, ["passed", "failed"], "fail"),
    (True, ["passed", "passed"], "pass"),
    (True, ["passed", "deselected"], "partial"),
    (True, [], "not run"),
    (True, ["provisional", "passed"], "provisional"),
])
def test_feature_marks(supported, outcomes, mark):
    assert report_html.feature_mark("F", supported, outcomes) == mark
