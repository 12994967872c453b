package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"presign.dev/policy"
)

var exampleEnv = map[string]string{
	"STORJ_ACCESS_KEY_ID": "AKSTORJ", "STORJ_SECRET_ACCESS_KEY": "storj-secret-do-not-print",
	"R2_ACCOUNT_ID": "acct", "R2_ACCESS_KEY_ID": "AKR2", "R2_SECRET_ACCESS_KEY": "r2-secret-do-not-print",
}

func TestConfigCheck(t *testing.T) {
	c, out, _ := testCLI(exampleEnv)
	if err := c.run(context.Background(), []string{"config", "check", "../../examples/presign.yaml"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"secret_access_key: <redacted>", "name: user-uploads", "generate_key: users/{sub}/{uuid}{ext}", "https://acct.r2.cloudflarestorage.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"storj-secret-do-not-print", "r2-secret-do-not-print"} {
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

func TestPolicyExplain(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		allowed  bool
		rule     string
		errorHas string
	}{
		{[]string{"--as", "jwt:alice", "--op", "put", "--content-type", "image/png", "--content-length", "1000"}, true, "user-uploads", ""},
		{[]string{"--as", "jwt:alice", "--op", "get", "--key", "users/bob/x.png"}, false, "", "outside what rule"},
		{[]string{"--as", "anonymous", "--op", "get", "--key", "public/logo.png"}, true, "public-reads", ""},
		{[]string{"--as", "jwt:ed", "--claims", "role=editor", "--op", "delete", "--key", "users/alice/x"}, true, "editors-delete", ""},
		{[]string{"--as", "api_key:backend-service", "--op", "delete", "--key", "anything/at/all"}, true, "backend-service", ""},
	} {
		c, out, _ := testCLI(exampleEnv)
		if err := c.run(context.Background(), append([]string{"policy", "explain", "--config", "../../examples/presign.yaml"}, tt.args...)); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var ex policy.Explanation
		if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		if ex.Allowed != tt.allowed || ex.Rule != tt.rule || !strings.Contains(ex.Error, tt.errorHas) || len(ex.Trace) == 0 {
			t.Errorf("%v: %+v", tt.args, ex)
		}
	}
	c, _, _ := testCLI(exampleEnv)
	if err := c.run(context.Background(), []string{"policy", "explain", "--config", "../../examples/presign.yaml", "--as", "root"}); err == nil {
		t.Error("--as root accepted")
	}
}
