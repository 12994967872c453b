package main

import (
	"bytes"
	"strings"
	"testing"

	"presign.dev/internal/e2e"
	"presign.dev/internal/s3test"
)

// TestWebAppExample runs examples/webapp.yaml — the README's access-control
// example — through `presign serve`, with JWTs from a local issuer, against
// each real store.
func TestWebAppExample(t *testing.T) {
	for _, name := range s3test.Names {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t, name)
			ti := e2e.NewTokenIssuer(t, "photos-app")
			c, _, _ := testCLI(map[string]string{
				"PRESIGN_ADDR": "127.0.0.1:0",
				"S3_ENDPOINT":  srv.Endpoint, "S3_BUCKET": srv.Bucket,
				"S3_ACCESS_KEY_ID": srv.AccessKeyID, "S3_SECRET_ACCESS_KEY": srv.SecretAccessKey,
				"JWT_ISSUER": ti.Issuer, "JWT_JWKS_URL": ti.JWKSURL,
			})
			var logs bytes.Buffer
			c.stdout = &logs
			api, stop := start(t, c, "serve", "--config", "../../examples/webapp.yaml")
			e2e.RunAccessControl(t, e2e.Target{Flavor: name, API: api, Store: srv}, ti)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if ti.Fetches.Load() != 1 {
				t.Errorf("JWKS fetched %d times, want once (cached)", ti.Fetches.Load())
			}
			out := logs.String()
			// "eyJ" starts every JWT (base64 of {"): no token may reach the logs.
			for _, secret := range []string{srv.SecretAccessKey, "eyJ", "X-Amz-Signature"} {
				if strings.Contains(out, secret) {
					t.Errorf("logs contain %q", secret)
				}
			}
			if !strings.Contains(out, `"msg":"decision"`) || !strings.Contains(out, `"rule":"upload-images"`) {
				t.Errorf("no audit lines:\n%.2000s", out)
			}
		})
	}
}
