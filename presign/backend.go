package presign

import (
	"cmp"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// PathStyle chooses how the bucket is addressed.
type PathStyle string

const (
	// PathStyleAuto uses virtual-hosted addressing on AWS (except for bucket
	// names that cannot be a DNS label under TLS) and path-style elsewhere.
	PathStyleAuto    PathStyle = "auto"
	PathStyleAlways  PathStyle = "true"
	PathStyleVirtual PathStyle = "false"
)

// Defaults of a Backend's optional fields.
const (
	DefaultRegion = "us-east-1"
)

// Backend is one S3-compatible store and its default bucket.
type Backend struct {
	// Name is how requests and rules refer to the backend: a-z, 0-9 and
	// '-' (see [ValidateName]). It may be "" when it is the only backend.
	Name string
	// Endpoint is the store's base URL as clients reach it, e.g.
	// "https://gateway.storjshare.io". "" means the AWS regional endpoint.
	// The host is signed, so it must be the public name, not an internal one.
	Endpoint  string
	Region    string // signing region; "" means us-east-1
	Bucket    string
	PathStyle PathStyle // "" means auto
	// Credentials sign URLs, unless CredentialSource is set (then they
	// must be empty).
	Credentials sigv4.Credentials
	// CredentialSource supplies credentials that expire and are renewed
	// (STS, the container or instance role); nil means Credentials.
	CredentialSource CredentialSource
	// AzureKeys supplies the user delegation keys that sign a kind azure
	// backend's URLs in place of an account key (Credentials then hold the
	// account name alone); nil means the account key.
	AzureKeys AzureKeySource
	// MaxExpires is the store's own cap on a URL's lifetime; 0 means 7 days,
	// S3's cap. Longer requests are refused as invalid, not clamped.
	MaxExpires time.Duration
	// Provider names the store's product, which decides what presign may
	// sign for it (see [Provider.Capabilities]); "" means the one
	// [DetectProvider] finds from Endpoint.
	Provider Provider
	// NoPost turns browser POST uploads off for a store that has them: a
	// post request gets CodeUnsupported (as on a provider without them).
	NoPost bool
	// Kind is the store's API; "" means KindS3. The fields above are an S3
	// backend's; other kinds say which they read (see [Kind]).
	Kind Kind
	// ServiceAccountKey is a Google Cloud service account's JSON key, which
	// signs URLs of kind gcs (without it, Credentials hold an HMAC key:
	// its access ID and secret).
	ServiceAccountKey string
}

// WithDefaults returns b with every zero optional field set to the value
// that applies: kind s3, and what its kind defaults (for s3: the provider
// its endpoint names; the region its endpoint names (R2 and GCS: auto),
// else us-east-1; path style auto; the provider's max expiry (7 days); and
// the AWS regional endpoint).
func (b Backend) WithDefaults() Backend {
	if b.Kind == "" {
		b.Kind = KindS3
	}
	if k, ok := kinds[b.Kind]; ok {
		b = k.withDefaults(b)
	}
	if b.MaxExpires == 0 {
		b.MaxExpires = cmp.Or(b.capabilities().MaxExpires, sigv4.MaxExpires)
	}
	return b
}

// Validate reports every problem of b (after [Backend.WithDefaults]), each
// scoped to its field in the configuration file's names: name, kind, and
// those of its kind — for s3: provider, endpoint, region, bucket,
// path_style, access_key_id, secret_access_key, max_expires.
func (b Backend) Validate() Problems {
	var ps Problems
	b = b.WithDefaults()
	if b.Name != "" {
		if err := ValidateName(b.Name); err != nil {
			ps.Addf("name", "%s", ErrorMessage(err))
		}
	}
	k, ok := kinds[b.Kind]
	if !ok {
		ps.Addf("kind", "%q is not a kind of backend: use one of %s", string(b.Kind), kindNames())
		return ps
	}
	k.validate(b, &ps)
	caps := b.capabilities()
	if err := ValidateExpiry(b.MaxExpires); err != nil {
		ps.Addf("max_expires", "%s", ErrorMessage(err))
	} else if caps.MaxExpires > 0 && b.MaxExpires > caps.MaxExpires {
		ps.Addf("max_expires", "%s is above the %s that %s allows", FormatDuration(b.MaxExpires), FormatDuration(caps.MaxExpires), b.StoreName())
	}
	return ps
}

// s3WithDefaults fills in an S3 backend's provider, region, path style
// and endpoint.
func s3WithDefaults(b Backend) Backend {
	if b.Provider == "" {
		b.Provider = DetectProvider(b.Endpoint)
	}
	if b.Region == "" {
		b.Region = regionOf(b.Provider, b.Endpoint)
	}
	if b.Region == "" {
		b.Region = DefaultRegion
	}
	if b.PathStyle == "" {
		b.PathStyle = PathStyleAuto
	}
	if b.Endpoint == "" {
		b.Endpoint = "https://s3." + b.Region + ".amazonaws.com"
	}
	return b
}

// s3Validate checks what an S3 backend needs.
func s3Validate(b Backend, ps *Problems) {
	if b.Provider.Capabilities().MaxExpires == 0 {
		ps.Addf("provider", "%q is not a provider: use one of %s", string(b.Provider), ProviderNames())
	}
	if _, err := parseEndpoint(b.Endpoint); err != nil {
		ps.Addf("endpoint", "%s is not an http(s) URL like https://gateway.storjshare.io (no query, fragment or user info)", QuoteURL(b.Endpoint))
	}
	if !validRegion(b.Region) {
		ps.Addf("region", "%q is not a region like us-east-1", b.Region)
	}
	if b.Bucket == "" {
		ps.Addf("bucket", "required: the bucket to presign for")
	} else if err := ValidateBucket(b.Bucket); err != nil {
		ps.Addf("bucket", "%s", ErrorMessage(err))
	}
	switch b.PathStyle {
	case PathStyleAuto, PathStyleAlways, PathStyleVirtual:
	default:
		ps.Addf("path_style", "%q must be true, false or auto", string(b.PathStyle))
	}
	switch {
	case b.CredentialSource != nil:
		if b.Credentials != (sigv4.Credentials{}) {
			ps.Addf("access_key_id", "credentials come from their source here: give no static keys")
		}
	default:
		if b.Credentials.AccessKeyID == "" {
			ps.Addf("access_key_id", "required: the access key that signs URLs")
		}
		if b.Credentials.SecretAccessKey == "" {
			ps.Addf("secret_access_key", "required: the secret key that signs URLs")
		}
	}
}

// checkExpiry adds a problem with field unless d is a usable lifetime.
func checkExpiry(ps *Problems, field string, d time.Duration) {
	if err := ValidateExpiry(d); err != nil {
		ps.Addf(field, "%s", ErrorMessage(err))
	}
}

// ValidateExpiry accepts a URL lifetime or a cap on one: whole seconds
// from 1s to SigV4's 7 days.
func ValidateExpiry(d time.Duration) error {
	switch {
	case d%time.Second != 0:
		return Errorf(CodeInvalidArgument, "%s must be whole seconds", FormatDuration(d))
	case d < time.Second || d > sigv4.MaxExpires:
		return Errorf(CodeInvalidArgument, "%s must be between 1s and %s", FormatDuration(d), FormatDuration(sigv4.MaxExpires))
	}
	return nil
}

// ParsePathStyle reads a path style as written in configuration: true,
// false or auto, in any case.
func ParsePathStyle(v string) (PathStyle, bool) {
	switch ps := strings.ToLower(v); ps {
	case "auto":
		return PathStyleAuto, true
	case "true", "false":
		return PathStyle(ps), true
	}
	return PathStyle(v), false
}

// endpoint is where a backend's requests go: its URL, parsed, and the
// addressing style.
type endpoint struct {
	scheme   string
	host     string // lower-case, no default port
	basePath string // endpoint path without trailing "/"
	virtual  bool
	// The backend's bucket, its host and the path its keys follow, made
	// once: bucketTarget's answer for it costs no concatenation.
	bucket, bucketHost, keyPrefix string
}

// parseEndpoint checks an endpoint URL: http or https, a host, no query,
// fragment or user info.
func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, Errorf(CodeInvalidArgument, "not an http(s) URL")
	}
	return u, nil
}

