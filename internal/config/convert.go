package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// entryName checks the name of entry i of list (at path): given (what it is
// for says why it is required), of a-z, 0-9 and '-', not reserved (a
// non-empty reserved says why), and not the name of an earlier entry, which
// names records. It reports whether the name is usable; a repeated name
// is, its problem reported.
func (r *reader) entryName(path, list string, i int, name, whatFor, reserved string, names map[string]int) bool {
	switch {
	case name == "":
		r.errf(path+".name", "required: %s", whatFor)
	case !validName(name):
		r.errf(path+".name", "%q may hold only a-z, 0-9 and '-' (1 to 63 characters)", name)
	case reserved != "":
		r.errf(path+".name", "%q is reserved: %s", name, reserved)
	default:
		if j, dup := names[name]; dup {
			r.errf(path+".name", "%q is already the name of %s[%d]", name, list, j)
		}
		names[name] = i
		return true
	}
	return false
}

// lazyRegexp compiles expr on its first use, not at program start: the
// Lambda bootstrap's cold start pays for every package's init, and compiling
// this package's expressions there cost 0.3-0.5 ms (GODEBUG=inittrace=1),
// most of its lead over a hello world, although an environment-only
// configuration never runs most of them.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// convert checks every field of f, applies the environment's overrides and
// returns the effective configuration; problems go to r.
func (r *reader) convert(f *fileConfig) Config {
	get := envGetter(r.lookup)
	c := Config{Source: r.name}

	// listen
	listen := r.str("listen", f.Listen)
	if listen != "" {
		if err := checkListen(listen); err != nil {
			r.errf("listen", "%q %v", listen, err)
		}
	}
	c.Addr = envAddr(get, listen)

	// defaults
	var d fileDefaults
	if f.Defaults != nil {
		d = *f.Defaults
	}
	c.Expires = r.dur("defaults.expires", d.Expires, time.Second, sigv4.MaxExpires, 15*time.Minute)
	c.MaxExpires = r.dur("defaults.max_expires", d.MaxExpires, time.Second, sigv4.MaxExpires, time.Hour)
	expName, maxName := "defaults.expires", "defaults.max_expires"
	if v := get("PRESIGN_EXPIRES"); v != "" {
		c.Expires = duration(v, c.Expires, "PRESIGN_EXPIRES", r.envErrf)
		expName = "PRESIGN_EXPIRES"
	}
	if v := get("PRESIGN_MAX_EXPIRES"); v != "" {
		c.MaxExpires = duration(v, c.MaxExpires, "PRESIGN_MAX_EXPIRES", r.envErrf)
		maxName = "PRESIGN_MAX_EXPIRES"
		if c.MaxExpires > sigv4.MaxExpires {
			r.envErrf("PRESIGN_MAX_EXPIRES", "%v is above S3's cap of 7 days (168h)", c.MaxExpires)
		}
	}
	if c.Expires > c.MaxExpires && !r.done["defaults.expires"] && !r.done["defaults.max_expires"] {
		if expName == "PRESIGN_EXPIRES" {
			r.envErrf(expName, "%v is above %s (%v)", fmtDuration(c.Expires), maxName, fmtDuration(c.MaxExpires))
		} else {
			r.errf(expName, "%v is above %s (%v)", fmtDuration(c.Expires), maxName, fmtDuration(c.MaxExpires))
		}
	}

	// cors
	if f.CORS != nil {
		for i, o := range f.CORS.Origins {
			path := indexPath("cors.origins", i)
			o = r.expand(path, o)
			n, ok := validOrigin(o)
			if !ok {
				r.errf(path, "%q is not an origin like https://app.example.com", o)
				continue
			}
			c.CORSOrigins = append(c.CORSOrigins, n)
		}
	}
	if v := get("PRESIGN_CORS_ORIGINS"); v != "" {
		c.CORSOrigins = envOrigins(v, r.envErrf)
	}

	// log
	var lg fileLog
	if f.Log != nil {
		lg = *f.Log
	}
	c.LogLevel = slog.LevelInfo
	if lvl := r.str("log.level", lg.Level); lvl != "" {
		var ok bool
		if c.LogLevel, ok = parseLogLevel(lvl); !ok {
			r.errf("log.level", "%q must be debug, info, warn or error", lvl)
		}
	}
	if lvl := get("PRESIGN_LOG_LEVEL"); lvl != "" {
		var ok bool
		if c.LogLevel, ok = parseLogLevel(lvl); !ok {
			r.envErrf("PRESIGN_LOG_LEVEL", "%q must be debug, info, warn or error", strings.ToLower(lvl))
		}
	}
	c.LogFormat = "json"
	if lf := r.str("log.format", lg.Format); lf != "" {
		c.LogFormat = lf
		if lf != "json" && lf != "text" {
			r.errf("log.format", "%q must be json or text", lf)
		}
	}
	if lf := get("PRESIGN_LOG_FORMAT"); lf != "" {
		c.LogFormat = lf
		if lf != "json" && lf != "text" {
			r.envErrf("PRESIGN_LOG_FORMAT", "%q must be json or text", lf)
		}
	}

	r.backends(&c, f.Backends, get)

	var auth fileAuth
	if f.Auth != nil {
		auth = *f.Auth
	}
	fileKeys := r.apiKeys(&c, auth.APIKeys, get)
	r.jwt(&c, auth.JWT)
	c.PlatformAuth = platformAuth(get, r.envErrf)
	r.rules(&c, f.Rules)

	switch a := strings.ToLower(get("PRESIGN_AUTH")); a {
	case "":
	case "none":
		c.AuthNone = true
		switch {
		case len(f.Rules) > 0:
			r.envErrf("PRESIGN_AUTH", "none runs without authentication and so without rules, but %s has %d; remove PRESIGN_AUTH or the rules", r.name, len(f.Rules))
		case fileKeys > 0 || len(auth.JWT) > 0:
			r.envErrf("PRESIGN_AUTH", "none contradicts the auth section of %s; set one or the other", r.name)
		case len(c.APIKeys) > 0:
			r.envErrf("PRESIGN_AUTH", "none contradicts PRESIGN_API_KEYS; set one or the other")
		}
	default:
		r.envErrf("PRESIGN_AUTH", "%q: the only value is none (API keys are set with PRESIGN_API_KEYS or auth.api_keys)", a)
	}
	c.authGiven = len(auth.APIKeys) > 0 || len(auth.JWT) > 0 || c.AllowAnonymous || envAuthGiven(get)
	if len(f.Rules) == 0 && !c.AuthNone && (fileKeys > 0 || len(auth.JWT) > 0) {
		// Env-only configuration lets every key do everything on its one
		// bucket; a file with callers must say what each may do.
		r.errf("rules", "required: the file names callers in auth but no rules, so nothing would be allowed; add rules")
	}
	return c
}

