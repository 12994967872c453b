package policy

import (
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"presign.dev/presign"
)

// identityValue returns the value of {sub}, {name} or {claim.X} for p, and
// whether it is usable in a key: non-empty, no "/", not "." or "..", no
// control characters. An unusable value makes a pattern match nothing and a
// template fail, so no caller can reach outside its own prefix by choosing
// an odd identity.
func identityValue(p presign.Principal, name string) (string, bool) {
	var v string
	switch {
	case name == "sub" || name == "name":
		v = p.Name
	case strings.HasPrefix(name, "claim."):
		v = p.Claims[strings.TrimPrefix(name, "claim.")]
	default:
		return "", false
	}
	if v == "" || v == "." || v == ".." || strings.Contains(v, "/") || len(v) > 256 || !utf8.ValidString(v) {
		return "", false
	}
	for _, r := range v {
		if presign.IsControl(r) {
			return "", false
		}
	}
	return v, true
}

// segment is one path segment of a compiled pattern: "**", or a list of
// parts that are literal text or a "*" wildcard.
type segment struct {
	doubleStar bool
	parts      []part
}

type part struct {
	literal  string
	wildcard bool
}

// compilePattern expands p's {identity} references for principal and splits
// it into segments. It fails when a reference is unusable for this caller.
func compilePattern(p string, principal presign.Principal) ([]segment, bool) {
	var segs []segment
	for _, raw := range strings.Split(p, "/") {
		if raw == "**" {
			segs = append(segs, segment{doubleStar: true})
			continue
		}
		var s segment
		for raw != "" {
			switch {
			case raw[0] == '*':
				s.parts = append(s.parts, part{wildcard: true})
				raw = raw[1:]
			case raw[0] == '{':
				end := strings.IndexByte(raw, '}')
				if end < 0 {
					return nil, false
				}
				v, ok := identityValue(principal, raw[1:end])
				if !ok {
					return nil, false
				}
				s.addLiteral(v)
				raw = raw[end+1:]
			default:
				end := strings.IndexAny(raw, "*{")
				if end < 0 {
					end = len(raw)
				}
				s.addLiteral(raw[:end])
				raw = raw[end:]
			}
		}
		segs = append(segs, s)
	}
	return segs, true
}

// addLiteral appends text to the segment, joined to a literal before it,
// so that literals and wildcards alternate (matchParts relies on it).
func (s *segment) addLiteral(text string) {
	if n := len(s.parts); n > 0 && !s.parts[n-1].wildcard {
		s.parts[n-1].literal += text
		return
	}
	s.parts = append(s.parts, part{literal: text})
}

// matchKey reports whether key matches the compiled pattern. Its cost is
// linear in the pattern's segments times the key's length, whatever the
// wildcards: patterns come from the operator but keys from anyone, and a
// backtracking matcher took minutes on one key for "public/*-*-*-*.jpg".
func matchKey(segs []segment, key string) bool {
	return matchSegments(segs, strings.Split(key, "/"))
}

