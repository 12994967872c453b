package gcsv4

import "unsafe"

// unreserved marks the bytes RFC 3986 leaves unencoded: A-Z a-z 0-9 - _ . ~
var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'], t['~'] = true, true, true, true
	return t
}()

const upperHex = "0123456789ABCDEF"

// AppendEscapeQuery appends s encoded as V4 signing encodes query names and
// values: every byte but the unreserved ones as %XX, upper-case hex.
func AppendEscapeQuery(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// AppendEscapePath appends the path encoding of p: like [AppendEscapeQuery]
// but '/' is kept. The path is not normalized.
func AppendEscapePath(dst []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if unreserved[c] || c == '/' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// EscapePath returns the path encoding of p.
func EscapePath(p string) string { return string(AppendEscapePath(nil, p)) }

// EscapeQuery returns the query encoding of s.
func EscapeQuery(s string) string { return string(AppendEscapeQuery(nil, s)) }

// unsafeString views b as a string without copying. The caller must not
// modify b while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
