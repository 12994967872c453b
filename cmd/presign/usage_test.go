package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lines splits output into its lines, without the final newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// TestUsageMistakes: a mistake on the command line is reported in at most
// three lines on stderr — the error and where the usage is — with exit
// status 2, not with the whole usage (which buried the error).
func TestUsageMistakes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string // stderr; "presign: …" stands for any error from the command itself
	}{
		{[]string{"url", "--nope"}, []string{
			"presign: flag provided but not defined: -nope",
			"Run 'presign url --help' for usage.",
		}},
		{[]string{"url", "k", "-content-length", "ten"}, []string{
			`presign: invalid value "ten" for flag -content-length: parse error`,
			"Run 'presign url --help' for usage.",
		}},
		{[]string{"url"}, []string{
			"presign: …",
			"Run 'presign url --help' for usage.",
		}},
		{[]string{"serve", "--adr", ":1"}, []string{
			"presign: flag provided but not defined: -adr",
			"Run 'presign serve --help' for usage.",
		}},
		{[]string{"dev", "-data"}, []string{
			"presign: flag needs an argument: -data",
			"Run 'presign dev --help' for usage.",
		}},
		{[]string{"dev", "--webhook", "localhost:4000/hooks"}, []string{
			"presign: --webhook: must be an http(s) URL without credentials or fragment",
			"Run 'presign dev --help' for usage.",
		}},
		{[]string{"config", "check", "--verbose"}, []string{
			"presign: flag provided but not defined: -verbose",
			"Run 'presign config check --help' for usage.",
		}},
		{[]string{"policy", "explain", "--user", "alice"}, []string{
			"presign: flag provided but not defined: -user",
			"Run 'presign policy explain --help' for usage.",
		}},
		{[]string{"policy", "explain", "--as", "root"}, []string{
			"presign: …",
			"Run 'presign policy explain --help' for usage.",
		}},
		{[]string{"bogus"}, []string{
			`presign: unknown command "bogus"`,
			"Run 'presign --help' for usage.",
		}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			if status := c.main(context.Background(), tt.args); status != 2 {
				t.Errorf("exit status %d, want 2", status)
			}
			got := lines(errOut.String())
			if len(got) > 0 && tt.want[0] == "presign: …" && strings.HasPrefix(got[0], "presign: ") {
				got[0] = tt.want[0]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if len(got) > 3 {
				t.Errorf("stderr has %d lines, want at most 3", len(got))
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out)
			}
		})
	}

	// Without a command, the whole usage is the answer.
	c, _, errOut := testCLI(nil)
	if status := c.main(context.Background(), nil); status != 2 || !strings.HasPrefix(errOut.String(), "presign: a command is required\n\n"+usage[:20]) {
		t.Errorf("no command: status %d, stderr:\n%s", status, errOut)
	}
}

// TestUsageHelp: COMMAND --help prints that command's usage line and every
// flag on stderr and exits 0; presign --help prints the usage on stdout.
func TestUsageHelp(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantFirst string
		wantFlags []string
	}{
		{[]string{"serve", "--help"}, "Usage: presign serve ", []string{"addr", "config"}},
		{[]string{"dev", "-h"}, "Usage: presign dev ", []string{"addr", "s3-addr", "data"}},
		{[]string{"url", "--help"}, "Usage: presign url ", []string{"op", "expires", "content-type", "content-length", "filename", "o", "backend", "config"}},
		{[]string{"url", "k", "-help"}, "Usage: presign url ", nil},
		{[]string{"config", "check", "--help"}, "Usage: presign config check ", nil},
		{[]string{"policy", "explain", "--help"}, "Usage: presign policy explain ", []string{
			"config", "as", "groups", "claims", "op", "key", "backend", "content-type", "content-length", "filename"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			if status := c.main(context.Background(), tt.args); status != 0 {
				t.Errorf("exit status %d, want 0; stderr:\n%s", status, errOut)
			}
			got := lines(errOut.String())
			if len(got) == 0 || !strings.HasPrefix(got[0], tt.wantFirst) {
				t.Fatalf("stderr does not start with %q:\n%s", tt.wantFirst, errOut)
			}
			for _, f := range tt.wantFlags {
				if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(f) + `( |$)`).MatchString(errOut.String()) {
					t.Errorf("--help lacks -%s:\n%s", f, errOut)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out)
			}
		})
	}

	for _, arg := range []string{"help", "--help", "-h"} {
		c, out, errOut := testCLI(nil)
		if status := c.main(context.Background(), []string{arg}); status != 0 || out.String() != usage || errOut.Len() != 0 {
			t.Errorf("presign %s: status %d, stdout %q, stderr %q", arg, status, out, errOut)
		}
	}
}

// TestUsageListsEveryFlag: the overview names every flag of every command,
// as --NAME (url's -o as written), so that nobody needs to guess a flag
// such as policy explain's --config.
func TestUsageListsEveryFlag(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	for _, cmd := range [][]string{{"serve"}, {"dev"}, {"url"}, {"policy", "explain"}} {
		c, _, errOut := testCLI(nil)
		if status := c.main(context.Background(), append(cmd, "--help")); status != 0 {
			t.Fatalf("%v --help: status %d", cmd, status)
		}
		// The command's entry: from its line to the next command's.
		i := strings.Index(usage, "\n  presign "+strings.Join(cmd, " ")+" ")
		if i < 0 {
			t.Fatalf("the usage text has no entry for %s", strings.Join(cmd, " "))
		}
		entry, _, _ := strings.Cut(usage[i+len("\n  presign "):], "\n  presign ")
		var missing []string
		for _, m := range flagLine.FindAllStringSubmatch(errOut.String(), -1) {
			name := "--" + m[1]
			if m[1] == "o" {
				name = "-o"
			}
			if !regexp.MustCompile(`\[?` + regexp.QuoteMeta(name) + `[ \]]`).MatchString(entry) {
				missing = append(missing, name)
			}
		}
		if diff := cmp.Diff([]string(nil), missing); diff != "" {
			t.Errorf("the usage text lacks flags of %s (-want +got):\n%s", strings.Join(cmd, " "), diff)
		}
	}
}
