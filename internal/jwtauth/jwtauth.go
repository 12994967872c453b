// Package jwtauth authenticates callers of presign's HTTP API by JWT bearer
// tokens (RFC 7519) from a fixed set of trusted issuers.
//
// The algorithm always comes from the key, never from the token: RSA keys
// verify RS256 only, EC P-256 keys ES256 only, Ed25519 keys EdDSA only, and
// HS256 is accepted only for an issuer configured with an explicit shared
// secret. A token picks its issuer by its "iss" claim (read before the
// signature is checked, only to choose the keys), and is then verified with
// that issuer's keys, by "kid" when it has one; iss must match exactly, aud
// must contain one of the issuer's audiences, exp is required, and exp, nbf
// and iat are checked against Options.Now with the issuer's clock skew.
//
// Keys come from static configuration or from a JWKS endpoint (RFC 7517),
// fetched lazily and cached; see [Options] for the refresh rules.
//
// Every failure is a *presign.Error with CodeUnauthenticated whose message
// is safe to show the caller: it never contains the token or key material.
package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"presign.dev/presign"
)

// Limits and defaults.
const (
	// MaxTokenSize is the largest token accepted, checked before parsing.
	MaxTokenSize = 8 << 10
	// MaxJWKSSize is the largest JWKS response body read.
	MaxJWKSSize = 1 << 20
	// MaxJWKSKeys is the most keys kept from one JWKS response.
	MaxJWKSKeys = 100

	DefaultClockSkew  = 30 * time.Second
	MaxClockSkew      = 5 * time.Minute
	DefaultMinRefresh = time.Minute
	DefaultTTL        = time.Hour
	// DefaultFetchTimeout bounds a JWKS fetch when Options.HTTPClient is nil
	// or has no Timeout of its own.
	DefaultFetchTimeout = 5 * time.Second
	// MinHS256SecretSize is the shortest HS256 secret accepted (RFC 7518
	// §3.2: at least the hash's 256 bits).
	MinHS256SecretSize = 32
)

// IssuerConfig is one trusted token issuer.
type IssuerConfig struct {
	Issuer   string   // required; the exact "iss"
	Audience []string // required; the token's "aud" must contain one of these
	// Exactly one of JWKSURL, Keys and HS256Secret is set.
	JWKSURL      string        // keys from a JWKS endpoint (https, or http only for 127.0.0.1/localhost), or
	Keys         []string      // static public keys, each PEM (PKIX or certificate) or one JWK JSON object, or
	HS256Secret  []byte        // an explicitly configured shared secret: the ONLY way HS256 is accepted
	ClockSkew    time.Duration // allowed skew for exp/nbf/iat; 0 means 30s; at most 5m
	SubjectClaim string        // default "sub"
	GroupsClaim  string        // default "groups"; a string array (or a space-separated string)
}

// Options are the Verifier's inputs besides the issuers.
type Options struct {
	// HTTPClient fetches JWKS; nil means one with a 5s timeout. Each fetch is
	// also bounded by DefaultFetchTimeout when the client has no Timeout.
	// Unless the client has its own CheckRedirect, redirects must stay on
	// https (or loopback http), at most 5.
	HTTPClient *http.Client
	Now        func() time.Time // nil means time.Now
	Logger     *slog.Logger     // nil discards; never logs tokens
	// JWKS cache: MinRefresh (default 1 min) bounds refreshes triggered by
	// unknown kids; TTL (default 1h) the cache lifetime.
	//
	// A JWKS is fetched on an issuer's first token, never by New. After TTL
	// the next token starts a refresh in the background and is verified with
	// the cached keys meanwhile. A token whose kid is not cached waits for a
	// refresh, at most one per MinRefresh per issuer. Concurrent tokens share
	// one fetch in flight, and each waits no longer than its own context.
	// While refreshes fail the cached keys keep working; before any fetch
	// succeeded, a failed one is retried no sooner than min(MinRefresh, 5s)
	// later, and tokens fail fast in between.
	MinRefresh, TTL time.Duration
}

// Verifier verifies JWTs from its issuers. It is safe for concurrent use.
type Verifier struct {
	issuers map[string]*issuer
	parser  *jwt.Parser
	log     *slog.Logger
}