// backends reads the backends, applies PRESIGN_S3_* and AWS_* to the first,
// and checks what each requires.
func (r *reader) backends(c *Config, fbs []fileBackend, get func(string) string) {
	if len(fbs) == 0 {
		if get("PRESIGN_S3_BUCKET") != "" {
			c.Backends = []presign.Backend{envBackend(get, r.envErrf)}
		} else {
			r.errf("backends", "at least one backend is required (or set PRESIGN_S3_BUCKET and AWS_* for a single one)")
		}
	}
	names := map[string]int{}
	for i, fb := range fbs {
		path := indexPath("backends", i)
		b := presign.Backend{Region: "us-east-1", PathStyle: presign.PathStyleAuto}
		b.Name = r.str(path+".name", fb.Name)
		r.entryName(path, "backends", i, b.Name, "the name rules and requests use for this backend", "", names)
		if b.Endpoint = r.str(path+".endpoint", fb.Endpoint); b.Endpoint != "" && !validEndpoint(b.Endpoint) {
			r.errf(path+".endpoint", "%s is not an http(s) URL like https://gateway.storjshare.io (no query, fragment or user info)", quoteURL(b.Endpoint))
		}
		if v := r.str(path+".region", fb.Region); v != "" {
			b.Region = v
			if !validRegion(v) {
				r.errf(path+".region", "%q is not a region like us-east-1", v)
			}
		}
		if b.Bucket = r.str(path+".bucket", fb.Bucket); b.Bucket != "" {
			if err := presign.ValidateBucket(b.Bucket); err != nil {
				r.errf(path+".bucket", "%v", err)
			}
		}
		if v := r.str(path+".path_style", fb.PathStyle); v != "" {
			var ok bool
			if b.PathStyle, ok = parsePathStyle(v); !ok {
				r.errf(path+".path_style", "%q must be true, false or auto", v)
			}
		}
		b.Credentials.AccessKeyID = r.str(path+".access_key_id", fb.AccessKeyID)
		b.Credentials.SecretAccessKey = r.secret(path+".secret_access_key", fb.SecretAccessKey)
		b.Credentials.SessionToken = r.secret(path+".session_token", fb.SessionToken)
		b.MaxExpires = r.dur(path+".max_expires", fb.MaxExpires, time.Second, sigv4.MaxExpires, 0)
		b.NoPost = fb.Post != nil && !*fb.Post
		c.Backends = append(c.Backends, b)
	}
	if len(fbs) > 0 {
		r.envOverrides(&c.Backends[0], get)
		for i, b := range c.Backends {
			path := indexPath("backends", i)
			hint := func(v string) string {
				if i == 0 {
					return " (or set " + v + ")"
				}
				return ""
			}
			if b.Bucket == "" {
				r.errf(path+".bucket", "required: the bucket to presign for%s", hint("PRESIGN_S3_BUCKET"))
			}
			if b.Credentials.AccessKeyID == "" {
				r.errf(path+".access_key_id", "required: the access key that signs URLs%s", hint("AWS_ACCESS_KEY_ID"))
			}
			if b.Credentials.SecretAccessKey == "" {
				r.errf(path+".secret_access_key", "required: the secret key that signs URLs, as ${env:NAME}%s", hint("AWS_SECRET_ACCESS_KEY"))
			}
		}
	}
	if len(c.Backends) > 0 {
		c.Backend = c.Backends[0]
	}
}

