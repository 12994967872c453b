// Package gcsv4 presigns Google Cloud Storage requests with Google's V4
// signing process: signed URLs for GET, HEAD, PUT, DELETE and the POST that
// starts a resumable upload, and the HTML form POST policy (see
// [Signer.PresignPost]). It signs with a service account's RSA key
// (GOOG4-RSA-SHA256) or with an HMAC key (GOOG4-HMAC-SHA256).
//
// The package is pure: it does no I/O, reads no clock and no environment. The
// signing time is a field of every request, so a fixed time gives the same URL
// byte for byte (RSASSA-PKCS1-v1_5 is deterministic).
//
// # Google's rules, as implemented
//
// They are those of Google's conformance vectors (googleapis/conformance-tests,
// storage/v1/v4_signatures.json), which this package's tests pass:
//
//   - The path is /bucket/object (path style) or /object (virtual-hosted style
//     and bucket-bound host names), every byte but A-Z a-z 0-9 - _ . ~ and /
//     as %XX with upper-case hex; nothing is normalized ("a//b" stays).
//   - Query names and values are encoded the same way, / included (space is
//     %20, never +), and sorted by name before encoding, as Google's client
//     libraries sort them; a repeated name keeps its values in the order given.
//     Both encodings are SigV4's: [sigv4.AppendEscapePath] and
//     [sigv4.AppendEscapeQuery].
//     The URL carries the query exactly as signed, X-Goog-Signature last.
//   - host is always signed, as the host name alone: a port in Request.Host
//     stays in the URL but is not signed (vector "Simple GET with non-default
//     hostname"). Other headers are signed only when the caller names them:
//     names in lower case, values trimmed and every run of spaces and tabs
//     made one space, a repeated name's values joined with ",".
//   - The payload is UNSIGNED-PAYLOAD, or the value of a signed
//     x-goog-content-sha256 header.
//   - The credential scope is YYYYMMDD/location/storage/goog4_request; the
//     location is "auto" unless [Credentials.Location] says otherwise.
//
// # Preconditions
//
// Callers validate once, at their boundary; the signer does not re-check.
// Request.Method is upper case; Request.Host is lower case; Request.Bucket is
// a bucket name; Request.Expires is whole seconds in 1s..7 days
// ([MaxExpires]); header names are valid tokens, none of them host; header
// values hold no control characters but tab; and Request.Query holds none of
// the X-Goog-* authentication parameters.
//
// A Signer is safe for concurrent use. With an HMAC key, presigning a URL
// allocates once (the returned string) and [Signer.AppendPresign] nothing when
// dst has room; with an RSA key, the RSA signature allocates too.
package gcsv4

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"presign.dev/sigv4"
)

// The signing algorithms, the values of X-Goog-Algorithm.
const (
	AlgorithmRSA  = "GOOG4-RSA-SHA256"
	AlgorithmHMAC = "GOOG4-HMAC-SHA256"
)

// UnsignedPayload is the payload of a canonical request that signs no
// x-goog-content-sha256 header.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// MaxExpires is the longest lifetime of a V4 signed URL: Cloud Storage
// refuses X-Goog-Expires above 604800.
const MaxExpires = 7 * 24 * time.Hour

// DefaultHost is Cloud Storage's XML API endpoint, the host of a Request
// whose Host is empty.
const DefaultHost = "storage.googleapis.com"

// DefaultLocation is the location of the credential scope when
// Credentials.Location is empty; Cloud Storage accepts it for every bucket.
const DefaultLocation = "auto"

// ServiceAccount is the part of a service account's JSON key that signs:
// see [ParseServiceAccountKey].
type ServiceAccount struct {
	ClientEmail string
	PrivateKey  *rsa.PrivateKey
}

// String shows the client email only, so a key printed by mistake does not
// leak.
func (a ServiceAccount) String() string {
	return "gcsv4.ServiceAccount{ClientEmail:" + a.ClientEmail + ", PrivateKey:<redacted>}"
}

// GoString redacts like String, for %#v.
func (a ServiceAccount) GoString() string { return a.String() }

// HMACKey is a Cloud Storage HMAC key: its access ID (GOOG1...) and its
// secret, used as the text it is (not base64-decoded).
type HMACKey struct {
	AccessID string
	Secret   string
}

