"""No output pytest, pytest-bdd or the suite writes about a scenario holds a key, whatever
way the run ends and whoever wrote the scenario.

Every run writes every output a user can ask for: the terminal with `-v`, `-rA`,
`--tb=long` and `--showlocals`, JUnit XML, cucumber JSON, the ConformanceReport, the HTML
report (`--report-dir`), and a log file at debug level. The runs:

- failing: the reference gateway authenticates nothing (the `auth-disabled` mutant), so
  scenarios fail at their first refusal and the keys of every later step are never
  reached: they are only in the scenario's text, and must be masked all the same (and
  pytest-bdd's Gherkin reporter prints every step);
- erroring: the gateway reads the query parameter's name without regard to case, so
  APIKEY-EXT-060 fails with an expectation's message, and a plugin of the test's own plays
  a careless harness: it prints and logs every step it runs, and raises an error that
  quotes a step, so the keys reach stdout, the captured log and a traceback;
- interrupted: the careless plugin presses Ctrl-C (SIGINT to its own process) in the
  middle of a scenario, and `--full-trace` asks for the whole traceback of the interrupt;
- written by a user: a directory of the user's own, bound like `features/`, whose
  scenarios use the suite's steps, one of them without a suite ID, with JSON entries whose
  `key` member is not written in lower case (Go's JSON decoder, and so the gateway, takes
  `{"KEY": ...}` as the key; spec section 2).
"""

import base64
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ROOT / "tests" / "mutation" / "launch.py"
DOC_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"  # the docs page's example key


def b64(key: str) -> str:
    return base64.b64encode(key.encode()).decode()


CARELESS = textwrap.dedent("""\
    import logging
    import os
    import signal

    log = logging.getLogger("careless")
    # Ctrl-C as a terminal delivers it, even when this run was started where SIGINT is
    # ignored (a background job of a non-interactive shell, which pytest would inherit).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SCENARIO-ID|the start of a step|error or interrupt
    scenario_id, step_start, how = os.environ["CARELESS_BREAK"].split("|")

    def pytest_bdd_before_step(request, feature, scenario, step, step_func):
        print("running step:", step.name)
        log.warning("running step: %s", step.name)
        if scenario_id in request.node.nodeid and step.name.startswith(step_start):
            if how == "interrupt":
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
            raise RuntimeError("the harness broke near: " + step.name)
    """)

USER_FEATURE = textwrap.dedent('''\
    Feature: A vendor's own scenarios, with the suite's steps

      Background:
        Given an agentgateway proxy is set up
        And the httpbin sample app is installed

      @APIKEY-EXT-901 @HashedKeys
      Scenario: JSON entries whose key member is not written in lower case
        Given I create a Secret with JSON entries
          """
          apiVersion: v1
          kind: Secret
          metadata:
            name: vendor-keys
            namespace: agentgateway-system
          stringData:
            upper: '{"KEY": "vendor-upper-key-5e7d"}'
            mixed: '{"Key": "vendor-mixed-key-9a1b", "metadata": {"team": "x"}}'
          """
        And I apply a Strict policy that reads it
          """
          apiVersion: agentgateway.dev/v1alpha1
          kind: AgentgatewayPolicy
          metadata:
            name: apikey-auth
            namespace: agentgateway-system
          spec:
            targetRefs:
              - group: gateway.networking.k8s.io
                kind: Gateway
                name: agentgateway-proxy
            traffic:
              apiKeyAuthentication:
                mode: Strict
                secretRef:
                  name: vendor-keys
          """
        When I send a request to the httpbin app with no key in the Authorization header
        Then the request is refused with "no API Key found"
        When I send a request to the httpbin app with the key "vendor-upper-key-5e7d" in the Authorization header
        Then the request is forwarded without the credential

      Scenario: A vendor's check of its own, without a suite ID
        Given I create a Secret holding the vendor's key
          """
          apiVersion: v1
          kind: Secret
          metadata:
            name: vendor-plain
            namespace: agentgateway-system
          data:
            vendor: dmVuZG9yLXBsYWluLWtleS0zZDJj
          """
        And I apply a Strict policy that reads it
          """
          apiVersion: agentgateway.dev/v1alpha1
          kind: AgentgatewayPolicy
          metadata:
            name: apikey-auth
            namespace: agentgateway-system
          spec:
            targetRefs:
              - group: gateway.networking.k8s.io
                kind: Gateway
                name: agentgateway-proxy
            traffic:
              apiKeyAuthentication:
                mode: Strict
                secretRef:
                  name: vendor-plain
          """
        When I send a request to the httpbin app with no key in the Authorization header
        Then the request is refused with "no API Key found"
        When I send a request to the httpbin app with the key "vendor-plain-key-3d2c" in the Authorization header
        Then the request is forwarded without the credential
    ''')

