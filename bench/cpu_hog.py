"""Keep every CPU busy for a while, to see how a run behaves on a loaded machine.

One busy-loop process per CPU, each in its own process group and asked to die with the
process that started it (`conformance.processes.Program`), so that none outlives
the command: not when the block ends, not on Ctrl-C or an error, and not when the command
itself is killed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from conformance.processes import Program, stop_all

_SPIN = "while True:\n    pass\n"


def cpus() -> int:
    """The CPUs this process may run on (its affinity), which is what a run competes for."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextlib.contextmanager
def cpu_hog(processes: int | None = None) -> Iterator[list[int]]:
    """Busy loops, one per CPU unless told otherwise, for the duration of the block; their pids."""
    count = cpus() if processes is None else processes
    programs: list[Program] = []
    with tempfile.TemporaryDirectory(prefix="agw-cpu-hog-") as logdir:
        try:
            for n in range(count):
                programs.append(Program(f"cpu-hog-{n}", [sys.executable, "-c", _SPIN], Path(logdir)))
            yield [p.proc.pid for p in programs]
        finally:
            stop_all(programs)
