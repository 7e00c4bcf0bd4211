"""The programs a benchmark runs: the echo backend, gateways, the naive proxy, nginx.

Each is a real process on a loopback port. When CPUs are set aside for the load
generator, every server here is pinned to the others.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import httpx

from conformance.processes import Program, answers, free_port
from conformance.targets.agentgateway import config as agw_config
from conformance.targets.base import ObjectRef, base_manifest, documents
from conformance.waiting import TIMEOUTS, wait_until

from . import keys as bench_keys

HOST = "www.example.com"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Stack:
    def __init__(self, workdir: Path, server_cpus: str | None):
        self.workdir, self.server_cpus = workdir, server_cpus
        self.programs: list[Program] = []

    def _start(self, name: str, argv: list[str]) -> Program:
        pinned = ["taskset", "-c", self.server_cpus] if self.server_cpus else []
        program = Program(name, pinned + argv, self.workdir)
        self.programs.append(program)
        return program

    def stop(self) -> None:
        for program in reversed(self.programs):
            program.stop()
        self.programs.clear()

    # --- the servers ------------------------------------------------------------------

    def echo(self) -> str:
        port = free_port()
        program = self._start("echo", [sys.executable, "-m", "reference", "echo", "--listen", f"127.0.0.1:{port}"])
        url = f"http://127.0.0.1:{port}"
        program.wait_until(lambda: answers(url + "/status/200"), TIMEOUTS.change, "ready")
        self.echo_port = port
        return url

    def static(self) -> str | None:
        """nginx answering every request itself with a small fixed body (1 worker); None without nginx.

        A backend written in C, so that the proxies in front of it, not the backend, are measured."""
        binary = _nginx()
        if binary is None:
            return None
        directory = self.workdir / "static"
        directory.mkdir()
        port = free_port()
        (directory / "nginx.conf").write_text(STATIC_CONF.format(dir=directory, port=port))
        program = self._start("static", [binary, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(directory / "nginx.conf")])
        url = f"http://127.0.0.1:{port}"
        program.wait_until(lambda: answers(url + "/anything"), TIMEOUTS.change, "ready")
        self.static_port = port
        return url

    def gateway(self, name: str, files: dict[str, str], workers: int = 1, backend_port: int | None = None) -> Gateway:
        """A reference gateway on a manifest directory holding the base objects and `files` (backend: the echo)."""
        directory = self.workdir / name
        directory.mkdir()
        (directory / "base.yaml").write_text(base_manifest("base.yaml"))
        backend = backend_port or self.echo_port
        (directory / "endpoints.yaml").write_text(base_manifest("endpointslice.yaml", address="127.0.0.1", port=str(backend)))
        for filename, text in files.items():
            (directory / filename).write_text(text)
        port, admin = free_port(), free_port()
        program = self._start(name, [sys.executable, "-m", "reference", "serve", "--manifests", str(directory), "--workers", str(workers),
                                     "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}"])
        program.wait_until(lambda: answers(f"http://127.0.0.1:{admin}/healthz/ready"), TIMEOUTS.bench_start, "ready")
        return Gateway(program, directory, f"http://127.0.0.1:{port}")

    def naive(self, backend_port: int | None = None) -> str:
        port = free_port()
        program = self._start("naive", [sys.executable, "-m", "bench.naive_proxy", "--listen", f"127.0.0.1:{port}",
                                        "--upstream", f"http://127.0.0.1:{backend_port or self.echo_port}"])
        url = f"http://127.0.0.1:{port}"
        program.wait_until(lambda: answers(url + "/status/200"), TIMEOUTS.change, "ready")
        return url

    def nginx(self, name: str, keys: list[str], backend_port: int | None = None) -> str | None:
        """nginx in front of the echo, checking `Authorization: Bearer <key>` with a `map`; None without nginx."""
        binary = _nginx()
        if binary is None:
            return None
        directory = self.workdir / name
        directory.mkdir()
        (directory / "keys.map").write_text("".join(f'"Bearer {k}" 1;\n' for k in keys))
        port = free_port()
        (directory / "nginx.conf").write_text(NGINX_CONF.format(dir=directory, port=port, echo=backend_port or self.echo_port))
        program = self._start(name, [binary, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(directory / "nginx.conf")])
        url = f"http://127.0.0.1:{port}"
        program.wait_until(lambda: _status(url, keys[0]) == 200, TIMEOUTS.change, "ready")
        return url


    def agentgateway(self, binary: str, key: str, backend_port: int) -> str:
        """The real agentgateway proxy with the same Strict one-key policy, configured by the suite's translation."""
        texts = [base_manifest("base.yaml"), base_manifest("endpointslice.yaml", address="127.0.0.1", port=str(backend_port)),
                 *key_files([key]).values()]
        objects = {ObjectRef.of(doc): doc for text in texts for doc in documents(text)}
        ports = agw_config.Ports({k: free_port("0.0.0.0") for k in agw_config.listener_ports(objects)},
                                 admin=free_port(), stats=free_port(), readiness=free_port())
        config = self.workdir / "agentgateway.yaml"
        config.write_text(agw_config.render(agw_config.translate(objects, ports).config))
        program = self._start("agentgateway", [binary, "-f", str(config)])
        url = f"http://127.0.0.1:{next(iter(ports.listeners.values()))}"
        program.wait_until(lambda: _status(url, key) == 200, TIMEOUTS.bench_start, "ready")
        return url


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of every process in the session `pid` leads (a server and its children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # After the command: state, ppid, pgrp, session, ..., utime (12th), stime (13th).
        if int(fields[3]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class Gateway:
    def __init__(self, program: Program, directory: Path, url: str):
        self.program, self.directory, self.url = program, directory, url

    @property
    def pid(self) -> int:
        # `taskset` execs the program, so the pid is the gateway's own.
        return self.program.proc.pid

    def write(self, filename: str, text: str) -> None:
        """Replace a manifest file in one step, as the conformance target does."""
        tmp = self.directory / f".{filename}.tmp"
        tmp.write_text(text)
        tmp.replace(self.directory / filename)

    def remove(self, filename: str) -> None:
        (self.directory / filename).unlink()

    def wait_for(self, key: str | None, status: int, timeout: float = TIMEOUTS.bench_start, interval: float = 0.005) -> float:
        """Seconds until a request with `key` gets `status` (asked every `interval`, which is
        how precisely it is measured); raise TimeoutError after `timeout`."""
        start = time.monotonic()
        with httpx.Client(timeout=TIMEOUTS.api_request) as client:
            wait_until(lambda: _status(self.url, key, client) == status, timeout,
                       f"{self.url}: no {status} for the key within {timeout:g} s", interval=interval)
        return time.monotonic() - start


def _status(url: str, key: str | None, client: httpx.Client | None = None) -> int:
    headers = {"host": HOST, **({"authorization": f"Bearer {key}"} if key else {})}
    try:
        return (client or httpx).get(url + "/anything", headers=headers, timeout=TIMEOUTS.api_request).status_code
    except httpx.HTTPError:
        return 0


def key_files(keys: list[str], prefix: str = "bench-keys") -> dict[str, str]:
    """The policy and Secrets for `keys`, as manifest files."""
    files = {f"{name}.yaml": text for name, text in bench_keys.secrets(keys, prefix).items()}
    files["policy.yaml"] = bench_keys.POLICY
    return files


# What every nginx here shares: one worker in the foreground, its files in its own directory.
_NGINX_HEAD = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
"""

NGINX_CONF = _NGINX_HEAD + """    map_hash_max_size 400000;
    map_hash_bucket_size 128;
    map $http_authorization $api_key_ok {{
        default 0;
        include {dir}/keys.map;
    }}
    upstream echo {{
        server 127.0.0.1:{echo};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            if ($api_key_ok = 0) {{
                return 401 "api key authentication failure\\n";
            }}
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""

STATIC_CONF = _NGINX_HEAD + """    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type application/json;
            return 200 '{{"ok": true}}\n';
        }}
    }}
}}
"""
