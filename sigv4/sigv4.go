// Package sigv4 presigns S3 requests with AWS Signature Version 4: query-string
// authentication for GET, HEAD, PUT, DELETE and multipart requests, and the
// browser POST policy (see [Signer.PresignPost]). It also signs server-side
// requests in the Authorization header (see [Signer.SignHeaders]).
//
// The package is pure: it does no I/O, reads no clock and no environment. The
// signing time is a field of every request, so a fixed time gives the same URL
// byte for byte.
//
// # S3's rules, as implemented
//
//   - The path is encoded once, per RFC 3986: every byte except A-Z a-z 0-9 - _ . ~
//     and / becomes %XX with upper-case hex. A literal + is always %2B. Nothing is
//     normalized: "a//b/../c" is signed and sent as it is.
//   - Query names and values are encoded the same way (space is %20, never +),
//     then sorted by encoded name and value.
//   - host is always signed; other headers are signed only when the caller names
//     them, so accept-encoding, user-agent or expect are never signed by accident.
//   - A session token travels as the X-Amz-Security-Token query parameter
//     (a header, signed, with [Signer.SignHeaders]).
//   - The payload hash defaults to UNSIGNED-PAYLOAD.
//
// # Preconditions
//
// Callers validate once, at their boundary (package presign does); the signer
// does not re-check. Request.Host is lower-case without a default port,
// Request.Path starts with "/" (Request.PathSuffix may hold anything),
// Request.Expires is whole seconds in 1s..7 days, header names are valid
// tokens, header values hold no control characters, and Request.Query
// holds none of the X-Amz-* authentication parameters (nor
// Request.Headers any of the authentication headers, for [Signer.SignHeaders]).
//
// A Signer is safe for concurrent use. Presigning a URL allocates once (the
// returned string); [Signer.AppendPresign] allocates nothing when dst has room.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Algorithm is the value of X-Amz-Algorithm.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the payload hash of presigned S3 requests.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// EmptyPayloadHash is the hex SHA-256 of an empty body, which the generic
// (non-S3) SigV4 test suite uses for presigned requests.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// MaxExpires is the longest lifetime SigV4 allows a presigned URL (S3 rejects
// X-Amz-Expires above 604800).
const MaxExpires = 7 * 24 * time.Hour

// Credentials sign requests. The zero SessionToken means long-term credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// String shows the access key ID only, so credentials printed by mistake do
// not leak the secret or the token.
func (c Credentials) String() string {
	return "sigv4.Credentials{AccessKeyID:" + c.AccessKeyID + ", SecretAccessKey:<redacted>}"
}

// GoString redacts like String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// Param is one query parameter, not yet encoded.
type Param struct {
	Name, Value string
}

// Header is one header to sign, as the client will send it. Name may be in any
// case; it is signed in lower case.
type Header struct {
	Name, Value string
}

// Request is what to presign.
type Request struct {
	Method string // "GET", "PUT", ...
	Scheme string // "https" or "http"
	Host   string // host[:port] as the client sends it
	Path   string // not encoded, e.g. "/bucket/photos/a b.jpg"
	// PathSuffix, when not empty, follows Path: the request's path is
	// Path+PathSuffix (e.g. "/bucket/" and "photos/a b.jpg"), which the
	// signer appends without the caller concatenating them.
	PathSuffix string
	Query      []Param
	// Headers to sign besides host. The client must send each with exactly
	// this value.
	Headers []Header
	// PayloadHash is the hex SHA-256 of the body, or "" for UNSIGNED-PAYLOAD.
	PayloadHash string
	Time        time.Time
	// Expires is the presigned URL's lifetime; SignHeaders ignores it.
	Expires time.Duration
}

// Signer presigns requests for one set of credentials, region and service.
type Signer struct {
	creds   Credentials
	region  string
	service string
	// scope is "/region/service/aws4_request", the credential scope after the date.
	scope string
	// The query encodings of the access key, the scope and the token.
	encAccessKey, encScope, encToken string
	key                              atomic.Pointer[signingKey]
}

// signingKey is the derived key for one date; only the latest is cached.
type signingKey struct {
	date [8]byte
	key  [sha256.Size]byte
}

// NewSigner returns a Signer. service is "s3" for S3-compatible stores.
func NewSigner(creds Credentials, region, service string) *Signer {
	scope := "/" + region + "/" + service + "/aws4_request"
	return &Signer{
		creds:        creds,
		region:       region,
		service:      service,
		scope:        scope,
		encAccessKey: EscapeQuery(creds.AccessKeyID),
		encScope:     EscapeQuery(scope),
		encToken:     EscapeQuery(creds.SessionToken),
	}
}

