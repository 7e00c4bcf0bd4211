"""A pytest plugin for a run of the feature files whose leftovers the secret hygiene test
scans: loaded with `-p reliability.hygiene_plugin`, it writes to `$AGW_HYGIENE_DIR`

- `keys.json`: every key each scenario configured (read from the world, which knows them);
- `admin.txt`: the reference's config dump, policy status and key digests at the end of
  each scenario, before its objects are deleted;
- `answers.txt`: every answer that did not come from the backend (not 2xx): status,
  headers and body, as the gateway sent them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

_DIR = Path(os.environ.get("AGW_HYGIENE_DIR", "."))
_KEYS: set[str] = set()


def _append(name: str, data: bytes) -> None:
    with open(_DIR / name, "ab") as f:
        f.write(data + b"\n")


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    from conformance.plugin import _TARGET

    target = session.config.stash[_TARGET]
    send = target.send

    def recorded(request):
        response = send(request)
        if not 200 <= response.status < 300:
            head = "\n".join(f"{k}: {v}" for k, v in response.headers)
            _append("answers.txt", f"{response.status}\n{head}\n".encode("latin-1", "replace") + response.body)
        return response

    target.send = recorded


def pytest_bdd_after_scenario(request, feature, scenario) -> None:
    world = request.getfixturevalue("world")
    _KEYS.update(key.reveal() for key in world.configured_keys())
    admin = getattr(world.target, "_admin", "")
    for path in ("/config_dump", "/status/policies", "/status/keys") if admin else ():
        try:
            _append("admin.txt", httpx.get(admin + path, timeout=10).content)
        except httpx.HTTPError as exc:
            _append("admin.txt", f"{path}: {type(exc).__name__}".encode())


def pytest_sessionfinish(session: pytest.Session) -> None:
    (_DIR / "keys.json").write_text(json.dumps(sorted(_KEYS)))
