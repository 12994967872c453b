package lambdaurl

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/presign"
)

// Authorizer is the identity that the platform established before invoking
// the function: requestContext.authorizer of the event. Lambda Function URLs
// with AuthType AWS_IAM fill IAM; HTTP API routes fill IAM (AWS_IAM), JWT
// (a JWT authorizer) or Lambda (a Lambda authorizer's context). It is taken
// from the event only, never from a header, which any caller can send.
type Authorizer struct {
	IAM    *IAMIdentity
	JWT    *JWTAuthorizer
	Lambda map[string]any
}

// IAMIdentity is the SigV4-authenticated caller of an AWS_IAM Function URL
// or route.
type IAMIdentity struct {
	UserARN        string // the caller's ARN, e.g. arn:aws:iam::123456789012:user/alice
	AccountID      string
	CallerID       string
	UserID         string
	AccessKey      string
	PrincipalOrgID string
}

// JWTAuthorizer is what an HTTP API JWT authorizer verified: the token's
// claims (API Gateway passes every value as a string) and scopes.
type JWTAuthorizer struct {
	Claims map[string]string
	Scopes []string
}

type authorizerKey struct{}

// AuthorizerFrom returns the authorizer identity of the event being served,
// and false when the event carried none.
func AuthorizerFrom(ctx context.Context) (Authorizer, bool) {
	a, ok := ctx.Value(authorizerKey{}).(Authorizer)
	return a, ok
}

func authorizerOf(ev *Event) (Authorizer, bool) {
	d := ev.RequestContext.Authorizer
	if d == nil {
		return Authorizer{}, false
	}
	var a Authorizer
	if d.IAM != nil {
		a.IAM = &IAMIdentity{
			UserARN: d.IAM.UserARN, AccountID: d.IAM.AccountID, CallerID: d.IAM.CallerID,
			UserID: d.IAM.UserID, AccessKey: d.IAM.AccessKey, PrincipalOrgID: d.IAM.PrincipalOrgID,
		}
	}
	if d.JWT != nil {
		a.JWT = &JWTAuthorizer{Claims: maps.Clone(d.JWT.Claims), Scopes: slices.Clone(d.JWT.Scopes)}
	}
	if len(d.Lambda) > 0 {
		a.Lambda = maps.Clone(d.Lambda)
	}
	if a.IAM == nil && a.JWT == nil && a.Lambda == nil {
		return Authorizer{}, false
	}
	return a, true
}

// The platform identity modes of PRESIGN_PLATFORM_AUTH, which config reads
// and validates.
const (
	PlatformIAM = config.PlatformIAM
	PlatformJWT = config.PlatformJWT
)

// PlatformAuth returns the authenticator that takes the caller from the
// platform's authorizer (mode PlatformIAM or PlatformJWT) instead of the
// Authorization header; nil for mode "" (off). An event without that
// authorizer's identity is refused with 401, whatever headers it has.
func PlatformAuth(mode string) (httpapi.Authenticator, error) {
	switch mode {
	case "":
		return nil, nil
	case PlatformIAM:
		return iamAuth{}, nil
	case PlatformJWT:
		return jwtAuth{}, nil
	}
	return nil, fmt.Errorf("PRESIGN_PLATFORM_AUTH: %q must be %s or %s (or unset)", mode, PlatformIAM, PlatformJWT)
}

type iamAuth struct{}

func (iamAuth) Authenticate(r *http.Request) (presign.Principal, error) {
	a, _ := AuthorizerFrom(r.Context())
	if a.IAM == nil || a.IAM.UserARN == "" {
		return presign.Principal{}, presign.Errorf(presign.CodeUnauthenticated,
			"authentication required: this function accepts only AWS IAM (SigV4-signed) requests")
	}
	return presign.Principal{Kind: presign.KindIAM, Name: a.IAM.UserARN}, nil
}

type jwtAuth struct{}

func (jwtAuth) Authenticate(r *http.Request) (presign.Principal, error) {
	a, _ := AuthorizerFrom(r.Context())
	if a.JWT == nil || a.JWT.Claims["sub"] == "" {
		return presign.Principal{}, presign.Errorf(presign.CodeUnauthenticated,
			"authentication required: this API accepts only requests its JWT authorizer verified")
	}
	return presign.Principal{
		Kind: presign.KindJWT, Name: a.JWT.Claims["sub"], Issuer: a.JWT.Claims["iss"],
		Groups: authorizerGroups(a.JWT.Claims), Claims: maps.Clone(a.JWT.Claims),
	}, nil
}

// authorizerGroups reads the groups of a JWT authorizer's claims: API
// Gateway passes every claim as a string, arrays as "[a b c]".
func authorizerGroups(claims map[string]string) []string {
	v, ok := claims["groups"]
	if !ok {
		v = claims["cognito:groups"]
	}
	v = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "["), "]")
	if g := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }); len(g) > 0 {
		return g
	}
	return nil
}