// Presign returns the presigned URL of r.
func (s *Signer) Presign(r *Request) string {
	sc := getScratch()
	defer putScratch(sc)
	sc.build(s, r)
	// Build the URL in one allocation of the exact size.
	n := len(r.Scheme) + len("://") + len(r.Host) + len(sc.path) + 1 + len(sc.query) + len("&X-Amz-Signature=") + 2*sha256.Size
	buf := s.appendSigned(sc, make([]byte, 0, n), r)
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// AppendPresign appends the presigned URL of r to dst and returns it.
func (s *Signer) AppendPresign(dst []byte, r *Request) []byte {
	sc := getScratch()
	defer putScratch(sc)
	return s.appendPresign(sc, dst, r)
}

func (s *Signer) appendPresign(sc *scratch, dst []byte, r *Request) []byte {
	sc.build(s, r)
	return s.appendSigned(sc, dst, r)
}

// appendSigned appends the URL of the request built in sc, signed.
func (s *Signer) appendSigned(sc *scratch, dst []byte, r *Request) []byte {
	sig := s.sign(sc, sc.creq)

	dst = append(dst, r.Scheme...)
	dst = append(dst, "://"...)
	dst = append(dst, r.Host...)
	dst = append(dst, sc.path...)
	dst = append(dst, '?')
	dst = append(dst, sc.query...)
	dst = append(dst, "&X-Amz-Signature="...)
	return append(dst, sig[:]...)
}

// SignHeaders signs r in its headers, for a request its caller sends itself
// (server to server), and returns the headers to add to it: Authorization,
// X-Amz-Date, X-Amz-Content-Sha256 and, when the credentials have a session
// token, X-Amz-Security-Token. All but Authorization are signed.
//
// r.Headers are the request's other headers to sign (host always is); the
// request must carry each with exactly its value, and r.Headers must not hold
// the headers SignHeaders returns. r.PayloadHash is the hex SHA-256 of the
// body ([EmptyPayloadHash] for none), or "" for UNSIGNED-PAYLOAD. The query
// is signed as r.Query; r.Scheme and r.Expires are not used.
func (s *Signer) SignHeaders(r *Request) []Header {
	sc := getScratch()
	defer putScratch(sc)
	sc.buildForHeaders(s, r)
	sig := s.sign(sc, sc.creq)

	// AWS4-HMAC-SHA256 Credential=AK/YYYYMMDD/region/service/aws4_request,
	// SignedHeaders=a;b, Signature=hex
	const credential, signedHeaders, signature = " Credential=", ", SignedHeaders=", ", Signature="
	n := len(Algorithm) + len(credential) + len(s.creds.AccessKeyID) + 1 + 8 + len(s.scope) + len(signedHeaders) + len(signature) + len(sig)
	for _, h := range sc.hdr {
		n += len(h.Name) + 1
	}
	a := make([]byte, 0, n)
	a = append(a, Algorithm...)
	a = append(a, credential...)
	a = append(a, s.creds.AccessKeyID...)
	a = append(a, '/')
	a = append(a, sc.date[:8]...)
	a = append(a, s.scope...)
	a = append(a, signedHeaders...)
	a = sc.appendSignedHeaders(a)
	a = append(a, signature...)
	a = append(a, sig[:]...)

	hs := make([]Header, 3, 4)
	hs[0] = Header{Name: "Authorization", Value: unsafe.String(unsafe.SliceData(a), len(a))}
	hs[1] = Header{Name: "X-Amz-Date", Value: string(sc.date[:])}
	hs[2] = Header{Name: "X-Amz-Content-Sha256", Value: payloadHash(r)}
	if s.creds.SessionToken != "" {
		hs = append(hs, Header{Name: "X-Amz-Security-Token", Value: s.creds.SessionToken})
	}
	return hs
}

// headerCanonicalRequest returns the canonical request SignHeaders signs,
// for tests.
func (s *Signer) headerCanonicalRequest(r *Request) string {
	sc := getScratch()
	defer putScratch(sc)
	sc.buildForHeaders(s, r)
	return string(sc.creq)
}

// CanonicalRequest returns the canonical request of r, for tests and for
// debugging signature mismatches.
func (s *Signer) CanonicalRequest(r *Request) string {
	sc := getScratch()
	defer putScratch(sc)
	sc.build(s, r)
	return string(sc.creq)
}

// StringToSign returns the string to sign of r.
func (s *Signer) StringToSign(r *Request) string {
	sc := getScratch()
	defer putScratch(sc)
	sc.build(s, r)
	sum := sha256.Sum256(sc.creq)
	var date [16]byte
	FormatDate(&date, r.Time)
	return string(s.appendStringToSign(nil, &date, &sum))
}

// SigningKey returns the derived key for the date of t, for tests.
func (s *Signer) SigningKey(t time.Time) []byte {
	var date [16]byte
	FormatDate(&date, t)
	k := s.signingKey(&date)
	return k.key[:]
}

// appendStringToSign appends "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha>".
func (s *Signer) appendStringToSign(dst []byte, date *[16]byte, sum *[sha256.Size]byte) []byte {
	dst = append(dst, Algorithm+"\n"...)
	dst = append(dst, date[:]...)
	dst = append(dst, '\n')
	dst = append(dst, date[:8]...)
	dst = append(dst, s.scope...)
	dst = append(dst, '\n')
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	return append(dst, hx[:]...)
}

// sign returns the hex signature of the canonical request creq, signed at
// sc.date.
func (s *Signer) sign(sc *scratch, creq []byte) [2 * sha256.Size]byte {
	sc.sha.Reset()
	sc.sha.Write(creq)
	sc.sha.Sum(sc.sum[:0])
	sc.sts = s.appendStringToSign(sc.sts[:0], &sc.date, &sc.sum)
	return s.hmacHex(sc, &sc.date, sc.sts)
}

// hmacHex returns hex(HMAC(signing key of date, msg)), reusing the scratch's
// keyed HMAC when the key is the same as last time.
func (s *Signer) hmacHex(sc *scratch, date *[16]byte, msg []byte) [2 * sha256.Size]byte {
	k := s.signingKey(date)
	if sc.macKey != k {
		sc.mac = hmac.New(sha256.New, k.key[:])
		sc.macKey = k
	} else {
		sc.mac.Reset()
	}
	sc.mac.Write(msg)
	sc.mac.Sum(sc.sum[:0])
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sc.sum[:])
	return out
}

