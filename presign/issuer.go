package presign

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Authorizer decides whether p may have r, and with which limits. It returns
// an *Error with CodePermissionDenied (or CodeUnauthenticated) to refuse.
// The request it sees is already validated and has Backend and Bucket filled
// in.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, r *Request) (Decision, error)
}

// AllowAll is the Authorizer of the environment-only configuration: every
// authenticated caller may do every operation on the configured buckets;
// a caller without a credential (KindAnonymous) is refused with
// CodeUnauthenticated.
type AllowAll struct{}

func (AllowAll) Authorize(_ context.Context, p Principal, _ *Request) (Decision, error) {
	if p.Kind == KindAnonymous {
		return Decision{}, Errorf(CodeUnauthenticated, "authentication required: send Authorization: Bearer <API key or JWT>")
	}
	return Decision{Rule: "allow-all"}, nil
}

// Defaults of Config's optional fields.
const (
	DefaultExpires    = 15 * time.Minute
	DefaultMaxExpires = time.Hour
)

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
	// Random is the source of the stamps of uploads; nil means
	// crypto/rand.
	Random io.Reader
	// Quota caps the bytes each caller uploads (the zero value: none).
	Quota QuotaConfig
	// Uploads configures multipart uploads (without secrets there are none).
	Uploads UploadsConfig
	// NewStore returns the Store of a backend, for the calls uploads make
	// to the store; nil means NewS3Store with StoreOptions (and Now).
	NewStore func(Backend) (Store, error)
	// StoreOptions are NewS3Store's when NewStore is nil.
	StoreOptions StoreOptions
}

// WithDefaults returns c with its zero optional fields, and those of its
// backends, set to the values that apply.
func (c Config) WithDefaults() Config {
	if c.DefaultExpires == 0 {
		c.DefaultExpires = DefaultExpires
	}
	if c.MaxExpires == 0 {
		c.MaxExpires = DefaultMaxExpires
	}
	if c.Uploads.Expires == 0 {
		c.Uploads.Expires = DefaultUploadExpires
	}
	c.Backends = append([]Backend(nil), c.Backends...)
	for i := range c.Backends {
		c.Backends[i] = c.Backends[i].WithDefaults()
	}
	return c
}

// Validate reports every problem of c (after [Config.WithDefaults]):
// fields default_expires, max_expires, backends, and backends[i].* as
// [Backend.Validate] names them.
func (c Config) Validate() Problems {
	var ps Problems
	c = c.WithDefaults()
	checkExpiry(&ps, "max_expires", c.MaxExpires)
	checkExpiry(&ps, "default_expires", c.DefaultExpires)
	if c.DefaultExpires > c.MaxExpires {
		ps.Addf("default_expires", "%s is above the max expiry %s", FormatDuration(c.DefaultExpires), FormatDuration(c.MaxExpires))
	}
	if len(c.Backends) == 0 {
		ps.Addf("backends", "at least one backend is required")
	}
	ps.Append("uploads", c.Uploads.Validate())
	ps.Append("quota", c.Quota.Validate())
	names := map[string]int{}
	for i, b := range c.Backends {
		path := Index("backends", i)
		ps.Append(path, b.Validate())
		switch j, dup := names[b.Name]; {
		case b.Name == "" && len(c.Backends) > 1:
			ps.Addf(Join(path, "name"), "required: with several backends, each needs the name requests and rules use")
		case dup:
			ps.Addf(Join(path, "name"), "%q is already the name of entry [%d] of this list", b.Name, j)
		}
		names[b.Name] = i
	}
	return ps
}

// Issuer turns requests into grants. It is safe for concurrent use.
type Issuer struct {
	backends       map[string]*backend
	stores         map[string]Store // by backend name
	uploads        UploadsConfig
	defaultBackend *backend
	defaultExpires time.Duration
	maxExpires     time.Duration
	authz          Authorizer
	now            func() time.Time
	random         io.Reader
	quota          QuotaConfig
}

// backend is a validated Backend (defaults filled in) with its signer and
// what its store honours.
type backend struct {
	Backend
	caps   Capabilities
	signer urlSigner
}

// urlSigner presigns for one kind of store (S3 SigV4 today). check refuses
// what the store cannot grant for a validated, authorized request; sign
// then returns the grant's method, URL, headers and fields, for the
// lifetime expires (clamped to every cap) and the upload limit maxSize (at
// most MaxObjectSize). The signer clamps the lifetime once more, to its
// credentials' remaining life, and sets the grant's ExpiresAt. Errors are
// *Error. Requests are passed by value: through an interface, a pointer
// would make every request escape to the heap.
type urlSigner interface {
	check(r Request, dec Decision) error
	sign(ctx context.Context, r Request, dec Decision, now time.Time, expires time.Duration, maxSize int64) (Grant, error)
	// signPart presigns the upload of one part of a multipart upload.
	signPart(ctx context.Context, p uploadPart, now time.Time, expires time.Duration) (Grant, error)
	// objectURL is the unsigned URL of an object (its location).
	objectURL(bucket, key string) string
}

