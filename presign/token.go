package presign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
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

// tokenKind is what a token allows.
type tokenKind byte

const tokenMultipart tokenKind = 1 // the calls of one multipart upload

// uploadToken is what a token binds.
type uploadToken struct {
	Kind        tokenKind
	Caller      [16]byte // callerDigest of who created the upload
	Backend     string
	Bucket      string
	Key         string
	UploadID    string // the store's
	Size        int64  // declared total, bytes
	PartSize    int64  // every part's size but the last
	MaxSize     int64  // the rule's limit; 0: none beyond the store's
	NoOverwrite bool   // complete with If-None-Match: *
	ContentType string
	// ChecksumCRC64NVME is the whole object's checksum (base64) that the
	// store is to verify at complete; "" for none.
	ChecksumCRC64NVME string
	Rule              string // the rule that allowed it, for the audit log
	ExpiresAt         time.Time
}

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

// encode appends the token's payload.
func (t *uploadToken) encode(dst []byte) []byte {
	dst = append(dst, tokenVersion, byte(t.Kind))
	dst = append(dst, t.Caller[:]...)
	for _, s := range []string{t.Backend, t.Bucket, t.Key, t.UploadID, t.ContentType, t.ChecksumCRC64NVME, t.Rule} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	for _, n := range []int64{t.Size, t.PartSize, t.MaxSize, t.ExpiresAt.Unix()} {
		dst = binary.AppendVarint(dst, n)
	}
	flags := byte(0)
	if t.NoOverwrite {
		flags |= 1
	}
	return append(dst, flags)
}

var errTokenPayload = errors.New("malformed token payload")

// decode reads a payload that encode wrote; anything else is an error
// (a payload has one encoding: non-minimal varints are refused too).
func (t *uploadToken) decode(b []byte) error {
	if err := t.decodeFields(b); err != nil {
		return err
	}
	if !bytes.Equal(t.encode(make([]byte, 0, len(b))), b) {
		return errTokenPayload
	}
	return nil
}

func (t *uploadToken) decodeFields(b []byte) error {
	if len(b) < 2+16 || b[0] != tokenVersion {
		return errTokenPayload
	}
	t.Kind = tokenKind(b[1])
	copy(t.Caller[:], b[2:18])
	b = b[18:]
	for _, s := range []*string{&t.Backend, &t.Bucket, &t.Key, &t.UploadID, &t.ContentType, &t.ChecksumCRC64NVME, &t.Rule} {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return errTokenPayload
		}
		*s = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	var nums [4]int64
	for i := range nums {
		n, w := binary.Varint(b)
		if w <= 0 {
			return errTokenPayload
		}
		nums[i], b = n, b[w:]
	}
	t.Size, t.PartSize, t.MaxSize, t.ExpiresAt = nums[0], nums[1], nums[2], time.Unix(nums[3], 0).UTC()
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
func sealToken(secrets []TokenSecret, t *uploadToken) string {
	s := secrets[0]
	payload := t.encode(make([]byte, 0, 256))
	payload = append(payload, tokenMAC(s, payload)...)
	return tokenPrefix + s.ID + "." + base64.RawURLEncoding.EncodeToString(payload)
}

// openToken verifies a token with the secret its ID names and returns what
// it binds. A token that does not parse, names no configured secret, fails
// its MAC or has expired at now is refused with CodeUnauthenticated; the
// message never says which, beyond "expired".
func openToken(secrets []TokenSecret, token string, now time.Time) (uploadToken, error) {
	var t uploadToken
	invalid := Errorf(CodeUnauthenticated, "the upload token is not valid")
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(token) > maxTokenSize {
		return t, invalid
	}
	id, encoded, ok := strings.Cut(rest, ".")
	if !ok {
		return t, invalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil || len(raw) <= tokenMACSize {
		return t, invalid
	}
	payload, mac := raw[:len(raw)-tokenMACSize], raw[len(raw)-tokenMACSize:]
	var secret *TokenSecret
	for i := range secrets {
		if secrets[i].ID == id {
			secret = &secrets[i]
		}
	}
	if secret == nil || !hmac.Equal(mac, tokenMAC(*secret, payload)) {
		return t, invalid
	}
	if err := t.decode(payload); err != nil {
		return t, invalid
	}
	if !now.Before(t.ExpiresAt) {
		return t, Errorf(CodeUnauthenticated, "the upload token has expired; start the upload again")
	}
	return t, nil
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
