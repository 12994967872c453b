package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"presign.dev/internal/service"
	"presign.dev/presign"
)

const listConfig = `backends:
  - name: store
    endpoint: http://127.0.0.1:9000
    bucket: bucket
    access_key_id: ${env:AK}
    secret_access_key: ${env:SK}
auth:
  api_keys:
    - name: app
      sha256: 3ecbb48b9ba0cdc4b9bc1f0d78b1e3a37f5d3c1e6b0e9c8f9a7b6c5d4e3f2a1b
rules:
  - name: own-files
    who: {authenticated: true}
    ops: [list, get]
    keys: ["users/{sub}/**"]
`

// TestListRules: config check accepts a rule with list, and policy
// explain traces a list through the rules by its prefix.
func TestListRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "presign.yaml")
	if err := os.WriteFile(file, []byte(listConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AK": "AKLIST", "SK": "list-secret-do-not-print"}
	c, out, _ := testCLI(env)
	if err := c.run(context.Background(), []string{"config", "check", file}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "- list\n") || strings.Contains(out.String(), "list-secret-do-not-print") {
		t.Errorf("config check:\n%s", out)
	}

	for _, tt := range []struct {
		prefix  string
		allowed bool
		reason  string // the trace's, for the refused
	}{
		{"users/app/", true, ""},
		{"users/app/photos/2026", true, ""},
		{"users/", false, `prefix "users/" is outside what rule "own-files" allows (users/{sub}/**)`},
		{"users/app", false, `prefix "users/app" is outside`},
		{"", false, `prefix "" is outside`},
	} {
		c, out, _ := testCLI(env)
		args := []string{"policy", "explain", "--config", file, "--as", "api_key:app", "--op", "list", "--prefix", tt.prefix}
		if err := c.run(context.Background(), args); err != nil {
			t.Fatalf("%q: %v", tt.prefix, err)
		}
		var ex service.Explanation
		if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
			t.Fatalf("%q: %v\n%s", tt.prefix, err, out)
		}
		if ex.Allowed != tt.allowed || len(ex.Trace) != 1 || ex.Trace[0].Matched != tt.allowed || !strings.Contains(ex.Trace[0].Reason, tt.reason) {
			t.Errorf("list %q: %s", tt.prefix, out)
		}
		if !tt.allowed && ex.Code != presign.CodePermissionDenied {
			t.Errorf("list %q: code %q", tt.prefix, ex.Code)
		}
	}
}

// TestURLList: presign url -op list signs a listing of its argument.
func TestURLList(t *testing.T) {
	env := map[string]string{"PRESIGN_S3_ENDPOINT": "http://127.0.0.1:9000", "PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "secret-value-0123"}
	c, out, _ := testCLI(env)
	if err := c.run(context.Background(), []string{"url", "-op", "list", "photos/"}); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(strings.TrimSpace(out.String()))
	if err != nil || u.Path != "/bucket/" || u.Query().Get("list-type") != "2" || u.Query().Get("prefix") != "photos/" {
		t.Errorf("URL %s (%v)", out, err)
	}
}
