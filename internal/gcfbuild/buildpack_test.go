package gcfbuild

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"go/version"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What the Go buildpack (GoogleCloudPlatform/buildpacks,
// cmd/go/functions_framework) expects; see ../shared/reference/serverless.md §3.
const (
	fnSourceDir    = "serverless_function_source_code"
	appDir         = "functions.local/app"
	frameworkMod   = "github.com/GoogleCloudPlatform/functions-framework-go"
	frameworkFuncs = frameworkMod + "/functions"
	frameworkVer   = "v1.9.2"
	rootPackage    = "presignfn"
	// runtimeGo is the newest Go of the --runtime the deploy commands name
	// (go126): the module's go and toolchain lines must not ask for more.
	runtimeGo = "go1.26"
	// buildTimeout bounds go mod tidy plus go build of the copy.
	buildTimeout = 5 * time.Minute
)

// mainTemplate is the buildpack's generated main for a declaratively
// registered function (the package imports .../functions), with {{.Package}}
// replaced by the module path.
const mainTemplate = `// Binary main file implements an HTTP server that loads and runs user's code
// on incoming HTTP requests.
package main

import (
	"log"
	"net/http"
	"os"

	_ "%s"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %%v\n", err)
	}
}
`

// inCI is true under CI=true, where what would be skipped fails.
var inCI = os.Getenv("CI") == "true"

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// moduleRoot is the directory of presign.dev's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		skipOrFail(t, "go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside a module")
	}
	return filepath.Dir(gomod)
}

// ignoreRule is one line of .gcloudignore, in the subset of gitignore syntax
// that this reproduction implements exactly.
type ignoreRule struct {
	pattern  string // path.Match pattern
	dirOnly  bool   // "dir/": directories only
	anchored bool   // contains a "/": relative to the root, else any basename
}

