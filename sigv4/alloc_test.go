package sigv4

import (
	"testing"
	"time"
)

// The signer's contract: one allocation per URL (the string), none when
// appending to a buffer with room.
// The test command also runs it without -race (see scripts/test.sh).
func TestPresignAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race; checked in the non-race run")
	}
	s := NewSigner(docsCreds, "us-east-1", "s3")
	r := &Request{Method: "PUT", Scheme: "http", Host: "127.0.0.1:9000", Path: "/bucket/photos/2026/cat picture+1.jpg",
		Query:   []Param{{"partNumber", "3"}, {"uploadId", "abc"}},
		Headers: []Header{{"Content-Type", "image/jpeg"}, {"Content-Length", "123456"}},
		Time:    time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC), Expires: 900 * time.Second}
	s.Presign(r) // warm the key cache and the pool
	if n := testing.AllocsPerRun(200, func() { s.Presign(r) }); n > 1 {
		t.Errorf("Presign: %v allocations per URL, want <= 1", n)
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(200, func() { buf = s.AppendPresign(buf[:0], r) }); n > 0 {
		t.Errorf("AppendPresign: %v allocations per URL, want 0", n)
	}
}