// envOverrides applies PRESIGN_S3_* and AWS_* to the file's first backend.
// The credentials are one setting, and the environment's fill it only when
// the file gives that backend none: AWS Lambda sets AWS_* to the function's
// role in every process, which must not replace a Storj or R2 key that the
// file names.
func (r *reader) envOverrides(b *presign.Backend, get func(string) string) {
	applyS3Env(b, get, r.envErrf)
	id, secret, token := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), get("AWS_SESSION_TOKEN")
	fileHasCredentials := b.Credentials.AccessKeyID != "" || b.Credentials.SecretAccessKey != ""
	switch {
	case id != "" || secret != "":
		switch {
		case id == "":
			r.envErrf("AWS_ACCESS_KEY_ID", "required with AWS_SECRET_ACCESS_KEY: together they are the credentials of backends[0] when the file gives none")
		case secret == "":
			r.envErrf("AWS_SECRET_ACCESS_KEY", "required with AWS_ACCESS_KEY_ID: together they are the credentials of backends[0] when the file gives none")
		case !fileHasCredentials:
			b.Credentials.AccessKeyID, b.Credentials.SecretAccessKey, b.Credentials.SessionToken = id, secret, token
		}
	case token != "":
		r.envErrf("AWS_SESSION_TOKEN", "set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, whose session it belongs to")
	}
}

var envKeyName = lazyRegexp(`^env-[0-9]+$`)

