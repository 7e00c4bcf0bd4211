// Command crdprep turns CRD manifests into plain, validated YAML files, one
// CustomResourceDefinition per output file, for the envtest control plane.
//
//	crdprep -out DIR [-helm-values values.yaml] FILE...
//	crdprep -has-rule MESSAGE CRD-FILE
//
// The second form checks the parsed CRD, not its text, for a CEL validation rule
// (x-kubernetes-validations) whose message is MESSAGE, at any depth of any
// version's schema, and exits 0 if there is one, 1 if not. YAML may wrap a long
// message across lines; the parsed value is what the API server enforces.
//
// Every input file may hold several YAML documents. Documents that are not
// apiextensions.k8s.io/v1 CustomResourceDefinitions are skipped (with a note on
// stderr); each CRD is written as DIR/<metadata.name>.yaml, unchanged apart
// from template handling.
//
// With -helm-values, inputs are Helm chart templates and are rendered with a
// deliberately small subset of Go-template/Helm semantics, using the chart's
// default values (the given values.yaml, as `helm template` would without -f):
//
//   - template actions must stand alone on their line; the line is dropped
//     (this is what `{{-` / `-}}` trimming does for such lines);
//   - {{ if COND }}, {{ else }}, {{ with PATH }}, {{ end }}, where COND is
//     PATH, `not PATH`, or `and`/`or` over PATHs, and PATH is `.Values.a.b`
//     (or `.` inside with); truthiness follows text/template;
//   - {{ toYaml PATH | nindent N }} (or indent N) emits that value as YAML;
//   - comments {{/* ... */}} are dropped;
//   - inside an ordinary line only the escapes {{ "{{" }} and {{ "}}" }}
//     (and the backquoted forms) are allowed.
//
// Anything else (include, range, a template expression inside a line, ...)
// outside a block that renders to nothing is an error naming the file and line:
// the tool never guesses.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	out := flag.String("out", "", "output directory (created if missing)")
	values := flag.String("helm-values", "", "render inputs as Helm templates with this values.yaml")
	rule := flag.String("has-rule", "", "exit 0 if the CRD file has a CEL validation rule with this message")
	flag.Parse()
	if *rule != "" {
		if flag.NArg() != 1 {
			fmt.Fprintln(os.Stderr, "usage: crdprep -has-rule MESSAGE CRD-FILE")
			os.Exit(2)
		}
		found, err := hasRule(flag.Arg(0), *rule)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crdprep: error:", err)
			os.Exit(2)
		}
		if !found {
			os.Exit(1)
		}
		return
	}
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: crdprep -out DIR [-helm-values values.yaml] FILE...")
		os.Exit(2)
	}
	if err := run(*out, *values, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "crdprep: error:", err)
		os.Exit(1)
	}
}

