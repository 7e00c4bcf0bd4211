"""The reference target reads what the gateway's store holds, not the harness's own record."""

from conformance.targets.base import ObjectRef
from conformance.targets.reference import ReferenceTarget, _filename


def test_get_reads_the_file_the_gateway_loads(tmp_path):
    target = ReferenceTarget(frozenset())
    target.manifests = tmp_path
    ref = ObjectRef("Secret", "agentgateway-system", "apikey")
    target.objects[ref] = {"kind": "Secret", "metadata": {"name": "apikey"}, "stringData": {"api-key": "what-the-harness-meant"}}
    (tmp_path / _filename(ref)).write_text("kind: Secret\nmetadata: {name: apikey, namespace: agentgateway-system}\nstringData: {api-key: on-disk}\n")
    assert target.get(ref)["data"] == {"api-key": "b24tZGlzaw=="}
    (tmp_path / _filename(ref)).unlink()
    assert target.get(ref) is None
