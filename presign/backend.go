package presign

import (
	"fmt"
	"net"
	"net/url"
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

// Backend is one S3-compatible store and its default bucket.
type Backend struct {
	Name string
	// Endpoint is the store's base URL as clients reach it, e.g.
	// "https://gateway.storjshare.io". "" means the AWS regional endpoint.
	// The host is signed, so it must be the public name, not an internal one.
	Endpoint    string
	Region      string // signing region; "" means us-east-1
	Bucket      string
	PathStyle   PathStyle // "" means auto
	Credentials sigv4.Credentials
	// MaxExpires is the store's own cap on a URL's lifetime; 0 means 7 days,
	// S3's cap. Longer requests are refused as invalid, not clamped.
	MaxExpires time.Duration
	// NoPost marks stores without browser POST uploads (Cloudflare R2,
	// Backblaze B2): a post request gets CodeUnsupported.
	NoPost bool
}

// backend is a validated Backend with its signer.
type backend struct {
	Backend
	scheme   string
	host     string // lower-case, no default port
	basePath string // endpoint path without trailing "/"
	virtual  bool
	signer   *sigv4.Signer
}

func newBackend(b Backend) (*backend, error) {
	if b.Region == "" {
		b.Region = "us-east-1"
	}
	if b.PathStyle == "" {
		b.PathStyle = PathStyleAuto
	}
	if b.MaxExpires == 0 {
		b.MaxExpires = sigv4.MaxExpires
	}
	if b.Endpoint == "" {
		b.Endpoint = "https://s3." + b.Region + ".amazonaws.com"
	}
	var errs []string
	u, err := url.Parse(b.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		errs = append(errs, fmt.Sprintf("endpoint %q must be an http or https URL without query, fragment or user info", b.Endpoint))
		u = &url.URL{}
	}
	if b.Bucket == "" {
		errs = append(errs, "bucket is required")
	} else if err := ValidateBucket(b.Bucket); err != nil {
		errs = append(errs, err.Error())
	}
	switch b.PathStyle {
	case PathStyleAuto, PathStyleAlways, PathStyleVirtual:
	default:
		errs = append(errs, fmt.Sprintf("path style %q must be true, false or auto", b.PathStyle))
	}
	if b.Credentials.AccessKeyID == "" || b.Credentials.SecretAccessKey == "" {
		errs = append(errs, "credentials need an access key ID and a secret access key")
	}
	if b.MaxExpires < time.Second {
		errs = append(errs, "max expiry must be at least 1s")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("backend %q: %s", b.Name, strings.Join(errs, "; "))
	}
	host := strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil && (u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443") {
		host = h
	}
	be := &backend{
		Backend:  b,
		scheme:   u.Scheme,
		host:     host,
		basePath: strings.TrimSuffix(u.Path, "/"),
		signer:   sigv4.NewSigner(b.Credentials, b.Region, "s3"),
	}
	switch b.PathStyle {
	case PathStyleVirtual:
		be.virtual = true
	case PathStyleAuto:
		be.virtual = isAWSHost(host) && !(u.Scheme == "https" && strings.Contains(b.Bucket, "."))
	}
	return be, nil
}

func isAWSHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	return strings.HasSuffix(h, ".amazonaws.com")
}

// ValidateBucket applies S3's bucket naming rules: 3..63 characters of a-z,
// 0-9, '.' and '-', starting and ending with a letter or digit.
func ValidateBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket %q may hold only a-z, 0-9, '.' and '-'", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q must start and end with a letter or digit", b)
	}
	return nil
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// target returns where a request for key in bucket goes. key "" addresses
// the bucket itself (POST uploads).
func (b *backend) target(bucket, key string) (host, path string) {
	if b.virtual {
		return bucket + "." + b.host, b.basePath + "/" + key
	}
	return b.host, b.basePath + "/" + bucket + "/" + key
}
