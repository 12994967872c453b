package awscreds

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

// Sources (Config.Source).
const (
	SourceStatic     = "static"
	SourceAWSDefault = "aws_default"
	SourceAssumeRole = "assume_role"
)

// Limits of Config's values (STS's own).
const (
	MinDuration      = 15 * time.Minute
	MaxDuration      = 12 * time.Hour
	MaxSessionPolicy = 2048 // characters
	minSessionName   = 2
	maxSessionName   = 64
	minExternalID    = 2
	maxExternalID    = 1224
	minRoleARN       = 20
	maxRoleARN       = 2048
)

// Config says where credentials come from. Its fields are named in
// problems as the configuration file names them (the snake_case of each).
type Config struct {
	// Source is static, aws_default or assume_role. Empty means static
	// when Static has an access key ID, else aws_default.
	Source string
	// Static are the credentials of source static, and the base of
	// assume_role when Base is static.
	Static sigv4.Credentials
	// Base is where assume_role's own credentials come from: static or
	// aws_default. Empty means static when Static has an access key ID,
	// else aws_default.
	Base string
	// RoleARN is the role to assume (assume_role, required). MinIO ignores
	// it; give any ARN of the form arn:partition:iam::account:role/name.
	RoleARN string
	// ExternalID, if set, is sent as the role's trust policy requires.
	ExternalID string
	// SessionName names the role session; empty means "presign-<unix time>".
	SessionName string
	// SessionPolicy, if set, is a JSON IAM policy that limits the session
	// below the role's own permissions.
	SessionPolicy string
	// Duration is the session's lifetime, 15 minutes to 12 hours in whole
	// seconds (and at most the role's maximum session duration); zero sends
	// none, and STS gives 1 hour.
	Duration time.Duration
	// Region is the region STS is called in (assume_role, and aws_default's
	// web identity); empty means AWS_REGION, else AWS_DEFAULT_REGION, else
	// the global endpoint.
	Region string
	// STSEndpoint overrides STS's URL (a VPC endpoint, MinIO); the
	// environment's AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL override it.
	STSEndpoint string
}

// source is c.Source with its default applied.
func (c Config) source() string {
	if c.Source == "" {
		if c.Static.AccessKeyID != "" {
			return SourceStatic
		}
		return SourceAWSDefault
	}
	return c.Source
}

// base is c.Base with its default applied.
func (c Config) base() string {
	if c.Base == "" {
		if c.Static.AccessKeyID != "" {
			return SourceStatic
		}
		return SourceAWSDefault
	}
	return c.Base
}

// Validate returns every problem with c; none of them quotes a secret.
func (c Config) Validate() presign.Problems {
	var ps presign.Problems
	src := c.source()
	switch src {
	case SourceStatic, SourceAWSDefault, SourceAssumeRole:
	default:
		ps.Addf("source", "must be static, aws_default or assume_role")
		return ps
	}
	baseKnown := true
	if src == SourceAssumeRole {
		switch c.Base {
		case "", SourceStatic, SourceAWSDefault:
		default:
			ps.Addf("base", "must be static or aws_default")
			baseKnown = false
		}
	}
	staticUsed := src == SourceStatic || src == SourceAssumeRole && c.base() == SourceStatic
	switch {
	case !baseKnown:
	case staticUsed:
		if c.Static.AccessKeyID == "" {
			ps.Addf("access_key_id", "is required with source %s", staticSourceName(src))
		}
		if c.Static.SecretAccessKey == "" {
			ps.Addf("secret_access_key", "is required with source %s", staticSourceName(src))
		}
	case c.Static != (sigv4.Credentials{}):
		for _, f := range []struct{ name, v string }{
			{"access_key_id", c.Static.AccessKeyID},
			{"secret_access_key", c.Static.SecretAccessKey},
			{"session_token", c.Static.SessionToken},
		} {
			if f.v != "" {
				ps.Addf(f.name, "is not used with %s (the credentials come from the environment, the container or the instance)", defaultSourceName(src))
			}
		}
	}
	for _, f := range []struct{ name, v string }{
		{"access_key_id", c.Static.AccessKeyID},
		{"secret_access_key", c.Static.SecretAccessKey},
		{"session_token", c.Static.SessionToken},
	} {
		if strings.ContainsAny(f.v, "\r\n\t ") {
			ps.Addf(f.name, "must not contain white space")
		}
	}

	if src != SourceAssumeRole {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"base", c.Base != ""},
			{"role_arn", c.RoleARN != ""},
			{"external_id", c.ExternalID != ""},
			{"session_name", c.SessionName != ""},
			{"session_policy", c.SessionPolicy != ""},
			{"duration", c.Duration != 0},
		} {
			if f.set {
				ps.Addf(f.name, "is only used with source assume_role")
			}
		}
		if src == SourceStatic {
			if c.Region != "" {
				ps.Addf("region", "is only used with source assume_role or aws_default")
			}
			if c.STSEndpoint != "" {
				ps.Addf("sts_endpoint", "is only used with source assume_role or aws_default")
			}
		}
	} else {
		c.validateRole(&ps)
	}
	if c.Region != "" && !isRegion(c.Region) {
		ps.Addf("region", "must be a region name such as us-east-1")
	}
	if c.STSEndpoint != "" {
		if _, err := stsEndpoint(c.STSEndpoint, ""); err != nil {
			ps.Addf("sts_endpoint", "%v", err)
		}
	}
	return ps
}

