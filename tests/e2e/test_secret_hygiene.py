"""No output pytest or pytest-bdd writes about a scenario holds a key, with or without --report-dir.

One run writes every output a user can ask for: the terminal with `-v`, `-rA`,
`--tb=long` and `--showlocals`, JUnit XML, cucumber JSON, and captured output and logs.
The reference gateway runs with one rule broken (it reads the query parameter's name
without regard to case), so APIKEY-EXT-060 fails with an expectation's message; a plugin of the test's own plays a careless
harness: it prints and logs every step it runs, and raises an error that quotes a step,
so the keys reach stdout, the captured log and a traceback. None of it may show a key.
"""

import base64
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ROOT / "tests" / "mutation" / "launch.py"
DOC_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"  # the docs page's example key
# The page's key in clear and as its Secret holds it, and the key of APIKEY-CORE-063's Secret.
FORBIDDEN = (DOC_KEY, base64.b64encode(DOC_KEY.encode()).decode(), "identity-key-6c8d")

CARELESS = textwrap.dedent("""\
    import logging

    log = logging.getLogger("careless")

    def pytest_bdd_before_step(request, feature, scenario, step, step_func):
        print("running step:", step.name)
        log.warning("running step: %s", step.name)
        if "APIKEY-CORE-062" in request.node.nodeid and step.name.startswith("I send a request to the httpbin app with the headers"):
            raise RuntimeError("the harness broke near: " + step.name)
    """)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, str]:
    # pytester is function-scoped; one run serves every check, so it is made by hand here.
    import subprocess

    where = tmp_path_factory.mktemp("hygiene")
    (where / "careless.py").write_text(CARELESS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features" / "credential_removal.feature"), "-p", "no:cacheprovider",
         "-p", "careless", "-v", "-rA", "--tb=long", "--showlocals", "--log-level=INFO",
         "--junitxml", str(where / "junit.xml"), "--cucumberjson", str(where / "cucumber.json"),
         "--reference-command", f"{sys.executable} {LAUNCH} query-name-case-insensitive"],
        cwd=where, capture_output=True, text=True, timeout=600,
    )
    return {"stdout": done.stdout, "stderr": done.stderr, "junit.xml": (where / "junit.xml").read_text(),
            "cucumber.json": (where / "cucumber.json").read_text()}


def test_the_run_had_something_to_hide(outputs):
    # Failures with an expectation's message, a traceback, and captured prints and logs.
    out = outputs["stdout"]
    assert any(line.startswith("FAILED ") and "::APIKEY-EXT-060 " in line for line in out.splitlines())
    assert "PASSED" in out and "PASSES" in out
    assert "APIKEY-EXT-060 › " in out  # the expectation's own message
    assert "RuntimeError: the harness broke near" in out
    assert "running step: I generated the API key" in out and "Captured log call" in out
    assert "<redacted>" in out and "<redacted>" in outputs["cucumber.json"] and "&lt;redacted&gt;" in outputs["junit.xml"]


@pytest.mark.parametrize("output", ["stdout", "stderr", "junit.xml", "cucumber.json"])
def test_no_output_holds_a_key(outputs, output):
    found = [k for k in FORBIDDEN if k in outputs[output]]
    assert not found, f"{output} holds {found}"
