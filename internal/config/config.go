// Package config reads presign's configuration, once, from the environment
// and an optional YAML file. It decodes, expands ${env:NAME} references,
// and locates problems; every rule about a value belongs to the package
// that owns the value's type (presign.Backend.Validate, policy.Rule.Validate,
// jwtauth.IssuerConfig.Validate, httpapi.NormalizeOrigin), which this
// package calls, attaching to each problem its file, line and field path
// (presign.yaml:12: rules[2].max_size: ...) or the variable that set it.
// Every problem is reported at once. Only the binaries in cmd/ (and the
// Cloud Function entry) import it; the library never reads the
// environment.
//
// # Sources and precedence
//
// Without a file ([Load] with path "" and PRESIGN_CONFIG unset) the
// environment alone configures one backend, named "default", and API keys
// that may do everything.
//
// With a file (--config FILE, else PRESIGN_CONFIG), the file is read first
// and the environment then writes its settings into the same fields,
// overriding the file's (env.go lists them). The credentials are the
// exception: AWS Lambda sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN to the function's role in every process, and they must
// not replace a Storj or R2 key the file names, so they fill the first
// backend's credentials only when the file gives it none.
//
// A file without backends takes its single backend from the environment
// (PRESIGN_S3_BUCKET and the rest), named "default". Strings in the file
// may hold ${env:NAME} references, expanded when the file is read (write
// $${ for a literal ${); secret_access_key, session_token, hs256_secret,
// the uploads' secrets, the receipts' private keys, the webhooks'
// secrets and limits.redis_url (which may hold a password) must be such
// references, never the secret itself. A reference to an unset variable
// is an error. Secret values never appear in an error.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/awscreds"
	"presign.dev/internal/jwtauth"
	"presign.dev/internal/ratelimit"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/receipt"
	"presign.dev/webhook"
)

// SourceEnvironment is Config.Source when no file was read.
const SourceEnvironment = "environment"

// Config is the whole configuration of a presign process, converted to
// the types of the packages that use it and validated by them.
type Config struct {
	// Source is the file the configuration was read from (with the
	// environment's overrides), or "environment".
	Source string
	Addr   string // listen address of serve
	// Backends are the stores; the first is the default. The env-only
	// configuration has exactly one, named "default".
	Backends   []presign.Backend
	Expires    time.Duration // default lifetime; 0 means presign's default
	MaxExpires time.Duration // cap on requested lifetimes; 0 means presign's default
	APIKeys    []httpapi.APIKey
	// JWT are the accepted JWT issuers (file only).
	JWT []jwtauth.IssuerConfig
	// Rules are the access rules, in order (file only). With the env-only
	// configuration there are none: every authenticated caller may do
	// everything (presign.AllowAll).
	Rules []policy.Rule
	// AllowAnonymous is true when a rule lets callers without a credential
	// in (Who.Anonymous).
	AllowAnonymous bool
	// AuthNone (PRESIGN_AUTH=none): no authentication, as the tutorials
	// ran, and no more than they granted (policy.OpenMode).
	AuthNone bool
	// PlatformAuth (PRESIGN_PLATFORM_AUTH, Lambda only): take the caller
	// from the platform's verified request context, PlatformIAM or
	// PlatformJWT, instead of the Authorization header; "" is off.
	PlatformAuth string
	CORSOrigins  []string
	LogLevel     slog.Level
	LogFormat    string // "json" or "text"
	// Uploads configures multipart uploads: its secrets sign and verify
	// upload tokens and Companion's path tokens (the first signs); without
	// secrets there are no uploads (uploads, PRESIGN_UPLOAD_SECRETS).
	Uploads presign.UploadsConfig
	// CompanionPath, when not "", serves Uppy Companion's S3 routes under
	// that path, e.g. "/companion" (companion.path, PRESIGN_COMPANION_PATH).
	CompanionPath string
	// ReceiptKeys sign the receipt of every verified complete (the first
	// signs; all are published at GET /.well-known/jwks.json); without
	// keys there are no receipts (receipts.keys, PRESIGN_RECEIPT_KEYS).
	ReceiptKeys []receipt.Key
	// Credentials are where each backend's credentials come from, by
	// backend name, when not its static keys (backends[].credentials);
	// the backend's CredentialSource is made from it.
	Credentials map[string]awscreds.Config
	// Webhooks are the receivers of upload events, delivered before
	// complete answers (webhooks; PRESIGN_WEBHOOK_URL and
	// PRESIGN_WEBHOOK_SECRET add the one named "env").
	Webhooks []webhook.Endpoint
	// PublicURL is presign's URL as clients reach it, e.g.
	// "https://presign.example.com": the receipts' iss and the base of
	// companion_endpoint; "" takes it from each request (public_url,
	// PRESIGN_PUBLIC_URL).
	PublicURL string
	// Limits are the per-caller limits: a rate of requests, a quota of
	// bytes per period, and the store of their counts (limits;
	// PRESIGN_RATE_LIMIT and the rest, env.go). The zero value has none.
	Limits Limits
	// ShutdownDelay is how long serve keeps serving after SIGTERM while
	// /healthz answers 503, so that load balancers stop sending first
	// (shutdown.delay, PRESIGN_SHUTDOWN_DELAY; default 0).
	ShutdownDelay time.Duration
	// ShutdownTimeout is how long in-flight requests then have to finish
	// (shutdown.timeout, PRESIGN_SHUTDOWN_TIMEOUT); never 0 once loaded:
	// DefaultShutdownTimeout when not set.
	ShutdownTimeout time.Duration

	// authGiven: some authentication setting was given, valid or not (so
	// that LoadServing does not add "none configured" to its problems).
	authGiven bool
}

