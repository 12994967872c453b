package doctor

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// printable reports whether s is valid UTF-8 without control or format
// characters (so a terminal shows it as it is).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// FuzzParseS3Error: S3's error document is read for its code, message and
// region, whatever the store sends; anything else is not one. What a probe
// prints of it is printable.
func FuzzParseS3Error(f *testing.F) {
	for _, seed := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><RequestId>1</RequestId></Error>`,
		`<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>`,
		`<Error><Code> </Code></Error>`,
		`<ListBucketResult><Code>x</Code></ListBucketResult>`,
		`<Error><Code>A&#x1b;[31m</Code><Message>line&#10;two</Message></Error>`,
		"", "<", "not xml",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, ok := parseS3Error(body)
		if !ok {
			if e != (s3Error{}) {
				t.Fatalf("not a document, yet %+v", e)
			}
			return
		}
		if e.Code == "" || e.Code != strings.TrimSpace(e.Code) {
			t.Fatalf("code %q", e.Code)
		}
		a := answer{status: 403, s3: e}
		if s := a.String(); !printable(s) || !strings.HasPrefix(s, "403 ") {
			t.Fatalf("answer.String() = %q", s)
		}
	})
}

// FuzzParseCORS: a GetBucketCors answer is read into rules, and the one
// line that describes them is printable and bounded.
func FuzzParseCORS(f *testing.F) {
	for _, seed := range []string{
		`<CORSConfiguration><CORSRule><AllowedOrigin>http://localhost:5173</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>a&#x202e;b&#10;c</AllowedOrigin></CORSRule><CORSRule/><CORSRule/><CORSRule/><CORSRule/><CORSRule/></CORSConfiguration>`,
		`<Error><Code>NoSuchCORSConfiguration</Code></Error>`,
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rules, ok := parseCORS(body)
		if !ok {
			if rules != nil {
				t.Fatalf("not a configuration, yet %d rules", len(rules))
			}
			return
		}
		d := describeCORS(rules)
		// At most 4 rules of 4 lists (each cut at 120 bytes and "…"), and
		// the words around them.
		if !printable(d) || len(d) > 4*(4*(120+len("…"))+100)+100 {
			t.Fatalf("describeCORS = %q (%d bytes)", d, len(d))
		}
	})
}

// FuzzClean: store-supplied text is printed valid, without control or
// format characters, within its bound; text already clean stays as it is.
func FuzzClean(f *testing.F) {
	for _, seed := range []struct {
		s string
		n int
	}{
		{"plain words", 100},
		{"esc \x1b[2J clears", 100},
		{"bidi \u202e reversed \u2066", 100},
		{"cut inside é here", 10},
		{"\xff\xfe invalid", 5},
		{"a\r\nb\tc", 0},
	} {
		f.Add(seed.s, seed.n)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = min(max(n, 0), 1<<12)
		got := clean(s, n)
		if !printable(got) {
			t.Fatalf("clean(%q, %d) = %q: not printable", s, n, got)
		}
		if len(got) > n+len("…") {
			t.Fatalf("clean(%q, %d) = %q: %d bytes", s, n, got, len(got))
		}
		if len(got) <= n && clean(got, n) != got {
			t.Fatalf("clean(%q, %d) = %q, which cleans to %q", s, n, got, clean(got, n))
		}
	})
}

// FuzzWriteText: whatever a report holds, the text form has one line per
// check and per fix, every line printable.
func FuzzWriteText(f *testing.F) {
	f.Add("store", "http://127.0.0.1:9000", "bucket", "cors", "fail", "refused\x1b[31m", "do\nthis", "http://localhost:5173")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("b\u202e", "e", "k", "n", "ok", "seen\u2028x", "", "o")
	f.Fuzz(func(t *testing.T, backend, endpoint, bucket, name, result, seen, fix, origin string) {
		c := Check{Name: name, Result: Result(result), Seen: seen, Fix: fix}
		r := Report{Origin: origin, Backends: []BackendReport{{Backend: backend, Endpoint: endpoint, Bucket: bucket, Checks: []Check{c, c}}}}
		var buf bytes.Buffer
		if err := r.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		want := 1 + 2 + 2 + 2 // header; blank and backend; two checks; blank and counts
		if fix != "" {
			want += 2
		}
		if len(lines) != want {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), want, buf.String())
		}
		for _, l := range lines {
			if !printable(l) {
				t.Fatalf("line %q is not printable", l)
			}
		}
	})
}
