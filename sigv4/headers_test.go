package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Header signing (SignHeaders) checked against aws-sdk-go-v2's
// v4.Signer.SignHTTP, configured as its S3 client configures it: path escaped
// once by smithy's httpbinding.EscapePath (DisableURIPathEscaping), and
// X-Amz-Content-Sha256 set on the request before signing, as the client's
// middleware does.

// sdkSignHeaders signs r with aws-sdk-go-v2 and returns the request's
// headers after signing.
func sdkSignHeaders(t testing.TB, creds Credentials, region string, r *Request) http.Header {
	t.Helper()
	req := sdkRequest(t, r, nil)
	payload := r.PayloadHash
	if payload == "" {
		payload = UnsignedPayload
	}
	req.Header.Set("X-Amz-Content-Sha256", payload)
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err := s.SignHTTP(context.Background(), aws.Credentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
	}, req, payload, "s3", region, r.Time)
	if err != nil {
		t.Fatalf("SDK sign: %v", err)
	}
	return req.Header
}

// authHeaderNames are the headers SignHeaders returns, as the SDK sets them.
var authHeaderNames = []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"}

// checkAgainstSDK fails unless SignHeaders returns exactly the
// authentication headers SignHTTP sets, and returns our Authorization.
func checkAgainstSDK(t *testing.T, creds Credentials, region string, r *Request) string {
	t.Helper()
	s := NewSigner(creds, region, "s3")
	got := map[string]string{}
	for _, h := range s.SignHeaders(r) {
		if _, dup := got[h.Name]; dup {
			t.Fatalf("SignHeaders returned %s twice", h.Name)
		}
		got[h.Name] = h.Value
	}
	auth := got["Authorization"]
	sdk := sdkSignHeaders(t, creds, region, r)
	for _, name := range authHeaderNames {
		want := sdk.Get(name)
		if got[name] != want {
			t.Fatalf("%s differs for %+v\n ours %q\n  sdk %q\ncanonical request:\n%s", name, *r, got[name], want, s.headerCanonicalRequest(r))
		}
		delete(got, name)
	}
	if len(got) > 0 {
		t.Fatalf("SignHeaders returned headers the SDK does not set: %v", got)
	}
	for _, split := range splitPaths(r) {
		for _, h := range s.SignHeaders(&split) {
			if h.Name == "Authorization" && h.Value != auth {
				t.Fatalf("Authorization differs for %+v (path split)\n split %q\n whole %q", split, h.Value, auth)
			}
		}
	}
	return auth
}

func TestSignHeadersMatchesSDK(t *testing.T) {
	docsTime := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	base := time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)
	xmlBody := `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`
	xmlHash := sha256.Sum256([]byte(xmlBody))
	tests := []struct {
		name   string
		creds  Credentials
		region string
		req    Request
		// wantAuth is the Authorization header that aws-sdk-go-v2 v1.47.7's
		// v4.Signer.SignHTTP computed for the request.
		wantAuth string
		// docsSig, when set, is the signature the S3 API reference gives for
		// the request ("Examples: Signature Calculations",
		// ../shared/reference/s3-presign.md §7.2).
		docsSig string
	}{
		{
			name: "s3 docs GET object with range", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "GET", Host: "examplebucket.s3.amazonaws.com", Path: "/test.txt",
				Headers: []Header{{"Range", "bytes=0-9"}}, PayloadHash: EmptyPayloadHash, Time: docsTime},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			docsSig:  "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "s3 docs PUT object", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "PUT", Host: "examplebucket.s3.amazonaws.com", Path: "/test$file.text",
				Headers:     []Header{{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
				PayloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", Time: docsTime},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			docsSig:  "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "s3 docs GET bucket lifecycle", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "GET", Host: "examplebucket.s3.amazonaws.com", Path: "/",
				Query: []Param{{"lifecycle", ""}}, PayloadHash: EmptyPayloadHash, Time: docsTime},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
			docsSig:  "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "s3 docs list objects", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "GET", Host: "examplebucket.s3.amazonaws.com", Path: "/",
				Query: []Param{{"prefix", "J"}, {"max-keys", "2"}}, PayloadHash: EmptyPayloadHash, Time: docsTime},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
			docsSig:  "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
		{
			name: "create multipart upload, key with space plus unicode", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "POST", Host: "127.0.0.1:9000", Path: "/bucket/a b+c/ü 日本.txt",
				Query: []Param{{"uploads", ""}},
				Headers: []Header{{"Content-Type", "image/jpeg"}, {"x-amz-meta-owner", "alice"},
					{"x-amz-checksum-algorithm", "CRC64NVME"}, {"x-amz-checksum-type", "FULL_OBJECT"}},
				PayloadHash: EmptyPayloadHash, Time: base},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;x-amz-checksum-algorithm;x-amz-checksum-type;x-amz-content-sha256;x-amz-date;x-amz-meta-owner, Signature=afe9f4698256c0f30784102775ea778c118be20dd1ea3077498816378b888368",
		},
		{
			name: "complete multipart upload with body", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "POST", Host: "127.0.0.1:9000", Path: "/bucket/big.bin",
				Query: []Param{{"uploadId", "2~abc/+=="}},
				Headers: []Header{{"Content-Type", "application/xml"}, {"If-None-Match", "*"},
					{"x-amz-mp-object-size", "5242890"}, {"x-amz-checksum-crc64nvme", "AAAAAAAAAAA="}},
				PayloadHash: hex.EncodeToString(xmlHash[:]), Time: base},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;if-none-match;x-amz-checksum-crc64nvme;x-amz-content-sha256;x-amz-date;x-amz-mp-object-size, Signature=d151089bb6672070054af0ffccc7d1814fbf42943f9a364f26a5b6e79f3779f8",
		},
		{
			name:  "session token, virtual host, other region",
			creds: Credentials{AccessKeyID: "ASIA+/AK", SecretAccessKey: "s", SessionToken: "FwoGZXIvYXdzE+/=token"}, region: "eu-west-1",
			req: Request{Method: "HEAD", Host: "bucket.s3.eu-west-1.amazonaws.com", Path: "/k",
				Headers: []Header{{"x-amz-checksum-mode", "ENABLED"}}, PayloadHash: EmptyPayloadHash, Time: base},
			wantAuth: "AWS4-HMAC-SHA256 Credential=ASIA+/AK/20260524/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=0b196da925d875be08e3a7b7bcdc41b2252b596c3a7eb1ac721ec1fc7b5be63f",
		},
		{
			name: "unsigned payload", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "PUT", Host: "127.0.0.1:9000", Path: "/bucket/k",
				Headers: []Header{{"Content-Length", "5"}}, Time: base},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date, Signature=1be319acc7c022f030df85def67bf5b4aee944a84ecc17198540fbdd3ce95085",
		},
		{
			name: "repeated names, spaces in values, query sorting", creds: docsCreds, region: "us-east-1",
			req: Request{Method: "DELETE", Host: "127.0.0.1:9000", Path: "/bucket/a//b/../c",
				Query:       []Param{{"uploadId", "x y"}, {"A", "1"}, {"a/b", "3"}, {"A", "0"}},
				Headers:     []Header{{"X-Amz-Meta-B", "  two   spaces  "}, {"x-amz-meta-a", "1"}, {"X-Amz-Meta-A", " 2\t"}},
				PayloadHash: EmptyPayloadHash, Time: base},
			wantAuth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-b, Signature=99e6244c84cdca18df1d7e03ab824548d8a2a4bbbd0a94af023252446eabdb5f",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.Scheme = "https"
			if got := checkAgainstSDK(t, tt.creds, tt.region, &r); got != tt.wantAuth {
				t.Errorf("Authorization\n got %s\nwant %s", got, tt.wantAuth)
			}
			if tt.docsSig != "" && !strings.HasSuffix(tt.wantAuth, "Signature="+tt.docsSig) {
				t.Errorf("the S3 docs give signature %s", tt.docsSig)
			}
		})
	}
}

