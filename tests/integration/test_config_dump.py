"""Nothing the admin address or the logs show lets anyone test a guess of a key, unless
the operator turns on `/status/keys`.

A digest of a key, or of a file that holds one, is as good as the key against a key of
low entropy: whoever reads it can hash guesses offline. So the admin address reports which
version of each file is loaded by the file's identity on disk (inode and modification
time), and the dump, the status and the log lines are the same whatever the keys are.
`/status/keys` (`agw-reference serve --admin-key-digests`) shows the digest of each loaded
key by design, for conformance checks of what the gateway loaded; it is off by default, and
even on it never shows a key itself (the last tests here).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re

import httpx
import pytest

from conformance.targets.reference import ReferenceTarget
from reference.admin import create_app
from reference.runtime import Runtime
from reference.watching import ManifestDir

SECRET = """apiVersion: v1
kind: Secret
metadata: {name: apikey, namespace: infra}
stringData:
  api-key: %s
  json-entry: '{"key": "%s", "metadata": 5}'
data:
  bad-base64: '%s!'
"""
GOOD_SECRET = """apiVersion: v1
kind: Secret
metadata: {name: apikey, namespace: infra}
stringData:
  api-key: %s
  broken: '{"key": "%s", "metadata": 5}'
"""
POLICY = """apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic: {apiKeyAuthentication: {secretRef: {name: apikey}}}
"""


def forms(key: str, *contents: bytes) -> list[str]:
    """Every way a key, or a file holding it, could be shown: as is, encoded, or digested."""
    out = [key, base64.b64encode(key.encode()).decode()]
    for raw in (key.encode(), *contents):
        for digest in (hashlib.sha256(raw), hashlib.sha1(raw), hashlib.md5(raw)):
            out += [digest.hexdigest(), digest.hexdigest().upper(), base64.b64encode(digest.digest()).decode().rstrip("=")]
    return out


def admin_pages(source: ManifestDir) -> str:
    app = create_app(source.runtime, source.report)

    async def fetch():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin") as client:
            return [(await client.get(path)).text for path in ("/config_dump", "/status/policies", "/healthz/ready")]

    return "\n".join(asyncio.run(fetch()))


def without_revisions(text: str) -> str:
    return re.sub(r'"revision":\s*"[^"]*"', '"revision": "-"', text)


def load(tmp_path, key: str, template: str = GOOD_SECRET) -> tuple[ManifestDir, bytes]:
    content = (template % (key, key)).encode() if template is GOOD_SECRET else (template % (key, key, key)).encode()
    (tmp_path / "secret.yaml").write_bytes(content)
    (tmp_path / "policy.yaml").write_text(POLICY)
    source = ManifestDir(tmp_path, Runtime())
    source.scan()
    return source, content


def test_the_admin_pages_show_no_form_of_a_key_or_of_a_file_holding_one(tmp_path):
    key = "abc123"  # low entropy: any digest of it, or of its file, would give it away
    source, content = load(tmp_path, key)
    assert source.runtime.config.policies[0].problems  # the broken entry is reported...
    pages = admin_pages(source)
    for form in forms(key, content, (tmp_path / "policy.yaml").read_bytes()):
        assert form not in pages, "the admin address shows a key, or a digest of a key or of a file"


def test_the_revision_of_a_file_is_its_inode_and_mtime(tmp_path):
    source, _ = load(tmp_path, "abc123")
    st = os.stat(tmp_path / "secret.yaml")
    [entry] = [r for r in source.report() if r["file"] == "secret.yaml"]
    assert entry == {"file": "secret.yaml", "revision": f"{st.st_ino}-{st.st_mtime_ns}", "error": None}


def test_the_admin_pages_are_the_same_whatever_the_keys_are(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = load(tmp_path / "a", "key-one-111")
    second, _ = load(tmp_path / "b", "key-two-222")
    assert without_revisions(admin_pages(first)) == without_revisions(admin_pages(second))


def test_a_refused_secret_file_shows_and_logs_no_form_of_its_keys(tmp_path, caplog):
    key = "abc123"
    caplog.set_level(logging.DEBUG)
    source, content = load(tmp_path, key, SECRET)
    [entry] = [r for r in source.report() if r["file"] == "secret.yaml"]
    assert entry["error"] and "data.bad-base64" in entry["error"]
    shown = admin_pages(source) + "\n".join(r.getMessage() for r in caplog.records)
    for form in forms(key, content):
        assert form not in shown


@pytest.fixture(scope="module")
def gateway():
    with ReferenceTarget(frozenset()).running() as target:
        yield target


def test_the_running_gateway_shows_and_logs_no_form_of_a_key(gateway):
    key = "abc123"
    gateway.apply(GOOD_SECRET.replace("infra", "agentgateway-system") % (key, key))
    gateway.apply(POLICY.replace("infra", "agentgateway-system"))
    files = [p.read_bytes() for p in gateway.manifests.glob("*.yaml")]
    pages = "\n".join(httpx.get(gateway._admin + path, timeout=10).text for path in ("/config_dump", "/status/policies"))
    logs = gateway.programs[-1].log.read_text(errors="replace")
    for form in forms(key, *files):
        assert form not in pages, "the admin address shows a key, or a digest of a key or of a file"
        assert form not in logs, "the log shows a key, or a digest of a key or of a file"


# --- /status/keys ------------------------------------------------------------------------

KEY_STORES = """apiVersion: v1
kind: Secret
metadata: {name: apikey, namespace: infra}
stringData:
  api-key: %(raw)s
  json-entry: '{"key": "%(json)s", "metadata": {"team": "a"}}'
  broken: '{"key": "%(broken)s", "metadata": 5}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hashed, namespace: infra}
