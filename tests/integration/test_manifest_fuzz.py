"""No manifest, however odd, may stop the reference gateway or change what it serves.

Every kind the gateway reads is taken from a valid example and bent out of shape at one
place (a value of any type, anywhere, or a whole document of any shape). In file mode and
in Kubernetes mode alike, the result must be either accepted, or refused with an error that
names the source, the object and the field, with the last good configuration left in force
and traffic answered as before; or, for an object bent into a name the gateway had no good
version of (refused at its first sight), with every request answered 503.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import os

import pytest
import yaml
from helpers import CannedUpstream, OFFLINE_KUBECONFIG, write_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import refusals
from reference.kube import KubeSource
from reference.objects import ManifestError, parse_manifest, parse_object
from reference.proxy import Proxy
from reference.runtime import Runtime
from reference.watching import ManifestDir

KEY = "fuzz-key-7d1c"
VALID: dict[str, dict] = {
    "namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": {"team": "a"}}},
    "gateway": {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "infra"},
        "spec": {
            "gatewayClassName": "agentgateway",
            "listeners": [
                {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com",
                 "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}}}},
            ],
        },
    },
    "route": {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "parentRefs": [{"name": "gw", "namespace": "infra", "sectionName": "http"}],
            "hostnames": ["www.example.com"],
            "rules": [
                {"name": "main",
                 "matches": [{"path": {"type": "PathPrefix", "value": "/"}, "method": "GET",
                              "headers": [{"type": "Exact", "name": "x-env", "value": "prod"}]}],
                 "backendRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 8000, "weight": 1}]},
                {"backendRefs": [{"name": "svc", "namespace": "apps", "port": 8000}]},
            ],
        },
    },
    "service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "apps"},
                "spec": {"ports": [{"name": "http", "port": 8000}]}},
    "slice": {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "svc-1", "namespace": "apps", "labels": {"kubernetes.io/service-name": "svc"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
    },
    "secret": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys", "namespace": "infra", "labels": {"k": "v"}},
               "data": {"raw": "c2Vjb25kLWtleQ=="}, "stringData": {"api-key": KEY}},
    "configmap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hashed", "namespace": "infra", "labels": {"k": "v"}},
                  "data": {"one": '{"keyHash": "sha256:' + "ab" * 32 + '"}'}},
    "policy": {
        "apiVersion": "agentgateway.dev/v1alpha1",
        "kind": "AgentgatewayPolicy",
        "metadata": {"name": "auth", "namespace": "infra"},
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw", "sectionName": "http"}],
            "strategy": {"inheritance": "Default"},
            "traffic": {
                "phase": "PostRouting",
                "apiKeyAuthentication": {"mode": "Strict", "secretRef": {"name": "keys", "kind": "Secret"},
                                         "location": {"header": {"name": "Authorization", "prefix": "Bearer "}}},
            },
        },
    },
    "selector-policy": {
        "apiVersion": "agentgateway.dev/v1alpha1",
        "kind": "AgentgatewayPolicy",
        "metadata": {"name": "other", "namespace": "infra"},
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "nothing"}],
            "traffic": {"apiKeyAuthentication": {"mode": "Optional", "configMapSelector": {"matchLabels": {"k": "v"}},
                                                 "location": {"queryParameter": {"name": "key"}}}},
        },
    },
    "grant": {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "from-apps", "namespace": "infra"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "apps"}],
                 "to": [{"group": "", "kind": "Service", "name": "svc"}]},
    },
}

# --- generated shapes ------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["", "Strict", "Gateway", "HTTPRoute", "Service", "gateway.networking.k8s.io", "/", "*.example.com", "80"]),
)
# What a YAML file can hold beyond JSON: dates and byte strings come back as such from safe_load.
yaml_scalars = st.one_of(scalars, st.dates(), st.datetimes(), st.binary(max_size=8))
keys = st.one_of(st.text(max_size=8), st.sampled_from(["name", "port", "kind", "spec", "metadata", "namespace"]))


def shapes(leaves, key_strategy=keys):
    return st.recursive(
        leaves,
        lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(key_strategy, children, max_size=3)),
        max_leaves=8,
    )


json_values = shapes(scalars)
yaml_values = shapes(yaml_scalars, st.one_of(keys, st.integers(), st.booleans(), st.none()))


def paths(value, prefix=()):
    """Every place in a document where a value can be replaced or added."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
        yield (*prefix, "<new>")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def replaced(doc, path, new):
    if not path:
        return new
    out = copy.deepcopy(doc)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if last == "<new>":
        last = "extra"
    parent[last] = new
    return out


@st.composite
def bent(draw, values=json_values, names=tuple(VALID)):
    """(which example, the example with one value replaced by anything)."""
    which = draw(st.sampled_from(names))
    doc = VALID[which]
    path = draw(st.sampled_from(list(paths(doc))))
    return which, replaced(doc, path, draw(values))


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# --- the function from manifest to objects ---------------------------------------------


def test_every_example_is_valid():
    for which, doc in VALID.items():
        parse_object(doc, where=which)


