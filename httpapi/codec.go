package httpapi

import (
	"errors"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"presign.dev/internal/jsonstr"
	"presign.dev/presign"
)

// The hot route's JSON is encoded and decoded by hand: encoding/json's
// reflection cost more than signing the URL (docs/benchmarks.md). Both
// directions are differential-fuzzed against encoding/json (codec_test.go):
// the encoder's output is byte-identical to json.Encoder with
// SetEscapeHTML(false), and whatever the decoder accepts, encoding/json
// decodes to the same value. The decoder is stricter than encoding/json:
// field names must match exactly and appear once.

// appendGrant appends r as JSON, as json.Encoder would, with a newline.
func appendGrant(dst []byte, r *PresignResponse) []byte {
	dst = append(dst, `{"method":`...)
	dst = appendString(dst, r.Method)
	dst = append(dst, `,"url":`...)
	dst = appendString(dst, r.URL)
	dst = append(dst, `,"headers":`...)
	dst = appendStringMap(dst, r.Headers)
	dst = append(dst, `,"fields":`...)
	dst = appendStringMap(dst, r.Fields)
	dst = append(dst, `,"key":`...)
	dst = appendString(dst, r.Key)
	dst = append(dst, `,"bucket":`...)
	dst = appendString(dst, r.Bucket)
	dst = append(dst, `,"expires_at":"`...)
	dst = r.ExpiresAt.AppendFormat(dst, time.RFC3339Nano)
	if r.Upload != "" {
		dst = append(dst, `","upload":`...)
		dst = appendString(dst, r.Upload)
		return append(dst, "}\n"...)
	}
	return append(dst, "\"}\n"...)
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	keys := make([]string, 0, 8)
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

// appendString appends s as a JSON string, escaping as encoding/json does
// without HTML escaping (jsonstr.Append).
func appendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s, jsonstr.ShortControls) }

// errSyntax marks input that is not JSON at all.
var errSyntax = errors.New("syntax")

// decoder is a strict JSON reader over one request body.
type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.skipSpace()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) expect(c byte) error {
	if d.peek() != c {
		return d.syntaxError()
	}
	d.pos++
	return nil
}

func (d *decoder) syntaxError() error {
	return presign.Errorf(presign.CodeInvalidArgument, "request body is not valid JSON (at byte %d)", d.pos)
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// str reads a JSON string. The body is valid UTF-8 (checked before).
func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", errSyntax
	}
	d.pos++
	start := d.pos
	// Fast path: no escapes.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			raw := d.data[start:d.pos]
			d.pos++
			if s, ok := interned[string(raw)]; ok { // no allocation for the lookup
				return s, nil
			}
			return string(raw), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.pos++
	}
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c < 0x20:
			return "", d.syntaxError()
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			return "", d.syntaxError()
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.syntaxError()
			}
			if 0xD800 <= r && r < 0xDC00 {
				// A high surrogate: a low one must follow, else U+FFFD.
				save := d.pos
				if d.literal(`\u`) {
					if r2, ok := d.hex4(); ok && 0xDC00 <= r2 && r2 < 0xE000 {
						buf = utf8.AppendRune(buf, (r-0xD800)<<10+(r2-0xDC00)+0x10000)
						continue
					}
				}
				d.pos = save
				r = utf8.RuneError
			} else if 0xDC00 <= r && r < 0xE000 {
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.syntaxError()
		}
	}
	return "", d.syntaxError()
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// int64Value reads an integer literal that fits int64 (no fraction, no
// exponent), or null (nil).
func (d *decoder) int64Value(field string) (*int64, error) {
	c := d.peek()
	if c == 'n' {
		if !d.literal("null") {
			return nil, d.syntaxError()
		}
		return nil, nil
	}
	start := d.pos
	if c == '-' {
		d.pos++
	}
	digits := d.pos
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
	}
	if d.pos == digits || (d.data[digits] == '0' && d.pos-digits > 1) {
		if c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' {
			return nil, typeError(field, "integer")
		}
		return nil, d.syntaxError()
	}
	if d.pos < len(d.data) && (d.data[d.pos] == '.' || d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		return nil, typeError(field, "integer")
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	if err != nil {
		return nil, typeError(field, "integer")
	}
	return &n, nil
}

// intValue reads an integer literal that fits int, or null (0, as
// encoding/json leaves an int).
func (d *decoder) intValue(field string) (int, error) {
	n, err := d.int64Value(field)
	switch {
	case err != nil:
		return 0, err
	case n == nil:
		return 0, nil
	case int64(int(*n)) != *n:
		return 0, typeError(field, "integer")
	}
	return int(*n), nil
}

// stringValue reads a string, or null (which leaves the field empty, as
// encoding/json does).
func (d *decoder) stringValue(field string) (string, error) {
	switch d.peek() {
	case '"':
		return d.str()
	case 'n':
		if d.literal("null") {
			return "", nil
		}
		return "", d.syntaxError()
	case '{', '[', 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "", typeError(field, "string")
	}
	return "", d.syntaxError()
}

