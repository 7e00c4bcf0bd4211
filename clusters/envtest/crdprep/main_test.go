package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A chart template in the shape CRD charts commonly use (synthetic; no real CRD).
const tmpl = `{{- if .Values.crds.install }}
---
# a comment
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    controller-gen.kubebuilder.io/version: v0.20.0
    {{- if .Values.crds.keep }}
    "helm.sh/resource-policy": keep
    {{- end }}
    {{- with .Values.crds.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- /* labels below */}}
  name: widgets.example.dev
spec:
  group: example.dev
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: 'literal braces: {{ "{{" }} x {{ "}}" }}'
{{- else }}
{{- include "never.rendered" . }}
{{- end }}
`

func render(t *testing.T, values string) map[string]any {
	t.Helper()
	var vals map[string]any
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatal(err)
	}
	out, err := renderHelm(tmpl, vals)
	if err != nil {
		t.Fatal(err)
	}
	crds, err := splitCRDs(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(crds) != 1 || crds[0].name != "widgets.example.dev" {
		t.Fatalf("got %+v", crds)
	}
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(crds[0].text), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func annotations(obj map[string]any) map[string]any {
	return obj["metadata"].(map[string]any)["annotations"].(map[string]any)
}

func TestDefaults(t *testing.T) {
	obj := render(t, "crds:\n  install: true\n  keep: false\n  annotations: {}\n")
	a := annotations(obj)
	if len(a) != 1 || a["controller-gen.kubebuilder.io/version"] != "v0.20.0" {
		t.Fatalf("annotations %v", a)
	}
	d := obj["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)["description"]
	if d != "literal braces: {{ x }}" {
		t.Fatalf("description %q", d)
	}
}

func TestValuesApplied(t *testing.T) {
	obj := render(t, "crds:\n  install: true\n  keep: true\n  annotations:\n    a.example/b: c\n")
	a := annotations(obj)
	if a["helm.sh/resource-policy"] != "keep" || a["a.example/b"] != "c" || len(a) != 3 {
		t.Fatalf("annotations %v", a)
	}
}

func TestElseBranchAndErrors(t *testing.T) {
	// install=false takes the else branch, whose include is unsupported.
	if _, err := renderHelm(tmpl, map[string]any{}); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("want unsupported-action error, got %v", err)
	}
	for _, bad := range []string{
		"name: {{ .Release.Name }}\n",
		"{{- range .Values.x }}\n{{- end }}\n",
		"{{- if .Values.a }}\n",
		"{{- end }}\n",
	} {
		if _, err := renderHelm(bad, map[string]any{"a": true}); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestRunSkipsNonCRDs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.yaml")
	vap := "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: x\n"
	out, _ := renderHelm(tmpl, map[string]any{"crds": map[string]any{"install": true}})
	if err := os.WriteFile(in, []byte(out+vap), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(filepath.Join(dir, "out"), "", []string{in}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "*.yaml"))
	if len(files) != 1 || filepath.Base(files[0]) != "widgets.example.dev.yaml" {
		t.Fatalf("files %v", files)
	}
}

// A rendered CRD wraps a long CEL message across two lines; the check reads the
// parsed value, so it finds the rule all the same, and refuses a CRD without it.
func TestHasRuleReadsTheParsedMessage(t *testing.T) {
	const wrapped = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.dev
spec:
  versions:
  - name: v1alpha1
    schema:
      openAPIV3Schema:
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - message: exactly one of the fields in [secretRef secretSelector configMapSelector]
                must be set
              rule: '[has(self.secretRef)].filter(x, x).size() == 1'
`
	dir := t.TempDir()
	path := filepath.Join(dir, "crd.yaml")
	if err := os.WriteFile(path, []byte(wrapped), 0o644); err != nil {
		t.Fatal(err)
	}
	msg := "exactly one of the fields in [secretRef secretSelector configMapSelector] must be set"
	if strings.Contains(wrapped, msg) {
		t.Fatal("fixture must wrap the message, or it proves nothing")
	}
	found, err := hasRule(path, msg)
	if err != nil || !found {
		t.Fatalf("hasRule(wrapped) = %v, %v; want true", found, err)
	}
	found, err = hasRule(path, "some other rule")
	if err != nil || found {
		t.Fatalf("hasRule(other) = %v, %v; want false", found, err)
	}
}
