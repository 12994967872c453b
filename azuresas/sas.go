package azuresas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"presign.dev/sigv4"
)

// Version is the signed version (sv) of every SAS this package makes and
// the x-ms-version of every request its [Client] sends. Azurite 3.37.0
// serves it without --skipApiVersionCheck; the service SAS string-to-sign is
// the same for every version since 2020-12-06, the user delegation one is
// that of 2026-04-06 and later.
const Version = "2026-06-06"

// TimeFormat is how SAS times (st, se, skt, ske) are written: UTC, whole
// seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// Permissions is a set of blob SAS permissions (sp). A SAS for one blob
// grants only what its permissions name, on that blob only.
type Permissions uint8

const (
	// Read: Get Blob, Get Blob Properties and Metadata, Get Block List.
	Read Permissions = 1 << iota
	// Add: Append Block (append blobs only).
	Add
	// Create: Put Blob of a blob that does not exist yet. It does not
	// authorise Put Block or Put Block List, and an existing blob is refused
	// (403 AuthorizationPermissionMismatch).
	Create
	// Write: Put Blob, Put Block, Put Block List, Set Blob Properties and
	// Metadata. It overwrites an existing blob unless the client sends
	// If-None-Match: * (409 BlobAlreadyExists), which the SAS cannot require.
	Write
	// Delete: Delete Blob.
	Delete

	allPermissions = Read | Add | Create | Write | Delete
)

// String returns the permissions in the order Azure requires ("racwd").
func (p Permissions) String() string {
	var b [5]byte
	return string(p.appendTo(b[:0]))
}

func (p Permissions) appendTo(dst []byte) []byte {
	for i, c := range "racwd" {
		if p&(1<<i) != 0 {
			dst = append(dst, byte(c))
		}
	}
	return dst
}

// Protocol is the signed protocol (spr).
type Protocol string

const (
	// ProtocolAny signs no spr: the SAS works over HTTP and HTTPS.
	ProtocolAny Protocol = ""
	// ProtocolHTTPS refuses the SAS over plain HTTP (403
	// AuthorizationProtocolMismatch).
	ProtocolHTTPS Protocol = "https"
	// ProtocolHTTPSAndHTTP is "https,http", the same as ProtocolAny but
	// signed.
	ProtocolHTTPSAndHTTP Protocol = "https,http"
)

// IPRange is the signed IP range (sip): the client addresses Azure accepts
// the SAS from. Only IPv4 exists in a SAS. The zero IPRange signs none.
// Azurite 3.37.0 does not check it.
type IPRange struct {
	Start netip.Addr // the only address when End is zero
	End   netip.Addr // zero, or the last address of the range
}

// String returns "a" or "a-b", or "" for the zero range.
func (r IPRange) String() string {
	if !r.Start.IsValid() {
		return ""
	}
	if !r.End.IsValid() {
		return r.Start.String()
	}
	return r.Start.String() + "-" + r.End.String()
}

// Values is what one SAS grants: one blob, some permissions, for a time.
type Values struct {
	Container string // 3-63 of a-z 0-9 and single hyphens, not at either end
	// Blob is the blob name, as stored (not URL-encoded): 1-1024 bytes of
	// UTF-8 without control characters or backslashes.
	Blob        string
	Permissions Permissions // at least one
	// Start (st) is when the SAS becomes valid; zero signs none, so it is
	// valid at once. Expiry (se) is required. Both are signed in UTC,
	// truncated to the second.
	Start, Expiry time.Time
	Protocol      Protocol
	IPRange       IPRange
	// Response headers that a read (Get Blob, Get Blob Properties) with this
	// SAS answers with, in place of the blob's own: rscc, rscd, rsce, rscl,
	// rsct. They change nothing of what is written. Printable ASCII only:
	// the service writes header values as bytes of Latin-1 (Azurite 3.37.0
	// answered "é" as one byte 0xFD), so non-ASCII text needs RFC 8187
	// encoding (filename*=UTF-8''...), as presign.ContentDisposition does.
	CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, ContentType string
}

// ErrInvalid is the error of every invalid argument to this package's
// signers and parsers; the message after it says which and why, never with
// a key in it.
var ErrInvalid = errors.New("azuresas: invalid")

func invalid(why string) error { return &invalidError{why} }

type invalidError struct{ why string }

