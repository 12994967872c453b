package azuresas_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/azuresas"
)

var tokenNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// jwt returns an unsigned JWT with claims.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

func TestJWTExpiry(t *testing.T) {
	type result struct {
		Exp time.Time
		OK  bool
	}
	for _, tc := range []struct {
		name string
		tok  string
		want result
	}{
		{"exp", jwt(map[string]any{"exp": tokenNow.Unix(), "aud": "https://storage.azure.com"}), result{tokenNow, true}},
		{"exp with a fraction", jwt(map[string]any{"exp": json.Number("1795341600.25")}), result{time.Unix(1795341600, 0).UTC(), true}},
		{"signed", jwt(map[string]any{"exp": 1}) + "c2ln", result{time.Unix(1, 0).UTC(), true}},
		{"no exp", jwt(map[string]any{"nbf": 1}), result{}},
		{"exp a string", jwt(map[string]any{"exp": "1795341600"}), result{}},
		{"exp negative", jwt(map[string]any{"exp": -1}), result{}},
		{"exp past 9999", jwt(map[string]any{"exp": 253402300800}), result{}},
		{"exp in exponent form", jwt(map[string]any{"exp": json.Number("1e9")}), result{}},
		{"opaque", "opaque-token", result{}},
		{"four parts", jwt(map[string]any{"exp": 1}) + ".x.y", result{}},
		{"padded payload", "e30." + base64.URLEncoding.EncodeToString([]byte(`{"exp":10}`)) + ".", result{}},
		{"not JSON", "e30." + base64.RawURLEncoding.EncodeToString([]byte(`exp=1`)) + ".", result{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp, ok := azuresas.JWTExpiry(tc.tok)
			if diff := cmp.Diff(tc.want, result{exp, ok}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzJWTExpiry(f *testing.F) {
	f.Add(jwt(map[string]any{"exp": 1795341600}))
	f.Add(jwt(map[string]any{"exp": json.Number("1.5")}))
	f.Add("a.b.c")
	f.Add("...")
	f.Add(jwt(map[string]any{"exp": json.Number("01")}))
	f.Fuzz(func(t *testing.T, tok string) {
		exp, ok := azuresas.JWTExpiry(tok)
		if !ok {
			if !exp.IsZero() {
				t.Fatalf("%q: not ok with %v", tok, exp)
			}
			return
		}
		if y := exp.Year(); y < 1970 || y > 9999 || exp.Nanosecond() != 0 || exp.Location() != time.UTC {
			t.Fatalf("%q: exp %v", tok, exp)
		}
		// The same claim in a JWT of its own gives the same time.
		if again, ok := azuresas.JWTExpiry(jwt(map[string]any{"exp": exp.Unix()})); !ok || !again.Equal(exp) {
			t.Fatalf("%q: exp %v, its re-encoding %v %v", tok, exp, again, ok)
		}
	})
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		tok  string
		want bool
	}{
		{"abc", true},
		{jwt(map[string]any{"exp": 1}), true},
		{"a-._~+/Z9==", true},
		{"", false},
		{"=", false},
		{"a=b", false},
		{"a b", false},
		{"a\nb", false},
		{"tok\r\nX-Evil: 1", false},
		{"é", false},
		{strings.Repeat("a", 64<<10), true},
		{strings.Repeat("a", 64<<10+1), false},
	} {
		if got := azuresas.BearerToken(tc.tok); got != tc.want {
			t.Errorf("BearerToken(%.20q) = %v, want %v", tc.tok, got, tc.want)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"abc", "a==", "=", "a b", "a\r\nb", "a/+~._-Z9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !azuresas.BearerToken(s) {
			return
		}
		// A header value that needs no quoting and carries nothing else.
		body := strings.TrimRight(s, "=")
		if body == "" || strings.ContainsAny(body, "=") {
			t.Fatalf("%q: accepted with '=' inside or only '='", s)
		}
		for _, c := range []byte(s) {
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),:;<>@[\]{}`, c) >= 0 {
				t.Fatalf("%q: accepted with %q", s, c)
			}
		}
	})
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "storage-token")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := &azuresas.TokenFile{Path: path, Now: func() time.Time { return tokenNow }}
	ctx := context.Background()

	first := jwt(map[string]any{"exp": tokenNow.Add(time.Hour).Unix(), "oid": "a"})
	write(first + "\n")
	got, err := f.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(azuresas.Token{Value: first, Expires: tokenNow.Add(time.Hour)}, got); diff != "" {
		t.Errorf("the first token (-want +got):\n%s", diff)
	}
	// Rewritten (as a sidecar renews it): the next call reads the new one.
	second := jwt(map[string]any{"exp": tokenNow.Add(2 * time.Hour).Unix(), "oid": "b"})
	write("  " + second + "\r\n")
	if got, err := f.Token(ctx); err != nil || got.Value != second || !got.Expires.Equal(tokenNow.Add(2*time.Hour)) {
		t.Errorf("after the file changed: %v, %v; want the second token", got, err)
	}
	// An opaque token: no expiry known.
	write("opaque~token")
	if got, err := f.Token(ctx); err != nil || got != (azuresas.Token{Value: "opaque~token"}) {
		t.Errorf("an opaque token: %v, %v", got, err)
	}
	if s := (azuresas.Token{Value: "opaque~token", Expires: tokenNow}).String(); strings.Contains(s, "opaque") {
		t.Errorf("Token.String shows the token: %s", s)
	}

	expired := jwt(map[string]any{"exp": tokenNow.Unix(), "oid": "c"})
	for _, tc := range []struct {
		name, content, want string
	}{
		{"expired", expired, "the token expired at 2026-11-22T10:00:00Z; whatever writes the file has not renewed it"},
		{"two lines", first + "\n" + second, "does not hold an access token"},
		{"a header in it", first + "\r\nX-Evil: 1", "does not hold an access token"},
		{"empty", " \n", "does not hold an access token"},
		{"too long", strings.Repeat("a", 64<<10+1), "longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(tc.content)
			_, err := f.Token(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "aaaa") {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
	missing := &azuresas.TokenFile{Path: filepath.Join(dir, "missing")}
	if _, err := missing.Token(ctx); err == nil || !strings.Contains(err.Error(), "missing: no such file or directory") {
		t.Errorf("a missing file: %v", err)
	}
}

// imds is a fake of the Azure Instance Metadata Service's token endpoint,
// as Microsoft documents it: GET /metadata/identity/oauth2/token with
// api-version (2018-02-01 or later), resource and, for a user-assigned
// identity, client_id, and the header Metadata: true (else 400
// bad_request_102); 200 with access_token, refresh_token (""), expires_in,
// expires_on and not_before (seconds, as strings), resource and token_type.
// Its identities are system-assigned (no client_id) and the client IDs in
// users.
type imds struct {
	*httptest.Server
	users    map[string]bool
	now      time.Time
	life     time.Duration
	status   int // when not 0: every answer has it, with an error body
	requests atomic.Int32
	tokens   []string // the tokens issued, in order
}

func startIMDS(t *testing.T) *imds {
	t.Helper()
	m := &imds{users: map[string]bool{"0f4c1cbe-4e2e-4f0b-9bbf-1f7b1b1e3c2a": true}, now: tokenNow, life: time.Hour}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Server = &httptest.Server{Listener: l, Config: &http.Server{Handler: m}}
	m.Start()
	t.Cleanup(m.Close)
	return m
}

func (m *imds) fail(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (m *imds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.requests.Add(1)
	q := r.URL.Query()
	switch {
	case m.status != 0:
		m.fail(w, m.status, "throttled", "the fake answers "+strconv.Itoa(m.status))
		return
	case r.Method != http.MethodGet || r.URL.Path != "/metadata/identity/oauth2/token":
		m.fail(w, http.StatusNotFound, "not_found", "no such endpoint")
		return
	case r.Header.Get("Metadata") != "true":
		m.fail(w, http.StatusBadRequest, "bad_request_102", "Required metadata header not specified")
		return
	case q.Get("api-version") < "2018-02-01" || len(q["api-version"]) != 1:
		m.fail(w, http.StatusBadRequest, "invalid_request", "bad api-version")
		return
	case len(q["resource"]) != 1 || q.Get("resource") == "":
		m.fail(w, http.StatusBadRequest, "invalid_request", "resource is required")
		return
	}
	if id, ok := q["client_id"]; ok && (len(id) != 1 || !m.users[id[0]]) {
		m.fail(w, http.StatusBadRequest, "invalid_request", "Identity not found")
		return
	}
	exp := m.now.Add(m.life)
	tok := jwt(map[string]any{"aud": q.Get("resource"), "exp": exp.Unix(), "oid": q.Get("client_id"), "n": len(m.tokens)})
	m.tokens = append(m.tokens, tok)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": tok, "refresh_token": "", "expires_in": strconv.Itoa(int(m.life.Seconds())),
		"expires_on": strconv.FormatInt(exp.Unix(), 10), "not_before": strconv.FormatInt(m.now.Unix(), 10),
		"resource": q.Get("resource"), "token_type": "Bearer",
	})
}

func TestManagedIdentity(t *testing.T) {
	m := startIMDS(t)
	ctx := context.Background()
	endpoint := m.URL + "/metadata/identity/oauth2/token"
	now := func() time.Time { return tokenNow }

	sys := &azuresas.ManagedIdentity{Endpoint: endpoint, Now: now}
	got, err := sys.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(azuresas.Token{Value: m.tokens[0], Expires: tokenNow.Add(time.Hour)}, got); diff != "" {
		t.Errorf("system-assigned (-want +got):\n%s", diff)
	}
	if exp, _ := azuresas.JWTExpiry(got.Value); !exp.Equal(got.Expires) {
		t.Errorf("expires_on %v, the token's exp %v", got.Expires, exp)
	}
	user := &azuresas.ManagedIdentity{ClientID: "0f4c1cbe-4e2e-4f0b-9bbf-1f7b1b1e3c2a", Endpoint: endpoint, Now: now}
	if got, err := user.Token(ctx); err != nil || got.Value != m.tokens[1] {
		t.Errorf("user-assigned: %v, %v", got, err)
	}

	type refusal struct {
		Status int
		Code   string
	}
	for _, tc := range []struct {
		name   string
		mi     azuresas.ManagedIdentity
		setup  func()
		want   refusal
		asked  bool // whether IMDS was asked
		substr string
	}{
		{"unknown identity", azuresas.ManagedIdentity{ClientID: "00000000-0000-0000-0000-000000000000"}, nil,
			refusal{400, "invalid_request"}, true, "Identity not found"},
		{"throttled", azuresas.ManagedIdentity{}, func() { m.status = http.StatusTooManyRequests },
			refusal{429, "throttled"}, true, "the fake answers 429"},
		{"unavailable", azuresas.ManagedIdentity{}, func() { m.status = http.StatusInternalServerError },
			refusal{500, "throttled"}, true, "the fake answers 500"},
		{"expired token", azuresas.ManagedIdentity{}, func() { m.life = 0 },
			refusal{200, ""}, true, "the token expired at 2026-11-22T10:00:00Z"},
		{"client ID not a GUID", azuresas.ManagedIdentity{ClientID: "abc&resource=x"}, nil,
			refusal{}, false, "client ID is not a GUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.status, m.life = 0, time.Hour
			if tc.setup != nil {
				tc.setup()
			}
			before := m.requests.Load()
			mi := tc.mi
			mi.Endpoint, mi.Now = endpoint, now
			_, err := mi.Token(ctx)
			var e *azuresas.Error
			var got refusal
			if errors.As(err, &e) {
				got = refusal{e.StatusCode, e.Code}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", err, diff)
			}
			if err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("%v, want it to say %q", err, tc.substr)
			}
			if asked := m.requests.Load() > before; asked != tc.asked {
				t.Errorf("IMDS asked: %v, want %v", asked, tc.asked)
			}
			for _, tok := range m.tokens {
				if strings.Contains(err.Error(), tok[:20]) {
					t.Errorf("the error holds a token: %v", err)
				}
			}
		})
	}
	// Without the Metadata header IMDS refuses, as the fake shows.
	resp, err := http.Get(endpoint + "?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("without Metadata: true: %s", resp.Status)
	}
}

func TestManagedIdentityNoProxy(t *testing.T) {
	// IMDS must not be reached through a proxy: the default client ignores
	// HTTPS_PROXY and HTTP_PROXY.
	m := startIMDS(t)
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("NO_PROXY", "")
	mi := &azuresas.ManagedIdentity{Endpoint: m.URL + "/metadata/identity/oauth2/token", Now: func() time.Time { return tokenNow }}
	if _, err := mi.Token(context.Background()); err != nil {
		t.Fatalf("with HTTP_PROXY set: %v", err)
	}
}

func TestParseIMDSToken(t *testing.T) {
	tok := jwt(map[string]any{"exp": 1795341600})
	ok := azuresas.Token{Value: tok, Expires: time.Unix(1795341600, 0).UTC()}
	for _, tc := range []struct {
		name, body string
		want       azuresas.Token
		err        string
	}{
		{"documented", `{"access_token":"` + tok + `","refresh_token":"","expires_in":"3599","expires_on":"1795341600","not_before":"1795338000","resource":"https://storage.azure.com/","token_type":"Bearer"}`, ok, ""},
		{"expires_on a number", `{"access_token":"` + tok + `","expires_on":1795341600}`, ok, ""},
		{"no access_token", `{"expires_on":"1795341600"}`, azuresas.Token{}, "access_token is missing"},
		{"token with a space", `{"access_token":"a b","expires_on":"1795341600"}`, azuresas.Token{}, "not a bearer token"},
		{"no expires_on", `{"access_token":"` + tok + `"}`, azuresas.Token{}, "expires_on is missing"},
		{"expires_on a date", `{"access_token":"` + tok + `","expires_on":"11/22/2026 10:00:00 AM +00:00"}`, azuresas.Token{}, "expires_on is missing or not seconds"},
		{"another token type", `{"access_token":"` + tok + `","expires_on":"1795341600","token_type":"pop"}`, azuresas.Token{}, "token_type is not Bearer"},
		{"not JSON", `access_token=` + tok, azuresas.Token{}, "not the JSON of a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := azuresas.ParseIMDSToken([]byte(tc.body))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), tok[:20]) {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
}

func FuzzParseIMDSToken(f *testing.F) {
	f.Add([]byte(`{"access_token":"eyJ0eXAi.e30.","expires_on":"1506484173","token_type":"Bearer"}`))
	f.Add([]byte(`{"access_token":"a","expires_on":1.5}`))
	f.Add([]byte(`{"access_token":"a==","expires_on":"0"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := azuresas.ParseIMDSToken(body)
		if err != nil {
			if tok != (azuresas.Token{}) {
				t.Fatalf("an error with a token: %v", tok)
			}
			return
		}
		if !azuresas.BearerToken(tok.Value) || tok.Expires.Unix() <= 0 || tok.Expires.Year() > 9999 {
			t.Fatalf("parsed %q to %v", body, tok)
		}
		// What it parsed, written as IMDS writes it, parses the same.
		again, err := azuresas.ParseIMDSToken([]byte(`{"access_token":"` + tok.Value + `","expires_on":"` + strconv.FormatInt(tok.Expires.Unix(), 10) + `"}`))
		if err != nil || again != tok {
			t.Fatalf("%v re-encoded: %v, %v", tok, again, err)
		}
	})
}
