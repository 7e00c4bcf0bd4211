"""The docs pages' own commands: each either run as the page runs it, or done as it does.

A page's step carries the page's command as its docstring, verbatim, so the feature file
holds every command of the page (tests/unit/test_docs_pages.py) and the step does what the
command does:

- the hash command runs through `sh`, the shell the page's `sh` blocks are written for;
- `curl` commands are read into the request the suite sends (address, path, headers), and
  every tab's command must make the same request;
- `kubectl delete` and `kubectl get` act on the target as kubectl would on a cluster,
  including kubectl's error for a missing object unless `--ignore-not-found` is given.

Nothing here shows a key: failure messages go through the world's redaction, and the
hash command's output is a hash, never the key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
import subprocess
from dataclasses import dataclass, replace

from pytest_bdd import given, parsers, then, when

from agwmodel.entries import InvalidEntry, read_entry

from ..http import Request
from ..targets.base import NotShown, ObjectRef
from ..waiting import TIMEOUTS
from ..world import World
from .manifests import in_deployment, named_kinds
from .requests import request_with_key_at

_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


def _commands(text: str | None, step: str) -> list[str]:
    """The shell commands of a docstring: one per line, a trailing backslash continuing it."""
    assert text, f"the step '{step}' needs the page's command as a docstring"
    return [c.strip() for c in re.sub(r"\\\n", " ", text).splitlines() if c.strip()]


# --- generating a key's hash ------------------------------------------------------------

def _run_hash_command(world: World, step: str, command: str) -> str:
    try:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=TIMEOUTS.page_command,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise world.fail(f"the step '{step}' could not run its command through sh: {type(exc).__name__}: {exc}") from None
    output = done.stdout.strip()
    if done.returncode != 0 or not _HASH.match(output):
        # The output of a hash command is a hash (or an error), never the key; redacted all the same.
        raise world.fail(f"the page's command exited with {done.returncode} and printed {output[:100]!r} "
                         f"(stderr {done.stderr.strip()[:200]!r}), not one sha256:<hex> hash")
    return output


_EXACT = "I generate a sha256:<hex> hash of the API key, computed over the exact key bytes without a trailing newline"
_NEWLINE = "I generate a hash of the API key with a trailing newline, as echo adds one"


@given(_EXACT)
@when(_EXACT)
def hash_exact_bytes(world: World, docstring: str | None) -> None:
    (command,) = _commands(docstring, _EXACT)
    assert world.api_key is not None, "no API key was generated in this scenario"
    output = _run_hash_command(world, _EXACT, command)
    # The page's command must give the hash the gateway computes of the key a client sends.
    if output != "sha256:" + hashlib.sha256(world.api_key.encode()).hexdigest():
        raise world.fail(f"the page's command printed {output}, which is not the SHA-256 of the API key's exact bytes")
    world.key_hashes.append(output)


@when(_NEWLINE)
def hash_with_newline(world: World, docstring: str | None) -> None:
    (command,) = _commands(docstring, _NEWLINE)
    assert world.api_key is not None, "no API key was generated in this scenario"
    output = _run_hash_command(world, _NEWLINE, command)
    if output != "sha256:" + hashlib.sha256(world.api_key.encode() + b"\n").hexdigest():
        raise world.fail(f"the command printed {output}, which is not the SHA-256 of the API key followed by a newline")
    world.key_hashes.append(output)


@then("that hash is not the hash of the exact key bytes")
def hash_differs(world: World) -> None:
    assert len(world.key_hashes) >= 2, "the scenario generated fewer than two hashes"
    assert world.key_hashes[-1] != world.key_hashes[0], "the hash of the key with a trailing newline equals the hash of the key"


def _store(world: World, kind: str, name: str) -> dict:
    found = [d for d in world.stores if d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name]
    assert found, f"this scenario applied no {kind} named {name!r}"
    return found[-1]  # the last version applied


def _entries(doc: dict) -> dict[str, bytes]:
    values = {str(k): str(v).encode() for k, v in (doc.get("stringData") or {}).items()}
    for k, v in (doc.get("data") or {}).items():
        values[str(k)] = base64.b64decode(str(v)) if doc.get("kind") == "Secret" else str(v).encode()
    return values


@then(parsers.parse('the ConfigMap "{name}" holds, as a keyHash entry, the hash I generated last'))
def config_map_holds_hash(world: World, name: str) -> None:
    """The page's ConfigMap carries the hash its own command printed (read as the controller reads entries)."""
    assert world.key_hashes, "no hash was generated in this scenario"
    hashes = set()
    for raw in _entries(_store(world, "ConfigMap", name)).values():
        try:
            hashes.add(read_entry(raw, from_config_map=True).key_hash.lower())
        except InvalidEntry:
            continue  # an entry the gateway skips (the page's WARNING); it holds no hash
    assert world.key_hashes[-1] in hashes, f"no keyHash entry of ConfigMap {name} is the hash generated last ({world.key_hashes[-1]})"