func (e *invalidError) Error() string        { return ErrInvalid.Error() + ": " + e.why }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// Validate reports whether v can be signed. [Signer.Sign] calls it.
func (v *Values) Validate() error {
	if err := ValidateContainer(v.Container); err != nil {
		return err
	}
	if err := ValidateBlobName(v.Blob); err != nil {
		return err
	}
	if v.Permissions == 0 || v.Permissions&^allPermissions != 0 {
		return invalid("permissions: at least one of r, a, c, w, d and nothing else")
	}
	if v.Expiry.IsZero() {
		return invalid("no expiry")
	}
	if !signableTime(v.Expiry) || (!v.Start.IsZero() && !signableTime(v.Start)) {
		return invalid("start or expiry outside the years 1970-9999")
	}
	if !v.Start.IsZero() && !v.Expiry.After(v.Start) {
		return invalid("expiry not after start")
	}
	switch v.Protocol {
	case ProtocolAny, ProtocolHTTPS, ProtocolHTTPSAndHTTP:
	default:
		return invalid(`protocol: "https", "https,http" or none`)
	}
	if r := v.IPRange; r.Start.IsValid() || r.End.IsValid() {
		if !r.Start.Is4() || (r.End.IsValid() && (!r.End.Is4() || r.End.Less(r.Start))) {
			return invalid("IP range: an IPv4 address, or two in ascending order")
		}
	}
	for _, h := range [...]string{v.CacheControl, v.ContentDisposition, v.ContentEncoding, v.ContentLanguage, v.ContentType} {
		if !printableASCII(h) {
			return invalid("a response header value: printable ASCII only")
		}
	}
	return nil
}

// signableTime: a time whose TimeFormat is what Azure parses.
func signableTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1970 && y <= 9999
}

// cleanText reports whether s is UTF-8 without control characters. Every
// signed value must be, since the string to sign separates them with "\n":
// a newline in one would let the same signature stand for other values.
func cleanText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// ValidateContainer reports whether name is a valid container name: 3-63
// characters of a-z, 0-9 and hyphens, starting and ending with a letter or
// digit, without two hyphens in a row.
func ValidateContainer(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return invalid("container name: 3-63 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return invalid("container name: a-z, 0-9 and single hyphens, not first or last")
		}
	}
	return nil
}

// ValidateBlobName reports whether name can be signed: 1-1024 bytes of UTF-8
// without control characters or backslashes (Azure turns a backslash into
// a slash, so the name signed would not be the name stored).
func ValidateBlobName(name string) error {
	if name == "" || len(name) > 1024 {
		return invalid("blob name: 1-1024 bytes")
	}
	if !cleanText(name) || strings.IndexByte(name, '\\') >= 0 {
		return invalid("blob name: UTF-8 without control characters or backslashes")
	}
	return nil
}

// Signer signs SAS tokens for the blobs of one storage account, with its
// account key (a service SAS) or with a user delegation key (a user
// delegation SAS). It is safe for concurrent use.
type Signer struct {
	account string
	udk     *UserDelegationKey // nil: the account key
	// udkFields are the key's fields in the string to sign,
	// "skoid\nsktid\nskt\nske\nsks\nskv", and udkQuery its query parameters
	// from ske to skv, encoded, in the order they are sent.
	udkFields string
	udkSkoid  string    // skoid=...&sks=...&skt=...&sktid=...&skv=... after ske
	udkSke    string    // the encoded ske value
	macs      sync.Pool // of *scratch
}

// NewSigner returns a Signer of service SAS tokens signed with a's key.
func NewSigner(a Account) *Signer {
	key := a.key
	s := &Signer{account: a.Name}
	s.macs.New = newScratch(key)
	return s
}

// NewUserDelegationSigner returns a Signer of user delegation SAS tokens
// for the account named account, signed with k. Every SAS it signs expires
// no later than k.
func NewUserDelegationSigner(account string, k UserDelegationKey) (*Signer, error) {
	if err := ValidateAccountName(account); err != nil {
		return nil, err
	}
	if err := k.validate(); err != nil {
		return nil, err
	}
	key := k.Value
	s := &Signer{account: account, udk: &k}
	skt, ske := k.Start.UTC().Format(TimeFormat), k.Expiry.UTC().Format(TimeFormat)
	s.udkFields = strings.Join([]string{k.ObjectID, k.TenantID, skt, ske, k.Service, k.Version}, "\n")
	s.udkSke = string(appendQueryEscape(nil, ske))
	var q []byte
	q = append(q, "&skoid="...)
	q = appendQueryEscape(q, k.ObjectID)
	q = append(q, "&sks="...)
	q = appendQueryEscape(q, k.Service)
	q = append(q, "&skt="...)
	q = appendQueryEscape(q, skt)
	q = append(q, "&sktid="...)
	q = appendQueryEscape(q, k.TenantID)
	q = append(q, "&skv="...)
	q = appendQueryEscape(q, k.Version)
	s.udkSkoid = string(q)
	s.macs.New = newScratch(key)
	return s, nil
}

