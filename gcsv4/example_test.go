package gcsv4_test

import (
	"fmt"
	"os"
	"time"

	"presign.dev/gcsv4"
)

// A GET URL signed with an HMAC key (GOOG4-HMAC-SHA256). The key is made up;
// the signature is the one openssl computes for this request (see
// TestHMACKnownAnswer).
func ExampleSigner_Presign() {
	s, err := gcsv4.NewSigner(gcsv4.Credentials{
		HMAC: &gcsv4.HMACKey{AccessID: "GOOG1EXAMPLEACCESSID", Secret: "Gh0st/+secret=EXAMPLE"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Presign(&gcsv4.Request{
		Method:  "GET",
		Bucket:  "test-bucket",
		Object:  "test-object",
		Time:    time.Date(2019, 2, 1, 9, 0, 0, 0, time.UTC),
		Expires: 10 * time.Second,
	}))
	// Output:
	// https://storage.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=GOOG1EXAMPLEACCESSID%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=33f32305cc58ed756b0017bb5408be0879712123c03b2158c537fc58da002296
}

// A PUT URL that creates an object only if none exists
// (x-goog-if-generation-match: 0), of one content type and between 1 byte
// and 10 MiB, signed with a service account's JSON key: here Google's
// inactive dummy key of the conformance vectors. The client must send each
// signed header with exactly its value.
func ExampleSigner_Presign_put() {
	data, err := os.ReadFile("testdata/conformance/service-account")
	if err != nil {
		panic(err)
	}
	sa, err := gcsv4.ParseServiceAccountKey(data)
	if err != nil {
		panic(err)
	}
	s, err := gcsv4.NewSigner(gcsv4.Credentials{ServiceAccount: &sa})
	if err != nil {
		panic(err)
	}
	r := &gcsv4.Request{
		Method: "PUT",
		Bucket: "uploads",
		Object: "users/u1/photo 1.jpg",
		Headers: []gcsv4.Header{
			{Name: "Content-Type", Value: "image/jpeg"},
			{Name: "x-goog-if-generation-match", Value: "0"},
			{Name: "x-goog-content-length-range", Value: "1,10485760"},
		},
		Time:    time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC),
		Expires: 15 * time.Minute,
	}
	fmt.Println(s.CanonicalRequest(r))
	// Output:
	// PUT
	// /uploads/users/u1/photo%201.jpg
	// X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20261206%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20261206T120000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=content-type%3Bhost%3Bx-goog-content-length-range%3Bx-goog-if-generation-match
	// content-type:image/jpeg
	// host:storage.googleapis.com
	// x-goog-content-length-range:1,10485760
	// x-goog-if-generation-match:0
	//
	// content-type;host;x-goog-content-length-range;x-goog-if-generation-match
	// UNSIGNED-PAYLOAD
}

// A browser form: the fields to send before the file, which must be the last
// part of the multipart/form-data body.
func ExampleSigner_PresignPost() {
	s, err := gcsv4.NewSigner(gcsv4.Credentials{
		HMAC: &gcsv4.HMACKey{AccessID: "GOOG1EXAMPLEACCESSID", Secret: "Gh0st/+secret=EXAMPLE"},
	})
	if err != nil {
		panic(err)
	}
	form, err := s.PresignPost(&gcsv4.PostRequest{
		Bucket:     "uploads",
		Object:     "users/u1/photo.jpg",
		Fields:     []gcsv4.Param{{Name: "content-type", Value: "image/jpeg"}, {Name: "success_action_status", Value: "201"}},
		Conditions: []gcsv4.Condition{gcsv4.ContentLengthRange(1, 10<<20)},
		Time:       time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC),
		Expires:    15 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("POST", form.URL)
	for _, f := range form.Fields {
		if f.Name == "policy" || f.Name == "x-goog-signature" {
			f.Value = "…"
		}
		fmt.Printf("%s: %s\n", f.Name, f.Value)
	}
	fmt.Printf("%s\n", form.Policy)
	// Output:
	// POST https://storage.googleapis.com/uploads/
	// key: users/u1/photo.jpg
	// content-type: image/jpeg
	// success_action_status: 201
	// x-goog-algorithm: GOOG4-HMAC-SHA256
	// x-goog-credential: GOOG1EXAMPLEACCESSID/20261206/auto/storage/goog4_request
	// x-goog-date: 20261206T120000Z
	// policy: …
	// x-goog-signature: …
	// {"conditions":[["content-length-range",1,10485760],{"content-type":"image/jpeg"},{"success_action_status":"201"},{"bucket":"uploads"},{"key":"users/u1/photo.jpg"},{"x-goog-date":"20261206T120000Z"},{"x-goog-credential":"GOOG1EXAMPLEACCESSID/20261206/auto/storage/goog4_request"},{"x-goog-algorithm":"GOOG4-HMAC-SHA256"}],"expiration":"2026-12-06T12:15:00Z"}
}
