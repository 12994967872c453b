package lambdaurl

import (
	"context"
	"maps"
	"slices"
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