func run(outDir, valuesPath string, files []string) error {
	var vals map[string]any
	if valuesPath != "" {
		raw, err := os.ReadFile(valuesPath)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(raw, &vals); err != nil {
			return fmt.Errorf("%s: %w", valuesPath, err)
		}
		if vals == nil {
			vals = map[string]any{}
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	written := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		text := string(raw)
		if vals != nil {
			if text, err = renderHelm(text, vals); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		crds, err := splitCRDs(text)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, c := range crds {
			if prev, dup := written[c.name]; dup {
				return fmt.Errorf("%s: CRD %s already read from %s", f, c.name, prev)
			}
			written[c.name] = f
			dst := filepath.Join(outDir, c.name+".yaml")
			if err := os.WriteFile(dst, []byte(c.text), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "crdprep: %s -> %s\n", filepath.Base(f), filepath.Base(dst))
		}
	}
	if len(written) == 0 {
		return errors.New("no CustomResourceDefinition found in the inputs")
	}
	return nil
}

type crd struct{ name, text string }

var docSep = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitCRDs splits a multi-document YAML text and validates each CRD in it.
func splitCRDs(text string) ([]crd, error) {
	var res []crd
	for i, doc := range docSep.Split(text, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var obj map[string]any
		if err := yaml.UnmarshalStrict([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("document %d does not parse: %w", i+1, err)
		}
		if obj == nil {
			continue
		}
		kind, _ := obj["kind"].(string)
		apiVersion, _ := obj["apiVersion"].(string)
		if kind != "CustomResourceDefinition" {
			fmt.Fprintf(os.Stderr, "crdprep: skipping document %d (kind %q is not a CRD)\n", i+1, kind)
			continue
		}
		if apiVersion != "apiextensions.k8s.io/v1" {
			return nil, fmt.Errorf("document %d: CRD apiVersion %q, want apiextensions.k8s.io/v1", i+1, apiVersion)
		}
		md, _ := obj["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		spec, _ := obj["spec"].(map[string]any)
		group, _ := spec["group"].(string)
		names, _ := spec["names"].(map[string]any)
		plural, _ := names["plural"].(string)
		versions, _ := spec["versions"].([]any)
		switch {
		case name == "":
			return nil, fmt.Errorf("document %d: CRD without metadata.name", i+1)
		case name != plural+"."+group:
			return nil, fmt.Errorf("document %d: CRD name %q is not <plural>.<group> (%q.%q)", i+1, name, plural, group)
		case len(versions) == 0:
			return nil, fmt.Errorf("document %d: CRD %s has no spec.versions", i+1, name)
		}
		res = append(res, crd{name: name, text: "---\n" + strings.TrimLeft(doc, "\n")})
	}
	return res, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// ---- the Helm subset ----

var (
	actionLine = regexp.MustCompile(`^([ \t]*)\{\{-?\s*(.*?)\s*-?\}\}[ \t]*$`)
	escapes    = regexp.MustCompile("\\{\\{-?\\s*(\"\\{\\{\"|\"\\}\\}\"|`\\{\\{`|`\\}\\}`)\\s*-?\\}\\}")
	toYamlRe   = regexp.MustCompile(`^toYaml\s+(\S+)\s*\|\s*(nindent|indent)\s+(\d+)$`)
	pathRe     = regexp.MustCompile(`^(\.[A-Za-z0-9_]+)+$`)
)

type frame struct {
	kind    string // "if" or "with"
	active  bool   // this branch renders
	taken   bool   // some branch of this if already rendered
	parent  bool   // the enclosing context renders
	dot     any    // value of `.` inside a with
	sawElse bool
}

func renderHelm(text string, vals map[string]any) (string, error) {
	root := map[string]any{"Values": vals}
	var out bytes.Buffer
	var stack []frame
	active := func() bool { return len(stack) == 0 || stack[len(stack)-1].active }
	dot := func() any {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].kind == "with" {
				return stack[i].dot
			}
		}
		return root
	}
	lines := strings.Split(text, "\n")
	for n, line := range lines {
		lineNo := n + 1
		fail := func(format string, a ...any) (string, error) {
			return "", fmt.Errorf("line %d: %s: %q", lineNo, fmt.Sprintf(format, a...), strings.TrimSpace(line))
		}
		if m := actionLine.FindStringSubmatch(line); m != nil && !strings.Contains(m[2], "}}") && !escapes.MatchString(line) {
			act := m[2]
			word, rest, _ := strings.Cut(act, " ")
			rest = strings.TrimSpace(rest)
			switch {
			case strings.HasPrefix(act, "/*") && strings.HasSuffix(act, "*/"):
				// comment
			case word == "if":
				ok := false
				if active() {
					v, err := evalCond(rest, dot(), root)
					if err != nil {
						return fail("%v", err)
					}
					ok = v
				}
				stack = append(stack, frame{kind: "if", active: active() && ok, taken: ok, parent: active()})
			case word == "with":
				var v any
				if active() {
					var err error
					if v, err = lookup(rest, dot(), root); err != nil {
						return fail("%v", err)
					}
				}
				ok := active() && truthy(v)
				stack = append(stack, frame{kind: "with", active: ok, taken: ok, parent: active(), dot: v})
			case act == "else":
				if len(stack) == 0 || stack[len(stack)-1].sawElse {
					return fail("unexpected else")
				}
				f := &stack[len(stack)-1]
				f.sawElse = true
				f.active = f.parent && !f.taken
				f.taken = true
			case act == "end":
				if len(stack) == 0 {
					return fail("unexpected end")
				}
				stack = stack[:len(stack)-1]
			case !active():
				// any other action inside a block that renders nothing is irrelevant
			case toYamlRe.MatchString(act):
				mm := toYamlRe.FindStringSubmatch(act)
				v, err := lookup(mm[1], dot(), root)
				if err != nil {
					return fail("%v", err)
				}
				if !truthy(v) {
					break
				}
				y, err := yaml.Marshal(v)
				if err != nil {
					return fail("%v", err)
				}
				ind, _ := strconv.Atoi(mm[3])
				pad := strings.Repeat(" ", ind)
				for _, yl := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
					out.WriteString(pad + yl + "\n")
				}
			default:
				return fail("unsupported template action")
			}
			continue
		}
		if !active() {
			continue
		}
		if rest := escapes.ReplaceAllString(line, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
			return fail("template expression inside a line is not supported")
		}
		plain := escapes.ReplaceAllStringFunc(line, func(s string) string {
			lit := escapes.FindStringSubmatch(s)[1] // "{{" or `}}`, quotes included
			return lit[1 : len(lit)-1]
		})
		out.WriteString(plain)
		if n < len(lines)-1 {
			out.WriteByte('\n')
		}
	}
	if len(stack) != 0 {
		return "", fmt.Errorf("%d unclosed if/with block(s) at end of file", len(stack))
	}
	return out.String(), nil
}

func evalCond(expr string, dot, root any) (bool, error) {
	f := strings.Fields(expr)
	if len(f) == 0 {
		return false, errors.New("empty condition")
	}
	switch f[0] {
	case "not":
		if len(f) != 2 {
			return false, fmt.Errorf("unsupported condition %q", expr)
		}
		v, err := lookup(f[1], dot, root)
		return !truthy(v), err
	case "and", "or":
		if len(f) < 3 {
			return false, fmt.Errorf("unsupported condition %q", expr)
		}
		res := f[0] == "and"
		for _, p := range f[1:] {
			v, err := lookup(p, dot, root)
			if err != nil {
				return false, err
			}
			if f[0] == "and" {
				res = res && truthy(v)
			} else {
				res = res || truthy(v)
			}
		}
		return res, nil
	}
	if len(f) != 1 {
		return false, fmt.Errorf("unsupported condition %q", expr)
	}
	v, err := lookup(f[0], dot, root)
	return truthy(v), err
}

// lookup resolves `.`, `.Values.a.b` (from the root) or `.a.b` (from dot).
func lookup(path string, dot, root any) (any, error) {
	if path == "." {
		return dot, nil
	}
	start := dot
	if strings.HasPrefix(path, ".Values") || strings.HasPrefix(path, "$.Values") {
		start = root
		path = strings.TrimPrefix(path, "$")
	}
	if !pathRe.MatchString(path) {
		return nil, fmt.Errorf("unsupported value reference %q", path)
	}
	cur := start
	for _, k := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, nil // missing keys are empty, as in Helm
		}
		cur = m[k]
	}
	return cur, nil
}

// truthy follows text/template: false, 0, nil and empty strings/maps/slices are false.
func truthy(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.String, reflect.Map, reflect.Slice, reflect.Array:
		return rv.Len() > 0
	case reflect.Int, reflect.Int64, reflect.Int32:
		return rv.Int() != 0
	case reflect.Float64, reflect.Float32:
		return rv.Float() != 0
	}
	return true
}

// hasRule reports whether the CRD in path carries a CEL rule with this message.
func hasRule(path, message string) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	for i, doc := range docSep.Split(string(raw), -1) {
		var obj any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return false, fmt.Errorf("%s: document %d does not parse: %w", path, i+1, err)
		}
		if ruleIn(obj, message) {
			return true, nil
		}
	}
	return false, nil
}

func ruleIn(node any, message string) bool {
	switch v := node.(type) {
	case map[string]any:
		if rules, ok := v["x-kubernetes-validations"].([]any); ok {
			for _, r := range rules {
				if m, ok := r.(map[string]any); ok && m["message"] == message {
					return true
				}
			}
		}
		for _, child := range v {
			if ruleIn(child, message) {
				return true
			}
		}
	case []any:
		for _, child := range v {
			if ruleIn(child, message) {
				return true
			}
		}
	}
	return false
}
