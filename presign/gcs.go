package presign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"presign.dev/gcsv4"
	"presign.dev/sigv4"
)

// Google Cloud Storage (kind gcs): URLs and POST forms signed with Google's
// V4 signatures (package gcsv4), from a service account's JSON key
// (GOOG4-RSA-SHA256) or an HMAC key (GOOG4-HMAC-SHA256), for the XML API.
// What it enforces is what Google's XML API reference documents:
//
//   - a put signs Content-Type, Content-Length (one exact size),
//     Content-MD5 and x-goog-meta-* as headers, and a put that must not
//     overwrite signs x-goog-if-generation-match: 0 (create only);
//   - a POST form's policy pins the key, content-type, x-goog-meta-*,
//     success_action_status and a content-length-range; forms take no
//     precondition, so a post that must not overwrite is refused;
//   - a list signs a ListObjectsV2 query (list-type=2), as on S3.
//
// Checksum headers (x-amz-checksum-*) and multipart uploads are S3's: a
// request for them is refused (422 unsupported).

func init() {
	kinds[KindGCS] = kind{
		withDefaults: gcsWithDefaults,
		validate:     gcsValidate,
		capabilities: func(Backend) Capabilities { return gcsCapabilities },
		newSigner:    func(b Backend) (urlSigner, error) { return newGCSSigner(b) },
		newStore:     func(b Backend, o StoreOptions) (Store, error) { return newGCSStore(b, o) },
	}
}

// DefaultGCSEndpoint is the endpoint of a gcs backend that names none:
// Cloud Storage's XML API.
const DefaultGCSEndpoint = "https://" + gcsv4.DefaultHost

// gcsCapabilities is what Cloud Storage's XML API enforces of what presign
// signs, from Google's reference (PUT object headers, POST object forms,
// list objects, request preconditions): forms with a policy, a signed
// size and type, create-only puts (x-goog-if-generation-match: 0) and
// listings. It verifies MD5 (Content-MD5) and CRC32C, not the SHA-256 of
// x-amz-checksum-sha256; multipart uploads (its XML multipart API) are not
// implemented here.
var gcsCapabilities = Capabilities{Post: true, ConditionalPut: true, Head: true, List: true, SignedSize: true, SignedType: true,
	MaxExpires: gcsv4.MaxExpires}

// gcsWithDefaults fills in a gcs backend's endpoint, location (Region:
// "auto", which Cloud Storage accepts for every bucket) and path style.
func gcsWithDefaults(b Backend) Backend {
	if b.Endpoint == "" {
		b.Endpoint = DefaultGCSEndpoint
	}
	if b.Region == "" {
		b.Region = gcsv4.DefaultLocation
	}
	if b.PathStyle == "" {
		b.PathStyle = PathStyleAuto
	}
	return b
}

