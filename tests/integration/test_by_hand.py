"""`agw-reference` as someone runs it by hand, from the example manifests and the commands
its `--help` prints: the addresses it says it listens on, the debug line per decision, and
what it does with a file that becomes empty, a refused edit, an object defined twice and
a file so large that parsing it takes seconds. Everything goes through the real programs,
their output, the traffic address and the admin address.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest

from conformance.processes import Program, answers, free_port
from reference import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"
PAGE_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
POLICY_FILE = "30-apikey-auth-policy.yaml"
POLICY = "AgentgatewayPolicy agentgateway-system/apikey-auth"
HOST = {"host": "www.example.com"}


def wait_for(what: str, check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class ByHand:
    """An echo backend and a gateway serving a copy of examples/manifests."""

    def __init__(self, workdir: Path):
        self.manifests = workdir / "manifests"
        shutil.copytree(EXAMPLES, self.manifests)
        echo_port, self.port, self.admin_port = free_port(), free_port(), free_port()
        # The example sends traffic to an echo backend on port 8000; this one has its own.
        slice_file = self.manifests / "10-httpbin-endpoints.yaml"
        text = slice_file.read_text()
        assert text.count("port: 8000\n") == 1
        slice_file.write_text(text.replace("port: 8000\n", f"port: {echo_port}\n"))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.echo = Program("echo", [sys.executable, "-m", "reference", "echo", "--listen", f"127.0.0.1:{echo_port}"], workdir, env)
        self.echo_port = echo_port
        # --log-level after the subcommand, as people type it.
        self.gateway = Program(
            "gateway",
            [sys.executable, "-m", "reference", "serve", "--manifests", str(self.manifests), "--listen", f"127.0.0.1:{self.port}",
             "--admin", f"127.0.0.1:{self.admin_port}", "--poll-interval", "0.05", "--log-level", "debug"],
            workdir, env,
        )
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        # One pooled client for every request the tests send, as a person's curl loop would
        # not pay for a new client (and its TLS context) per request either.
        self.client = httpx.Client(timeout=120)
        self.gateway.wait_until(lambda: answers(self.admin + "/healthz/ready"), 30, "ready")
        self.echo.wait_until(lambda: answers(f"http://127.0.0.1:{echo_port}/headers"), 30, "ready")

    def stop(self) -> None:
        self.client.close()
        self.gateway.stop()
        self.echo.stop()

    def log(self) -> str:
        return self.gateway.log.read_text(errors="replace")

    def send(self, headers: dict | None = None) -> httpx.Response:
        return self.client.get(f"http://127.0.0.1:{self.port}/headers", headers={**HOST, **(headers or {})}, timeout=10)

    def sources(self) -> dict[str, dict]:
        return {s["file"]: s for s in self.client.get(self.admin + "/config_dump", timeout=10).json()["sources"]}

    def policy_status(self) -> dict:
        [item] = [p for p in self.client.get(self.admin + "/status/policies", timeout=10).json()["policies"] if p["name"] == "apikey-auth"]
        return item

    def write(self, name: str, content: bytes) -> None:
        """Replace a file atomically (a dot file renamed over it), and wait until the gateway read it."""
        path = self.manifests / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        st = path.stat()
        revision = f"{st.st_ino}-{st.st_mtime_ns}"
        wait_for(f"{name} to be read", lambda: self.sources().get(name, {}).get("revision") == revision)

    def status_code_converges(self, headers: dict | None, code: int, times: int = 3) -> None:
        streak = 0

        def holds():
            nonlocal streak
            streak = streak + 1 if self.send(headers).status_code == code else 0
            return streak >= times

        wait_for(f"status {code}", holds)


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory):
    gateway = ByHand(tmp_path_factory.mktemp("by-hand"))
    yield gateway
    gateway.stop()


def help_curls() -> list[tuple[dict, int]]:
    """The curl commands of `agw-reference --help`: their headers, and the status each comment promises."""
    text = cli.parser().format_help()
    joined = text.replace("\\\n", " ")
    out = []
    for line, comment in re.findall(r"^\s*(curl .*)\n\s*# (\d{3})", joined, re.MULTILINE):
        words = shlex.split(line)
        headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
        [url] = [w for w in words if w.startswith("http://")]
        assert url == "http://127.0.0.1:8080/headers", url
        out.append((headers, int(comment)))
    return out


def test_the_help_says_how_to_run_the_examples_and_its_curls_answer_as_promised(by_hand):
    text = cli.parser().format_help()
    assert "agw-reference echo --listen 127.0.0.1:8000" in text
    assert "agw-reference serve --manifests examples/manifests --listen 127.0.0.1:8080" in text
    curls = help_curls()
    assert [code for _, code in curls] == [401, 401, 200]
    # The same requests as the curls, sent to this gateway's port instead of 8080.
    responses = [by_hand.send(headers) for headers, _ in curls]
    assert [r.status_code for r in responses] == [code for _, code in curls], [(r.status_code, r.text) for r in responses]
    refused_missing, refused_invalid, _ = responses
    assert refused_missing.text == "api key authentication failure: no API Key found"
    assert refused_invalid.text == "api key authentication failure: invalid credentials"
    seen = by_hand.send({"Authorization": f"Bearer {PAGE_KEY}"}).json()["headers"]
    assert "Authorization" not in seen and seen["Host"] == ["www.example.com"]


def test_both_programs_print_the_addresses_they_listen_on(by_hand):
    log = wait_for("the addresses", lambda: "admin on" in by_hand.log() and by_hand.log())
    assert f"agw-reference: traffic on http://127.0.0.1:{by_hand.port}" in log
    assert f"agw-reference: admin on http://127.0.0.1:{by_hand.admin_port}" in log
    assert f"agw-reference: echo backend on http://127.0.0.1:{by_hand.echo_port}" in by_hand.echo.log.read_text()


def test_port_0_prints_the_port_actually_taken(tmp_path):
    echo = Program("echo0", [sys.executable, "-m", "reference", "echo", "--listen", "127.0.0.1:0"], tmp_path, {**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        found = wait_for("the echo address", lambda: re.search(r"echo backend on (http://127\.0\.0\.1:(\d+))", echo.log.read_text()))
        assert int(found.group(2)) != 0
        assert httpx.get(found.group(1) + "/headers", timeout=10).status_code == 200
    finally:
        echo.stop()


def test_log_level_is_accepted_before_and_after_the_subcommand():
    parse = cli.parser().parse_args
    assert parse(["echo", "--listen", "127.0.0.1:1", "--log-level", "debug"]).log_level == "debug"
    assert parse(["--log-level", "error", "echo", "--listen", "127.0.0.1:1"]).log_level == "error"
    assert parse(["serve", "--manifests", ".", "--listen", "127.0.0.1:1", "--log-level", "warning"]).log_level == "warning"
    assert parse(["echo", "--listen", "127.0.0.1:1"]).log_level == "info"


def test_each_authentication_decision_is_one_debug_line_naming_the_entry_never_the_key(by_hand):
    by_hand.send()
    by_hand.send({"Authorization": "Bearer not-the-key"})
    by_hand.send({"Authorization": f"Bearer {PAGE_KEY}"})
    where = "route=httpbin/httpbin policy=agentgateway-system/apikey-auth mode=Strict"
    log = wait_for("the decisions", lambda: "reason=accepted" in by_hand.log() and by_hand.log())
    assert f"authentication: {where} result=refused reason=missing" in log
    assert f"authentication: {where} result=refused reason=invalid" in log
    assert f"authentication: {where} result=allowed reason=accepted: secret apikey, entry api-key" in log
    assert PAGE_KEY not in log and "not-the-key" not in log


def test_a_policy_file_truncated_to_nothing_is_refused_loudly_and_deleting_it_removes_the_policy(by_hand):
    path = by_hand.manifests / POLICY_FILE
    good = path.read_bytes()
    by_hand.status_code_converges(None, 401)
    with open(path, "wb"):
        pass  # what an editor's truncate-then-write looks like for a moment
    st = path.stat()
    wait_for("the empty file to be read", lambda: by_hand.sources()[POLICY_FILE]["revision"] == f"{st.st_ino}-{st.st_mtime_ns}")
    assert "empty" in by_hand.sources()[POLICY_FILE]["error"]
    by_hand.status_code_converges(None, 401)  # fail closed: the last good policy stays
    assert f"the last good version of {POLICY_FILE} stays in force ({POLICY})" in by_hand.log()
    # Deleting the file is how a policy is removed, and the log names what went.
    path.unlink()
    by_hand.status_code_converges(None, 200)
    wait_for("the removal to be logged", lambda: f"{POLICY_FILE}: removed; its objects are gone: {POLICY}" in by_hand.log())
    by_hand.write(POLICY_FILE, good)
    by_hand.status_code_converges(None, 401)


def test_status_says_when_the_latest_version_was_refused(by_hand):
    good = (by_hand.manifests / POLICY_FILE).read_bytes()
    assert by_hand.policy_status()["latestVersion"] == "Accepted"
    by_hand.write(POLICY_FILE, good.replace(b"mode: Strict", b"mode: Sometimes"))
    item = by_hand.policy_status()
    assert item["latestVersion"] == "Refused" and item["file"] == POLICY_FILE
    assert "the last good version is in force" in item["message"] and "spec.traffic.apiKeyAuthentication.mode" in item["message"]
    by_hand.status_code_converges(None, 401)
    by_hand.write(POLICY_FILE, good)
    assert by_hand.policy_status()["latestVersion"] == "Accepted"


def test_an_object_defined_in_two_files_is_reported(by_hand):
    good = (by_hand.manifests / POLICY_FILE).read_bytes()
    by_hand.write("99-copy.yaml", good.replace(b"mode: Strict", b"mode: Optional"))
    item = by_hand.policy_status()
    assert item["definedIn"] == [POLICY_FILE, "99-copy.yaml"], item
    assert item["duplicate"] == f"defined in {POLICY_FILE} and 99-copy.yaml; the one in 99-copy.yaml is in force"
    assert f"{POLICY} is defined in {POLICY_FILE} and 99-copy.yaml; the one in 99-copy.yaml is in force" in by_hand.log()
    (by_hand.manifests / "99-copy.yaml").unlink()
    wait_for("the copy to go", lambda: "99-copy.yaml" not in by_hand.sources())
    assert "definedIn" not in by_hand.policy_status()


def test_a_new_bad_file_does_not_claim_a_last_good_version(by_hand):
    by_hand.write("50-new.yaml", b"kind: [\n")
    assert by_hand.sources()["50-new.yaml"]["error"].startswith("50-new.yaml: invalid YAML")
    log = wait_for("the error to be logged", lambda: "50-new.yaml: invalid YAML" in by_hand.log() and by_hand.log())
    [line] = [ln for ln in log.splitlines() if "50-new.yaml: invalid YAML" in ln]
    assert "nothing from 50-new.yaml is loaded" in line and "last good" not in line
    (by_hand.manifests / "50-new.yaml").unlink()
    wait_for("the file to go", lambda: "50-new.yaml" not in by_hand.sources())


def test_requests_are_answered_while_a_large_file_is_parsed(by_hand):
    # Tens of thousands of small documents take seconds to parse and validate. While they
    # are, requests keep being answered one after another, each in a small part of the
    # time the file takes to load. A gateway that parsed on its event loop would hold the
    # request that arrives during the parse until the parse ends: one answer that takes
    # (nearly) the whole window. Only the order of events is judged, never a fixed time.
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: filler-%d, namespace: httpbin}\ndata: {a: '%s'}\n---\n"
    big = "".join(doc % (i, "x" * 40) for i in range(60000)).encode()
    path = by_hand.manifests / "70-large.yaml"
    tmp = path.with_name(".70-large.yaml.tmp")
    tmp.write_bytes(big)
    # Each round asks the admin address whether the file is in, then sends a request; both
    # are served by the gateway's one event loop, so a parse on that loop stalls a round.
    latencies = []
    start = time.monotonic()
    os.replace(tmp, path)
    loaded = False
    while not loaded and time.monotonic() - start < 120:
        began = time.monotonic()
        loaded = bool(by_hand.sources().get("70-large.yaml", {}).get("revision"))
        assert by_hand.send().status_code == 401
        latencies.append(time.monotonic() - began)  # the last round too: it may be the stalled one
    window = time.monotonic() - start
    assert by_hand.sources().get("70-large.yaml", {}).get("revision"), "the large file never loaded"
    print(f"{len(latencies)} answers in {window:.2f} s, the slowest {max(latencies):.3f} s")
    assert len(latencies) >= 5, f"only {len(latencies)} rounds answered in the {window:.2f} s the file took to load"
    assert max(latencies) < window / 2, f"a round waited {max(latencies):.2f} s of the {window:.2f} s the file took to load"
    path.unlink()
    wait_for("the large file to go", lambda: "70-large.yaml" not in by_hand.sources())
