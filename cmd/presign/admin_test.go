package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"presign.dev/internal/service"
	"presign.dev/presign"
)

var exampleEnv = map[string]string{
	"STORJ_ACCESS_KEY_ID": "AKSTORJ", "STORJ_SECRET_ACCESS_KEY": "storj-secret-do-not-print",
	"R2_ACCOUNT_ID": "acct", "R2_ACCESS_KEY_ID": "AKR2", "R2_SECRET_ACCESS_KEY": "r2-secret-do-not-print",
	"UPLOAD_SECRET": "upload-secret-do-not-print-0123456789",
	"RECEIPT_KEY":   "MC4CAQAwBQYDK2VwBCIEIJvVF/GCGnTPRQxnUNKZ4O2svuJng9Hxj+KLENLvJjDu", "WEBHOOK_SECRET": "whsec_ZXhhbXBsZS13ZWJob29rLXNlY3JldC1ub3QtYS1yZWFsLW9uZQ==", "REDIS_URL": "redis://127.0.0.1:6379/0",
}

func TestConfigCheck(t *testing.T) {
	c, out, _ := testCLI(exampleEnv)
	if err := c.run(context.Background(), []string{"config", "check", "../../examples/presign.yaml"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"secret_access_key: <redacted>", "- id: k1\n      secret: <redacted>", "path: /companion", "name: user-uploads", "generate_key: users/{sub}/{uuid}{ext}", "https://acct.r2.cloudflarestorage.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"storj-secret-do-not-print", "r2-secret-do-not-print", "upload-secret-do-not-print"} {
		if strings.Contains(got, secret) {
			t.Errorf("output shows a secret")
		}
	}

	env := map[string]string{"STORJ_ACCESS_KEY_ID": "AK"} // the secrets are unset
	c, _, _ = testCLI(env)
	err := c.run(context.Background(), []string{"config", "check", "../../examples/presign.yaml"})
	if err == nil || !strings.Contains(err.Error(), "STORJ_SECRET_ACCESS_KEY, which is not set") || !strings.Contains(err.Error(), "R2_SECRET_ACCESS_KEY") {
		t.Errorf("every problem at once, by name: %v", err)
	}
}

// TestPolicyExplain: explain answers as the server would, through the
// same validation, rules and limits: a key the server refuses as malformed
// or an unknown backend is not "allowed" (both were, before).
func TestPolicyExplain(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		env      map[string]string // nil: exampleEnv, with examples/presign.yaml
		allowed  bool
		rule     string
		code     presign.Code
		errorHas string
	}{
		{args: []string{"--as", "jwt:alice", "--op", "put", "--content-type", "image/png", "--content-length", "1000"}, allowed: true, rule: "user-uploads"},
		{args: []string{"--as", "jwt:alice", "--op", "get", "--key", "users/bob/x.png"}, code: presign.CodePermissionDenied, errorHas: "outside what rule"},
		{args: []string{"--as", "anonymous", "--op", "get", "--key", "public/logo.png"}, allowed: true, rule: "public-reads"},
		{args: []string{"--as", "anonymous", "--op", "get", "--key", "users/alice/x.png"}, code: presign.CodeUnauthenticated, errorHas: "authentication required"},
		{args: []string{"--as", "jwt:ed", "--claims", "role=editor", "--op", "delete", "--key", "users/alice/x"}, allowed: true, rule: "editors-delete"},
		{args: []string{"--as", "api_key:backend-service", "--op", "delete", "--key", "anything/at/all"}, allowed: true, rule: "backend-service"},
		{args: []string{"--as", "api_key:backend-service", "--op", "get", "--key", "a/../b"}, code: presign.CodeInvalidArgument, errorHas: `".." path segment`},
		{args: []string{"--as", "api_key:backend-service", "--op", "get", "--key", "k", "--backend", "nope"}, code: presign.CodeNotFound, errorHas: `backend "nope" is not configured`},
		{args: []string{"--as", "jwt:alice", "--op", "put", "--content-type", "image/png", "--content-length", "20000000"}, code: presign.CodeTooLarge},
		{args: []string{"--as", "anonymous", "--op", "get", "--key", "k"}, env: map[string]string{"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "secret-value-0123", "PRESIGN_API_KEYS": "a-key-0123456789abcdef"},
			code: presign.CodeUnauthenticated},
		{args: []string{"--as", "api_key:env-1", "--op", "delete", "--key", "k"}, env: map[string]string{"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "secret-value-0123", "PRESIGN_API_KEYS": "a-key-0123456789abcdef"},
			allowed: true, rule: "allow-all"},
		{args: []string{"--op", "delete", "--key", "k"}, env: map[string]string{"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "secret-value-0123", "PRESIGN_AUTH": "none"},
			code: presign.CodePermissionDenied, errorHas: "open mode allows only get and put"},
	} {
		env, args := tt.env, append([]string{"policy", "explain"}, tt.args...)
		if env == nil {
			env, args = exampleEnv, append(args, "--config", "../../examples/presign.yaml")
		}
		c, out, _ := testCLI(env)
		if err := c.run(context.Background(), args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var ex service.Explanation
		if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		if ex.Allowed != tt.allowed || ex.Rule != tt.rule || ex.Code != tt.code || !strings.Contains(ex.Error, tt.errorHas) {
			t.Errorf("%v: %+v", tt.args, ex)
		}
	}
	for _, args := range [][]string{
		{"--as", "root"},
		{"--as", "api_key:ghost", "--op", "get", "--key", "k"},
		{"--as", "anonymous", "--op", "get", "public/x"}, // a stray argument: the key is --key
	} {
		c, _, _ := testCLI(exampleEnv)
		err := c.run(context.Background(), append([]string{"policy", "explain", "--config", "../../examples/presign.yaml"}, args...))
		if !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
