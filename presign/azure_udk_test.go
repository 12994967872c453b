package presign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/azuresas"
	"presign.dev/internal/azuritetest"
	"presign.dev/sigv4"
)

// Kind azure with user delegation keys (Backend.AzureKeys): validated,
// every URL clamped to its key's expiry, and used for real against Azurite
// over HTTPS with --oauth basic (tokens of any signature with the right
// issuer, audience and lifetime; user delegation keys checked as Azure
// does).

// keyFunc is an AzureKeySource of a function.
type keyFunc func(ctx context.Context) (*azuresas.Signer, error)

func (f keyFunc) Signer(ctx context.Context) (*azuresas.Signer, error) { return f(ctx) }

// udkSigner is the signer of a made-up user delegation key of account
// presigntest valid from start to expiry.
func udkSigner(t testing.TB, start, expiry time.Time) *azuresas.Signer {
	t.Helper()
	sg, err := azuresas.NewUserDelegationSigner("presigntest", azuresas.UserDelegationKey{
		ObjectID: "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Start: start, Expiry: expiry, Service: "b", Version: azuresas.Version, Value: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

func udkBackend(src AzureKeySource) Backend {
	return Backend{Name: "default", Kind: KindAzure, Bucket: "photos",
		Credentials: sigv4.Credentials{AccessKeyID: "presigntest"}, AzureKeys: src}
}

func TestAzureUserDelegationValidation(t *testing.T) {
	src := keyFunc(func(context.Context) (*azuresas.Signer, error) { return nil, errors.New("unused") })
	tests := []struct {
		name string
		mod  func(*Backend)
		want Problems
	}{
		{"valid", func(*Backend) {}, nil},
		{"no account", func(b *Backend) { b.Credentials.AccessKeyID = "" }, Problems{
			{"account_name", "required: the storage account whose user delegation keys sign"},
		}},
		{"bad account", func(b *Backend) { b.Credentials.AccessKeyID = "Presign" }, Problems{
			{"account_name", `"Presign" is not a storage account name: 3 to 24 lower-case letters and digits`},
		}},
		{"an account key too", func(b *Backend) { b.Credentials.SecretAccessKey = azureKey }, Problems{
			{"account_key", "user delegation keys sign here (credentials): give no account key"},
		}},
		{"an AWS source too", func(b *Backend) { b.CredentialSource = staticSource{} }, Problems{
			{"credentials.source", "kind azure signs with the storage account's key (account_name, account_key); credential sources are AWS's"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := udkBackend(src)
			tt.mod(&b)
			got := b.Validate()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if strings.Contains(fmt.Sprint(got), azureKey) {
				t.Errorf("a problem quotes the key: %v", got)
			}
		})
	}
	if got := udkBackend(src).WithDefaults().Endpoint; got != "https://presigntest.blob.core.windows.net" {
		t.Errorf("the default endpoint: %s", got)
	}
}

// TestAzureUserDelegationClamp: every URL and part URL ends no later than
// its key, whatever lifetime was asked, and says so in expires_at; a key
// that cannot be had, or that is about to expire, is CodeUnavailable.
func TestAzureUserDelegationClamp(t *testing.T) {
	keyExpiry := testTime.Add(10 * time.Minute)
	sg := udkSigner(t, testTime.Add(-time.Hour), keyExpiry)
	var mu sync.Mutex
	cur, fail := sg, error(nil)
	src := keyFunc(func(context.Context) (*azuresas.Signer, error) {
		mu.Lock()
		defer mu.Unlock()
		return cur, fail
	})
	dec := &Decision{Rule: "r"}
	iss := kindIssuer(t, udkBackend(src), dec, nil)
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		r    Request
		want time.Time
	}{
		{"within the key's life", Request{Op: OpGet, Key: "a.txt", ExpiresIn: 5 * time.Minute}, testTime.Add(5 * time.Minute)},
		{"past the key's life", Request{Op: OpPut, Key: "a.txt", ExpiresIn: time.Hour}, keyExpiry},
		{"a week", Request{Op: OpDelete, Key: "a.txt", ExpiresIn: 7 * 24 * time.Hour}, keyExpiry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := iss.Issue(ctx, alice, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			_, q := sasOf(t, g.URL)
			if !g.ExpiresAt.Equal(tc.want) || q.Get("se") != tc.want.Format(azuresas.TimeFormat) ||
				q.Get("ske") != keyExpiry.Format(azuresas.TimeFormat) || q.Get("skoid") == "" {
				t.Errorf("expires_at %v, se %s, ske %s; want %v", g.ExpiresAt, q.Get("se"), q.Get("ske"), tc.want)
			}
		})
	}
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "big.bin", Size: 12 << 20})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}, {Number: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		_, q := sasOf(t, p.URL)
		if !p.ExpiresAt.Equal(keyExpiry) || q.Get("se") != keyExpiry.Format(azuresas.TimeFormat) || q.Get("ske") == "" {
			t.Errorf("part %d: expires_at %v, se %s; want the key's expiry %v", p.Number, p.ExpiresAt, q.Get("se"), keyExpiry)
		}
	}

	// A key with less than a second left, and a source that fails.
	mu.Lock()
	cur = udkSigner(t, testTime.Add(-time.Hour), testTime.Add(999*time.Millisecond))
	mu.Unlock()
	if _, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "a.txt"}); !isCode(err, CodeUnavailable) {
		t.Errorf("with a key about to expire: %v, want unavailable", err)
	}
	mu.Lock()
	cur, fail = nil, errors.New("IMDS answered 500")
	mu.Unlock()
	_, err = iss.Issue(ctx, alice, Request{Op: OpGet, Key: "a.txt"})
	if !isCode(err, CodeUnavailable) || ErrorMessage(err) != "the backend's user delegation key could not be obtained; try again" {
		t.Errorf("with the source failing: %v", err)
	}
	if _, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}}); !isCode(err, CodeUnavailable) {
		t.Errorf("part URLs with the source failing: %v", err)
	}
}