# --- keys from the page's manifests -----------------------------------------------------

@when(parsers.re(r'I send a request to the httpbin app with the API key of the entry "(?P<entry>[^"]+)" '
                 r'in the (?P<kind>Secret|ConfigMap) "(?P<name>[^"]+)"'))
def request_with_entry_key(world: World, entry: str, kind: str, name: str) -> None:
    """A Bearer request with the key that one entry of a page's Secret holds (raw, or a JSON `key`)."""
    raw = _entries(_store(world, kind, name)).get(entry)
    assert raw is not None, f"the {kind} {name} has no entry {entry!r}"
    key = read_entry(raw, from_config_map=kind == "ConfigMap").key
    assert key, f"the entry {entry!r} of the {kind} {name} holds a hash, not a key a client could send"
    request_with_key_at(world, "the httpbin app", "the", key, "the Authorization header")


# --- curl -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Curl:
    path: str
    host: str
    headers: tuple[tuple[str, str], ...]


def read_curl(command: str) -> Curl:
    """What a page's `curl -vi "ADDRESS/PATH" -H "name: value"...` sends; ValueError for anything else."""
    words = shlex.split(command)
    if not words or words[0] != "curl":
        raise ValueError("not a curl command")
    url, headers, rest = None, [], iter(words[1:])
    for word in rest:
        if word in ("-H", "--header"):
            name, sep, value = next(rest, "").partition(":")
            if not sep:
                raise ValueError(f"a header without a colon: {name!r}")
            headers.append((name.strip(), value.strip()))
        elif word in ("-v", "-i", "-vi", "-iv"):
            continue
        elif word.startswith("-"):
            raise ValueError(f"a curl option the suite does not mirror: {word}")
        elif url is None:
            url = word
        else:
            raise ValueError("more than one URL")
    if url is None:
        raise ValueError("no URL")
    address, slash, path = url.removeprefix("http://").partition("/")
    if not re.fullmatch(r"(\$\{INGRESS_GW_ADDRESS\}|localhost):\d+", address):
        raise ValueError(f"an address that is neither the gateway's nor a port-forward: {address}")
    hosts = [v for n, v in headers if n.lower() == "host"]
    if len(hosts) != 1:
        raise ValueError("not exactly one host header")
    return Curl("/" + path if slash else "/", hosts[0], tuple((n, v) for n, v in headers if n.lower() != "host"))


def _curl_request(world: World, step: str, docstring: str | None, *, authorization: str | None) -> None:
    """The request the page's curl commands send (one per tab, all alike), held to the step's words."""
    try:
        sent = {read_curl(c) for c in _commands(docstring, step)}
    except ValueError as exc:
        raise world.fail(f"the step '{step}' has a command the suite cannot read: {exc}") from None
    assert len(sent) == 1, f"the step '{step}' has commands that send different requests"
    (curl,) = sent
    given_auth = [v for n, v in curl.headers if n.lower() == "authorization"]
    expected = [authorization] if authorization is not None else []
    if given_auth != expected:
        raise world.fail(f"the step '{step}' sends Authorization {given_auth or 'none'}, not {expected or 'none'}")
    request = Request(method="GET", path=curl.path, host=world.target.deployment.host(curl.host))
    for name, value in curl.headers:
        request = request.with_header(name, value)
    world.request = request


_WITHOUT = "I send a request to the httpbin app without an API key, as the page's curl commands do"
_WITH_VALID = "I repeat the request with a valid API key in the Authorization header, as the page's curl commands do"


@when(_WITHOUT)
def curl_without_key(world: World, docstring: str | None) -> None:
    _curl_request(world, _WITHOUT, docstring, authorization=None)


@when(_WITH_VALID)
def curl_with_valid_key(world: World, docstring: str | None) -> None:
    assert world.api_key is not None, "no API key was generated in this scenario"
    world.presented = world.api_key
    _curl_request(world, _WITH_VALID, docstring, authorization=f"Bearer {world.api_key}")