// issuer is one validated IssuerConfig.
type issuer struct {
	name        string
	validator   *jwt.Validator
	static      []*key // Keys or HS256Secret
	jwks        *jwksCache
	subClaim    string
	groupsClaim string
}

// methods maps each accepted alg to its one implementation.
var methods = map[string]jwt.SigningMethod{
	algRS256: jwt.SigningMethodRS256,
	algES256: jwt.SigningMethodES256,
	algEdDSA: jwt.SigningMethodEdDSA,
	algHS256: jwt.SigningMethodHS256,
}

// WithDefaults returns c with its zero optional fields set to the values
// that apply: clock skew 30s, subject claim "sub", groups claim "groups".
func (c IssuerConfig) WithDefaults() IssuerConfig {
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.SubjectClaim == "" {
		c.SubjectClaim = "sub"
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	return c
}

// Validate reports every problem of c (after [IssuerConfig.WithDefaults]),
// each scoped to its field in the configuration file's names: issuer,
// audience[i], jwks_url, keys[i], hs256_secret, clock_skew, subject_claim,
// groups_claim ("" for the issuer as a whole). No problem quotes a secret
// or key material.
func (c IssuerConfig) Validate() presign.Problems {
	var ps presign.Problems
	c = c.WithDefaults()
	switch {
	case c.Issuer == "":
		ps.Addf("issuer", "required: the iss claim of the issuer's tokens, e.g. https://auth.example.com/")
	case !printableNoSpace(c.Issuer, 2048):
		ps.Addf("issuer", "must be printable without spaces")
	}
	if len(c.Audience) == 0 {
		ps.Addf("audience", "required: the audiences (aud) tokens must carry one of, e.g. [presign]")
	}
	for i, a := range c.Audience {
		switch {
		case a == "":
			ps.Addf(presign.Index("audience", i), "is empty")
		case !printableNoSpace(a, 2048):
			ps.Addf(presign.Index("audience", i), "must be printable without spaces")
		}
	}
	sources := 0
	if c.JWKSURL != "" {
		sources++
		if _, err := checkJWKSURL(c.JWKSURL); err != nil {
			ps.Addf("jwks_url", "%v", err)
		}
	}
	if c.Keys != nil {
		sources++
		if len(c.Keys) == 0 {
			ps.Addf("keys", "is empty: list the issuer's public keys")
		}
		for i, k := range c.Keys {
			if _, err := parseStaticKey(k); err != nil {
				ps.Addf(presign.Index("keys", i), "%v", err)
			}
		}
	}
	if c.HS256Secret != nil {
		sources++
		if len(c.HS256Secret) < MinHS256SecretSize {
			ps.Addf("hs256_secret", "the secret is shorter than %d bytes; HS256 needs at least 256 bits", MinHS256SecretSize)
		}
	}
	switch {
	case sources == 0:
		ps.Addf("", "needs the issuer's keys: one of jwks_url, keys or hs256_secret")
	case sources > 1:
		ps.Addf("", "sets more than one of jwks_url, keys and hs256_secret; choose one")
	}
	if c.ClockSkew < 0 || c.ClockSkew > MaxClockSkew {
		ps.Addf("clock_skew", "%s must be between 0s and %s", presign.FormatDuration(c.ClockSkew), presign.FormatDuration(MaxClockSkew))
	}
	if !presign.IsClaimName(c.SubjectClaim) {
		ps.Addf("subject_claim", "%q is not a claim name", c.SubjectClaim)
	}
	if !presign.IsClaimName(c.GroupsClaim) {
		ps.Addf("groups_claim", "%q is not a claim name", c.GroupsClaim)
	}
	return ps
}

// ValidateIssuers reports every problem of a list of issuers: each one's
// ([IssuerConfig.Validate]) under "[i]", and an issuer named twice.
func ValidateIssuers(issuers []IssuerConfig) presign.Problems {
	var ps presign.Problems
	seen := map[string]int{}
	for i, c := range issuers {
		at := presign.Index("", i)
		ps.Append(at, c.Validate())
		if j, dup := seen[c.Issuer]; dup && c.Issuer != "" {
			ps.Addf(presign.Join(at, "issuer"), "%q is already the issuer of entry [%d] of this list", c.Issuer, j)
		}
		seen[c.Issuer] = i
	}
	return ps
}

// printableNoSpace reports whether s is 1..max bytes of printable
// characters other than spaces.
func printableNoSpace(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0xfffd {
			return false
		}
	}
	return true
}

