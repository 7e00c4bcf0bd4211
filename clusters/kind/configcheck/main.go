// Command configcheck decodes a kind cluster config strictly into kind's own public
// config types (sigs.k8s.io/kind/pkg/apis/config/v1alpha4), as `kind create cluster
// --config` does: an unknown or misspelt field is an error, not silently ignored.
// It then checks what the suite relies on and prints the port mappings as JSON, so the
// caller can hold them to the Service that base.yaml exposes.
//
//	go run . ../kind-config.yaml
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

const apiVersion = "kind.x-k8s.io/v1alpha4"

func check(path string) ([]v1alpha4.PortMapping, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg v1alpha4.Cluster
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Kind != "Cluster" || cfg.APIVersion != apiVersion {
		return nil, fmt.Errorf("%s: kind %q apiVersion %q, want Cluster %s", path, cfg.Kind, cfg.APIVersion, apiVersion)
	}
	v1alpha4.SetDefaultsCluster(&cfg)
	var mappings []v1alpha4.PortMapping
	controlPlanes := 0
	for i, node := range cfg.Nodes {
		switch node.Role {
		case v1alpha4.ControlPlaneRole:
			controlPlanes++
		case v1alpha4.WorkerRole:
		default:
			return nil, fmt.Errorf("%s: nodes[%d].role %q is neither control-plane nor worker", path, i, node.Role)
		}
		for j, m := range node.ExtraPortMappings {
			where := fmt.Sprintf("%s: nodes[%d].extraPortMappings[%d]", path, i, j)
			if m.ContainerPort < 30000 || m.ContainerPort > 32767 {
				return nil, fmt.Errorf("%s: containerPort %d is outside the NodePort range 30000-32767", where, m.ContainerPort)
			}
			if m.HostPort < 1 || m.HostPort > 65535 {
				return nil, fmt.Errorf("%s: hostPort %d is not a port", where, m.HostPort)
			}
			mappings = append(mappings, m)
		}
	}
	if controlPlanes != 1 {
		return nil, fmt.Errorf("%s: %d control-plane nodes, want 1", path, controlPlanes)
	}
	if len(mappings) == 0 {
		return nil, fmt.Errorf("%s: no extraPortMappings: the runner could not reach the gateway", path)
	}
	return mappings, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: configcheck KIND_CONFIG")
		os.Exit(2)
	}
	mappings, err := check(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "configcheck:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(mappings)
	fmt.Println(string(out))
}
