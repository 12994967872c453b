// Package config reads presign's configuration, once, from the environment
// and an optional YAML file, and validates it, reporting every problem at
// once: each by variable name, or by file, line and field path
// (presign.yaml:12: rules[2].max_size: ...). Only the binaries in cmd/ (and
// the Cloud Function entry) import it; the library never reads the
// environment.
//
// # Sources and precedence
//
// Without a file ([Load] with path "" and PRESIGN_CONFIG unset) the
// environment alone configures one backend, named "default", and API keys
// that may do everything, exactly as [FromEnv] always has.
//
// With a file (--config FILE, else PRESIGN_CONFIG), the file is read first
// and an environment variable then overrides the file's value for the same
// setting:
//
//	PRESIGN_ADDR, else PORT (as ":PORT")   listen
//	PRESIGN_EXPIRES, PRESIGN_MAX_EXPIRES   defaults.expires, defaults.max_expires
//	PRESIGN_CORS_ORIGINS                   cors.origins (replaced, not merged)
//	PRESIGN_LOG_LEVEL, PRESIGN_LOG_FORMAT  log.level, log.format
//	PRESIGN_S3_ENDPOINT, PRESIGN_S3_REGION,
//	PRESIGN_S3_BUCKET, PRESIGN_S3_PATH_STYLE  the FIRST backend's endpoint, region, bucket, path_style
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//	AWS_SESSION_TOKEN                      the FIRST backend's credentials, as one setting,
//	                                       only when the file gives that backend none
//	PRESIGN_API_KEYS                       added to auth.api_keys, named env-1, env-2, ...
//	PRESIGN_AUTH=none                      open mode; an error when the file has rules or auth
//
// The credentials are the exception to "the environment overrides the
// file": AWS Lambda sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN to the function's role in every process, and they must
// not replace a Storj or R2 key the file names. A file that leaves the first
// backend's credentials out signs with the environment's (on Lambda, the
// role's, which suits AWS S3).
//
// A file without backends takes its single backend from the environment
// (PRESIGN_S3_BUCKET and the rest), named "default". Every other setting
// comes from the file alone. Strings in the file may hold ${env:NAME}
// references, expanded when the file is read (write $${ for a literal ${);
// secret_access_key, session_token and hs256_secret must be such references,
// never the secret itself. A reference to an unset variable is an error.
// Secret values never appear in an error message.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// SourceEnvironment is Config.Source when no file was read.
const SourceEnvironment = "environment"

// Config is the whole configuration of a presign process.
type Config struct {
	// Source is the file the configuration was read from (with the
	// environment's overrides), or "environment".
	Source string
	Addr   string // listen address of serve
	// Backends are the stores; the first is the default. The env-only
	// configuration has exactly one, named "default".
	Backends []presign.Backend
	// Backend is Backends[0], kept for the callers of the env-only
	// configuration.
	//
	// Deprecated: use Backends[0].
	Backend    presign.Backend
	Expires    time.Duration // default lifetime
	MaxExpires time.Duration // cap on requested lifetimes
	APIKeys    []APIKey
	// JWT are the accepted JWT issuers (file only).
	JWT []JWTIssuer
	// Rules are the access rules, in order (file only). With the env-only
	// configuration there are none: every authenticated caller may do
	// everything (presign.AllowAll).
	Rules []policy.Rule
	// AllowAnonymous is true when a rule lets callers without a credential
	// in (Who.Anonymous).
	AllowAnonymous bool
	AuthNone       bool // PRESIGN_AUTH=none: no authentication, as the tutorials ran
	// PlatformAuth (PRESIGN_PLATFORM_AUTH, Lambda only): take the caller
	// from the platform's verified request context, PlatformIAM or
	// PlatformJWT, instead of the Authorization header; "" is off.
	PlatformAuth string
	CORSOrigins  []string
	LogLevel     slog.Level
	LogFormat    string // "json" or "text"

	// authGiven: some authentication setting was given, valid or not (so
	// that LoadServing does not add "none configured" to its problems).
	authGiven bool
}

// APIKey is an accepted API key, by the SHA-256 of its value.
type APIKey struct {
	Name string
	Hash [sha256.Size]byte
}

// JWTIssuer is one accepted JWT issuer; it mirrors jwtauth.IssuerConfig
// field for field (the wiring converts). Exactly one of JWKSURL, Keys and
// HS256Secret is set.
type JWTIssuer struct {
	Issuer   string   // the "iss" claim tokens must carry
	Audience []string // tokens must carry one of these in "aud"
	JWKSURL  string   // where the issuer publishes its keys
	Keys     []string // public keys, each PEM or JWK JSON
	// HS256Secret is the shared secret of HS256 tokens, from ${env:NAME}.
	HS256Secret  []byte
	ClockSkew    time.Duration // tolerance on exp/nbf/iat; 0 means jwtauth's default
	SubjectClaim string        // the claim naming the caller; default "sub"
	GroupsClaim  string        // the claim listing the caller's groups; default "groups"
}

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
		return FromEnv(lookup)
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

