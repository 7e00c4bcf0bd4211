"""`agw-reference` refuses values that cannot work, before it starts: one line, usage exit code."""

import socket
import subprocess
import sys

import pytest


@pytest.mark.parametrize("args, says", [
    (["--listen", "127.0.0.1:99999"], "port 99999 in '127.0.0.1:99999' is out of range"),
    (["--admin", "127.0.0.1:65536"], "port 65536 in '127.0.0.1:65536' is out of range"),
    (["--poll-interval", "0"], "--poll-interval: must be more than 0: '0'"),
    (["--poll-interval", "-1"], "--poll-interval: must be more than 0: '-1'"),
    (["--poll-interval", "nan"], "--poll-interval: must be more than 0: 'nan'"),
    (["--listen", "fd:x"], "expected fd:N with N an open file descriptor above 2, got 'fd:x'"),
    (["--listen", "fd:1"], "expected fd:N with N an open file descriptor above 2, got 'fd:1'"),
])
def test_values_that_cannot_work_are_a_usage_error(tmp_path, args, says):
    done = subprocess.run([sys.executable, "-m", "reference", "serve", "--manifests", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr


def test_a_descriptor_that_is_not_a_listening_socket_says_so(tmp_path):
    with socket.socket() as unbound:  # a socket, but not listening
        fd = unbound.fileno()
        done = subprocess.run([sys.executable, "-m", "reference", "serve", "--manifests", str(tmp_path), "--listen", f"fd:{fd}"],
                              capture_output=True, text=True, timeout=30, pass_fds=[fd])
    assert done.returncode == 3, done.stderr
    assert f"cannot listen on fd:{fd}: not a listening stream socket" in done.stderr and "Traceback" not in done.stderr


def test_a_listening_socket_handed_over_is_served_on(tmp_path):
    # What the harness does for the reference and the echo backend: bind once, hand the socket
    # over, so no other run can take the port between choosing it and the child binding it.
    import httpx

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    echo = subprocess.Popen([sys.executable, "-m", "reference", "echo", "--listen", f"fd:{sock.fileno()}"],
                            pass_fds=[sock.fileno()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock.close()
    try:
        for _ in range(200):
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/status/200", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                echo.wait(0.05) if echo.poll() is not None else __import__("time").sleep(0.05)
        else:
            raise AssertionError("the echo backend did not serve on the socket it was handed")
    finally:
        echo.terminate()
        echo.wait(10)
