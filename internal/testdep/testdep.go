// Package testdep holds the rule every test follows for what it needs from
// the machine (a server binary, a tool, a module in the module cache): when
// it is missing, the test is skipped, but under CI=true it fails, so that
// CI never passes by skipping. It also finds the repository's root, where
// such dependencies are installed (.tools) or built from.
//
// Only tests import this package.
package testdep

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Missing ends tb for a test dependency that is not available: msg says
// which and how to get it. tb is skipped, or failed under CI=true.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s [CI: a missing test dependency is a failure]", msg)
	}
	tb.Skip(msg)
}

// InCI reports whether the environment's CI is true (as strconv.ParseBool
// reads it).
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Executable returns nil when p is an executable file, else why not.
func Executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares module presign.dev.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(data) == "presign.dev" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module presign.dev above %s", wd)
		}
		dir = parent
	}
}

func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			rest, _, _ = strings.Cut(rest, "//")
			return strings.Trim(strings.TrimSpace(rest), "\"`")
		}
	}
	return ""
}