// stringMap reads an object of strings, or null.
func (d *decoder) stringMap(field string) (map[string]string, error) {
	switch d.peek() {
	case 'n':
		if d.literal("null") {
			return nil, nil
		}
		return nil, d.syntaxError()
	case '{':
	default:
		if c := d.peek(); c == '"' || c == '[' || c == 't' || c == 'f' || c == '-' || ('0' <= c && c <= '9') {
			return nil, typeError(field, "object of strings")
		}
		return nil, d.syntaxError()
	}
	d.pos++
	m := map[string]string{}
	if d.peek() == '}' {
		d.pos++
		return m, nil
	}
	for {
		k, err := d.str()
		if err != nil {
			return nil, d.syntaxError()
		}
		if _, dup := m[k]; dup {
			return nil, presign.Errorf(presign.CodeInvalidArgument, "field %q has the name %q twice", field, k)
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		if d.peek() != '"' {
			return nil, typeError(field+"."+k, "string")
		}
		v, err := d.str()
		if err != nil {
			return nil, err
		}
		m[k] = v
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, d.syntaxError()
		}
	}
}

func typeError(field, typ string) error {
	return presign.Errorf(presign.CodeInvalidArgument, "field %q must be of type %s", field, typ)
}

// decodePresignRequest decodes the body of POST /v1/presign: exactly one
// JSON object with known fields, each at most once, and nothing after it.
// data is valid UTF-8.
func decodePresignRequest(data []byte) (PresignRequest, error) {
	var r PresignRequest
	d := &decoder{data: data}
	if d.peek() != '{' {
		if d.peek() == '[' || d.peek() == '"' || d.peek() == 'n' || d.peek() == 't' || d.peek() == 'f' || d.peek() == '-' || ('0' <= d.peek() && d.peek() <= '9') {
			return r, presign.Errorf(presign.CodeInvalidArgument, "request body must be a JSON object")
		}
		return r, d.syntaxError()
	}
	d.pos++
	var seen fieldSet
	if d.peek() == '}' {
		d.pos++
	} else {
		for {
			name, err := d.str()
			if err != nil {
				return r, d.syntaxError()
			}
			if err := d.expect(':'); err != nil {
				return r, err
			}
			if err := d.field(&r, name, &seen); err != nil {
				return r, err
			}
			c := d.peek()
			d.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				d.pos--
				return r, d.syntaxError()
			}
		}
	}
	if d.skipSpace(); d.pos != len(d.data) {
		return r, presign.Errorf(presign.CodeInvalidArgument, "request body must hold one JSON object and nothing after it")
	}
	return r, nil
}

// fieldSet records which fields of a request were seen, by index.
type fieldSet uint32

// requestFields are the field names of PresignRequest, in order.
var requestFields = [...]string{"op", "key", "bucket", "backend", "filename", "content_type", "content_md5", "checksum_sha256", "content_length", "expires_in", "metadata",
	"prefix", "delimiter", "max_keys", "continuation_token"}

// interned holds the strings most requests repeat, the field names and the
// ops, so that decoding them allocates nothing.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, f := range requestFields {
		m[f] = f
	}
	for _, op := range presign.Ops {
		m[string(op)] = string(op)
	}
	return m
}()

func (d *decoder) field(r *PresignRequest, name string, seen *fieldSet) error {
	for i, f := range requestFields {
		if f == name {
			if *seen&(1<<i) != 0 {
				return presign.Errorf(presign.CodeInvalidArgument, "field %q appears twice", name)
			}
			*seen |= 1 << i
		}
	}
	var err error
	switch name {
	case "op":
		var s string
		s, err = d.stringValue(name)
		r.Op = presign.Op(s)
	case "key":
		r.Key, err = d.stringValue(name)
	case "bucket":
		r.Bucket, err = d.stringValue(name)
	case "backend":
		r.Backend, err = d.stringValue(name)
	case "filename":
		r.Filename, err = d.stringValue(name)
	case "content_type":
		r.ContentType, err = d.stringValue(name)
	case "content_md5":
		r.ContentMD5, err = d.stringValue(name)
	case "checksum_sha256":
		r.ChecksumSHA256, err = d.stringValue(name)
	case "content_length":
		r.ContentLength, err = d.int64Value(name)
	case "expires_in":
		r.ExpiresIn, err = d.int64Value(name)
	case "metadata":
		r.Metadata, err = d.stringMap(name)
	case "prefix":
		r.Prefix, err = d.stringValue(name)
	case "delimiter":
		r.Delimiter, err = d.stringValue(name)
	case "max_keys":
		r.MaxKeys, err = d.intValue(name)
	case "continuation_token":
		r.ContinuationToken, err = d.stringValue(name)
	default:
		return presign.Errorf(presign.CodeInvalidArgument, "unknown field %q", name)
	}
	return err
}
