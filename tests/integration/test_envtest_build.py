"""The envtest build as a user meets it: its progress inside a pytest run, and a cache in
which CRDs of different origins (real, with their version, or the stand-in) never share a
directory.

The binaries are the expensive part (minutes); these tests build or reuse them once in the
ordinary cache, as the envtest run does, and then work in a cache of their own whose
binaries are links to those, so every CRD origin is tried in seconds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conformance.targets.envtest import build_assets

pytestmark = pytest.mark.needs_go

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "clusters" / "envtest" / "build.sh"
FEATURES = ROOT / "features"
STANDIN = ROOT / "clusters" / "envtest" / "standin" / "agentgatewaypolicies.agentgateway.dev.yaml"
CHART = "controller/install/helm/agentgateway-crds"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A cache root of our own, holding links to the binaries of the ordinary cache."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("KUBEBUILDER_ASSETS", raising=False)  # the build's own layout is what is needed here
        assets = build_assets(lambda line: None)  # <cache>/<stamp>/crds-<origin>/bin
    stamp_dir = assets.parent.parent
    root = tmp_path_factory.mktemp("envtest-cache")
    for part in ("bin", "tools"):
        (root / stamp_dir.name / part).mkdir(parents=True)
        for f in (stamp_dir / part).iterdir():
            (root / stamp_dir.name / part / f.name).symlink_to(f)
    return root


def build(cache: Path, source: Path | None) -> tuple[Path, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBEBUILDER_ASSETS", "AGW_AGENTGATEWAY_SRC")}
    env["AGW_ENVTEST_CACHE"] = str(cache)
    if source is not None:
        env["AGW_AGENTGATEWAY_SRC"] = str(source)
    done = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1]), done.stderr


def source_tree(path: Path, with_chart: bool) -> Path:
    path.mkdir(parents=True)
    if with_chart:
        # A chart in the real layout, whose policy CRD has the rule the build asks for.
        (path / CHART / "templates").mkdir(parents=True)
        (path / CHART / "values.yaml").write_text("{}\n")
        (path / CHART / "templates" / "agentgatewaypolicies.yaml").write_text(STANDIN.read_text())
    return path


def test_crds_of_each_origin_get_a_directory_named_after_it(cache, tmp_path):
    standin, said = build(cache, source_tree(tmp_path / "empty-tree", with_chart=False))
    assert standin.parent.name.startswith("crds-standin-"), standin
    assert "agentgateway: STAND-IN" in (standin.parent / "crds" / "SOURCES").read_text()
    assert "WARNING: using this project's stand-in AgentgatewayPolicy CRD" in said

    real, said = build(cache, source_tree(tmp_path / "agentgateway-v9.8.7", with_chart=True))
    assert real.parent.name.startswith("crds-real-agw-v9.8.7-src-"), real
    assert "agentgateway: real: local source tree" in (real.parent / "crds" / "SOURCES").read_text()
    assert "WARNING" not in said
    assert real.parent != standin.parent and real.parent.parent == standin.parent.parent  # one set of binaries
    for assets in (real, standin):
        assert all(os.access(assets / b, os.X_OK) for b in ("kube-apiserver", "etcd", "go-httpbin"))

    # Reusing the stand-in directory warns again: every run on it says so.
    again, said = build(cache, tmp_path / "empty-tree")
    assert again == standin
    assert "WARNING: using this project's stand-in AgentgatewayPolicy CRD" in said


def test_the_build_promises_the_time_it_takes():
    # Measured: a cold build takes about 4 minutes on 2 cores (246 s), nearly all of it kube-apiserver.
    text = BUILD.read_text()
    assert "tens of minutes" not in text
    assert "about 4 minutes on 2 cores" in text


def test_the_build_shows_its_progress_and_warning_inside_pytest(cache, pytester, monkeypatch):
    # The build runs while the first scenario sets up, when pytest captures output: its
    # lines must reach the terminal anyway, a stand-in warning included.
    monkeypatch.setenv("AGW_ENVTEST_CACHE", str(cache))
    monkeypatch.setenv("AGW_AGENTGATEWAY_SRC", str(source_tree(pytester.path / "no-chart", with_chart=False)))
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    result = pytester.runpytest_subprocess(str(FEATURES), "-p", "no:cacheprovider", "--target=kubernetes", "--envtest",
                                           "-k", "APIKEY-DOC-001", timeout=600)
    out = result.stdout.str()
    assert result.ret == 0, out[-3000:]
    assert "[envtest build] reusing kube-apiserver" in out
    assert "[envtest build] WARNING: using this project's stand-in AgentgatewayPolicy CRD" in out
    assert "[envtest build] ready:" in out
    assert "Captured stderr" not in out
