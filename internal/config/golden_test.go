package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/config/configtest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ from the current output")

// A case of testdata/problems or testdata/effective is NAME.yaml (the
// file; absent for an environment-only configuration) and NAME.env (the
// environment: NAME=VALUE lines, # comments). Its golden file NAME.golden
// holds, for problems, every problem exactly as presign reports it, and,
// for effective, the output of `presign config check`.

// load reads c as presign serve does, from c's own directory, so that
// messages name the file as a user who runs presign next to it sees it.
func load(t *testing.T, c configtest.Case) (Config, error) {
	if c.File == "" {
		return LoadServing(c.Lookup, "")
	}
	t.Chdir(filepath.Dir(c.File))
	return LoadServing(c.Lookup, filepath.Base(c.File))
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

// leaksSecret names the secret variable of c whose value, or one of whose
// ID:SECRET entries' secret (PRESIGN_UPLOAD_SECRETS), got shows.
func leaksSecret(c configtest.Case, got string) string {
	for k, v := range c.Env {
		if !strings.Contains(k, "SECRET") && !strings.Contains(k, "TOKEN") && k != "SK" {
			continue
		}
		values := []string{v}
		for _, entry := range strings.Split(v, ",") {
			_, secret, _ := strings.Cut(entry, ":")
			values = append(values, strings.TrimSpace(entry), strings.TrimSpace(secret))
		}
		for _, v := range values {
			if len(v) >= 8 && strings.Contains(got, v) {
				return k
			}
		}
	}
	return ""
}

// TestGolden: every problem of each configuration in testdata/problems,
// located (file:line: field, or the variable) and worded as presign
// reports them; and `presign config check` of each in testdata/effective:
// every value that applies, defaults included, secrets redacted. No
// secret of the environment shows in either.
func TestGolden(t *testing.T) {
	cases, err := configtest.Cases("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		golden, err := filepath.Abs(filepath.Join("testdata", c.Group, c.Name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.Group+"/"+c.Name, func(t *testing.T) {
			cfg, err := load(t, c)
			var got string
			switch {
			case c.Group == "problems" && err == nil:
				t.Fatal("accepted")
			case c.Group == "problems":
				got = err.Error() + "\n"
			case err != nil:
				t.Fatalf("refused:\n%v", err)
			default:
				var b strings.Builder
				if err := cfg.WriteRedacted(&b); err != nil {
					t.Fatal(err)
				}
				got = b.String()
			}
			if k := leaksSecret(c, got); k != "" {
				t.Errorf("the output shows the value of %s:\n%s", k, got)
			}
			checkGolden(t, golden, got)
		})
	}
}
