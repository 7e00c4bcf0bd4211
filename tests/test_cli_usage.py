"""`agw-reference` refuses values that cannot work, before it starts: one line, usage exit code."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args, says", [
    (["--listen", "127.0.0.1:99999"], "port 99999 in '127.0.0.1:99999' is out of range"),
    (["--admin", "127.0.0.1:65536"], "port 65536 in '127.0.0.1:65536' is out of range"),
    (["--poll-interval", "0"], "--poll-interval: must be more than 0: '0'"),
    (["--poll-interval", "-1"], "--poll-interval: must be more than 0: '-1'"),
    (["--poll-interval", "nan"], "--poll-interval: must be more than 0: 'nan'"),
])
def test_values_that_cannot_work_are_a_usage_error(tmp_path, args, says):
    done = subprocess.run([sys.executable, "-m", "reference", "serve", "--manifests", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
