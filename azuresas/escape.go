package azuresas

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

// appendQueryEscape appends s encoded as url.QueryEscape encodes it: the
// unreserved bytes as they are, space as "+", every other byte as %XX.
func appendQueryEscape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = appendQueryByte(dst, s[i])
	}
	return dst
}

func appendQueryEscapeBytes(dst, s []byte) []byte {
	for _, c := range s {
		dst = appendQueryByte(dst, c)
	}
	return dst
}

func appendQueryByte(dst []byte, c byte) []byte {
	switch {
	case unreserved[c]:
		return append(dst, c)
	case c == ' ':
		return append(dst, '+')
	default:
		return append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
}

// appendEscapePath appends p with every byte but the unreserved ones and
// '/' as %XX. Nothing is normalized.
func appendEscapePath(dst []byte, p string) []byte {
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