@FUZZ
@given(bent(yaml_values))
def test_parsing_accepts_or_refuses_with_where_what_and_which_field(case):
    which, doc = case
    try:
        parse_manifest(yaml.safe_dump(doc), f"{which}.yaml")
    except ManifestError as exc:
        message = str(exc)
        assert message.startswith(f"{which}.yaml: document 1: "), message
        if isinstance(doc, dict) and doc.get("kind") == VALID[which]["kind"] and isinstance(doc.get("metadata"), dict):
            assert exc.subject.startswith(VALID[which]["kind"] + " "), message
        assert exc.field or exc.message == "a manifest must be a mapping", message


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_text_is_read_or_refused(text):
    try:
        parse_manifest(text, "x.yaml")
    except ManifestError as exc:
        assert str(exc).startswith("x.yaml"), str(exc)


@pytest.mark.parametrize(
    "text",
    [
        "when: 2001-13-45\n",  # a date YAML knows, but no calendar does
        "a: " + "[" * 5000 + "]" * 5000 + "\n",  # deeper than the parser's recursion
        "a: &x [*x]\n",  # a list that contains itself
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: &x {k: *x}\n",
    ],
)
def test_yaml_the_loader_cannot_turn_into_data_is_an_error_too(text):
    try:
        parse_manifest(text, "odd.yaml")
    except ManifestError as exc:
        assert str(exc).startswith("odd.yaml"), str(exc)


# The shapes the issue reported, each of which used to stop the process.
REPORTED = {
    "hostnames": ("route", ("spec", "hostnames"), [5], "spec.hostnames[0]"),
    "rules": ("route", ("spec", "rules"), ["x"], "spec.rules[0]"),
    "targetRefs": ("policy", ("spec", "targetRefs"), ["gw"], "spec.targetRefs[0]"),
    "ports": ("service", ("spec", "ports"), [80], "spec.ports[0]"),
}


@pytest.mark.parametrize("case", REPORTED)
def test_the_reported_shapes_are_refused_at_their_field(case):
    which, path, value, field = REPORTED[case]
    with pytest.raises(ManifestError) as caught:
        parse_object(replaced(VALID[which], path, value), where=f"{which}.yaml: document 1")
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{which}.yaml: document 1: {VALID[which]['kind']} ")


# --- file mode: the watched directory ---------------------------------------------------


REQUESTS = {
    "no key": [],
    "the key": [(b"authorization", f"Bearer {KEY}".encode())],
    "a wrong key": [(b"authorization", b"Bearer nope")],
}


def answers(runtime: Runtime) -> dict[str, int]:
    """How the gateway answers a few requests, run in-process against the current config."""
    proxy = Proxy(runtime.current, CannedUpstream())  # answers 200 to whatever the gateway forwards

    async def one(headers):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/get", "raw_path": b"/get", "query_string": b"",
                 "headers": [(b"host", b"www.example.com"), (b"x-env", b"prod"), *headers]}
        await proxy(scope, receive, send)
        return sent[0]["status"]

    async def all_of():
        return {name: await one(headers) for name, headers in REQUESTS.items()}

    return asyncio.run(all_of())




@pytest.fixture(scope="module")
def good_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("manifests")


def loaded(directory) -> ManifestDir:
    for name in os.listdir(directory):
        os.unlink(directory / name)
    for which, doc in VALID.items():
        write_manifest(directory, f"{which}.yaml", yaml.safe_dump(doc))
    source = ManifestDir(directory, Runtime())
    source.scan()
    assert all(r["error"] is None for r in source.report()), source.report()
    return source


def test_the_good_configuration_answers_as_expected(good_dir):
    assert answers(loaded(good_dir).runtime) == {"no key": 401, "the key": 200, "a wrong key": 401}


def _check_file_refused_or_applied(source: ManifestDir, name: str, before_objects, before_answers):
    report = {r["file"]: r for r in source.report()}
    error = report[name]["error"]
    if error is None:
        answers(source.runtime)  # accepted: whatever it changed, requests are still answered
        return
    assert error.startswith(f"{name}"), error
    assert source.runtime.objects == before_objects
    assert answers(source.runtime) == before_answers


@FUZZ
@given(bent(yaml_values))
def test_a_bent_file_is_refused_and_the_last_good_config_stays(good_dir, case):
    which, doc = case
    source = loaded(good_dir)
    before_objects, before_answers = dict(source.runtime.objects), answers(source.runtime)
    write_manifest(good_dir, f"{which}.yaml", yaml.safe_dump(doc))
    source.scan()
    _check_file_refused_or_applied(source, f"{which}.yaml", before_objects, before_answers)


