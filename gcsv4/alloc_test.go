package gcsv4

import (
	"testing"
	"time"
)

// The signer's contract: with an HMAC key, one allocation per URL (the
// string) and none when appending to a buffer with room; with an RSA key,
// what crypto/rsa allocates besides.
// The test command also runs it without -race (see scripts/test.sh).
func TestPresignAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race; checked in the non-race run")
	}
	s, _ := NewSigner(Credentials{HMAC: &hmacKey})
	r := allocRequest()
	s.Presign(r) // warm the key cache and the pool
	if n := testing.AllocsPerRun(200, func() { s.Presign(r) }); n > 1 {
		t.Errorf("Presign: %v allocations per URL, want <= 1", n)
	}
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(200, func() { buf = s.AppendPresign(buf[:0], r) }); n > 0 {
		t.Errorf("AppendPresign: %v allocations per URL, want 0", n)
	}
}

func allocRequest() *Request {
	return &Request{Method: "PUT", Bucket: "bucket", Object: "photos/2026/cat picture+1.jpg",
		Query:   []Param{{"response-content-disposition", `attachment; filename="cat.jpg"`}},
		Headers: []Header{{"Content-Type", "image/jpeg"}, {"Content-Length", "123456"}, {"x-goog-if-generation-match", "0"}},
		Time:    time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC), Expires: 900 * time.Second}
}
