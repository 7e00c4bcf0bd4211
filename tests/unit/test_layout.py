"""The package boundaries the layout promises, and the layers inside the harness.

Between packages: the harness and the reference gateway never import each other, the
manifest model both read imports neither, and none of the three imports `bench`, which
stands on the harness to measure it.

Inside `conformance`, every module belongs to one layer and imports only from its own
layer or those below it, so that an arrow never runs back up. Bottom to top:

0. basics: where files are (`locations`, `buildscripts`), what the suite is (`provenance`,
   `pages`, `profiles`), the feature files as written (`feature_files`) and what pytest-bdd
   does not yet offer publicly (`pytest_bdd_gaps`), the names of the deployment under test
   (`deployment`), HTTP requests and responses (`http`, `places`, `convergence`), waiting
   (`waiting`), local programs (`processes`), masking keys (`masking`) and the reliability
   probes (`reliability`). Anything may use them; they use nothing above.
1. the control plane: a kube-apiserver and etcd of our own (`controlplane`).
2. targets: the deployments a run can test (`targets`), some on the control plane.
3. the run: what a scenario does and what is written down of it (`world`, `steps`,
   `trace`, the reports and their tables, the option list), and how the feature files
   become pytest items (`binding`).
4. entry points: the pytest plugin, the command line and the package's public names
   (`conformance/__init__.py`).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "conformance": {"reference", "bench"},
    "reference": {"conformance", "bench"},
    "agwmodel": {"conformance", "reference", "bench"},
}

# Layer of each part of the harness, by dotted name (a package stands for all its modules).
LAYERS = {
    "conformance.locations": 0, "conformance.buildscripts": 0, "conformance.provenance": 0, "conformance.pages": 0,
    "conformance.profiles": 0, "conformance.http": 0, "conformance.places": 0, "conformance.convergence": 0,
    "conformance.waiting": 0, "conformance.processes": 0, "conformance.masking": 0, "conformance.reliability": 0,
    "conformance.feature_files": 0, "conformance.pytest_bdd_gaps": 0, "conformance.deployment": 0,
    "conformance.controlplane": 1,
    "conformance.targets": 2,
    "conformance.world": 3, "conformance.steps": 3, "conformance.trace": 3, "conformance.inventory": 3,
    "conformance.report": 3, "conformance.report_html": 3, "conformance.report_dir": 3, "conformance.compare": 3,
    "conformance.options": 3, "conformance.option_list": 3, "conformance.tables": 3, "conformance.binding": 3,
    "conformance.plugin": 4, "conformance.cli": 4, "conformance": 4,
}


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


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path) -> set[str]:
    """Dotted names of the modules `path` imports, wherever in it the import is written,
    with relative imports resolved and `from package import module` read as the module."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            for alias in node.names:
                names.add(f"{module}.{alias.name}" if is_module(f"{module}.{alias.name}") else module)
    return names


def layer(dotted: str) -> int | None:
    """The layer of a module: its own, or that of the nearest package below the top one
    that is named (the top package's entry is its `__init__.py` alone)."""
    if dotted in LAYERS:
        return LAYERS[dotted]
    while "." in dotted:
        dotted = dotted.rpartition(".")[0]
        if "." in dotted and dotted in LAYERS:
            return LAYERS[dotted]
    return None


HARNESS = sorted((ROOT / "conformance").rglob("*.py"))


def test_every_harness_module_has_a_layer():
    assert [module_name(path) for path in HARNESS if layer(module_name(path)) is None] == []


def test_no_harness_module_imports_one_above_it():
    upward = {}
    for path in HARNESS:
        own = layer(module_name(path))
        above = sorted(m for m in imported_modules(path) if m.startswith("conformance") and (layer(m) or 0) > own)
        if above:
            upward[str(path.relative_to(ROOT))] = above
    assert upward == {}
