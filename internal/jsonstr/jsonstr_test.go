package jsonstr

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestPlain8: the 8-byte test agrees with the per-byte table for every byte
// value in every lane, and for every pair of bytes from the edges of the
// classes (where a borrow between lanes could mislead it) in every two lanes.
func TestPlain8(t *testing.T) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if !plainJSON[s[i]] {
				return false
			}
		}
		return true
	}
	b := []byte("abcdefgh")
	for lane := range 8 {
		for c := range 256 {
			b[lane] = byte(c)
			if got, want := plain8(string(b)), plain(string(b)); got != want {
				t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
			}
		}
		b[lane] = 'a'
	}
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0x81, 0xa2, 0xdc, 0xfe, 0xff}
	for i := range 8 {
		for j := i + 1; j < 8; j++ {
			for _, x := range edges {
				for _, y := range edges {
					copy(b, "abcdefgh")
					b[i], b[j] = x, y
					if got, want := plain8(string(b)), plain(string(b)); got != want {
						t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
					}
				}
			}
		}
	}
}

// encodingJSON is s as encoding/json writes it without HTML escaping.
func encodingJSON(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// slogJSON is s as slog.JSONHandler writes a string value.
func slogJSON(t testing.TB, s string) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "msg" || a.Key == "v" {
			return a
		}
		return slog.Attr{}
	}})).Info("", "v", s)
	out := strings.TrimSuffix(buf.String(), "\n")
	out = strings.TrimPrefix(out, `{"msg":"","v":`)
	return strings.TrimSuffix(out, "}")
}

var samples = []string{"", "plain", "a\"b\\c", "\b\f\n\r\t\x00\x01\x1f\x7f", "<&>", "é🐱", "\u2028\u2029", "bad \xff\xfe utf-8",
	"https://bucket.s3.us-east-1.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261206"}

// TestAppend: each style writes exactly what its model writes.
func TestAppend(t *testing.T) {
	for _, s := range samples {
		if got, want := string(Append(nil, s, ShortControls)), encodingJSON(t, s); got != want {
			t.Errorf("ShortControls %q: %s, encoding/json %s", s, got, want)
		}
		if got, want := string(Append(nil, s, HexControls)), slogJSON(t, s); got != want {
			t.Errorf("HexControls %q: %s, slog %s", s, got, want)
		}
	}
}

// FuzzAppend: for every string, each style writes what its model writes.
func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(Append(nil, s, ShortControls)), encodingJSON(t, s); got != want {
			t.Fatalf("ShortControls %q: %s, encoding/json %s", s, got, want)
		}
		if got, want := string(Append(nil, s, HexControls)), slogJSON(t, s); got != want {
			t.Fatalf("HexControls %q: %s, slog %s", s, got, want)
		}
	})
}