// New validates every issuer (ValidateIssuers) and returns their
// Verifier; the error is the presign.Problems, all at once. New makes no
// network request.
func New(issuers []IssuerConfig, o Options) (*Verifier, error) {
	ps := ValidateIssuers(issuers)
	if len(issuers) == 0 {
		ps.Addf("", "at least one issuer is required")
	}
	if o.MinRefresh < 0 || o.TTL < 0 {
		ps.Addf("", "MinRefresh and TTL must not be negative")
	}
	if len(ps) > 0 {
		return nil, ps
	}
	if o.MinRefresh == 0 {
		o.MinRefresh = DefaultMinRefresh
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	client, timeout := httpClient(o.HTTPClient)
	v := &Verifier{
		issuers: make(map[string]*issuer, len(issuers)),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{algRS256, algES256, algEdDSA, algHS256}),
			jwt.WithJSONNumber(),
			jwt.WithStrictDecoding(),
			jwt.WithoutClaimsValidation(), // each issuer's validator runs after the signature check
		),
		log: o.Logger,
	}
	for _, c := range issuers {
		c = c.WithDefaults()
		is := &issuer{name: c.Issuer, subClaim: c.SubjectClaim, groupsClaim: c.GroupsClaim}
		if c.JWKSURL != "" {
			u, _ := checkJWKSURL(c.JWKSURL)
			is.jwks = &jwksCache{
				url: u.String(), issuer: c.Issuer, client: client, timeout: timeout,
				minRefresh: o.MinRefresh, ttl: o.TTL, now: o.Now, log: o.Logger,
			}
		}
		for _, s := range c.Keys {
			keys, _ := parseStaticKey(s)
			is.static = append(is.static, keys...)
		}
		if c.HS256Secret != nil {
			is.static = append(is.static, &key{alg: algHS256, verify: slices.Clone(c.HS256Secret)})
		}
		is.validator = jwt.NewValidator(
			jwt.WithIssuer(c.Issuer),
			jwt.WithAudience(slices.Clone(c.Audience)...),
			jwt.WithLeeway(c.ClockSkew),
			jwt.WithTimeFunc(o.Now),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
		)
		v.issuers[c.Issuer] = is
	}
	return v, nil
}

// Authenticate implements httpapi.Authenticator: "Authorization: Bearer
// <JWT>" → presign.Principal{Kind: presign.KindJWT, Name: sub, Issuer,
// Groups, Claims (string-valued claims; numbers/bools formatted)}.
func (v *Verifier) Authenticate(r *http.Request) (presign.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return presign.Principal{}, unauthenticated("authentication required: send Authorization: Bearer <token>", nil)
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return presign.Principal{}, unauthenticated(`the Authorization header must be "Bearer <token>"`, nil)
	}
	return v.Verify(r.Context(), token)
}

// Verify is Authenticate for a raw token. ctx bounds the wait for a JWKS
// fetch.
func (v *Verifier) Verify(ctx context.Context, token string) (p presign.Principal, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	defer func() {
		// A panic here would be a bug; it still refuses the token (a 401,
		// never a 500) and is logged, without the token.
		if r := recover(); r != nil {
			v.log.LogAttrs(ctx, slog.LevelError, "jwt verification panicked", slog.Any("panic", r))
			p, err = presign.Principal{}, unauthenticated("the token is not valid", errors.New("internal error"))
		}
	}()
	p, err = v.verify(ctx, token)
	if err != nil {
		var e *presign.Error
		if !errors.As(err, &e) || e.Code != presign.CodeUnauthenticated {
			// Unreachable by construction; fail closed with a 401 all the same.
			e = unauthenticated("the token is not valid", err)
		}
		v.log.LogAttrs(ctx, slog.LevelDebug, "jwt refused", slog.String("reason", e.Message))
		return presign.Principal{}, e
	}
	return p, nil
}

