package azuresas

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/azuritetest"
)

// clock is a time that tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingTokens hands out Azurite's tokens and counts them; err, when set,
// is returned instead.
type countingTokens struct {
	s   *azuritetest.Server
	n   atomic.Int32
	err atomic.Pointer[error]
	// gate, when not nil, holds every call until it is closed; entered
	// then tells that a call is held.
	gate, entered chan struct{}
}

func (c *countingTokens) Token(ctx context.Context) (Token, error) {
	c.n.Add(1)
	if c.gate != nil {
		select {
		case c.entered <- struct{}{}:
		default:
		}
		<-c.gate
	}
	if err := c.err.Load(); err != nil {
		return Token{}, *err
	}
	return Token{Value: c.s.Token("6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", "72f988bf-86f1-41af-91ab-2d7cd011db47")}, nil
}

// TestDelegationKeys gets user delegation keys from Azurite (HTTPS, --oauth
// basic) through DelegationKeys, on a clock the test moves: one request for
// many callers, the key held until the middle of its life, renewed then in
// the background while the old one still signs, a failure retried no
// sooner than RetryInterval, and never a key past its expiry.
func TestDelegationKeys(t *testing.T) {
	s := azuritetest.StartOAuth(t)
	ctx := context.Background()
	clk := &clock{t: time.Now().Truncate(time.Second)}
	t0 := clk.Now()
	toks := &countingTokens{s: s, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	d := &DelegationKeys{Account: s.AccountName, Endpoint: s.Endpoint, Tokens: toks, HTTP: s.HTTPClient,
		Now: clk.Now, Lifetime: 2 * time.Hour, RetryInterval: time.Minute}

	// Many callers at once before the first key: one token, one key.
	var wg sync.WaitGroup
	signers := make([]*Signer, 8)
	errs := make([]error, 8)
	for i := range signers {
		wg.Go(func() { signers[i], errs[i] = d.Signer(ctx) })
	}
	// The first caller's request is held at the gate: the others find it
	// in flight and wait for it (or, if they come after, find its key).
	<-toks.entered
	close(toks.gate)
	wg.Wait()
	for i := range signers {
		if errs[i] != nil || signers[i] != signers[0] {
			t.Fatalf("caller %d: %p, %v; want the one key", i, signers[i], errs[i])
		}
	}
	if n := toks.n.Load(); n != 1 {
		t.Fatalf("%d tokens asked for, want 1", n)
	}
	first := signers[0]
	want := UserDelegationKey{ObjectID: "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Start: t0.Add(-KeyBackdate), Expiry: t0.Add(2 * time.Hour), Service: "b", Version: first.udk.Version, Value: first.udk.Value}
	if diff := cmp.Diff(want, *first.udk); diff != "" {
		t.Fatalf("the key (-want +got):\n%s", diff)
	}
	if first.AccountName() != s.AccountName || !first.KeyExpiry().Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("the signer: %s, key expiry %v", first.AccountName(), first.KeyExpiry())
	}

	// Before the middle of its life (its start, t0 - 5m, + (2h + 5m)/2 =
	// t0 + 57m30s): the same key, nothing asked.
	clk.Add(57 * time.Minute)
	if sg, err := d.Signer(ctx); err != nil || sg != first {
		t.Fatalf("before the middle: %p, %v; want the first key", sg, err)
	}
	d.wait()
	if n := toks.n.Load(); n != 1 {
		t.Fatalf("before the middle: %d tokens asked for, want 1", n)
	}
	// Past the middle: the first key still, and a new one in the
	// background.
	clk.Add(3 * time.Minute)
	if sg, err := d.Signer(ctx); err != nil || sg != first {
		t.Fatalf("past the middle: %p, %v; want the first key while it renews", sg, err)
	}
	d.wait()
	second, err := d.Signer(ctx)
	if err != nil || second == first || !second.KeyExpiry().Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after the renewal: %v, %v", second, err)
	}
	if n := toks.n.Load(); n != 2 {
		t.Fatalf("after the renewal: %d tokens asked for, want 2", n)
	}

	// The token source fails: the key held serves until it expires, one
	// request per RetryInterval at most, then the failure.
	fail := errors.New("token endpoint down")
	toks.err.Store(&fail)
	clk.Add(time.Hour) // past the second key's middle (t0 + 1h57m30s)
	if sg, err := d.Signer(ctx); err != nil || sg != second {
		t.Fatalf("renewal failing: %p, %v; want the second key", sg, err)
	}
	d.wait()
	if sg, err := d.Signer(ctx); err != nil || sg != second {
		t.Fatalf("renewal failed: %p, %v; want the second key", sg, err)
	}
	d.wait()
	if n := toks.n.Load(); n != 3 {
		t.Fatalf("within RetryInterval of a failure: %d tokens asked for, want 3", n)
	}
	clk.Add(time.Hour) // at the second key's expiry (t0 + 3h)
	_, err = d.Signer(ctx)
	if !errors.Is(err, fail) {
		t.Fatalf("after the key expired, renewal failing: %v, want the token source's error", err)
	}
	if _, err2 := d.Signer(ctx); !errors.Is(err2, fail) || toks.n.Load() != 4 {
		t.Fatalf("again within RetryInterval: %v, %d tokens asked for; want the same error without asking", err2, toks.n.Load())
	}
	toks.err.Store(nil)
	clk.Add(time.Minute)
	third, err := d.Signer(ctx)
	if err != nil || !third.KeyExpiry().Equal(clk.Now().Add(2*time.Hour)) {
		t.Fatalf("after RetryInterval: %v, %v", third, err)
	}
	if strings.Contains(err2string(err), "eyJ") {
		t.Errorf("an error holds a token: %v", err)
	}
}

