"""Secret hygiene across a whole run of the feature files, with the reference gateway (and
its echo backend) at debug level: no configured key may appear in the gateway's logs, its
config dumps and policy status, its own error answers, the conformance report, or the
run's output.

Every key each scenario configured is collected from the scenarios themselves (see
`hygiene_plugin.py`); the scan looks for each one, raw, as it was stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .parts import leaks

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHORTEST = 8  # shorter values (the odd-credential scenarios' "k") match anything by chance


def test_no_key_appears_anywhere_after_a_whole_suite_run(tmp_path, capsys):
    report = tmp_path / "report.yaml"
    env = {**os.environ, "AGW_HYGIENE_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "-p", "reliability.hygiene_plugin",
         "--reference-command", f"{sys.executable} {HERE / 'keep_logs.py'} {tmp_path}", "--conformance-report", str(report)],
        cwd=ROOT, env=env, capture_output=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:]
    keys = {k for k in json.loads((tmp_path / "keys.json").read_text()) if len(k) >= SHORTEST}
    gateway_logs = sorted(tmp_path.glob("serve-*.log"))
    assert len(keys) >= 20 and gateway_logs, (len(keys), gateway_logs)
    texts = {p.name: p.read_bytes() for p in gateway_logs}
    texts |= {name: (tmp_path / name).read_bytes() for name in ("admin.txt", "answers.txt")}
    texts |= {"the conformance report": report.read_bytes(), "the run's output": done.stdout + done.stderr}
    assert b"DEBUG" in b"".join(p.read_bytes() for p in gateway_logs), "the gateway did not log at debug level"
    with capsys.disabled():
        print(f"\nsecret hygiene: {len(keys)} configured keys scanned for in {len(texts)} texts "
              f"({sum(len(t) for t in texts.values())} bytes: {len(gateway_logs)} gateway logs at debug level, "
              "config dumps and status, error answers, the report, the run's output)")
    assert leaks(texts, keys) == []


def test_the_scan_finds_a_key_and_names_only_where():
    found = leaks({"a log": b"... Bearer secret-value-123 ...", "clean": "nothing here"}, {"secret-value-123", "absent-key-456"})
    assert found == ["a configured key (16 characters) appears in a log"]
