package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ from the current output")

// A case of testdata/problems or testdata/effective is NAME.yaml (the
// file; absent for an environment-only configuration) and NAME.env (the
// environment: NAME=VALUE lines, # comments). Its golden file NAME.golden
// holds, for problems, every problem exactly as presign reports it, and,
// for effective, the output of `presign config check`.
type goldenCase struct {
	name, file string
	env        map[string]string
}

func goldenCases(t *testing.T, dir string) []goldenCase {
	t.Helper()
	seen := map[string]bool{}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	envs, _ := filepath.Glob(filepath.Join(dir, "*.env"))
	var cases []goldenCase
	for _, m := range append(matches, envs...) {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(m), ".yaml"), ".env")
		if seen[name] {
			continue
		}
		seen[name] = true
		c := goldenCase{name: name, env: readEnvFile(t, filepath.Join(dir, name+".env"))}
		if _, err := os.Stat(filepath.Join(dir, name+".yaml")); err == nil {
			c.file = filepath.Join(dir, name+".yaml")
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no cases in %s", dir)
	}
	return cases
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	m := map[string]string{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=VALUE", path, line)
		}
		m[k] = v
	}
	return m
}

func (c goldenCase) load() (Config, error) {
	lookup := env(c.env)
	if c.file == "" {
		return LoadServing(lookup, "")
	}
	data, err := os.ReadFile(c.file)
	if err != nil {
		return Config{}, err
	}
	// The name in messages is the file's base name, as a user who runs
	// presign next to it sees it.
	cfg, err := Parse(lookup, filepath.Base(c.file), data)
	if err == nil {
		err = cfg.RequireAuth()
	}
	return cfg, err
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestProblems: every problem of each configuration in testdata/problems,
// located (file:line: field, or the variable) and worded as presign
// reports them, and no secret of the environment in any of them.
func TestProblems(t *testing.T) {
	for _, c := range goldenCases(t, "testdata/problems") {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.load()
			if err == nil {
				t.Fatalf("accepted")
			}
			got := err.Error() + "\n"
			for k, v := range c.env {
				if len(v) >= 8 && strings.Contains(got, v) && (strings.Contains(k, "SECRET") || strings.Contains(k, "TOKEN") || strings.Contains(k, "KEY")) {
					t.Errorf("a problem shows the value of %s", k)
				}
			}
			checkGolden(t, filepath.Join("testdata/problems", c.name+".golden"), got)
		})
	}
}

// TestEffective: `presign config check` of each valid configuration in
// testdata/effective: every value that applies, defaults included,
// secrets redacted.
func TestEffective(t *testing.T) {
	for _, c := range goldenCases(t, "testdata/effective") {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := c.load()
			if err != nil {
				t.Fatalf("refused:\n%v", err)
			}
			var b strings.Builder
			if err := cfg.WriteRedacted(&b); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			for k, v := range c.env {
				if len(v) >= 8 && strings.Contains(got, v) && (strings.Contains(k, "SECRET") || strings.Contains(k, "TOKEN")) {
					t.Errorf("the output shows the value of %s", k)
				}
			}
			checkGolden(t, filepath.Join("testdata/effective", c.name+".golden"), got)
		})
	}
}