// New validates cfg and returns an Issuer. Every problem is reported at
// once: the error is a Problems.
func New(cfg Config) (*Issuer, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, ps
	}
	cfg = cfg.WithDefaults()
	iss := &Issuer{
		backends:       map[string]*backend{},
		stores:         map[string]Store{},
		uploads:        cfg.Uploads,
		defaultExpires: cfg.DefaultExpires,
		maxExpires:     cfg.MaxExpires,
		authz:          cfg.Authorizer,
		now:            cfg.Now,
		random:         cfg.Random,
		quota:          cfg.Quota,
	}
	if iss.random == nil {
		iss.random = rand.Reader
	}
	if iss.authz == nil {
		iss.authz = AllowAll{}
	}
	if iss.now == nil {
		iss.now = time.Now
	}
	if cfg.NewStore == nil {
		so := cfg.StoreOptions
		if so.Now == nil {
			so.Now = iss.now
		}
		cfg.NewStore = func(b Backend) (Store, error) { return kinds[b.Kind].newStore(b, so) }
	}
	for _, b := range cfg.Backends {
		signer, err := kinds[b.Kind].newSigner(b)
		if err != nil {
			return nil, fmt.Errorf("presign: the signer of backend %q: %w", b.Name, err)
		}
		be := &backend{Backend: b, caps: b.capabilities(), signer: signer}
		iss.backends[b.Name] = be
		if iss.defaultBackend == nil {
			iss.defaultBackend = be
		}
		st, err := cfg.NewStore(b)
		if err != nil {
			return nil, fmt.Errorf("presign: the store of backend %q: %w", b.Name, err)
		}
		iss.stores[b.Name] = st
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
	if r.Op == OpMultipart {
		return Grant{}, Errorf(CodeInvalidArgument, "a multipart upload is not one URL: start it with POST /v1/uploads")
	}
	be, err := iss.validate(&r)
	if err != nil {
		return Grant{}, err
	}
	d, err := iss.authorize(ctx, p, be, &r)
	if err != nil {
		return Grant{}, err
	}
	if (r.Op == OpPut || r.Op == OpPost) && iss.quota.Bytes > 0 {
		// Under a quota every upload is counted at complete, within what
		// is left: its size must be known and signed.
		if r.ContentLength == nil || !r.Verify {
			return Grant{}, Errorf(CodeInvalidArgument, "uploads here count against a quota of bytes: ask POST /v1/presign with content_length (then complete it with /v1/uploads/complete), or start a multipart upload")
		}
		if _, err := iss.quotaLeft(ctx, p, *r.ContentLength); err != nil {
			return Grant{}, err
		}
	}
	now := iss.now()
	var completion *uploadToken
	if r.Verify && (r.Op == OpPut || r.Op == OpPost) && len(iss.uploads.Secrets) > 0 {
		if completion, err = iss.singleUpload(p, be, &r, d, now); err != nil {
			return Grant{}, err
		}
	}
	g, err := be.signer.sign(ctx, r, d.dec, now, d.expires, d.maxSize)
	if err != nil {
		return Grant{}, err
	}
	g.Bucket, g.Key, g.Backend, g.Rule = r.Bucket, r.Key, be.Name, d.dec.Rule
	if completion != nil {
		g.Upload = sealToken(iss.uploads.Secrets, completion)
	}
	return g, nil
}

// Decide answers r as Issue (or, for op multipart, CreateUpload) would,
// without signing or calling the store: the request as it would be
// signed (backend, bucket, expiry and a generated key filled in) and the
// Authorizer's decision, or the refusal of the request and the rules. A
// malformed request returns the zero Request with its error; a refused one
// returns the validated request. `presign policy explain` asks it.
func (iss *Issuer) Decide(ctx context.Context, p Principal, r Request) (Request, Decision, error) {
	be, err := iss.validate(&r)
	if err != nil {
		return Request{}, Decision{}, err
	}
	d, err := iss.authorize(ctx, p, be, &r)
	if err != nil {
		return r, Decision{}, err
	}
	r.ExpiresIn = d.expires
	return r, d.dec, nil
}

// decision is what authorize found: the Authorizer's decision and the
// limits that apply.
type decision struct {
	dec     Decision
	expires time.Duration // clamped to every cap
	maxSize int64         // the upload limit that applies
}

