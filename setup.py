"""The build steps pyproject.toml cannot declare; the project's metadata is there.

An installed suite runs from any directory with nothing else at hand (conformance/locations.py),
so the wheel carries, inside the `conformance` package:

- `features/` and `clusters/`: the files git tracks there (from an sdist, every file it
  holds: it was made from those). They are mapped as the packages `conformance.features`
  and `conformance.clusters`, so the sdist and the wheel both take them, and the repository
  keeps them at its top, where `pytest features/` finds them;
- `pytest.ini`: pyproject.toml's `[tool.pytest.ini_options]`, which an installed copy has no
  pyproject.toml to read from (`testpaths` left out: it names `tests/`, which is not shipped);
- `_build_info.py`: the commit the files were taken from (conformance/provenance.py), which
  an installed copy has no git to ask. The sdist carries it too, so that a wheel built from
  the sdist still knows it. An editable install writes neither: it reads both from the checkout.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
SHIPPED = {"conformance.features": "features", "conformance.clusters": "clusters"}


def _provenance():
    # Loaded by its path: importing the `conformance` package needs the suite's dependencies.
    spec = importlib.util.spec_from_file_location("_agw_provenance", HERE / "conformance" / "provenance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


provenance = _provenance()


def files_of(directory: str) -> list[str]:
    """The files of `directory` to ship, relative to it: git's list in a checkout, else all of them."""
    if provenance.git_commit(HERE) is not None:
        listed = subprocess.run(["git", "-C", str(HERE), "ls-files", "-z", "--", directory],
                                capture_output=True, text=True, check=True).stdout
        paths = [Path(p).relative_to(directory) for p in listed.split("\0") if p]
    else:
        paths = [(Path(top) / name).relative_to(HERE / directory)
                 for top, _, names in os.walk(HERE / directory) for name in names if "__pycache__" not in top]
    # A module at the top of a mapped directory is the package's own (build_py takes it); the rest is data.
    return sorted(str(p) for p in paths if not (p.suffix == ".py" and len(p.parts) == 1))


def build_commit() -> str:
    commit = provenance.git_commit(HERE) or provenance.recorded_commit(HERE / "conformance" / provenance.BUILD_INFO)
    if commit is None:
        print(f"WARNING: {HERE} is neither a git checkout nor an sdist with conformance/{provenance.BUILD_INFO}: "
              f"this build's reports will say suiteCommit: {provenance.UNKNOWN}", file=sys.stderr)
    return commit or provenance.UNKNOWN


def pytest_ini() -> str:
    options = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    lines = ["# pyproject.toml's [tool.pytest.ini_options], written by the build (setup.py)", "[pytest]"]
    for key, value in options.items():
        if key == "testpaths":
            continue
        # A list is one item a line, which pytest reads for its line lists and its argument lists (addopts) alike.
        lines.append(f"{key} =" + "".join(f"\n    {item}" for item in value) if isinstance(value, list) else f"{key} = {value}")
    return "\n".join(lines) + "\n"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib) / "conformance"
        (package / provenance.BUILD_INFO).write_text(provenance.build_info(build_commit()))
        (package / "pytest.ini").write_text(pytest_ini())

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        package = Path(self.build_lib) / "conformance"
        generated = [] if self.editable_mode else [str(package / provenance.BUILD_INFO), str(package / "pytest.ini")]
        return [*super().get_outputs(include_bytecode), *generated]


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        path = Path(base_dir) / "conformance" / provenance.BUILD_INFO
        path.unlink(missing_ok=True)  # the release tree holds hard links to the sources: never write through one
        path.write_text(provenance.build_info(build_commit()))


setup(
    packages=[*find_packages(include=["agwmodel", "agwmodel.*", "reference", "reference.*", "conformance", "conformance.*"]), *SHIPPED],
    package_dir=SHIPPED,
    package_data={"conformance": ["manifests/*.yaml", "schema/*.json"], **{name: files_of(path) for name, path in SHIPPED.items()}},
    # The data is listed above, file by file; the sdist's manifest must not add to it (nor take the
    # directories under clusters/ for packages, which setuptools warns about when it reads one).
    include_package_data=False,
    cmdclass={"build_py": BuildPy, "sdist": Sdist},
)
