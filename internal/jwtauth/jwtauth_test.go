package jwtauth

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/presign"
)

const (
	issJWKS   = "https://idp.example/realms/main"
	issStatic = "https://static.example"
	issHS     = "https://hs.example"
)

// fixture is a Verifier over three issuers: one with a JWKS (RSA, EC and
// Ed25519 keys, by kid), one with static keys, one with an HS256 secret.
type fixture struct {
	v     *Verifier
	idp   *fakeIssuer
	clock *clock
	k     testKeys
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa1", nil), jwkOf(k.ec, "ec1", nil), jwkOf(k.ed, "ed1", nil))
	clk := newClock()
	v, err := New([]IssuerConfig{
		{Issuer: issJWKS, Audience: []string{"presign", "other"}, JWKSURL: idp.url()},
		{Issuer: issStatic, Audience: []string{"presign"}, Keys: []string{
			pemOf(t, k.rsa), jsonOf(t, jwkOf(k.ec, "ec-static", nil)), pemOf(t, k.ed),
		}},
		{Issuer: issHS, Audience: []string{"presign"}, HS256Secret: k.secret},
	}, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{v: v, idp: idp, clock: clk, k: k}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestVerifyTable(t *testing.T) {
	f := newFixture(t)
	k := f.k
	rs, es, ed, hs := jwt.SigningMethodRS256, jwt.SigningMethodES256, jwt.SigningMethodEdDSA, jwt.SigningMethodHS256
	c := claims(issJWKS)
	cs := claims(issStatic)
	ch := claims(issHS)
	sec := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	der, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	pemBytes := []byte(pemOf(t, k.rsa))
	hdr := func(alg, kid string) string {
		if kid == "" {
			return `{"alg":"` + alg + `","typ":"JWT"}`
		}
		return `{"alg":"` + alg + `","typ":"JWT","kid":"` + kid + `"}`
	}
	rsaSign := func(s string) []byte {
		sig, err := jwt.SigningMethodRS256.Sign(s, k.rsa)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good := mint(t, rs, k.rsa, "rsa1", c)

	tests := []struct {
		name  string
		token string
		want  string // "" means valid
	}{
		// valid tokens of each alg
		{"RS256 via JWKS", good, ""},
		{"ES256 via JWKS", mint(t, es, k.ec, "ec1", c), ""},
		{"EdDSA via JWKS", mint(t, ed, k.ed, "ed1", c), ""},
		{"RS256 via JWKS, no kid", mint(t, rs, k.rsa, "", c), ""},
		{"RS256 static PEM", mint(t, rs, k.rsa, "", cs), ""},
		{"RS256 static PEM, token has a kid", mint(t, rs, k.rsa, "any", cs), ""},
		{"ES256 static JWK", mint(t, es, k.ec, "ec-static", cs), ""},
		{"EdDSA static PEM", mint(t, ed, k.ed, "", cs), ""},
		{"HS256 with the configured secret", mint(t, hs, k.secret, "", ch), ""},
		{"aud array with a second audience", mint(t, rs, k.rsa, "rsa1", with(c, "aud", []string{"x", "other"})), ""},

		// time
		{"expired", mint(t, rs, k.rsa, "rsa1", with(c, "exp", sec(-31*time.Second))), "the token has expired"},
		{"expired within skew", mint(t, rs, k.rsa, "rsa1", with(c, "exp", sec(-29*time.Second))), ""},
		{"nbf in the future", mint(t, rs, k.rsa, "rsa1", with(c, "nbf", sec(31*time.Second))), "not valid yet"},
		{"nbf within skew", mint(t, rs, k.rsa, "rsa1", with(c, "nbf", sec(29*time.Second))), ""},
		{"iat in the future", mint(t, rs, k.rsa, "rsa1", with(c, "iat", sec(31*time.Second))), "issued in the future"},
		{"iat within skew", mint(t, rs, k.rsa, "rsa1", with(c, "iat", sec(29*time.Second))), ""},
		{"no iat, no nbf", mint(t, rs, k.rsa, "rsa1", with(c, "iat", nil, "nbf", nil)), ""},
		{"missing exp", mint(t, rs, k.rsa, "rsa1", with(c, "exp", nil)), `no expiry ("exp")`},
		{"exp as a string", mint(t, rs, k.rsa, "rsa1", with(c, "exp", "tomorrow")), "wrong type"},
		{"exp null", mint(t, rs, k.rsa, "rsa1", with(c, "exp", jsonNull{})), "wrong type"},

		// issuer and audience
		{"wrong iss", mint(t, rs, k.rsa, "rsa1", with(c, "iss", "https://evil.example")), "issuer is not trusted"},
		{"iss differs in case", mint(t, rs, k.rsa, "rsa1", with(c, "iss", strings.ToUpper(issJWKS))), "issuer is not trusted"},
		{"iss with a trailing slash", mint(t, rs, k.rsa, "rsa1", with(c, "iss", issJWKS+"/")), "issuer is not trusted"},
		{"no iss", mint(t, rs, k.rsa, "rsa1", with(c, "iss", nil)), "no issuer"},
		{"iss not a string", mint(t, rs, k.rsa, "rsa1", with(c, "iss", 7)), "no issuer"},
		{"wrong aud", mint(t, rs, k.rsa, "rsa1", with(c, "aud", "someone-else")), "not meant for this service"},
		{"wrong aud array", mint(t, rs, k.rsa, "rsa1", with(c, "aud", []string{"a", "b"})), "not meant for this service"},
		{"no aud", mint(t, rs, k.rsa, "rsa1", with(c, "aud", nil)), "no audience"},
		{"another issuer's audience", mint(t, rs, k.rsa, "", with(cs, "aud", "other")), "not meant for this service"},

		// algorithms and keys
		{"alg none, empty signature", raw(`{"alg":"none","typ":"JWT"}`, jsonOf(t, c), nil), "algorithm is not accepted"},
		{"alg none, with a signature", raw(`{"alg":"none"}`, jsonOf(t, c), rsaSign), "algorithm is not accepted"},
		{"alg None", raw(`{"alg":"None"}`, jsonOf(t, c), nil), "algorithm is not accepted"},
		{"no alg", raw(`{"kid":"rsa1"}`, jsonOf(t, c), rsaSign), "algorithm is not accepted"},
		{"alg not a string", raw(`{"alg":7,"kid":"rsa1"}`, jsonOf(t, c), rsaSign), "algorithm is not accepted"},
		{"RS384 with the RSA key", mint(t, jwt.SigningMethodRS384, k.rsa, "rsa1", c), "algorithm is not accepted"},
		{"PS256 with the RSA key", mint(t, jwt.SigningMethodPS256, k.rsa, "rsa1", c), "algorithm is not accepted"},
		{"lowercase rs256", raw(hdr("rs256", "rsa1"), jsonOf(t, c), rsaSign), "algorithm is not accepted"},
		{"HS256 keyed with the RSA PEM (JWKS issuer)", raw(hdr("HS256", "rsa1"), jsonOf(t, c), hs256(pemBytes)), "does not match the issuer's key"},
		{"HS256 keyed with the RSA PEM (static issuer)", raw(hdr("HS256", ""), jsonOf(t, cs), hs256(pemBytes)), "does not match the issuer's key"},
		{"HS256 keyed with the RSA DER", raw(hdr("HS256", ""), jsonOf(t, cs), hs256(der)), "does not match the issuer's key"},
		{"HS256 keyed with the JWK's n", raw(hdr("HS256", "rsa1"), jsonOf(t, c), hs256(k.rsa.N.Bytes())), "does not match the issuer's key"},
		{"ES256 token naming the RSA kid", mint(t, es, k.ec, "rsa1", c), "does not match the issuer's key"},
		{"RS256 token naming the EC kid", mint(t, rs, k.rsa, "ec1", c), "does not match the issuer's key"},
		{"another RSA key with the same kid", mint(t, rs, k.rsa2, "rsa1", c), "signature is not valid"},
		{"another EC key with the same kid", mint(t, es, k.ec2, "ec1", c), "signature is not valid"},
		{"another Ed25519 key with the same kid", mint(t, ed, k.ed2, "ed1", c), "signature is not valid"},
		{"another RSA key, static issuer", mint(t, rs, k.rsa2, "", cs), "signature is not valid"},
		{"HS256 with a wrong secret", mint(t, hs, []byte("another secret that is long enough!!"), "", ch), "signature is not valid"},
		{"RS256 against the HS256 issuer", mint(t, rs, k.rsa, "", ch), "does not match the issuer's key"},
		{"embedded jwk header is not trusted", func() string {
			tok := jwt.NewWithClaims(rs, c)
			tok.Header["kid"] = "rsa1"
			tok.Header["jwk"] = jwkOf(k.rsa2, "rsa1", nil)
			s, _ := tok.SignedString(k.rsa2)
			return s
		}(), "signature is not valid"},
		{"crit header", func() string {
			tok := jwt.NewWithClaims(rs, c)
			tok.Header["kid"] = "rsa1"
			tok.Header["crit"] = []string{"exp"}
			s, _ := tok.SignedString(k.rsa)
			return s
		}(), "critical header"},
		{"kid not a string", raw(`{"alg":"RS256","kid":1}`, jsonOf(t, c), rsaSign), "not a well-formed JWT"},
		{"tampered claims", func() string {
			p := strings.Split(good, ".")
			p[1] = enc.EncodeToString([]byte(jsonOf(t, with(c, "sub", "mallory"))))
			return strings.Join(p, ".")
		}(), "signature is not valid"},
		{"signature of another token", func() string {
			p := strings.Split(good, ".")
			q := strings.Split(mint(t, rs, k.rsa, "rsa1", with(c, "sub", "bob")), ".")
			return p[0] + "." + p[1] + "." + q[2]
		}(), "signature is not valid"},
		{"empty signature", func() string {
			p := strings.Split(good, ".")
			return p[0] + "." + p[1] + "."
		}(), "signature is not valid"},

		// subject and groups
		{"no sub", mint(t, rs, k.rsa, "rsa1", with(c, "sub", nil)), `no subject ("sub")`},
		{"empty sub", mint(t, rs, k.rsa, "rsa1", with(c, "sub", "")), `no subject ("sub")`},
		{"sub not a string", mint(t, rs, k.rsa, "rsa1", with(c, "sub", 42)), `no subject ("sub")`},
		{"groups of numbers", mint(t, rs, k.rsa, "rsa1", with(c, "groups", []int{1, 2})), `"groups" claim must be`},
		{"groups an object", mint(t, rs, k.rsa, "rsa1", with(c, "groups", map[string]string{"a": "b"})), `"groups" claim must be`},

		// malformed
		{"empty", "", "empty"},
		{"huge", "eyJ" + strings.Repeat("A", MaxTokenSize) + ".e30.e30", "larger than 8192 bytes"},
		{"huge valid-looking", good + strings.Repeat("A", MaxTokenSize), "larger than"},
		{"one part", "eyJhbGciOiJSUzI1NiJ9", "not a well-formed JWT"},
		{"two parts", "eyJhbGciOiJSUzI1NiJ9.e30", "not a well-formed JWT"},
		{"four parts", good + ".e30", "not a well-formed JWT"},
		{"bad base64 character", strings.Replace(good, ".", "!.", 1), "not a well-formed JWT"},
		{"standard base64", "eyJ+/w.e30.e30", "not a well-formed JWT"},
		{"padding", strings.Replace(good, ".", "=.", 1), "not a well-formed JWT"},
		{"newline inside", good[:20] + "\n" + good[20:], "not a well-formed JWT"},
		{"newline in the signature", good[:len(good)-5] + "\n" + good[len(good)-5:], "not a well-formed JWT"},
		{"space inside", good[:20] + " " + good[20:], "not a well-formed JWT"},
		{"non-canonical base64 (stray bits)", func() string {
			// The last character of a 2-byte tail may carry 2 stray bits.
			p := strings.Split(good, ".")
			sig := p[2]
			last := sig[len(sig)-1]
			alt := map[byte]byte{'A': 'B', 'Q': 'R', 'g': 'h', 'w': 'x'}[last]
			if alt == 0 {
				return good[:len(good)-1] + "!" // not reachable for a 256-byte signature
			}
			return p[0] + "." + p[1] + "." + sig[:len(sig)-1] + string(alt)
		}(), "not a well-formed JWT"},
		{"header not JSON", enc.EncodeToString([]byte("{not json")) + ".e30.e30", "not a well-formed JWT"},
		{"header a JSON array", enc.EncodeToString([]byte(`["RS256"]`)) + ".e30.e30", "not a well-formed JWT"},
		{"claims not JSON", raw(hdr("RS256", "rsa1"), "{nope", rsaSign), "not a well-formed JWT"},
		{"claims a JSON string", raw(hdr("RS256", "rsa1"), `"alice"`, rsaSign), "not a well-formed JWT"},
		{"empty parts", "..", "not a well-formed JWT"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.v.Verify(ctx, tt.token)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Kind != presign.KindJWT || p.Name != "alice" || p.Issuer == "" {
					t.Fatalf("principal %+v", p)
				}
				return
			}
			wantUnauth(t, err, tt.want, tt.token)
			if diff := cmp.Diff(presign.Principal{}, p); diff != "" {
				t.Fatalf("principal of a refused token (-want +got):\n%s", diff)
			}
		})
	}
	if n := f.idp.requests.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times for tokens with known kids, want 1", n)
	}
}

