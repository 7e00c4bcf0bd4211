"""A real Kubernetes control plane (etcd + kube-apiserver) for tests.

No kubelet, no controllers, no Docker: just the API server, which is all that
is needed to check that manifests are accepted or refused by the real CRD
schemas and CEL validation rules (the controller-runtime "envtest" approach).

Binaries (``kube-apiserver``, ``etcd``, ``go-httpbin``) and CRDs are built from
pinned Go modules by ``clusters/envtest/build.sh`` into a cache directory
outside the repository; see that script and ``clusters/envtest/versions.env``.

Where the assets come from (:func:`find_assets`):

* ``KUBEBUILDER_ASSETS`` if set: a directory holding ``kube-apiserver`` and
  ``etcd`` (the envtest convention);
* otherwise ``clusters/envtest/build.sh`` is run (a no-op when its cache is
  already complete; a cold build compiles kube-apiserver and takes a while)
  and the directory it prints is used.

Where the CRDs come from (:func:`find_crds`), first match wins:

1. the ``crds`` argument;
2. ``AGW_ENVTEST_CRDS`` (a directory of ``*.yaml`` files);
3. ``<assets>/../crds``, which is where build.sh puts them.

Otherwise starting fails and asks for one of the first two. Every
CustomResourceDefinition found is installed and waited for until Established.

Use::

    with ControlPlane() as cp:
        cp.kubeconfig   # Path of a kubeconfig usable by kubectl, lightkube, kubernetes
        cp.server       # "https://127.0.0.1:<port>"

or from a shell: ``python -m conformance.controlplane start`` (runs until
Ctrl-C, printing the kubeconfig path) and ``python -m conformance.controlplane
build`` (prints the KUBEBUILDER_ASSETS directory).

Authentication: the API server gets a static token file mapping a random token
to user ``admin`` in group ``system:masters`` (authorization mode RBAC, so that
user may do everything); the kubeconfig carries that token and the
self-generated serving certificate as ``certificate-authority-data``.

Processes run in their own process groups with their output in
``<workdir>/etcd.log`` and ``<workdir>/kube-apiserver.log``; :meth:`ControlPlane.stop`
terminates them (then kills them after a timeout) and removes the temporary
work directory. If starting fails, everything started is stopped, the work
directory is kept for inspection and :class:`ControlPlaneError` carries the
tail of the relevant log.
"""

from .assets import ControlPlaneError, build_script, find_assets, find_crds
from .plane import ControlPlane, condition_true

__all__ = ["ControlPlane", "ControlPlaneError", "build_script", "condition_true", "find_assets", "find_crds"]
