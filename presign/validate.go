package presign

import (
	"encoding/base64"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxKeyLength is S3's limit on an object key, in bytes of UTF-8.
const MaxKeyLength = 1024

// MaxObjectSize is the largest single PUT S3 accepts (5 GiB).
const MaxObjectSize = 5 << 30

// MaxMultipartSize is the largest object S3 assembles from parts (5 TiB).
const MaxMultipartSize = 5 << 40

// MaxMetadataSize is S3's limit on user metadata (names and values), in bytes.
const MaxMetadataSize = 2048

// ValidateKey returns an *Error with CodeInvalidArgument unless key is a
// usable object key: 1..1024 bytes of valid UTF-8, no control characters,
// and no "." or ".." path segment (which some stores and proxies resolve,
// making the key mean another object). Empty segments ("a//b") are allowed:
// S3 keeps them, though some stores refuse them.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return Errorf(CodeInvalidArgument, "key is required")
	case len(key) > MaxKeyLength:
		return Errorf(CodeInvalidArgument, "key is %d bytes long; the limit is %d", len(key), MaxKeyLength)
	case !utf8.ValidString(key):
		return Errorf(CodeInvalidArgument, "key is not valid UTF-8")
	}
	for i, r := range key {
		if IsControl(r) {
			return Errorf(CodeInvalidArgument, "key has a control character at byte %d", i)
		}
	}
	for rest := key; ; {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "." || seg == ".." {
			return Errorf(CodeInvalidArgument, "key has a %q path segment", seg)
		}
		if !more {
			return nil
		}
		rest = after
	}
}

// MaxListKeys is the most keys one ListObjectsV2 page holds (S3's
// max-keys cap), and the most a list request may ask for.
const MaxListKeys = 1000

// ValidatePrefix returns an *Error with CodeInvalidArgument unless prefix
// can be a list prefix: at most 1024 bytes of valid UTF-8 without control
// characters, and no "." or ".." segment before its last "/" (the
// segments every listed key has; what follows the last "/" is the start
// of a segment, and may be anything else). "" is the whole bucket.
func ValidatePrefix(prefix string) error {
	switch {
	case len(prefix) > MaxKeyLength:
		return Errorf(CodeInvalidArgument, "prefix is %d bytes long; the limit is %d", len(prefix), MaxKeyLength)
	case !utf8.ValidString(prefix):
		return Errorf(CodeInvalidArgument, "prefix is not valid UTF-8")
	}
	for i, r := range prefix {
		if IsControl(r) {
			return Errorf(CodeInvalidArgument, "prefix has a control character at byte %d", i)
		}
	}
	// Every segment, the last (unfinished) one too: a store or proxy that
	// cleans paths would read "users/alice/.." as "users".
	for rest := prefix; ; {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "." || seg == ".." {
			return Errorf(CodeInvalidArgument, "prefix has a %q path segment", seg)
		}
		if !more {
			return nil
		}
		rest = after
	}
}

// validateList checks the fields of a list request: no key and none of
// the fields of other ops, a valid prefix, delimiter, max_keys and
// continuation token.
func validateList(r *Request) error {
	switch {
	case r.Key != "":
		return Errorf(CodeInvalidArgument, "a list takes a prefix, not a key")
	case r.Filename != "":
		return Errorf(CodeInvalidArgument, "filename applies to get and uploads, not list")
	case r.KeyFromFilename:
		return Errorf(CodeInvalidArgument, "a list has no key to take from a file name")
	}
	if err := ValidatePrefix(r.Prefix); err != nil {
		return err
	}
	if r.Delimiter != "" && (len(r.Delimiter) > 16 || !visibleASCII(r.Delimiter)) {
		return Errorf(CodeInvalidArgument, "delimiter must be 1 to 16 printable ASCII characters without spaces, like /")
	}
	if r.MaxKeys < 0 || r.MaxKeys > MaxListKeys {
		return Errorf(CodeInvalidArgument, "max_keys must be between 1 and %d (leave it out for the store's default)", MaxListKeys)
	}
	// Tokens are the store's own: MinIO's are base64, Versity Gateway's
	// the last key listed (any key). Signed and query-encoded, they only
	// say where in the prefix the page starts.
	if len(r.ContinuationToken) > 1024 || !utf8.ValidString(r.ContinuationToken) || strings.ContainsFunc(r.ContinuationToken, IsControl) {
		return Errorf(CodeInvalidArgument, "continuation_token must be the NextContinuationToken of a listing: at most 1024 bytes of UTF-8 without control characters")
	}
	return nil
}