// authorize asks the Authorizer about the validated r, takes the key it
// chose, and applies the decision's limits and the backend's checks.
func (iss *Issuer) authorize(ctx context.Context, p Principal, be *backend, r *Request) (decision, error) {
	dec, err := iss.authz.Authorize(ctx, p, r)
	if r.KeyFromFilename && r.Key == "" && r.Filename != "" && (err != nil || dec.Key == "") {
		if kerr := ValidateKey(r.Filename); kerr != nil {
			return decision{}, Errorf(CodeInvalidArgument, "no rule generates a key here, and the file name is not a usable key: %s", ErrorMessage(kerr))
		}
		named := *r
		named.Key = r.Filename
		dec, err = iss.authz.Authorize(ctx, p, &named)
		*r = named
	}
	if err != nil {
		return decision{}, err
	}
	d, err := iss.limit(be, r, dec)
	if err != nil && p.Kind == KindAnonymous {
		// A caller without a credential learns nothing of the rules: not
		// the limits, nor what the rule forbids.
		switch code := ErrorCode(err); code {
		case CodeTooLarge:
			err = &Error{Code: code, Message: "denied: the upload is larger than allowed", Err: err}
		case CodeInvalidArgument:
			err = &Error{Code: code, Message: "the request does not meet this upload's requirements", Err: err}
		case CodeUnsupported:
			err = &Error{Code: code, Message: "denied: this kind of upload is not allowed", Err: err}
		}
	}
	return d, err
}

// limit takes the key the Authorizer chose and applies its decision's
// limits and the backend's checks to the validated, allowed r.
func (iss *Issuer) limit(be *backend, r *Request, dec Decision) (decision, error) {
	if r.Op == OpList {
		// A listing has no key: the Authorizer answers for the prefix.
		if dec.Key != "" {
			return decision{}, fmt.Errorf("presign: the authorizer chose key %q for a list", dec.Key)
		}
		d := decision{dec: dec, expires: min(r.ExpiresIn, iss.maxExpires, be.MaxExpires)}
		if dec.MaxExpires > 0 {
			d.expires = min(d.expires, dec.MaxExpires)
		}
		return d, nil
	}
	if dec.Key != "" {
		if r.Key != "" {
			return decision{}, Errorf(CodeInvalidArgument, "the server chooses this upload's key; send no key")
		}
		if err := ValidateKey(dec.Key); err != nil {
			return decision{}, Errorf(CodeInvalidArgument, "the generated key is not usable: %s", ErrorMessage(err))
		}
		r.Key = dec.Key
	}
	if r.Key == "" {
		return decision{}, Errorf(CodeInvalidArgument, "key is required")
	}
	d := decision{dec: dec, expires: min(r.ExpiresIn, iss.maxExpires, be.MaxExpires), maxSize: MaxObjectSize}
	if r.Op == OpMultipart {
		d.maxSize = MaxMultipartSize
	}
	if dec.MaxExpires > 0 {
		d.expires = min(d.expires, dec.MaxExpires)
	}
	if dec.MaxSize > 0 {
		d.maxSize = min(d.maxSize, dec.MaxSize)
	}
	if r.ContentLength != nil && *r.ContentLength > d.maxSize {
		return decision{}, Errorf(CodeTooLarge, "content_length %d is above the limit of %d bytes", *r.ContentLength, d.maxSize)
	}
	if r.Op == OpPut && dec.MaxSize > 0 && r.ContentLength == nil {
		return decision{}, Errorf(CodeInvalidArgument, "content_length is required: uploads here are limited to %d bytes, and the store enforces the declared size", d.maxSize)
	}
	if err := be.signer.check(*r, dec); err != nil {
		return decision{}, err
	}
	if r.Op == OpPut || r.Op == OpPost {
		inParts := "upload in parts (POST /v1/uploads): presign checks their size before the object is made"
		typeInParts := "upload in parts (POST /v1/uploads): presign sets the type when it makes the object"
		if !be.caps.BoundedParts {
			inParts = "allow uploads to it only in a rule without that limit"
			typeInParts = inParts
		}
		switch {
		case (dec.MaxSize > 0 || iss.quota.Bytes > 0) && !be.caps.SignedSize:
			return decision{}, be.unsupported("a single upload of a limited size", inParts)
		case dec.TypeLimited && !be.caps.SignedType:
			return decision{}, be.unsupported("a single upload of a limited content type", typeInParts)
		}
	}
	if r.Op == OpMultipart && !be.caps.BoundedParts && (dec.MaxSize > 0 || dec.TypeLimited || dec.NoOverwrite || iss.quota.Bytes > 0) {
		return decision{}, be.unsupported("a multipart upload under a limit of size, type or overwriting, or a quota (a part URL could write the object whole)", "allow multipart only in a rule without those limits")
	}
	if dec.NoOverwrite {
		switch {
		case r.Op == OpPut && !be.caps.ConditionalPut:
			return decision{}, be.unsupported("a put that must not overwrite (If-None-Match: *)", "rule "+strconv.Quote(dec.Rule)+" forbids overwrite: allow it there (overwrite: true)")
		case r.Op == OpMultipart && !be.caps.ConditionalComplete:
			return decision{}, be.unsupported("a multipart upload that must not overwrite (If-None-Match: * at complete)", "rule "+strconv.Quote(dec.Rule)+" forbids overwrite: allow it there (overwrite: true)")
		}
	}
	return d, nil
}