// AccountName is the storage account the Signer signs for.
func (s *Signer) AccountName() string { return s.account }

// KeyExpiry is when the user delegation key expires, or the zero time for
// an account key (which does not).
func (s *Signer) KeyExpiry() time.Time {
	if s.udk == nil {
		return time.Time{}
	}
	return s.udk.Expiry
}

// Sign returns the SAS of v: the query string to append to the blob's URL
// after "?" (see [BlobURL]), without a leading "?". Its parameters are
// sorted by name and encoded as Go's url.Values.Encode does, so it equals
// the SDK's QueryParameters.Encode for the same values.
//
// Sign reads no clock: v.Start and v.Expiry are all it knows of time. With
// a user delegation key, v.Expiry must not be after the key's.
func (s *Signer) Sign(v Values) (string, error) {
	// Room for the fixed parameters, a user delegation key's and the
	// response headers (each at most three times as long encoded).
	n := 224 + len(s.udkSke) + len(s.udkSkoid) +
		3*(len(v.CacheControl)+len(v.ContentDisposition)+len(v.ContentEncoding)+len(v.ContentLanguage)+len(v.ContentType))
	b, err := s.AppendSign(make([]byte, 0, n), v)
	return unsafe.String(unsafe.SliceData(b), len(b)), err
}

// AppendSign appends the SAS of v to dst, as [Signer.Sign] returns it.
func (s *Signer) AppendSign(dst []byte, v Values) ([]byte, error) {
	if err := v.Validate(); err != nil {
		return dst, err
	}
	if s.udk != nil && v.Expiry.After(s.udk.Expiry) {
		return dst, invalid("expiry after the user delegation key's")
	}
	var st, se, perm [len(TimeFormat)]byte
	var stb []byte
	if !v.Start.IsZero() {
		stb = v.Start.UTC().AppendFormat(st[:0], TimeFormat)
	}
	seb := v.Expiry.UTC().AppendFormat(se[:0], TimeFormat)
	sp := v.Permissions.appendTo(perm[:0])
	var ipb [len("255.255.255.255-255.255.255.255")]byte
	sip := ipb[:0]
	if v.IPRange.Start.IsValid() {
		sip = v.IPRange.Start.AppendTo(sip)
		if v.IPRange.End.IsValid() {
			sip = append(sip, '-')
			sip = v.IPRange.End.AppendTo(sip)
		}
	}

	sig := s.signature(&v, sp, stb, seb, sip)

	// The parameters in the order of their names, as url.Values.Encode
	// writes them: rscc rscd rsce rscl rsct se sig sip ske skoid sks skt
	// sktid skv sp spr sr st sv.
	start := len(dst)
	param := func(name string) {
		if len(dst) > start {
			dst = append(dst, '&')
		}
		dst = append(dst, name...)
		dst = append(dst, '=')
	}
	for _, h := range [...]struct{ name, value string }{
		{"rscc", v.CacheControl}, {"rscd", v.ContentDisposition}, {"rsce", v.ContentEncoding},
		{"rscl", v.ContentLanguage}, {"rsct", v.ContentType},
	} {
		if h.value != "" {
			param(h.name)
			dst = appendQueryEscape(dst, h.value)
		}
	}
	param("se")
	dst = appendQueryEscapeBytes(dst, seb)
	param("sig")
	dst = appendQueryEscapeBytes(dst, sig[:])
	if len(sip) > 0 {
		param("sip")
		dst = append(dst, sip...) // digits, dots and a hyphen
	}
	if s.udk != nil {
		param("ske")
		dst = append(dst, s.udkSke...)
		dst = append(dst, s.udkSkoid...)
	}
	param("sp")
	dst = append(dst, sp...)
	if v.Protocol != ProtocolAny {
		param("spr")
		dst = appendQueryEscape(dst, string(v.Protocol))
	}
	param("sr")
	dst = append(dst, 'b')
	if stb != nil {
		param("st")
		dst = appendQueryEscapeBytes(dst, stb)
	}
	param("sv")
	dst = append(dst, Version...)
	return dst, nil
}