// FromEnv reads and validates the environment-only configuration. The
// returned error joins one error per bad variable, each naming it.
func FromEnv(lookup Lookup) (Config, error) {
	get := envGetter(lookup)
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}

	c := Config{
		Source:  SourceEnvironment,
		Addr:    envAddr(get, ""),
		Backend: envBackend(get, bad),
	}
	c.Backends = []presign.Backend{c.Backend}

	c.Expires = duration(get("PRESIGN_EXPIRES"), 15*time.Minute, "PRESIGN_EXPIRES", bad)
	c.MaxExpires = duration(get("PRESIGN_MAX_EXPIRES"), time.Hour, "PRESIGN_MAX_EXPIRES", bad)
	if c.MaxExpires > sigv4.MaxExpires {
		bad("PRESIGN_MAX_EXPIRES", "%v is above S3's cap of 7 days (168h)", c.MaxExpires)
	}
	if c.Expires > c.MaxExpires && c.MaxExpires > 0 {
		bad("PRESIGN_EXPIRES", "%v is above PRESIGN_MAX_EXPIRES (%v)", c.Expires, c.MaxExpires)
	}

	c.authGiven = envAuthGiven(get)
	c.APIKeys = envAPIKeys(get("PRESIGN_API_KEYS"), bad)
	switch a := strings.ToLower(get("PRESIGN_AUTH")); a {
	case "":
	case "none":
		c.AuthNone = true
		if len(c.APIKeys) > 0 {
			bad("PRESIGN_AUTH", "none contradicts PRESIGN_API_KEYS; set one or the other")
		}
	default:
		bad("PRESIGN_AUTH", "%q: the only value is none (API keys are set with PRESIGN_API_KEYS)", a)
	}

	c.PlatformAuth = platformAuth(get, bad)
	if c.PlatformAuth != "" && c.AuthNone {
		bad("PRESIGN_PLATFORM_AUTH", "contradicts PRESIGN_AUTH=none; set one or the other")
	}
	c.CORSOrigins = envOrigins(get("PRESIGN_CORS_ORIGINS"), bad)
	c.LogLevel = slog.LevelInfo
	if lvl := get("PRESIGN_LOG_LEVEL"); lvl != "" {
		var ok bool
		if c.LogLevel, ok = parseLogLevel(lvl); !ok {
			bad("PRESIGN_LOG_LEVEL", "%q must be debug, info, warn or error", strings.ToLower(lvl))
		}
	}
	c.LogFormat = "json"
	if f := get("PRESIGN_LOG_FORMAT"); f != "" {
		c.LogFormat = f
		if f != "json" && f != "text" {
			bad("PRESIGN_LOG_FORMAT", "%q must be json or text", f)
		}
	}
	return c, errors.Join(errs...)
}

// envBackend is the backend named "default" of PRESIGN_S3_* and AWS_*.
func envBackend(get func(string) string, bad func(string, string, ...any)) presign.Backend {
	b := presign.Backend{
		Name: "default", Region: "us-east-1", PathStyle: presign.PathStyleAuto,
		Credentials: sigv4.Credentials{
			AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
			SessionToken:    get("AWS_SESSION_TOKEN"),
		},
	}
	applyS3Env(&b, get, bad)
	if b.Bucket == "" {
		bad("PRESIGN_S3_BUCKET", "required: the bucket to presign for")
	}
	if b.Credentials.AccessKeyID == "" {
		bad("AWS_ACCESS_KEY_ID", "required: the access key that signs URLs")
	}
	if b.Credentials.SecretAccessKey == "" {
		bad("AWS_SECRET_ACCESS_KEY", "required: the secret key that signs URLs")
	}
	return b
}

// applyS3Env sets on b each PRESIGN_S3_* variable that is set, checked,
// with its problems reported by name: the environment-only backend and the
// environment's overrides of a file's first backend read them alike.
func applyS3Env(b *presign.Backend, get func(string) string, bad func(string, string, ...any)) {
	if v := get("PRESIGN_S3_ENDPOINT"); v != "" {
		b.Endpoint = v
		if !validEndpoint(v) {
			bad("PRESIGN_S3_ENDPOINT", "%s is not an http(s) URL like https://gateway.storjshare.io (no query, fragment or user info)", quoteURL(v))
		}
	}
	if v := get("PRESIGN_S3_REGION"); v != "" {
		b.Region = v
		if !validRegion(v) {
			bad("PRESIGN_S3_REGION", "%q is not a region like us-east-1", v)
		}
	}
	if v := get("PRESIGN_S3_BUCKET"); v != "" {
		b.Bucket = v
		if err := presign.ValidateBucket(v); err != nil {
			bad("PRESIGN_S3_BUCKET", "%v", err)
		}
	}
	if v := get("PRESIGN_S3_PATH_STYLE"); v != "" {
		var ok bool
		if b.PathStyle, ok = parsePathStyle(v); !ok {
			bad("PRESIGN_S3_PATH_STYLE", "%q must be true, false or auto", strings.ToLower(v))
		}
	}
}

