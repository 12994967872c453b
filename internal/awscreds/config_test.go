package awscreds

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

func TestValidate(t *testing.T) {
	keys := sigv4.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret-value"}
	role := "arn:aws:iam::123456789012:role/presign"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`
	tests := []struct {
		name string
		cfg  Config
		want presign.Problems
	}{
		{name: "static", cfg: Config{Source: SourceStatic, Static: keys}},
		{name: "empty source with keys is static", cfg: Config{Static: keys}},
		{name: "empty source without keys is aws_default", cfg: Config{}},
		{name: "aws_default with STS settings", cfg: Config{Source: SourceAWSDefault, Region: "eu-west-1", STSEndpoint: "https://sts.eu-west-1.amazonaws.com"}},
		{name: "assume_role on static", cfg: Config{Source: SourceAssumeRole, Static: keys, RoleARN: role, ExternalID: "ext-1", SessionName: "presign", SessionPolicy: policy, Duration: time.Hour, Region: "us-east-1"}},
		{name: "assume_role on aws_default", cfg: Config{Source: SourceAssumeRole, Base: SourceAWSDefault, RoleARN: "arn:aws-cn:iam::123456789012:role/path/to/r"}},
		{name: "assume_role on MinIO's role ARN", cfg: Config{Source: SourceAssumeRole, Static: keys, RoleARN: "arn:minio:iam:us-east-1::role/abc"}},
		{name: "unknown source", cfg: Config{Source: "env"}, want: presign.Problems{{Field: "source", Message: "must be static, aws_default or assume_role"}}},
		{name: "static without keys", cfg: Config{Source: SourceStatic}, want: presign.Problems{
			{Field: "access_key_id", Message: "is required with source static"},
			{Field: "secret_access_key", Message: "is required with source static"},
		}},
		{name: "aws_default with keys", cfg: Config{Source: SourceAWSDefault, Static: keys}, want: presign.Problems{
			{Field: "access_key_id", Message: "is not used with source aws_default (the credentials come from the environment, the container or the instance)"},
			{Field: "secret_access_key", Message: "is not used with source aws_default (the credentials come from the environment, the container or the instance)"},
		}},
		{name: "assume_role on aws_default with keys", cfg: Config{Source: SourceAssumeRole, Base: SourceAWSDefault, Static: sigv4.Credentials{SessionToken: "tok"}, RoleARN: role}, want: presign.Problems{
			{Field: "session_token", Message: "is not used with source assume_role and base aws_default (the credentials come from the environment, the container or the instance)"},
		}},
		{name: "role settings without assume_role", cfg: Config{Static: keys, RoleARN: role, Duration: time.Hour, Base: "static", Region: "us-east-1"}, want: presign.Problems{
			{Field: "base", Message: "is only used with source assume_role"},
			{Field: "role_arn", Message: "is only used with source assume_role"},
			{Field: "duration", Message: "is only used with source assume_role"},
			{Field: "region", Message: "is only used with source assume_role or aws_default"},
		}},
		{name: "assume_role, base static without keys", cfg: Config{Source: SourceAssumeRole, Base: SourceStatic, RoleARN: role}, want: presign.Problems{
			{Field: "access_key_id", Message: "is required with source assume_role and base static"},
			{Field: "secret_access_key", Message: "is required with source assume_role and base static"},
		}},
		{name: "assume_role: bad values", cfg: Config{
			Source: SourceAssumeRole, Static: keys, Base: "environment",
			RoleARN: "arn:aws:iam::123456789012:user/bob", ExternalID: "x", SessionName: "has space",
			SessionPolicy: `{"Version":"2012-10-17"}`, Duration: 10 * time.Minute, Region: "US_EAST", STSEndpoint: "ftp://x",
		}, want: presign.Problems{
			{Field: "base", Message: "must be static or aws_default"},
			{Field: "role_arn", Message: "must be a role ARN: arn:<partition>:iam::<account>:role/<name>"},
			{Field: "external_id", Message: "must be 2 to 1224 letters, digits or +=,.@:/-_"},
			{Field: "session_name", Message: "must be 2 to 64 letters, digits or +=,.@-_"},
			{Field: "session_policy", Message: "must be an IAM policy: a JSON object with a Statement"},
			{Field: "duration", Message: "must be between 15m and 12h (and at most the role's maximum session duration)"},
			{Field: "region", Message: "must be a region name such as us-east-1"},
			{Field: "sts_endpoint", Message: "the STS endpoint must be an http(s) URL with a host and no user, query or fragment"},
		}},
		{name: "assume_role: missing role, policy not JSON, fractional duration", cfg: Config{
			Source: SourceAssumeRole, Static: keys, SessionPolicy: `{"Statement":`, Duration: time.Hour + time.Millisecond,
		}, want: presign.Problems{
			{Field: "role_arn", Message: "is required with source assume_role"},
			{Field: "session_policy", Message: "must be an IAM policy: a JSON object"},
			{Field: "duration", Message: "must be whole seconds"},
		}},
		{name: "policy too long", cfg: Config{Source: SourceAssumeRole, Static: keys, RoleARN: role, SessionPolicy: `{"Statement":[],"x":"` + strings.Repeat("a", 2048) + `"}`},
			want: presign.Problems{{Field: "session_policy", Message: "must be at most 2048 characters (STS's limit)"}}},
		{name: "white space in a key", cfg: Config{Static: sigv4.Credentials{AccessKeyID: "AKIA\n", SecretAccessKey: "s s"}}, want: presign.Problems{
			{Field: "access_key_id", Message: "must not contain white space"},
			{Field: "secret_access_key", Message: "must not contain white space"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.Validate()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if strings.Contains(got.Error(), "secret-value") {
				t.Errorf("a problem quotes the secret: %v", got)
			}
			_, err := New(tt.cfg, Options{Lookup: env(map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})})
			if len(tt.want) > 0 {
				var ps presign.Problems
				if !errors.As(err, &ps) || len(ps) != len(tt.want) {
					t.Errorf("New: %v, want the problems", err)
				}
			} else if err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
}

// TestDefaultChain: which source the environment selects, in
// aws-sdk-go-v2's order, and what makes it an error.
func TestDefaultChain(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string // the source type, or the error
		wantErr string
	}{
		{name: "keys", env: map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"}, want: "environment"},
		{name: "old key names", env: map[string]string{"AWS_ACCESS_KEY": "a", "AWS_SECRET_KEY": "b"}, want: "environment"},
		{name: "half a key", env: map[string]string{"AWS_ACCESS_KEY_ID": "a"}, wantErr: "credentials (environment): environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
		{name: "half a key (secret)", env: map[string]string{"AWS_SECRET_ACCESS_KEY": "b"}, wantErr: "credentials (environment): environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"},
		{name: "web identity before containers", env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"}, want: "web_identity"},
		{name: "web identity without a role", env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "/t"}, wantErr: "credentials (web_identity): environment: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"},
		{name: "relative before full", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1/"}, want: "container"},
		{name: "relative URI not a path", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "v2/x"}, wantErr: "credentials (container): environment: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /"},
		{name: "relative URI that changes the host", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "@evil.example/x"}, wantErr: "credentials (container): environment: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /"},
		{name: "full URI", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"}, want: "container"},
		{name: "full URI not a URL", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "169.254.170.23/v1"}, wantErr: "credentials (container): environment: AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http(s) URL with a host"},
		{name: "IMDS last", env: map[string]string{}, want: "imds"},
		{name: "IMDS endpoint not a URL", env: map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": "169.254.169.254"}, wantErr: "credentials (imds): environment: AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL with a host"},
		{name: "IMDS mode", env: map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv5"}, wantErr: "credentials (imds): environment: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6"},
		{name: "nothing", env: map[string]string{"AWS_EC2_METADATA_DISABLED": "TRUE"}, wantErr: errNoSource.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Source: SourceAWSDefault}, Options{Lookup: env(tt.env)})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			switch v := p.(type) {
			case ProviderFunc:
				cr, _ := v.Retrieve(t.Context())
				got = cr.Source
			case *Cache:
				switch v.src.(type) {
				case *webIdentity:
					got = "web_identity"
				case *container:
					got = "container"
				case *imds:
					got = "imds"
				}
			}
			if got != tt.want {
				t.Errorf("source %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEnvironmentCredentials: Lambda's role credentials come through the
// environment, with a session token and no expiry.
func TestEnvironmentCredentials(t *testing.T) {
	p, err := New(Config{}, Options{Lookup: env(map[string]string{
		"AWS_ACCESS_KEY_ID": "ASIALAMBDA", "AWS_SECRET_ACCESS_KEY": "lambda-secret", "AWS_SESSION_TOKEN": "lambda-token",
		"AWS_LAMBDA_FUNCTION_NAME": "presign",
	})})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Retrieve(t.Context())
	want := Credentials{Credentials: sigv4.Credentials{AccessKeyID: "ASIALAMBDA", SecretAccessKey: "lambda-secret", SessionToken: "lambda-token"}, Source: "environment"}
	if err != nil || got != want {
		t.Fatalf("%v %v", got, err)
	}
	if s := got.String() + " " + got.GoString(); strings.Contains(s, "lambda-secret") || strings.Contains(s, "lambda-token") {
		t.Errorf("String shows a secret: %s", s)
	}
}

// stsRecorder is an STS endpoint that records each request and answers
// with a canned document.
type stsRecorder struct {
	mu       sync.Mutex
	requests []*http.Request
	forms    []url.Values
	bodies   []string
	answer   string
	status   int
}

func (s *stsRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.forms = append(s.forms, form)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if s.status != 0 {
		w.WriteHeader(s.status)
	}
	io.WriteString(w, s.answer)
}

// awsAssumeRoleAnswer has the shape of STS's documented AssumeRole
// response (API_AssumeRole, "Example").
const awsAssumeRoleAnswer = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
  <SourceIdentity>DevUser123</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>
       AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW
      </SessionToken>
      <Expiration>2026-12-06T13:00:00Z</Expiration>
    </Credentials>
    <PackedPolicySize>8</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`

// TestAssumeRoleRequest: what is sent to STS, exactly.
func TestAssumeRoleRequest(t *testing.T) {
	rec := &stsRecorder{answer: awsAssumeRoleAnswer}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cfg := Config{
		Source:        SourceAssumeRole,
		Static:        sigv4.Credentials{AccessKeyID: "AKIABASE", SecretAccessKey: "base-secret"},
		RoleARN:       "arn:aws:iam::123456789012:role/demo",
		ExternalID:    "ext-123",
		SessionPolicy: `{"Version":"2012-10-17","Statement":[]}`,
		Duration:      30 * time.Minute,
		Region:        "eu-west-1",
		STSEndpoint:   srv.URL,
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	p, err := New(cfg, Options{Now: func() time.Time { return now }, Lookup: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{
		Credentials: sigv4.Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
			SessionToken: "\n       AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW\n      "},
		CanExpire: true, Expires: time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC), Source: "assume_role",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(url.Values{
		"Action":          {"AssumeRole"},
		"Version":         {"2011-06-15"},
		"RoleArn":         {"arn:aws:iam::123456789012:role/demo"},
		"RoleSessionName": {"presign-1796558400"},
		"ExternalId":      {"ext-123"},
		"Policy":          {`{"Version":"2012-10-17","Statement":[]}`},
		"DurationSeconds": {"1800"},
	}, rec.forms[0]); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
	r := rec.requests[0]
	if r.Method != "POST" || r.URL.Path != "/" || r.URL.RawQuery != "" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded; charset=utf-8" {
		t.Errorf("request %s %s %v", r.Method, r.URL, r.Header)
	}
	// Signed for sts in the configured region, with the base credentials,
	// independently: sigv4's own header signature of the same request.
	signer := sigv4.NewSigner(cfg.Static, "eu-west-1", "sts")
	wantAuth := signer.SignHeaders(&sigv4.Request{
		Method: "POST", Host: r.Host, Path: "/",
		Headers:     []sigv4.Header{{Name: "content-type", Value: r.Header.Get("Content-Type")}},
		PayloadHash: sha256Hex(rec.bodies[0]), Time: now,
	})[0].Value
	if got := r.Header.Get("Authorization"); got != wantAuth || !strings.Contains(got, "/20261206/eu-west-1/sts/aws4_request") {
		t.Errorf("Authorization %q, want %q", got, wantAuth)
	}

	// An STS error, with its code and message.
	rec.status, rec.answer = 403, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/presign is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>`
	p, _ = New(cfg, Options{Now: func() time.Time { return now }, Lookup: env(nil)})
	_, err = p.Retrieve(t.Context())
	if err == nil || err.Error() != "credentials (assume_role): AssumeRole: HTTP 403: AccessDenied: User: arn:aws:iam::123456789012:user/presign is not authorized to perform: sts:AssumeRole" {
		t.Errorf("refused: %v", err)
	}
	// Not STS at all.
	rec.status, rec.answer = 502, `<html>bad gateway</html>`
	p, _ = New(cfg, Options{Now: func() time.Time { return now }, Lookup: env(nil)})
	if _, err = p.Retrieve(t.Context()); err == nil || err.Error() != "credentials (assume_role): AssumeRole: HTTP 502: unexpected answer <html>" {
		t.Errorf("a proxy's page: %v", err)
	}
}

// TestWebIdentityRequest: unsigned, the token from the file, the session
// name generated when not set, the endpoint and region from the
// environment.
func TestWebIdentityRequest(t *testing.T) {
	rec := &stsRecorder{answer: strings.ReplaceAll(awsAssumeRoleAnswer, "AssumeRole", "AssumeRoleWithWebIdentity")}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	p, err := New(Config{}, Options{
		Now: func() time.Time { return now },
		Lookup: env(map[string]string{
			"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
			"AWS_ROLE_ARN":                "arn:aws:iam::123456789012:role/irsa",
			"AWS_ENDPOINT_URL":            srv.URL,
		}),
		ReadFile: func(name string) ([]byte, error) {
			if name != "/var/run/secrets/eks.amazonaws.com/serviceaccount/token" {
				t.Errorf("read %s", name)
			}
			return []byte("eyJ.token.sig\n"), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Retrieve(t.Context())
	if err != nil || got.Source != "web_identity" || got.AccessKeyID != "ASIAIOSFODNN7EXAMPLE" {
		t.Fatalf("%v %v", got, err)
	}
	if diff := cmp.Diff(url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {"arn:aws:iam::123456789012:role/irsa"},
		"RoleSessionName":  {"presign-1796558400000000000"},
		"WebIdentityToken": {"eyJ.token.sig"},
	}, rec.forms[0]); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
	if a := rec.requests[0].Header.Get("Authorization"); a != "" {
		t.Errorf("signed: %s", a)
	}
}

// TestSTSEndpoint: where STS is called, and in which region it is signed.
func TestSTSEndpoint(t *testing.T) {
	tests := []struct {
		cfg        Config
		env        map[string]string
		url, reg   string
		wantErrStr string
	}{
		{url: "https://sts.amazonaws.com/", reg: "us-east-1"},
		{cfg: Config{Region: "eu-west-1"}, url: "https://sts.eu-west-1.amazonaws.com/", reg: "eu-west-1"},
		{env: map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-1"}, url: "https://sts.ap-south-1.amazonaws.com/", reg: "ap-south-1"},
		{env: map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"}, url: "https://sts.eu-west-1.amazonaws.com/", reg: "eu-west-1"},
		{cfg: Config{Region: "eu-west-1", STSEndpoint: "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com"}, url: "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com/", reg: "eu-west-1"},
		{cfg: Config{STSEndpoint: "http://127.0.0.1:9000"}, env: map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9100", "AWS_ENDPOINT_URL": "http://127.0.0.1:9200"}, url: "http://127.0.0.1:9100/", reg: "us-east-1"},
		{env: map[string]string{"AWS_REGION": "not a region"}, wantErrStr: "credentials (sts): environment: AWS_REGION or AWS_DEFAULT_REGION is not a region name"},
		{env: map[string]string{"AWS_ENDPOINT_URL_STS": "localhost:9000"}, wantErrStr: "credentials (sts): endpoint: the STS endpoint must be an http(s) URL with a host and no user, query or fragment"},
	}
	for _, tt := range tests {
		s, err := newSTS(tt.cfg, Options{Lookup: env(tt.env)}.withDefaults())
		if tt.wantErrStr != "" {
			if err == nil || err.Error() != tt.wantErrStr {
				t.Errorf("%+v %v: %v, want %q", tt.cfg, tt.env, err, tt.wantErrStr)
			}
			continue
		}
		if err != nil || s.endpoint.String() != tt.url || s.region != tt.reg {
			t.Errorf("%+v %v: %v %v, want %s %s", tt.cfg, tt.env, s, err, tt.url, tt.reg)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
