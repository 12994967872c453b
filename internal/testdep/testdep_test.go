package testdep

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissing runs TestMissingHelper in a child process with each value of
// CI and checks that it is skipped, or fails under CI=true.
func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		ci, want string
		fails    bool
	}{
		{ci: "", want: "--- SKIP: TestMissingHelper"},
		{ci: "false", want: "--- SKIP: TestMissingHelper"},
		{ci: "not a bool", want: "--- SKIP: TestMissingHelper"},
		{ci: "true", want: "no such tool [CI: a missing test dependency is a failure]", fails: true},
		{ci: "1", want: "--- FAIL: TestMissingHelper", fails: true},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTDEP_HELPER=1", "CI="+tt.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.fails || !strings.Contains(string(out), tt.want) {
			t.Errorf("CI=%q: failed %v (%v), want %v, and output\n%s\nwant it to hold %q", tt.ci, failed, err, tt.fails, out, tt.want)
		}
	}
}

func TestMissingHelper(t *testing.T) {
	if os.Getenv("TESTDEP_HELPER") != "1" {
		t.Skip("run by TestMissing")
	}
	Missing(t, "no such tool")
	t.Error("Missing returned")
}

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module presign.dev\n\ngo 1.26\n":        "presign.dev",
		"// c\nmodule \"presign.dev\" // x\n":    "presign.dev",
		"modulex foo\nmodule\tpresign.dev\n":     "presign.dev",
		"go 1.26\n":                              "",
		"module example.com/presign.dev/other\n": "example.com/presign.dev/other",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || modulePath(data) != "presign.dev" {
		t.Fatalf("RepoRoot = %q, whose go.mod is not presign.dev's (%v)", root, err)
	}
}

func TestExecutable(t *testing.T) {
	dir := t.TempDir()
	exe, plain := filepath.Join(dir, "exe"), filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("text"), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{exe: true, plain: false, dir: false, filepath.Join(dir, "missing"): false} {
		if err := Executable(p); (err == nil) != want {
			t.Errorf("Executable(%s) = %v, want executable %v", p, err, want)
		}
	}
}