// envAuthGiven reports whether a variable that configures authentication is
// set, valid or not.
func envAuthGiven(get func(string) string) bool {
	return get("PRESIGN_API_KEYS") != "" || get("PRESIGN_AUTH") != "" || get("PRESIGN_PLATFORM_AUTH") != ""
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

// Platform identity modes of PRESIGN_PLATFORM_AUTH.
const (
	PlatformIAM = "aws_iam"        // a Lambda Function URL (or route) with AWS_IAM auth
	PlatformJWT = "jwt_authorizer" // an API Gateway HTTP API JWT authorizer
)

// platformAuth reads PRESIGN_PLATFORM_AUTH.
func platformAuth(get func(string) string, bad func(string, string, ...any)) string {
	switch v := strings.ToLower(get("PRESIGN_PLATFORM_AUTH")); v {
	case "", PlatformIAM, PlatformJWT:
		return v
	default:
		bad("PRESIGN_PLATFORM_AUTH", "%q must be %s or %s (or unset)", v, PlatformIAM, PlatformJWT)
		return ""
	}
}

// IssuerConfig returns the presign.Config of c, without an Authorizer: the
// caller builds one from c.Rules (presign.AllowAll when there are none).
func (c Config) IssuerConfig() presign.Config {
	backends := c.Backends
	if len(backends) == 0 {
		backends = []presign.Backend{c.Backend}
	}
	return presign.Config{
		Backends:       append([]presign.Backend(nil), backends...),
		DefaultExpires: c.Expires,
		MaxExpires:     c.MaxExpires,
	}
}

func envGetter(lookup Lookup) func(string) string {
	return func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
}

// envAddr is PRESIGN_ADDR, else :$PORT, else def, else :8080.
func envAddr(get func(string) string, def string) string {
	if a := get("PRESIGN_ADDR"); a != "" {
		return a
	}
	if port := get("PORT"); port != "" {
		return ":" + port
	}
	if def != "" {
		return def
	}
	return ":8080"
}

// validEndpoint reports whether v is an http(s) URL as presign.New accepts it.
func validEndpoint(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" &&
		u.Fragment == "" && u.User == nil
}

func parsePathStyle(v string) (presign.PathStyle, bool) {
	switch ps := strings.ToLower(v); ps {
	case "", "auto":
		return presign.PathStyleAuto, true
	case "true", "false":
		return presign.PathStyle(ps), true
	}
	return presign.PathStyleAuto, false
}

func parseLogLevel(v string) (slog.Level, bool) {
	switch strings.ToLower(v) {
	case "", "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// validOrigin returns o normalized (no trailing "/") when it is "*" or an
// origin like https://app.example.com.
func validOrigin(o string) (string, bool) {
	if o == "*" {
		return o, true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false
	}
	return strings.TrimSuffix(o, "/"), true
}

func envOrigins(v string, bad func(string, string, ...any)) []string {
	var out []string
	for _, o := range splitList(v) {
		n, ok := validOrigin(o)
		if !ok {
			bad("PRESIGN_CORS_ORIGINS", "%s is not an origin like https://app.example.com", quoteURL(o))
			continue
		}
		out = append(out, n)
	}
	return out
}

// envAPIKeys parses PRESIGN_API_KEYS: raw keys or sha256:<hex>, named
// env-1, env-2, ... by position. Errors never quote a key.
func envAPIKeys(v string, bad func(string, string, ...any)) []APIKey {
	var keys []APIKey
	for i, raw := range splitList(v) {
		k := APIKey{Name: "env-" + strconv.Itoa(i+1)}
		if hexHash, ok := strings.CutPrefix(raw, "sha256:"); ok {
			b, err := hex.DecodeString(hexHash)
			if err != nil || len(b) != sha256.Size {
				bad("PRESIGN_API_KEYS", "entry %d: sha256: must be followed by 64 hex digits", i+1)
				continue
			}
			copy(k.Hash[:], b)
		} else {
			if len(raw) < 16 {
				bad("PRESIGN_API_KEYS", "entry %d: API keys must be at least 16 characters", i+1)
				continue
			}
			k.Hash = sha256.Sum256([]byte(raw))
		}
		keys = append(keys, k)
	}
	return keys
}

func duration(v string, def time.Duration, name string, bad func(string, string, ...any)) time.Duration {
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// Plain seconds, as S3's X-Amz-Expires counts them.
		n, nerr := strconv.ParseInt(v, 10, 64)
		if nerr != nil || n > int64(sigv4.MaxExpires/time.Second)*10 {
			bad(name, "%q is not a duration like 15m or 900", v)
			return def
		}
		d = time.Duration(n) * time.Second
	}
	if d < time.Second || d%time.Second != 0 {
		bad(name, "%v must be whole seconds, at least 1s", d)
		return def
	}
	return d
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
