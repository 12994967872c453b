package presign_test

import (
	"context"
	"fmt"
	"time"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

func ExampleIssuer_Issue() {
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{
			Endpoint: "http://127.0.0.1:9000", Bucket: "bucket",
			Credentials: sigv4.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		}},
		Now: func() time.Time { return time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	size := int64(123456)
	g, err := iss.Issue(context.Background(), presign.Principal{Kind: "api_key", Name: "web"}, presign.Request{
		Op: presign.OpPut, Key: "photos/2026/cat picture+1.jpg", ContentType: "image/jpeg", ContentLength: &size,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Method, g.URL)
	fmt.Println(g.Headers)
	fmt.Println(g.ExpiresAt)
	// Output:
	// PUT http://127.0.0.1:9000/bucket/photos/2026/cat%20picture%2B1.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260524T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Signature=7676b3ee6278f9fccafd7d5a2de2b67e45062cf76b8427f88b4b5536278efbdf
	// map[Content-Length:123456 Content-Type:image/jpeg]
	// 2026-05-24 12:15:00 +0000 UTC
}

func ExampleIssuer_Issue_refused() {
	iss, _ := presign.New(presign.Config{Backends: []presign.Backend{{
		Endpoint: "http://127.0.0.1:9000", Bucket: "bucket",
		Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"},
	}}})
	_, err := iss.Issue(context.Background(), presign.Principal{}, presign.Request{Op: presign.OpGet, Key: "a/../b"})
	fmt.Println(presign.ErrorCode(err), presign.ErrorMessage(err))
	// Output: invalid_argument key has a ".." path segment
}
