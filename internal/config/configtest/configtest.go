// Package configtest lists the configurations that internal/config's tests
// check — testdata/<group>/NAME.yaml (the file; absent for an
// environment-only case) with NAME.env (the environment) — so that the
// tests of every entry point can check that they agree on each of them.
package configtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Case is one configuration.
type Case struct {
	Group string            // "problems" (refused) or "effective" (accepted)
	Name  string            // NAME
	File  string            // the YAML file's path; "" for the environment alone
	Env   map[string]string // the environment
}

// Lookup reads the case's environment, as os.LookupEnv reads a process's.
func (c Case) Lookup(name string) (string, bool) { v, ok := c.Env[name]; return v, ok }

// Cases lists every case below testdata, a path to internal/config/testdata.
func Cases(testdata string) ([]Case, error) {
	var cases []Case
	groups, err := os.ReadDir(testdata)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if !g.IsDir() {
			continue
		}
		dir := filepath.Join(testdata, g.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			name := strings.TrimSuffix(e.Name(), ext)
			if (ext != ".yaml" && ext != ".env") || seen[name] {
				continue
			}
			seen[name] = true
			c := Case{Group: g.Name(), Name: name}
			if c.Env, err = ReadEnvFile(filepath.Join(dir, name+".env")); err != nil {
				return nil, err
			}
			if _, err := os.Stat(filepath.Join(dir, name+".yaml")); err == nil {
				c.File = filepath.Join(dir, name+".yaml")
			}
			cases = append(cases, c)
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Group+cases[i].Name < cases[j].Group+cases[j].Name })
	if len(cases) == 0 {
		return nil, fmt.Errorf("no cases below %s", testdata)
	}
	return cases, nil
}

// ReadEnvFile reads NAME=VALUE lines (# comments, blank lines); a missing
// file is an empty environment.
func ReadEnvFile(path string) (map[string]string, error) {
	m := map[string]string{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not NAME=VALUE", path, line)
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, sc.Err()
}