// visibleASCII reports whether s holds only printable ASCII characters
// other than space.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// IsControl reports whether r is a control character (C0, DEL or C1), which
// no key, file name or identity used in a key may hold.
func IsControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// validateFilename accepts a client file name: valid UTF-8, at most 255
// bytes, no control characters.
func validateFilename(name string) error {
	if len(name) > 255 {
		return Errorf(CodeInvalidArgument, "filename is longer than 255 bytes")
	}
	if !utf8.ValidString(name) {
		return Errorf(CodeInvalidArgument, "filename is not valid UTF-8")
	}
	for _, r := range name {
		if IsControl(r) {
			return Errorf(CodeInvalidArgument, "filename has a control character")
		}
	}
	return nil
}

// validateContentType accepts a media type with optional parameters, in
// printable ASCII (it becomes a signed header).
func validateContentType(ct string) error {
	if len(ct) > 255 || !headerSafe(ct) {
		return Errorf(CodeInvalidArgument, "content_type must be printable ASCII of at most 255 bytes without leading or trailing spaces")
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(ct, "/") {
		return Errorf(CodeInvalidArgument, "content_type %q is not a media type like image/png", ct)
	}
	return nil
}

// validateDigest accepts the base64 (standard, padded) encoding of exactly
// n bytes, as it is signed into a header: canonical, so without the \r or
// \n the decoder would skip.
func validateDigest(field, v string, n int) error {
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != n || base64.StdEncoding.EncodeToString(b) != v {
		return Errorf(CodeInvalidArgument, "%s must be the base64 of a %d-byte digest", field, n)
	}
	return nil
}

// reservedMetadata are prefixes of x-amz-meta-* names that stores act on
// rather than store: MinIO unpacks an upload carrying
// snowball-auto-extract as an archive, writing whatever keys it holds, of
// any size, past the signed key and limits; minio-* names steer that and
// other internals. No grant signs them, whatever the rules say.
var reservedMetadata = []string{"snowball-", "minio-"}

// ownMetadata prefixes the x-amz-meta-* names presign itself sets (the
// stamp of an upload, stampMetadata): no client may set one, so that no
// object bears a stamp presign did not sign for it.
const ownMetadata = "presign-"

// ValidateMetadataName accepts the name of an x-amz-meta-* entry, without
// the prefix: 1 to 128 lower-case letters, digits, '-' and '_', and no
// reserved prefix.
func ValidateMetadataName(name string) error {
	if name == "" || len(name) > 128 {
		return Errorf(CodeInvalidArgument, "metadata names must be 1 to 128 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return Errorf(CodeInvalidArgument, "metadata name %q may hold only a-z, 0-9, '-' and '_'", name)
		}
	}
	for _, p := range reservedMetadata {
		if strings.HasPrefix(name, p) {
			return Errorf(CodeInvalidArgument, "metadata name %q is refused: names starting with %q make some stores act on the upload (MinIO unpacks archives)", name, p)
		}
	}
	if strings.HasPrefix(name, ownMetadata) {
		return Errorf(CodeInvalidArgument, "metadata name %q is refused: names starting with %q are presign's own (the stamp of a verified upload)", name, ownMetadata)
	}
	return nil
}

// validateMetadata accepts x-amz-meta-* pairs: valid names
// (ValidateMetadataName); values printable ASCII; S3's 2 KiB total.
func validateMetadata(md map[string]string) error {
	total := 0
	for name, v := range md {
		if err := ValidateMetadataName(name); err != nil {
			return err
		}
		if !headerSafe(v) {
			return Errorf(CodeInvalidArgument, "metadata %q must be printable ASCII without leading or trailing spaces", name)
		}
		total += len(name) + len(v)
	}
	if total > MaxMetadataSize {
		return Errorf(CodeTooLarge, "metadata is %d bytes; the limit is %d", total, MaxMetadataSize)
	}
	return nil
}

// headerSafe reports whether v can be a signed header value that every
// client sends and every store canonicalizes alike: printable ASCII, no
// leading, trailing or doubled spaces.
func headerSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return !strings.HasPrefix(v, " ") && !strings.HasSuffix(v, " ") && !strings.Contains(v, "  ")
}

