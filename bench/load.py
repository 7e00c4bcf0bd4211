"""Load generation with wrk, and reading its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int  # non-2xx/3xx responses plus socket errors of every kind


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse(report: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))
    requests = int(re.search(r"(\d+) requests in", report).group(1))
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", report).group(1))
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", report).group(1))
    failed = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    if non_2xx:
        failed += int(non_2xx.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return Result(rps, p50, p99, requests, failed)


class Wrk:
    """Runs wrk with the benchmark's headers, pinned to `cpus` when given."""

    def __init__(self, workdir: Path, host: str, key: str | None, cpus: str | None):
        self.binary = shutil.which("wrk")
        self.cpus = cpus
        self.script = workdir / "headers.lua"
        lines = [f'wrk.headers["Host"] = "{host}"']
        if key is not None:
            lines.append(f'wrk.headers["Authorization"] = "Bearer {key}"')
        self.script.write_text("\n".join(lines) + "\n")

    def command(self, url: str, connections: int, seconds: float) -> list[str]:
        threads = 1 if self.cpus and "," not in self.cpus and "-" not in self.cpus else min(2, connections)
        argv = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s",
                "-s", str(self.script), url]
        return (["taskset", "-c", self.cpus] if self.cpus else []) + argv

    def run(self, url: str, connections: int, seconds: float) -> Result:
        out = subprocess.run(self.command(url, connections, seconds), capture_output=True, text=True, check=True)
        return parse(out.stdout)

    def start(self, url: str, connections: int, seconds: float) -> subprocess.Popen:
        """Load in the background (for churn and revocation); read it with `finish`."""
        return subprocess.Popen(self.command(url, connections, seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def finish(proc: subprocess.Popen) -> Result:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"wrk failed: {err.strip()}")
        return parse(out)