// signingKey returns the derived key for the date in date[:8], deriving and
// caching it when the cached one is for another date.
func (s *Signer) signingKey(date *[16]byte) *signingKey {
	if k := s.key.Load(); k != nil && string(k.date[:]) == string(date[:8]) {
		return k
	}
	k := &signingKey{key: DeriveKey("AWS4", s.creds.SecretAccessKey, date[:8], s.region, s.service, "aws4_request")}
	copy(k.date[:], date[:8])
	s.key.Store(k)
	return k
}

func hmacSum(key, msg []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// scratch holds the buffers of one signing, pooled across calls.
type scratch struct {
	date   [16]byte // YYYYMMDDTHHMMSSZ
	path   []byte   // encoded path
	query  []byte   // canonical query string
	enc    []byte   // encoded query names and values, referenced by params
	param  []encParam
	hdr    []Header // lower-cased, trimmed, sorted, host included
	auth   []Header // the signed authentication headers of SignHeaders
	lower  []byte   // lower-cased header names, referenced by hdr
	creq   []byte
	sts    []byte
	offs   []int // starts of the names in lower
	sum    [sha256.Size]byte
	sha    hash.Hash
	mac    hash.Hash
	macKey *signingKey
}

// encParam is one encoded query parameter: offsets into scratch.enc.
type encParam struct {
	name, value [2]int
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		path:  make([]byte, 0, 256),
		query: make([]byte, 0, 512),
		enc:   make([]byte, 0, 512),
		param: make([]encParam, 0, 16),
		hdr:   make([]Header, 0, 16),
		auth:  make([]Header, 0, 3),
		lower: make([]byte, 0, 256),
		creq:  make([]byte, 0, 1024),
		sts:   make([]byte, 0, 160),
		offs:  make([]int, 0, 16),
		sha:   sha256.New(),
	}
}}

func getScratch() *scratch   { return scratchPool.Get().(*scratch) }
func putScratch(sc *scratch) { scratchPool.Put(sc) }

// build fills sc.date, sc.path, sc.query and sc.creq for r, presigned.
func (sc *scratch) build(s *Signer, r *Request) {
	FormatDate(&sc.date, r.Time)
	sc.path = AppendEscapePath(AppendEscapePath(sc.path[:0], r.Path), r.PathSuffix)
	sc.buildHeaders(r, nil)
	sc.buildQuery(s, r, true)
	sc.buildCanonical(r)
}

