package presign

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// Provider names the product behind a backend's S3 API. Stores differ in
// what they honour of a signed request; the provider's [Capabilities] say
// what presign may sign for it.
type Provider string

// The providers presign knows. ProviderOther is any other S3-compatible
// store, taken to behave as the S3 API documents (`presign doctor` checks
// what it really does).
const (
	ProviderAWS          Provider = "aws"
	ProviderR2           Provider = "r2"
	ProviderB2           Provider = "b2"
	ProviderGCS          Provider = "gcs"
	ProviderStorj        Provider = "storj"
	ProviderMinIO        Provider = "minio"
	ProviderWasabi       Provider = "wasabi"
	ProviderDigitalOcean Provider = "digitalocean"
	ProviderVersity      Provider = "versity"
	ProviderOther        Provider = "other"
)

// providers lists every Provider, in the order the documentation does.
var providers = [...]Provider{ProviderAWS, ProviderR2, ProviderB2, ProviderGCS, ProviderStorj, ProviderMinIO,
	ProviderWasabi, ProviderDigitalOcean, ProviderVersity, ProviderOther}

// Providers returns every Provider, in the order the documentation does.
func Providers() []Provider { return slices.Clone(providers[:]) }

// Capabilities is what a store honours of what presign signs. presign signs
// nothing a store would not enforce: a request that needs a capability the
// store lacks is refused with CodeUnsupported and the reason. Where a
// store's behaviour is not known for sure, the capability is off: signing
// a condition that the store silently ignores would grant more than the
// rule allows.
type Capabilities struct {
	// Post: browser POST uploads with a signed policy.
	Post bool
	// ChecksumHeaders: x-amz-checksum-sha256 on PUT and on parts, checked
	// by the store (some stores refuse the header outright).
	ChecksumHeaders bool
	// FullObjectChecksum: a multipart upload created with CRC64NVME
	// FULL_OBJECT, whose whole-object checksum the store verifies at
	// complete.
	FullObjectChecksum bool
	// ConditionalPut: If-None-Match: * on PUT, refused (412) over an
	// existing key. Without it, rules that forbid overwrite cannot allow put.
	ConditionalPut bool
	// ConditionalComplete: If-None-Match: * on CompleteMultipartUpload.
	ConditionalComplete bool
	// MultipartObjectSize: x-amz-mp-object-size at complete, refused by the
	// store when the parts add up to another size. (presign checks the total
	// itself in any case; the header is sent only where it is understood.)
	MultipartObjectSize bool
	// EqualParts: every part but the last must have the same size, and the
	// last no larger (Cloudflare R2).
	EqualParts bool
	// ActsOnUnsignedHeaders: the store acts on request headers that no
	// signature covers (MinIO's x-minio-force-delete, X-Minio-Source-Mtime).
	ActsOnUnsignedHeaders bool
	// Multipart: multipart uploads (POST /v1/uploads).
	Multipart bool
	// BoundedParts: a part URL can do nothing but upload its part of its
	// upload (S3 signs partNumber and uploadId). Without it (Azure: a part
	// URL is a write SAS on the blob), rules that limit size, type or
	// overwriting, and quotas, cannot allow multipart uploads.
	BoundedParts bool
	// Head: a head URL reads only the object's headers. Without it (Azure:
	// a SAS does not bind the method, so a read SAS downloads), head is
	// refused: use get.
	Head bool
	// List: listings of a prefix (op list).
	List bool
	// SignedSize: a single upload (put, post) of another size than signed
	// is refused; without it, rules that cap sizes cannot allow single
	// uploads (a multipart upload's size presign checks at complete).
	SignedSize bool
	// SignedType: a single upload with another content type than signed is
	// refused; without it, rules that limit types cannot allow them.
	SignedType bool
	// MaxExpires is the longest lifetime of a presigned URL.
	MaxExpires time.Duration
}

// s3API is what the S3 API documents; the stores that follow it in full
// start from it.
var s3API = Capabilities{Post: true, ChecksumHeaders: true, FullObjectChecksum: true, ConditionalPut: true,
	ConditionalComplete: true, MultipartObjectSize: true, Multipart: true, BoundedParts: true, Head: true, List: true,
	SignedSize: true, SignedType: true, MaxExpires: sigv4.MaxExpires}

// s3Basics is what every S3-compatible store enforces: a signed size and
// type, multipart uploads and listings.
var s3Basics = Capabilities{Multipart: true, BoundedParts: true, Head: true, List: true, SignedSize: true, SignedType: true,
	MaxExpires: sigv4.MaxExpires}

