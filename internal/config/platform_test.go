package config

import (
	"strings"
	"testing"
)

func TestPlatformAuth(t *testing.T) {
	base := map[string]string{"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "secret-value-0123"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	iamRule := "rules:\n  - name: r\n    who: {iam: [\"arn:aws:iam::1:role/x\"]}\n    ops: [get]\n    keys: [\"**\"]\n"
	claimRule := "rules:\n  - name: r\n    who: {claims: {role: [admin]}}\n    ops: [get]\n    keys: [\"**\"]\n"
	for _, tt := range []struct {
		name, file string
		env        map[string]string
		wantErr    string
	}{
		{"env only, iam", "", with("PRESIGN_PLATFORM_AUTH", "aws_iam"), ""},
		{"bad mode", "", with("PRESIGN_PLATFORM_AUTH", "iam-please"), `PRESIGN_PLATFORM_AUTH: "iam-please" must be aws_iam or jwt_authorizer`},
		{"open and platform", "", with("PRESIGN_PLATFORM_AUTH", "aws_iam", "PRESIGN_AUTH", "none"), "PRESIGN_PLATFORM_AUTH: contradicts PRESIGN_AUTH=none"},
		{"iam rule with platform iam", iamRule, with("PRESIGN_PLATFORM_AUTH", "aws_iam"), ""},
		{"iam rule without platform", iamRule, with("PRESIGN_API_KEYS", "a-key-0123456789abcdef"), "rules[0].who.iam: IAM callers come from the Lambda platform"},
		{"claims rule with the JWT authorizer", claimRule, with("PRESIGN_PLATFORM_AUTH", "jwt_authorizer"), ""},
		{"iam ARN that is not one", strings.Replace(iamRule, "arn:aws:iam::1:role/x", "alice", 1), with("PRESIGN_PLATFORM_AUTH", "aws_iam"), `"alice" is not an IAM ARN`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			var err error
			if tt.file == "" {
				c, err = FromEnv(env(tt.env))
			} else {
				c, err = Parse(env(tt.env), "presign.yaml", []byte(tt.file))
			}
			if err == nil {
				err = c.RequireAuth()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
