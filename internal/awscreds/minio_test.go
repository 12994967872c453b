package awscreds

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"presign.dev/internal/s3test"
	"presign.dev/sigv4"
)

// These tests run against MinIO's real STS (internal/s3test).

// env is an environment for Options.Lookup.
func env(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// presignedDo presigns method on key of srv's bucket with cr (5 minutes),
// sends it with body, and returns the status and body of the answer.
func presignedDo(t *testing.T, srv *s3test.Server, cr Credentials, method, key, body string) (int, string) {
	t.Helper()
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	signed := sigv4.NewSigner(cr.Credentials, srv.Region, "s3").Presign(&sigv4.Request{
		Method:  method,
		Scheme:  u.Scheme,
		Host:    u.Host,
		Path:    "/" + srv.Bucket + "/" + key,
		Time:    time.Now(),
		Expires: 5 * time.Minute,
	})
	req, err := http.NewRequest(method, signed, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// awaitIAM returns once MinIO's STS gives credentials for cfg and env.
// MinIO serves S3 before its IAM (policies, OpenID roles) is loaded, and
// until then refuses STS calls ("None of the given policies are defined",
// "RoleARN ... is not defined", "IAM sub-system not initialized"); those
// answers are polled through, anything else fails the test.
func awaitIAM(t *testing.T, cfg Config, environ map[string]string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for {
		p, err := New(cfg, Options{Lookup: env(environ)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Retrieve(t.Context())
		if err == nil {
			return
		}
		msg := err.Error()
		if !strings.Contains(msg, "defined") && !strings.Contains(msg, "initialized") {
			t.Fatalf("MinIO's STS: %v", err)
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("MinIO's IAM not ready after 60s: %v", err)
		}
	}
}

// sessionTokenExp reads the exp claim of a MinIO session token, a JWT
// MinIO signs with its own key: MinIO's own record of when the session
// ends, independent of the answer's Expiration.
func sessionTokenExp(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the session token is not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return time.Unix(claims.Exp, 0)
}

func TestAssumeRoleMinIO(t *testing.T) {
	srv := s3test.StartMinIO(t)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::` + srv.Bucket + `/allowed/*"]}]}`
	cfg := Config{
		Source:        SourceAssumeRole,
		Static:        sigv4.Credentials{AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey},
		RoleARN:       "arn:aws:iam::123456789012:role/presign", // MinIO ignores it
		SessionName:   "presign-test",
		ExternalID:    "presign-ext",
		SessionPolicy: policy,
		Duration:      20 * time.Minute,
		Region:        srv.Region,
		STSEndpoint:   srv.Endpoint,
	}
	awaitIAM(t, cfg, nil)
	p, err := New(cfg, Options{Lookup: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	cr, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cr.Source != "assume_role" || !cr.CanExpire || cr.SessionToken == "" || cr.AccessKeyID == srv.AccessKeyID {
		t.Fatalf("credentials %v", cr)
	}
	// The expiry is the one asked for, and MinIO's own (the token's exp).
	if d := cr.Expires.Sub(before); d < 20*time.Minute-5*time.Second || d > 20*time.Minute+5*time.Second {
		t.Errorf("Expires is %v after the call, want 20m", d)
	}
	if exp := sessionTokenExp(t, cr.SessionToken); !exp.Equal(cr.Expires) {
		t.Errorf("Expires %v, the session token says %v", cr.Expires, exp)
	}

	// The session's credentials sign a PUT MinIO accepts, inside the
	// session policy, and nothing outside it.
	if code, body := presignedDo(t, srv, cr, "PUT", "allowed/a.txt", "hello"); code != 200 {
		t.Fatalf("PUT allowed/a.txt: %d %s", code, body)
	}
	out, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("allowed/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "hello" {
		t.Errorf("stored %q", got)
	}
	for _, c := range []struct{ method, key string }{
		{"PUT", "other/a.txt"},   // another prefix
		{"GET", "allowed/a.txt"}, // another action
		{"DELETE", "allowed/a.txt"},
	} {
		if code, body := presignedDo(t, srv, cr, c.method, c.key, "x"); code != 403 || !strings.Contains(body, "AccessDenied") {
			t.Errorf("%s %s: %d %s, want 403 AccessDenied", c.method, c.key, code, body)
		}
	}

	// Refused (MinIO answers a bad signature to STS as AccessDenied): the
	// error comes back as an *Error with STS's code and message, and no
	// secret in its text.
	bad := cfg
	bad.Static.SecretAccessKey = "wrong-secret-" + srv.SecretAccessKey[:4]
	p, err = New(bad, Options{Lookup: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Code != "AccessDenied" || e.StatusCode != 403 || !strings.Contains(e.Message, "signature") {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), bad.Static.SecretAccessKey) {
		t.Errorf("the error shows the secret: %v", err)
	}
	// A session policy MinIO refuses (no Version).
	bad = cfg
	bad.SessionPolicy = `{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["*"]}]}`
	p, _ = New(bad, Options{Lookup: env(nil)})
	if _, err := p.Retrieve(t.Context()); !errors.As(err, &e) || e.Code != "InvalidParameterValue" {
		t.Errorf("policy without Version: %v", err)
	}
}

// manualClock is a clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestWebIdentityMinIO(t *testing.T) {
	iss := s3test.NewOpenIDIssuer(t)
	srv := s3test.StartMinIOWithEnv(t, iss.MinIOEnv("readwrite")...)
	tokenFile := filepath.Join(t.TempDir(), "token")
	exp := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	if err := os.WriteFile(tokenFile, []byte(iss.Token(t, "system:serviceaccount:apps:presign", exp, nil)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := map[string]string{
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ROLE_ARN":                iss.RoleARN(srv.Region),
		"AWS_ROLE_SESSION_NAME":       "presign-test",
		"AWS_REGION":                  srv.Region,
		"AWS_ENDPOINT_URL_STS":        srv.Endpoint,
	}
	awaitIAM(t, Config{Source: SourceAWSDefault}, environ)
	clock := &manualClock{t: time.Now()}
	p, err := New(Config{Source: SourceAWSDefault}, Options{Now: clock.Now, Lookup: env(environ), RefreshJitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Without DurationSeconds, MinIO ends the session with the ID token.
	if cr.Source != "web_identity" || !cr.Expires.Equal(exp) || !sessionTokenExp(t, cr.SessionToken).Equal(exp) {
		t.Fatalf("credentials %v, want web_identity expiring at %v", cr, exp)
	}
	if code, body := presignedDo(t, srv, cr, "PUT", "pod/a.txt", "from a pod"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := presignedDo(t, srv, cr, "GET", "pod/a.txt", ""); code != 200 || body != "from a pod" {
		t.Fatalf("GET: %d %s", code, body)
	}

	// The token file is read on every refresh: a rotated token gives a
	// new session, a bad one a failed refresh that leaves the held
	// credentials in use until their own expiry, and not after it.
	exp2 := time.Now().Add(40 * time.Minute).Truncate(time.Second)
	if err := os.WriteFile(tokenFile, []byte(iss.Token(t, "system:serviceaccount:apps:presign", exp2, nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Set(exp.Add(-DefaultRefreshWindow)) // due
	if got, err := p.Retrieve(t.Context()); err != nil || got.AccessKeyID != cr.AccessKeyID {
		t.Fatalf("due: %v %v, want the held credentials while refreshing", got, err)
	}
	p.(*Cache).wait()
	cr2, err := p.Retrieve(t.Context())
	if err != nil || cr2.AccessKeyID == cr.AccessKeyID || !cr2.Expires.Equal(exp2) {
		t.Fatalf("after the refresh: %v %v, want new credentials expiring at %v", cr2, err, exp2)
	}

	if err := os.WriteFile(tokenFile, []byte("not-a-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Set(exp2.Add(-DefaultRefreshWindow))
	if got, err := p.Retrieve(t.Context()); err != nil || got.AccessKeyID != cr2.AccessKeyID {
		t.Fatalf("due: %v %v", got, err)
	}
	p.(*Cache).wait()
	clock.Set(exp2.Add(-time.Second)) // past the retry interval, still valid
	if got, err := p.Retrieve(t.Context()); err != nil || got.AccessKeyID != cr2.AccessKeyID || !got.Expires.Equal(exp2) {
		t.Fatalf("refresh failed, held still valid: %v %v", got, err)
	}
	p.(*Cache).wait()
	clock.Set(exp2)
	_, err = p.Retrieve(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Source != "web_identity" || e.Code != "InvalidParameterValue" {
		t.Fatalf("at the expiry with a bad token: %v, want MinIO's refusal", err)
	}
}