// String shows the access ID only.
func (k HMACKey) String() string {
	return "gcsv4.HMACKey{AccessID:" + k.AccessID + ", Secret:<redacted>}"
}

// GoString redacts like String, for %#v.
func (k HMACKey) GoString() string { return k.String() }

// Credentials sign: exactly one of ServiceAccount (GOOG4-RSA-SHA256) and
// HMAC (GOOG4-HMAC-SHA256).
type Credentials struct {
	ServiceAccount *ServiceAccount
	HMAC           *HMACKey
	// Location is the credential scope's location; "" is [DefaultLocation].
	Location string
}

// Param is one query parameter or form field, not yet encoded.
type Param struct {
	Name, Value string
}

// Header is one header to sign, as the client will send it. Name may be in any
// case; it is signed in lower case.
type Header struct {
	Name, Value string
}

// Style is how a URL names the bucket.
type Style uint8

const (
	// PathStyle: scheme://host/bucket/object, the default.
	PathStyle Style = iota
	// VirtualHostedStyle: scheme://bucket.host/object.
	VirtualHostedStyle
	// BucketBoundHostname: scheme://host/object, where host (a CNAME or a
	// load balancer) serves the bucket alone.
	BucketBoundHostname
)

// Request is what to presign.
type Request struct {
	Method string // "GET", "PUT", ...
	Scheme string // "https" or "http"; "" is "https"
	// Host is host[:port] as the client sends it: the endpoint for
	// PathStyle and VirtualHostedStyle ("" is [DefaultHost]), the bound host
	// name for BucketBoundHostname.
	Host   string
	Style  Style
	Bucket string
	Object string // not encoded; "" for a request on the bucket
	Query  []Param
	// Headers to sign besides host. The client must send each with exactly
	// this value.
	Headers []Header
	Time    time.Time
	// Expires is the URL's lifetime, X-Goog-Expires.
	Expires time.Duration
}

// Signer presigns requests with one set of credentials.
type Signer struct {
	alg      string
	id       string // client email or access ID
	location string
	rsa      *rsa.PrivateKey
	secret   string
	sigLen   int // length of the hex signature
	// The query encodings of the id and of "/location/storage/goog4_request".
	encID, encScope string
	key             atomic.Pointer[signingKey]
}

// signingKey is the HMAC key derived for one date; only the latest is cached.
type signingKey struct {
	date [8]byte
	key  [sha256.Size]byte
}

var (
	errNoCredentials  = errors.New("gcsv4: credentials need a service account or an HMAC key")
	errTwoCredentials = errors.New("gcsv4: credentials hold both a service account and an HMAC key")
	errNoEmail        = errors.New("gcsv4: the service account has no client email")
	errNoPrivateKey   = errors.New("gcsv4: the service account has no private key")
	errNoAccessID     = errors.New("gcsv4: the HMAC key has no access ID")
	errNoSecret       = errors.New("gcsv4: the HMAC key has no secret")
)

// NewSigner returns a Signer for c. It fails when c does not hold exactly one
// complete credential; the error never quotes a key.
func NewSigner(c Credentials) (*Signer, error) {
	s := &Signer{location: c.Location}
	if s.location == "" {
		s.location = DefaultLocation
	}
	switch {
	case c.ServiceAccount != nil && c.HMAC != nil:
		return nil, errTwoCredentials
	case c.ServiceAccount != nil:
		if c.ServiceAccount.ClientEmail == "" {
			return nil, errNoEmail
		}
		if c.ServiceAccount.PrivateKey == nil {
			return nil, errNoPrivateKey
		}
		s.alg, s.id, s.rsa = AlgorithmRSA, c.ServiceAccount.ClientEmail, c.ServiceAccount.PrivateKey
		s.sigLen = 2 * s.rsa.Size()
	case c.HMAC != nil:
		if c.HMAC.AccessID == "" {
			return nil, errNoAccessID
		}
		if c.HMAC.Secret == "" {
			return nil, errNoSecret
		}
		s.alg, s.id, s.secret = AlgorithmHMAC, c.HMAC.AccessID, c.HMAC.Secret
		s.sigLen = 2 * sha256.Size
	default:
		return nil, errNoCredentials
	}
	s.encID = sigv4.EscapeQuery(s.id)
	s.encScope = sigv4.EscapeQuery("/" + s.location + "/storage/goog4_request")
	return s, nil
}