// buildForHeaders fills sc like build, for a request signed in its headers:
// the query is the caller's alone, and the authentication headers other
// than Authorization (sc.auth) are signed with the caller's.
func (sc *scratch) buildForHeaders(s *Signer, r *Request) {
	FormatDate(&sc.date, r.Time)
	sc.path = AppendEscapePath(AppendEscapePath(sc.path[:0], r.Path), r.PathSuffix)
	// Lower-case names, sorted: they are merged into sc.hdr as they are.
	sc.auth = append(sc.auth[:0],
		Header{Name: "x-amz-content-sha256", Value: payloadHash(r)},
		Header{Name: "x-amz-date", Value: unsafeString(sc.date[:])})
	if s.creds.SessionToken != "" {
		sc.auth = append(sc.auth, Header{Name: "x-amz-security-token", Value: s.creds.SessionToken})
	}
	sc.buildHeaders(r, sc.auth)
	sc.buildQuery(s, r, false)
	sc.buildCanonical(r)
}

func payloadHash(r *Request) string {
	if r.PayloadHash == "" {
		return UnsignedPayload
	}
	return r.PayloadHash
}

// buildCanonical writes the canonical request of r into sc.creq, from
// sc.path, sc.query and sc.hdr.
func (sc *scratch) buildCanonical(r *Request) {
	c := sc.creq[:0]
	c = append(c, r.Method...)
	c = append(c, '\n')
	c = append(c, sc.path...)
	c = append(c, '\n')
	c = append(c, sc.query...)
	c = append(c, '\n')
	for _, h := range sc.hdr {
		c = append(c, h.Name...)
		c = append(c, ':')
		c = appendTrimmedValue(c, h.Value)
		c = append(c, '\n')
	}
	c = append(c, '\n')
	c = sc.appendSignedHeaders(c)
	c = append(c, '\n')
	c = append(c, payloadHash(r)...)
	sc.creq = c
}

// buildHeaders collects host, r.Headers and extra (lower-case already) into
// sc.hdr, lower-cased and sorted by name. Repeated names are joined with ","
// in the order given, as SigV4 requires.
func (sc *scratch) buildHeaders(r *Request, extra []Header) {
	sc.hdr = append(sc.hdr[:0], Header{Name: "host", Value: r.Host})
	sc.hdr = append(sc.hdr, extra...)
	sc.lower = sc.lower[:0]
	// Lower-case every name into one buffer first: appending may move it, so
	// the strings are taken only once it is complete.
	offs := sc.offs[:0]
	for _, h := range r.Headers {
		if isLower(h.Name) {
			offs = append(offs, -1) // used as it is
			continue
		}
		offs = append(offs, len(sc.lower))
		for i := 0; i < len(h.Name); i++ {
			b := h.Name[i]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			sc.lower = append(sc.lower, b)
		}
	}
	for i, h := range r.Headers {
		name := h.Name
		if offs[i] >= 0 {
			name = unsafeString(sc.lower[offs[i] : offs[i]+len(h.Name)])
		}
		sc.hdr = append(sc.hdr, Header{Name: name, Value: h.Value})
	}
	sc.offs = offs
	// Insertion sort: few headers, and stable so repeated names keep their order.
	for i := 1; i < len(sc.hdr); i++ {
		for j := i; j > 0 && sc.hdr[j].Name < sc.hdr[j-1].Name; j-- {
			sc.hdr[j], sc.hdr[j-1] = sc.hdr[j-1], sc.hdr[j]
		}
	}
	// Join repeated names.
	out := sc.hdr[:1]
	for _, h := range sc.hdr[1:] {
		last := &out[len(out)-1]
		if h.Name == last.Name {
			// Each value is canonicalized on its own, then joined.
			last.Value = string(appendTrimmedValue([]byte(nil), last.Value)) + "," + string(appendTrimmedValue(nil, h.Value))
			continue
		}
		out = append(out, h)
	}
	sc.hdr = out
}

func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

// appendSignedHeaders appends "name1;name2;..." of sc.hdr.
func (sc *scratch) appendSignedHeaders(dst []byte) []byte {
	for i, h := range sc.hdr {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, h.Name...)
	}
	return dst
}