// apiKeys reads auth.api_keys and adds PRESIGN_API_KEYS; it returns the
// number of keys from the file.
func (r *reader) apiKeys(c *Config, fks []fileAPIKey, get func(string) string) int {
	names := map[string]int{}
	hashes := map[[sha256.Size]byte]int{}
	for i, fk := range fks {
		path := indexPath("auth.api_keys", i)
		k := APIKey{Name: r.str(path+".name", fk.Name)}
		reserved := ""
		if envKeyName().MatchString(k.Name) {
			reserved = "env-1, env-2, ... name the keys of PRESIGN_API_KEYS"
		}
		ok := r.entryName(path, "auth.api_keys", i, k.Name, "the name rules use for this key (who: {api_keys: [NAME]})", reserved, names)
		h := strings.ToLower(r.str(path+".sha256", fk.SHA256))
		b, err := hex.DecodeString(h)
		switch {
		case h == "":
			r.errf(path+".sha256", "required: the SHA-256 of the key in hex (sha256sum), never the key itself")
			ok = false
		case err != nil || len(b) != sha256.Size:
			r.errf(path+".sha256", "must be 64 hex digits: the SHA-256 of the key (printf %%s KEY | sha256sum), never the key itself")
			ok = false
		default:
			copy(k.Hash[:], b)
			if j, dup := hashes[k.Hash]; dup {
				r.errf(path+".sha256", "is the same key as auth.api_keys[%d]", j)
			}
			hashes[k.Hash] = i
		}
		if ok {
			c.APIKeys = append(c.APIKeys, k)
		}
	}
	n := len(c.APIKeys)
	for i, k := range envAPIKeys(get("PRESIGN_API_KEYS"), r.envErrf) {
		if j, dup := hashes[k.Hash]; dup {
			r.envErrf("PRESIGN_API_KEYS", "%s is the same key as auth.api_keys[%d] in %s", k.Name, j, r.name)
			continue
		}
		hashes[k.Hash] = -1 - i
		c.APIKeys = append(c.APIKeys, k)
	}
	return n
}

// jwt reads auth.jwt.
func (r *reader) jwt(c *Config, fjs []fileJWT) {
	issuers := map[string]int{}
	for i, fj := range fjs {
		path := indexPath("auth.jwt", i)
		j := JWTIssuer{Issuer: r.str(path+".issuer", fj.Issuer)}
		switch {
		case j.Issuer == "":
			r.errf(path+".issuer", "required: the iss claim of the issuer's tokens, e.g. https://auth.example.com/")
		case !printableNoSpace(j.Issuer, 2048):
			r.errf(path+".issuer", "must be printable without spaces")
		default:
			if k, dup := issuers[j.Issuer]; dup {
				r.errf(path+".issuer", "%q is already the issuer of auth.jwt[%d]", j.Issuer, k)
			}
			issuers[j.Issuer] = i
		}
		if len(fj.Audience) == 0 {
			r.errf(path+".audience", "required: the audiences (aud) tokens must carry one of, e.g. [presign]")
		}
		for k, a := range fj.Audience {
			p := indexPath(path+".audience", k)
			if a = r.expand(p, a); a == "" {
				r.errf(p, "is empty")
			} else if !printableNoSpace(a, 2048) {
				r.errf(p, "must be printable without spaces")
			}
			j.Audience = append(j.Audience, a)
		}
		sources := 0
		if fj.JWKSURL != nil {
			sources++
			j.JWKSURL = r.str(path+".jwks_url", fj.JWKSURL)
			if err := checkJWKSURL(j.JWKSURL); err != nil {
				r.errf(path+".jwks_url", "%v", err)
			}
		}
		if fj.Keys != nil {
			sources++
			if len(fj.Keys) == 0 {
				r.errf(path+".keys", "is empty: list the issuer's public keys")
			}
			for k, key := range fj.Keys {
				p := indexPath(path+".keys", k)
				key = r.expand(p, key)
				if err := checkPublicKey(key); err != nil {
					r.errf(p, "%v", err)
				}
				j.Keys = append(j.Keys, key)
			}
		}
		if fj.HS256Secret != nil {
			sources++
			s := r.secret(path+".hs256_secret", fj.HS256Secret)
			if s != "" && len(s) < 32 {
				r.errf(path+".hs256_secret", "the secret is shorter than 32 bytes; HS256 needs at least 256 bits")
			}
			j.HS256Secret = []byte(s)
		}
		switch {
		case sources == 0:
			r.errf(path, "needs the issuer's keys: one of jwks_url, keys or hs256_secret")
		case sources > 1:
			r.errf(path, "sets more than one of jwks_url, keys and hs256_secret; choose one")
		}
		j.ClockSkew = r.dur(path+".clock_skew", fj.ClockSkew, 0, 5*time.Minute, 0)
		j.SubjectClaim = r.claimName(path+".subject_claim", fj.SubjectClaim, "sub")
		j.GroupsClaim = r.claimName(path+".groups_claim", fj.GroupsClaim, "groups")
		c.JWT = append(c.JWT, j)
	}
}