// jsonNull marshals as JSON null (a nil map value would be deleted by with).
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func TestPrincipalClaims(t *testing.T) {
	f := newFixture(t)
	c := with(claims(issJWKS),
		"groups", []string{"admins", "dev ops"},
		"email", "alice@example.com",
		"tenant_id", 1234567890123,
		"ratio", 1.5,
		"verified", true,
		"nothing", jsonNull{},
		"nested", map[string]any{"a": "b"},
		"list", []string{"x"},
	)
	tok := mint(t, jwt.SigningMethodRS256, f.k.rsa, "rsa1", c)
	p, err := f.v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := presign.Principal{
		Kind: presign.KindJWT, Name: "alice", Issuer: issJWKS,
		Groups: []string{"admins", "dev ops"},
		Claims: map[string]string{
			"iss": issJWKS, "sub": "alice", "aud": "presign",
			"exp":   strconv.FormatInt(c["exp"].(int64), 10),
			"iat":   strconv.FormatInt(c["iat"].(int64), 10),
			"nbf":   strconv.FormatInt(c["nbf"].(int64), 10),
			"email": "alice@example.com", "tenant_id": "1234567890123", "ratio": "1.5", "verified": "true",
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
}

func TestGroupsForms(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name   string
		groups any
		want   []string
	}{
		{"array", []string{"a", "b"}, []string{"a", "b"}},
		{"space-separated", "  a b\tc  ", []string{"a", "b", "c"}},
		{"single string", "admins", []string{"admins"}},
		{"empty string", "", []string{}},
		{"empty array", []string{}, []string{}},
		{"absent", nil, nil},
		{"null", jsonNull{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := mint(t, jwt.SigningMethodRS256, f.k.rsa, "rsa1", with(claims(issJWKS), "groups", tt.groups))
			p, err := f.v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCustomClaimNames(t *testing.T) {
	k := keys(t)
	clk := newClock()
	v, err := New([]IssuerConfig{{
		Issuer: issStatic, Audience: []string{"presign"}, Keys: []string{pemOf(t, k.ed)},
		SubjectClaim: "email", GroupsClaim: "roles", ClockSkew: 2 * time.Minute,
	}}, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := with(claims(issStatic), "email", "bob@example.com", "roles", "r1 r2", "groups", []string{"ignored"},
		"exp", t0.Add(-90*time.Second).Unix()) // within the 2m skew
	p, err := v.Verify(context.Background(), mint(t, jwt.SigningMethodEdDSA, k.ed, "", c))
	if err != nil {
		t.Fatal(err)
	}
	want := presign.Principal{Kind: presign.KindJWT, Name: "bob@example.com", Issuer: issStatic, Groups: []string{"r1", "r2"}}
	// Claims are ignored: TestPrincipalClaims checks them; here the subject
	// and groups come from the configured claim names.
	if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(presign.Principal{}, "Claims")); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	_, err = v.Verify(context.Background(), mint(t, jwt.SigningMethodEdDSA, k.ed, "", with(c, "email", nil)))
	wantUnauth(t, err, `no subject ("email")`, "")
	clk.Advance(time.Minute) // now 2m30s past exp
	_, err = v.Verify(context.Background(), mint(t, jwt.SigningMethodEdDSA, k.ed, "", c))
	wantUnauth(t, err, "expired", "")
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	good := mint(t, jwt.SigningMethodHS256, f.k.secret, "", claims(issHS))
	for _, tt := range []struct {
		name, header, want string
	}{
		{"valid", "Bearer " + good, ""},
		{"scheme is case-insensitive", "bearer " + good, ""},
		{"extra spaces", "Bearer   " + good + "  ", ""},
		{"no header", "", "authentication required"},
		{"basic", "Basic dXNlcjpwYXNz", `must be "Bearer <token>"`},
		{"no token", "Bearer ", `must be "Bearer <token>"`},
		{"no space", "Bearer" + good, `must be "Bearer <token>"`},
		{"not a JWT", "Bearer psk_0123456789abcdef", "not a well-formed JWT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			p, err := f.v.Authenticate(r)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				want := presign.Principal{Kind: presign.KindJWT, Name: "alice", Issuer: issHS}
				// Claims are ignored: TestPrincipalClaims checks them.
				if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(presign.Principal{}, "Claims")); diff != "" {
					t.Fatalf("principal (-want +got):\n%s", diff)
				}
				return
			}
			wantUnauth(t, err, tt.want, good)
		})
	}
}

func TestLooksLikeJWT(t *testing.T) {
	k := keys(t)
	for _, tt := range []struct {
		token string
		want  bool
	}{
		{mint(t, jwt.SigningMethodRS256, k.rsa, "k", claims("x")), true},
		{mint(t, jwt.SigningMethodHS256, k.secret, "", claims("x")), true},
		{"eyJhbGciOiJIUzI1NiJ9.e30.c2ln", true},
		{"e30.e30.c2ln", true},
		{"ICB7fQ.e30.c2ln", true}, // "  {}": leading JSON whitespace
		{"psk_dev_0123456789abcdef0123", false},
		{"0123456789abcdef0123456789abcdef", false},
		{"abc.def.ghi", false},             // does not decode to a JSON object
		{"eyJhbGciOiJub25lIn0.e30.", true}, // unsigned: a JWT, for the verifier to refuse
		{".e30.c2ln", false},
		{"e30..c2ln", false},
		{"eyJhbGciOiJub25lIn0..", false}, // an empty payload, even unsigned
		{"e30.e30", false},
		{"e30.e30.c2ln.c2ln", false},
		{"e30.e30.c2l=", false},
		{"e30.e30.c2l+", false},
		{"e30.e30.c", false}, // length 1 mod 4 is never base64
		{"e30.e 30.c2ln", false},
		{"", false},
		{"...", false},
	} {
		if got := LooksLikeJWT(tt.token); got != tt.want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}

func TestNewValidation(t *testing.T) {
	k := keys(t)
	secret := []byte("short-secret-value")
	privPEM := "-----BEGIN PRIVATE KEY-----\nTUlJQ2RnSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NBbUF3Z2dKY0FnRUFBb0dCQU1Y\n-----END PRIVATE KEY-----\n"
	privJWK := jsonOf(t, jwkOf(k.ed, "x", map[string]any{"d": enc.EncodeToString(k.ed.Seed())}))
	_, err := New([]IssuerConfig{
		{Audience: []string{"a"}, JWKSURL: "https://idp.example/jwks"},                                               // 0: no Issuer
		{Issuer: "https://a", JWKSURL: "https://idp.example/jwks"},                                                   // 1: no Audience
		{Issuer: "https://b", Audience: []string{"a"}},                                                               // 2: no key source
		{Issuer: "https://c", Audience: []string{"a"}, JWKSURL: "https://x/j", HS256Secret: k.secret},                // 3: two sources
		{Issuer: "https://d", Audience: []string{"a"}, JWKSURL: "http://idp.example/jwks"},                           // 4: http, not loopback
		{Issuer: "https://e", Audience: []string{"a"}, JWKSURL: "https://user:pw@idp.example/jwks"},                  // 5: credentials
		{Issuer: "https://f", Audience: []string{"a"}, HS256Secret: secret},                                          // 6: short secret
		{Issuer: "https://g", Audience: []string{"a"}, Keys: []string{privPEM}},                                      // 7: private PEM
		{Issuer: "https://h", Audience: []string{"a"}, Keys: []string{privJWK}},                                      // 8: private JWK
		{Issuer: "https://i", Audience: []string{"a"}, Keys: []string{"hello"}},                                      // 9: garbage
		{Issuer: "https://j", Audience: []string{"a"}, Keys: []string{pemOf(t, k.rsa)}, ClockSkew: 6 * time.Minute},  // 10
		{Issuer: "https://j", Audience: []string{"a"}, Keys: []string{pemOf(t, k.rsa)}},                              // 11: duplicate issuer
		{Issuer: "https://k", Audience: []string{"a", ""}, Keys: []string{pemOf(t, k.rsa)}, ClockSkew: -time.Second}, // 12
		{Issuer: "https://l", Audience: []string{"a"}, JWKSURL: "ftp://idp.example/jwks"},                            // 13
		{Issuer: "https://m", Audience: []string{"a"}, JWKSURL: "/jwks"},                                             // 14
	}, Options{MinRefresh: -1, TTL: -1})
	var got presign.Problems
	if !errors.As(err, &got) {
		t.Fatalf("New: %v, want presign.Problems", err)
	}
	want := []string{
		"[0].issuer: required: the iss claim of the issuer's tokens, e.g. https://auth.example.com/",
		"[1].audience: required: the audiences (aud) tokens must carry one of, e.g. [presign]",
		"[2]: needs the issuer's keys: one of jwks_url, keys or hs256_secret",
		"[3]: sets more than one of jwks_url, keys and hs256_secret; choose one",
		"[4].jwks_url: must use https (http only for localhost or a loopback address): keys fetched in clear can be forged",
		"[5].jwks_url: must not hold user info",
		"[6].hs256_secret: the secret is shorter than 32 bytes; HS256 needs at least 256 bits",
		"[7].keys[0]: is a private key: give the issuer's public key, and keep the private key out of the configuration",
		`[8].keys[0]: is a JWK that cannot verify tokens: holds private or secret key material ("d"); only public keys are used`,
		"[9].keys[0]: must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK in JSON",
		"[10].clock_skew: 6m must be between 0s and 5m",
		`[11].issuer: "https://j" is already the issuer of entry [10] of this list`,
		"[12].audience[1]: is empty",
		"[12].clock_skew: -1s must be between 0s and 5m",
		"[13].jwks_url: is not an https URL like https://auth.example.com/.well-known/jwks.json",
		"[14].jwks_url: is not an https URL like https://auth.example.com/.well-known/jwks.json",
		"MinRefresh and TTL must not be negative",
	}
	if diff := cmp.Diff(want, strings.Split(got.Error(), "\n")); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	msg := err.Error()
	for _, secretish := range []string{string(secret), string(k.secret), "TUlJQ2RnSUJBREFO", enc.EncodeToString(k.ed.Seed()), "pw@"} {
		if strings.Contains(msg, secretish) {
			t.Errorf("error leaks %q:\n%s", secretish, msg)
		}
	}
	if _, err := New(nil, Options{}); err == nil || !strings.Contains(err.Error(), "at least one issuer") {
		t.Errorf("New(nil): %v", err)
	}
}

func TestNewAcceptsLoopbackHTTPAndMakesNoRequest(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa1", nil))
	for _, u := range []string{idp.url(), strings.Replace(idp.url(), "127.0.0.1", "localhost", 1), strings.Replace(idp.url(), "127.0.0.1", "[::1]", 1), "https://idp.example/jwks"} {
		if _, err := New([]IssuerConfig{{Issuer: "https://x", Audience: []string{"a"}, JWKSURL: u}}, Options{}); err != nil {
			t.Errorf("JWKSURL %s: %v", u, err)
		}
	}
	if n := idp.requests.Load(); n != 0 {
		t.Errorf("New fetched the JWKS %d times", n)
	}
}

func TestVerifyRecoversPanics(t *testing.T) {
	rec := &panicRecorder{}
	v := &Verifier{log: slog.New(rec)} // no parser: verify panics
	_, err := v.Verify(context.Background(), "e30.e30.e30")
	wantUnauth(t, err, "the token is not valid", "")
	if !rec.seen.Load() {
		t.Error("the panic was not logged")
	}
}
