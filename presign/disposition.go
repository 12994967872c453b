package presign

import (
	"strings"
	"unicode/utf8"

	"presign.dev/sigv4"
)

// ContentDisposition returns an RFC 6266 attachment disposition for filename:
// an ASCII fallback in filename="..." (non-ASCII, quotes, backslashes and
// control characters replaced by '_') and, when the name is not plain ASCII,
// the exact name in filename*=UTF-8”<percent-encoded>. filename must be
// valid UTF-8.
func ContentDisposition(filename string) string {
	var b strings.Builder
	b.WriteString(`attachment; filename="`)
	plain := true
	for _, r := range filename {
		switch {
		case r < 0x20 || r == 0x7f || r >= utf8.RuneSelf || r == '"' || r == '\\':
			b.WriteByte('_')
			plain = false
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	if !plain {
		b.WriteString("; filename*=UTF-8''")
		b.WriteString(sigv4.EscapeQuery(filename))
	}
	return b.String()
}