// TestDelegationKeysLifetime: a key never lives longer than Azure allows,
// counted from its (backdated) start.
func TestDelegationKeysLifetime(t *testing.T) {
	s := azuritetest.StartOAuth(t)
	now := time.Now().Truncate(time.Second)
	d := &DelegationKeys{Account: s.AccountName, Endpoint: s.Endpoint, Tokens: &countingTokens{s: s}, HTTP: s.HTTPClient,
		Now: func() time.Time { return now }, Lifetime: 30 * 24 * time.Hour}
	sg, err := d.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sg.KeyExpiry(), now.Add(-KeyBackdate).Add(MaxUserDelegationKeyLifetime); !got.Equal(want) {
		t.Errorf("key expiry %v, want %v", got, want)
	}
}

// TestDelegationKeysRefused: Azurite refuses a token of another audience;
// the error is Azure's, and holds no token.
func TestDelegationKeysRefused(t *testing.T) {
	s := azuritetest.StartOAuth(t)
	tok := s.Token("6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", "72f988bf-86f1-41af-91ab-2d7cd011db47")
	// The same claims with the audience of Azure Resource Manager.
	other := TokenFunc(func(context.Context) (Token, error) {
		parts := strings.Split(tok, ".")
		return Token{Value: parts[0] + "." + reaudience(t, parts[1]) + "."}, nil
	})
	d := &DelegationKeys{Account: s.AccountName, Endpoint: s.Endpoint, Tokens: other, HTTP: s.HTTPClient}
	_, err := d.Signer(context.Background())
	var e *Error
	if !errors.As(err, &e) || (e.StatusCode != http.StatusUnauthorized && e.StatusCode != http.StatusForbidden) {
		t.Fatalf("%v, want Azure's 401 or 403", err)
	}
	if strings.Contains(err.Error(), tok[:20]) {
		t.Errorf("the error holds the token: %v", err)
	}
}

func reaudience(t *testing.T, payload string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"https://storage.azure.com"`), []byte(`"https://management.azure.com/"`), 1)
	return base64.RawURLEncoding.EncodeToString(b)
}

func err2string(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
