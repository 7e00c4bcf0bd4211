"""The project's one model of the Kubernetes objects that configure API key authentication.

Both sides of the project read manifests here, so they cannot read one differently:
the reference gateway serves from this model, and the harness's translation for the real
proxy writes the proxy's configuration file from it. It imports neither of them.

- `manifests`: YAML and API objects in, validated model objects out (`ManifestError` names
  the file, document and field).
- `model`: the immutable objects.
- `entries`: which Secrets and ConfigMaps a policy reads, and which of their entries are keys,
  as agentgateway's controller decides.
- `routing`: hostnames and route matching, as the proxy selects a route.
- `attachment`: which listeners admit a route, and what its backend references resolve to.
- `carriers`: each kind of key `location`, one class: read and remove the key, its
  proxy-config form, and what a recorded request may show of it.
"""