// gcsValidate checks what a gcs backend needs: an endpoint at a host's
// root, a location, a bucket named by Google's rules, and exactly one
// credential — a service account key (which must parse; no problem quotes
// it) or an HMAC key's access ID and secret.
func gcsValidate(b Backend, ps *Problems) {
	if b.Provider != "" {
		ps.Addf("provider", "applies to kind s3 only (kind gcs is Google's own API); remove it")
	}
	if u, err := parseEndpoint(b.Endpoint); err != nil {
		ps.Addf("endpoint", "%s is not an http(s) URL like %s (no query, fragment or user info)", QuoteURL(b.Endpoint), DefaultGCSEndpoint)
	} else if u.Path != "" && u.Path != "/" {
		ps.Addf("endpoint", "%s has a path: Cloud Storage's XML API is at the root of its host, as in %s", QuoteURL(b.Endpoint), DefaultGCSEndpoint)
	}
	if !validRegion(b.Region) {
		ps.Addf("region", "%q is not a location like auto or us-east1", b.Region)
	}
	if b.Bucket == "" {
		ps.Addf("bucket", "required: the bucket to presign for")
	} else if err := validateGCSBucket(b.Bucket); err != nil {
		ps.Addf("bucket", "%s", ErrorMessage(err))
	}
	switch b.PathStyle {
	case PathStyleAuto, PathStyleAlways, PathStyleVirtual:
	default:
		ps.Addf("path_style", "%q must be true, false or auto", string(b.PathStyle))
	}
	hmacKey := b.Credentials.AccessKeyID != "" || b.Credentials.SecretAccessKey != ""
	switch {
	case b.CredentialSource != nil:
		ps.Addf("credentials.source", "kind gcs signs with a service account key or an HMAC key; credential sources are AWS's")
	case b.ServiceAccountKey != "" && hmacKey:
		ps.Addf("service_account_key", "give a service account key or an HMAC key (access_key_id, secret_access_key), not both")
	case b.ServiceAccountKey != "":
		if _, err := gcsv4.ParseServiceAccountKey([]byte(b.ServiceAccountKey)); err != nil {
			// gcsv4's errors are fixed sentences that never quote the key.
			ps.Addf("service_account_key", "%s", strings.TrimPrefix(err.Error(), "gcsv4: "))
		}
	case !hmacKey:
		ps.Addf("service_account_key", "required: a service account's JSON key, or an HMAC key (access_key_id and secret_access_key)")
	default:
		if b.Credentials.AccessKeyID == "" {
			ps.Addf("access_key_id", "required with secret_access_key: the HMAC key's access ID (GOOG1…)")
		}
		if b.Credentials.SecretAccessKey == "" {
			ps.Addf("secret_access_key", "required with access_key_id: the HMAC key's secret")
		}
	}
	if b.Credentials.SessionToken != "" {
		ps.Addf("session_token", "Cloud Storage's keys have no session token; remove it")
	}
}

