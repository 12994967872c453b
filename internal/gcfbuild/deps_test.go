package gcfbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// forbidden are what the serverless entry points must never link: the
// embedded dev store (Versity Gateway and its ~300 packages) and the
// Prometheus metrics of presign serve.
var forbidden = []string{
	"presign.dev/internal/devstore",
	"github.com/versity/",
	"presign.dev/internal/metrics",
	"github.com/prometheus/",
}

func forbiddenDep(dep string) bool {
	for _, f := range forbidden {
		if dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
			return true
		}
	}
	return false
}

// TestServerlessDependencies: the Cloud Function (the root package), its
// local runner and, once it exists, the Lambda bootstrap link none of the
// forbidden packages, for the platforms they are deployed on.
func TestServerlessDependencies(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	type target struct {
		pkg, dir string
		env      []string
		tags     string
	}
	targets := []target{
		{pkg: "presign.dev", env: []string{"GOOS=linux", "GOARCH=amd64"}},
		{pkg: "presign.dev/cmd/presign-gcf", dir: "cmd/presign-gcf", env: []string{"GOOS=linux", "GOARCH=amd64"}},
		{pkg: "presign.dev/cmd/presign-lambda", dir: "cmd/presign-lambda", env: []string{"GOOS=linux", "GOARCH=arm64"}, tags: "lambda.norpc,nethttpomithttp2"},
	}
	for _, tg := range targets {
		t.Run(tg.pkg, func(t *testing.T) {
			t.Parallel()
			if tg.dir != "" {
				if m, _ := filepath.Glob(filepath.Join(root, tg.dir, "*.go")); len(m) == 0 {
					if tg.pkg == "presign.dev/cmd/presign-lambda" {
						t.Skipf("%s does not exist (yet)", tg.pkg)
					}
					t.Fatalf("%s has no Go files", tg.pkg)
				}
			}
			args := []string{"list", "-deps"}
			if tg.tags != "" {
				args = append(args, "-tags", tg.tags)
			}
			cmd := exec.Command("go", append(args, tg.pkg)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), append(tg.env, "CGO_ENABLED=0")...)
			out, err := cmd.Output()
			if err != nil {
				msg := err.Error()
				if ee, ok := err.(*exec.ExitError); ok {
					msg += "\n" + string(ee.Stderr)
				}
				t.Fatalf("go list -deps %s: %s", tg.pkg, msg)
			}
			deps := strings.Fields(string(out))
			nonStd := 0
			for _, dep := range deps {
				if strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") {
					nonStd++
				}
				if forbiddenDep(dep) {
					t.Errorf("%s links %s", tg.pkg, dep)
				}
			}
			t.Logf("%s: %d packages, %d outside the standard library", tg.pkg, len(deps), nonStd)
		})
	}
}

func TestForbiddenDep(t *testing.T) {
	t.Parallel()
	for dep, want := range map[string]bool{
		"presign.dev/internal/devstore":                                   true,
		"presign.dev/internal/devstore/x":                                 true,
		"presign.dev/internal/devstorex":                                  false,
		"github.com/versity/versitygw/s3api":                              true,
		"github.com/prometheus/client_golang/prometheus":                  true,
		"presign.dev/internal/metrics":                                    true,
		"presign.dev/internal/config":                                     false,
		"github.com/GoogleCloudPlatform/functions-framework-go/functions": false,
	} {
		if got := forbiddenDep(dep); got != want {
			t.Errorf("forbiddenDep(%q) = %v, want %v", dep, got, want)
		}
	}
}