// newEndpoint resolves the addressing of a valid backend (with defaults).
func newEndpoint(b Backend) endpoint {
	u, _ := parseEndpoint(b.Endpoint)
	host := strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil && (u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443") {
		host = h
	}
	e := endpoint{scheme: u.Scheme, host: host, basePath: strings.TrimSuffix(u.Path, "/")}
	switch b.PathStyle {
	case PathStyleVirtual:
		e.virtual = true
	case PathStyleAuto:
		e.virtual = isAWSHost(host) && !(u.Scheme == "https" && strings.Contains(b.Bucket, "."))
	}
	e.bucketHost, e.keyPrefix = e.bucketTarget(b.Bucket)
	e.bucket = b.Bucket
	return e
}

func isAWSHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	return strings.HasSuffix(h, ".amazonaws.com")
}

// target returns where a request for key in bucket goes. key "" addresses
// the bucket itself (POST uploads).
func (e *endpoint) target(bucket, key string) (host, path string) {
	host, prefix := e.bucketTarget(bucket)
	return host, prefix + key
}

// bucketTarget returns the host of bucket's requests and the path its keys
// follow (ending in "/"): target(bucket, key) is host, prefix+key. For the
// backend's bucket, both are made already.
func (e *endpoint) bucketTarget(bucket string) (host, prefix string) {
	switch {
	case bucket == e.bucket && e.bucketHost != "":
		return e.bucketHost, e.keyPrefix
	case e.virtual:
		return bucket + "." + e.host, e.basePath + "/"
	}
	return e.host, e.basePath + "/" + bucket + "/"
}

