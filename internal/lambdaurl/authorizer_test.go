package lambdaurl

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"presign.dev/presign"
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
	a, ok, _ := authorizerSeen(t, withAuthorizer(t, fnURLEvent, iamAuthorizer))
	want := Authorizer{IAM: &IAMIdentity{UserARN: "arn:aws:iam::123456789012:user/alice", AccountID: "123456789012",
		CallerID: "AIDAEXAMPLE:alice", UserID: "AIDAEXAMPLE", AccessKey: "ASIAEXAMPLE", PrincipalOrgID: "o-abc"}}
	if !ok || !reflect.DeepEqual(a, want) {
		t.Errorf("IAM: %v %+v", ok, a.IAM)
	}

	a, ok, _ = authorizerSeen(t, withAuthorizer(t, httpAPIEvent, jwtAuthorizer))
	if !ok || a.JWT == nil || a.JWT.Claims["sub"] != "alice" || !reflect.DeepEqual(a.JWT.Scopes, []string{"presign:write"}) || a.IAM != nil {
		t.Errorf("JWT: %v %+v", ok, a)
	}

	a, ok, _ = authorizerSeen(t, withAuthorizer(t, httpAPIEvent, `{"lambda": {"tenant": "t1"}}`))
	if !ok || a.Lambda["tenant"] != "t1" {
		t.Errorf("Lambda: %v %+v", ok, a)
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
	for _, mode := range []string{PlatformIAM, PlatformJWT} {
		auth, _ := PlatformAuth(mode)
		p, err := auth.Authenticate(r)
		if !isUnauthenticated(err) {
			t.Errorf("%s: principal %+v, err %v", mode, p, err)
		}
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

func isUnauthenticated(err error) bool {
	var pe *presign.Error
	return errors.As(err, &pe) && pe.Code == presign.CodeUnauthenticated
}

func TestPlatformAuth(t *testing.T) {
	if a, err := PlatformAuth(""); a != nil || err != nil {
		t.Errorf("off: %v %v", a, err)
	}
	if _, err := PlatformAuth("AWS_IAM"); err == nil {
		t.Error("unknown mode accepted")
	}
	iam, _ := PlatformAuth(PlatformIAM)
	jwt, _ := PlatformAuth(PlatformJWT)
	tests := []struct {
		name       string
		auth       any
		authorizer string
		want       presign.Principal // zero: 401
	}{
		{"iam", iam, iamAuthorizer, presign.Principal{Kind: presign.KindIAM, Name: "arn:aws:iam::123456789012:user/alice"}},
		{"iam without authorizer", iam, "", presign.Principal{}},
		{"iam given a JWT authorizer", iam, jwtAuthorizer, presign.Principal{}},
		{"iam without ARN", iam, `{"iam": {"accountId": "1"}}`, presign.Principal{}},
		{"jwt", jwt, jwtAuthorizer, presign.Principal{Kind: presign.KindJWT, Name: "alice", Issuer: "https://auth.example.com/",
			Claims: map[string]string{"sub": "alice", "iss": "https://auth.example.com/", "email": "a@example.com", "exp": "1795341600"}}},
		{"jwt without authorizer", jwt, "", presign.Principal{}},
		{"jwt given IAM", jwt, iamAuthorizer, presign.Principal{}},
		{"jwt without sub", jwt, `{"jwt": {"claims": {"iss": "x"}}}`, presign.Principal{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := withAuthorizer(t, httpAPIEvent, tt.authorizer)
			for k, v := range forged {
				ev.Headers[k] = v
			}
			ev.Headers["authorization"] = "Bearer conformance-key-0123456789" // never consulted
			_, _, r := authorizerSeen(t, ev)
			p, err := tt.auth.(interface {
				Authenticate(*http.Request) (presign.Principal, error)
			}).Authenticate(r)
			if tt.want.Kind == "" {
				if !isUnauthenticated(err) {
					t.Errorf("principal %+v, err %v; want 401", p, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(p, tt.want) {
				t.Errorf("principal %+v, err %v; want %+v", p, err, tt.want)
			}
		})
	}
}

func TestAuthorizerGroups(t *testing.T) {
	for _, tt := range []struct {
		claims map[string]string
		want   []string
	}{
		{map[string]string{"groups": "[admin ops]"}, []string{"admin", "ops"}},
		{map[string]string{"cognito:groups": "[editors]"}, []string{"editors"}},
		{map[string]string{"groups": "a,b"}, []string{"a", "b"}},
		{map[string]string{"groups": "[]"}, nil},
		{map[string]string{}, nil},
	} {
		if got := authorizerGroups(tt.claims); !slices.Equal(got, tt.want) {
			t.Errorf("%v: %q, want %q", tt.claims, got, tt.want)
		}
	}
}
