// Package jsonstr writes JSON strings fast, byte for byte as the standard
// library does: httpapi's hand-written /v1/presign codec (as
// encoding/json) and internal/service's log lines (as slog.JSONHandler),
// each differential-fuzzed against its model (FuzzCodec and friends in
// httpapi, FuzzJSONHandler in internal/service).
package jsonstr

import "unicode/utf8"

// Style is how control characters without a name in every encoder are
// written.
type Style int

const (
	// ShortControls writes \b and \f by name, as encoding/json does.
	ShortControls Style = iota
	// HexControls writes them as \u0008 and \u000c, as log/slog's
	// JSONHandler does.
	HexControls
)

const hexDigits = "0123456789abcdef"

// plainJSON marks the ASCII bytes a JSON string holds unescaped.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plain8 reports whether none of the 8 bytes of s needs escaping (every one
// is in plainJSON), testing them at once: a byte below 0x20, equal to '"'
// or '\\', or with its high bit set, sets the high bit of its lane in the
// sum below (the zero-byte test of Hacker's Delight, 6-1, exact for
// existence). Presigned URLs are long and plain; this is most of encoding.
func plain8(s string) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	quote, backslash := x^(lsb*'"'), x^(lsb*'\\')
	return (x|(x-lsb*0x20)&^x|(quote-lsb)&^quote|(backslash-lsb)&^backslash)&msb == 0
}

// Append appends s as a JSON string: quotes, backslashes and control
// characters escaped (\n, \r and \t by name, and \b and \f too with
// ShortControls), '<', '>' and '&' not, U+2028 and U+2029 escaped, each
// byte of invalid UTF-8 as \ufffd.
func Append(dst []byte, s string, style Style) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if plainJSON[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = appendControl(dst, 'b', c, style)
			case '\f':
				dst = appendControl(dst, 'f', c, style)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendControl appends control character c, whose short name is name.
func appendControl(dst []byte, name, c byte, style Style) []byte {
	if style == ShortControls {
		return append(dst, '\\', name)
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
}