func isCode(err error, c Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}

// udkAzurite is an Azurite server over HTTPS with --oauth basic, and a
// backend of its account that signs with user delegation keys got with
// Azurite's tokens, on a clock the test moves.
type udkAzurite struct {
	*azuritetest.Server
	clk     *udkClock
	keys    *azuresas.DelegationKeys
	backend Backend
}

type udkClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *udkClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *udkClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	udkOID = "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01"
	udkTID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

func startUDKAzurite(t *testing.T) *udkAzurite {
	t.Helper()
	s := azuritetest.StartOAuth(t)
	a := &udkAzurite{Server: s, clk: &udkClock{t: time.Now().Truncate(time.Second)}}
	a.keys = &azuresas.DelegationKeys{Account: s.AccountName, Endpoint: s.Endpoint, HTTP: s.HTTPClient, Now: a.clk.Now, Lifetime: time.Hour,
		Tokens: azuresas.TokenFunc(func(context.Context) (azuresas.Token, error) {
			return azuresas.Token{Value: s.Token(udkOID, udkTID)}, nil
		})}
	a.backend = Backend{Name: "az", Kind: KindAzure, Endpoint: s.Endpoint, Bucket: s.Container,
		Credentials: sigv4.Credentials{AccessKeyID: s.AccountName}, AzureKeys: a.keys}
	return a
}

func (a *udkAzurite) issuer(t *testing.T, b Backend, now func() time.Time) *Issuer {
	t.Helper()
	if ps := b.Validate(); len(ps) > 0 {
		t.Fatal(ps)
	}
	return kindIssuer(t, b, &Decision{Rule: "r"}, func(c *Config) {
		c.Now = now
		c.StoreOptions = StoreOptions{HTTPClient: a.HTTPClient}
	})
}

// send sends a grant's request as a client would, through Azurite's
// client (which trusts its certificate), and returns the status, the
// error code and the body.
func (a *udkAzurite) send(t *testing.T, method, u string, headers map[string]string, body []byte) (int, string, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := a.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), data, resp.Header
}

