package presign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
)

// Upload tokens carry a multipart upload from call to call, so that
// presign keeps no state: everything a later call must know and check is
// in the token, and the token cannot be changed or made up.
//
// A token is "u1." + the signing secret's ID + "." + base64url(payload ‖
// MAC), the MAC an HMAC-SHA256 under that secret of the domain
// "presign upload token v1", the ID and the payload. It is signed, not
// encrypted: what it binds — the key, the store's upload ID, sizes, the
// rule's limits — is what its holder asked for or is told anyway, so there
// is nothing to hide from them, and a MAC needs no nonce and costs less.
// The caller is bound by a digest of its identity (kind, issuer, name), so
// a token presented by another caller is refused.

// TokenSecret is one secret that signs and verifies tokens: the first of
// a list signs, every one verifies, so secrets rotate without breaking the
// uploads in flight.
type TokenSecret struct {
	ID     string // a-z, 0-9 and '-', at most 32 characters
	Secret []byte // at least 32 bytes
}

// MinTokenSecretSize is the shortest secret accepted (the MAC's 256 bits).
const MinTokenSecretSize = 32

const (
	tokenPrefix  = "u1."
	tokenDomain  = "presign upload token v1\x00"
	tokenVersion = 1
	tokenMACSize = sha256.Size
	// maxTokenSize bounds what is decoded: a token holds a key (at most
	// 1 KiB) and a few short strings.
	maxTokenSize = 4096
)

// tokenKind is what a token allows; it is the payload's second byte, so
// that a token of one kind never opens as another.
type tokenKind byte

const (
	tokenMultipart tokenKind = 1 // the calls of one multipart upload
	tokenPath      tokenKind = 2 // a caller's identity, in a URL path (Companion)
	tokenSingle    tokenKind = 3 // the completion of one put or post upload
)

// tokenPayload is what a token of one kind binds.
type tokenPayload interface {
	// kind is the payload's kind; accepts reports whether a payload of
	// kind k decodes into it (and makes it of that kind).
	kind() tokenKind
	accepts(k tokenKind) bool
	// encode appends the payload (version and kind first).
	encode(dst []byte) []byte
	// decodeFields reads a payload that encode wrote, past version and kind.
	decodeFields(b []byte) error
	expiresAt() time.Time
}

