package config

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"presign.dev/presign"
)

// The placeholders of key patterns (the caller's identity) and of
// generate_key templates; {claim.NAME} is allowed in both.
var (
	keyPlaceholders      = map[string]bool{"sub": true, "name": true}
	generatePlaceholders = map[string]bool{"uuid": true, "date": true, "sub": true, "name": true, "filename": true, "ext": true}
)

// scanTemplate checks a key pattern (wildcards true: "*" within a segment,
// "**" as a whole segment) or a generate_key template (no wildcards): a
// usable key once the placeholders, balanced {name} from known or
// {claim.NAME}, are filled in. It returns the placeholders used.
func scanTemplate(s string, known map[string]bool, wildcards bool) ([]string, error) {
	switch {
	case s == "":
		return nil, errors.New("is empty")
	case len(s) > presign.MaxKeyLength:
		return nil, fmt.Errorf("is %d bytes long; keys are at most %d", len(s), presign.MaxKeyLength)
	case !utf8.ValidString(s):
		return nil, errors.New("is not valid UTF-8")
	}
	for _, c := range s {
		if presign.IsControl(c) {
			return nil, errors.New("has a control character")
		}
	}
	var used []string
	var marked strings.Builder // s with each placeholder as one NUL
	for i := 0; i < len(s); {
		switch s[i] {
		case '{':
			j := strings.IndexAny(s[i+1:], "{}")
			if j < 0 || s[i+1+j] == '{' {
				return nil, fmt.Errorf("has a { at byte %d without its }", i)
			}
			name := s[i+1 : i+1+j]
			if claim, ok := strings.CutPrefix(name, "claim."); ok {
				if !validClaimName(claim) {
					return nil, fmt.Errorf("{%s}: %q is not a claim name", name, claim)
				}
			} else if !known[name] {
				return nil, fmt.Errorf("{%s} is not a placeholder here; known: %s", name, placeholderList(known))
			}
			used = append(used, name)
			marked.WriteByte(0)
			i += j + 2
		case '}':
			return nil, fmt.Errorf("has a } at byte %d without its {", i)
		default:
			marked.WriteByte(s[i])
			i++
		}
	}
	for _, seg := range strings.Split(marked.String(), "/") {
		switch {
		case seg == "." || seg == "..":
			return nil, fmt.Errorf("has a %q path segment, which stores and proxies resolve", seg)
		case !wildcards && strings.Contains(seg, "*"):
			return nil, errors.New("has a *: generate_key is a template, not a pattern")
		case strings.Contains(seg, "**") && seg != "**":
			return nil, errors.New("has ** inside a path segment; ** must be a whole segment, as in users/**")
		}
	}
	return used, nil
}

func placeholderList(known map[string]bool) string {
	var out []string
	for _, n := range []string{"uuid", "date", "sub", "name", "filename", "ext"} {
		if known[n] {
			out = append(out, "{"+n+"}")
		}
	}
	return strings.Join(append(out, "{claim.NAME}"), " ")
}

// checkContentTypePattern accepts type/subtype, type/* and */*, returned in
// lower case.
func checkContentTypePattern(s string) (string, error) {
	t := strings.ToLower(s)
	typ, sub, ok := strings.Cut(t, "/")
	switch {
	case !ok || !(typ == "*" || isToken(typ)) || !(sub == "*" || isToken(sub)):
		return t, fmt.Errorf("%q is not a media type pattern like image/png, image/* or */*", s)
	case typ == "*" && sub != "*":
		return t, fmt.Errorf("%q: only */* may leave the type open", s)
	}
	return t, nil
}

// isToken reports whether s is an RFC 9110 token without '*'.
func isToken(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// checkPublicKey accepts one public key as PEM (PUBLIC KEY, RSA PUBLIC KEY
// or CERTIFICATE) or as JWK JSON (a key or a {"keys": [...]} set), and
// refuses private and symmetric keys. Its errors never quote the key.
func checkPublicKey(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("is empty")
	case strings.HasPrefix(s, "-----BEGIN"):
		blk, rest := pem.Decode([]byte(s))
		if blk == nil {
			return errors.New("is not a valid PEM block")
		}
		if strings.TrimSpace(string(rest)) != "" {
			return errors.New("holds more than one PEM block; list each key on its own")
		}
		var err error
		switch blk.Type {
		case "PUBLIC KEY":
			_, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			_, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		case "CERTIFICATE":
			_, err = x509.ParseCertificate(blk.Bytes)
		default:
			if strings.Contains(blk.Type, "PRIVATE") {
				return errors.New("is a private key: give the issuer's public key, and keep the private key out of the file")
			}
			return fmt.Errorf("is a PEM %q; want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", blk.Type)
		}
		if err != nil {
			return fmt.Errorf("is a PEM %s that does not parse", blk.Type)
		}
		return nil
	case strings.HasPrefix(s, "{"):
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return errors.New("is not valid JSON (a JWK or a JWK set)")
		}
		if raw, ok := m["keys"]; ok {
			var set []map[string]json.RawMessage
			if err := json.Unmarshal(raw, &set); err != nil || len(set) == 0 {
				return errors.New("is a JWK set whose keys is not a non-empty list of keys")
			}
			for i, k := range set {
				if err := checkJWK(k); err != nil {
					return fmt.Errorf("keys[%d] %v", i, err)
				}
			}
			return nil
		}
		return checkJWK(m)
	}
	return errors.New("must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK in JSON")
}

func checkJWK(k map[string]json.RawMessage) error {
	var kty string
	if err := json.Unmarshal(k["kty"], &kty); err != nil {
		return errors.New("is a JWK without a kty string")
	}
	if _, ok := k["d"]; ok {
		return errors.New("is a private JWK (it has d): give the issuer's public key only")
	}
	need := map[string][]string{"RSA": {"n", "e"}, "EC": {"crv", "x", "y"}, "OKP": {"crv", "x"}}
	switch fields, ok := need[kty]; {
	case kty == "oct":
		return errors.New("is a symmetric JWK (kty oct): use hs256_secret: ${env:NAME} instead")
	case !ok:
		return fmt.Errorf("is a JWK of kty %s; want RSA, EC or OKP", strconv.QuoteToASCII(kty))
	default:
		for _, f := range fields {
			var v string
			if err := json.Unmarshal(k[f], &v); err != nil || v == "" {
				return fmt.Errorf("is a %s JWK without %s", kty, f)
			}
		}
	}
	return nil
}

// fmtDuration writes d the way the file does: 15m, 1h30m, 168h, 1m30s.
func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtSize writes n in the largest binary unit that divides it.
func fmtSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