func (v *Verifier) verify(ctx context.Context, token string) (presign.Principal, error) {
	switch {
	case token == "":
		return presign.Principal{}, unauthenticated("the bearer token is empty", nil)
	case len(token) > MaxTokenSize:
		return presign.Principal{}, unauthenticated(fmt.Sprintf("the token is larger than %d bytes", MaxTokenSize), nil)
	case !jwtAlphabet(token):
		return presign.Principal{}, errMalformed(errors.New("a character outside base64url and '.'"))
	}

	var (
		is      *issuer
		keyErr  error
		keyfunc bool // the keyfunc ran: the alg was accepted by the parser
	)
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		keyfunc = true
		var ks []jwt.VerificationKey
		is, ks, keyErr = v.keysFor(ctx, t)
		if keyErr != nil {
			return nil, keyErr
		}
		return jwt.VerificationKeySet{Keys: ks}, nil
	})
	switch {
	case keyErr != nil:
		return presign.Principal{}, keyErr
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed):
		return presign.Principal{}, errMalformed(jwt.ErrTokenMalformed)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && keyfunc:
		return presign.Principal{}, unauthenticated("the token's signature is not valid", jwt.ErrTokenSignatureInvalid)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		// Before the keyfunc: alg missing, unknown or not accepted ("none").
		return presign.Principal{}, unauthenticated("the token's algorithm is not accepted", jwt.ErrTokenUnverifiable)
	default:
		return presign.Principal{}, unauthenticated("the token is not valid", errors.New("unexpected verification failure"))
	}

	// The signature is good: now the claims.
	if _, ok := claims["exp"]; !ok {
		return presign.Principal{}, unauthenticated(`the token has no expiry ("exp")`, jwt.ErrTokenRequiredClaimMissing)
	}
	if err := is.validator.Validate(claims); err != nil {
		return presign.Principal{}, claimsError(err)
	}
	return is.principal(claims)
}

// keysFor picks the issuer of t by its unverified "iss" and returns the
// issuer's keys that may verify t: those of t's alg, by kid when t has one.
func (v *Verifier) keysFor(ctx context.Context, t *jwt.Token) (*issuer, []jwt.VerificationKey, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, nil, unauthenticated("the token has critical header parameters, which are not supported", errors.New(`"crit" header`))
	}
	kid := ""
	if raw, ok := t.Header["kid"]; ok {
		s, ok := raw.(string)
		if !ok {
			return nil, nil, errMalformed(errors.New(`"kid" is not a string`))
		}
		kid = s
	}
	claims, _ := t.Claims.(jwt.MapClaims)
	iss, ok := claims["iss"].(string)
	if !ok || iss == "" {
		return nil, nil, unauthenticated(`the token has no issuer ("iss")`, jwt.ErrTokenRequiredClaimMissing)
	}
	is := v.issuers[iss]
	if is == nil {
		return nil, nil, unauthenticated("the token's issuer is not trusted", jwt.ErrTokenInvalidIssuer)
	}
	alg := t.Method.Alg()
	if m, ok := methods[alg]; !ok || m != t.Method {
		return nil, nil, unauthenticated("the token's algorithm is not accepted", jwt.ErrTokenUnverifiable)
	}

	if is.jwks == nil && !slices.ContainsFunc(is.static, func(k *key) bool { return k.alg == alg }) ||
		is.jwks != nil && alg == algHS256 { // a JWKS never yields HS256 keys: don't fetch for one
		return nil, nil, unauthenticated("the token's algorithm does not match the issuer's key", fmt.Errorf("no %s key", alg))
	}
	keys := is.static
	if is.jwks != nil {
		var err error
		if keys, err = is.jwks.get(ctx, kid); err != nil {
			return nil, nil, err
		}
	}
	candidates := selectKeys(keys, kid)
	if len(candidates) == 0 {
		return nil, nil, unauthenticated("the token's signing key is not known", errors.New("no key with the token's kid"))
	}
	var out []jwt.VerificationKey
	for _, k := range candidates {
		if k.alg == alg {
			out = append(out, k.verify)
		}
	}
	if len(out) == 0 {
		return nil, nil, unauthenticated("the token's algorithm does not match the issuer's key", fmt.Errorf("no %s key", alg))
	}
	return is, out, nil
}