func parseIgnore(data []byte) ([]ignoreRule, error) {
	var rules []ignoreRule
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || (strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "#!")) {
			continue
		}
		if strings.HasPrefix(line, "#!") || strings.HasPrefix(line, "!") || strings.Contains(line, "**") || strings.Contains(line, `\`) {
			return nil, fmt.Errorf(".gcloudignore:%d: %q: this reproduction supports plain patterns only", n+1, line)
		}
		r := ignoreRule{pattern: line}
		r.pattern, r.dirOnly = strings.CutSuffix(r.pattern, "/")
		r.anchored = strings.Contains(r.pattern, "/")
		r.pattern = strings.TrimPrefix(r.pattern, "/")
		if _, err := path.Match(r.pattern, ""); err != nil {
			return nil, fmt.Errorf(".gcloudignore:%d: %q: %v", n+1, line, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// ignored reports whether the slash-separated path rel is left out.
func ignored(rules []ignoreRule, rel string, isDir bool) bool {
	for _, r := range rules {
		if r.dirOnly && !isDir {
			continue
		}
		name := path.Base(rel)
		if r.anchored {
			name = rel
		}
		if ok, _ := path.Match(r.pattern, name); ok {
			return true
		}
	}
	return false
}

func readIgnore(t *testing.T, root string) []ignoreRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".gcloudignore"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseIgnore(data)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// The upload keeps the module and leaves out local state and tooling.
func TestGcloudignore(t *testing.T) {
	t.Parallel()
	rules := readIgnore(t, moduleRoot(t))
	for _, dir := range []string{".git", ".tools", ".presign-dev", "dist", "bench", "docs", "deploy", "scripts", ".ci"} {
		if !ignored(rules, dir, true) {
			t.Errorf("%s/ is uploaded", dir)
		}
	}
	for _, f := range []string{".gcloudignore", "httpapi.test", "httpapi/httpapi.test", "dist/presign-lambda-arm64.zip"} {
		if !ignored(rules, f, false) && !ignored(rules, path.Dir(f), true) {
			t.Errorf("%s is uploaded", f)
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "function.go", "function_test.go", "cmd/presign-gcf/main.go",
		"httpapi/openapi.json", "httpapi/handler.go", "internal/service/service.go", "examples/presign.yaml",
		"Dockerfile", ".dockerignore", // gcloud run deploy --source . builds the Dockerfile
	} {
		if ignored(rules, f, false) || ignored(rules, path.Dir(f), true) {
			t.Errorf("%s is left out of the upload", f)
		}
	}
}

// upload copies what gcloud would upload from root into dst: every regular
// file that .gcloudignore does not leave out. It returns the file count and
// total size.
func upload(t *testing.T, root, dst string) (files int, size int64) {
	t.Helper()
	rules := readIgnore(t, root)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignored(rules, rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil // symlinks and the like: none are part of the module
		}
		n, err := copyFile(p, target)
		files++
		size += n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, size
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644) // writable: the buildpack edits go.mod
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// goIn runs go with args in dir, bounded by ctx, and returns its combined
// output.
func goIn(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return out.String(), err
}

// networkTrouble reports whether go's output says that a module could not be
// downloaded, which offline is a reason to skip (outside CI), not a failure.
func networkTrouble(out string) bool {
	for _, s := range []string{"dial tcp", "no such host", "i/o timeout", "connection refused", "TLS handshake timeout", "proxy.golang.org"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// TestBuildpackBuild does what the Go buildpack does with
// `gcloud functions deploy --source .` and asserts that it builds.
func TestBuildpackBuild(t *testing.T) {
	if testing.Short() && !inCI {
		t.Skip("-short: the buildpack reproduction runs go mod tidy and go build")
	}
	t.Parallel()
	root := moduleRoot(t)
	began := time.Now()

	// 1. The upload, moved into serverless_function_source_code/.
	src := filepath.Join(t.TempDir(), fnSourceDir)
	files, size := upload(t, root, src)
	t.Logf("upload: %d files, %.1f KiB", files, float64(size)/1024)
	for _, must := range []string{"go.mod", "go.sum", "function.go"} {
		if _, err := os.Stat(filepath.Join(src, must)); err != nil {
			t.Fatalf("the upload lacks %s", must)
		}
	}
	if _, err := os.Stat(filepath.Join(src, "vendor")); err == nil {
		t.Error("vendor/ is uploaded: the buildpack then requires the framework in it")
	}

	// 2. The package of the root directory, test files included: exactly one.
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, src, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range pkgs {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) != 1 || names[0] != rootPackage {
		t.Fatalf("the root directory holds packages %v; the buildpack needs exactly one, %s (tests too must be package %s)", names, rootPackage, rootPackage)
	}
	declarative := false
	for _, f := range pkgs[rootPackage].Files {
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == frameworkFuncs {
				declarative = true
			}
		}
	}
	if !declarative {
		t.Errorf("package %s does not import %s: the buildpack would pick its v0/v1.1 template, not the declarative one", rootPackage, frameworkFuncs)
	}
	// A directory named like the package makes the buildpack import
	// <module>/presignfn instead of the module root.
	if _, err := os.Stat(filepath.Join(src, rootPackage)); err == nil {
		t.Errorf("the upload has an entry named %s: the buildpack would import <module>/%s", rootPackage, rootPackage)
	}

	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")

	// 3. go list -m: the module path has a dot in its first element.
	out, err := goIn(ctx, src, env, "list", "-m")
	if err != nil {
		t.Fatalf("go list -m: %v\n%s", err, out)
	}
	mod := strings.TrimSpace(out)
	if first, _, _ := strings.Cut(mod, "/"); !strings.Contains(first, ".") {
		t.Fatalf("module path %q: its first element has no dot", mod)
	}

	// 4. The framework is required, at the version the buildpack would inject.
	out, err = goIn(ctx, src, env, "list", "-m", "-f", "{{.Version}}", frameworkMod)
	if err != nil || strings.TrimSpace(out) != frameworkVer {
		t.Errorf("go.mod requires %s %q (%v), want %s", frameworkMod, strings.TrimSpace(out), err, frameworkVer)
	}

	// 5. The generated main, inside the module.
	if err := os.MkdirAll(filepath.Join(src, appDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, appDir, "main.go"), fmt.Appendf(nil, mainTemplate, mod), 0o644); err != nil {
		t.Fatal(err)
	}

	// 6. go mod tidy, then the build of that one package.
	tidyStart := time.Now()
	if out, err := goIn(ctx, src, env, "mod", "tidy"); err != nil {
		if networkTrouble(out) {
			skipOrFail(t, "go mod tidy could not download modules: %v\n%s", err, out)
		}
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	tidyTime := time.Since(tidyStart)

	// The runtime go126 cannot build a module that asks for a newer Go.
	out, err = goIn(ctx, src, env, "mod", "edit", "-json")
	if err != nil {
		t.Fatalf("go mod edit -json: %v\n%s", err, out)
	}
	var gomod struct {
		Go        string
		Toolchain string
	}
	if err := json.Unmarshal([]byte(out), &gomod); err != nil {
		t.Fatal(err)
	}
	if version.Compare("go"+gomod.Go, runtimeGo+".999") > 0 || (gomod.Toolchain != "" && version.Compare(gomod.Toolchain, runtimeGo+".999") > 0) {
		t.Errorf("after tidy go.mod says go %s, toolchain %q: the runtime %s cannot build it", gomod.Go, gomod.Toolchain, strings.ReplaceAll(runtimeGo, ".", ""))
	}

	buildStart := time.Now()
	bin := filepath.Join(t.TempDir(), "app")
	if out, err := goIn(ctx, src, env, "build", "-o", bin, "./"+appDir); err != nil {
		if networkTrouble(out) {
			skipOrFail(t, "go build could not download modules: %v\n%s", err, out)
		}
		t.Fatalf("go build ./%s: %v\n%s", appDir, err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s (%.1f MiB): tidy %v, build %v, total %v", appDir, float64(st.Size())/(1<<20),
		tidyTime.Round(time.Millisecond), time.Since(buildStart).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// The reproduction catches what breaks the buildpack: an external test
// package at the root.
func TestExternalTestPackageIsCaught(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, src := range map[string]string{
		"function.go":   "package presignfn\n",
		"extra_test.go": "package presignfn_test\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Errorf("ParseDir found %d packages, want 2 (the check relies on it seeing _test.go files)", len(pkgs))
	}
}

// The matcher refuses syntax it does not implement, rather than guessing.
func TestParseIgnoreRefusesUnsupported(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"!keep.go", "#!include:.gitignore", "a/**/b", `\#x`} {
		if _, err := parseIgnore([]byte(line + "\n")); err == nil {
			t.Errorf("%q accepted", line)
		}
	}
	rules, err := parseIgnore([]byte("# comment\n/dist/\n*.test\ndocs/a.md\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel   string
		dir   bool
		want  bool
		about string
	}{
		{"dist", true, true, "anchored dir"},
		{"dist", false, false, "dir-only rule on a file"},
		{"x/dist", true, false, "anchored rule elsewhere"},
		{"httpapi/httpapi.test", false, true, "basename glob at depth"},
		{"docs/a.md", false, true, "anchored file"},
		{"other/docs/a.md", false, false, "anchored file elsewhere"},
	} {
		if got := ignored(rules, c.rel, c.dir); got != c.want {
			t.Errorf("%s (%s): ignored %v, want %v", c.rel, c.about, got, c.want)
		}
	}
}
