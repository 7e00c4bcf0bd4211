"""The commands the documentation gives run from a source checkout as written: every
directory they name exists, and a gateway started from the example manifests has its echo
backend where those manifests send traffic."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.S | re.M)


def shell_blocks() -> list[tuple[str, str]]:
    return [(page.relative_to(ROOT).as_posix(), block) for page in PAGES for block in _BLOCK.findall(page.read_text())]


def test_every_manifests_directory_the_docs_name_exists():
    named = [(page, m[1]) for page, block in shell_blocks() for m in re.finditer(r"--manifests\s+(\S+)", block)]
    assert named  # the pages do start the reference gateway by hand
    missing = [f"{page}: --manifests {path}" for page, path in named if not (ROOT / path).is_dir()]
    assert not missing, missing


def test_an_echo_started_beside_the_example_manifests_listens_where_they_send_traffic():
    slices = [d for p in sorted((ROOT / "examples" / "manifests").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())
              if d and d.get("kind") == "EndpointSlice"]
    ports = {port["port"] for d in slices for port in d.get("ports") or []}
    for page, block in shell_blocks():
        if "--manifests examples/manifests" not in block:
            continue
        echoes = {int(m[1]) for m in re.finditer(r"agw-reference echo --listen [\d.]+:(\d+)", block)}
        assert echoes and echoes <= ports, f"{page}: an echo on {sorted(echoes)}, the example manifests send traffic to {sorted(ports)}"
