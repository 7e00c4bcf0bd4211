"""Whether an address serves the docs page's base route: the httpbin sample behind the Gateway.

Every scenario begins where the page's "Before you begin" ends: a request for
`www.example.com` reaches httpbin through the Gateway, without any key. An address that
answers HTTP but is something else (another server, a 404, a load balancer's page) would
otherwise cost each scenario its whole convergence timeout in its Background, about 50
minutes for the suite, so a run against a cluster checks it first and stops in seconds
with what it saw.

The check is one request, as the suite sends them (no policy is applied yet): GET
`/headers` for `www.example.com`, with a header holding a value made for this check. The
route is served when the answer is httpbin's echo of the request's headers (JSON with a
`headers` field) and that echo holds the value: a page that only looks like an echo, or
one cached, cannot pass.

A 401 whose body is agentgateway's (`api key authentication failure: ...`) shows the
address is right, and that the route is served but guarded: an API key policy is already
in force there (the vendor's own, or one a killed run left). No scenario could pass its
Background then (each needs the route open without a key), so the run stops too, saying so.
"""

from __future__ import annotations

import secrets

from ..deployment import DOCS, Deployment
from ..http import Request, Response
from ..waiting import TIMEOUTS
from .base import AddressTarget

PATH = "/headers"
PROBE_HEADER = "X-Agw-Conformance-Probe"
AGENTGATEWAY_401 = b"api key authentication failure: "
_SHOWN_BODY = 200


class NotTheBaseRoute(RuntimeError):
    """The address does not serve the base route; the message says what it answered."""


def check(address: str, timeout: float = TIMEOUTS.api_request, deployment: Deployment = DOCS, gateway_ca: str | None = None) -> None:
    """Raise NotTheBaseRoute unless `address` serves the base route (see the module docstring)."""
    probe = secrets.token_hex(12)
    request = Request(method="GET", path=PATH, host=deployment.backend_host).with_header(PROBE_HEADER, probe)
    target = AddressTarget(address.rstrip("/"), request_timeout=timeout, gateway_ca=gateway_ca)
    try:
        response = target.send(request)
    finally:
        target.close_transport()
    problem = judge(response, probe, deployment)
    if problem is not None:
        raise NotTheBaseRoute(f"--gateway-address {address} {problem}")


def judge(response: Response, probe: str, deployment: Deployment = DOCS) -> str | None:
    """What is wrong with `response` as the base route's answer to the probe, or None."""
    asked = f"GET {PATH} with Host {deployment.backend_host}"
    if response.error:
        return f"gave no HTTP answer to {asked}: {response.error}"
    if response.status == 401 and response.body.startswith(AGENTGATEWAY_401):
        return (f"serves the base route, but guarded: {asked} without a key was refused with 401 "
                f"{_shown(response.body)}. An API key policy is already in force on the Gateway or the route; every "
                "scenario starts from the docs page's 'Before you begin', with the route open. Remove that policy "
                "(kubectl get agentgatewaypolicies -A) and run again")
    seen = response.upstream_header(PROBE_HEADER)
    if response.status == 200 and seen is not None and probe in seen:
        return None
    what = f"status {response.status}"
    kind = response.header("content-type")
    if kind:
        what += f", content-type {kind[0]}"
    if seen is not None:
        why = f"an echo that did not see the {PROBE_HEADER} header the request carried"
    else:
        why = f"not httpbin's echo of the request's headers: {what}, body {_shown(response.body)}"
    return (f"does not serve the docs page's base route (httpbin behind the Gateway): {asked} answered {why}. "
            f"Give the address of the Gateway {deployment.gateway_namespace}/{deployment.gateway_name}, with the HTTPRoute "
            f"httpbin in {deployment.backend_namespace} and the httpbin sample installed (the page's 'Before you begin'), "
            "or --install-base to create them")


def _shown(body: bytes) -> str:
    text = body[:_SHOWN_BODY].decode("utf-8", "replace")
    return repr(text + ("..." if len(body) > _SHOWN_BODY else ""))
