package presign

import (
	"strconv"
	"time"
)

// Path tokens stand for a caller in a URL path, for clients that cannot
// send an Authorization header: Uppy 6 calls Companion's routes with plain
// fetch, so its companionEndpoint carries the credential as
// {path}/t/{token}. A path token is short-lived and signed with the
// uploads' secrets; it carries the caller's identity — kind, issuer, name,
// groups and the claims the rules read (UploadsConfig.PathTokenClaims) — so
// a request that presents it is authorized as the caller's own would be.

// A path token's lifetime when none is asked, and the longest: it is a
// bearer credential in a URL, and outlives a revoked API key or JWT by as
// long as it lives.
const (
	DefaultPathTokenExpires = time.Hour
	MaxPathTokenExpires     = 24 * time.Hour
)

// IssuePathToken returns a path token for p and when it expires: after
// expiresIn (0: DefaultPathTokenExpires), never later than
// MaxPathTokenExpires, the uploads' lifetime or the expiry of the JWT p
// presented ("exp").
//
// It returns CodeUnsupported when uploads are not configured (no secrets),
// CodeInvalidArgument for a lifetime that is not whole positive seconds or
// an identity too large to carry in a URL.
func (iss *Issuer) IssuePathToken(p Principal, expiresIn time.Duration) (string, time.Time, error) {
	if len(iss.uploads.Secrets) == 0 {
		return "", time.Time{}, Errorf(CodeUnsupported, "tokens are not configured here (uploads.secrets)")
	}
	if expiresIn < 0 || expiresIn%time.Second != 0 {
		return "", time.Time{}, Errorf(CodeInvalidArgument, "expires_in must be a positive number of seconds")
	}
	if expiresIn == 0 {
		expiresIn = DefaultPathTokenExpires
	}
	now := iss.now()
	exp := now.Add(min(expiresIn, iss.uploads.Expires, MaxPathTokenExpires)).UTC().Truncate(time.Second)
	if s, ok := p.Claims["exp"]; ok && p.Kind == KindJWT {
		// A NumericDate, as the JWT had it: 1900000000, or 1.9e9.
		if f, err := strconv.ParseFloat(s, 64); err == nil && f < float64(exp.Unix()) {
			exp = time.Unix(int64(f), 0).UTC()
		}
	}
	if !now.Before(exp) {
		return "", time.Time{}, Errorf(CodeUnauthenticated, "the credential expires now; sign in again")
	}
	carried := p
	carried.Claims = nil
	for _, name := range iss.uploads.PathTokenClaims {
		if v, ok := p.Claims[name]; ok {
			if carried.Claims == nil {
				carried.Claims = map[string]string{}
			}
			carried.Claims[name] = v
		}
	}
	tok := sealToken(iss.uploads.Secrets, &pathToken{Principal: carried, ExpiresAt: exp})
	if len(tok) > maxTokenSize {
		return "", time.Time{}, Errorf(CodeInvalidArgument, "this identity (its claims) is too large to carry in a URL path; send the Authorization header instead")
	}
	return tok, exp, nil
}

// OpenPathToken returns the caller a path token stands for. A token that
// is not valid or has expired is CodeUnauthenticated.
func (iss *Issuer) OpenPathToken(token string) (Principal, error) {
	if len(iss.uploads.Secrets) == 0 {
		return Principal{}, Errorf(CodeUnsupported, "tokens are not configured here (uploads.secrets)")
	}
	var t pathToken
	if err := openToken(iss.uploads.Secrets, token, iss.now(), &t); err != nil {
		return Principal{}, err
	}
	return t.Principal, nil
}