func defaultSourceName(src string) string {
	if src == SourceAssumeRole {
		return "source assume_role and base aws_default"
	}
	return "source " + src
}

func staticSourceName(src string) string {
	if src == SourceAssumeRole {
		return "assume_role and base static"
	}
	return src
}

func (c Config) validateRole(ps *presign.Problems) {
	switch {
	case c.RoleARN == "":
		ps.Addf("role_arn", "is required with source assume_role")
	case !isRoleARN(c.RoleARN):
		ps.Addf("role_arn", "must be a role ARN: arn:<partition>:iam::<account>:role/<name>")
	}
	if c.ExternalID != "" && (len(c.ExternalID) < minExternalID || len(c.ExternalID) > maxExternalID || !allIn(c.ExternalID, "+=,.@:/-")) {
		ps.Addf("external_id", "must be %d to %d letters, digits or +=,.@:/-_", minExternalID, maxExternalID)
	}
	if c.SessionName != "" && (len(c.SessionName) < minSessionName || len(c.SessionName) > maxSessionName || !allIn(c.SessionName, "+=,.@-")) {
		ps.Addf("session_name", "must be %d to %d letters, digits or +=,.@-_", minSessionName, maxSessionName)
	}
	if c.SessionPolicy != "" {
		var doc map[string]any
		switch {
		case len(c.SessionPolicy) > MaxSessionPolicy:
			ps.Addf("session_policy", "must be at most %d characters (STS's limit)", MaxSessionPolicy)
		case json.Unmarshal([]byte(c.SessionPolicy), &doc) != nil:
			ps.Addf("session_policy", "must be an IAM policy: a JSON object")
		case doc["Statement"] == nil:
			ps.Addf("session_policy", "must be an IAM policy: a JSON object with a Statement")
		}
	}
	switch d := c.Duration; {
	case d == 0:
	case d < MinDuration || d > MaxDuration:
		ps.Addf("duration", "must be between 15m and 12h (and at most the role's maximum session duration)")
	case d%time.Second != 0:
		ps.Addf("duration", "must be whole seconds")
	}
}

// isRoleARN checks arn:partition:service:region:account:role/name loosely:
// six parts, a partition and service, a resource "role/...". (MinIO's
// role ARNs have a region and no account: arn:minio:iam:us-east-1::role/x.)
func isRoleARN(s string) bool {
	if len(s) < minRoleARN || len(s) > maxRoleARN {
		return false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" {
		return false
	}
	name, ok := strings.CutPrefix(parts[5], "role/")
	return ok && name != "" && !strings.ContainsAny(s, " \t\r\n")
}

// allIn reports whether s holds only ASCII letters, digits, _ and extra.
func allIn(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// isRegion: lower-case letters, digits and dashes, as region names are.
func isRegion(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Options are the inputs of the sources besides their configuration.
// The zero value is the defaults.
type Options struct {
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// Rand returns a number in [0, 1), for jitter; nil means math/rand/v2.
	Rand func() float64
	// Lookup reads the environment (aws_default, and the STS endpoint and
	// region of every source); nil means os.LookupEnv.
	Lookup func(name string) (string, bool)
	// ReadFile reads token files; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// HTTPClient calls STS; nil means one with a 15 s timeout.
	HTTPClient *http.Client
	// MetadataClient calls the container endpoint and IMDS; nil means one
	// that uses no proxy, with a 5 s timeout (and, for a container endpoint
	// reached over http, connects only to the addresses allowed).
	MetadataClient *http.Client
	// RefreshWindow and RefreshJitter: credentials are refreshed from
	// RefreshWindow plus up to RefreshJitter before they expire (or half
	// their life). Zero means DefaultRefreshWindow, DefaultRefreshJitter;
	// a negative jitter means none.
	RefreshWindow, RefreshJitter time.Duration
	// RetryInterval separates a failed fetch from the next; zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// FetchTimeout bounds one fetch; zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Lookup == nil {
		o.Lookup = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.HTTPClient == nil {
		// No redirects: Go would send the POST again, with a web
		// identity token in it, wherever the redirect points.
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.RefreshWindow <= 0 {
		o.RefreshWindow = DefaultRefreshWindow
	}
	switch {
	case o.RefreshJitter == 0:
		o.RefreshJitter = DefaultRefreshJitter
	case o.RefreshJitter < 0:
		o.RefreshJitter = 0
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	return o
}

// getenv is the value of the first of names that is set and not empty.
func (o Options) getenv(names ...string) string {
	for _, n := range names {
		if v, ok := o.Lookup(n); ok && v != "" {
			return v
		}
	}
	return ""
}