// Algorithm returns the signer's X-Goog-Algorithm: [AlgorithmRSA] or
// [AlgorithmHMAC].
func (s *Signer) Algorithm() string { return s.alg }

// ID returns the identity that signs: the service account's client email or
// the HMAC key's access ID.
func (s *Signer) ID() string { return s.id }

// Presign returns the signed URL of r.
func (s *Signer) Presign(r *Request) string {
	sc := getScratch()
	defer putScratch(sc)
	sc.build(s, r)
	n := len(scheme(r.Scheme)) + len("://") + len(sc.urlHost) + len(sc.path) + 1 + len(sc.query) + len("&X-Goog-Signature=") + s.sigLen
	buf := s.appendSigned(sc, make([]byte, 0, n), r)
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// AppendPresign appends the signed URL of r to dst and returns it.
func (s *Signer) AppendPresign(dst []byte, r *Request) []byte {
	sc := getScratch()
	defer putScratch(sc)
	sc.build(s, r)
	return s.appendSigned(sc, dst, r)
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
	sc.buildStringToSign(s)
	return string(sc.sts)
}

// appendSigned appends the URL of the request built in sc, signed.
func (s *Signer) appendSigned(sc *scratch, dst []byte, r *Request) []byte {
	sc.buildStringToSign(s)
	dst = append(dst, scheme(r.Scheme)...)
	dst = append(dst, "://"...)
	dst = append(dst, sc.urlHost...)
	dst = append(dst, sc.path...)
	dst = append(dst, '?')
	dst = append(dst, sc.query...)
	dst = append(dst, "&X-Goog-Signature="...)
	return s.appendSignature(sc, dst, sc.sts)
}

// appendSignature appends the hex signature of msg, signed at sc.date: RSA
// over its SHA-256, or HMAC with the key derived for the date.
func (s *Signer) appendSignature(sc *scratch, dst, msg []byte) []byte {
	if s.rsa != nil {
		sum := sha256.Sum256(msg)
		// PKCS #1 v1.5 signing needs no randomness: it is deterministic.
		sig, err := rsa.SignPKCS1v15(nil, s.rsa, crypto.SHA256, sum[:])
		if err != nil {
			// Only a key too small for a SHA-256 digest or an invalid one
			// gets here: NewSigner's callers pass parsed keys.
			panic("gcsv4: RSA signing failed: " + err.Error())
		}
		return hex.AppendEncode(dst, sig)
	}
	k := s.signingKey(&sc.date)
	if sc.macKey != k {
		sc.mac = hmac.New(sha256.New, k.key[:])
		sc.macKey = k
	} else {
		sc.mac.Reset()
	}
	sc.mac.Write(msg)
	sc.mac.Sum(sc.sum[:0])
	return hex.AppendEncode(dst, sc.sum[:])
}

// signingKey returns the HMAC key derived for the date in date[:8]:
// HMAC chained over "GOOG4"+secret, the date, the location, "storage" and
// "goog4_request". It caches the latest.
func (s *Signer) signingKey(date *[16]byte) *signingKey {
	if k := s.key.Load(); k != nil && string(k.date[:]) == string(date[:8]) {
		return k
	}
	k := &signingKey{key: sigv4.DeriveKey("GOOG4", s.secret, date[:8], s.location, "storage", "goog4_request")}
	copy(k.date[:], date[:8])
	s.key.Store(k)
	return k
}

// scheme returns s, or "https" for "".
func scheme(s string) string {
	if s == "" {
		return "https"
	}
	return s
}

// scratch holds the buffers of one signing, pooled across calls.
type scratch struct {
	date    [16]byte // YYYYMMDDTHHMMSSZ
	urlHost []byte   // the host of the URL
	path    []byte   // encoded path
	query   []byte   // canonical query string
	enc     []byte   // encoded query names and values, referenced by param
	param   []encParam
	hdr     []Header // lower-cased, sorted, host included; values raw
	lower   []byte   // lower-cased header names, referenced by hdr
	offs    []int
	creq    []byte
	sts     []byte
	sum     [sha256.Size]byte
	sha     hash.Hash
	mac     hash.Hash
	macKey  *signingKey
}

// encParam is one query parameter: its raw name, for sorting, and the
// offsets of its encoded name and value in scratch.enc.
type encParam struct {
	raw         string
	name, value [2]int
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		urlHost: make([]byte, 0, 128),
		path:    make([]byte, 0, 256),
		query:   make([]byte, 0, 512),
		enc:     make([]byte, 0, 512),
		param:   make([]encParam, 0, 16),
		hdr:     make([]Header, 0, 16),
		lower:   make([]byte, 0, 256),
		offs:    make([]int, 0, 16),
		creq:    make([]byte, 0, 1024),
		sts:     make([]byte, 0, 160),
		sha:     sha256.New(),
	}
}}

