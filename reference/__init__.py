"""Reference gateway for agentgateway API key authentication.

Run it with `agw-reference serve`; the pieces are importable for tests:
`manifests` (parsing), `keys`, `credentials`, `decision` (authentication), `routing`,
`config` (resolution), `proxy` (data plane), `watching` (file source), `admin`, `echo`.
"""