// objectURL is the unsigned URL of key in bucket, as S3 names an object's
// location.
func (e *endpoint) objectURL(bucket, key string) string {
	host, path := e.target(bucket, key)
	return (&url.URL{Scheme: e.scheme, Host: host, Path: path}).String()
}

// ValidateBucket applies S3's bucket naming rules: 3..63 characters of a-z,
// 0-9, '.' and '-', starting and ending with a letter or digit.
func ValidateBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return Errorf(CodeInvalidArgument, "bucket %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return Errorf(CodeInvalidArgument, "bucket %q may hold only a-z, 0-9, '.' and '-'", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return Errorf(CodeInvalidArgument, "bucket %q must start and end with a letter or digit", b)
	}
	return nil
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// ValidateName accepts the name of a backend, a rule or an API key: 1 to
// 63 characters of a-z, 0-9 and '-'.
func ValidateName(name string) error {
	ok := len(name) >= 1 && len(name) <= 63
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
	}
	if !ok {
		return Errorf(CodeInvalidArgument, "%q may hold only a-z, 0-9 and '-' (1 to 63 characters)", name)
	}
	return nil
}

// validRegion accepts what can be a SigV4 credential scope's region.
func validRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// QuoteURL quotes a URL for a message, unless it may carry a secret: any
// '@' may mark user info, and a query or fragment may hold a token, even
// in a URL that does not parse.
func QuoteURL(s string) string {
	if strings.ContainsAny(s, "@?#") {
		return "the URL (with user info, a query or a fragment, not shown)"
	}
	return strconv.Quote(s)
}

// FormatDuration writes d the way configuration files do: 15m, 1h30m,
// 168h, 1m30s.
func FormatDuration(d time.Duration) string {
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
