package awscreds

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

// t0 is the tests' start of time.
var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func fixedRand() float64 { return 0.5 }

func TestIMDS(t *testing.T) {
	clock := &manualClock{t: t0}
	creds := issued{"ASIAIMDS1", "imds-secret-1", "imds-token-1", t0.Add(6 * time.Hour)}
	f := newFakeIMDS(t, clock.Now, "web-role", creds)
	p, err := New(Config{Source: SourceAWSDefault}, Options{
		Now: clock.Now, Rand: fixedRand,
		Lookup:         env(map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": f.srv.URL + "/"}),
		MetadataClient: f.srv.Client(),
		RetryInterval:  10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{
		Credentials: sigv4.Credentials{AccessKeyID: "ASIAIMDS1", SecretAccessKey: "imds-secret-1", SessionToken: "imds-token-1"},
		CanExpire:   true, Expires: creds.Expiration, Source: "imds",
	}
	got, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// A token first (300 s asked), then the role, then its credentials,
	// both with the token.
	fullFetch := []string{
		"PUT /latest/api/token ttl=300",
		"GET /latest/meta-data/iam/security-credentials/ token=ok",
		"GET /latest/meta-data/iam/security-credentials/web-role token=ok",
	}
	if diff := cmp.Diff(fullFetch, f.takeLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// Refreshed 5m30s before the expiry (window 5m, half the 1m jitter).
	creds2 := issued{"ASIAIMDS2", "imds-secret-2", "imds-token-2", t0.Add(12 * time.Hour)}
	f.set(func(f *fakeIMDS) { f.creds = creds2 })
	clock.Set(creds.Expiration.Add(-5*time.Minute - 30*time.Second - time.Second))
	if got, _ := p.Retrieve(t.Context()); got.AccessKeyID != "ASIAIMDS1" {
		t.Fatalf("not due yet: %v", got)
	}
	p.(*Cache).wait()
	if l := f.takeLog(); len(l) != 0 {
		t.Fatalf("fetched before due: %v", l)
	}
	clock.Set(creds.Expiration.Add(-5*time.Minute - 30*time.Second))
	if got, _ := p.Retrieve(t.Context()); got.AccessKeyID != "ASIAIMDS1" {
		t.Fatalf("due: the held credentials are returned while refreshing: %v", got)
	}
	p.(*Cache).wait()
	if got, _ := p.Retrieve(t.Context()); got.AccessKeyID != "ASIAIMDS2" || !got.Expires.Equal(creds2.Expiration) {
		t.Fatalf("refreshed: %v", got)
	}
	// The token had expired on IMDS's clock (300 s): a new one.
	if diff := cmp.Diff(fullFetch, f.takeLog()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// IMDS forgets its tokens (a restart): 401, a new token, the same GET.
	f.revokeTokens()
	cache := p.(*Cache)
	m := imdsOf(t, cache)
	m.mu.Lock()
	m.tokenExp = clock.Now().Add(time.Hour) // still live as far as the client knows
	m.mu.Unlock()
	if _, err := m.fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append([]string{"GET /latest/meta-data/iam/security-credentials/ token=bad"}, fullFetch...), f.takeLog()); diff != "" {
		t.Errorf("after a 401 (-want +got):\n%s", diff)
	}

	// IMDS down: the held credentials are used until their own expiry,
	// which is never moved, then an error (aws-sdk-go-v2's ec2rolecreds
	// would extend them by 5 to 15 minutes).
	f.srv.Close()
	clock.Set(creds2.Expiration.Add(-5 * time.Minute))
	for _, at := range []time.Duration{-5 * time.Minute, -time.Minute, -time.Second} {
		clock.Set(creds2.Expiration.Add(at))
		got, err := p.Retrieve(t.Context())
		if err != nil || got.AccessKeyID != "ASIAIMDS2" || !got.Expires.Equal(creds2.Expiration) {
			t.Fatalf("%v before the expiry, IMDS down: %v %v", -at, got, err)
		}
		p.(*Cache).wait()
	}
	clock.Set(creds2.Expiration)
	if got, err := p.Retrieve(t.Context()); err == nil {
		t.Fatalf("at the expiry, IMDS down: %v, want an error", got)
	}
	clock.Set(creds2.Expiration.Add(10 * time.Minute))
	if got, err := p.Retrieve(t.Context()); err == nil {
		t.Fatalf("after the expiry, IMDS down: %v, want an error", got)
	}
}

// imdsOf digs the imds source out of a Cache (for the 401 case).
func imdsOf(t *testing.T, c *Cache) *imds {
	t.Helper()
	m, ok := sourceOf[*imds](c)
	if !ok {
		t.Fatal("not an IMDS cache")
	}
	return m
}

func TestIMDSRefusals(t *testing.T) {
	creds := issued{"ASIAIMDS1", "imds-secret-1", "imds-token-1", t0.Add(time.Hour)}
	tests := []struct {
		name    string
		setup   func(f *fakeIMDS)
		role    string
		wantErr string
		wantLog []string
	}{{
		name:    "IMDSv2 disabled: no fallback to IMDSv1",
		setup:   func(f *fakeIMDS) { f.putCode = http.StatusForbidden },
		wantErr: "credentials (imds): PUT session token: HTTP 403: no IMDSv2 session token (IMDSv1 is not used)",
		wantLog: []string{"PUT /latest/api/token ttl=300"},
	}, {
		name:    "no role",
		setup:   func(f *fakeIMDS) { f.noRole = true },
		wantErr: "credentials (imds): GET role name: HTTP 404: the instance has no IAM role",
	}, {
		name:    "expired credentials",
		setup:   func(f *fakeIMDS) { f.creds.Expiration = t0.Add(-time.Second) },
		wantErr: "credentials (imds): refresh: the credentials fetched had expired at 2026-12-06T11:59:59Z",
	}, {
		name:    "credentials expiring now",
		setup:   func(f *fakeIMDS) { f.creds.Expiration = t0 },
		wantErr: "credentials (imds): refresh: the credentials fetched had expired at 2026-12-06T12:00:00Z",
	}, {
		name:    "not Success",
		setup:   func(f *fakeIMDS) { f.code = "AssumeRoleUnauthorizedAccess" },
		wantErr: "credentials (imds): GET credentials of role web-role: AssumeRoleUnauthorizedAccess",
	}, {
		name:    "a role name that is a path",
		role:    "../../user-data",
		wantErr: "credentials (imds): GET role name: the answer is not a role name",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := tt.role
			if role == "" {
				role = "web-role"
			}
			f := newFakeIMDS(t, func() time.Time { return t0 }, role, creds)
			if tt.setup != nil {
				f.set(tt.setup)
			}
			p, err := New(Config{}, Options{
				Now:            func() time.Time { return t0 },
				Lookup:         env(map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": f.srv.URL}),
				MetadataClient: f.srv.Client(),
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Retrieve(t.Context())
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "imds-secret") || strings.Contains(err.Error(), "imds-token") {
				t.Errorf("the error shows a secret: %v", err)
			}
			log := f.takeLog()
			if tt.wantLog != nil {
				if diff := cmp.Diff(tt.wantLog, log); diff != "" {
					t.Errorf("requests (-want +got):\n%s", diff)
				}
			}
			for _, l := range log {
				if strings.HasSuffix(l, "token=none") {
					t.Errorf("a request without a token (IMDSv1): %s", l)
				}
			}
		})
	}
}

// TestIMDSDefaultEndpoint: with no endpoint configured, IMDS is reached at
// 169.254.169.254 (IPv4) or [fd00:ec2::254] (IPv6 mode); disabled, there
// is no source left.
func TestIMDSDefaultEndpoint(t *testing.T) {
	creds := issued{"ASIAIMDS1", "imds-secret-1", "imds-token-1", t0.Add(time.Hour)}
	f := newFakeIMDS(t, func() time.Time { return t0 }, "r", creds)
	client := routedClient(map[string]string{"169.254.169.254:80": hostOf(f.srv), "[fd00:ec2::254]:80": hostOf(f.srv)})
	for _, mode := range []string{"", "IPv4", "ipv6"} {
		p, err := New(Config{}, Options{
			Now:            func() time.Time { return t0 },
			Lookup:         env(map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": mode}),
			MetadataClient: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.Retrieve(t.Context()); err != nil || got.AccessKeyID != "ASIAIMDS1" {
			t.Errorf("mode %q: %v %v", mode, got, err)
		}
	}
	_, err := New(Config{}, Options{Lookup: env(map[string]string{"AWS_EC2_METADATA_DISABLED": "true"})})
	if !errors.Is(err, errNoSource) {
		t.Errorf("disabled: %v", err)
	}
}

func TestContainer(t *testing.T) {
	clock := &manualClock{t: t0}
	creds := issued{"ASIAECS1", "ecs-secret-1", "ecs-token-1", t0.Add(6 * time.Hour)}

	t.Run("ECS relative URI", func(t *testing.T) {
		f := newFakeContainer(t, "/v2/credentials/6f1b", "", creds, false)
		p, err := New(Config{}, Options{
			Now:            clock.Now,
			Lookup:         env(map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/6f1b"}),
			MetadataClient: routedClient(map[string]string{"169.254.170.2:80": hostOf(f.srv)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Retrieve(t.Context())
		want := Credentials{
			Credentials: sigv4.Credentials{AccessKeyID: "ASIAECS1", SecretAccessKey: "ecs-secret-1", SessionToken: "ecs-token-1"},
			CanExpire:   true, Expires: creds.Expiration, Source: "container",
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"GET /v2/credentials/6f1b accept=application/json authorization="}, f.takeLog()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("Pod Identity: token file read on every fetch", func(t *testing.T) {
		f := newFakeContainer(t, "/v1/credentials", "eks-token-A", creds, false)
		tokenFile := filepath.Join(t.TempDir(), "eks-pod-identity-token")
		os.WriteFile(tokenFile, []byte("eks-token-A\n"), 0o600)
		p, err := New(Config{}, Options{
			Now: clock.Now,
			Lookup: env(map[string]string{
				"AWS_CONTAINER_CREDENTIALS_FULL_URI":     f.srv.URL + "/v1/credentials", // loopback over http
				"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
				"AWS_CONTAINER_AUTHORIZATION_TOKEN":      "ignored-when-the-file-is-set",
			}),
			// The default client: it connects only to allowed addresses,
			// loopback among them.
		})
		if err != nil {
			t.Fatal(err)
		}
		c := p.(*Cache)
		if _, err := c.Retrieve(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Rotated: the next fetch sends the new token.
		f.mu.Lock()
		f.token = "eks-token-B"
		f.mu.Unlock()
		os.WriteFile(tokenFile, []byte("eks-token-B"), 0o600)
		ct, _ := sourceOf[*container](c)
		if _, err := ct.fetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{
			"GET /v1/credentials accept=application/json authorization=eks-token-A",
			"GET /v1/credentials accept=application/json authorization=eks-token-B",
		}, f.takeLog()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		// A token with a line break inside is never sent.
		os.WriteFile(tokenFile, []byte("eks-token-B\nX-Injected: 1"), 0o600)
		if _, err := ct.fetch(t.Context()); err == nil || strings.Contains(err.Error(), "eks-token") {
			t.Errorf("token with a line break: %v", err)
		}
		if l := f.takeLog(); len(l) != 0 {
			t.Errorf("sent anyway: %v", l)
		}
	})

	t.Run("https full URI, token from the environment", func(t *testing.T) {
		f := newFakeContainer(t, "/creds", "static-token", creds, true)
		p, err := New(Config{}, Options{
			Now: clock.Now,
			Lookup: env(map[string]string{
				"AWS_CONTAINER_CREDENTIALS_FULL_URI": f.srv.URL + "/creds",
				"AWS_CONTAINER_AUTHORIZATION_TOKEN":  "static-token",
			}),
			MetadataClient: f.srv.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.Retrieve(t.Context()); err != nil || got.AccessKeyID != "ASIAECS1" {
			t.Errorf("%v %v", got, err)
		}
	})

	t.Run("429 and 500 are tried again", func(t *testing.T) {
		defer func(b time.Duration) { metadataBackoff = b }(metadataBackoff)
		metadataBackoff = time.Millisecond
		f := newFakeContainer(t, "/v2/credentials/x", "", creds, false)
		f.status = []int{429, 500}
		p, _ := New(Config{}, Options{
			Now:            clock.Now,
			Lookup:         env(map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}),
			MetadataClient: routedClient(map[string]string{"169.254.170.2:80": hostOf(f.srv)}),
		})
		if got, err := p.Retrieve(t.Context()); err != nil || got.AccessKeyID != "ASIAECS1" {
			t.Errorf("%v %v", got, err)
		}
		if n := len(f.takeLog()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
		f.status = []int{503, 503, 503}
		ct, _ := sourceOf[*container](p.(*Cache))
		_, err := ct.fetch(t.Context())
		if err == nil || err.Error() != "credentials (container): GET credentials: HTTP 503: ThrottlingException: slow down" {
			t.Errorf("three 503s: %v", err)
		}
	})

	refusals := []struct {
		name    string
		env     map[string]string
		setup   func(f *fakeContainer)
		wantErr string
	}{{
		name:    "wrong token",
		env:     map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong-token"},
		wantErr: "credentials (container): GET credentials: HTTP 401: AccessDeniedException: invalid authorization token",
	}, {
		name:    "no expiration",
		setup:   func(f *fakeContainer) { f.noExp = true },
		wantErr: "credentials (container): GET credentials: HTTP 200: no expiration in the answer",
	}, {
		name:    "expired",
		setup:   func(f *fakeContainer) { f.creds.Expiration = t0.Add(-time.Minute) },
		wantErr: "credentials (container): refresh: the credentials fetched had expired at 2026-12-06T11:59:00Z",
	}}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeContainer(t, "/v1/credentials", "right-token", creds, false)
			if tt.setup != nil {
				tt.setup(f)
			}
			e := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": f.srv.URL + "/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "right-token"}
			for k, v := range tt.env {
				e[k] = v
			}
			p, err := New(Config{}, Options{Now: clock.Now, Lookup: env(e)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Retrieve(t.Context())
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestContainerHosts: an http FULL_URI may reach only loopback and the
// ECS and EKS addresses, checked before the request (the URL's host, or
// every address its name resolves to) and again when connecting.
func TestContainerHosts(t *testing.T) {
	tests := []struct {
		url     string
		resolve []string // what the name resolves to
		allowed bool
	}{
		{url: "http://127.0.0.1/v1", allowed: true},
		{url: "http://127.9.9.9:8080/v1", allowed: true},
		{url: "http://[::1]/v1", allowed: true},
		{url: "http://169.254.170.2/v1", allowed: true},
		{url: "http://169.254.170.23/v1/credentials", allowed: true},
		{url: "http://[fd00:ec2::23]/v1/credentials", allowed: true},
		{url: "http://[::ffff:127.0.0.1]/v1", allowed: true},
		{url: "http://169.254.169.254/latest", allowed: false},
		{url: "http://10.0.0.1/v1", allowed: false},
		{url: "http://[fd00:ec2::24]/v1", allowed: false},
		{url: "http://localhost/v1", resolve: []string{"127.0.0.1", "::1"}, allowed: true},
		{url: "http://creds.internal/v1", resolve: []string{"127.0.0.1", "10.1.2.3"}, allowed: false},
		{url: "http://creds.internal/v1", resolve: []string{"10.1.2.3"}, allowed: false},
	}
	for _, tt := range tests {
		p, err := New(Config{}, Options{Lookup: env(map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": tt.url})})
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := sourceOf[*container](p.(*Cache))
		ct.lookup = func(_ context.Context, host string) ([]string, error) {
			if tt.resolve == nil {
				t.Errorf("%s: %s looked up", tt.url, host)
			}
			return tt.resolve, nil
		}
		err = ct.checkAddrs(t.Context())
		if (err == nil) != tt.allowed {
			t.Errorf("%s: %v, want allowed %v", tt.url, err, tt.allowed)
		}
	}

	// The default client refuses to connect elsewhere even when a name
	// passed the check (a DNS answer that changed in between): 192.0.2.1
	// is refused before any packet is sent.
	client := metadataClient(Options{}, allowedContainerAddr)
	start := time.Now()
	_, err := client.Get("http://192.0.2.1/v1/credentials")
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("connect to 192.0.2.1: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v: refused after trying to connect", d)
	}

	// An https URL may be anywhere.
	if _, err := New(Config{}, Options{Lookup: env(map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "https://creds.example.com/v1"})}); err != nil {
		t.Error(err)
	}
}

// sourceOf is the source behind a Cache that New made.
func sourceOf[T any](c *Cache) (T, bool) {
	v, ok := c.src.(T)
	return v, ok
}
