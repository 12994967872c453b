// Package service wires a validated configuration into presign's parts:
// the issuer with its access policy, the authentication chain and the HTTP
// handler. Every entry point (presign serve, the Lambda function, the Cloud
// Function) builds the same service here, so they behave alike.
package service

import (
	"log/slog"
	"net/http"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/jwtauth"
	"presign.dev/policy"
	"presign.dev/presign"
)

// Options are the service's inputs besides the configuration.
type Options struct {
	Logger *slog.Logger // nil discards
	// HTTPClient fetches JWKS documents; nil means jwtauth's default.
	HTTPClient *http.Client
	Now        func() time.Time // nil means time.Now
	// Observer and Metrics are passed to the handler (serve adds Prometheus).
	Observer httpapi.Observer
	Metrics  http.Handler
	// Auth, when non-nil, authenticates every request instead of the
	// configuration's chain (the Lambda function's platform identity).
	Auth httpapi.Authenticator
}

// Service is a configured presign.
type Service struct {
	Issuer  *presign.Issuer
	Policy  *policy.Policy // nil with env-only configuration: every caller may do everything
	Auth    httpapi.Authenticator
	Handler *httpapi.Handler
}

// New builds the service of cfg. It does no I/O: JWKS are fetched on first
// use.
func New(cfg config.Config, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{}
	ic := cfg.IssuerConfig()
	ic.Now = o.Now
	if len(cfg.Rules) > 0 {
		p, err := policy.New(cfg.Rules, policy.Options{Now: o.Now})
		if err != nil {
			return nil, err
		}
		s.Policy = p
		ic.Authorizer = p
	}
	iss, err := presign.New(ic)
	if err != nil {
		return nil, err
	}
	s.Issuer = iss

	if cfg.AuthNone {
		o.Logger.Warn("PRESIGN_AUTH=none: anyone who can reach this service gets presigned URLs")
		s.Auth = httpapi.Open{}
	} else {
		chain := httpapi.Chain{Anonymous: cfg.AllowAnonymous, IsJWT: jwtauth.LooksLikeJWT}
		for _, k := range cfg.APIKeys {
			chain.APIKeys = append(chain.APIKeys, httpapi.APIKey{Name: k.Name, Hash: k.Hash})
		}
		if len(cfg.JWT) > 0 {
			issuers := make([]jwtauth.IssuerConfig, len(cfg.JWT))
			for i, j := range cfg.JWT {
				issuers[i] = jwtauth.IssuerConfig(j)
			}
			v, err := jwtauth.New(issuers, jwtauth.Options{HTTPClient: o.HTTPClient, Now: o.Now, Logger: o.Logger})
			if err != nil {
				return nil, err
			}
			chain.JWT = v
		}
		s.Auth = chain
	}
	if o.Auth != nil {
		s.Auth = o.Auth
	}
	s.Handler = httpapi.New(httpapi.Options{
		Issuer: iss, Auth: s.Auth, CORSOrigins: cfg.CORSOrigins, Logger: o.Logger,
		Observer: o.Observer, Metrics: o.Metrics,
	})
	return s, nil
}