func (r *reader) claimName(path string, v *string, def string) string {
	if v == nil {
		return def
	}
	s := r.str(path, v)
	if !validClaimName(s) {
		r.errf(path, "%q is not a claim name", s)
		return def
	}
	return s
}

// rules reads the rules; backends and API keys are already read.
func (r *reader) rules(c *Config, frs []fileRule) {
	backends := map[string]bool{}
	for _, b := range c.Backends {
		backends[b.Name] = true
	}
	keys := map[string]bool{}
	for _, k := range c.APIKeys {
		keys[k.Name] = true
	}
	names := map[string]int{}
	for i, fr := range frs {
		path := indexPath("rules", i)
		rule := policy.Rule{Name: r.str(path+".name", fr.Name)}
		r.entryName(path, "rules", i, rule.Name, "the rule's name, for the audit log and refusals", "", names)

		rule.Who = r.who(path+".who", fr.Who, keys, len(c.JWT) > 0 || c.PlatformAuth == PlatformJWT, c.PlatformAuth == PlatformIAM)
		if rule.Who.Anonymous {
			c.AllowAnonymous = true
		}

		seen := map[presign.Op]bool{}
		if len(fr.Ops) == 0 {
			r.errf(path+".ops", "required: the operations allowed, some of get, head, put, post, delete")
		}
		for k, o := range fr.Ops {
			p := indexPath(path+".ops", k)
			op := presign.Op(r.expand(p, o))
			switch {
			case !validOp(op):
				r.errf(p, "%q is not an operation: get, head, put, post or delete", string(op))
			case seen[op]:
				r.errf(p, "%q is listed twice", string(op))
			default:
				seen[op] = true
				rule.Ops = append(rule.Ops, op)
			}
		}
		uploads := seen[presign.OpPut] || seen[presign.OpPost]
		others := seen[presign.OpGet] || seen[presign.OpHead] || seen[presign.OpDelete]

		if rule.Backend = r.str(path+".backend", fr.Backend); rule.Backend != "" && !backends[rule.Backend] {
			r.errf(path+".backend", "%q is not the name of a backend", rule.Backend)
		}

		var placeholders []string
		for k, pat := range fr.Keys {
			p := indexPath(path+".keys", k)
			pat = r.expand(p, pat)
			used, err := scanTemplate(pat, keyPlaceholders, true)
			if err != nil {
				r.errf(p, "%v", err)
			}
			placeholders = append(placeholders, used...)
			rule.Keys = append(rule.Keys, pat)
		}
		if fr.GenerateKey != nil {
			rule.GenerateKey = r.str(path+".generate_key", fr.GenerateKey)
			used, err := scanTemplate(rule.GenerateKey, generatePlaceholders, false)
			if err != nil {
				r.errf(path+".generate_key", "%v", err)
			}
			placeholders = append(placeholders, used...)
			if !uploads && len(seen) > 0 {
				r.errf(path+".generate_key", "applies to uploads, but ops has neither put nor post")
			}
		}
		if len(fr.Keys) == 0 && (rule.GenerateKey == "" || others) && len(seen) > 0 {
			if rule.GenerateKey == "" {
				r.errf(path+".keys", "required: the key patterns allowed, e.g. [\"users/{sub}/**\"] (write [\"**\"] for every key)")
			} else {
				r.errf(path+".keys", "required for get, head and delete, which generate_key does not cover (write [\"**\"] for every key)")
			}
		}
		if rule.Who.Anonymous {
			for _, ph := range placeholders {
				if ph == "sub" || ph == "name" || strings.HasPrefix(ph, "claim.") {
					r.errf(path, "uses {%s}, which anonymous callers (who.anonymous) have no value for", ph)
					break
				}
			}
		}

		if fr.MaxSize != nil {
			p := path + ".max_size"
			v := r.str(p, fr.MaxSize)
			n, ok := parseSize(v)
			switch {
			case !ok:
				r.errf(p, "%q is not a size like 10MiB (bytes, KiB, MiB, GiB, or KB, MB, GB)", v)
			case n < 1 || n > presign.MaxObjectSize:
				r.errf(p, "%s must be between 1 byte and 5GiB, S3's limit for one upload", v)
			default:
				rule.MaxSize = n
			}
			if !uploads && len(seen) > 0 {
				r.errf(p, "applies to uploads, but ops has neither put nor post")
			}
		}
		if fr.ContentTypes != nil {
			if len(fr.ContentTypes) == 0 {
				r.errf(path+".content_types", "is empty; leave it out to allow any type")
			}
			for k, ct := range fr.ContentTypes {
				p := indexPath(path+".content_types", k)
				n, err := checkContentTypePattern(r.expand(p, ct))
				if err != nil {
					r.errf(p, "%v", err)
				}
				rule.ContentTypes = append(rule.ContentTypes, n)
			}
			if !uploads && len(seen) > 0 {
				r.errf(path+".content_types", "applies to uploads, but ops has neither put nor post")
			}
		}
		if fr.Metadata != nil {
			if len(fr.Metadata) == 0 {
				r.errf(path+".metadata", "is empty; leave it out to allow no metadata")
			}
			for k, name := range fr.Metadata {
				p := indexPath(path+".metadata", k)
				name = strings.ToLower(r.expand(p, strings.TrimSpace(name)))
				if err := presign.ValidateMetadataName(name); err != nil {
					r.errf(p, "%s", presign.ErrorMessage(err))
				}
				rule.Metadata = append(rule.Metadata, name)
			}
			if !uploads && len(seen) > 0 {
				r.errf(path+".metadata", "applies to uploads, but ops has neither put nor post")
			}
		}
		rule.MaxExpires = r.dur(path+".max_expires", fr.MaxExpires, time.Second, sigv4.MaxExpires, 0)
		if fr.Overwrite != nil {
			rule.Overwrite = ptr(*fr.Overwrite)
			if !uploads && len(seen) > 0 {
				r.errf(path+".overwrite", "applies to uploads, but ops has neither put nor post")
			}
		}
		if fr.RequireChecksum != nil {
			rule.RequireChecksum = *fr.RequireChecksum
			if !seen[presign.OpPut] && len(seen) > 0 {
				r.errf(path+".require_checksum", "applies to put, which ops does not list")
			}
		}
		if fr.Download != nil {
			rule.Download = ptr(*fr.Download)
			if !seen[presign.OpGet] && len(seen) > 0 {
				r.errf(path+".download", "applies to get, which ops does not list")
			}
		}
		c.Rules = append(c.Rules, rule)
	}
}