// scratch is what one signature needs, pooled per Signer.
type scratch struct {
	mac hash.Hash // HMAC-SHA256 with the Signer's key
	sts []byte    // the string to sign
	sum []byte    // the MAC
}

// signature returns the base64 HMAC-SHA256 of the string to sign.
func (s *Signer) signature(v *Values, sp, st, se, sip []byte) [44]byte {
	sc := s.macs.Get().(*scratch)
	sc.mac.Reset()
	sc.sts = s.appendStringToSign(sc.sts[:0], v, sp, st, se, sip)
	sc.mac.Write(sc.sts)
	sc.sum = sc.mac.Sum(sc.sum[:0])
	var out [44]byte
	base64.StdEncoding.Encode(out[:], sc.sum)
	s.macs.Put(sc)
	return out
}

func newScratch(key []byte) func() any {
	return func() any {
		return &scratch{mac: hmac.New(sha256.New, key), sts: make([]byte, 0, 512), sum: make([]byte, 0, sha256.Size)}
	}
}

// StringToSign returns the string that the SAS of v signs, for tests and
// for debugging a signature Azure refuses.
func (s *Signer) StringToSign(v Values) (string, error) {
	if err := v.Validate(); err != nil {
		return "", err
	}
	var st []byte
	if !v.Start.IsZero() {
		st = v.Start.UTC().AppendFormat(nil, TimeFormat)
	}
	sp := v.Permissions.appendTo(nil)
	sip := []byte(v.IPRange.String())
	return string(s.appendStringToSign(nil, &v, sp, st, v.Expiry.UTC().AppendFormat(nil, TimeFormat), sip)), nil
}

// appendStringToSign appends the string to sign: the fields below, each
// followed by "\n" but the last, "" for each that is absent.
//
// Service SAS (sv 2020-12-06 and later):
//
//	sp st se /blob/<account>/<container>/<blob> si sip spr sv sr
//	snapshot ses rscc rscd rsce rscl rsct
//
// User delegation SAS (sv 2026-04-06 and later):
//
//	sp st se /blob/<account>/<container>/<blob> skoid sktid skt ske sks
//	skv saoid suoid scid skdutid sduoid sip spr sv sr snapshot ses srh srq
//	rscc rscd rsce rscl rsct
//
// This package signs neither a stored access policy (si), a snapshot, an
// encryption scope (ses), the UD SAS's object IDs (saoid, suoid, sduoid,
// skdutid), a correlation ID (scid) nor signed request headers or query
// parameters (srh, srq): those fields are empty.
func (s *Signer) appendStringToSign(dst []byte, v *Values, sp, st, se, sip []byte) []byte {
	dst = append(dst, sp...)
	dst = append(dst, '\n')
	dst = append(dst, st...)
	dst = append(dst, '\n')
	dst = append(dst, se...)
	dst = append(dst, "\n/blob/"...)
	dst = append(dst, s.account...)
	dst = append(dst, '/')
	dst = append(dst, v.Container...)
	dst = append(dst, '/')
	dst = append(dst, v.Blob...)
	dst = append(dst, '\n')
	if s.udk != nil {
		dst = append(dst, s.udkFields...)
		dst = append(dst, "\n\n\n\n\n\n"...) // saoid suoid scid skdutid sduoid
	} else {
		dst = append(dst, '\n') // si
	}
	dst = append(dst, sip...)
	dst = append(dst, '\n')
	dst = append(dst, v.Protocol...)
	dst = append(dst, "\n"+Version+"\nb\n\n\n"...) // sv sr snapshot ses
	if s.udk != nil {
		dst = append(dst, "\n\n"...) // srh srq
	}
	for i, h := range [...]string{v.CacheControl, v.ContentDisposition, v.ContentEncoding, v.ContentLanguage, v.ContentType} {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, h...)
	}
	return dst
}

// BlobURL returns the URL of a blob: endpoint (the Blob service's base URL,
// as [NormalizeEndpoint] returns it), the container and the blob name
// percent-encoded as [sigv4.AppendEscapePath] does (every byte but A-Z a-z
// 0-9 - _ . ~ and /), and the SAS after "?" when sas is not "".
func BlobURL(endpoint, container, blob, sas string) string {
	b := make([]byte, 0, len(endpoint)+1+len(container)+1+3*len(blob)+1+len(sas))
	b = append(b, endpoint...)
	b = append(b, '/')
	b = append(b, container...)
	b = append(b, '/')
	b = sigv4.AppendEscapePath(b, blob)
	if sas != "" {
		b = append(b, '?')
		b = append(b, sas...)
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