// SignHeaders does not disturb presigning with the same signer and pool,
// and the presigned canonical request still carries the query auth.
func TestSignHeadersCanonicalRequest(t *testing.T) {
	s := NewSigner(docsCreds, "us-east-1", "s3")
	r := &Request{Method: "GET", Scheme: "https", Host: "examplebucket.s3.amazonaws.com", Path: "/test.txt",
		Headers: []Header{{"Range", "bytes=0-9"}}, PayloadHash: EmptyPayloadHash,
		Time: time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), Expires: time.Hour}
	want := "GET\n/test.txt\n\n" +
		"host:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n" +
		"x-amz-content-sha256:" + EmptyPayloadHash + "\nx-amz-date:20130524T000000Z\n\n" +
		"host;range;x-amz-content-sha256;x-amz-date\n" + EmptyPayloadHash
	if got := s.headerCanonicalRequest(r); got != want {
		t.Errorf("canonical request\n got %q\nwant %q", got, want)
	}
	s.SignHeaders(r)
	if got := s.CanonicalRequest(r); !strings.Contains(got, "X-Amz-SignedHeaders=host%3Brange\n") || strings.Contains(got, "x-amz-date") {
		t.Errorf("presigned canonical request after SignHeaders:\n%s", got)
	}
}

func FuzzSignHeadersMatchesSDK(f *testing.F) {
	f.Add("a b/c+d.txt", "uploads", "", "image/jpeg", "meta value", "", []byte(nil), uint8(0), uint8(4), uint8(0), int64(0), uint32(0))
	f.Add("ü/../%2F//x", "uploadId", "2~abc/+==", "", "  a  b  ", "tok+/=", []byte("<Complete/>"), uint8(1), uint8(1), uint8(1), int64(5), uint32(86400))
	f.Add("", "partNumber", "1", "text/plain; charset=utf-8", "\tx\t", "", []byte{0, 1, 2}, uint8(2), uint8(2), uint8(2), int64(1<<40), uint32(1))
	f.Fuzz(func(t *testing.T, key, qname, qvalue, ctype, meta, token string, body []byte, hostIdx, methodIdx, payloadMode uint8, length int64, when uint32) {
		if !printable(token) {
			t.Skip()
		}
		r := fuzzRequest(t, key, qname, qvalue, ctype, meta, hostIdx, methodIdx, length, time.Unix(1e9+int64(when)*1000, 0).UTC())
		switch payloadMode % 3 {
		case 0:
			r.PayloadHash = EmptyPayloadHash
		case 1:
			sum := sha256.Sum256(body)
			r.PayloadHash = hex.EncodeToString(sum[:])
		} // 2: UNSIGNED-PAYLOAD
		creds := Credentials{AccessKeyID: "AKIA" + strconv.Itoa(int(hostIdx)), SecretAccessKey: key, SessionToken: token}
		checkAgainstSDK(t, creds, "us-east-1", r)
	})
}
