package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"presign.dev/internal/config"
	"presign.dev/internal/s3test"
	"presign.dev/presign"
)

// TestAssumeRoleThroughConfig: a backend whose credentials come from
// credentials: {source: assume_role} signs with the session MinIO's real
// STS gives (its session policy applies to every URL), and each URL's
// expires_at is clamped to that session's end.
func TestAssumeRoleThroughConfig(t *testing.T) {
	srv := s3test.StartMinIO(t)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::` + srv.Bucket + `/allowed/*"]}]}`
	file := fmt.Sprintf(`backends:
  - name: minio
    provider: minio
    endpoint: %s
    region: %s
    bucket: %s
    path_style: true
    access_key_id: %s
    secret_access_key: ${env:ROOT_SECRET}
    credentials:
      source: assume_role
      role_arn: arn:aws:iam::123456789012:role/presign
      session_name: presign-e2e
      session_policy: '%s'
      duration: 20m
      sts_endpoint: %s
defaults: {max_expires: 2h}
`, srv.Endpoint, srv.Region, srv.Bucket, srv.AccessKeyID, policy, srv.Endpoint)
	env := map[string]string{"ROOT_SECRET": srv.SecretAccessKey, "PRESIGN_API_KEYS": "e2e-api-key-0123456789"}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "e2e.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := presign.New(cfg.IssuerConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	put := func(key string, data []byte) (presign.Grant, int) {
		n := int64(len(data))
		g, err := iss.Issue(ctx, presign.Principal{Kind: presign.KindAPIKey, Name: "e2e"},
			presign.Request{Op: presign.OpPut, Key: key, ContentLength: &n, ExpiresIn: 2 * time.Hour})
		if err != nil {
			return g, -1
		}
		req, err := http.NewRequestWithContext(ctx, g.Method, g.URL, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range g.Headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return g, resp.StatusCode
	}

	// MinIO serves S3 before its IAM is loaded: until then STS refuses.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var g presign.Grant
	for st := -1; st != http.StatusOK; {
		before := time.Now()
		if g, st = put("allowed/a.txt", []byte("hello")); st == http.StatusOK {
			// The session lasts 20 minutes: the URL asked for 2 hours
			// ends with it (whole seconds; the session began after before).
			if !g.ExpiresAt.After(before.Add(19*time.Minute)) || g.ExpiresAt.After(time.Now().Add(20*time.Minute)) {
				t.Errorf("expires_at %s: not clamped to the 20-minute session (asked 2h)", g.ExpiresAt)
			}
			if !strings.Contains(g.URL, "X-Amz-Security-Token=") {
				t.Error("the URL carries no session token")
			}
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no PUT with the assumed role's credentials succeeded (last status %d)", st)
		}
	}
	if got, ok := srv.GetObject(t, "allowed/a.txt"); !ok || string(got) != "hello" {
		t.Fatalf("stored %q, %v", got, ok)
	}
	// The session policy applies: a URL outside it is refused by MinIO.
	if _, st := put("denied/a.txt", []byte("no")); st != http.StatusForbidden {
		t.Errorf("PUT outside the session policy: %d, want 403", st)
	}
}