// matchSegments decides, from the last pattern segment to the first,
// which suffixes of keySegs the rest of the pattern matches: next[j] says
// whether segs[i+1:] matches keySegs[j:]. "**" matches one or more
// segments, so "users/u1/**" never matches the bare prefix "users/u1".
func matchSegments(segs []segment, keySegs []string) bool {
	m := len(keySegs)
	next, cur := make([]bool, m+1), make([]bool, m+1)
	next[m] = true
	for i := len(segs) - 1; i >= 0; i-- {
		cur[m] = false
		if segs[i].doubleStar {
			rest := false // whether segs[i+1:] matches keySegs[k:] for some k > j
			for j := m - 1; j >= 0; j-- {
				rest = rest || next[j+1]
				cur[j] = rest
			}
		} else {
			for j := m - 1; j >= 0; j-- {
				cur[j] = next[j+1] && matchParts(segs[i].parts, keySegs[j])
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// matchParts matches one segment: literals exactly, "*" any run of bytes
// (within the segment). No two literals are adjacent (addLiteral joins
// them). A literal before the first "*" must be a prefix and one after the
// last a suffix; each literal between two wildcards is matched at its
// leftmost place, which is never worse than a later one when the only
// wildcard is "*".
func matchParts(parts []part, s string) bool {
	if len(parts) > 0 && !parts[0].wildcard {
		if !strings.HasPrefix(s, parts[0].literal) {
			return false
		}
		s, parts = s[len(parts[0].literal):], parts[1:]
	}
	if len(parts) == 0 {
		return s == ""
	}
	if last := parts[len(parts)-1]; !last.wildcard {
		if !strings.HasSuffix(s, last.literal) {
			return false
		}
		s, parts = s[:len(s)-len(last.literal)], parts[:len(parts)-1]
	}
	for _, p := range parts {
		if p.wildcard {
			continue
		}
		at := strings.Index(s, p.literal)
		if at < 0 {
			return false
		}
		s = s[at+len(p.literal):]
	}
	return true
}

// Identity references allowed in key patterns and templates.
func validReference(name string, generate bool) bool {
	switch name {
	case "sub", "name":
		return true
	case "uuid", "date", "filename", "ext":
		return generate
	}
	return strings.HasPrefix(name, "claim.") && len(name) > len("claim.")
}

// ValidatePattern checks a key pattern's syntax: balanced {} with known
// names, "**" only as a whole segment, no "." or ".." segments.
func ValidatePattern(p string) error { return validateTemplate(p, false) }

// ValidateGenerateKey checks a generate_key template's syntax.
func ValidateGenerateKey(t string) error { return validateTemplate(t, true) }

func validateTemplate(t string, generate bool) error {
	if t == "" {
		return fmt.Errorf("empty")
	}
	for _, seg := range strings.Split(t, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q has a %q segment", t, seg)
		}
		if strings.Contains(seg, "**") && seg != "**" {
			return fmt.Errorf("%q: ** must be a whole segment", t)
		}
		if generate && strings.Contains(seg, "*") {
			return fmt.Errorf("%q: a generated key has no wildcards", t)
		}
		for rest := seg; rest != ""; {
			open := strings.IndexAny(rest, "{}")
			if open < 0 {
				break
			}
			if rest[open] == '}' {
				return fmt.Errorf("%q: unbalanced }", t)
			}
			end := strings.IndexByte(rest[open:], '}')
			if end < 0 {
				return fmt.Errorf("%q: unbalanced {", t)
			}
			name := rest[open+1 : open+end]
			if !validReference(name, generate) {
				return fmt.Errorf("%q: unknown reference {%s}", t, name)
			}
			rest = rest[open+end+1:]
		}
	}
	return nil
}

// generateKey fills a generate_key template. uuid is a random UUID; now the
// time; filename the client's file name (sanitized here).
func generateKey(t string, p presign.Principal, filename, uuid string, now time.Time) (string, error) {
	var b strings.Builder
	for rest := t; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:open])
		end := strings.IndexByte(rest[open:], '}') + open
		name := rest[open+1 : end]
		rest = rest[end+1:]
		switch name {
		case "uuid":
			b.WriteString(uuid)
		case "date":
			b.WriteString(now.UTC().Format("2006-01-02"))
		case "filename":
			b.WriteString(SanitizeFilename(filename))
		case "ext":
			b.WriteString(Ext(filename))
		default:
			v, ok := identityValue(p, name)
			if !ok {
				return "", presign.Errorf(presign.CodePermissionDenied, "this rule's keys need {%s}, which the caller's identity does not provide", name)
			}
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

// SanitizeFilename returns a file name safe in a key: its base name with
// every byte outside A-Z a-z 0-9 . _ - replaced by '_', no leading dots, at
// most 100 bytes; "file" when nothing is left.
func SanitizeFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b []byte
	for i := 0; i < len(name) && len(b) < 100; i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	s := strings.TrimLeft(string(b), ".")
	if s == "" || s == "_" {
		return "file"
	}
	return s
}

// Ext returns the lower-case extension of a file name with its dot
// (".png"), letters and digits only, at most 10 characters; "" if none.
func Ext(name string) string {
	name = SanitizeFilename(name)
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return ""
	}
	ext := strings.ToLower(name[i+1:])
	if len(ext) > 10 {
		return ""
	}
	for j := 0; j < len(ext); j++ {
		if c := ext[j]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return ""
		}
	}
	return "." + ext
}

// matchContentType reports whether media type ct (parameters ignored)
// matches pattern: "type/subtype", "type/*" or "*/*".
func matchContentType(pattern, ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	pattern = strings.ToLower(pattern)
	if pattern == "*/*" {
		return true
	}
	if typ, ok := strings.CutSuffix(pattern, "/*"); ok {
		t, _, found := strings.Cut(ct, "/")
		return found && t == typ
	}
	return pattern == ct
}

// ValidateContentTypePattern checks "type/subtype", "type/*" or "*/*".
func ValidateContentTypePattern(p string) error {
	t, s, ok := strings.Cut(p, "/")
	if !ok || t == "" || s == "" || strings.ContainsAny(p, " ;,\t") || (t == "*" && s != "*") || strings.Count(p, "/") != 1 {
		return fmt.Errorf("%q is not a media type pattern like image/png, image/* or */*", p)
	}
	return nil
}