func (r *reader) who(path string, fw *fileWho, keys map[string]bool, jwt, iam bool) policy.Who {
	var w policy.Who
	if fw == nil {
		r.errf(path, "required: who the rule applies to: anonymous, authenticated, api_keys, iam, groups or claims")
		return w
	}
	w.Anonymous = fw.Anonymous != nil && *fw.Anonymous
	w.Authenticated = fw.Authenticated != nil && *fw.Authenticated
	for i, k := range fw.APIKeys {
		p := indexPath(path+".api_keys", i)
		k = r.expand(p, k)
		if !keys[k] {
			r.errf(p, "%q is not the name of a key in auth.api_keys (or env-1, env-2, ... of PRESIGN_API_KEYS)", k)
		}
		w.APIKeys = append(w.APIKeys, k)
	}
	for i, arn := range fw.IAM {
		p := indexPath(path+".iam", i)
		if arn = r.expand(p, arn); !strings.HasPrefix(arn, "arn:") {
			r.errf(p, "%q is not an IAM ARN like arn:aws:iam::123456789012:role/uploader", arn)
		}
		w.IAM = append(w.IAM, arn)
	}
	if len(fw.IAM) > 0 && !iam {
		r.errf(path+".iam", "IAM callers come from the Lambda platform: set PRESIGN_PLATFORM_AUTH=aws_iam")
	}
	for i, g := range fw.Groups {
		p := indexPath(path+".groups", i)
		if g = r.expand(p, g); g == "" {
			r.errf(p, "is empty")
		}
		w.Groups = append(w.Groups, g)
	}
	if len(fw.Groups) > 0 && !jwt {
		r.errf(path+".groups", "groups come from JWTs, but auth.jwt lists no issuer (nor is PRESIGN_PLATFORM_AUTH=jwt_authorizer)")
	}
	if len(fw.Claims) > 0 {
		if !jwt {
			r.errf(path+".claims", "claims come from JWTs, but auth.jwt lists no issuer (nor is PRESIGN_PLATFORM_AUTH=jwt_authorizer)")
		}
		w.Claims = map[string][]string{}
		for _, name := range slices.Sorted(maps.Keys(fw.Claims)) {
			vals := fw.Claims[name]
			p := fieldPath(path+".claims", name)
			if !validClaimName(name) {
				r.errf(p, "%q is not a claim name", name)
			}
			if len(vals) == 0 {
				r.errf(p, "lists no values; a claim must have one of them")
			}
			for i, v := range vals {
				if v = r.expand(indexPath(p, i), v); v == "" {
					r.errf(indexPath(p, i), "is empty")
				}
				w.Claims[name] = append(w.Claims[name], v)
			}
		}
	}
	if !w.Anonymous && !w.Authenticated && len(w.APIKeys) == 0 && len(w.IAM) == 0 && len(w.Groups) == 0 && len(w.Claims) == 0 {
		r.errf(path, "matches nobody: set anonymous, authenticated, api_keys, iam, groups or claims")
	}
	return w
}

