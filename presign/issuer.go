package presign

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// Authorizer decides whether p may have r, and with which limits. It returns
// an *Error with CodePermissionDenied (or CodeUnauthenticated) to refuse.
// The request it sees is already validated and has Backend and Bucket filled
// in.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, r *Request) (Decision, error)
}

// AllowAll is the Authorizer of the environment-only configuration: every
// authenticated caller may do every operation on the configured buckets.
type AllowAll struct{}

func (AllowAll) Authorize(context.Context, Principal, *Request) (Decision, error) {
	return Decision{Rule: "allow-all"}, nil
}

// Config configures an Issuer.
type Config struct {
	// Backends are the stores; the first is the default. At least one.
	Backends []Backend
	// DefaultExpires is the lifetime of a grant whose request names none;
	// 0 means 15 minutes.
	DefaultExpires time.Duration
	// MaxExpires caps every lifetime; 0 means 1 hour. A backend's own cap
	// (Backend.MaxExpires) applies too.
	MaxExpires time.Duration
	// Authorizer decides who may do what; nil means AllowAll.
	Authorizer Authorizer
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
}

// Issuer turns requests into grants. It is safe for concurrent use.
type Issuer struct {
	backends       map[string]*backend
	defaultBackend *backend
	defaultExpires time.Duration
	maxExpires     time.Duration
	authz          Authorizer
	now            func() time.Time
}