func getScratch() *scratch   { return scratchPool.Get().(*scratch) }
func putScratch(sc *scratch) { scratchPool.Put(sc) }

// build fills sc for r: the date, the URL's host, the encoded path, the
// canonical query and the canonical request.
func (sc *scratch) build(s *Signer, r *Request) {
	sigv4.FormatDate(&sc.date, r.Time)
	sc.buildTarget(r.Style, r.Host, r.Bucket, r.Object)
	sc.buildHeaders(r)
	sc.buildQuery(s, r)
	sc.buildCanonical(r)
}

// buildTarget fills sc.urlHost and sc.path (encoded) for a bucket and object
// in a style.
func (sc *scratch) buildTarget(style Style, host, bucket, object string) {
	if host == "" && style != BucketBoundHostname {
		host = DefaultHost
	}
	sc.urlHost = sc.urlHost[:0]
	sc.path = append(sc.path[:0], '/')
	switch style {
	case VirtualHostedStyle:
		sc.urlHost = append(sc.urlHost, bucket...)
		sc.urlHost = append(sc.urlHost, '.')
		sc.urlHost = append(sc.urlHost, host...)
	case BucketBoundHostname:
		sc.urlHost = append(sc.urlHost, host...)
	default:
		sc.urlHost = append(sc.urlHost, host...)
		sc.path = sigv4.AppendEscapePath(sc.path, bucket)
		if object != "" {
			sc.path = append(sc.path, '/')
		}
	}
	sc.path = sigv4.AppendEscapePath(sc.path, object)
}

// hostname returns host without its port, and without the brackets of an
// IPv6 literal: the host that is signed.
func hostname(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		for i := 1; i < len(host); i++ {
			if host[i] == ']' {
				return host[1:i]
			}
		}
		return host
	}
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}

