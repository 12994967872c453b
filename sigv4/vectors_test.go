package sigv4

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// Test vectors from ../shared/reference/s3-presign.md §7: the S3 docs
// query-auth example, the aws-c-auth query (presigned) suite, botocore's S3
// presign vector, the benchmark inputs, and the S3 docs browser POST example.

var (
	docsCreds  = Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	suiteCreds = Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	suiteTime  = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
)

func TestPresignVectors(t *testing.T) {
	tests := []struct {
		name     string
		creds    Credentials
		region   string
		service  string
		req      Request
		wantCreq string // "" skips the check
		wantSig  string
		wantURL  string // "" skips the check
	}{
		{
			name: "s3 docs query auth example", creds: docsCreds, region: "us-east-1", service: "s3",
			req: Request{Method: "GET", Scheme: "https", Host: "examplebucket.s3.amazonaws.com", Path: "/test.txt",
				Time: time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), Expires: 86400 * time.Second},
			wantCreq: "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD",
			wantSig:  "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
			wantURL:  "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
		},
		{
			name: "aws-c-auth get-vanilla", creds: suiteCreds, region: "us-east-1", service: "service",
			req: Request{Method: "GET", Scheme: "https", Host: "example.amazonaws.com", Path: "/",
				PayloadHash: EmptyPayloadHash, Time: suiteTime, Expires: time.Hour},
			wantSig: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
		},
		{
			name: "aws-c-auth get-vanilla-with-session-token",
			creds: Credentials{AccessKeyID: suiteCreds.AccessKeyID, SecretAccessKey: suiteCreds.SecretAccessKey,
				SessionToken: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"},
			region: "us-east-1", service: "service",
			req: Request{Method: "GET", Scheme: "https", Host: "example.amazonaws.com", Path: "/",
				PayloadHash: EmptyPayloadHash, Time: suiteTime, Expires: time.Hour},
			wantSig: "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c",
		},
		{
			name: "aws-c-auth get-utf8", creds: suiteCreds, region: "us-east-1", service: "service",
			req: Request{Method: "GET", Scheme: "https", Host: "example.amazonaws.com", Path: "/ሴ",
				PayloadHash: EmptyPayloadHash, Time: suiteTime, Expires: time.Hour},
			wantSig: "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44",
		},
		{
			name: "aws-c-auth get-vanilla-query-order-encoded", creds: suiteCreds, region: "us-east-1", service: "service",
			req: Request{Method: "GET", Scheme: "https", Host: "example.amazonaws.com", Path: "/",
				Query:       []Param{{"Param-3", "Value3"}, {"Param", "Value2"}, {"ሴ", "Value1"}},
				PayloadHash: EmptyPayloadHash, Time: suiteTime, Expires: time.Hour},
			wantCreq: "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\n" + EmptyPayloadHash,
			wantSig:  "c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787",
		},
		{
			name:  "botocore s3 sigv4 presign, path not normalized",
			creds: Credentials{AccessKeyID: "access_key", SecretAccessKey: "secret_key"}, region: "myregion", service: "myservice",
			req: Request{Method: "GET", Scheme: "https", Host: "s3.us-west-2.amazonaws.com", Path: "/mybucket/keyname/.bar",
				Time: time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), Expires: 60 * time.Second},
			wantSig: "ac1b8b9e47e8685c5c963d75e35e8741d55251cd955239cc1efad4dc7201db66",
		},
		{
			name: "benchmark GET, space and plus in key", creds: docsCreds, region: "us-east-1", service: "s3",
			req: Request{Method: "GET", Scheme: "http", Host: "127.0.0.1:9000", Path: "/bucket/photos/2026/cat picture+1.jpg",
				Time: time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC), Expires: 900 * time.Second},
			wantCreq: "GET\n/bucket/photos/2026/cat%20picture%2B1.jpg\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260524T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\nhost:127.0.0.1:9000\n\nhost\nUNSIGNED-PAYLOAD",
			wantSig:  "4559b1660311bc236f16d4c3b0e6f57386c17fa851ec8eecf250bf254b1f81b9",
		},
		{
			name: "benchmark PUT with content-type and content-length", creds: docsCreds, region: "us-east-1", service: "s3",
			req: Request{Method: "PUT", Scheme: "http", Host: "127.0.0.1:9000", Path: "/bucket/photos/2026/cat picture+1.jpg",
				Headers: []Header{{"Content-Type", "image/jpeg"}, {"Content-Length", "123456"}},
				Time:    time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC), Expires: 900 * time.Second},
			wantCreq: "PUT\n/bucket/photos/2026/cat%20picture%2B1.jpg\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260524T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost\ncontent-length:123456\ncontent-type:image/jpeg\nhost:127.0.0.1:9000\n\ncontent-length;content-type;host\nUNSIGNED-PAYLOAD",
			wantSig:  "7676b3ee6278f9fccafd7d5a2de2b67e45062cf76b8427f88b4b5536278efbdf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSigner(tt.creds, tt.region, tt.service)
			if tt.wantCreq != "" {
				if got := s.CanonicalRequest(&tt.req); got != tt.wantCreq {
					t.Errorf("canonical request:\n got %q\nwant %q", got, tt.wantCreq)
				}
			}
			// Twice: the second call goes through the cached key and pooled buffers.
			for i := 0; i < 2; i++ {
				u := s.Presign(&tt.req)
				sig := u[strings.LastIndex(u, "X-Amz-Signature=")+len("X-Amz-Signature="):]
				if sig != tt.wantSig {
					t.Errorf("call %d: signature %s, want %s", i, sig, tt.wantSig)
				}
				if tt.wantURL != "" && u != tt.wantURL {
					t.Errorf("call %d: URL\n got %s\nwant %s", i, u, tt.wantURL)
				}
			}
		})
	}
}

