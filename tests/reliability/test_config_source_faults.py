"""Config source faults: the manifests directory vanishing or emptied, and the Kubernetes API
server stopped and started again (cluster tier, envtest).

While a source cannot be read, every request gets exactly the answer of the last good
configuration (no convergence: one unauthenticated 2xx would be a hole). Readiness says
whether the gateway has a configuration to serve: it stays ready on the last good one, and
a gateway that has never had one is not ready and forwards nothing. When the source comes
back, changes made meanwhile take effect without any help.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from helpers import RULE, secret, status, strict_policy

from conformance import Request, converge
from conformance.processes import Program, free_port

from .parts import HOST, Backend, admin_texts, leaks, log_texts, route_to, verbose_gateway

FIRST, SECOND = "source-faults-first-3e9a1f", "source-faults-second-77c0d2"
NO_KEY = Request(host=HOST, path="/anything")


def with_key(key: str) -> Request:
    return NO_KEY.with_header("Authorization", f"Bearer {key}")


def exact_answers(send, pairs, seconds: float) -> int:
    """Send each (request, status) pair repeatedly for `seconds`; every answer must match."""
    deadline, sent = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        for request, expected in pairs:
            response = send(request)
            assert response.status == expected, f"{request.describe()}: expected {expected}, got {response.describe()}"
            sent += 1
        time.sleep(0.02)
    return sent


def ready(admin: str) -> int:
    try:
        return httpx.get(admin + "/healthz/ready", timeout=5).status_code
    except httpx.HTTPError:
        return 0


# --- the file source -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    backend = Backend()
    workdir = tmp_path_factory.mktemp("source-faults")
    try:
        with verbose_gateway(workdir) as gateway:
            gateway.apply(route_to(backend.port))
            gateway.apply(secret({"api-key": FIRST}))
            gateway.apply(strict_policy())
            converge(gateway.send, with_key(FIRST), status(200), RULE, "200 with the key")
            yield gateway, backend, workdir
    finally:
        backend.close()


def test_a_vanished_manifests_directory_keeps_the_last_good_configuration(files, capsys):
    gateway, _, workdir = files
    away = gateway.manifests.with_name("manifests.away")
    os.rename(gateway.manifests, away)
    try:
        sent = exact_answers(gateway.send, [(NO_KEY, 401), (with_key(FIRST), 200), (with_key(SECOND), 401)], 3)
        assert ready(gateway._admin) == 200, "the gateway serves its last good configuration, so it is ready"
        # Changes made while it cannot read the directory wait for it.
        (away / "secret.agentgateway-system.apikey.yaml").write_text(secret({"api-key": SECOND}))
        sent += exact_answers(gateway.send, [(with_key(FIRST), 200)], 1)
    finally:
        os.rename(away, gateway.manifests)
    with capsys.disabled():
        print(f"\nvanished directory: {sent} requests, each with the last good answer")
    # Back: the change made meanwhile takes effect by itself.
    converge(gateway.send, with_key(SECOND), status(200), RULE, "the key written while the directory was away")
    converge(gateway.send, with_key(FIRST), status(401), RULE, "the replaced key refused")
    log = log_texts(workdir)["gateway.log"].decode()
    # Said once for the whole absence, not once per scan, and its end said too.
    assert log.count("cannot read") == 1, f"the gateway said {log.count('cannot read')} times that it cannot read the directory"
    assert "can be read again" in log
    gateway.apply(secret({"api-key": FIRST}))
    converge(gateway.send, with_key(FIRST), status(200), RULE, "200 with the first key again")


def test_an_emptied_manifests_directory_forwards_nothing(files, capsys):
    gateway, backend, workdir = files
    away = gateway.manifests.with_name("manifests.emptied")
    away.mkdir()
    names = [p.name for p in gateway.manifests.iterdir()]
    for name in names:
        os.rename(gateway.manifests / name, away / name)
    try:
        time.sleep(0.5)
        backend.clear()
        # Nothing configured is nothing served: no request may reach the backend.
        deadline, answers = time.monotonic() + 2, []
        while time.monotonic() < deadline:
            answers += [gateway.send(r).status for r in (NO_KEY, with_key(FIRST))]
        assert answers and all(400 <= s < 500 for s in answers), sorted(set(answers))
        assert backend.seen == []
        assert ready(gateway._admin) in (200, 503)
    finally:
        for name in names:
            os.rename(away / name, gateway.manifests / name)
    with capsys.disabled():
        print(f"\nemptied directory: {len(answers)} requests, none forwarded, statuses {sorted(set(answers))}")
    converge(gateway.send, with_key(FIRST), status(200), RULE, "200 with the key once the files are back")
    converge(gateway.send, NO_KEY, status(401), RULE, "401 without a key once the files are back")
    assert leaks({**log_texts(workdir), **admin_texts(gateway)}, {FIRST, SECOND}) == []


# --- the Kubernetes source ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    from conformance.targets.envtest import EnvtestTarget

    with EnvtestTarget([sys.executable, "-m", "reference", "--log-level", "debug"], frozenset(), timeout=60).running() as target:
        yield target


def test_the_api_server_stopped_and_restarted(cluster, tmp_path, capsys):
    request = Request(path="/headers")
    keyed = lambda key: request.with_header("Authorization", f"Bearer {key}")  # noqa: E731
    cluster.apply(secret({"api-key": FIRST}))
    cluster.apply(strict_policy())
    converge(cluster.send, keyed(FIRST), status(200), RULE, "200 with the key")
    converge(cluster.send, request, status(401), RULE, "401 without a key")
    argv = cluster.programs[-1].argv
    first_admin = argv[argv.index("--admin") + 1]

    cluster.control_plane.kill_apiserver()
    # A second gateway started now has never seen a configuration: not ready, and it
    # forwards nothing, with or without a key.
    port, admin = free_port(), free_port()
    late = Program("late-gateway", [sys.executable, "-m", "reference", "--log-level", "debug", "serve", "--kubeconfig", cluster.kubeconfig,
                                    "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}"], tmp_path)
    try:
        late_admin, late_url = f"http://127.0.0.1:{admin}", f"http://127.0.0.1:{port}"
        late.wait_until(lambda: ready(late_admin) == 503, 30, "answering (not ready)")
        sent = exact_answers(cluster.send, [(request, 401), (keyed(FIRST), 200), (keyed(SECOND), 401)], 4)
        assert ready(f"http://{first_admin}") == 200, "the first gateway serves its last good configuration, so it is ready"
        for _ in range(10):
            status_code = httpx.get(late_url + "/headers", headers={"authorization": f"Bearer {FIRST}", "host": "www.example.com"}, timeout=5).status_code
            assert status_code == 503, status_code
            assert ready(late_admin) == 503
        with capsys.disabled():
            print(f"\nAPI server down: {sent} requests to the running gateway, each with the last good answer; "
                  "a gateway started meanwhile stayed not ready and forwarded nothing")

        cluster.control_plane.restart_apiserver()
        # Both recover by themselves: the late one becomes ready and enforces the keys,
        # and a change made now reaches the first one.
        late.wait_until(lambda: ready(late_admin) == 200, 60, "ready after the API server returned")
        cluster.apply(secret({"api-key": SECOND}))
        converge(cluster.send, keyed(SECOND), status(200), RULE, "the new key after the API server returned")
        converge(cluster.send, keyed(FIRST), status(401), RULE, "the old key refused")
        for key, expected in ((SECOND, 200), (FIRST, 401)):
            deadline = time.monotonic() + 30
            while httpx.get(late_url + "/headers", headers={"authorization": f"Bearer {key}", "host": "www.example.com"}, timeout=5).status_code != expected:
                assert time.monotonic() < deadline, f"the late gateway did not converge to {expected}"
                time.sleep(0.1)
    finally:
        late.stop()
    logs = {"late gateway": late.log.read_bytes(), "first gateway": cluster.programs[-1].log.read_bytes()}
    assert leaks(logs, {FIRST, SECOND}) == []


def test_a_manifests_path_that_is_not_a_directory_is_refused_at_the_start(tmp_path):
    # The file source publishes at its first scan, so there is no "not ready yet" moment to
    # probe; a directory it cannot read at all is refused before serving: one line, usage exit code.
    done = subprocess.run([sys.executable, "-m", "reference", "serve", "--manifests", str(tmp_path / "missing"),
                           "--listen", f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not a directory" in done.stderr, done.stderr
