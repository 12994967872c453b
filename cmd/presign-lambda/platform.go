package main

import (
	"fmt"
	"maps"
	"net/http"
	"strings"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/lambdaurl"
	"presign.dev/presign"
)

// Platform identity (PRESIGN_PLATFORM_AUTH) is Lambda's alone: the
// payload-2.0 adapter (lambdaurl) carries the event's authorizer context,
// and these authenticators, the only ones that read it, live with the
// function.

// platformAuth returns the authenticator that takes the caller from the
// platform's authorizer (mode PlatformIAM or PlatformJWT) instead of the
// Authorization header; nil for mode "" (off). An event without that
// authorizer's identity is refused with 401, whatever headers it has.
func platformAuth(mode string) (httpapi.Authenticator, error) {
	switch mode {
	case "":
		return nil, nil
	case config.PlatformIAM:
		return iamAuth{}, nil
	case config.PlatformJWT:
		return jwtAuth{}, nil
	}
	return nil, fmt.Errorf("presign-lambda: no platform identity %q (config.Load accepts only %s and %s)", mode, config.PlatformIAM, config.PlatformJWT)
}

type iamAuth struct{}

func (iamAuth) Authenticate(r *http.Request) (presign.Principal, error) {
	a, _ := lambdaurl.AuthorizerFrom(r.Context())
	if a.IAM == nil || a.IAM.UserARN == "" {
		return presign.Principal{}, presign.Errorf(presign.CodeUnauthenticated,
			"authentication required: this function accepts only AWS IAM (SigV4-signed) requests")
	}
	return presign.Principal{Kind: presign.KindIAM, Name: a.IAM.UserARN}, nil
}

type jwtAuth struct{}

func (jwtAuth) Authenticate(r *http.Request) (presign.Principal, error) {
	a, _ := lambdaurl.AuthorizerFrom(r.Context())
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
