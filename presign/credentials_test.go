package presign

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

// fakeSource is a CredentialSource whose credentials and expiry the test
// sets.
type fakeSource struct {
	mu      sync.Mutex
	creds   sigv4.Credentials
	expires time.Time
	err     error
}

func (f *fakeSource) Credentials(context.Context) (sigv4.Credentials, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creds, f.expires, f.err
}

func (f *fakeSource) set(id string, expires time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creds = sigv4.Credentials{AccessKeyID: id, SecretAccessKey: "secret-" + id, SessionToken: "token-" + id}
	f.expires, f.err = expires, err
}

// TestCredentialSource: every URL's lifetime is clamped to the signing
// credentials' remaining life, expires_at says so, renewed credentials
// sign from then on, and a source that fails is 503 (nothing signed).
func TestCredentialSource(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{}
	now := testTime // whole seconds
	st := newMemStore()
	iss := testIssuer(t, func(c *Config) {
		c.Backends[0].Credentials = sigv4.Credentials{}
		c.Backends[0].CredentialSource = src
		c.MaxExpires = time.Hour
		c.Now = func() time.Time { return now }
		c.Uploads = UploadsConfig{Secrets: testSecrets}
		c.NewStore = func(Backend) (Store, error) { return st, nil }
	})
	type seen struct {
		Credential, Token, Expires string
		ExpiresAt                  time.Time
	}
	look := func(g Grant) seen {
		u, err := url.Parse(g.URL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		return seen{strings.SplitN(q.Get("X-Amz-Credential"), "/", 2)[0], q.Get("X-Amz-Security-Token"), q.Get("X-Amz-Expires"), g.ExpiresAt}
	}
	for _, tc := range []struct {
		name      string
		id        string
		credsLeft time.Duration // 0: credentials that do not expire
		ask       time.Duration
		want      seen
	}{
		{"long-lived credentials: the asked lifetime", "A", 6 * time.Hour, 30 * time.Minute, seen{"A", "token-A", "1800", now.Add(30 * time.Minute)}},
		{"credentials expiring first: their life", "A", 10 * time.Minute, 30 * time.Minute, seen{"A", "token-A", "600", now.Add(10 * time.Minute)}},
		{"a fraction of a second is not given", "B", 90*time.Second + 700*time.Millisecond, time.Hour, seen{"B", "token-B", "90", now.Add(90 * time.Second)}},
		{"renewed credentials sign", "C", time.Hour, 15 * time.Minute, seen{"C", "token-C", "900", now.Add(15 * time.Minute)}},
		{"credentials without expiry", "D", 0, 20 * time.Minute, seen{"D", "token-D", "1200", now.Add(20 * time.Minute)}},
	} {
		var exp time.Time
		if tc.credsLeft > 0 {
			exp = now.Add(tc.credsLeft)
		}
		src.set(tc.id, exp, nil)
		g, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "k", ExpiresIn: tc.ask})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, look(g)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// Part URLs too.
	src.set("E", now.Add(5*time.Minute), nil)
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "big", Size: 6 << 20})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := look(Grant{URL: parts[0].URL, ExpiresAt: parts[0].ExpiresAt}); got != (seen{"E", "token-E", "300", now.Add(5 * time.Minute)}) {
		t.Errorf("part URL: %+v", got)
	}

	// Less than a second left, or a failing source: nothing is signed.
	src.set("F", now.Add(999*time.Millisecond), nil)
	if g, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "k"}); ErrorCode(err) != CodeUnavailable {
		t.Errorf("credentials expiring now: %+v, %v", g, err)
	}
	src.set("G", time.Time{}, errors.New("sts: connection refused"))
	if g, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "k"}); ErrorCode(err) != CodeUnavailable || g.URL != "" {
		t.Errorf("failing source: %+v, %v", g, err)
	}
	if _, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}}); ErrorCode(err) != CodeUnavailable {
		t.Errorf("failing source, part URLs: %v", err)
	}
}

func TestCredentialSourceValidation(t *testing.T) {
	b := Backend{Bucket: "bucket", CredentialSource: &fakeSource{}}
	if ps := b.Validate(); len(ps) > 0 {
		t.Errorf("a source without static keys: %v", ps)
	}
	b.Credentials.AccessKeyID = "AK"
	want := Problems{{Field: "access_key_id", Message: "credentials come from their source here: give no static keys"}}
	if diff := cmp.Diff(want, b.Validate()); diff != "" {
		t.Errorf("a source and static keys (-want +got):\n%s", diff)
	}
}
