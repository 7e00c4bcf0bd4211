"""The tests of the suite itself, by kind.

- `unit/`: one module at a time, in process, no programs started.
- `integration/`: real programs on loopback (the reference gateway, its echo backend, a
  kube-apiserver on envtest, the real proxy), driven through their interfaces.
- `e2e/`: `pytest features/` run as a user runs it, judged by what it prints and writes.
- `reliability/`: the gateway under hostile input, faults and load.

`helpers.py` holds what they share; this file puts it on the import path. Markers say what
a test needs beyond Python: `needs_go`, `needs_chromium`, `needs_proxy` (the agentgateway
binary), `needs_envtest` (a kube-apiserver built from Go modules), so a machine without
them can deselect them by name (`-m "not needs_go"`).
"""

import helpers
import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if helpers.BINARY is not None:
        return
    why = pytest.mark.skip(reason="no agentgateway binary: set AGW_AGENTGATEWAY_BINARY or build one with clusters/agentgateway/build.sh")
    for item in items:
        if item.get_closest_marker("needs_proxy"):
            item.add_marker(why)