// buildHeaders collects host and r.Headers into sc.hdr: names lower-cased,
// sorted (stable), a repeated name's values joined with ",". The values
// are canonicalized when the canonical request is written.
func (sc *scratch) buildHeaders(r *Request) {
	sc.hdr = append(sc.hdr[:0], Header{Name: "host", Value: unsafeString(hostname(sc.urlHost))})
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
	// Join repeated names. Rare, so the joined value is a new string. It is
	// canonical already, and canonicalizing it again (buildCanonical does)
	// leaves it as it is: its parts have no blanks at their ends, no tab and
	// no run of spaces, and "," joins them.
	out := sc.hdr[:1]
	for _, h := range sc.hdr[1:] {
		last := &out[len(out)-1]
		if h.Name != last.Name {
			out = append(out, h)
			continue
		}
		v := appendCanonicalValue(nil, last.Value)
		v = append(v, ',')
		v = appendCanonicalValue(v, h.Value)
		last.Value = string(v)
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
	payload := -1 // offset of the x-goog-content-sha256 value in c
	for _, h := range sc.hdr {
		c = append(c, h.Name...)
		c = append(c, ':')
		if h.Name == "x-goog-content-sha256" {
			payload = len(c)
		}
		c = appendCanonicalValue(c, h.Value)
		c = append(c, '\n')
	}
	end := len(c) - 1
	c = append(c, '\n')
	for i, h := range sc.hdr {
		if i > 0 {
			c = append(c, ';')
		}
		c = append(c, h.Name...)
	}
	c = append(c, '\n')
	if payload >= 0 {
		// The value ends at the next newline.
		i := payload
		for i < end && c[i] != '\n' {
			i++
		}
		c = append(c, c[payload:i]...)
	} else {
		c = append(c, UnsignedPayload...)
	}
	sc.creq = c
}

// buildStringToSign writes "ALGORITHM\n<date>\n<scope>\n<hex sha256 of the
// canonical request>" into sc.sts.
func (sc *scratch) buildStringToSign(s *Signer) {
	sc.sha.Reset()
	sc.sha.Write(sc.creq)
	sc.sha.Sum(sc.sum[:0])
	b := append(sc.sts[:0], s.alg...)
	b = append(b, '\n')
	b = append(b, sc.date[:]...)
	b = append(b, '\n')
	b = append(b, sc.date[:8]...)
	b = append(b, '/')
	b = append(b, s.location...)
	b = append(b, "/storage/goog4_request\n"...)
	sc.sts = hex.AppendEncode(b, sc.sum[:])
}

// authParams are the names of the authentication parameters, in sorted
// order; all are unreserved, so encoded they are the same.
var authParams = [...]string{"X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires", "X-Goog-SignedHeaders"}

// appendAuthValue appends the encoded value of authParams[i].
func (sc *scratch) appendAuthValue(q []byte, s *Signer, r *Request, i int) []byte {
	switch i {
	case 0:
		return append(q, s.alg...)
	case 1: // ID/YYYYMMDD/location/storage/goog4_request
		q = append(q, s.encID...)
		q = append(q, "%2F"...)
		q = append(q, sc.date[:8]...)
		return append(q, s.encScope...)
	case 2:
		return append(q, sc.date[:]...)
	case 3:
		return strconv.AppendInt(q, int64(r.Expires/time.Second), 10)
	default:
		for j, h := range sc.hdr {
			if j > 0 {
				q = append(q, "%3B"...)
			}
			q = sigv4.AppendEscapeQuery(q, h.Name)
		}
		return q
	}
}

// buildQuery writes the canonical query of r into sc.query: the caller's
// parameters, encoded and sorted by raw name (stable), merged with the
// authentication parameters, which are sorted already.
func (sc *scratch) buildQuery(s *Signer, r *Request) {
	sc.enc = sc.enc[:0]
	sc.param = sc.param[:0]
	for _, p := range r.Query {
		start := len(sc.enc)
		sc.enc = sigv4.AppendEscapeQuery(sc.enc, p.Name)
		n := [2]int{start, len(sc.enc)}
		start = len(sc.enc)
		sc.enc = sigv4.AppendEscapeQuery(sc.enc, p.Value)
		sc.param = append(sc.param, encParam{raw: p.Name, name: n, value: [2]int{start, len(sc.enc)}})
	}
	ps := sc.param
	for i := 1; i < len(ps); i++ { // insertion sort: few parameters, stable
		for j := i; j > 0 && ps[j].raw < ps[j-1].raw; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	q := sc.query[:0]
	appendParam := func(p encParam) {
		if len(q) > 0 {
			q = append(q, '&')
		}
		q = append(q, sc.enc[p.name[0]:p.name[1]]...)
		q = append(q, '=')
		q = append(q, sc.enc[p.value[0]:p.value[1]]...)
	}
	j := 0
	for i, name := range authParams {
		for j < len(ps) && ps[j].raw < name {
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
	for i := range sc.param {
		sc.param[i].raw = "" // do not keep the caller's strings in the pool
	}
}

// appendCanonicalValue appends v trimmed of spaces and tabs, with each inner
// run of them made one space.
func appendCanonicalValue(dst []byte, v string) []byte {
	i, j := 0, len(v)
	for i < j && isBlank(v[i]) {
		i++
	}
	for j > i && isBlank(v[j-1]) {
		j--
	}
	blank := false
	for k := i; k < j; k++ {
		c := v[k]
		if isBlank(c) {
			if !blank {
				dst = append(dst, ' ')
			}
			blank = true
			continue
		}
		blank = false
		dst = append(dst, c)
	}
	return dst
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// unsafeString views b as a string without copying. The caller must not
// modify b while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