// str returns the string at path with its ${env:NAME} references expanded;
// "" when absent.
func (r *reader) str(path string, v *string) string {
	if v == nil {
		return ""
	}
	return r.expand(path, strings.TrimSpace(*v))
}

var envName = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces every ${env:NAME} in v with the variable's value
// (trimmed); $${ is a literal ${. A malformed or unset reference is a
// problem at path.
func (r *reader) expand(path, v string) string {
	if !strings.Contains(v, "${") {
		return v
	}
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		if i > 0 && v[i-1] == '$' {
			b.WriteString(v[:i-1] + "${")
			v = v[i+2:]
			continue
		}
		b.WriteString(v[:i])
		end := strings.IndexByte(v[i:], '}')
		if end < 0 {
			r.errf(path, "has a ${ without its }; write ${env:NAME}, or $${ for a literal ${")
			return ""
		}
		ref := v[i+2 : i+end]
		name, ok := strings.CutPrefix(ref, "env:")
		if !ok || !envName().MatchString(name) {
			if len(ref) > 40 {
				ref = ref[:37] + "..."
			}
			r.errf(path, "${%s} is not a reference like ${env:NAME}; write $${ for a literal ${", strconv.QuoteToASCII(ref))
			return ""
		}
		val, set := r.lookup(name)
		if !set {
			r.errf(path, "${env:%s} refers to %s, which is not set", name, name)
			return ""
		}
		b.WriteString(strings.TrimSpace(val))
		v = v[i+end+1:]
	}
}

