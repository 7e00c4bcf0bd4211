"""List-then-watch in the Kubernetes source: a reset watch (410 Gone) or a broken connection
leads to a relist, and the relist replaces what was known of that kind.

A fake client stands in for the API server here, since a real one cannot be made to send
410 on demand; everything else about the Kubernetes source runs against a real API server
in test_kube_source.py.
"""

import asyncio

import httpx2
from lightkube import ApiError
from lightkube.core.internal_models import meta_v1
from lightkube.resources.core_v1 import Secret

from reference.kube import KubeSource
from reference.runtime import Runtime
from helpers import OFFLINE_KUBECONFIG



def secret(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "ns"}, "stringData": {"k": name}}


class Listing:
    def __init__(self, items, version):
        self.items, self.resourceVersion = items, version

    async def __aiter__(self):
        for item in self.items:
            yield item


class FakeClient:
    def __init__(self, listings, failure):
        self.listings, self.failure, self.lists = listings, failure, 0

    def list(self, res, namespace=None):
        items = self.listings[min(self.lists, len(self.listings) - 1)]
        self.lists += 1
        return Listing(items, str(self.lists))

    async def watch(self, res, namespace=None, resource_version=None):
        if resource_version == "1":
            raise self.failure
        await asyncio.sleep(3600)
        yield  # pragma: no cover -- makes this an async generator


async def run_until_relisted(failure, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(OFFLINE_KUBECONFIG)
    source = KubeSource(Runtime(), str(path))
    client = FakeClient([[secret("a"), secret("b")], [secret("b")]], failure)
    task = asyncio.create_task(source._kind_loop(client, Secret, "v1", "Secret"))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if client.lists >= 2:
                break
    finally:
        task.cancel()
    return client, sorted(name for _, _, name in source.objects)


def test_a_410_leads_to_a_relist_that_drops_what_was_deleted_meanwhile(tmp_path):
    gone = ApiError(status=meta_v1.Status(code=410, message="too old resource version"))
    client, names = asyncio.run(run_until_relisted(gone, tmp_path))
    assert client.lists == 2
    assert names == ["b"]


def test_a_lost_connection_leads_to_a_relist_after_a_backoff(tmp_path):
    client, names = asyncio.run(run_until_relisted(httpx2.ConnectError("refused"), tmp_path))
    assert client.lists == 2
    assert names == ["b"]
