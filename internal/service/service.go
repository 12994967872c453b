// Package service wires a validated configuration into presign's parts:
// the issuer with its authorizer and its quota's store, the authentication
// chain, the receipt signer, the webhook sender and the HTTP handler.
// Every entry point — presign serve, presign dev, the Lambda function and
// the Cloud Function — builds the same service here, so they behave alike;
// an entry point adds only what its platform has (Lambda's platform
// identity, serve's metrics).
package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/jwtauth"
	"presign.dev/internal/quotastore"
	"presign.dev/internal/ratelimit"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/receipt"
	"presign.dev/webhook"
)

// Options are the service's inputs besides the configuration.
type Options struct {
	Logger *slog.Logger // nil discards
	// HTTPClient fetches JWKS documents; nil means jwtauth's default.
	HTTPClient *http.Client
	Now        func() time.Time // nil means time.Now
	// Observer and Metrics are passed to the handler (serve and dev add
	// Prometheus). An Observer that is also a ratelimit.Observer counts
	// the rate limiter's decisions.
	Observer httpapi.Observer
	Metrics  http.Handler
	// PlatformAuth is the entry point's platform identity, which
	// authenticates every request instead of the configuration's chain
	// when the configuration asks for it (PRESIGN_PLATFORM_AUTH). Only the
	// Lambda function has one; without it, such a configuration is refused.
	PlatformAuth httpapi.Authenticator
	// Ready, when set, is the process's readiness: GET /healthz answers
	// 503 once it returns false (serve, draining on SIGTERM); nil is
	// always ready.
	Ready func() bool
	// Memory, when set, holds the limits' in-process stores, so that a
	// service built again with it (serve's reload) keeps counting where
	// its predecessor left off; nil gives each service fresh ones.
	Memory *Memory
}

// Memory is the in-process state of the limits (store memory): the rate
// limiter's buckets and the quota's counts.
type Memory struct {
	Rate  *ratelimit.Memory
	Quota *quotastore.Memory
}

// NewMemory returns empty stores; now nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{Rate: ratelimit.NewMemory(now), Quota: quotastore.NewMemory(now)}
}

// ErrNoPlatform is the refusal of a configuration that asks for a
// platform identity the entry point does not have.
var ErrNoPlatform = errors.New("PRESIGN_PLATFORM_AUTH: only the Lambda function has a platform identity; presign serve, presign dev and the Cloud Function authenticate with API keys and JWTs")

// Service is a configured presign.
type Service struct {
	Issuer *presign.Issuer
	// Policy is the configuration's rules; nil without rules (the
	// environment-only configuration, or open mode).
	Policy  *policy.Policy
	Auth    httpapi.Authenticator
	Handler *httpapi.Handler
	// closers are the connections the service holds (its Redis clients).
	closers []io.Closer
}

// Close closes the connections the service holds (the Redis of its
// limits). Call it once no request is being served by it any more (after
// a reload has swapped in its successor and its requests have finished).
func (s *Service) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// New builds the service of cfg. It does no I/O (JWKS are fetched, and
// the quota's Redis is connected to, on first use), and it accepts exactly
// the configurations that config.Load accepts: each part validates its
// own settings with the same rules.
func New(cfg config.Config, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PlatformAuth != "" && o.PlatformAuth == nil {
		return nil, ErrNoPlatform
	}
	s := &Service{}
	ic := cfg.IssuerConfig()
	ic.Now = o.Now
	switch {
	case cfg.AuthNone:
		ic.Authorizer = policy.OpenMode{}
	case len(cfg.Rules) > 0:
		p, err := policy.New(cfg.Rules, policy.Options{Now: o.Now, Refs: cfg.PolicyRefs()})
		if err != nil {
			return nil, err
		}
		s.Policy = p
		ic.Authorizer = p
		ic.Uploads.PathTokenClaims = p.ClaimNames()
	}
	if o.Memory == nil {
		o.Memory = NewMemory(o.Now)
	}
	if cfg.Limits.Quota > 0 {
		store, err := s.quotaStore(cfg.Limits, o.Memory)
		if err != nil {
			return nil, err
		}
		ic.Quota = cfg.Limits.QuotaConfig(store)
	}
	var limiter *ratelimit.Limiter
	if cfg.Limits.Rate.Rate.N > 0 {
		store, err := s.rateStore(cfg.Limits, o.Memory)
		if err != nil {
			return nil, err
		}
		ro, _ := o.Observer.(ratelimit.Observer)
		limiter = ratelimit.New(cfg.Limits.Rate, ratelimit.Options{Store: store, Observer: ro, Logger: o.Logger, Now: o.Now})
	}
	iss, err := presign.New(ic)
	if err != nil {
		return nil, err
	}
	s.Issuer = iss
	for _, b := range ic.Backends {
		if b = b.WithDefaults(); b.Kind == presign.KindS3 && b.Provider == presign.ProviderOther {
			// A self-hosted store cannot be told from its address, and
			// MinIO acts on headers that URLs for "other" do not sign.
			o.Logger.Warn("backend's provider is other: URLs are signed as the S3 API documents; name the provider (e.g. provider: minio) and run presign doctor",
				"backend", b.Name, "endpoint", b.Endpoint)
		}
	}

	if cfg.AuthNone {
		o.Logger.Warn("PRESIGN_AUTH=none: anyone who can reach this service gets presigned GET and PUT URLs")
		s.Auth = httpapi.Open{}
	} else {
		chain := httpapi.Chain{Anonymous: cfg.AllowAnonymous, IsJWT: jwtauth.LooksLikeJWT}
		chain.APIKeys = cfg.APIKeys
		if len(cfg.JWT) > 0 {
			v, err := jwtauth.New(cfg.JWT, jwtauth.Options{HTTPClient: o.HTTPClient, Now: o.Now, Logger: o.Logger})
			if err != nil {
				return nil, err
			}
			chain.JWT = v
		}
		s.Auth = chain
	}
	if cfg.PlatformAuth != "" {
		s.Auth = o.PlatformAuth
	}
	ho := httpapi.Options{
		Issuer: iss, Auth: s.Auth, CORSOrigins: cfg.CORSOrigins, Logger: o.Logger,
		Observer: o.Observer, Metrics: o.Metrics, CompanionPath: cfg.CompanionPath, PublicURL: cfg.PublicURL,
		Ready: o.Ready,
	}
	if limiter != nil { // a nil *Limiter in the interface would not be nil
		ho.Limiter = limiter
	}
	// Set only when configured: a nil *Signer or *Sender in the interface
	// would not be nil.
	if len(cfg.ReceiptKeys) > 0 {
		receipts, err := receipt.New(cfg.ReceiptKeys, receipt.Options{Now: o.Now})
		if err != nil {
			return nil, err
		}
		ho.Receipts = receipts
		if cfg.PublicURL == "" {
			o.Logger.Warn("receipts are signed without public_url (PRESIGN_PUBLIC_URL): their iss is taken from each request's Host; set it so that receipts name this service whatever the client sends")
		}
	}
	if len(cfg.Webhooks) > 0 {
		webhooks, err := webhook.New(cfg.Webhooks, webhook.Options{Logger: o.Logger, Now: o.Now})
		if err != nil {
			return nil, err
		}
		ho.Webhooks = webhooks
	}
	s.Handler = httpapi.New(ho)
	return s, nil
}

