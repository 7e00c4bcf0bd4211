"""Targets that run the real agentgateway.

- `local`: the proxy alone, with a configuration file written by `config`, our translation
  of the applied manifests (there is no controller).
- `envtest`: the controller and the proxy on a real kube-apiserver (envtest), with a
  kubelet's part played by the target.
- `config`: the translation from the project's manifest model to the proxy's file format.
- `pod`: what a kubelet would do with the proxy Deployment the controller renders.
- `builds`: running the build scripts that make the binaries, and asking them their version.
"""
