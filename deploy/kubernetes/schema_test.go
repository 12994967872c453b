package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"

	"presign.dev/internal/testdep"
)

// kubernetesModule is the release whose OpenAPI documents the manifests are
// validated against: the module k8s.io/kubernetes carries them in
// api/openapi-spec/v3. The test command downloads it (go mod download) into
// the module cache, where the test reads it without the network.
const kubernetesModule = "k8s.io/kubernetes@v1.37.2"

// validateSchemas validates every object with kubeconform, strictly (an
// unknown field, a duplicate key or a wrong type is an error; so is an
// apiVersion and kind without a schema).
func validateSchemas(t *testing.T, objs []object, p *problems) {
	t.Helper()
	dir := schemaDir(t)
	v, err := validator.New([]string{filepath.Join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json")}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		res := v.ValidateResource(resource.Resource{Path: o.Kind + "/" + o.Name, Bytes: o.YAML})
		if res.Status == validator.Valid {
			continue
		}
		// kubeconform lists the top-level causes ("/spec: 'allOf' failed");
		// its error has the whole tree, down to the field.
		var detail []string
		for _, ve := range res.ValidationErrors {
			detail = append(detail, ve.Path+": "+ve.Msg)
		}
		if res.Err != nil {
			msg := res.Err.Error()
			if _, tree, ok := strings.Cut(msg, ".json#' "); ok {
				msg = tree // without the temporary file's name
			}
			detail = append(detail, msg)
		}
		p.add("schema: %s/%s (%s): %s", o.Kind, o.Name, o.APIVersion, strings.Join(detail, "; "))
	}
}

var schemas struct {
	once sync.Once
	dir  string
	err  error
	// missing: the module is not in the cache (a test dependency, not a
	// failure of the manifests).
	missing bool
}

// schemaDir returns a directory of kubeconform's standalone strict schemas,
// one file per group, version and kind (deployment-apps-v1.json), made once
// per test process from the OpenAPI v3 documents of kubernetesModule.
func schemaDir(t *testing.T) string {
	t.Helper()
	schemas.once.Do(func() {
		spec, missing, err := openAPIDir()
		if err != nil {
			schemas.err, schemas.missing = err, missing
			return
		}
		schemas.dir, schemas.err = os.MkdirTemp("", "kubeconform-schemas-")
		if schemas.err == nil {
			schemas.err = writeSchemas(spec, schemas.dir)
		}
	})
	if schemas.missing {
		testdep.Missing(t, schemas.err.Error())
	}
	if schemas.err != nil {
		t.Fatal(schemas.err)
	}
	return schemas.dir
}

// TestMain removes the schema directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if schemas.dir != "" {
		os.RemoveAll(schemas.dir)
	}
	os.Exit(code)
}

// openAPIDir finds api/openapi-spec/v3 of kubernetesModule in the module
// cache.
func openAPIDir() (dir string, missing bool, err error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", false, fmt.Errorf("go env GOMODCACHE: %v", err)
	}
	dir = filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(kubernetesModule), "api", "openapi-spec", "v3")
	if _, err := os.Stat(filepath.Join(dir, "apis__apps__v1_openapi.json")); err != nil {
		return "", true, fmt.Errorf("the Kubernetes OpenAPI documents are not in the module cache (%v): run go mod download %s", err, kubernetesModule)
	}
	return dir, false, nil
}

// writeSchemas writes, for each kind of the OpenAPI documents in spec, a
// JSON schema that kubeconform compiles: the kind's definition and those it
// refers to, made strict.
func writeSchemas(spec, dir string) error {
	docs, err := filepath.Glob(filepath.Join(spec, "*_openapi.json"))
	if err != nil {
		return err
	}
	for _, file := range docs {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var doc struct {
			Components struct {
				Schemas map[string]map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
		defs := doc.Components.Schemas
		for name, def := range defs {
			gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
			for _, g := range gvks {
				gvk, _ := g.(map[string]any)
				group, _ := gvk["group"].(string)
				version, _ := gvk["version"].(string)
				kind, _ := gvk["kind"].(string)
				out := filepath.Join(dir, schemaFileName(group, version, kind))
				if _, err := os.Stat(out); err == nil {
					continue // the same kind in another document
				}
				schema, err := standalone(defs, name, group, version, kind)
				if err != nil {
					return fmt.Errorf("%s: %s: %v", file, name, err)
				}
				if err := os.WriteFile(out, schema, 0o644); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// schemaFileName is kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json:
// the kind in lower case, then the group's first label and the version
// ("deployment-apps-v1", "networkpolicy-networking-v1"), or the version
// alone for the core group ("service-v1").
func schemaFileName(group, version, kind string) string {
	suffix := "-" + strings.ToLower(version)
	if group != "" {
		first, _, _ := strings.Cut(group, ".")
		suffix = "-" + strings.ToLower(first) + suffix
	}
	return strings.ToLower(kind) + suffix + ".json"
}

// standalone returns the schema of definition root, with the definitions
// reachable from it under components/schemas, strict (every
// object schema with properties refuses others, unless Kubernetes marks it
// as keeping unknown fields), with apiVersion and kind held to the group,
// version and kind.
func standalone(defs map[string]map[string]any, root, group, version, kind string) ([]byte, error) {
	reach := map[string]any{}
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, ok := strings.CutPrefix(ref, "#/components/schemas/")
				if !ok {
					return fmt.Errorf("a $ref outside components/schemas: %s", ref)
				}
				if _, done := reach[name]; !done {
					def, ok := defs[name]
					if !ok {
						return fmt.Errorf("$ref to %s, which is not defined", name)
					}
					reach[name] = def
					if err := walk(def); err != nil {
						return err
					}
				}
			}
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(map[string]any{"$ref": "#/components/schemas/" + root}); err != nil {
		return nil, err
	}
	// The copies made strict: the documents' maps are shared between kinds.
	strict := map[string]any{}
	for name, def := range reach {
		strict[name] = makeStrict(def)
	}
	apiVersion := version
	if group != "" {
		apiVersion = group + "/" + version
	}
	// The root is the kind's own definition (so that errors point into it
	// rather than at a wrapper), with apiVersion and kind held to it.
	doc := makeStrict(defs[root]).(map[string]any)
	props, _ := doc["properties"].(map[string]any)
	if props == nil {
		return nil, fmt.Errorf("no properties")
	}
	props["apiVersion"] = map[string]any{"type": "string", "enum": []any{apiVersion}}
	props["kind"] = map[string]any{"type": "string", "enum": []any{kind}}
	required, _ := doc["required"].([]any)
	doc["required"] = append(slices.Clone(required), "apiVersion", "kind")
	doc["components"] = map[string]any{"schemas": strict}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(doc)
	return b.Bytes(), err
}

// makeStrict returns a copy of v in which each schema with properties and
// without additionalProperties or x-kubernetes-preserve-unknown-fields
// refuses properties it does not list.
func makeStrict(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v)+1)
		for k, e := range v {
			if k == "properties" {
				// The names of properties are not schemas; their values are.
				props := map[string]any{}
				for name, s := range e.(map[string]any) {
					props[name] = makeStrict(s)
				}
				c[k] = props
				continue
			}
			c[k] = makeStrict(e)
		}
		_, props := v["properties"]
		_, additional := v["additionalProperties"]
		preserve, _ := v["x-kubernetes-preserve-unknown-fields"].(bool)
		if props && !additional && !preserve {
			c["additionalProperties"] = false
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = makeStrict(e)
		}
		return c
	}
	return v
}
