package config

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
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

// leaksSecret names the secret of c that got shows: the value of a
// secret variable (SECRET, TOKEN, PRIVATE, RECEIPT or REDIS in its name,
// or a name ending in _KEY), or one of its ID:SECRET entries' secret
// (PRESIGN_UPLOAD_SECRETS, PRESIGN_RECEIPT_KEYS), or a line of it (a PEM
// key), or a whsec_ secret's key; a literal written in a secret field of
// c's file (secret, private_key, hs256_secret, redis_url, ...); or a word of the
// file or the environment that holds "password" (URL credentials).
func leaksSecret(c configtest.Case, got string) string {
	for k, v := range c.Env {
		if !strings.Contains(k, "SECRET") && !strings.Contains(k, "TOKEN") && !strings.Contains(k, "PRIVATE") &&
			!strings.Contains(k, "RECEIPT") && !strings.Contains(k, "REDIS") && !strings.HasSuffix(k, "_KEY") && k != "SK" {
			continue
		}
		values := []string{v}
		for _, entry := range strings.Split(v, ",") {
			_, secret, _ := strings.Cut(entry, ":")
			values = append(values, strings.TrimSpace(entry), strings.TrimSpace(secret))
		}
		for _, line := range strings.Split(v, "\n") {
			values = append(values, strings.TrimSpace(line))
		}
		for _, v := range values {
			values = append(values, strings.TrimPrefix(v, "whsec_"))
		}
		for _, v := range values {
			if len(v) >= 8 && !strings.HasPrefix(v, "-----") && strings.Contains(got, v) {
				return k
			}
		}
	}
	var file []byte
	if c.File != "" {
		file, _ = os.ReadFile(c.File)
	}
	for _, m := range secretField.FindAllStringSubmatch(string(file), -1) {
		if v := strings.Trim(m[2], `"'`); !strings.HasPrefix(v, "${env:") && len(v) >= 8 && strings.Contains(got, v) {
			return "the literal " + m[1] + " of " + c.File
		}
	}
	words := password.FindAllString(string(file), -1)
	for _, v := range c.Env {
		words = append(words, password.FindAllString(v, -1)...)
	}
	for _, w := range words {
		if strings.Contains(got, w) {
			return "the word " + w
		}
	}
	return ""
}

var (
	// secretField finds the value of a secret field written in a file.
	secretField = regexp.MustCompile(`\b(secret|private_key|secret_access_key|session_token|hs256_secret|redis_url):\s*("[^"]*"|'[^']*'|[^\s,}]+)`)
	// password finds the words that hold "password".
	password = regexp.MustCompile(`[A-Za-z0-9_-]*password[A-Za-z0-9_-]*`)
)

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
