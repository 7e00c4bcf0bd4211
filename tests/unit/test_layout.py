"""The package boundaries the layout promises: the harness and the reference gateway never
import each other, and the manifest model both read imports neither."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"conformance": {"reference"}, "reference": {"conformance"}, "agwmodel": {"conformance", "reference"}}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_it_must_not(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported(path) & FORBIDDEN[package]) for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