// Capabilities returns what the store of provider p honours; the zero
// Capabilities for an unknown provider. The sources of each value are in
// the README's table of providers.
func (p Provider) Capabilities() Capabilities {
	c := s3API
	switch p {
	case ProviderAWS, ProviderOther:
	case ProviderVersity:
		// Read in Versity Gateway's code, and tested against it.
	case ProviderMinIO:
		// No x-amz-mp-object-size anywhere in MinIO's code (it completes
		// whatever the parts add up to); acts on x-minio-* headers, which
		// URLs pin (minio.go) but a POST form cannot: MinIO reads the
		// form request's own headers, which no policy signs.
		c.MultipartObjectSize, c.Post = false, false
		c.ActsOnUnsignedHeaders = true
	case ProviderR2:
		// No POST Object (Cloudflare's documentation); equal part sizes.
		c.Post, c.MultipartObjectSize, c.EqualParts = false, false, true
	case ProviderB2:
		// No POST Object; x-amz-checksum-* refused (reported by several
		// projects); conditional writes reported, not documented.
		c = s3Basics
	case ProviderStorj:
		// POST forms parsed by its gateway; CRC64NVME not yet; conditional
		// writes on PUT and complete (storj/edge#564).
		c.FullObjectChecksum, c.MultipartObjectSize = false, false
	case ProviderGCS:
		// The XML API's S3 interoperability: its POST policies and
		// preconditions are Google's own (x-goog-*), served by kind gcs.
		c = s3Basics
	case ProviderWasabi:
		// S3 API with POST Object; newer headers (checksums, conditional
		// writes, object size) are not documented.
		c = s3Basics
		c.Post = true
	case ProviderDigitalOcean:
		// Spaces: POST Object and presigned URLs; the SDKs' checksum
		// headers of 2025 broke its uploads (its own warning); conditional
		// writes are not documented.
		c = s3Basics
		c.Post = true
	default:
		return Capabilities{}
	}
	return c
}

// ParseProvider reads a provider as written in configuration, in any case.
func ParseProvider(s string) (Provider, bool) {
	p := Provider(strings.ToLower(s))
	for _, known := range providers {
		if p == known {
			return p, true
		}
	}
	return Provider(s), false
}

// ProviderNames names every provider for a message: "aws, r2, …, other".
func ProviderNames() string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// DetectProvider names the provider of a well-known endpoint: "" (the AWS
// default) and *.amazonaws.com are aws, *.r2.cloudflarestorage.com r2,
// *.backblazeb2.com b2, storage.googleapis.com gcs, *.storjshare.io storj,
// *.wasabisys.com wasabi, *.digitaloceanspaces.com digitalocean. Anything
// else (a self-hosted MinIO or Versity Gateway among them) is other.
func DetectProvider(endpoint string) Provider {
	if endpoint == "" {
		return ProviderAWS
	}
	host := endpointHost(endpoint)
	for _, m := range []struct {
		suffix string
		p      Provider
	}{
		{".amazonaws.com", ProviderAWS},
		{".r2.cloudflarestorage.com", ProviderR2},
		{".backblazeb2.com", ProviderB2},
		{".storage.googleapis.com", ProviderGCS},
		{".storjshare.io", ProviderStorj},
		{".wasabisys.com", ProviderWasabi},
		{".digitaloceanspaces.com", ProviderDigitalOcean},
	} {
		if strings.HasSuffix("."+host, m.suffix) {
			return m.p
		}
	}
	return ProviderOther
}

// regionOf returns the signing region a provider's endpoint implies, or ""
// when it implies none: R2 and GCS sign with "auto"; B2, Wasabi and
// DigitalOcean name the region in the host (s3.us-west-004.backblazeb2.com,
// s3.eu-central-1.wasabisys.com, nyc3.digitaloceanspaces.com).
func regionOf(p Provider, endpoint string) string {
	host := endpointHost(endpoint)
	var r string
	switch p {
	case ProviderR2, ProviderGCS:
		return "auto"
	case ProviderB2:
		r, _ = strings.CutSuffix(strings.TrimPrefix(host, "s3."), ".backblazeb2.com")
	case ProviderWasabi:
		r, _ = strings.CutSuffix(strings.TrimPrefix(host, "s3."), ".wasabisys.com")
	case ProviderDigitalOcean:
		r, _ = strings.CutSuffix(host, ".digitaloceanspaces.com")
	}
	if r == host || strings.Contains(r, ".") || !validRegion(r) {
		return ""
	}
	return r
}

// endpointHost is the lower-case host name of an endpoint URL, without a
// port; "" when it does not parse.
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	h := u.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.ToLower(h)
}

// unsupported is the refusal of what be's store does not honour: what
// (e.g. "browser POST uploads") and what to do instead.
func (be *backend) unsupported(what, instead string) error {
	why := "its store (" + be.StoreName() + ") does not enforce it"
	if be.NoPost && what == postUploads {
		why = "its configuration turns them off (post: false)"
	}
	return Errorf(CodeUnsupported, "backend %q cannot sign %s: %s; %s", be.Name, what, why, instead)
}

const postUploads = "browser POST uploads"
