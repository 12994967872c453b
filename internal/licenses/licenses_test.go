package licenses

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// root is the repository root, relative to this package's directory.
const root = "../.."

// The files this test reads, relative to root.
const (
	docFile  = "docs/dependencies.md"
	lockFile = "cmd/presign/testdata/browser/package-lock.json"
)

var modFiles = []string{"go.mod", "bench/go.mod", "deploy/kubernetes/go.mod"}

// allowed are the SPDX identifiers any dependency may carry. They are all
// permissive; docs/dependencies.md justifies MIT-0.
var allowed = map[string]bool{
	"Apache-2.0":   true,
	"MIT":          true,
	"MIT-0":        true,
	"BSD-2-Clause": true,
	"BSD-3-Clause": true,
	"ISC":          true,
}

// reviewed are licenses outside allowed, each accepted for the named
// modules only, after a review that docs/dependencies.md records ("Verdict").
// A new module under one of these licenses fails until it is reviewed too.
var reviewed = map[string][]string{
	// Linked only into the presign CLI, through the dev store
	// (versitygw/auth -> vault-client-go).
	"MPL-2.0": {
		"github.com/hashicorp/go-cleanhttp",
		"github.com/hashicorp/go-retryablehttp",
		"github.com/hashicorp/go-rootcerts",
		"github.com/hashicorp/go-secure-stdlib/strutil",
		"github.com/hashicorp/vault-client-go",
	},
}

// dep is one module or package at one version.
type dep struct {
	name, version string
	from          string // the file that requires it
}