// quotaStore builds the store of the quota's counts: in this process
// (each instance counts alone: mem's), or in the Redis every instance
// shares (no connection until the first count).
func (s *Service) quotaStore(l config.Limits, mem *Memory) (presign.QuotaStore, error) {
	if l.Store == config.StoreRedis {
		r, err := quotastore.NewRedis(l.RedisURL)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, r)
		return r, nil
	}
	return mem.Quota, nil
}

// rateStore builds the store of the rate limiter's buckets, as quotaStore
// does the quota's (a client of its own: its timeouts are short, as it
// sits in front of every request).
func (s *Service) rateStore(l config.Limits, mem *Memory) (ratelimit.Store, error) {
	if l.Store == config.StoreRedis {
		r, err := ratelimit.NewRedis(l.RedisURL)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, r)
		return r, nil
	}
	return mem.Rate, nil
}

// Explanation is what `presign policy explain` prints: the verdict the
// service would give, and how each rule saw the request.
type Explanation struct {
	Allowed bool   `json:"allowed"`
	Rule    string `json:"rule,omitempty"`
	// Request is the request as it would be signed: backend, bucket,
	// expiry and a generated key filled in (when allowed).
	Request  *ExplainedRequest `json:"request,omitempty"`
	Decision *presign.Decision `json:"decision,omitempty"`
	// Code and Error are the refusal the caller would get.
	Code  presign.Code   `json:"code,omitempty"`
	Error string         `json:"error,omitempty"`
	Trace []policy.Trace `json:"trace,omitempty"`
}

// ExplainedRequest is the part of a request that explain reports.
type ExplainedRequest struct {
	Op        presign.Op `json:"op"`
	Backend   string     `json:"backend"`
	Bucket    string     `json:"bucket"`
	Key       string     `json:"key"`
	ExpiresIn int64      `json:"expires_in"` // seconds
}

// Explain answers r for p through the very path of a request to the API
// (presign.Issuer.Decide: validation, authorization, limits), and adds
// each rule's verdict when there are rules.
func (s *Service) Explain(ctx context.Context, p presign.Principal, r presign.Request) Explanation {
	got, dec, err := s.Issuer.Decide(ctx, p, r)
	var ex Explanation
	if err != nil {
		ex.Code, ex.Error = presign.ErrorCode(err), presign.ErrorMessage(err)
	} else {
		ex.Allowed, ex.Rule, ex.Decision = true, dec.Rule, &dec
		ex.Request = &ExplainedRequest{Op: got.Op, Backend: got.Backend, Bucket: got.Bucket, Key: got.Key, ExpiresIn: int64(got.ExpiresIn / time.Second)}
	}
	if s.Policy != nil && got.Backend != "" {
		// The trace needs a validated request (backend filled in); one
		// refused before the rules has none.
		ex.Trace = s.Policy.Explain(p, &got)
	}
	return ex
}