// TestAzureUserDelegationAzurite: grants signed with user delegation keys
// (got from Azurite with a bearer token, through azuresas.DelegationKeys)
// put and get blobs, a multipart upload's parts land and presign's own
// calls (block list, commit, properties) go through with the same keys;
// expires_at is never past the key's expiry, and Azurite refuses a forged
// key and an expired one.
func TestAzureUserDelegationAzurite(t *testing.T) {
	a := startUDKAzurite(t)
	t0 := a.clk.Now()
	iss := a.issuer(t, a.backend, a.clk.Now)
	ctx := context.Background()

	put, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "ud/a b.txt", ContentType: "text/plain", Metadata: map[string]string{"owner": "u1"}, ExpiresIn: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, q := sasOf(t, put.URL)
	if q.Get("skoid") != udkOID || q.Get("sktid") != udkTID || q.Get("spr") != "https" || !put.ExpiresAt.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("the put: %s until %v", put.URL, put.ExpiresAt)
	}
	if status, code, body, _ := a.send(t, put.Method, put.URL, put.Headers, []byte("hello")); status != http.StatusCreated {
		t.Fatalf("PUT with a user delegation SAS: %d %s\n%s", status, code, body)
	}
	get, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "ud/a b.txt", Filename: "r.txt"})
	if err != nil {
		t.Fatal(err)
	}
	status, code, body, h := a.send(t, get.Method, get.URL, get.Headers, nil)
	if status != http.StatusOK || string(body) != "hello" || h.Get("Content-Disposition") != ContentDisposition("r.txt") ||
		h.Get("Content-Type") != "text/plain" || h.Get("x-ms-meta-owner") != "u1" {
		t.Fatalf("GET with a user delegation SAS: %d %s %q %v", status, code, body, h)
	}

	// A week asked: the key's hour given, and said.
	week, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "ud/a b.txt", ExpiresIn: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, q = sasOf(t, week.URL)
	if !week.ExpiresAt.Equal(t0.Add(time.Hour)) || q.Get("se") != q.Get("ske") || q.Get("ske") != t0.Add(time.Hour).UTC().Format(azuresas.TimeFormat) {
		t.Errorf("a week asked: expires_at %v, se %s, ske %s; want the key's expiry %v", week.ExpiresAt, q.Get("se"), q.Get("ske"), t0.Add(time.Hour))
	}
	if status, code, _, _ := a.send(t, week.Method, week.URL, nil, nil); status != http.StatusOK {
		t.Errorf("GET of the week's URL: %d %s", status, code)
	}

	// A multipart upload: Put Block with part URLs, then presign's own Get
	// Block List and Put Block List, and a repeated complete (which reads
	// the blob's properties) — all with user delegation keys.
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "ud/big.bin", Size: 5<<20 + 3, ContentType: "application/x-test"})
	if err != nil {
		t.Fatal(err)
	}
	grants, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}, {Number: 2}})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (5<<20+3)/16+1)[:5<<20+3]
	for _, g := range grants {
		part := data[:5<<20]
		if g.Number == 2 {
			part = data[5<<20:]
		}
		if status, code, body, _ := a.send(t, http.MethodPut, g.URL, g.Headers, part); status != http.StatusCreated {
			t.Fatalf("Put Block %d: %d %s\n%s", g.Number, status, code, body)
		}
	}
	parts, err := iss.ListUploadParts(ctx, alice, up.Token)
	if err != nil || len(parts) != 2 {
		t.Fatalf("ListUploadParts: %v, %v", parts, err)
	}
	named := []PartETag{{Number: 1, ETag: parts[0].ETag}, {Number: 2, ETag: parts[1].ETag}}
	done, err := iss.CompleteUpload(ctx, alice, up.Token, named)
	if err != nil {
		t.Fatal(err)
	}
	again, err := iss.CompleteUpload(ctx, alice, up.Token, named)
	if err != nil || again.ETag != done.ETag {
		t.Fatalf("complete again: %+v, %v; want %+v", again, err, done)
	}
	if resp, body := a.Get(t, "ud/big.bin"); !bytes.Equal(body, data) || resp.Header.Get("Content-Type") != "application/x-test" {
		t.Fatalf("the committed blob: %d bytes, %v", len(body), resp.Header)
	}

	// Past the middle of the key's life: whichever key signs (the held one
	// while the renewal runs, then the new one), a URL never outlives it.
	a.clk.Add(40 * time.Minute)
	for i := range 3 {
		g, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "ud/a b.txt", ExpiresIn: 7 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		_, q := sasOf(t, g.URL)
		ske, err := time.Parse(azuresas.TimeFormat, q.Get("ske"))
		if err != nil || g.ExpiresAt.After(ske) || q.Get("se") != g.ExpiresAt.UTC().Format(azuresas.TimeFormat) {
			t.Errorf("grant %d: expires_at %v, se %s, ske %s", i, g.ExpiresAt, q.Get("se"), q.Get("ske"))
		}
		// A renewed key starts (5 minutes before) the moved clock, which
		// Azurite's is not at yet: only a key already valid can be used.
		if skt, err := time.Parse(azuresas.TimeFormat, q.Get("skt")); err == nil && !skt.After(time.Now()) {
			if status, code, _, _ := a.send(t, g.Method, g.URL, nil, nil); status != http.StatusOK {
				t.Errorf("grant %d: GET %d %s", i, status, code)
			}
		}
	}

	// Refused by Azurite: a key whose value is not the one Azurite gave,
	// and a key that has expired (Azurite answers Get User Delegation Key
	// for any times; it refuses the key at use).
	k, err := azuresas.GetUserDelegationKey(ctx, a.HTTPClient, a.Endpoint, a.Token(udkOID, udkTID), t0.Add(-3*time.Hour), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := azuresas.NewUserDelegationSigner(a.AccountName, k)
	if err != nil {
		t.Fatal(err)
	}
	forgedKey := k
	forgedKey.Start, forgedKey.Expiry = t0.Add(-time.Minute), t0.Add(time.Hour)
	forged, err := azuresas.NewUserDelegationSigner(a.AccountName, forgedKey) // the old key's value for other times
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sg   *azuresas.Signer
		now  time.Time // presign's clock: when the key was valid
	}{
		{"an expired key", expired, t0.Add(-2 * time.Hour)},
		{"a forged key", forged, t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := a.backend
			b.AzureKeys = keyFunc(func(context.Context) (*azuresas.Signer, error) { return tc.sg, nil })
			iss := a.issuer(t, b, func() time.Time { return tc.now })
			g, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "ud/refused.txt", ExpiresIn: 15 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if status, code, _, _ := a.send(t, g.Method, g.URL, g.Headers, []byte("x")); status != http.StatusForbidden || code != "AuthorizationFailure" {
				t.Errorf("PUT: %d %s, want 403 AuthorizationFailure", status, code)
			}
		})
	}
	if resp, _ := a.Get(t, "ud/refused.txt"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a refused PUT landed: %s", resp.Status)
	}
}

// TestAzureUserDelegationStoreFails: presign's own calls report a key
// that cannot be had as the store's failure (CodeUnavailable), without
// calling Azure.
func TestAzureUserDelegationStoreFails(t *testing.T) {
	src := keyFunc(func(context.Context) (*azuresas.Signer, error) { return nil, errors.New("no token") })
	b := udkBackend(src)
	b.Endpoint = "https://127.0.0.1:1/presigntest"
	st, err := newAzureStore(b, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.HeadObject(context.Background(), "photos", "a.txt")
	if !isCode(err, CodeUnavailable) {
		t.Errorf("HeadObject: %v, want unavailable", err)
	}
	if _, err := url.Parse(b.Endpoint); err != nil {
		t.Fatal(err)
	}
}