@FUZZ
@given(st.sampled_from(list(VALID)), st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_a_file_of_any_bytes_is_refused_and_the_last_good_config_stays(good_dir, which, content):
    source = loaded(good_dir)
    before_objects, before_answers = dict(source.runtime.objects), answers(source.runtime)
    write_manifest(good_dir, f"{which}.yaml", content)
    source.scan()
    _check_file_refused_or_applied(source, f"{which}.yaml", before_objects, before_answers)


# --- Kubernetes mode: what the list and the watch deliver -----------------------------



@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory):
    path = tmp_path_factory.mktemp("kube") / "kubeconfig"
    path.write_text(OFFLINE_KUBECONFIG)
    return str(path)


def kube_loaded(kubeconfig: str) -> KubeSource:
    source = KubeSource(Runtime(), kubeconfig, write_status=False)
    for doc in VALID.values():
        source._event("ADDED", copy.deepcopy(doc))
    source.publish()
    assert source.report() == []
    return source


def with_identity(doc, like: dict):
    """Keep the example's kind and name, so that the bent object replaces the good one."""
    if not isinstance(doc, dict):
        doc = {"spec": doc}
    doc = dict(doc)
    doc.setdefault("apiVersion", like["apiVersion"])
    doc.setdefault("kind", like["kind"])
    return doc


@FUZZ
@given(bent(json_values))
def test_a_bent_object_from_the_api_is_refused_and_the_last_good_version_stays(kubeconfig, case):
    which, doc = case
    source = kube_loaded(kubeconfig)
    before_objects, before_answers = dict(source.objects), answers(source.runtime)
    source._event("MODIFIED", with_identity(doc, VALID[which]))
    config = source.publish()
    rejected = source.report()
    if not rejected:
        answers(source.runtime)
        return
    [entry] = rejected
    assert entry["error"], entry
    assert source.objects == before_objects
    [key] = source.rejected
    if key in before_objects or not refusals.stops_traffic({key[0]}):
        assert config.refused == () and answers(source.runtime) == before_answers
    else:
        # Bent into an object of another name: refused at its first sight, with nothing to keep.
        assert config.refused == (entry["error"],)
        assert set(answers(source.runtime).values()) == {503}


class Listing:
    def __init__(self, items, version):
        self.items, self.resourceVersion = items, version

    async def __aiter__(self):
        for item in self.items:
            yield item


class OneListing:
    """An API server that lists the given objects, then keeps the watch open."""

    def __init__(self, items):
        self.items, self.lists = items, 0

    def list(self, res, namespace=None):
        self.lists += 1
        return Listing(self.items, str(self.lists))

    async def watch(self, res, namespace=None, resource_version=None):
        await asyncio.sleep(3600)
        yield  # pragma: no cover -- makes this an async generator


@pytest.mark.parametrize("case", REPORTED)
def test_a_bad_object_in_a_listing_is_reported_not_taken_for_a_lost_connection(kubeconfig, case):
    which, path, value, field = REPORTED[case]
    good = copy.deepcopy(VALID[which])
    bad = replaced(good, path, value)
    bad["metadata"] = {**bad["metadata"], "name": "bad"}
    source = KubeSource(Runtime(), kubeconfig, write_status=False)
    client = OneListing([good, bad])
    kind = good["kind"]

    async def run():
        task = asyncio.create_task(source._kind_loop(client, None, good["apiVersion"], kind))
        await asyncio.sleep(1.0)  # a relist after a failure would come after 0.2 s
        task.cancel()

    asyncio.run(run())
    assert client.lists == 1, "the listing was taken for a failure and repeated"
    assert kind in source._synced
    assert [name for (k, _, name) in source.objects if k == kind] == [good["metadata"]["name"]]
    [entry] = source.report()
    assert field in entry["error"] and f"{kind} " in entry["error"], entry


def test_dates_and_bytes_from_yaml_are_refused_where_strings_belong():
    doc = copy.deepcopy(VALID["secret"])
    doc["stringData"] = {"api-key": datetime.date(2020, 1, 1)}
    with pytest.raises(ManifestError) as caught:
        parse_object(doc, where="s.yaml: document 1")
    assert caught.value.field == "stringData.api-key"


def test_a_file_that_cannot_be_read_is_reported_and_the_others_still_load(good_dir, monkeypatch):
    source = loaded(good_dir)
    before_answers = answers(source.runtime)
    os.symlink("itself.yaml", good_dir / "itself.yaml")  # a link to itself: stat fails with ELOOP
    real_open = open

    def refusing_open(path, *args, **kwargs):
        if str(path).endswith("policy.yaml"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("reference.watching.open", refusing_open, raising=False)
    write_manifest(good_dir, "policy.yaml", "this version cannot be read")
    write_manifest(good_dir, "extra.yaml", yaml.safe_dump({**VALID["service"], "metadata": {"name": "extra", "namespace": "apps"}}))
    source.scan()
    report = {r["file"]: r for r in source.report()}
    assert report["policy.yaml"]["error"] == "policy.yaml: cannot be read: permission denied"
    assert report["extra.yaml"]["error"] is None and "itself.yaml" not in report
    assert ("Service", "apps", "extra") in source.runtime.objects
    assert answers(source.runtime) == before_answers  # the policy's last good version is still in force
    os.unlink(good_dir / "itself.yaml")
