package policy

import (
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

// coversPrefix reports whether every key that starts with prefix matches
// the compiled pattern segs, so that a listing of prefix shows no key the
// pattern does not allow. It is sound, not complete: it holds only when
// the pattern ends in "**", has no other "**", and its segments before
// the "**" match, one for one, the first segments of prefix that end in
// a "/" (the prefix may go deeper; what follows its last "/" is free).
// Every key under such a prefix has those segments and at least one more,
// which the "**" matches.
//
// With users/{sub}/** for alice: users/alice/ and users/alice/photos/2026
// are covered; users/, users/al, users/alice (which would also list
// users/alice2/…) and "" are not. With users/*/public/**:
// users/bob/public/ is, users/bob/ is not. With **: every prefix, "" too.
// A pattern with "**" inside (a/**/b/**) covers nothing.
func coversPrefix(segs []segment, prefix string) bool {
	n := len(segs)
	if n == 0 || !segs[n-1].doubleStar {
		return false
	}
	fixed := segs[:n-1]
	for _, s := range fixed {
		dir, rest, complete := strings.Cut(prefix, "/")
		if !complete || s.doubleStar || !matchParts(s.parts, dir) {
			return false
		}
		prefix = rest
	}
	return true
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

// generateKey fills a generate_key template. uuid is a random UUID; now the
// time; filename the file name {filename} stands for and ext the extension
// {ext} stands for (both already safe in a key: see keyFilename).
func generateKey(t string, p presign.Principal, filename, ext, uuid string, now time.Time) (string, error) {
	var b strings.Builder
	for rest := t; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:open])
		end := strings.IndexByte(rest[open:], '}') + open
		placeholder := rest[open+1 : end]
		rest = rest[end+1:]
		switch placeholder {
		case "uuid":
			b.WriteString(uuid)
		case "date":
			b.WriteString(now.UTC().Format("2006-01-02"))
		case "filename":
			b.WriteString(filename)
		case "ext":
			b.WriteString(ext)
		default:
			v, ok := identityValue(p, placeholder)
			if !ok {
				return "", presign.Errorf(presign.CodePermissionDenied, "this rule's keys need {%s}, which the caller's identity does not provide", placeholder)
			}
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

// keyFilename returns what {filename} and {ext} stand for in a generated
// key: the client's file name made safe (SanitizeFilename) and its
// extension (Ext) — or, when typed is set (the rule fixes the content
// types), the extension of the signed content type ct in both (TypeExt;
// none when the type has no known one), so that an image/png upload never
// gets a key ending in .html, whatever the client's file was called.
func keyFilename(filename, ct string, typed bool) (name, ext string) {
	name = SanitizeFilename(filename)
	if !typed {
		return name, Ext(filename)
	}
	ext = TypeExt(ct)
	if own := Ext(name); own != "" {
		name = name[:len(name)-len(own)]
	}
	return name + ext, ext
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

// typeExtensions are the extensions of common media types, for {ext}
// when a rule fixes the content types: the key then says what the store
// will serve it as, whatever the client's file was called. A fixed table,
// not the system's mime.types, so that keys do not depend on the host.
var typeExtensions = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"image/avif": ".avif", "image/heic": ".heic", "image/heif": ".heif", "image/bmp": ".bmp",
	"image/tiff": ".tiff", "image/svg+xml": ".svg", "image/x-icon": ".ico",
	"application/pdf": ".pdf", "application/json": ".json", "application/zip": ".zip",
	"application/gzip": ".gz", "application/xml": ".xml", "application/wasm": ".wasm",
	"text/plain": ".txt", "text/csv": ".csv", "text/html": ".html", "text/css": ".css",
	"text/markdown": ".md", "text/javascript": ".js",
	"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov",
	"audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/wav": ".wav", "audio/webm": ".weba", "audio/mp4": ".m4a",
}

// TypeExt returns the extension for media type ct (parameters ignored),
// or "" when the table has none: {ext} of an upload whose rule fixes the
// content types, so that a signed image/png never gets a .html key.
func TypeExt(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return typeExtensions[strings.ToLower(strings.TrimSpace(ct))]
}