// selectKeys returns the keys with kid, or, when none has it, the keys
// without a kid (static PEM keys, HS256 secrets). A token without a kid may
// be verified by any key.
func selectKeys(keys []*key, kid string) []*key {
	if kid == "" {
		return keys
	}
	var byKid, anyKid []*key
	for _, k := range keys {
		switch k.kid {
		case kid:
			byKid = append(byKid, k)
		case "":
			anyKid = append(anyKid, k)
		}
	}
	if len(byKid) > 0 {
		return byKid
	}
	return anyKid
}

// principal maps verified claims to the caller.
func (is *issuer) principal(claims jwt.MapClaims) (presign.Principal, error) {
	sub, _ := claims[is.subClaim].(string)
	if sub == "" {
		return presign.Principal{}, unauthenticated(fmt.Sprintf("the token has no subject (%q)", is.subClaim), jwt.ErrTokenRequiredClaimMissing)
	}
	var groups []string
	switch g := claims[is.groupsClaim].(type) {
	case nil:
		// absent (or null): no groups
	case string:
		groups = strings.Fields(g)
	case []any:
		groups = make([]string, 0, len(g))
		for _, e := range g {
			s, ok := e.(string)
			if !ok {
				return presign.Principal{}, unauthenticated(fmt.Sprintf("the token's %q claim must be an array of strings or a space-separated string", is.groupsClaim), jwt.ErrInvalidType)
			}
			groups = append(groups, s)
		}
	default:
		return presign.Principal{}, unauthenticated(fmt.Sprintf("the token's %q claim must be an array of strings or a space-separated string", is.groupsClaim), jwt.ErrInvalidType)
	}
	m := make(map[string]string, len(claims))
	for name, val := range claims {
		switch x := val.(type) {
		case string:
			m[name] = x
		case bool:
			m[name] = strconv.FormatBool(x)
		case json.Number: // its exact text
			m[name] = x.String()
		}
	}
	return presign.Principal{Kind: presign.KindJWT, Name: sub, Issuer: is.name, Groups: groups, Claims: m}, nil
}

// claimsError maps a validator error to the caller's message.
func claimsError(err error) *presign.Error {
	for _, c := range []struct {
		err error
		msg string
	}{
		{jwt.ErrTokenExpired, "the token has expired"},
		{jwt.ErrTokenNotValidYet, `the token is not valid yet ("nbf")`},
		{jwt.ErrTokenUsedBeforeIssued, `the token is issued in the future ("iat")`},
		{jwt.ErrTokenInvalidIssuer, "the token's issuer is not trusted"},
		{jwt.ErrTokenInvalidAudience, `the token is not meant for this service ("aud")`},
		{jwt.ErrTokenRequiredClaimMissing, `the token has no audience ("aud")`},
		{jwt.ErrInvalidType, "the token has a registered claim of the wrong type"},
	} {
		if errors.Is(err, c.err) {
			return unauthenticated(c.msg, c.err)
		}
	}
	return unauthenticated("the token's claims are not valid", jwt.ErrTokenInvalidClaims)
}

func unauthenticated(msg string, cause error) *presign.Error {
	return &presign.Error{Code: presign.CodeUnauthenticated, Message: msg, Err: cause}
}

func errMalformed(cause error) *presign.Error {
	return unauthenticated("the token is not a well-formed JWT", cause)
}

// LooksLikeJWT reports whether a bearer token has the shape of a JWT (three
// base64url parts), so a caller can route between API keys and JWTs: three
// parts of unpadded base64url, the first two non-empty (the signature may be
// empty), the first decoding to a JSON object.
func LooksLikeJWT(token string) bool {
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return false
	}
	// The signature may be empty: an unsigned token ("alg":"none") is a JWT
	// too, and must hear from the verifier why it is refused.
	for i, part := range []string{h, p, s} {
		if (part == "" && i < 2) || len(part)%4 == 1 || !jwtAlphabet(part) {
			return false
		}
	}
	// The header starts with '{' (after JSON whitespace); its first 8
	// characters (6 bytes) are enough to tell.
	prefix := h
	if len(prefix) >= 4 {
		prefix = prefix[:min(len(prefix), 8)&^3]
	}
	b, err := b64.DecodeString(prefix)
	if err != nil {
		return false
	}
	b = []byte(strings.TrimLeft(string(b), " \t\r\n"))
	return len(b) > 0 && b[0] == '{'
}

// jwtAlphabet reports whether s has only base64url characters and '.'.
func jwtAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