// New validates cfg and returns an Issuer. Every problem is reported at once,
// joined in the returned error.
func New(cfg Config) (*Issuer, error) {
	iss := &Issuer{
		backends:       map[string]*backend{},
		defaultExpires: cfg.DefaultExpires,
		maxExpires:     cfg.MaxExpires,
		authz:          cfg.Authorizer,
		now:            cfg.Now,
	}
	if iss.defaultExpires == 0 {
		iss.defaultExpires = 15 * time.Minute
	}
	if iss.maxExpires == 0 {
		iss.maxExpires = time.Hour
	}
	if iss.authz == nil {
		iss.authz = AllowAll{}
	}
	if iss.now == nil {
		iss.now = time.Now
	}
	var errs []error
	if len(cfg.Backends) == 0 {
		errs = append(errs, errors.New("at least one backend is required"))
	}
	if iss.maxExpires < time.Second || iss.maxExpires > sigv4.MaxExpires {
		errs = append(errs, fmt.Errorf("max expiry %v must be between 1s and %v", iss.maxExpires, sigv4.MaxExpires))
	}
	if iss.defaultExpires < time.Second || iss.defaultExpires > iss.maxExpires {
		errs = append(errs, fmt.Errorf("default expiry %v must be between 1s and the max expiry %v", iss.defaultExpires, iss.maxExpires))
	}
	for _, b := range cfg.Backends {
		be, err := newBackend(b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := iss.backends[b.Name]; dup {
			errs = append(errs, fmt.Errorf("backend %q is defined twice", b.Name))
		}
		iss.backends[b.Name] = be
		if iss.defaultBackend == nil {
			iss.defaultBackend = be
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return iss, nil
}

// Issue validates r, asks the Authorizer, and signs the grant.
//
// It returns an *Error: CodeInvalidArgument for a malformed request,
// CodeNotFound for an unknown backend, CodePermissionDenied when the
// Authorizer refuses or the bucket is not the backend's, CodeTooLarge when a
// declared size is above a limit, CodeUnsupported when the backend cannot
// do the operation.
func (iss *Issuer) Issue(ctx context.Context, p Principal, r Request) (Grant, error) {
	be, err := iss.validate(&r)
	if err != nil {
		return Grant{}, err
	}
	dec, err := iss.authz.Authorize(ctx, p, &r)
	if err != nil {
		return Grant{}, err
	}
	if dec.Key != "" {
		if r.Key != "" {
			return Grant{}, Errorf(CodeInvalidArgument, "the server chooses this upload's key; send no key")
		}
		if err := ValidateKey(dec.Key); err != nil {
			return Grant{}, Errorf(CodeInvalidArgument, "the generated key is not usable: %s", ErrorMessage(err))
		}
		r.Key = dec.Key
	}
	if r.Key == "" {
		return Grant{}, Errorf(CodeInvalidArgument, "key is required")
	}
	return iss.sign(be, &r, dec)
}

// validate checks r once and fills in its defaults (backend, bucket, expiry).
func (iss *Issuer) validate(r *Request) (*backend, error) {
	be := iss.defaultBackend
	if r.Backend != "" {
		if be = iss.backends[r.Backend]; be == nil {
			return nil, Errorf(CodeNotFound, "backend %q is not configured", r.Backend)
		}
	}
	r.Backend = be.Name
	switch r.Op {
	case OpGet, OpHead, OpPut, OpPost, OpDelete:
	case "":
		return nil, Errorf(CodeInvalidArgument, "op is required: one of get, head, put, post, delete")
	default:
		return nil, Errorf(CodeInvalidArgument, "op %q is not one of get, head, put, post, delete", r.Op)
	}
	if r.Bucket == "" {
		r.Bucket = be.Bucket
	} else if r.Bucket != be.Bucket {
		return nil, Errorf(CodePermissionDenied, "bucket %q is not served by backend %q", r.Bucket, be.Name)
	}
	if r.Key == "" && !r.Op.IsUpload() {
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
			return nil, Errorf(CodeInvalidArgument, "content_type, content_length, content_md5, checksum_sha256 and metadata apply to uploads (put, post) only")
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
		case n > MaxObjectSize:
			return nil, Errorf(CodeTooLarge, "content_length %d is above the 5 GiB limit of a single upload", n)
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
	if err := validateMetadata(r.Metadata); err != nil {
		return nil, err
	}
	if r.Op == OpPost {
		if be.NoPost {
			return nil, Errorf(CodeUnsupported, "backend %q does not support browser POST uploads; use put", be.Name)
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

// sign applies the decision's limits and presigns. r is validated.
func (iss *Issuer) sign(be *backend, r *Request, dec Decision) (Grant, error) {
	expires := min(r.ExpiresIn, iss.maxExpires, be.MaxExpires)
	if dec.MaxExpires > 0 {
		expires = min(expires, dec.MaxExpires)
	}
	maxSize := int64(MaxObjectSize)
	if dec.MaxSize > 0 {
		maxSize = min(maxSize, dec.MaxSize)
	}
	if r.ContentLength != nil && *r.ContentLength > maxSize {
		return Grant{}, Errorf(CodeTooLarge, "content_length %d is above the limit of %d bytes", *r.ContentLength, maxSize)
	}
	now := iss.now()
	g := Grant{Bucket: r.Bucket, Key: r.Key, ExpiresAt: now.Add(expires).UTC().Truncate(time.Second), Backend: be.Name, Rule: dec.Rule}

	if r.Op == OpPost {
		return iss.signPost(be, r, dec, g, now, expires, maxSize)
	}
	if r.Op == OpPut && dec.MaxSize > 0 && r.ContentLength == nil {
		return Grant{}, Errorf(CodeInvalidArgument, "content_length is required: uploads here are limited to %d bytes, and the store enforces the declared size", maxSize)
	}
	host, path := be.target(r.Bucket, r.Key)
	sr := sigv4.Request{Scheme: be.scheme, Host: host, Path: path, Time: now, Expires: expires}
	switch r.Op {
	case OpGet:
		sr.Method = "GET"
		if r.Filename != "" {
			sr.Query = []sigv4.Param{{Name: "response-content-disposition", Value: ContentDisposition(r.Filename)}}
		}
	case OpHead:
		sr.Method = "HEAD"
	case OpDelete:
		sr.Method = "DELETE"
	case OpPut:
		sr.Method = "PUT"
		g.Headers = make(map[string]string, 4)
		sr.Headers = make([]sigv4.Header, 0, 4+len(r.Metadata))
		// name is what the client sends; signed, its lower-case form.
		add := func(name, signed, value string) {
			g.Headers[name] = value
			sr.Headers = append(sr.Headers, sigv4.Header{Name: signed, Value: value})
		}
		if r.ContentType != "" {
			add("Content-Type", "content-type", r.ContentType)
		}
		if r.ContentLength != nil {
			add("Content-Length", "content-length", strconv.FormatInt(*r.ContentLength, 10))
		}
		if r.ContentMD5 != "" {
			add("Content-MD5", "content-md5", r.ContentMD5)
		}
		if r.ChecksumSHA256 != "" {
			add("x-amz-checksum-sha256", "x-amz-checksum-sha256", r.ChecksumSHA256)
		}
		if dec.NoOverwrite {
			add("If-None-Match", "if-none-match", "*")
		}
		for _, name := range sortedKeys(r.Metadata) {
			add("x-amz-meta-"+name, "x-amz-meta-"+name, r.Metadata[name]) // names are lower-case already
		}
	}
	g.Method = sr.Method
	g.URL = be.signer.Presign(&sr)
	return g, nil
}

// signPost builds the browser POST form: the policy pins the key, the
// content type and metadata given, and the size range.
func (iss *Issuer) signPost(be *backend, r *Request, dec Decision, g Grant, now time.Time, expires time.Duration, maxSize int64) (Grant, error) {
	if dec.NoOverwrite {
		return Grant{}, Errorf(CodeUnsupported, "uploads here must not overwrite, which needs put (S3 POST uploads cannot be conditional)")
	}
	// S3 and MinIO replace ${filename} in a form's key with the name of the
	// uploaded file, which the uploader picks after the policy is signed.
	if strings.Contains(r.Key, "${filename}") {
		return Grant{}, Errorf(CodeInvalidArgument, "a post key must not contain ${filename}: the store would replace it with the uploaded file's name")
	}
	pr := sigv4.PostRequest{
		Bucket: r.Bucket,
		// 201 makes the store answer with an XML document naming the
		// object (Location, Bucket, Key, ETag), which browsers can read.
		Fields:          []sigv4.Param{{Name: "key", Value: r.Key}, {Name: "success_action_status", Value: "201"}},
		Time:            now,
		Expires:         expires,
		LowerCaseFields: true,
	}
	if r.ContentType != "" {
		pr.Fields = append(pr.Fields, sigv4.Param{Name: "Content-Type", Value: r.ContentType})
	}
	for _, name := range sortedKeys(r.Metadata) {
		pr.Fields = append(pr.Fields, sigv4.Param{Name: "x-amz-meta-" + name, Value: r.Metadata[name]})
	}
	lo, hi := int64(0), maxSize
	if r.ContentLength != nil {
		lo, hi = *r.ContentLength, *r.ContentLength
	}
	pr.Conditions = []sigv4.Condition{sigv4.ContentLengthRange(lo, hi)}
	form, err := be.signer.PresignPost(&pr)
	if err != nil {
		return Grant{}, err
	}
	host, path := be.target(r.Bucket, "")
	g.Method = "POST"
	g.URL = be.scheme + "://" + host + sigv4.EscapePath(path)
	g.Fields = make(map[string]string, len(form.Fields))
	for _, f := range form.Fields {
		g.Fields[f.Name] = f.Value
	}
	return g, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