# What each run must hide: the keys of its scenarios, in clear and as their Secrets hold them.
RUNS = {
    "failing": dict(
        # pytest-bdd's Gherkin reporter too: at -vv it prints every step of every scenario.
        paths=["features/"], args=["-k", "APIKEY-CORE-034 or APIKEY-EXT-021", "--gherkin-terminal-reporter", "-vv"], mutant="auth-disabled",
        keys=["old-key-1111", "new-key-2222", "hashed-only-key-3c1f9a", "json-key-1a2b", "spaced-json-key-2c4e", DOC_KEY],
    ),
    "erroring": dict(
        paths=["features/credential_removal.feature"], args=[], mutant="query-name-case-insensitive",
        careless="APIKEY-CORE-062|I send a request to the httpbin app with the headers|error",
        keys=[DOC_KEY, "identity-key-6c8d"],
    ),
    "interrupted": dict(
        paths=["features/failure_paths.feature"], args=["-k", "APIKEY-CORE-034", "--full-trace"], mutant="none",
        careless='APIKEY-CORE-034|I send a request to the httpbin app with the key "new-key-2222"|interrupt',
        keys=["old-key-1111", "new-key-2222"],
    ),
    "user": dict(
        paths=["vendor/"], args=[], mutant="auth-disabled",
        keys=["vendor-upper-key-5e7d", "vendor-mixed-key-9a1b", "vendor-plain-key-3d2c"],
    ),
}
OUTPUTS = ["stdout", "stderr", "junit.xml", "cucumber.json", "conformance-report.yaml", "report.html", "run.log"]


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request, tmp_path_factory) -> tuple[dict, dict[str, str]]:
    # pytester is function-scoped; each run serves every check of its outputs, so it is made by hand here.
    name = request.param
    spec = RUNS[name]
    where = tmp_path_factory.mktemp(f"hygiene-{name}")
    reports = where / "reports"
    (where / "careless.py").write_text(CARELESS)
    # Run from a directory of the test's own: `python -m pytest` puts its working directory
    # first on sys.path, and the mutation check's copy of the package must come first.
    paths = [str(ROOT / path) for path in spec["paths"]]
    if name == "user":
        paths = spec["paths"]
        vendor = where / "vendor"
        vendor.mkdir()
        shutil.copy(ROOT / "features" / "conftest.py", vendor / "conftest.py")  # bound as the suite binds features/
        (vendor / "vendor.feature").write_text(USER_FEATURE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(where), os.environ.get("PYTHONPATH", "")])}
    plugins = []
    if "careless" in spec:
        env["CARELESS_BREAK"] = spec["careless"]
        plugins = ["-p", "careless"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *paths, *spec["args"], "-p", "no:cacheprovider", *plugins,
         "-v", "-rA", "--tb=long", "--showlocals", "--log-level=INFO",
         "--log-file", str(where / "run.log"), "--log-file-level=DEBUG", "--convergence-timeout", "2",
         "--report-dir", str(reports), "--reference-command", f"{sys.executable} {LAUNCH} {spec['mutant']}"],
        cwd=where, env=env, capture_output=True, text=True, timeout=600,
    )
    outputs = {"stdout": done.stdout, "stderr": done.stderr, "run.log": (where / "run.log").read_text()}
    outputs |= {p.name: p.read_text() for p in reports.iterdir()}
    outputs["returncode"] = str(done.returncode)
    return spec | {"name": name}, outputs


def test_the_run_had_something_to_hide(run):
    spec, outputs = run
    out = outputs["stdout"]
    assert sorted(outputs) == sorted([*OUTPUTS, "returncode"]), sorted(outputs)
    if spec["name"] == "interrupted":
        assert outputs["returncode"] == "2", out[-3000:]  # pytest's "interrupted"
        assert "KeyboardInterrupt" in out and "running step: I send a request" in outputs["run.log"]
        return
    assert outputs["returncode"] == "1", out[-3000:] + outputs["stderr"][-2000:]
    failed = [line for line in out.splitlines() if line.startswith("FAILED ")]
    assert failed and " › " in out  # a failure with an expectation's own message
    assert "PASSED" in out or spec["name"] != "erroring"
    if spec["name"] == "erroring":
        assert "RuntimeError: the harness broke near" in out
        assert "running step: I generated the API key" in out and "Captured log call" in out
    if spec["name"] == "failing":
        assert 'When I send a request to the httpbin app with the key "<redacted>"' in out  # the Gherkin reporter's steps
    if spec["name"] == "user":
        assert "::A vendor's check of its own, without a suite ID FAILED" in out
    # The reports show the scenarios, masked: the keys were there to be found.
    assert "<redacted>" in outputs["cucumber.json"] and "&lt;redacted&gt;" in outputs["junit.xml"]
    assert "&lt;redacted&gt;" in outputs["report.html"] or "<redacted>" in outputs["report.html"]


@pytest.mark.parametrize("output", OUTPUTS)
def test_no_output_holds_a_key(run, output):
    spec, outputs = run
    forbidden = [form for key in spec["keys"] for form in (key, b64(key))]
    found = sorted({k for k in forbidden if k in outputs[output]})
    assert not found, f"the {spec['name']} run's {output} holds {found}"