// uploadToken is what an upload's token binds: a multipart upload's
// (tokenMultipart), or a put or post upload's, for its completion
// (tokenSingle: no UploadID, no PartSize).
type uploadToken struct {
	Kind     tokenKind
	Caller   [16]byte // callerDigest of who created the upload
	Backend  string
	Bucket   string
	Key      string
	UploadID string // the store's
	Size     int64  // declared total, bytes; SizeUnknown: learned at complete
	PartSize int64  // every part's size but the last; 0 when the size is unknown
	MaxSize  int64  // the rule's limit; 0: none beyond the store's
	// PartExpires is a part URL's lifetime: the default clamped to every
	// cap (the rule's max_expires included).
	PartExpires time.Duration
	NoOverwrite bool // complete with If-None-Match: *
	ContentType string
	// ChecksumCRC64NVME is the whole object's checksum (base64) that the
	// store is to verify at complete; "" for none.
	ChecksumCRC64NVME string
	// ContentMD5 and ChecksumSHA256 (base64) are a single put's signed
	// integrity headers, which complete compares with the object's.
	ContentMD5, ChecksumSHA256 string
	Rule                       string // the rule that allowed it, for the audit log
	// Stamp is the random value presign stored in the object's metadata
	// (x-amz-meta-presign-upload), so that a repeated complete knows the
	// object at the key for this upload's.
	Stamp string
	// IssuedAt is when the token (and a single upload's URL) was signed.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// maxPartExpires bounds a token's PartExpires: S3's 7 days.
const maxPartExpires = 7 * 24 * time.Hour

// callerDigest identifies a principal in a token: its kind, issuer and
// name, each length-prefixed so that no two identities collide.
func callerDigest(p Principal) [16]byte {
	h := sha256.New()
	for _, s := range []string{p.Kind, p.Issuer, p.Name} {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	var d [16]byte
	copy(d[:], h.Sum(nil))
	return d
}

func (t *uploadToken) kind() tokenKind { return t.Kind }
func (t *uploadToken) accepts(k tokenKind) bool {
	t.Kind = k
	return k == tokenMultipart || k == tokenSingle
}
func (t *uploadToken) expiresAt() time.Time { return t.ExpiresAt }

func (t *uploadToken) encode(dst []byte) []byte {
	dst = append(dst, tokenVersion, byte(t.Kind))
	dst = append(dst, t.Caller[:]...)
	for _, s := range []string{t.Backend, t.Bucket, t.Key, t.UploadID, t.ContentType, t.ChecksumCRC64NVME, t.ContentMD5, t.ChecksumSHA256, t.Rule, t.Stamp} {
		dst = appendString(dst, s)
	}
	for _, n := range []int64{t.Size, t.PartSize, t.MaxSize, int64(t.PartExpires / time.Second), t.IssuedAt.Unix(), t.ExpiresAt.Unix()} {
		dst = binary.AppendVarint(dst, n)
	}
	flags := byte(0)
	if t.NoOverwrite {
		flags |= 1
	}
	return append(dst, flags)
}

var errTokenPayload = errors.New("malformed token payload")

// decodePayload reads into t a payload of t's kind that encode wrote;
// anything else is an error (a payload has one encoding: non-minimal
// varints and unsorted maps are refused too).
func decodePayload(t tokenPayload, b []byte) error {
	if len(b) < 2 || b[0] != tokenVersion || !t.accepts(tokenKind(b[1])) {
		return errTokenPayload
	}
	if err := t.decodeFields(b[2:]); err != nil {
		return err
	}
	if !bytes.Equal(t.encode(make([]byte, 0, len(b))), b) {
		return errTokenPayload
	}
	return nil
}

// readString reads a length-prefixed string from *b.
func readString(b *[]byte) (string, bool) {
	n, w := binary.Uvarint(*b)
	if w <= 0 || n > uint64(len(*b)-w) {
		return "", false
	}
	s := string((*b)[w : w+int(n)])
	*b = (*b)[w+int(n):]
	return s, true
}

// readVarint reads a signed varint from *b.
func readVarint(b *[]byte) (int64, bool) {
	n, w := binary.Varint(*b)
	if w <= 0 {
		return 0, false
	}
	*b = (*b)[w:]
	return n, true
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func (t *uploadToken) decodeFields(b []byte) error {
	if len(b) < 16 {
		return errTokenPayload
	}
	copy(t.Caller[:], b[:16])
	b = b[16:]
	for _, s := range []*string{&t.Backend, &t.Bucket, &t.Key, &t.UploadID, &t.ContentType, &t.ChecksumCRC64NVME, &t.ContentMD5, &t.ChecksumSHA256, &t.Rule, &t.Stamp} {
		var ok bool
		if *s, ok = readString(&b); !ok {
			return errTokenPayload
		}
	}
	var nums [6]int64
	for i := range nums {
		var ok bool
		if nums[i], ok = readVarint(&b); !ok {
			return errTokenPayload
		}
	}
	if nums[3] < 0 || nums[3] > int64(maxPartExpires/time.Second) {
		return errTokenPayload
	}
	t.Size, t.PartSize, t.MaxSize = nums[0], nums[1], nums[2]
	t.PartExpires = time.Duration(nums[3]) * time.Second
	t.IssuedAt, t.ExpiresAt = time.Unix(nums[4], 0).UTC(), time.Unix(nums[5], 0).UTC()
	if len(b) != 1 || b[0]&^1 != 0 {
		return errTokenPayload
	}
	t.NoOverwrite = b[0]&1 != 0
	return nil
}

// tokenMAC is the MAC of payload under secret s.
func tokenMAC(s TokenSecret, payload []byte) []byte {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte(tokenDomain))
	m.Write([]byte(s.ID))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// sealToken returns the token of t, signed with the first secret.
func sealToken(secrets []TokenSecret, t tokenPayload) string {
	s := secrets[0]
	payload := t.encode(make([]byte, 0, 256))
	payload = append(payload, tokenMAC(s, payload)...)
	return tokenPrefix + s.ID + "." + base64.RawURLEncoding.EncodeToString(payload)
}

// openToken verifies a token with the secret its ID names and reads what
// it binds into t. A token that does not parse, names no configured
// secret, fails its MAC, is of another kind than t or has expired at now
// is refused with CodeUnauthenticated; the message never says which,
// beyond "expired".
func openToken(secrets []TokenSecret, token string, now time.Time, t tokenPayload) error {
	what := "upload token"
	if t.kind() == tokenPath {
		what = "token"
	}
	invalid := Errorf(CodeUnauthenticated, "the %s is not valid", what)
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(token) > maxTokenSize {
		return invalid
	}
	id, encoded, ok := strings.Cut(rest, ".")
	if !ok {
		return invalid
	}
	// Only the canonical encoding opens: the decoder skips \r and \n, so
	// without the comparison one token would have many spellings.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil || len(raw) <= tokenMACSize || base64.RawURLEncoding.EncodeToString(raw) != encoded {
		return invalid
	}
	payload, mac := raw[:len(raw)-tokenMACSize], raw[len(raw)-tokenMACSize:]
	var secret *TokenSecret
	for i := range secrets {
		if secrets[i].ID == id {
			secret = &secrets[i]
		}
	}
	if secret == nil || !hmac.Equal(mac, tokenMAC(*secret, payload)) {
		return invalid
	}
	if err := decodePayload(t, payload); err != nil {
		return invalid
	}
	if !now.Before(t.expiresAt()) {
		if t.kind() == tokenPath {
			return Errorf(CodeUnauthenticated, "the token has expired; ask POST /v1/tokens for a new one")
		}
		return Errorf(CodeUnauthenticated, "the upload token has expired; start the upload again")
	}
	return nil
}

// validateTokenSecrets reports the problems of a secret list, fields
// "[i].id" and "[i].secret"; never quoting a secret.
func validateTokenSecrets(secrets []TokenSecret) Problems {
	var ps Problems
	seen := map[string]int{}
	for i, s := range secrets {
		at := Index("", i)
		switch j, dup := seen[s.ID]; {
		case s.ID == "":
			ps.Addf(Join(at, "id"), "required: the ID tokens name their secret by")
		case len(s.ID) > 32 || ValidateName(s.ID) != nil:
			ps.Addf(Join(at, "id"), "%q may hold only a-z, 0-9 and '-' (1 to 32 characters)", s.ID)
		case dup:
			ps.Addf(Join(at, "id"), "%q is already the ID of entry [%d] of this list", s.ID, j)
		}
		seen[s.ID] = i
		if len(s.Secret) < MinTokenSecretSize {
			ps.Addf(Join(at, "secret"), "the secret is shorter than %d bytes", MinTokenSecretSize)
		}
	}
	return ps
}

// pathToken is what a path token binds: a caller's whole identity (rules
// and key templates read its groups and claims), for clients that cannot
// send an Authorization header (Uppy 6's Companion mode puts the token in
// the URL path).
type pathToken struct {
	Principal Principal
	ExpiresAt time.Time
}

func (t *pathToken) kind() tokenKind          { return tokenPath }
func (t *pathToken) accepts(k tokenKind) bool { return k == tokenPath }
func (t *pathToken) expiresAt() time.Time     { return t.ExpiresAt }

func (t *pathToken) encode(dst []byte) []byte {
	p := &t.Principal
	dst = append(dst, tokenVersion, byte(tokenPath))
	for _, s := range []string{p.Kind, p.Issuer, p.Name} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(p.Groups)))
	for _, g := range p.Groups {
		dst = appendString(dst, g)
	}
	dst = binary.AppendUvarint(dst, uint64(len(p.Claims)))
	for _, name := range slices.Sorted(maps.Keys(p.Claims)) {
		dst = appendString(appendString(dst, name), p.Claims[name])
	}
	return binary.AppendVarint(dst, t.ExpiresAt.Unix())
}

func (t *pathToken) decodeFields(b []byte) error {
	p := &t.Principal
	for _, s := range []*string{&p.Kind, &p.Issuer, &p.Name} {
		var ok bool
		if *s, ok = readString(&b); !ok {
			return errTokenPayload
		}
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) { // every entry takes a byte at least
		return errTokenPayload
	}
	b = b[w:]
	p.Groups = nil
	for range n {
		g, ok := readString(&b)
		if !ok {
			return errTokenPayload
		}
		p.Groups = append(p.Groups, g)
	}
	if n, w = binary.Uvarint(b); w <= 0 || n > uint64(len(b)) {
		return errTokenPayload
	}
	b = b[w:]
	p.Claims = nil
	for range n {
		name, ok1 := readString(&b)
		v, ok2 := readString(&b)
		if !ok1 || !ok2 {
			return errTokenPayload
		}
		if p.Claims == nil {
			p.Claims = map[string]string{}
		}
		p.Claims[name] = v
	}
	exp, ok := readVarint(&b)
	if !ok || len(b) != 0 {
		return errTokenPayload
	}
	t.ExpiresAt = time.Unix(exp, 0).UTC()
	return nil
}
