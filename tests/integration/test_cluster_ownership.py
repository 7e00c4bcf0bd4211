"""On someone's cluster, the suite never takes over or deletes an object it did not create.

A user who followed the docs page has their own Secret `apikey` and policy `apikey-auth` in
`agentgateway-system`. Runs against a real API server (envtest); objects made by "the user"
are created with a plain POST, as kubectl create would, so the suite is not their manager.
"""

from collections.abc import Iterator

import pytest
from helpers import kubernetes_target
from lightkube import codecs

from conformance.targets.base import ObjectRef, Refused
from conformance.targets.kubernetes import KubernetesTarget

pytestmark = pytest.mark.needs_envtest

SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: apikey, namespace: agentgateway-system}
stringData: {api-key: the-suites-own-key}
"""
THEIRS = ObjectRef("Secret", "agentgateway-system", "apikey")


@pytest.fixture(scope="module")
def cluster() -> Iterator[KubernetesTarget]:
    with kubernetes_target() as target:
        yield target


def kubectl_create(cluster: KubernetesTarget, doc: dict) -> None:
    """Create `doc` the way `kubectl create` would: a POST, with a field manager of the user's."""
    cluster.client.create(codecs.from_dict(doc), field_manager="kubectl-create")


def test_an_existing_object_of_the_users_is_neither_taken_over_nor_deleted(cluster):
    kubectl_create(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "agentgateway-system"}})
    kubectl_create(cluster, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "apikey", "namespace": "agentgateway-system"},
                             "stringData": {"api-key": "the-users-key"}})
    # Using the user's namespace is fine; the Secret of the same name is theirs.
    with pytest.raises(Refused, match="not created by this suite") as caught:
        cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: agentgateway-system}\n---\n" + SECRET)
    # Not a validation refusal: no step that checks the schema may count it.
    assert (caught.value.reason, caught.value.invalid) == ("Ownership", False)
    cluster.delete(THEIRS)
    cluster.delete(ObjectRef("Namespace", "", "agentgateway-system"))
    secret = cluster.get(THEIRS)
    assert secret is not None, "the suite deleted a Secret it did not create"
    assert secret["data"]["api-key"] == "dGhlLXVzZXJzLWtleQ==", "the suite changed a Secret it did not create"
    assert cluster.get(ObjectRef("Namespace", "", "agentgateway-system")) is not None


def test_what_the_suite_created_it_may_update_and_delete(cluster):
    doc = "apiVersion: v1\nkind: Namespace\nmetadata: {name: agentgateway-system}\n---\n" + SECRET.replace("name: apikey,", "name: agw-conformance-own,")
    ref = ObjectRef("Secret", "agentgateway-system", "agw-conformance-own")
    cluster.apply(doc)
    cluster.apply(doc.replace("the-suites-own-key", "a-rotated-key"))
    assert cluster.get(ref)["data"]["api-key"] == "YS1yb3RhdGVkLWtleQ=="
    cluster.delete(ref)
    assert cluster.get(ref) is None