// validateGCSBucket applies Cloud Storage's bucket naming rules: a-z, 0-9,
// '-', '_' and '.'; starting and ending with a letter or digit; 3 to 63
// characters, or up to 222 with dots, each dot-separated part 1 to 63; not
// an IP address; not starting with "goog" nor holding "google".
func validateGCSBucket(b string) error {
	limit := 63
	if strings.Contains(b, ".") {
		limit = 222
	}
	if len(b) < 3 || len(b) > limit {
		return Errorf(CodeInvalidArgument, "bucket %q must be 3 to 63 characters (222 with dots)", b)
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !(isAlnum(c) || c == '-' || c == '_' || c == '.') {
			return Errorf(CodeInvalidArgument, "bucket %q may hold only a-z, 0-9, '-', '_' and '.'", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return Errorf(CodeInvalidArgument, "bucket %q must start and end with a letter or digit", b)
	}
	for part := range strings.SplitSeq(b, ".") {
		if part == "" || len(part) > 63 {
			return Errorf(CodeInvalidArgument, "bucket %q must have 1 to 63 characters between dots", b)
		}
	}
	switch {
	case net.ParseIP(b) != nil:
		return Errorf(CodeInvalidArgument, "bucket %q must not be an IP address", b)
	case strings.HasPrefix(b, "goog") || strings.Contains(b, "google"):
		return Errorf(CodeInvalidArgument, "bucket %q must not start with \"goog\" or hold \"google\"", b)
	}
	return nil
}

// gcsSigner presigns Cloud Storage XML API requests with gcsv4.
type gcsSigner struct {
	signer *gcsv4.Signer
	scheme string
	host   string // the endpoint's host[:port], lower case, no default port
	style  gcsv4.Style
}

// newGCSSigner returns the signer of a valid gcs backend (with defaults).
func newGCSSigner(b Backend) (*gcsSigner, error) {
	creds := gcsv4.Credentials{Location: b.Region}
	if b.ServiceAccountKey != "" {
		sa, err := gcsv4.ParseServiceAccountKey([]byte(b.ServiceAccountKey))
		if err != nil {
			return nil, err
		}
		creds.ServiceAccount = &sa
	} else {
		creds.HMAC = &gcsv4.HMACKey{AccessID: b.Credentials.AccessKeyID, Secret: b.Credentials.SecretAccessKey}
	}
	sg, err := gcsv4.NewSigner(creds)
	if err != nil {
		return nil, err
	}
	e := newEndpoint(b)
	return &gcsSigner{signer: sg, scheme: e.scheme, host: e.host, style: gcsStyle(b.PathStyle, e.scheme, e.host, b.Bucket)}, nil
}

// gcsStyle is how a gcs backend's URLs name the bucket. Auto is
// virtual-hosted (bucket.storage.googleapis.com: each bucket its own
// origin in browsers) over https, for a bucket that is one DNS label (no
// '.', which the endpoint's TLS certificate does not cover, nor '_') on a
// host name (not an IP address); else path style.
func gcsStyle(ps PathStyle, scheme, host, bucket string) gcsv4.Style {
	switch ps {
	case PathStyleVirtual:
		return gcsv4.VirtualHostedStyle
	case PathStyleAlways:
		return gcsv4.PathStyle
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if scheme == "https" && net.ParseIP(strings.Trim(h, "[]")) == nil && !strings.ContainsAny(bucket, "._") {
		return gcsv4.VirtualHostedStyle
	}
	return gcsv4.PathStyle
}

func (s *gcsSigner) check(r Request, dec Decision) error {
	if r.Op != OpPost {
		return nil
	}
	if dec.NoOverwrite {
		return Errorf(CodeUnsupported, "uploads here must not overwrite, which needs put: a Cloud Storage POST form replaces any object at its key, and takes no precondition")
	}
	// Cloud Storage replaces ${filename} in a form's key with the name of
	// the uploaded file, which the uploader picks after the policy is
	// signed.
	if strings.Contains(r.Key, "${filename}") {
		return Errorf(CodeInvalidArgument, "a post key must not contain ${filename}: the store would replace it with the uploaded file's name")
	}
	return nil
}

// request is the gcsv4 request of method on key in bucket, at now for
// expires.
func (s *gcsSigner) request(method, bucket, key string, now time.Time, expires time.Duration) gcsv4.Request {
	return gcsv4.Request{Method: method, Scheme: s.scheme, Host: s.host, Style: s.style, Bucket: bucket, Object: key,
		Time: now, Expires: expires}
}

func (s *gcsSigner) sign(_ context.Context, r Request, dec Decision, now time.Time, expires time.Duration, maxSize int64) (Grant, error) {
	// Cloud Storage's keys do not expire: the lifetime is the one asked.
	g := Grant{ExpiresAt: now.Add(expires).UTC().Truncate(time.Second)}
	if r.Op == OpPost {
		err := s.signPost(&g, &r, now, expires, maxSize)
		return g, err
	}
	var gr gcsv4.Request
	switch r.Op {
	case OpList:
		gr = s.request("GET", r.Bucket, "", now, expires)
		for _, p := range listQuery(r) {
			gr.Query = append(gr.Query, gcsv4.Param{Name: p.Name, Value: p.Value})
		}
	case OpGet:
		gr = s.request("GET", r.Bucket, r.Key, now, expires)
		if r.Filename != "" {
			gr.Query = []gcsv4.Param{{Name: "response-content-disposition", Value: ContentDisposition(r.Filename)}}
		}
	case OpHead:
		gr = s.request("HEAD", r.Bucket, r.Key, now, expires)
	case OpDelete:
		gr = s.request("DELETE", r.Bucket, r.Key, now, expires)
	case OpPut:
		gr = s.request("PUT", r.Bucket, r.Key, now, expires)
		g.Headers = make(map[string]string, 4+len(r.Metadata))
		gr.Headers = make([]gcsv4.Header, 0, 4+len(r.Metadata))
		add := func(name, value string) {
			g.Headers[name] = value
			gr.Headers = append(gr.Headers, gcsv4.Header{Name: name, Value: value})
		}
		if r.ContentType != "" {
			add("Content-Type", r.ContentType)
		}
		if r.ContentLength != nil {
			add("Content-Length", strconv.FormatInt(*r.ContentLength, 10))
		}
		if r.ContentMD5 != "" {
			add("Content-MD5", r.ContentMD5)
		}
		if dec.NoOverwrite {
			// Generation 0: only if no live object is at the key (412 else).
			add("x-goog-if-generation-match", "0")
		}
		for _, name := range sortedKeys(r.Metadata) {
			add("x-goog-meta-"+name, r.Metadata[name]) // names are lower-case already
		}
	default:
		return g, fmt.Errorf("presign: kind gcs has no URL for op %q", r.Op)
	}
	g.Method = gr.Method
	g.URL = s.signer.Presign(&gr)
	return g, nil
}

// signPost builds the browser POST form of r: its policy pins the key, the
// content type and metadata given, success_action_status 201 (an XML
// answer naming the object, which browsers can read) and the size range.
// The fields are in the order Google's Go library writes them.
func (s *gcsSigner) signPost(g *Grant, r *Request, now time.Time, expires time.Duration, maxSize int64) error {
	lo, hi := int64(0), maxSize
	if r.ContentLength != nil {
		lo, hi = *r.ContentLength, *r.ContentLength
	}
	pr := gcsv4.PostRequest{Scheme: s.scheme, Host: s.host, Style: s.style, Bucket: r.Bucket, Object: r.Key,
		Conditions: []gcsv4.Condition{gcsv4.ContentLengthRange(lo, hi)}, Time: now, Expires: expires}
	pr.Fields = make([]gcsv4.Param, 0, 2+len(r.Metadata))
	if r.ContentType != "" {
		pr.Fields = append(pr.Fields, gcsv4.Param{Name: "content-type", Value: r.ContentType})
	}
	pr.Fields = append(pr.Fields, gcsv4.Param{Name: "success_action_status", Value: "201"})
	for _, name := range sortedKeys(r.Metadata) {
		pr.Fields = append(pr.Fields, gcsv4.Param{Name: "x-goog-meta-" + name, Value: r.Metadata[name]})
	}
	form, err := s.signer.PresignPost(&pr)
	if err != nil {
		return fmt.Errorf("presign: the POST policy of kind gcs: %w", err)
	}
	g.Method = "POST"
	g.URL = form.URL
	g.Fields = make(map[string]string, len(form.Fields))
	for _, f := range form.Fields {
		g.Fields[f.Name] = f.Value
	}
	return nil
}

func (s *gcsSigner) signPart(context.Context, uploadPart, time.Time, time.Duration) (Grant, error) {
	return Grant{}, Errorf(CodeUnsupported, "kind gcs does not sign multipart uploads")
}

// objectURL is the unsigned URL of key in bucket, encoded as it is signed.
func (s *gcsSigner) objectURL(bucket, key string) string {
	host, path := s.host, "/"+bucket+"/"+key
	if s.style == gcsv4.VirtualHostedStyle {
		host, path = bucket+"."+s.host, "/"+key
	}
	return s.scheme + "://" + host + sigv4.EscapePath(path)
}

// gcsStore is the Store of a gcs backend: HeadObject sends a HEAD request
// through a URL it presigns itself (for gcsStoreURLLifetime). A gcs backend
// has no multipart uploads (gcsCapabilities.Multipart is false: presign
// does not speak GCS's XML multipart API), so the Issuer never makes the
// multipart calls, and they refuse (errGCSMultipart).
type gcsStore struct {
	*gcsSigner
	client *http.Client
	now    func() time.Time
}

// gcsStoreURLLifetime is the lifetime of the URLs of the store's own
// requests, sent at once.
const gcsStoreURLLifetime = time.Minute

// newGCSStore returns the Store of the valid gcs backend b (with
// defaults); StoreOptions as NewS3Store's.
func newGCSStore(b Backend, o StoreOptions) (*gcsStore, error) {
	sg, err := newGCSSigner(b)
	if err != nil {
		return nil, err
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newStoreHTTPClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &gcsStore{gcsSigner: sg, client: o.HTTPClient, now: o.Now}, nil
}

// errGCSMultipart answers the multipart calls, which the Issuer does not
// make for a gcs backend (gcsCapabilities.Multipart is false).
func errGCSMultipart(op string) error {
	return fmt.Errorf("store: %s: multipart uploads are not supported for kind gcs", op)
}

func (s *gcsStore) CreateMultipartUpload(context.Context, CreateMultipartInput) (string, error) {
	return "", errGCSMultipart("CreateMultipartUpload")
}

func (s *gcsStore) ListParts(context.Context, string, string, string) ([]Part, error) {
	return nil, errGCSMultipart("ListParts")
}

func (s *gcsStore) CompleteMultipartUpload(context.Context, CompleteMultipartInput) (CompletedObject, error) {
	return CompletedObject{}, errGCSMultipart("CompleteMultipartUpload")
}

func (s *gcsStore) AbortMultipartUpload(context.Context, string, string, string) error {
	return errGCSMultipart("AbortMultipartUpload")
}

// HeadObject reads the object at key with a HEAD request, answered as
// Cloud Storage's XML API does: Metadata from x-goog-meta-* (without the
// prefix), the size (x-goog-stored-content-length, the bytes stored, else
// Content-Length), ETag (for an object uploaded whole, its MD5 in hex),
// Content-Type, Last-Modified, and Checksums["MD5"] and ["CRC32C"] (base64)
// from x-goog-hash.
func (s *gcsStore) HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	const op = "HeadObject"
	if key == "" {
		return ObjectInfo{}, fmt.Errorf("store: %s: empty key", op)
	}
	gr := s.request("HEAD", bucket, key, s.now(), gcsStoreURLLifetime)
	// The URL's path is gcsv4's encoding, valid as it is: net/http sends it
	// unchanged (url.URL.RawPath), so the store sees what was signed.
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.signer.Presign(&gr), nil)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("store: %s: %w", op, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, whose query is a signature.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return ObjectInfo{}, fmt.Errorf("store: %s: %w", op, err)
	}
	defer resp.Body.Close()
	if !success(resp.StatusCode) {
		return ObjectInfo{}, storeError(op, resp)
	}
	h := resp.Header
	info := ObjectInfo{Size: resp.ContentLength, ETag: h.Get("ETag"), ContentType: h.Get("Content-Type")}
	if v := h.Get("X-Goog-Stored-Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return ObjectInfo{}, fmt.Errorf("store: %s: x-goog-stored-content-length %q is not a size", op, snippet([]byte(v)))
		}
		info.Size = n
	}
	if info.Size < 0 {
		return ObjectInfo{}, fmt.Errorf("store: %s: the answer has no Content-Length", op)
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		info.LastModified, _ = http.ParseTime(lm)
	}
	for name, values := range h {
		if meta, ok := strings.CutPrefix(strings.ToLower(name), "x-goog-meta-"); ok && meta != "" {
			if info.Metadata == nil {
				info.Metadata = make(map[string]string)
			}
			info.Metadata[meta] = strings.Join(values, ",")
		}
	}
	info.Checksums = parseGoogHash(h.Values("X-Goog-Hash"))
	return info, nil
}

// parseGoogHash reads the x-goog-hash values of an answer: each a
// comma-separated list of algorithm=base64 ("crc32c=n03x6A==,md5=…"), in
// one header or several. It returns the checksums by algorithm in upper
// case ("MD5", "CRC32C"), or nil for none. A value that is not the
// standard base64 of a digest of its algorithm's size (MD5 16 bytes,
// CRC32C 4) is left out, as are other algorithms; of repeated ones, the
// first counts.
func parseGoogHash(values []string) map[string]string {
	var m map[string]string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			alg, digest, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				continue
			}
			alg = strings.ToUpper(strings.TrimSpace(alg))
			var size int
			switch alg {
			case "MD5":
				size = 16
			case "CRC32C":
				size = 4
			default:
				continue
			}
			if _, seen := m[alg]; seen {
				continue
			}
			if raw, err := base64.StdEncoding.Strict().DecodeString(digest); err != nil || len(raw) != size {
				continue
			}
			if m == nil {
				m = make(map[string]string, 2)
			}
			m[alg] = digest
		}
	}
	return m
}
