package sigv4_test

import (
	"fmt"
	"time"

	"presign.dev/sigv4"
)

// The AWS documentation's example credentials: they sign, but open nothing.
var exampleCreds = sigv4.Credentials{
	AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
	SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}

// A GET URL. This is the example of AWS's "Authenticating Requests: Using
// Query Parameters" page (examplebucket, test.txt, 24 hours from
// 2013-05-24), and the signature is the one that page gives.
func ExampleSigner_Presign() {
	s := sigv4.NewSigner(exampleCreds, "us-east-1", "s3")
	url := s.Presign(&sigv4.Request{
		Method:  "GET",
		Scheme:  "https",
		Host:    "examplebucket.s3.amazonaws.com",
		Path:    "/test.txt",
		Time:    time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC),
		Expires: 24 * time.Hour,
	})
	fmt.Println(url)
	// Output:
	// https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404
}

// A PUT URL whose Content-Type and Content-Length are signed. The client must
// send both headers with exactly these values. The store refuses a request
// with another type or size, or without the headers. X-Amz-SignedHeaders in
// the URL names them. The path is encoded once: the space becomes %20 and
// the + becomes %2B.
func ExampleSigner_Presign_put() {
	s := sigv4.NewSigner(exampleCreds, "us-east-1", "s3")
	req := &sigv4.Request{
		Method: "PUT",
		Scheme: "http",
		Host:   "127.0.0.1:9000",
		Path:   "/bucket/photos/cat picture+1.jpg",
		Headers: []sigv4.Header{
			{Name: "Content-Type", Value: "image/jpeg"},
			{Name: "Content-Length", Value: "123456"},
		},
		Time:    time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC),
		Expires: 15 * time.Minute,
	}
	fmt.Println(s.Presign(req))
	for _, h := range req.Headers {
		fmt.Printf("%s: %s\n", h.Name, h.Value)
	}
	// Output:
	// http://127.0.0.1:9000/bucket/photos/cat%20picture%2B1.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260524T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Signature=26383439f316235b8f3ffed671318b060b3128d025b5f8ead007a751b111d94f
	// Content-Type: image/jpeg
	// Content-Length: 123456
}

// A browser POST form. The client sends every field, in this order, as
// multipart/form-data, and the file last. The base64 policy pins the bucket,
// the key, the type and the size range (here 1 byte to 10 MiB), and it
// expires. x-amz-signature signs the policy.
func ExampleSigner_PresignPost() {
	s := sigv4.NewSigner(exampleCreds, "us-east-1", "s3")
	form, err := s.PresignPost(&sigv4.PostRequest{
		Bucket: "bucket",
		Fields: []sigv4.Param{
			{Name: "key", Value: "users/alice/cat.png"},
			{Name: "Content-Type", Value: "image/png"},
		},
		Conditions:      []sigv4.Condition{sigv4.ContentLengthRange(1, 10<<20)},
		Time:            time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC),
		Expires:         10 * time.Minute,
		LowerCaseFields: true,
	})
	if err != nil {
		panic(err)
	}
	for _, f := range form.Fields {
		fmt.Printf("%s=%s\n", f.Name, f.Value)
	}
	fmt.Printf("policy, decoded: %s\n", form.Policy)
	// Output:
	// key=users/alice/cat.png
	// Content-Type=image/png
	// x-amz-algorithm=AWS4-HMAC-SHA256
	// x-amz-credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/s3/aws4_request
	// x-amz-date=20260524T120000Z
	// policy=eyJleHBpcmF0aW9uIjoiMjAyNi0wNS0yNFQxMjoxMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0IjoiYnVja2V0In0seyJrZXkiOiJ1c2Vycy9hbGljZS9jYXQucG5nIn0seyJDb250ZW50LVR5cGUiOiJpbWFnZS9wbmcifSxbImNvbnRlbnQtbGVuZ3RoLXJhbmdlIiwxLDEwNDg1NzYwXSx7IngtYW16LWFsZ29yaXRobSI6IkFXUzQtSE1BQy1TSEEyNTYifSx7IngtYW16LWNyZWRlbnRpYWwiOiJBS0lBSU9TRk9ETk43RVhBTVBMRS8yMDI2MDUyNC91cy1lYXN0LTEvczMvYXdzNF9yZXF1ZXN0In0seyJ4LWFtei1kYXRlIjoiMjAyNjA1MjRUMTIwMDAwWiJ9XX0=
	// x-amz-signature=80f2fa2e9998aa4d471a4f4b13be6576ffa63365ed3fb8c70742cb2f5292ab3e
	// policy, decoded: {"expiration":"2026-05-24T12:10:00.000Z","conditions":[{"bucket":"bucket"},{"key":"users/alice/cat.png"},{"Content-Type":"image/png"},["content-length-range",1,10485760],{"x-amz-algorithm":"AWS4-HMAC-SHA256"},{"x-amz-credential":"AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/s3/aws4_request"},{"x-amz-date":"20260524T120000Z"}]}
}
