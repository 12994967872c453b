package presign

import (
	"time"
)

// Op is what a grant lets the client do.
type Op string

const (
	OpGet    Op = "get"    // download (GET)
	OpHead   Op = "head"   // read metadata (HEAD)
	OpPut    Op = "put"    // upload with a presigned PUT
	OpPost   Op = "post"   // browser form upload (POST policy)
	OpDelete Op = "delete" // delete (DELETE)
	// OpList lists the keys under a prefix (a ListObjectsV2 GET of the
	// bucket): Request.Prefix and the listing's other fields are signed,
	// so the store refuses any other prefix.
	OpList Op = "list"
	// OpMultipart is a multipart upload (Issuer.CreateUpload and the calls
	// after it), not a single grant: Issue refuses it.
	OpMultipart Op = "multipart"
)

// Ops lists every Op.
var Ops = []Op{OpGet, OpHead, OpPut, OpPost, OpDelete, OpList, OpMultipart}

// IsUpload reports whether op writes an object.
func (op Op) IsUpload() bool { return op == OpPut || op == OpPost || op == OpMultipart }

// Request asks for one grant. The zero value of each optional field means
// "not given".
type Request struct {
	Op      Op
	Backend string // "" is the default backend
	Bucket  string // "" is the backend's bucket
	// Key may be "" for an upload when the Authorizer chooses the key; it
	// is "" for a list.
	Key string
	// Filename: for downloads, the name offered in
	// Content-Disposition: attachment (RFC 6266, non-ASCII safe); for
	// uploads, the client's file name, for generated keys.
	Filename string
	// KeyFromFilename, for uploads whose client names only a file (Uppy's
	// Companion protocol): when the Authorizer chooses no key, the key is
	// Filename, authorized as a key the client named.
	KeyFromFilename bool
	// Uploads only: signed, so the store refuses any other value.
	ContentType    string
	ContentLength  *int64
	ContentMD5     string            // base64 of the 16-byte MD5 of the body
	ChecksumSHA256 string            // base64 of the 32-byte SHA-256 of the body
	Metadata       map[string]string // x-amz-meta-<name>: value
	// List only, each signed into the ListObjectsV2 URL, so the store
	// refuses any other value. Prefix: the keys listed start with it ("" is
	// the whole bucket, when the Authorizer allows it); at most 1024 bytes
	// of UTF-8 without control characters, and no "." or ".." segment
	// before its last "/" (ValidatePrefix). Delimiter: "" or 1 to 16
	// printable ASCII characters without spaces (the store then groups the
	// keys that hold it after the prefix into CommonPrefixes). MaxKeys: the
	// most keys in one page, 1 to 1000; 0 is the store's default (1000).
	// ContinuationToken: the NextContinuationToken of the page before (at
	// most 1024 bytes of UTF-8 without control characters: Versity
	// Gateway's tokens are keys).
	Prefix            string
	Delimiter         string
	MaxKeys           int
	ContinuationToken string
	// ExpiresIn is the requested lifetime; 0 means the default. It is clamped
	// to the caps, never extended.
	ExpiresIn time.Duration
	// Verify, for put and post where uploads are configured: the grant also
	// carries an upload token (Grant.Upload) that CompleteUpload accepts,
	// and signs a stamp the object will carry (x-amz-meta-presign-upload),
	// by which complete knows the object this grant uploaded.
	Verify bool
}

// Grant is a presigned request: what the client sends, and until when.
type Grant struct {
	Method string
	URL    string
	// Headers the client must send with exactly these values (they are
	// signed). Browsers set Content-Length themselves from the body.
	Headers map[string]string
	// Fields are the form fields of a POST upload, sent before the file part.
	Fields    map[string]string
	Bucket    string
	Key       string
	ExpiresAt time.Time
	// Backend is the name of the backend that signed, and Rule the rule
	// that allowed the grant, for the audit log.
	Backend, Rule string
	// Upload is the upload token of a put or post asked with Verify, for
	// CompleteUpload; "" otherwise.
	Upload string
}

// Principal is the authenticated caller, as the transport established it.
type Principal struct {
	// Kind is how the caller was identified: "api_key", "jwt", "anonymous",
	// or "open" when the service runs without authentication.
	Kind string
	// Name is the API key's name or the JWT subject; "" for anonymous callers.
	Name string
	// Issuer is the JWT issuer ("iss"); "" for other kinds.
	Issuer string
	// Groups are the JWT caller's groups.
	Groups []string
	// Claims are the JWT's claims whose values are strings (or numbers and
	// booleans, formatted), for rules and key templates.
	Claims map[string]string
}

// Principal kinds.
const (
	KindAPIKey    = "api_key"
	KindJWT       = "jwt"
	KindAnonymous = "anonymous"
	KindOpen      = "open"
	// KindIAM is an AWS IAM caller the platform verified (Lambda Function URL
	// with AWS_IAM auth); Name is the caller's ARN.
	KindIAM = "iam"
)

// Decision is an Authorizer's answer for an allowed request: the limits that
// the grant must carry. Zero fields add no limit beyond the issuer's own.
type Decision struct {
	Rule string `json:"rule"` // which rule allowed it, for the audit log
	// Key, when set, is the key the server chose for an upload (the
	// request then names none); it is validated like a client's key.
	Key string `json:"key,omitempty"`
	// MaxSize caps an upload's size in bytes. With MaxSize set, a PUT must
	// declare content_length so that the store can enforce it.
	MaxSize int64 `json:"max_size,omitempty"`
	// MaxExpires caps the grant's lifetime.
	MaxExpires time.Duration `json:"max_expires,omitempty"`
	// NoOverwrite signs If-None-Match: * on PUT, so the store refuses to
	// replace an existing object.
	NoOverwrite bool `json:"no_overwrite,omitempty"`
	// TypeLimited: the rule allows only some content types, so an
	// upload's content type must be one the store enforces.
	TypeLimited bool `json:"type_limited,omitempty"`
}