// authParams are the names of the authentication parameters, in sorted
// order; all are unreserved, so encoded they are the same.
var authParams = [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-SignedHeaders"}

// appendAuthValue appends the encoded value of authParams[i].
func (sc *scratch) appendAuthValue(q []byte, s *Signer, r *Request, i int) []byte {
	switch i {
	case 0:
		return append(q, Algorithm...)
	case 1: // AK/YYYYMMDD/region/service/aws4_request
		q = append(q, s.encAccessKey...)
		q = append(q, "%2F"...)
		q = append(q, sc.date[:8]...)
		return append(q, s.encScope...)
	case 2:
		return append(q, sc.date[:]...)
	case 3:
		return strconv.AppendInt(q, int64(r.Expires/time.Second), 10)
	case 4:
		return append(q, s.encToken...)
	default:
		for j, h := range sc.hdr {
			if j > 0 {
				q = append(q, "%3B"...)
			}
			q = AppendEscapeQuery(q, h.Name)
		}
		return q
	}
}

// buildQuery writes the canonical query of r (every parameter but the
// signature, encoded, then sorted by encoded name and value) into sc.query:
// the caller's parameters are encoded and sorted, then, when presigned,
// merged with the authentication parameters, which are sorted already.
func (sc *scratch) buildQuery(s *Signer, r *Request, presigned bool) {
	sc.enc = sc.enc[:0]
	sc.param = sc.param[:0]
	for _, p := range r.Query {
		sc.addParam(p.Name, p.Value)
	}
	ps := sc.param
	less := func(a, b encParam) bool {
		an, bn := sc.enc[a.name[0]:a.name[1]], sc.enc[b.name[0]:b.name[1]]
		if string(an) != string(bn) {
			return string(an) < string(bn)
		}
		return string(sc.enc[a.value[0]:a.value[1]]) < string(sc.enc[b.value[0]:b.value[1]])
	}
	for i := 1; i < len(ps); i++ { // insertion sort: few parameters
		for j := i; j > 0 && less(ps[j], ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}

	q := sc.query[:0]
	j := 0
	appendParam := func(p encParam) {
		if len(q) > 0 {
			q = append(q, '&')
		}
		q = append(q, sc.enc[p.name[0]:p.name[1]]...)
		q = append(q, '=')
		q = append(q, sc.enc[p.value[0]:p.value[1]]...)
	}
	auth := authParams[:]
	if !presigned {
		auth = nil // signed in the headers instead
	}
	for i, name := range auth {
		if i == 4 && s.encToken == "" {
			continue
		}
		for j < len(ps) && string(sc.enc[ps[j].name[0]:ps[j].name[1]]) < name {
			appendParam(ps[j])
			j++
		}
		if len(q) > 0 {
			q = append(q, '&')
		}
		q = append(q, name...)
		q = append(q, '=')
		q = sc.appendAuthValue(q, s, r, i)
	}
	for ; j < len(ps); j++ {
		appendParam(ps[j])
	}
	sc.query = q
}

func (sc *scratch) addParam(name, value string) {
	start := len(sc.enc)
	sc.enc = AppendEscapeQuery(sc.enc, name)
	n := [2]int{start, len(sc.enc)}
	start = len(sc.enc)
	sc.enc = AppendEscapeQuery(sc.enc, value)
	sc.param = append(sc.param, encParam{name: n, value: [2]int{start, len(sc.enc)}})
}

// appendTrimmedValue appends v without leading and trailing spaces and with
// each run of inner spaces collapsed to one, as SigV4 canonicalizes header
// values.
func appendTrimmedValue(dst []byte, v string) []byte {
	i, j := 0, len(v)
	for i < j && isSpace(v[i]) {
		i++
	}
	for j > i && isSpace(v[j-1]) {
		j--
	}
	prevSpace := false
	for k := i; k < j; k++ {
		c := v[k]
		if c == ' ' {
			if prevSpace {
				continue
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		dst = append(dst, c)
	}
	return dst
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// FormatDate writes t in UTC as YYYYMMDDTHHMMSSZ, the form of X-Amz-Date
// (and of Google's X-Goog-Date).
func FormatDate(dst *[16]byte, t time.Time) {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	put := func(i, v, n int) {
		for k := i + n - 1; k >= i; k-- {
			dst[k] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	put(4, int(mo), 2)
	put(6, d, 2)
	dst[8] = 'T'
	put(9, h, 2)
	put(11, mi, 2)
	put(13, s, 2)
	dst[15] = 'Z'
}

// DeriveKey returns the signing key of the V4 family for date (YYYYMMDD):
// HMAC-SHA256 chained from prefix+secret over date, region, service and
// terminator. SigV4's is DeriveKey("AWS4", secret, date, region, service,
// "aws4_request"); Google's V4 HMAC signing (package gcsv4) uses "GOOG4",
// the location, "storage" and "goog4_request".
func DeriveKey(prefix, secret string, date []byte, region, service, terminator string) [sha256.Size]byte {
	mac := hmacSum([]byte(prefix+secret), date)
	mac = hmacSum(mac[:], []byte(region))
	mac = hmacSum(mac[:], []byte(service))
	return hmacSum(mac[:], []byte(terminator))
}
