package lambdaurl

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	iamAuthorizer = `{"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE:alice",
	  "principalOrgId": "o-abc", "userArn": "arn:aws:iam::123456789012:user/alice", "userId": "AIDAEXAMPLE"}}`
	jwtAuthorizer = `{"jwt": {"claims": {"sub": "alice", "iss": "https://auth.example.com/", "email": "a@example.com", "exp": "1795341600"},
	  "scopes": ["presign:write"]}}`
)

// withAuthorizer returns fixture s with requestContext.authorizer set to
// the JSON a ("" for none).
func withAuthorizer(t *testing.T, s, a string) *Event {
	ev := decode(t, s)
	if a != "" {
		if err := jsonUnmarshal(a, &ev.RequestContext.Authorizer); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

func authorizerSeen(t *testing.T, ev *Event) (Authorizer, bool, *http.Request) {
	t.Helper()
	r, err := NewRequest(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := AuthorizerFrom(r.Context())
	return a, ok, r
}

func TestAuthorizerFrom(t *testing.T) {
	for _, tt := range []struct {
		name, event, authorizer string
		want                    Authorizer
	}{
		{"IAM", fnURLEvent, iamAuthorizer, Authorizer{IAM: &IAMIdentity{UserARN: "arn:aws:iam::123456789012:user/alice", AccountID: "123456789012",
			CallerID: "AIDAEXAMPLE:alice", UserID: "AIDAEXAMPLE", AccessKey: "ASIAEXAMPLE", PrincipalOrgID: "o-abc"}}},
		{"JWT", httpAPIEvent, jwtAuthorizer, Authorizer{JWT: &JWTAuthorizer{
			Claims: map[string]string{"sub": "alice", "iss": "https://auth.example.com/", "email": "a@example.com", "exp": "1795341600"},
			Scopes: []string{"presign:write"},
		}}},
		{"Lambda", httpAPIEvent, `{"lambda": {"tenant": "t1"}}`, Authorizer{Lambda: map[string]any{"tenant": "t1"}}},
	} {
		a, ok, _ := authorizerSeen(t, withAuthorizer(t, tt.event, tt.authorizer))
		if !ok {
			t.Errorf("%s: no authorizer", tt.name)
		}
		if diff := cmp.Diff(tt.want, a); diff != "" {
			t.Errorf("%s: authorizer (-want +got):\n%s", tt.name, diff)
		}
	}

	for _, empty := range []string{"", `{}`, `{"iam": null}`} {
		if a, ok, _ := authorizerSeen(t, withAuthorizer(t, fnURLEvent, empty)); ok {
			t.Errorf("%q: authorizer %+v", empty, a)
		}
	}
	if _, ok := AuthorizerFrom(context.Background()); ok {
		t.Error("authorizer in a bare context")
	}
}

// forged are headers a caller might send to pose as an authorized identity.
var forged = map[string]string{
	"x-amzn-iam-userarn":       "arn:aws:iam::123456789012:user/admin",
	"x-amzn-oidc-identity":     "admin",
	"x-amzn-oidc-data":         "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
	"x-amzn-requestcontext":    `{"authorizer":{"iam":{"userArn":"arn:aws:iam::1:root"}}}`,
	"x-apigateway-authorizer":  `{"jwt":{"claims":{"sub":"admin"}}}`,
	"x-amz-security-token":     "forged",
	"authorizer":               "iam",
	"x-amzn-lambda-authorizer": `{"sub":"admin"}`,
}

func TestForgedHeadersAreNoAuthorizer(t *testing.T) {
	ev := decode(t, fnURLEvent)
	for k, v := range forged {
		ev.Headers[k] = v
	}
	ev.Headers["authorization"] = "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."
	a, ok, r := authorizerSeen(t, ev)
	if ok {
		t.Fatalf("authorizer from headers: %+v", a)
	}
	if r.Header.Get("x-amzn-iam-userarn") == "" {
		t.Error("the forged headers did not reach the request")
	}
	// A request built outside the adapter with the same headers has none either.
	r2, _ := http.NewRequest("GET", "https://x/", nil)
	for k, v := range forged {
		r2.Header.Set(k, v)
	}
	if _, ok := AuthorizerFrom(r2.Context()); ok {
		t.Error("authorizer on a plain request")
	}
}