# --- kubectl ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Kubectl:
    verb: str
    ref: ObjectRef
    ignore_not_found: bool = False
    output: str = ""


def read_kubectl(command: str) -> Kubectl:
    """`kubectl delete|get KIND NAME -n NAMESPACE [--ignore-not-found] [-oyaml]`; ValueError for anything else."""
    words = shlex.split(command)
    if words[:1] != ["kubectl"] or len(words) < 4 or words[1] not in ("delete", "get"):
        raise ValueError("not a kubectl delete or get of one named object")
    kinds = named_kinds(words[2])
    if len(kinds) != 1:
        raise ValueError(f"a kind the suite does not know: {words[2]}")
    namespace, ignore, output, rest = "default", False, "", iter(words[4:])
    for word in rest:
        if word in ("-n", "--namespace"):
            namespace = next(rest, "")
        elif word == "--ignore-not-found":
            ignore = True
        elif word.startswith("-o"):
            output = word.removeprefix("-o").lstrip("=") or next(rest, "")
        else:
            raise ValueError(f"an argument the suite does not mirror: {word}")
    return Kubectl(words[1], ObjectRef(kinds.pop(), namespace, words[3]), ignore, output)


_CLEANUP = "I remove the resources that I created in this guide"


@given(_CLEANUP)
@when(_CLEANUP)
def cleanup_commands(world: World, docstring: str | None) -> None:
    """Each `kubectl delete` of the page's cleanup; without --ignore-not-found a missing object is an error, as in kubectl."""
    for command in _commands(docstring, _CLEANUP):
        try:
            kubectl = read_kubectl(command)
        except ValueError as exc:
            raise world.fail(f"the cleanup has a command the suite cannot read ({exc}): {command}") from None
        assert kubectl.verb == "delete", f"the cleanup runs kubectl {kubectl.verb}, not delete: {command}"
        kubectl = replace(kubectl, ref=in_deployment(world, kubectl.ref))
        if not kubectl.ignore_not_found and world.target.get(kubectl.ref) is None:
            raise world.fail(f"{command}: kubectl would fail: {kubectl.ref} not found")
        world.delete(kubectl.ref)
        assert world.target.get(kubectl.ref) is None, f"{kubectl.ref} is still there after: {command}"


_SECRET_CREATED = "I verify that the secret is created, and that the values in the data section are base64 encoded"


@then(_SECRET_CREATED)
def secret_created(world: World, docstring: str | None) -> None:
    """`kubectl get secret NAME -oyaml`: the object is there with each entry base64 in `data`, and the
    gateway loaded the key each raw entry holds (asked of the target as digests; see Target.loaded_key_digests)."""
    (command,) = _commands(docstring, _SECRET_CREATED)
    kubectl = read_kubectl(command)
    assert kubectl.verb == "get" and kubectl.ref.kind == "Secret" and kubectl.output == "yaml", f"not a kubectl get secret -oyaml: {command}"
    kubectl = replace(kubectl, ref=in_deployment(world, kubectl.ref))
    stored = world.target.get(kubectl.ref)
    assert stored is not None, f"{command}: {kubectl.ref} not found"
    applied = _entries(_store(world, "Secret", kubectl.ref.name))
    shown = stored.get("data") or {}
    for entry, raw in applied.items():
        assert shown.get(entry) == base64.b64encode(raw).decode(), f"data.{entry} of {kubectl.ref} is not the entry's value, base64 encoded"
    try:
        digests = world.target.loaded_key_digests(kubectl.ref)
    except NotShown as exc:
        world.not_checked(_SECRET_CREATED, str(exc))
        return
    assert digests is not None, f"the gateway has no {kubectl.ref} to load keys from"
    # Raw entries only: their bytes are the key on every target. What a JSON entry gives is
    # the controller's reading, which a cluster target cannot show (it digests the stored
    # bytes); the page's JSON entry is proved by a request with its key (APIKEY-DOC-202).
    for entry, raw in applied.items():
        if raw.strip().startswith(b"{"):
            continue
        # A bare boolean, so that a failure shows neither digest.
        loaded = digests.get(entry) == hashlib.sha256(raw).hexdigest()
        assert loaded, f"the key the gateway loaded from data.{entry} of {kubectl.ref} is not the one the entry holds"