func TestStringToSignAndKeyDocsExample(t *testing.T) {
	s := NewSigner(docsCreds, "us-east-1", "s3")
	r := &Request{Method: "GET", Scheme: "https", Host: "examplebucket.s3.amazonaws.com", Path: "/test.txt",
		Time: time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), Expires: 86400 * time.Second}
	want := "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
	if got := s.StringToSign(r); got != want {
		t.Errorf("string to sign:\n got %q\nwant %q", got, want)
	}
	if got := hex.EncodeToString(s.SigningKey(r.Time)); got != "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378" {
		t.Errorf("signing key %s", got)
	}
}

// DeriveKey with the key derivation example of AWS's SigV4 documentation
// (service iam), and FormatDate of a time outside UTC.
func TestDeriveKeyDocsExample(t *testing.T) {
	k := DeriveKey("AWS4", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", []byte("20120215"), "us-east-1", "iam", "aws4_request")
	if got := hex.EncodeToString(k[:]); got != "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d" {
		t.Errorf("signing key %s", got)
	}
	var date [16]byte
	FormatDate(&date, time.Date(2012, 2, 14, 19, 4, 5, 999, time.FixedZone("", -5*3600)))
	if got := string(date[:]); got != "20120215T000405Z" {
		t.Errorf("FormatDate: %s", got)
	}
}

// The S3 docs browser POST example: the exact base64 policy signed with the
// 20151229 key.
func TestSignPolicyDocsExample(t *testing.T) {
	const policyB64 = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	s := NewSigner(docsCreds, "us-east-1", "s3")
	day := time.Date(2015, 12, 29, 0, 0, 0, 0, time.UTC)
	if got := hex.EncodeToString(s.SigningKey(day)); got != "cbcef1ebeaefc82cce6530b9f0a9ae598846065f5c5bae0674bd5ebc4ba52d28" {
		t.Errorf("signing key %s", got)
	}
	if got := s.SignPolicy(policyB64, day); got != "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e" {
		t.Errorf("signature %s", got)
	}
}
