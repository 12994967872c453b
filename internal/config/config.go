// Package config reads presign's configuration from the environment, once,
// and validates it, reporting every problem at once by variable name. Only
// the binaries in cmd/ (and the Cloud Function entry) import it; the library
// never reads the environment.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

// Config is the whole configuration of a presign process.
type Config struct {
	Addr        string          // listen address of serve
	Backend     presign.Backend // the single backend of the env-only configuration
	Expires     time.Duration   // default lifetime
	MaxExpires  time.Duration   // cap on requested lifetimes
	APIKeys     []APIKey
	AuthNone    bool // PRESIGN_AUTH=none: no authentication, as the tutorials ran
	CORSOrigins []string
	LogLevel    slog.Level
	LogFormat   string // "json" or "text"
}

// APIKey is an accepted API key, by the SHA-256 of its value.
type APIKey struct {
	Name string
	Hash [sha256.Size]byte
}

// Lookup reads one environment variable; os.LookupEnv is one.
type Lookup func(name string) (string, bool)

// FromEnv reads and validates the configuration. The returned error joins
// one error per bad variable, each naming it.
func FromEnv(lookup Lookup) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}

	c := Config{
		Addr: get("PRESIGN_ADDR"),
		Backend: presign.Backend{
			Name:     "default",
			Endpoint: get("PRESIGN_S3_ENDPOINT"),
			Region:   get("PRESIGN_S3_REGION"),
			Bucket:   get("PRESIGN_S3_BUCKET"),
			Credentials: sigv4.Credentials{
				AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
				SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
				SessionToken:    get("AWS_SESSION_TOKEN"),
			},
		},
		LogFormat: get("PRESIGN_LOG_FORMAT"),
	}
	if c.Addr == "" {
		c.Addr = ":8080"
		if port := get("PORT"); port != "" {
			c.Addr = ":" + port
		}
	}
	if c.Backend.Region == "" {
		c.Backend.Region = "us-east-1"
	}
	if c.Backend.Endpoint != "" {
		u, err := url.Parse(c.Backend.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			bad("PRESIGN_S3_ENDPOINT", "%q is not an http(s) URL like https://gateway.storjshare.io", c.Backend.Endpoint)
		}
	}
	if c.Backend.Bucket == "" {
		bad("PRESIGN_S3_BUCKET", "required: the bucket to presign for")
	} else if err := presign.ValidateBucket(c.Backend.Bucket); err != nil {
		bad("PRESIGN_S3_BUCKET", "%v", err)
	}
	switch ps := strings.ToLower(get("PRESIGN_S3_PATH_STYLE")); ps {
	case "", "auto":
		c.Backend.PathStyle = presign.PathStyleAuto
	case "true", "false":
		c.Backend.PathStyle = presign.PathStyle(ps)
	default:
		bad("PRESIGN_S3_PATH_STYLE", "%q must be true, false or auto", ps)
	}
	if c.Backend.Credentials.AccessKeyID == "" {
		bad("AWS_ACCESS_KEY_ID", "required: the access key that signs URLs")
	}
	if c.Backend.Credentials.SecretAccessKey == "" {
		bad("AWS_SECRET_ACCESS_KEY", "required: the secret key that signs URLs")
	}

	c.Expires = duration(get("PRESIGN_EXPIRES"), 15*time.Minute, "PRESIGN_EXPIRES", bad)
	c.MaxExpires = duration(get("PRESIGN_MAX_EXPIRES"), time.Hour, "PRESIGN_MAX_EXPIRES", bad)
	if c.MaxExpires > sigv4.MaxExpires {
		bad("PRESIGN_MAX_EXPIRES", "%v is above S3's cap of 7 days (168h)", c.MaxExpires)
	}
	if c.Expires > c.MaxExpires && c.MaxExpires > 0 {
		bad("PRESIGN_EXPIRES", "%v is above PRESIGN_MAX_EXPIRES (%v)", c.Expires, c.MaxExpires)
	}

	for i, raw := range splitList(get("PRESIGN_API_KEYS")) {
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
		c.APIKeys = append(c.APIKeys, k)
	}
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

	for _, o := range splitList(get("PRESIGN_CORS_ORIGINS")) {
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
				bad("PRESIGN_CORS_ORIGINS", "%q is not an origin like https://app.example.com", o)
				continue
			}
			o = strings.TrimSuffix(o, "/")
		}
		c.CORSOrigins = append(c.CORSOrigins, o)
	}

	switch lvl := strings.ToLower(get("PRESIGN_LOG_LEVEL")); lvl {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		bad("PRESIGN_LOG_LEVEL", "%q must be debug, info, warn or error", lvl)
	}
	switch c.LogFormat {
	case "":
		c.LogFormat = "json"
	case "json", "text":
	default:
		bad("PRESIGN_LOG_FORMAT", "%q must be json or text", c.LogFormat)
	}
	return c, errors.Join(errs...)
}

// RequireAuth returns an error unless authentication is configured or
// explicitly switched off: serve refuses to hand out URLs to anyone by
// accident.
func (c Config) RequireAuth() error {
	if len(c.APIKeys) == 0 && !c.AuthNone {
		return errors.New("PRESIGN_API_KEYS: no authentication is configured; set PRESIGN_API_KEYS, or PRESIGN_AUTH=none to serve URLs to anyone who can reach the service")
	}
	return nil
}

// IssuerConfig returns the presign.Config of c.
func (c Config) IssuerConfig() presign.Config {
	return presign.Config{
		Backends:       []presign.Backend{c.Backend},
		DefaultExpires: c.Expires,
		MaxExpires:     c.MaxExpires,
	}
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
