"""Reference gateway for agentgateway API key authentication.

Run it with `agw-reference serve`; the pieces are importable for tests: `objects` (the
manifests it serves, read by `agwmodel`, whose `carriers` also read the key from a request),
`keys`, `decision` (authentication), `cel`, `authorization`, `ratelimit` and `transformation` (what later
policies do with a verified key's metadata), `refusals`, `config` (resolution), `runtime`,
`proxy` (data plane), `upstream`, `http1`,
`serving`, `watching` (file source), `kube` (Kubernetes source), `admin`, `echo`, `cli`.
"""
