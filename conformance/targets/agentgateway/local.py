"""The real agentgateway proxy, run as a local program with a configuration file we write.

No Kubernetes and no controller: the target keeps the applied objects itself, translates
all of them into one local configuration (`config`, our translation, documented
there) on every change, and writes it where the proxy watches it.

How a change is put in force. The proxy watches its `-f` file (a filesystem watcher,
debounced 250 ms; `LocalClient::watch_config_file` in upstream `state_manager.rs`),
re-reads the whole file and swaps every bind, route, policy and backend in one store
update (`binds::Store::sync_local`). Each written configuration carries a marker backend
with a name used once (a random run id and a write counter: nothing derived from the
content, which holds keys); after writing, the target polls the admin `config_dump`
until that marker is there, so the proxy is known to run exactly what was written, and
never sleeps for a fixed time. A file the proxy refuses leaves its previous
configuration in force and logs `Failed to reload config: ...`; the target sees that line
in the proxy's log, restores the previous objects and file, and raises `ProxyRejected`
with the proxy's words.

What is reported how. A manifest the translation cannot express raises `Untranslatable`;
a translated configuration the proxy refuses raises `ProxyRejected`. Neither is `Refused`:
`Refused` means an API server rejected a manifest, and there is no API server here (so
`ManifestValidation` is not supported). Both make the scenario fail with the reason,
rather than be skipped or pass, so what the product refuses stays visible. In both cases
the objects of that manifest are not kept, as after a refused apply.

What the scenarios prove. The proxy decides modes, extraction, comparison, credential
removal, refusals and policy precedence. Resolving Secrets and ConfigMaps into keys is the
controller's job, done here by the translation: features that are nothing but that
(`FailClosed`, `ConfigMapKeys`), and the ReferenceGrant checks of
`CrossNamespaceBackends`, are reported as provisional, run but not counted.
The docs page's check that the Secret holds the generated key is not made here (see
`KEYS_NOT_SHOWN`): the proxy shows no form of the keys it loaded, and the file this target
wrote says only what was sent. The scenario records the check as not made.

The admin, stats and readiness servers are put on free loopback ports through the file's
`config:` section (read once at start-up), so parallel runs do not collide.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from ...processes import Program, answers, free_port
from ...profiles import FEATURES
from ...waiting import POLL, TIMEOUTS, wait_until
from ..base import NotShown, ObjectRef, Refused, documents
from ..local import LocalTarget
from ..reference import as_api_server_returns
from . import config as agw_config
from .builds import PROXY_BUILD, binary_version, run_build
from .config import Untranslatable

__all__ = ["AgentgatewayLocalTarget", "ProxyRejected", "Untranslatable", "UNSUPPORTED"]

# Features this target cannot offer, and why. Everything else in `features.FEATURES` is
# the proxy's own behaviour, reached through the translation.
UNSUPPORTED: dict[str, str] = {
    "PolicyStatus": "no controller runs, so nothing writes AgentgatewayPolicy status",
    "ManifestValidation": "no API server validates manifests against the CRDs",
    "CORS": "traffic.cors is not translated into the local configuration",
    # The product implements Override, but a policy in the local configuration has no
    # inheritance field (every one gets the default); see docs/real-agentgateway.md.
    "PolicyInheritance": "the local configuration cannot carry strategy.inheritance",
    # local.rs builds every listener with listener_set: None, and a local policy target names
    # a gateway, listener or route, never a ListenerSet.
    "ListenerSetTargets": "the local configuration has no ListenerSets: a listener cannot belong to one, nor a policy target it",
}

# Features whose whole behaviour is the controller's, so here it is our translation's, not the
# product's: their scenarios run, and the report lists them without counting them as passed.
PROVISIONAL: dict[str, str] = {
    "FailClosed": "resolving Secrets is the controller's job, done here by this suite's translation",
    "ConfigMapKeys": "reading ConfigMaps is the controller's job, done here by this suite's translation",
    "CrossNamespaceBackends": "checking ReferenceGrants is the controller's job, done here by this suite's translation",
}

# Why this target cannot show which keys the proxy loaded: the proxy's admin `/config_dump`
# redacts them (`ser_redact` on an API key policy's `users`), and the only other record is the
# configuration file this target wrote, which says what was sent, not what was loaded.
KEYS_NOT_SHOWN = ("the agentgateway proxy's admin config_dump redacts API keys, and the only other record of them is "
                  "the configuration file this target wrote")

BASE_GATEWAY = ("agentgateway-system", "agentgateway-proxy", 80)
BASE_ROUTE = ("httpbin", "httpbin")
# Environment variables that would override the file's configuration of the proxy.
_OVERRIDES = ("ADMIN_ADDR", "STATS_ADDR", "READINESS_ADDR", "XDS_ADDRESS", "LOCAL_XDS_PATH", "CA_ADDRESS",
              "NAMESPACE", "GATEWAY", "IPV6_ENABLED", "CONFIG_STORAGE_MODE")
_RELOAD_FAILED = "Failed to reload config"


class ProxyRejected(RuntimeError):
    """The proxy refused the configuration translated from the applied manifests."""


class AgentgatewayLocalTarget(LocalTarget):
    name = "agentgateway-local"
    supported_features = frozenset(FEATURES) - frozenset(UNSUPPORTED)
    unsupported_reasons = UNSUPPORTED
    provisional_features = PROVISIONAL
    # `apply` and `delete` return once the proxy's /config_dump holds the new configuration's
    # marker, and the proxy routes every request by the configuration its store holds.
    confirms_changes = True

    def __init__(self, binary: str, echo_command: str | None = None, workdir: Path | None = None, timeout: float = TIMEOUTS.change):
        super().__init__(echo_command, workdir, timeout)
        self.binary = binary
        self.proxy: Program | None = None
        self.ports: agw_config.Ports | None = None
        self.notes: list[str] = []
        self._listener_ports: dict[agw_config.ListenerKey, int] = {}
        self._written = ""
        self._marker = ""
        self._config: dict = {}
        self._run = uuid.uuid4().hex[:12]
        self._generation = 0

    @classmethod
    def from_options(cls, config: pytest.Config) -> AgentgatewayLocalTarget:
        binary = config.getoption("agentgateway_binary") or _build_from_source()
        _check_binary(binary)
        return cls(binary, echo_command=config.getoption("reference_command"), timeout=config.getoption("convergence_timeout"))

    # --- lifecycle --------------------------------------------------------------------

    def product_version(self) -> str | None:
        return binary_version(self.binary)

    def versions(self) -> dict[str, str]:
        return {"agentgateway": binary_version(self.binary)}

    def start(self) -> None:
        self.config_file = self._open_workdir("agw-local-") / "config.yaml"
        echo = self._start_echo()
        self._listener_ports[BASE_GATEWAY] = free_port("0.0.0.0")
        # Ports holds this dict itself: ports chosen later for new Gateway listeners show in it.
        self.ports = agw_config.Ports(self._listener_ports, admin=free_port(), stats=free_port(), readiness=free_port())
        self._config = agw_config.translate(self.objects, self.ports).config
        self._marker = self._next_marker()
        self._write(agw_config.render(agw_config.with_marker(self._config, self._marker)))
        env = {k: v for k, v in os.environ.items() if k not in _OVERRIDES}
        self.proxy = Program("agentgateway", [self.binary, "-f", str(self.config_file)], self.workdir, env)
        self.programs.append(self.proxy)
        self._echo_ready(echo)
        self.proxy.wait_until(lambda: answers(f"http://127.0.0.1:{self.ports.readiness}/healthz/ready"), self.timeout, "ready")
        self.proxy.wait_until(lambda: self._in_force(self._marker), self.timeout, "serving its first configuration")

    @property
    def gateway_url(self) -> str:
        if self.ports is None:
            return ""
        ports = agw_config.route_ports(self.objects, self.ports, *BASE_ROUTE) or [self._listener_ports[BASE_GATEWAY]]
        return f"http://127.0.0.1:{ports[0]}"

    # --- configuration ----------------------------------------------------------------

    def apply(self, manifest: str) -> list[ObjectRef]:
        docs = documents(manifest)
        for doc in docs:
            if not isinstance(doc, dict):
                raise Refused("a manifest document must be a mapping", reason=Refused.INVALID)
        previous = dict(self.objects)
        refs = []
        for doc in docs:
            ref = ObjectRef.of(doc)
            self.objects[ref] = doc
            refs.append(ref)
        self._put_in_force(previous)
        return refs

    def delete(self, ref: ObjectRef) -> None:
        self.delete_all([ref])

    def delete_all(self, refs: list[ObjectRef]) -> None:
        # One configuration without all of them: one reload of the proxy, not one per object.
        previous = dict(self.objects)
        for ref in refs:
            self.objects.pop(ref, None)
        if self.objects != previous:
            self._put_in_force(previous)

    def get(self, ref: ObjectRef) -> dict | None:
        doc = self.objects.get(ref)
        return as_api_server_returns(doc) if doc is not None else None

    def policy_status(self, namespace: str, name: str) -> dict | None:
        return None  # no controller writes status

    def loaded_key_digests(self, ref: ObjectRef) -> dict[str, str] | None:
        raise NotShown(KEYS_NOT_SHOWN)

    # --- helpers ----------------------------------------------------------------------

    def _put_in_force(self, previous: dict[ObjectRef, dict]) -> None:
        """Translate every object, write the file, wait until the proxy runs it.

        On any failure the objects and the file go back to what they were."""
        last_text, last_marker, last_config = self._written, self._marker, self._config
        try:
            for key in agw_config.listener_ports(self.objects):
                if key not in self._listener_ports:
                    self._listener_ports[key] = free_port("0.0.0.0")
            translation = agw_config.translate(self.objects, self.ports)
            self.notes = translation.notes
            if translation.config != self._config:
                marker = self._next_marker()
                offset = self._log_size()
                self._write(agw_config.render(agw_config.with_marker(translation.config, marker)))
                self._wait_in_force(marker, offset)
                self._config, self._marker = translation.config, marker
        except BaseException as exc:
            self.objects = previous
            if self._written != last_text:
                self._write(last_text)
                try:
                    self._wait_in_force(last_marker, self._log_size())
                except Exception as again:  # noqa: BLE001 -- the first failure is the one to report
                    exc.add_note(f"restoring the previous configuration failed too: {again}")
            self._config = last_config
            raise

    def _next_marker(self) -> str:
        self._generation += 1
        return f"agw-conformance-{self._run}-{self._generation:08d}"  # fixed width: no marker is a prefix of another

    def _write(self, text: str) -> None:
        # Write beside the file and rename, so the proxy never reads half a configuration.
        tmp = self.config_file.with_name(f".{self.config_file.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_file)
        self._written = text

    def _log_size(self) -> int:
        try:
            return self.proxy.log.stat().st_size if self.proxy else 0
        except OSError:
            return 0

    def _reload_error(self, offset: int) -> str | None:
        try:
            with open(self.proxy.log, "rb") as fh:
                fh.seek(offset)
                new = fh.read().decode("utf-8", "replace")
        except OSError:
            return None
        for line in new.splitlines():
            if _RELOAD_FAILED in line:
                return line[line.index(_RELOAD_FAILED):]
        return None

    def _in_force(self, marker: str) -> bool:
        try:
            response = self.control_get(f"http://127.0.0.1:{self.ports.admin}/config_dump", timeout=TIMEOUTS.admin_poll)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and marker in response.text

    def _wait_in_force(self, marker: str, offset: int) -> None:
        def still_coming() -> None:
            # The proxy exited, or it refused the configuration: it will never be in force.
            if self.proxy is not None:
                self.proxy.exited_before("the new configuration was in force")
            error = self._reload_error(offset)
            if error is not None:
                raise ProxyRejected(f"agentgateway refused the configuration translated from the applied manifests: {error}")

        wait_until(lambda: self._in_force(marker), self.timeout,
                   lambda: f"agentgateway did not put the new configuration in force within {self.timeout:g} s:\n{self.proxy.tail()}",
                   interval=POLL.gateway_admin, alive=still_coming)


def _build_from_source() -> str:
    """The proxy binary built by clusters/agentgateway/build.sh from AGW_AGENTGATEWAY_SRC."""
    if not os.environ.get("AGW_AGENTGATEWAY_SRC"):
        raise pytest.UsageError(
            "--target=agentgateway-local needs the agentgateway proxy binary: pass --agentgateway-binary PATH, "
            "or set AGW_AGENTGATEWAY_SRC to an agentgateway source tree (v1.4.1) to build it with clusters/agentgateway/build.sh"
        )
    if not PROXY_BUILD.is_file():
        raise pytest.UsageError(f"AGW_AGENTGATEWAY_SRC is set, but {PROXY_BUILD} is missing (it is in the source checkout of this suite); "
                                "pass --agentgateway-binary PATH instead")
    try:
        return str(run_build(PROXY_BUILD))
    except RuntimeError as exc:
        raise pytest.UsageError(f"building agentgateway: {exc}") from None


def _check_binary(binary: str) -> None:
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise pytest.UsageError(f"--agentgateway-binary {binary}: not an executable file")
    try:
        subprocess.run([binary, "--version"], capture_output=True, timeout=TIMEOUTS.command, check=True, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise pytest.UsageError(f"--agentgateway-binary {binary}: does not run as agentgateway ({type(exc).__name__}: {exc})") from None