var secretRef = lazyRegexp(`^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secret returns the value of a secret field, which must be exactly one
// ${env:NAME} reference. Neither the field's text nor the value is ever
// quoted in a problem.
func (r *reader) secret(path string, v *string) string {
	if v == nil {
		return ""
	}
	s := strings.TrimSpace(*v)
	if s == "" {
		r.errf(path, "is empty; write ${env:NAME} and set the variable")
		return ""
	}
	m := secretRef().FindStringSubmatch(s)
	if m == nil {
		r.errf(path, "must be one ${env:NAME} reference, not the secret itself: secrets do not belong in the file; set a variable and write ${env:NAME}")
		return ""
	}
	val, set := r.lookup(m[1])
	val = strings.TrimSpace(val)
	switch {
	case !set:
		r.errf(path, "${env:%s} refers to %s, which is not set", m[1], m[1])
	case val == "":
		r.errf(path, "${env:%s} refers to %s, which is empty", m[1], m[1])
	}
	return val
}

// dur reads a duration in [min, max]; def when absent or wrong.
func (r *reader) dur(path string, v *string, min, max, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	s := r.str(path, v)
	d, ok := parseDuration(s)
	switch {
	case !ok:
		r.errf(path, "%q is not a duration like 15m, 1h30m or 7d", s)
	case d%time.Second != 0:
		r.errf(path, "%s must be whole seconds", s)
	case d < min || d > max:
		r.errf(path, "%s must be between %s and %s", fmtDuration(d), fmtDuration(min), fmtDuration(max))
	default:
		return d
	}
	return def
}

// parseDuration accepts Go durations (15m, 1h30m), whole days (7d, 1d12h)
// and plain seconds (900).
func parseDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, false
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, true
		}
		if s[0] < '0' || s[0] > '9' {
			return 0, false
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return days + d, true
}

var sizeRE = lazyRegexp(`^([0-9]{1,13})(B|KB|MB|GB|KiB|MiB|GiB)?$`)

// parseSize reads bytes, or a number with a unit: KiB, MiB, GiB (powers of
// 1024), KB, MB, GB (powers of 1000).
func parseSize(s string) (int64, bool) {
	m := sizeRE().FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]
	if n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}

func validName(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validOp(op presign.Op) bool {
	for _, o := range presign.Ops {
		if op == o {
			return true
		}
	}
	return false
}

// validRegion accepts what can be a SigV4 credential scope's region.
func validRegion(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// printableNoSpace reports whether s is 1..max bytes of printable
// characters other than spaces.
func printableNoSpace(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0xfffd {
			return false
		}
	}
	return true
}

// validClaimName accepts a JWT claim name: printable ASCII without spaces,
// braces or '*', at most 128 bytes (namespaced claims such as
// https://example.com/roles included).
func validClaimName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '{' || c == '}' || c == '*' {
			return false
		}
	}
	return true
}

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("is not a listen address like :8080 or 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("has no port number 0..65535")
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("is not a listen address like :8080 or 127.0.0.1:8080")
	}
	return nil
}

func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("is not an https URL like https://auth.example.com/.well-known/jwks.json")
	}
	if u.User != nil {
		return fmt.Errorf("must not hold user info")
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment", s)
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip := net.ParseIP(h); !(h == "localhost" || ip != nil && ip.IsLoopback()) {
			return fmt.Errorf("%q must be https (http only for localhost): keys fetched in clear can be forged", s)
		}
	}
	return nil
}

// quoteURL quotes an endpoint for a message, unless it carries user info.
func quoteURL(s string) string {
	// Any '@' may mark user info (a password), even in a URL that does not
	// parse.
	if strings.Contains(s, "@") {
		return "the URL (with user info, not shown)"
	}
	return strconv.Quote(s)
}

func ptr[T any](v T) *T { return &v }
