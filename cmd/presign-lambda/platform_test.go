package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/config"
	"presign.dev/internal/config/configtest"
	"presign.dev/internal/lambdaurl"
	"presign.dev/presign"
)

const (
	iamAuthorizerJSON = `{"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE:alice",
	  "principalOrgId": "o-abc", "userArn": "arn:aws:iam::123456789012:user/alice", "userId": "AIDAEXAMPLE"}}`
	jwtAuthorizerJSON = `{"jwt": {"claims": {"sub": "alice", "iss": "https://auth.example.com/", "email": "a@example.com", "exp": "1795341600"},
	  "scopes": ["presign:write"]}}`
)

// forgedIdentity are headers a caller may send to pose as someone; the
// identity comes from the event's requestContext only.
var forgedIdentity = map[string]string{
	"x-amzn-iam-userarn":      "arn:aws:iam::123456789012:user/admin",
	"x-amzn-oidc-identity":    "admin",
	"x-amzn-requestcontext":   `{"authorizer":{"iam":{"userArn":"arn:aws:iam::1:root"}}}`,
	"x-apigateway-authorizer": `{"jwt":{"claims":{"sub":"admin"}}}`,
	"authorization":           "Bearer conformance-key-0123456789",
}

// platformRequest is the request the adapter builds from an HTTP API event
// whose authorizer context is the JSON authorizer ("" for none), with the
// forged headers.
func platformRequest(t *testing.T, authorizer string) *http.Request {
	t.Helper()
	ev := lambdaurl.Event{RawPath: "/", Headers: map[string]string{}}
	ev.RequestContext.HTTP.Method = "GET"
	for k, v := range forgedIdentity {
		ev.Headers[k] = v
	}
	if authorizer != "" {
		if err := json.Unmarshal([]byte(authorizer), &ev.RequestContext.Authorizer); err != nil {
			t.Fatal(err)
		}
	}
	r, err := lambdaurl.NewRequest(context.Background(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPlatformAuthenticators(t *testing.T) {
	if a, err := platformAuth(""); a != nil || err != nil {
		t.Errorf("off: %v %v", a, err)
	}
	if _, err := platformAuth("AWS_IAM"); err == nil {
		t.Error("unknown mode accepted")
	}
	iam, _ := platformAuth(config.PlatformIAM)
	jwt, _ := platformAuth(config.PlatformJWT)
	for _, tt := range []struct {
		name string
		auth interface {
			Authenticate(*http.Request) (presign.Principal, error)
		}
		authorizer string
		want       presign.Principal // zero: 401
	}{
		{"iam", iam, iamAuthorizerJSON, presign.Principal{Kind: presign.KindIAM, Name: "arn:aws:iam::123456789012:user/alice"}},
		{"iam without authorizer", iam, "", presign.Principal{}},
		{"iam given a JWT authorizer", iam, jwtAuthorizerJSON, presign.Principal{}},
		{"iam without ARN", iam, `{"iam": {"accountId": "1"}}`, presign.Principal{}},
		{"jwt", jwt, jwtAuthorizerJSON, presign.Principal{Kind: presign.KindJWT, Name: "alice", Issuer: "https://auth.example.com/",
			Claims: map[string]string{"sub": "alice", "iss": "https://auth.example.com/", "email": "a@example.com", "exp": "1795341600"}}},
		{"jwt without authorizer", jwt, "", presign.Principal{}},
		{"jwt given IAM", jwt, iamAuthorizerJSON, presign.Principal{}},
		{"jwt without sub", jwt, `{"jwt": {"claims": {"iss": "x"}}}`, presign.Principal{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.auth.Authenticate(platformRequest(t, tt.authorizer))
			if tt.want.Kind == "" {
				var pe *presign.Error
				if !errors.As(err, &pe) || pe.Code != presign.CodeUnauthenticated {
					t.Errorf("principal %+v, err %v; want 401", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
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

// TestSetupAgreesWithConfigCheck: the function starts with exactly the
// configurations that `presign config check --lambda` accepts (config's
// test cases: every accepted one, none of the refused).
func TestSetupAgreesWithConfigCheck(t *testing.T) {
	cases, err := configtest.Cases("../../internal/config/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range cases {
		if cs.File != "" {
			cs.Env["PRESIGN_CONFIG"] = cs.File
		}
		_, err := setup(cs.Lookup, io.Discard)
		if (err == nil) != (cs.Group == "effective") {
			t.Errorf("%s/%s: setup: %v", cs.Group, cs.Name, err)
		}
	}
}