data:
  client: '{"keyHash": "sha256:%(hash)s"}'
  raw-in-configmap: %(raw)s
"""
RAW, JSON_KEY, BROKEN, HASHED = "raw-key-4d5e", "json-key-7a8b", "broken-key-1c2d", "hashed-key-9e0f"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_page(tmp_path, *, shown: bool) -> httpx.Response:
    content = KEY_STORES % {"raw": RAW, "json": JSON_KEY, "broken": BROKEN, "hash": sha256(HASHED).upper()}
    (tmp_path / "stores.yaml").write_text(content)
    source = ManifestDir(tmp_path, Runtime())
    source.scan()
    app = create_app(source.runtime, source.report, key_digests_shown=shown)

    async def fetch():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin") as client:
            return await client.get("/status/keys")

    return asyncio.run(fetch())


def test_status_keys_shows_the_digest_of_each_key_loaded_and_never_a_key(tmp_path):
    # No policy uses these stores yet (the docs page checks its Secret before it applies the
    # policy): the gateway holds them all the same, so they are listed.
    page = key_page(tmp_path, shown=True)
    assert page.status_code == 200
    assert page.json() == {"stores": [
        # A keyHash entry is its hash, in lowercase; a raw key in a ConfigMap gives no key.
        {"kind": "ConfigMap", "namespace": "infra", "name": "hashed", "sha256": {"client": sha256(HASHED)}},
        # The invalid entry gives no key, so it is not there.
        {"kind": "Secret", "namespace": "infra", "name": "apikey", "sha256": {"api-key": sha256(RAW), "json-entry": sha256(JSON_KEY)}},
    ]}
    for key in (RAW, JSON_KEY, BROKEN, HASHED):
        for form in (key, base64.b64encode(key.encode()).decode()):
            assert form not in page.text, "the key digests page shows a key"
    assert sha256(BROKEN) not in page.text
    assert hashlib.sha256((tmp_path / "stores.yaml").read_bytes()).hexdigest() not in page.text


def test_status_keys_is_not_served_unless_the_operator_turns_it_on(tmp_path):
    assert key_page(tmp_path, shown=False).status_code == 404
