package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// goList runs go list with args and returns its output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// The library and its HTTP transport use the standard library only, and the
// embedded dev store (Versity Gateway and its ~300 packages) is linked into
// the presign CLI alone, never into anything the serverless builds import.
func TestDependencyBoundaries(t *testing.T) {
	ours := map[string]bool{"presign.dev/sigv4": true, "presign.dev/gcsv4": true, "presign.dev/azuresas": true,
		"presign.dev/presign": true, "presign.dev/policy": true, "presign.dev/httpapi": true,
		"presign.dev/internal/jsonstr": true} // the JSON strings of httpapi's codec and of the logs
	// Beyond the library, each package may use these modules only.
	allowed := map[string][]string{
		// config converts to the types of the packages that validate them:
		// jwtauth's issuer settings, receipt keys, webhook endpoints, the
		// quota store's Redis URL (quotastore and its client, resp, are
		// presign's own, on the standard library), the rate limit's
		// settings (ratelimit, on the standard library and resp),
		// credential sources (awscreds, on the standard library).
		"presign.dev/internal/config": {"presign.dev/internal/config", "go.yaml.in/yaml/v3", "presign.dev/internal/jwtauth", "github.com/golang-jwt/jwt/v5",
			"presign.dev/receipt", "presign.dev/webhook", "github.com/standard-webhooks/standard-webhooks/libraries/go",
			"presign.dev/internal/quotastore", "presign.dev/internal/resp", "presign.dev/internal/awscreds",
			"presign.dev/internal/ratelimit"},
	}
	for _, pkg := range append(keys(ours), keys(allowed)...) {
		for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg) {
			if !ours[dep] && !slices.Contains(allowed[pkg], dep) {
				t.Errorf("%s depends on %s; the library must stay on the standard library", pkg, dep)
			}
		}
	}
	// The container image's build (-tags nodevstore, Dockerfile) leaves
	// presign dev's embedded store out, and with it every MPL-2.0 module.
	for _, dep := range goList(t, "-deps", "-tags", "nodevstore", "presign.dev/cmd/presign") {
		if strings.HasPrefix(dep, "presign.dev/internal/devstore") || strings.HasPrefix(dep, "github.com/versity/") || strings.HasPrefix(dep, "github.com/hashicorp/") {
			t.Errorf("presign built with -tags nodevstore depends on %s", dep)
		}
	}
	// The payload-2.0 adapter is generic: it knows nothing of presign's
	// configuration or API (platform identity lives in cmd/presign-lambda).
	for _, dep := range goList(t, "-deps", "presign.dev/internal/lambdaurl") {
		if strings.HasPrefix(dep, "presign.dev/") && dep != "presign.dev/internal/lambdaurl" {
			t.Errorf("presign.dev/internal/lambdaurl depends on %s; it must stay a generic adapter", dep)
		}
	}
	for _, pkg := range goList(t, "presign.dev/...") {
		if pkg == "presign.dev/cmd/presign" || strings.HasPrefix(pkg, "presign.dev/internal/devstore") {
			continue
		}
		for _, dep := range goList(t, "-deps", pkg) {
			if dep == "presign.dev/internal/devstore" || strings.HasPrefix(dep, "github.com/versity/") {
				t.Errorf("%s links %s; only cmd/presign may", pkg, dep)
			}
		}
	}
}