// validate checks r once and fills in its defaults (backend, bucket,
// expiry), returning the backend that serves it.
func (iss *Issuer) validate(r *Request) (*backend, error) {
	be := iss.defaultBackend
	if r.Backend != "" {
		if be = iss.backends[r.Backend]; be == nil {
			return nil, Errorf(CodeNotFound, "backend %q is not configured", r.Backend)
		}
	}
	r.Backend = be.Name
	switch {
	case r.Op == "":
		return nil, Errorf(CodeInvalidArgument, "op is required: one of %s", OpNames())
	case !slices.Contains(Ops, r.Op):
		return nil, Errorf(CodeInvalidArgument, "op %q is not one of %s", r.Op, OpNames())
	}
	if r.Bucket == "" {
		r.Bucket = be.Bucket
	} else if r.Bucket != be.Bucket {
		return nil, Errorf(CodePermissionDenied, "bucket %q is not served by backend %q", r.Bucket, be.Name)
	}
	if r.Op == OpList {
		if err := validateList(r); err != nil {
			return nil, err
		}
	} else if r.Prefix != "" || r.Delimiter != "" || r.MaxKeys != 0 || r.ContinuationToken != "" {
		return nil, Errorf(CodeInvalidArgument, "prefix, delimiter, max_keys and continuation_token apply to list only")
	}
	if r.Key == "" && !r.Op.IsUpload() && r.Op != OpList {
		return nil, Errorf(CodeInvalidArgument, "key is required")
	}
	if r.Key != "" {
		if err := ValidateKey(r.Key); err != nil {
			return nil, err
		}
	}
	if r.Filename != "" {
		if err := validateFilename(r.Filename); err != nil {
			return nil, err
		}
	}
	if !r.Op.IsUpload() {
		if r.ContentType != "" || r.ContentLength != nil || r.ContentMD5 != "" || r.ChecksumSHA256 != "" || len(r.Metadata) > 0 {
			return nil, Errorf(CodeInvalidArgument, "content_type, content_length, content_md5, checksum_sha256 and metadata apply to uploads (put, post, multipart) only")
		}
	}
	if r.ContentType != "" {
		if err := validateContentType(r.ContentType); err != nil {
			return nil, err
		}
	}
	if r.ContentLength != nil {
		switch n := *r.ContentLength; {
		case n < 0:
			return nil, Errorf(CodeInvalidArgument, "content_length must not be negative")
		case r.Op == OpMultipart && n > MaxMultipartSize:
			return nil, Errorf(CodeTooLarge, "size %d is above the 5 TiB limit of an object", n)
		case r.Op != OpMultipart && n > MaxObjectSize:
			return nil, Errorf(CodeTooLarge, "content_length %d is above the 5 GiB limit of a single upload; use a multipart upload (POST /v1/uploads)", n)
		}
	}
	if r.ContentMD5 != "" {
		if err := validateDigest("content_md5", r.ContentMD5, 16); err != nil {
			return nil, err
		}
	}
	if r.ChecksumSHA256 != "" {
		if err := validateDigest("checksum_sha256", r.ChecksumSHA256, 32); err != nil {
			return nil, err
		}
	}
	if r.ChecksumSHA256 != "" && r.Op == OpPut && !be.caps.ChecksumHeaders {
		return nil, be.unsupported("x-amz-checksum-sha256", "send content_md5 instead")
	}
	if err := validateMetadata(r.Metadata); err != nil {
		return nil, err
	}
	switch {
	case r.Op == OpMultipart && !be.caps.Multipart:
		return nil, be.unsupported("multipart uploads", "upload with one put")
	case r.Op == OpList && !be.caps.List:
		return nil, be.unsupported("listings", "keep a list of the keys in the application")
	case r.Op == OpHead && !be.caps.Head:
		return nil, be.unsupported("a head URL that only reads headers (its URL would download the object)", "ask for get")
	}
	if r.Op == OpPost {
		if !be.caps.Post {
			return nil, be.unsupported(postUploads, "use put, or a multipart upload (POST /v1/uploads)")
		}
		if r.ContentMD5 != "" || r.ChecksumSHA256 != "" {
			return nil, Errorf(CodeUnsupported, "content_md5 and checksum_sha256 are supported for put only")
		}
	}
	switch {
	case r.ExpiresIn < 0:
		return nil, Errorf(CodeInvalidArgument, "expires_in must be positive")
	case r.ExpiresIn == 0:
		r.ExpiresIn = iss.defaultExpires
	case r.ExpiresIn > be.MaxExpires:
		return nil, Errorf(CodeInvalidArgument, "expires_in %d is above what backend %q allows (%d seconds)",
			int64(r.ExpiresIn/time.Second), be.Name, int64(be.MaxExpires/time.Second))
	}
	if r.ExpiresIn%time.Second != 0 {
		return nil, Errorf(CodeInvalidArgument, "expires_in must be whole seconds")
	}
	return be, nil
}

// OpNames names every Op for a message: "get, head, put, post, delete,
// list, multipart".
func OpNames() string {
	names := make([]string, len(Ops))
	for i, op := range Ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

// IsClaimName reports whether s can name a JWT claim in rules, key
// templates ({claim.NAME}) and issuer settings: printable ASCII without
// spaces, braces or '*', at most 128 bytes (namespaced claims such as
// https://example.com/roles included).
func IsClaimName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '{' || c == '}' || c == '*' {
			return false
		}
	}
	return true
}
