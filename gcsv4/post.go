package gcsv4

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"presign.dev/sigv4"
)

// Condition is one condition of a POST policy besides the exact fields.
// Build them with [StartsWith] and [ContentLengthRange].
type Condition struct {
	op       string // "starts-with" or "content-length-range"
	field    string // form field name, without "$"
	value    string
	min, max int64
}

// StartsWith requires form field field to start with prefix ("" allows any
// value).
func StartsWith(field, prefix string) Condition {
	return Condition{op: "starts-with", field: field, value: prefix}
}

// ContentLengthRange requires the uploaded file's size to be in [min, max]
// bytes.
func ContentLengthRange(min, max int64) Condition {
	return Condition{op: "content-length-range", min: min, max: max}
}

// PostRequest is an HTML form upload (POST Object, XML API) to presign.
type PostRequest struct {
	Scheme string // "https" or "http"; "" is "https"
	// Host and Style are as in [Request]: the form posts to
	// scheme://host/bucket/ (PathStyle) or scheme://[bucket.]host/.
	Host   string
	Style  Style
	Bucket string
	// Object is the object's name, not empty: the form's key field,
	// required exactly.
	Object string
	// Fields are the other form fields the client sends with these exact
	// values (content-type, x-goog-meta-*, success_action_status,
	// cache-control, ...). Each becomes a condition and a returned form
	// field, in this order.
	Fields []Param
	// Conditions come first in the policy, before the fields' conditions, as
	// Google's client libraries put them.
	Conditions []Condition
	Time       time.Time
	Expires    time.Duration
}

// Form is a presigned POST upload: where to post and the form fields to send,
// in order, before the file, which must be the last part.
type Form struct {
	URL    string
	Fields []Param
	// Policy is the decoded policy document, for tests and logs.
	Policy []byte
}

var (
	errZeroCondition = errors.New("gcsv4: a POST policy condition is the zero Condition")
	errReservedField = errors.New("gcsv4: a POST policy field is one the signer sets (key, bucket, policy, file or x-goog-algorithm, -credential, -date, -signature)")
)

// reservedFields are the form fields PresignPost sets itself, or that are not
// form fields (file); compared in lower case.
var reservedFields = map[string]bool{
	"key": true, "bucket": true, "policy": true, "file": true,
	"x-goog-algorithm": true, "x-goog-credential": true, "x-goog-date": true, "x-goog-signature": true,
}

// PresignPost builds and signs the POST policy of r. The policy's conditions
// are r.Conditions, r.Fields, then bucket, key, x-goog-date,
// x-goog-credential and x-goog-algorithm, each exact; its expiration is
// r.Time+r.Expires in UTC, in whole seconds. The signature covers the
// policy's base64 text: RSA over its SHA-256, or HMAC with the key derived
// for r.Time's date.
//
// The JSON escapes every non-ASCII character as \uXXXX (as Google's
// conformance vectors do), and <, > and & as \u003c, \u003e and \u0026 (as
// Go's encoding/json does); invalid UTF-8 becomes U+FFFD. It fails only on a
// zero Condition or a field that the signer sets itself.
func (s *Signer) PresignPost(r *PostRequest) (Form, error) {
	for _, c := range r.Conditions {
		if c.op == "" {
			return Form{}, errZeroCondition
		}
	}
	for _, f := range r.Fields {
		if reservedFields[strings.ToLower(f.Name)] {
			return Form{}, errReservedField
		}
	}
	var date [16]byte
	sigv4.FormatDate(&date, r.Time)
	credential := s.id + "/" + string(date[:8]) + "/" + s.location + "/storage/goog4_request"

	p := make([]byte, 0, 512)
	p = append(p, `{"conditions":[`...)
	n := 0
	cond := func() {
		if n > 0 {
			p = append(p, ',')
		}
		n++
	}
	eq := func(name, value string) {
		cond()
		p = append(p, '{')
		p = appendJSONString(p, name)
		p = append(p, ':')
		p = appendJSONString(p, value)
		p = append(p, '}')
	}
	for _, c := range r.Conditions {
		cond()
		p = append(p, '[')
		p = appendJSONString(p, c.op)
		if c.op == "starts-with" {
			p = append(p, ',')
			p = appendJSONString(p, "$"+c.field)
			p = append(p, ',')
			p = appendJSONString(p, c.value)
		} else {
			p = append(p, ',')
			p = strconv.AppendInt(p, c.min, 10)
			p = append(p, ',')
			p = strconv.AppendInt(p, c.max, 10)
		}
		p = append(p, ']')
	}
	for _, f := range r.Fields {
		eq(f.Name, f.Value)
	}
	eq("bucket", r.Bucket)
	eq("key", r.Object)
	eq("x-goog-date", string(date[:]))
	eq("x-goog-credential", credential)
	eq("x-goog-algorithm", s.alg)
	p = append(p, `],"expiration":"`...)
	p = r.Time.Add(r.Expires).UTC().AppendFormat(p, "2006-01-02T15:04:05Z")
	p = append(p, `"}`...)

	b64 := base64.StdEncoding.EncodeToString(p)
	sc := getScratch()
	sc.date = date
	sig := string(s.appendSignature(sc, make([]byte, 0, s.sigLen), []byte(b64)))
	putScratch(sc)

	fields := make([]Param, 0, len(r.Fields)+6)
	fields = append(fields, Param{"key", r.Object})
	fields = append(fields, r.Fields...)
	fields = append(fields,
		Param{"x-goog-algorithm", s.alg},
		Param{"x-goog-credential", credential},
		Param{"x-goog-date", string(date[:])},
		Param{"policy", b64},
		Param{"x-goog-signature", sig},
	)

	return Form{URL: postURL(r), Fields: fields, Policy: p}, nil
}

// postURL is where the form of r posts: scheme://host/bucket/ in path
// style, else scheme://[bucket.]host/.
func postURL(r *PostRequest) string {
	sc := getScratch()
	defer putScratch(sc)
	sc.buildTarget(r.Style, r.Host, r.Bucket, "")
	if r.Style != VirtualHostedStyle && r.Style != BucketBoundHostname {
		sc.path = append(sc.path, '/')
	}
	return scheme(r.Scheme) + "://" + string(sc.urlHost) + string(sc.path)
}

const lowerHex = "0123456789abcdef"

// appendJSONString appends s as a JSON string of ASCII only: ", \ and the
// control characters escaped as encoding/json escapes them (\n, \r, \t, \b,
// \f, else \u00XX), <, > and & as \u003c, \u003e and \u0026, every other
// non-ASCII character as \uXXXX (a surrogate pair above U+FFFF), and each
// invalid UTF-8 byte as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				dst = appendUnicodeEscape(dst, rune(c))
			default:
				dst = append(dst, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r1, r2 := utf16Surrogates(r)
			dst = appendUnicodeEscape(dst, r1)
			dst = appendUnicodeEscape(dst, r2)
			continue
		}
		dst = appendUnicodeEscape(dst, r) // utf8.RuneError for an invalid byte
	}
	return append(dst, '"')
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', lowerHex[r>>12&15], lowerHex[r>>8&15], lowerHex[r>>4&15], lowerHex[r&15])
}

// utf16Surrogates returns the UTF-16 surrogate pair of r >= 0x10000.
func utf16Surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