func TestDependenciesDocumented(t *testing.T) {
	var deps []dep
	for _, f := range modFiles {
		data := readFile(t, f)
		reqs, err := parseGoMod(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range reqs {
			r.from = f
			deps = append(deps, r)
		}
	}
	pkgs, err := parseLock(readFile(t, lockFile))
	if err != nil {
		t.Fatalf("%s: %v", lockFile, err)
	}
	for _, p := range pkgs {
		p.from = lockFile
		deps = append(deps, p)
	}
	if len(deps) == 0 {
		t.Fatal("found no dependencies: the parsers are broken")
	}

	rows, err := parseDoc(readFile(t, docFile))
	if err != nil {
		t.Fatalf("%s: %v", docFile, err)
	}

	used := map[string]bool{}
	for _, d := range deps {
		id := d.name + "@" + d.version
		used[id] = true
		lic, ok := rows[id]
		if !ok {
			var others []string
			for k := range rows {
				if name, _, _ := strings.Cut(k, "@"); name == d.name {
					others = append(others, k)
				}
			}
			sort.Strings(others)
			if len(others) > 0 {
				t.Errorf("%s (required by %s) is listed in %s only as %s: read this version's LICENSE file and add or update its row", id, d.from, docFile, strings.Join(others, ", "))
			} else {
				t.Errorf("%s (required by %s) is missing from %s: read its LICENSE file and add a row", id, d.from, docFile)
			}
			continue
		}
		if err := checkLicense(d.name, lic); err != "" {
			t.Errorf("%s (required by %s): %s", id, d.from, err)
		}
	}
	for id := range rows {
		if !used[id] {
			t.Errorf("%s is listed in %s but nothing requires it any more: remove its row", id, docFile)
		}
	}
}

// checkLicense returns a problem with the SPDX expression expr of module
// name, or "".
func checkLicense(name, expr string) string {
	ids := licenseIDs(expr)
	if len(ids) == 0 {
		return "has no license in " + docFile
	}
	for _, id := range ids {
		if allowed[id] {
			continue
		}
		if mods, ok := reviewed[id]; ok {
			if slices.Contains(mods, name) {
				continue
			}
			return "is licensed " + id + ", which is accepted only for reviewed modules: review it and add it to the test's reviewed list and to " + docFile
		}
		return "is licensed " + id + ", which is not on the allow-list (" + strings.Join(allowedList(), ", ") + ")"
	}
	return ""
}

func allowedList() []string {
	var l []string
	for id := range allowed {
		l = append(l, id)
	}
	sort.Strings(l)
	return l
}

// licenseIDs returns the license identifiers of an SPDX expression such as
// "Apache-2.0 AND (MIT OR BSD-3-Clause)".
func licenseIDs(expr string) []string {
	expr = strings.NewReplacer("(", " ", ")", " ", "*", " ").Replace(expr)
	var ids []string
	for _, f := range strings.Fields(expr) {
		switch f {
		case "AND", "OR", "WITH":
			continue
		}
		ids = append(ids, f)
	}
	return ids
}

// parseGoMod returns the requires of a go.mod file, without the modules that
// a replace directive points at a local directory (they are this repository).
func parseGoMod(data string) ([]dep, error) {
	var reqs []dep
	local := map[string]bool{}
	block := ""
	sc := bufio.NewScanner(strings.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		verb := block
		switch {
		case block != "" && f[0] == ")":
			block = ""
			continue
		case block != "":
		case len(f) == 2 && f[1] == "(":
			block = f[0]
			continue
		default: // a one-line directive
			verb, f = f[0], f[1:]
		}
		switch verb {
		case "require":
			if len(f) != 2 {
				return nil, lineError(n, "a require needs a module path and a version")
			}
			reqs = append(reqs, dep{name: unquote(f[0]), version: unquote(f[1])})
		case "replace":
			// old [version] => new [version]
			i := slices.Index(f, "=>")
			if i < 1 || i+1 >= len(f) {
				return nil, lineError(n, "a replace needs old => new")
			}
			if to := unquote(f[i+1]); to == "." || to == ".." || strings.HasPrefix(to, "./") || strings.HasPrefix(to, "../") || filepath.IsAbs(to) {
				local[unquote(f[0])] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := reqs[:0]
	for _, r := range reqs {
		if !local[r.name] {
			out = append(out, r)
		}
	}
	return out, nil
}

func unquote(s string) string { return strings.Trim(s, "\"`") }

func lineError(n int, msg string) error {
	return fmt.Errorf("line %d: %s", n, msg)
}

// parseLock returns the packages of an npm package-lock.json (lockfile
// version 2 or 3), without the root project and without links.
func parseLock(data string) ([]dep, error) {
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Link    bool   `json:"link"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(data), &lock); err != nil {
		return nil, err
	}
	if lock.LockfileVersion < 2 {
		return nil, fmt.Errorf("lockfileVersion %d has no \"packages\"; regenerate it with npm 7 or later", lock.LockfileVersion)
	}
	var pkgs []dep
	for path, p := range lock.Packages {
		if path == "" || p.Link {
			continue
		}
		i := strings.LastIndex(path, "node_modules/")
		if i < 0 {
			continue // a workspace folder, which is part of the project
		}
		name := path[i+len("node_modules/"):]
		if p.Name != "" {
			name = p.Name // an alias: "node_modules/x" installs package p.Name
		}
		pkgs = append(pkgs, dep{name: name, version: p.Version})
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].name < pkgs[j].name })
	return pkgs, nil
}

// parseDoc returns the license of each "name@version" in the tables of
// docs/dependencies.md: rows whose first two cells are `name` and
// `version`, and whose third is the SPDX expression.
func parseDoc(data string) (map[string]string, error) {
	rows := map[string]string{}
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			continue
		}
		name, ok1 := code(cells[0])
		version, ok2 := code(cells[1])
		if !ok1 || !ok2 {
			continue // a header, a separator or another table
		}
		id := name + "@" + version
		lic := strings.TrimSpace(cells[2])
		if prev, dup := rows[id]; dup && prev != lic {
			return nil, lineError(n+1, id+" is listed twice, as "+prev+" and as "+lic)
		}
		rows[id] = lic
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows like | `module` | `version` | license | ... |")
	}
	return rows, nil
}

// code returns the text of a cell that is one code span.
func code(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	if len(cell) < 3 || cell[0] != '`' || cell[len(cell)-1] != '`' || strings.Count(cell, "`") != 2 {
		return "", false
	}
	return cell[1 : len(cell)-1], true
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseGoMod(t *testing.T) {
	const mod = `module example.com/m // comment

go 1.26.0

require example.com/single v1.0.0
require (
	example.com/a v1.2.3
	example.com/b v0.0.0-20200101000000-abcdefabcdef // indirect
	"example.com/quoted" v2.0.0+incompatible
)

replace example.com/local => ../local
replace (
	example.com/a v1.2.3 => example.com/fork v1.2.4
)
require example.com/local v0.0.0
`
	got, err := parseGoMod(mod)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		ids = append(ids, d.name+"@"+d.version)
	}
	want := []string{
		"example.com/single@v1.0.0",
		"example.com/a@v1.2.3",
		"example.com/b@v0.0.0-20200101000000-abcdefabcdef",
		"example.com/quoted@v2.0.0+incompatible",
	}
	if !slices.Equal(ids, want) {
		t.Errorf("parseGoMod = %q, want %q", ids, want)
	}
}

func TestCheckLicense(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		ok         bool
	}{
		{"example.com/a", "MIT", true},
		{"example.com/a", "Apache-2.0 AND (MIT OR BSD-3-Clause)", true},
		{"example.com/a", "Apache-2.0 AND GPL-3.0-only", false},
		{"example.com/a", "MPL-2.0", false},
		{"github.com/hashicorp/vault-client-go", "MPL-2.0", true},
		{"example.com/a", "", false},
		{"example.com/a", "unknown", false},
	} {
		if got := checkLicense(tc.name, tc.expr) == ""; got != tc.ok {
			t.Errorf("checkLicense(%q, %q) accepted = %v, want %v", tc.name, tc.expr, got, tc.ok)
		}
	}
}