// DefaultShutdownTimeout is Config.ShutdownTimeout when not set: Cloud Run
// allows 10 s between SIGTERM and SIGKILL.
const DefaultShutdownTimeout = 8 * time.Second

// Limits configures the per-caller limits. The service builds the stores
// (internal/ratelimit, internal/quotastore), the rate limiter, and passes
// the quota to the issuer ([Limits.QuotaConfig]).
type Limits struct {
	// Rate is each caller's rate limit; its zero Rate limits nothing.
	Rate ratelimit.Config
	// Quota is the bytes each caller may upload per QuotaPeriod, counted
	// at verified completion; 0: no quota.
	Quota int64
	// QuotaPeriod is the quota's window, aligned to the Unix epoch (24h:
	// UTC days); 0: the quota never resets.
	QuotaPeriod time.Duration
	// Store keeps the counts of both: StoreMemory (this instance alone) or
	// StoreRedis (shared by every instance); "" without limits.
	Store string
	// RedisURL is the Redis of StoreRedis (redis:// or rediss://). It may
	// hold a password: it is a secret, never shown.
	RedisURL string
}

// Stores of Limits.Store.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

// QuotaConfig returns the issuer's quota, its counts kept by store (which
// the service builds from Store and RedisURL).
func (l Limits) QuotaConfig(store presign.QuotaStore) presign.QuotaConfig {
	return presign.QuotaConfig{Bytes: l.Quota, Period: l.QuotaPeriod, Store: store}
}

// Platform identity modes of PRESIGN_PLATFORM_AUTH.
const (
	PlatformIAM = "aws_iam"        // a Lambda Function URL (or route) with AWS_IAM auth
	PlatformJWT = "jwt_authorizer" // an API Gateway HTTP API JWT authorizer
)

// Lookup reads one environment variable; os.LookupEnv is one.
type Lookup func(name string) (string, bool)

// Load reads the configuration: from the YAML file at path merged with the
// environment, or, when path is "", from the file named by PRESIGN_CONFIG,
// or from the environment alone when that is unset too. The returned error
// joins one error per problem.
func Load(lookup Lookup, path string) (Config, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	where := ""
	if path == "" {
		v, _ := lookup("PRESIGN_CONFIG")
		path, where = strings.TrimSpace(v), "PRESIGN_CONFIG: "
	}
	if path == "" {
		r := newReader("", lookup)
		return r.read(&fileConfig{})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return Config{}, fmt.Errorf("%s%s: cannot read the configuration file: %v", where, path, err)
	}
	return Parse(lookup, path, data)
}

// Parse reads the configuration file named name (for messages) with content
// data, merged with the environment, as [Load] does.
func Parse(lookup Lookup, name string, data []byte) (Config, error) {
	if name == "" {
		name = "config"
	}
	r := newReader(name, lookup)
	f, ok := r.decode(data)
	if !ok || r.failed[""] {
		return Config{}, r.err() // nothing usable was read
	}
	return r.read(f)
}

// read fills f from the environment and converts it.
func (r *reader) read(f *fileConfig) (Config, error) {
	r.applyEnv(f)
	c := r.convert(f)
	return c, r.err()
}

// LoadServing is Load for a process that hands out URLs: authentication
// must be configured too (RequireAuth), and when it is not, that problem is
// listed with the others, not only once they are fixed.
func LoadServing(lookup Lookup, path string) (Config, error) {
	c, err := Load(lookup, path)
	switch {
	case err == nil:
		return c, c.RequireAuth()
	case c.Source == "" || c.authGiven:
		return c, err // nothing was read, or the authentication settings' own problems are listed
	}
	return c, errors.Join(err, c.RequireAuth())
}

// RequireAuth returns an error unless authentication is configured or
// explicitly switched off: serve refuses to hand out URLs to anyone by
// accident. A rule that lets anonymous callers in counts as configured.
func (c Config) RequireAuth() error {
	if len(c.APIKeys) > 0 || len(c.JWT) > 0 || c.AllowAnonymous || c.AuthNone || c.PlatformAuth != "" {
		return nil
	}
	if c.Source == "" || c.Source == SourceEnvironment {
		return fmt.Errorf("PRESIGN_API_KEYS: %w; set PRESIGN_API_KEYS, or PRESIGN_AUTH=none to serve URLs to anyone who can reach the service", ErrNoAuth)
	}
	return fmt.Errorf("%s: auth: %w; add auth.api_keys or auth.jwt, or a rule with who: {anonymous: true}, or set PRESIGN_API_KEYS; PRESIGN_AUTH=none (with no rules) serves URLs to anyone who can reach the service", c.Source, ErrNoAuth)
}

// ErrNoAuth is the problem RequireAuth reports (wrapped, with the fix).
var ErrNoAuth = errors.New("no authentication is configured")

// IssuerConfig returns the presign.Config of c, without an Authorizer (the
// service chooses one).
func (c Config) IssuerConfig() presign.Config {
	return presign.Config{
		Backends:       append([]presign.Backend(nil), c.Backends...),
		DefaultExpires: c.Expires,
		MaxExpires:     c.MaxExpires,
		Uploads: presign.UploadsConfig{
			Secrets: append([]presign.TokenSecret(nil), c.Uploads.Secrets...),
			Expires: c.Uploads.Expires,
		},
	}
}

// PolicyRefs are the names the rules of c may refer to.
func (c Config) PolicyRefs() *policy.References {
	refs := &policy.References{JWT: len(c.JWT) > 0 || c.PlatformAuth == PlatformJWT, IAM: c.PlatformAuth == PlatformIAM}
	for _, b := range c.Backends {
		refs.Backends = append(refs.Backends, b.Name)
	}
	for _, k := range c.APIKeys {
		refs.APIKeys = append(refs.APIKeys, k.Name)
	}
	return refs
}
