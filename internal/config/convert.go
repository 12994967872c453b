package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/awscreds"
	"presign.dev/internal/jwtauth"
	"presign.dev/internal/quotastore"
	"presign.dev/internal/ratelimit"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/receipt"
	"presign.dev/sigv4"
	"presign.dev/webhook"
)

// convert turns the schema, file and environment merged, into the
// configuration: it parses what is written as text (durations, sizes,
// hashes), expands ${env:NAME}, and has each owning package validate its
// part, locating the problems.
func (r *reader) convert(f *fileConfig) Config {
	c := Config{Source: r.name, Addr: ":8080"}
	if c.Source == "" {
		c.Source = SourceEnvironment
	}
	if listen := r.str("listen", f.Listen); listen != "" {
		c.Addr = listen
		if err := checkListen(listen); err != nil {
			r.errf("listen", "%q %v", listen, err)
		}
	}
	if f.PublicURL != nil {
		c.PublicURL = r.str("public_url", f.PublicURL)
		if err := httpapi.ValidatePublicURL(c.PublicURL); err != nil {
			r.errf("public_url", "%s", presign.ErrorMessage(err))
		}
	}
	if d := f.Defaults; d != nil {
		c.Expires = r.dur("defaults.expires", d.Expires)
		c.MaxExpires = r.dur("defaults.max_expires", d.MaxExpires)
	}
	if f.CORS != nil {
		for i, o := range f.CORS.Origins {
			path := presign.Index("cors.origins", i)
			n, err := httpapi.NormalizeOrigin(r.expand(path, o))
			if err != nil {
				r.errf(path, "%s", presign.ErrorMessage(err))
				continue
			}
			c.CORSOrigins = append(c.CORSOrigins, n)
		}
	}
	c.LogLevel, c.LogFormat = slog.LevelInfo, "json"
	if lg := f.Log; lg != nil {
		if lvl := r.str("log.level", lg.Level); lvl != "" {
			var ok bool
			if c.LogLevel, ok = parseLogLevel(lvl); !ok {
				r.errf("log.level", "%q must be debug, info, warn or error", lvl)
			}
		}
		if lf := r.str("log.format", lg.Format); lf != "" {
			c.LogFormat = lf
			if lf != "json" && lf != "text" {
				r.errf("log.format", "%q must be json or text", lf)
			}
		}
	}

	for i, fb := range f.Backends {
		b := r.backend(presign.Index("backends", i), fb)
		if fb.Credentials != nil {
			if cc, ok := r.credentialConfig(presign.Index("backends", i), *fb.Credentials, b); ok {
				if c.Credentials == nil {
					c.Credentials = map[string]awscreds.Config{}
				}
				c.Credentials[b.Name] = cc
			}
		}
		c.Backends = append(c.Backends, b)
	}
	if f.Uploads != nil {
		c.Uploads = r.uploads(f.Uploads)
	}
	if f.Limits != nil {
		c.Limits = r.limits(f.Limits)
	}
	c.ShutdownTimeout = DefaultShutdownTimeout
	if sd := f.Shutdown; sd != nil {
		c.ShutdownDelay = r.shutdownDur("shutdown.delay", sd.Delay, 0)
		c.ShutdownTimeout = r.shutdownDur("shutdown.timeout", sd.Timeout, DefaultShutdownTimeout)
	}
	r.addProblems("", c.IssuerConfig().Validate(), map[string]string{
		"default_expires": "defaults.expires", "max_expires": "defaults.max_expires",
	})

	var auth fileAuth
	if f.Auth != nil {
		auth = *f.Auth
	}
	r.apiKeys(&c, auth.APIKeys)
	for i, fj := range auth.JWT {
		c.JWT = append(c.JWT, r.jwtIssuer(presign.Index("auth.jwt", i), fj))
	}
	r.addProblems("auth.jwt", jwtauth.ValidateIssuers(c.JWT), nil)

	get := envGetter(r.lookup)
	switch v := strings.ToLower(get("PRESIGN_PLATFORM_AUTH")); v {
	case "", PlatformIAM, PlatformJWT:
		c.PlatformAuth = v
	default:
		r.envErrf("PRESIGN_PLATFORM_AUTH", "%q must be %s or %s (or unset)", v, PlatformIAM, PlatformJWT)
	}
	for i, fr := range f.Rules {
		rule := r.rule(presign.Index("rules", i), fr)
		c.AllowAnonymous = c.AllowAnonymous || rule.Who.Anonymous
		c.Rules = append(c.Rules, rule)
	}
	r.addProblems("rules", policy.ValidateRules(c.Rules, c.PolicyRefs()), nil)

	// Uploads, and Companion's routes, need the secrets that sign their
	// tokens: without them every upload would be refused at run time.
	if len(c.Uploads.Secrets) == 0 {
		addSecrets := "add uploads.secrets (or set PRESIGN_UPLOAD_SECRETS)"
		if r.name == "" {
			addSecrets = "set PRESIGN_UPLOAD_SECRETS"
		}
		if f.Uploads != nil {
			r.errf("uploads.secrets", "required: at least one {id, secret: ${env:NAME}}; the secrets sign the upload tokens")
		}
		for i, rule := range c.Rules {
			if slices.Contains(rule.Ops, presign.OpMultipart) {
				r.errf(presign.Index("rules", i)+".ops", "multipart needs upload secrets, which sign the upload tokens: %s", addSecrets)
			}
		}
		if f.Companion != nil {
			r.errf("companion", "the Companion routes need upload secrets, which sign Uppy's upload and path tokens: %s", addSecrets)
		}
		// Receipts and webhooks come from POST /v1/uploads/complete, which
		// takes an upload token: without secrets they would never be sent.
		if f.Receipts != nil {
			r.errf("receipts", "receipts are signed by POST /v1/uploads/complete, which needs upload secrets (they sign the upload tokens): %s", addSecrets)
		}
		if len(f.Webhooks) > 0 {
			r.errf("webhooks", "upload.completed is sent by POST /v1/uploads/complete, which needs upload secrets (they sign the upload tokens): %s", addSecrets)
		}
		// The quota counts verified uploads, at complete.
		if c.Limits.Quota > 0 {
			r.errf("limits.quota", "the quota counts the uploads POST /v1/uploads/complete verifies, which needs upload secrets (they sign the upload tokens): %s", addSecrets)
		}
	}
	if fc := f.Companion; fc != nil {
		c.CompanionPath = DefaultCompanionPath
		if fc.Path != nil {
			c.CompanionPath = r.str("companion.path", fc.Path)
			if err := httpapi.ValidateCompanionPath(c.CompanionPath); err != nil {
				r.errf("companion.path", "%s", presign.ErrorMessage(err))
			}
		}
	}

	if f.Receipts != nil {
		c.ReceiptKeys = r.receiptKeys(f.Receipts)
	}
	for i, fw := range f.Webhooks {
		c.Webhooks = append(c.Webhooks, r.webhook(presign.Index("webhooks", i), fw))
	}
	r.addProblems("webhooks", webhook.ValidateEndpoints(c.Webhooks), nil)

	fileKeys := 0
	for _, k := range c.APIKeys {
		if !strings.HasPrefix(k.Name, envKeyPrefix) {
			fileKeys++
		}
	}
	switch a := strings.ToLower(get("PRESIGN_AUTH")); a {
	case "":
	case "none":
		c.AuthNone = true
		switch {
		case len(c.Rules) > 0:
			r.envErrf("PRESIGN_AUTH", "none runs without authentication and so without rules, but %s has %d; remove PRESIGN_AUTH or the rules", r.name, len(c.Rules))
		case fileKeys > 0 || len(c.JWT) > 0:
			r.envErrf("PRESIGN_AUTH", "none contradicts the auth section of %s; set one or the other", r.name)
		case len(c.APIKeys) > 0:
			r.envErrf("PRESIGN_AUTH", "none contradicts PRESIGN_API_KEYS; set one or the other")
		case c.PlatformAuth != "":
			r.envErrf("PRESIGN_PLATFORM_AUTH", "contradicts PRESIGN_AUTH=none; set one or the other")
		}
	default:
		r.envErrf("PRESIGN_AUTH", "%q: the only value is none (API keys are set with PRESIGN_API_KEYS or auth.api_keys)", a)
	}
	c.authGiven = len(auth.APIKeys) > 0 || len(auth.JWT) > 0 || c.AllowAnonymous ||
		get("PRESIGN_API_KEYS") != "" || get("PRESIGN_AUTH") != "" || get("PRESIGN_PLATFORM_AUTH") != ""
	if r.name != "" && len(f.Rules) == 0 && !c.AuthNone && (fileKeys > 0 || len(c.JWT) > 0) {
		// Without rules every caller may do everything (the
		// environment-only configuration); a file that names callers must
		// say what each may do.
		r.errf("rules", "required: the file names callers in auth but no rules, and without rules every caller could do every operation on every backend; add rules")
	}
	return c
}

// backend converts one backend; presign.Backend.Validate checks it.
func (r *reader) backend(path string, fb fileBackend) presign.Backend {
	b := presign.Backend{
		Name:     r.str(path+".name", fb.Name),
		Endpoint: r.str(path+".endpoint", fb.Endpoint),
		Region:   r.str(path+".region", fb.Region),
		Bucket:   r.str(path+".bucket", fb.Bucket),
	}
	b.Kind = presign.Kind(strings.ToLower(r.str(path+".kind", fb.Kind))) // an unknown kind passes through to Validate
	b.ServiceAccountKey = r.secret(path+".service_account_key", fb.ServiceAccountKey)
	if v := r.str(path+".provider", fb.Provider); v != "" {
		b.Provider, _ = presign.ParseProvider(v) // an unknown provider passes through to Validate
	}
	if v := r.str(path+".path_style", fb.PathStyle); v != "" {
		b.PathStyle, _ = presign.ParsePathStyle(v) // an invalid style passes through to Validate
	}
	b.Credentials.AccessKeyID = r.str(path+".access_key_id", fb.AccessKeyID)
	b.Credentials.SecretAccessKey = r.secret(path+".secret_access_key", fb.SecretAccessKey)
	b.Credentials.SessionToken = r.secret(path+".session_token", fb.SessionToken)
	if fb.AccountName != nil || fb.AccountKey != nil {
		// An Azure storage account signs as its name and key.
		if fb.AccessKeyID != nil || fb.SecretAccessKey != nil {
			r.errf(path+".account_name", "give the account (account_name, account_key) or access_key_id and secret_access_key, not both")
		}
		b.Credentials.AccessKeyID = r.str(path+".account_name", fb.AccountName)
		b.Credentials.SecretAccessKey = r.secret(path+".account_key", fb.AccountKey)
	}
	switch {
	case fb.Credentials != nil && b.Kind == presign.KindAzure && isAzureSource(r.str(path+".credentials.source", fb.Credentials.Source)):
		r.azureCredentials(path, *fb.Credentials, &b)
	case fb.Credentials != nil:
		r.azureFieldsElsewhere(path, *fb.Credentials)
		r.credentialSource(path, *fb.Credentials, &b)
	}
	b.MaxExpires = r.dur(path+".max_expires", fb.MaxExpires)
	b.NoPost = fb.Post != nil && !*fb.Post
	if caps := b.Capabilities(); fb.Post != nil && *fb.Post && caps.MaxExpires > 0 && !caps.Post {
		r.errf(path+".post", "true, but %s has no browser POST uploads that enforce a policy; remove it (presign answers post requests with 422 unsupported)", b.WithDefaults().StoreName())
	}
	return b
}

// credentialConfig reads a backend's credentials section; ok is false
// when the backend signs with its static keys. (r.backend has made the
// backend's CredentialSource from it already.)
func (r *reader) credentialConfig(path string, fc fileCredentials, b presign.Backend) (awscreds.Config, bool) {
	cp := path + ".credentials"
	cc := awscreds.Config{
		Source: r.str(cp+".source", fc.Source), Base: r.str(cp+".base", fc.Base), Static: b.Credentials,
		RoleARN: r.str(cp+".role_arn", fc.RoleARN), ExternalID: r.secret(cp+".external_id", fc.ExternalID),
		SessionName: r.str(cp+".session_name", fc.SessionName), SessionPolicy: r.str(cp+".session_policy", fc.SessionPolicy),
		Duration: r.dur(cp+".duration", fc.Duration), Region: r.str(cp+".region", fc.Region), STSEndpoint: r.str(cp+".sts_endpoint", fc.STSEndpoint),
	}
	return cc, b.CredentialSource != nil
}

// credentialSource reads a backend's credentials section: for a source
// other than static, the backend signs with what the source supplies
// (awscreds: the default chain, an assumed role), its static keys (if
// any) being the base an assumed role starts from.
// awscreds.Config.Validate checks it.
func (r *reader) credentialSource(path string, fc fileCredentials, b *presign.Backend) {
	cp := path + ".credentials"
	cc, _ := r.credentialConfig(path, fc, *b)
	var p awscreds.Provider
	var err error
	if cc.Source == awscreds.SourceStatic || cc.Source == "" && cc.Static.AccessKeyID != "" {
		// The static keys sign; what else the section says must fit them
		// (no role without assume_role).
		if ps := cc.Validate(); len(ps) > 0 {
			err = ps
		} else {
			return
		}
	} else {
		p, err = awscreds.New(cc, awscreds.Options{Lookup: r.lookup})
	}
	var ps presign.Problems
	switch {
	case errors.As(err, &ps):
		for _, pr := range ps {
			switch pr.Field {
			case "access_key_id", "secret_access_key", "session_token":
				r.errf(presign.Join(path, pr.Field), "%s", pr.Message)
			default:
				r.errf(presign.Join(cp, pr.Field), "%s", pr.Message)
			}
		}
	case err != nil:
		r.errf(cp+".source", "%s", presign.ErrorMessage(err))
	default:
		b.CredentialSource = awscreds.Source(p)
		b.Credentials = sigv4.Credentials{}
	}
}

// uploads converts the uploads section; presign.UploadsConfig.Validate
// checks it, with the rest of the issuer's configuration.
func (r *reader) uploads(fu *fileUploads) presign.UploadsConfig {
	u := presign.UploadsConfig{Expires: r.dur("uploads.expires", fu.Expires)}
	for i, fs := range fu.Secrets {
		path := presign.Index("uploads.secrets", i)
		if fs.Secret == nil {
			r.errf(path+".secret", "required: ${env:NAME}, a variable that holds at least %d random bytes", presign.MinTokenSecretSize)
		}
		u.Secrets = append(u.Secrets, presign.TokenSecret{
			ID:     r.str(path+".id", fs.ID),
			Secret: []byte(r.secret(path+".secret", fs.Secret)),
		})
	}
	return u
}

// receiptKeys converts the receipts section: each private key, an
// ${env:NAME} reference, parsed by receipt.ParseKey; receipt.ValidateKeys
// checks the list. No problem quotes a key.
func (r *reader) receiptKeys(fr *fileReceipts) []receipt.Key {
	if len(fr.Keys) == 0 {
		r.errf("receipts.keys", "required: at least one {id, private_key: ${env:NAME}}; the keys sign the receipts")
		return nil
	}
	keys := make([]receipt.Key, len(fr.Keys))
	for i, fk := range fr.Keys {
		path := presign.Index("receipts.keys", i)
		keys[i].ID = r.str(path+".id", fk.ID)
		if fk.PrivateKey == nil {
			r.errf(path+".private_key", "required: ${env:NAME}, a variable that holds an Ed25519 or P-256 private key (PEM, or the base64 of PKCS #8 DER)")
			continue
		}
		if text := r.secret(path+".private_key", fk.PrivateKey); text != "" {
			k, err := receipt.ParseKey(text)
			if err != nil {
				r.errf(path+".private_key", "%v", err)
				continue
			}
			keys[i].Private = k
		}
	}
	r.addProblems("receipts.keys", receipt.ValidateKeys(keys), nil)
	return keys
}

// limits converts the limits section: rate (ratelimit.ParseRate), burst
// a whole number, client_ip_header and on_store_error, checked by
// ratelimit.Config.Validate; quota a size, quota_period a duration (0:
// the quota never resets), checked by presign.QuotaConfig.Validate; store
// memory (the default) or redis, with redis_url, an ${env:NAME}
// reference, checked by quotastore.CheckRedisURL. No problem quotes the
// Redis URL, which may hold a password.
func (r *reader) limits(fl *fileLimits) Limits {
	var l Limits
	if rate := r.str("limits.rate", fl.Rate); rate != "" {
		rt, err := ratelimit.ParseRate(rate)
		if err != nil {
			r.errf("limits.rate", "%v", err)
		}
		l.Rate.Rate = rt
	}
	if b := r.str("limits.burst", fl.Burst); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		switch {
		case err != nil || n < 1:
			r.errf("limits.burst", "%q must be a whole number of requests, at least 1", b)
		case l.Rate.Rate.N == 0:
			r.errf("limits.burst", "applies to a rate: set limits.rate (PRESIGN_RATE_LIMIT) too, like 10/s")
		}
		l.Rate.Burst = n
	}
	l.Rate.ClientIPHeader = r.str("limits.client_ip_header", fl.ClientIPHeader)
	l.Rate.OnStoreError = r.str("limits.on_store_error", fl.OnStoreError)
	r.addProblems("limits", l.Rate.Validate(), nil)
	if q := r.str("limits.quota", fl.Quota); q != "" {
		n, ok := parseSize(q)
		switch {
		case !ok:
			r.errf("limits.quota", "%q is not a size like 10GiB (bytes, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)", q)
		case n == 0:
			r.errf("limits.quota", "is 0, which would mean no quota: leave limits out for none, or give at least 1 byte")
		}
		l.Quota = n
	} else if l.Rate.Rate.N == 0 {
		// A rate or a quota is what limits: without either the other
		// settings limit nothing.
		if r.name == "" {
			r.errf("limits.rate", "required (or PRESIGN_QUOTA) with the other limits' variables, which apply to them: the requests each caller may make, like 10/s")
		} else {
			r.errf("limits.rate", "required, or limits.quota: the requests each caller may make, like 10/s, or the bytes it may upload per quota_period, like 10GiB; without either the limits section limits nothing")
		}
	}
	if p := r.str("limits.quota_period", fl.QuotaPeriod); p != "" {
		d, ok := ParseDuration(p)
		if !ok {
			r.errf("limits.quota_period", "%q is not a duration like 24h, 7d or 3600 (seconds); 0, or left out, is a quota that never resets", p)
		}
		l.QuotaPeriod = d
	}
	l.Store = StoreMemory
	if st := r.str("limits.store", fl.Store); st != "" {
		l.Store = st
		if st != StoreMemory && st != StoreRedis {
			r.errf("limits.store", "%q must be memory (counts kept by this instance alone) or redis (shared by every instance)", st)
		}
	}
	switch {
	case l.Store == StoreRedis && fl.RedisURL == nil:
		what := "${env:NAME}, a variable that holds the Redis URL"
		if r.name == "" {
			what = "the Redis URL"
		}
		r.errf("limits.redis_url", "required with store redis: %s (redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS)", what)
	case l.Store == StoreRedis:
		l.RedisURL = r.secret("limits.redis_url", fl.RedisURL)
		if l.RedisURL != "" {
			if err := quotastore.CheckRedisURL(l.RedisURL); err != nil {
				r.errf("limits.redis_url", "%v", err)
			}
		}
	case fl.RedisURL != nil && l.Store == StoreMemory:
		r.errf("limits.redis_url", "is only for store redis; with store memory each instance keeps its own counts: set store: redis (PRESIGN_LIMITS_STORE=redis), or leave redis_url out")
	}
	// The service builds the store from Store and RedisURL; presign checks
	// the quota's other settings.
	r.addProblems("limits", l.QuotaConfig(storeToBuild{}).Validate(), map[string]string{"bytes": "quota", "period": "quota_period"})
	return l
}

// shutdownDur reads one of the shutdown durations: ParseDuration's
// grammar, at most 1h; 0 is allowed for the delay (its default) but not
// for the timeout, which would cut every in-flight request off.
func (r *reader) shutdownDur(path string, v *string, def time.Duration) time.Duration {
	s := r.str(path, v)
	if s == "" {
		return def
	}
	d, ok := ParseDuration(s)
	switch {
	case !ok:
		r.errf(path, "%q is not a duration like 5s, 1m or 30 (seconds)", s)
	case d > time.Hour:
		r.errf(path, "%s is over 1h: a drain that long outlives any orchestrator's grace period", presign.FormatDuration(d))
	case d == 0 && def != 0:
		r.errf(path, "is 0, which would cut every in-flight request off: give at least 1s, or leave it out for %s", presign.FormatDuration(def))
	}
	return d
}

// storeToBuild stands for the store of the quota's counts, which the
// service builds (the configuration chooses it, in Limits.Store), while
// presign.QuotaConfig.Validate checks the quota's other settings. It is
// never called.
type storeToBuild struct{ presign.QuotaStore }

// envWebhookName names the receiver of PRESIGN_WEBHOOK_URL.
const envWebhookName = "env"

// webhook converts one receiver; webhook.ValidateEndpoints checks them.
func (r *reader) webhook(path string, fw fileWebhook) webhook.Endpoint {
	e := webhook.Endpoint{
		Name:   r.str(path+".name", fw.Name),
		URL:    r.str(path+".url", fw.URL),
		Events: r.strs(path+".events", fw.Events),
	}
	if e.Name == envWebhookName && !r.fromEnv(path+".name") {
		r.errf(path+".name", "%q is reserved: it names the receiver of PRESIGN_WEBHOOK_URL", e.Name)
	}
	if fw.Secret == nil {
		r.errf(path+".secret", "required: ${env:NAME}, a variable that holds the receiver's Standard Webhooks secret (whsec_ and the base64 of at least %d random bytes)", webhook.MinSecretBytes)
	}
	e.Secret = r.secret(path+".secret", fw.Secret)
	if e.Events != nil && len(e.Events) == 0 {
		// Nil is every event; an empty list written out would silently
		// mean that.
		r.errf(path+".events", "is empty, which would mean every event: leave it out for every event, or list them (%s)", strings.Join(webhook.Events, ", "))
	}
	e.AllowPrivate = fw.AllowPrivate != nil && *fw.AllowPrivate
	return e
}

// DefaultCompanionPath is where the Companion routes are served when the
// file says companion: without a path.
const DefaultCompanionPath = "/companion"

// envKeyPrefix names the keys of PRESIGN_API_KEYS: env-1, env-2, ...
const envKeyPrefix = "env-"

// apiKeys reads auth.api_keys (PRESIGN_API_KEYS's included, env.go): the
// name each is known by in rules and logs, and the SHA-256 of its value;
// httpapi.ValidateAPIKeys checks them.
func (r *reader) apiKeys(c *Config, fks []fileAPIKey) {
	all := make([]httpapi.APIKey, len(fks)) // by index, for the problems' paths
	for i, fk := range fks {
		path := presign.Index("auth.api_keys", i)
		k := httpapi.APIKey{Name: r.str(path+".name", fk.Name)}
		n, isEnvName := strings.CutPrefix(k.Name, envKeyPrefix)
		if _, err := strconv.Atoi(n); isEnvName && err == nil && !r.fromEnv(path) {
			r.errf(path+".name", "%q is reserved: env-1, env-2, ... name the keys of PRESIGN_API_KEYS", k.Name)
		}
		h := strings.ToLower(r.str(path+".sha256", fk.SHA256))
		b, err := hex.DecodeString(h)
		switch {
		case h == "":
			r.errf(path+".sha256", "required: the SHA-256 of the key in hex (sha256sum), never the key itself")
		case err != nil || len(b) != sha256.Size:
			r.errf(path+".sha256", "must be 64 hex digits: the SHA-256 of the key (printf %%s KEY | sha256sum), never the key itself")
		default:
			copy(k.Hash[:], b)
			c.APIKeys = append(c.APIKeys, k)
		}
		all[i] = k
	}
	r.addProblems("auth.api_keys", httpapi.ValidateAPIKeys(all), nil)
}

// jwtIssuer converts one issuer; jwtauth.ValidateIssuers checks it.
func (r *reader) jwtIssuer(path string, fj fileJWT) jwtauth.IssuerConfig {
	j := jwtauth.IssuerConfig{
		Issuer:       r.str(path+".issuer", fj.Issuer),
		JWKSURL:      r.str(path+".jwks_url", fj.JWKSURL),
		ClockSkew:    r.dur(path+".clock_skew", fj.ClockSkew),
		SubjectClaim: r.str(path+".subject_claim", fj.SubjectClaim),
		GroupsClaim:  r.str(path+".groups_claim", fj.GroupsClaim),
	}
	j.Audience = r.strs(path+".audience", fj.Audience)
	j.Keys = r.strs(path+".keys", fj.Keys)
	if fj.HS256Secret != nil {
		j.HS256Secret = []byte(r.secret(path+".hs256_secret", fj.HS256Secret))
	}
	return j
}

// rule converts one rule; policy.ValidateRules checks it.
func (r *reader) rule(path string, fr fileRule) policy.Rule {
	rule := policy.Rule{
		Name:         r.str(path+".name", fr.Name),
		Backend:      r.str(path+".backend", fr.Backend),
		Keys:         r.strs(path+".keys", fr.Keys),
		GenerateKey:  r.str(path+".generate_key", fr.GenerateKey),
		ContentTypes: r.strs(path+".content_types", fr.ContentTypes),
		Metadata:     r.strs(path+".metadata", fr.Metadata),
		MaxExpires:   r.dur(path+".max_expires", fr.MaxExpires),
		Overwrite:    fr.Overwrite,
		Download:     fr.Download,
	}
	if fw := fr.Who; fw != nil {
		rule.Who = policy.Who{
			Anonymous:     fw.Anonymous != nil && *fw.Anonymous,
			Authenticated: fw.Authenticated != nil && *fw.Authenticated,
			APIKeys:       r.strs(path+".who.api_keys", fw.APIKeys),
			IAM:           r.strs(path+".who.iam", fw.IAM),
			Groups:        r.strs(path+".who.groups", fw.Groups),
		}
		if fw.Claims != nil {
			rule.Who.Claims = map[string][]string{}
			for _, name := range slices.Sorted(maps.Keys(fw.Claims)) {
				rule.Who.Claims[name] = r.strs(fieldPath(path+".who.claims", name), fw.Claims[name])
			}
		}
	}
	for _, op := range r.strs(path+".ops", fr.Ops) {
		rule.Ops = append(rule.Ops, presign.Op(op))
	}
	if fr.MaxSize != nil {
		p := path + ".max_size"
		if v := r.str(p, fr.MaxSize); v != "" {
			n, ok := parseSize(v)
			switch {
			case !ok:
				r.errf(p, "%q is not a size like 10MiB (bytes, KiB, MiB, GiB, or KB, MB, GB)", v)
			case n == 0:
				r.errf(p, "is 0, which would mean no limit of the rule's own: leave it out for that, or give at least 1 byte")
			}
			rule.MaxSize = n
		}
	}
	if fr.RequireChecksum != nil {
		rule.RequireChecksum = *fr.RequireChecksum
	}
	return rule
}

// str returns the string at path with its ${env:NAME} references expanded
// and surrounding spaces trimmed; "" when absent.
func (r *reader) str(path string, v *string) string {
	if v == nil {
		return ""
	}
	if r.fromEnv(path) {
		return *v // the environment's value, as set
	}
	return r.expand(path, strings.TrimSpace(*v))
}

// strs expands each string of a list; nil stays nil.
func (r *reader) strs(path string, vs []string) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = r.expand(presign.Index(path, i), strings.TrimSpace(v))
	}
	return out
}

// expand replaces every ${env:NAME} in v with the variable's value
// (trimmed); $${ is a literal ${. A malformed or unset reference is a
// problem at path.
func (r *reader) expand(path, v string) string {
	if !strings.Contains(v, "${") || r.fromEnv(path) {
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
		if !ok || !isEnvName(name) {
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
		r.expanded[path] = append(r.expanded[path], expansion{value: strings.TrimSpace(val), ref: "${env:" + name + "}"})
		v = v[i+end+1:]
	}
}

// isEnvName accepts an environment variable's name: a letter or '_', then
// letters, digits and '_'.
func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// secret returns the value of a secret field: in a file, exactly one
// ${env:NAME} reference (secrets do not belong in files); from the
// environment, as set. Neither the field's text nor the value is ever
// quoted in a problem.
func (r *reader) secret(path string, v *string) string {
	if v == nil {
		return ""
	}
	if r.fromEnv(path) {
		return *v
	}
	s := strings.TrimSpace(*v)
	name, ok := strings.CutPrefix(s, "${env:")
	name, closed := strings.CutSuffix(name, "}")
	switch {
	case s == "":
		r.errf(path, "is empty; write ${env:NAME} and set the variable")
		return ""
	case !ok || !closed || !isEnvName(name):
		r.errf(path, "must be one ${env:NAME} reference, not the secret itself: secrets do not belong in the file; set a variable and write ${env:NAME}")
		return ""
	}
	val, set := r.lookup(name)
	val = strings.TrimSpace(val)
	switch {
	case !set:
		r.errf(path, "${env:%s} refers to %s, which is not set", name, name)
	case val == "":
		r.errf(path, "${env:%s} refers to %s, which is empty", name, name)
	}
	return val
}

// dur reads a duration (ParseDuration's grammar); 0 when absent or not a
// duration (reported). Its range is the owning package's rule; an explicit
// zero, which those packages read as "the default", is refused here.
func (r *reader) dur(path string, v *string) time.Duration {
	s := r.str(path, v)
	if s == "" {
		return 0
	}
	d, ok := ParseDuration(s)
	switch {
	case !ok:
		r.errf(path, "%q is not a duration like 15m, 1h30m, 7d or 900 (seconds)", s)
	case d == 0:
		// Zero is how a setting says "the default" to the packages that
		// own it; written out, it would silently mean that.
		r.errf(path, "is 0, which would mean the default: leave it out (or unset the variable) for the default, or give at least 1s")
	}
	return d
}

// ParseDuration reads a duration as configuration writes them, in the
// file and in variables alike: Go durations (15m, 1h30m), whole days (7d,
// 1d12h) and plain seconds (900).
func ParseDuration(s string) (time.Duration, bool) {
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

// parseSize reads bytes, or a number with a unit: KiB, MiB, GiB, TiB
// (powers of 1024), KB, MB, GB, TB (powers of 1000).
func parseSize(s string) (int64, bool) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 13 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	mult, known := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[s[i:]]
	if err != nil || !known || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}

func parseLogLevel(v string) (slog.Level, bool) {
	switch strings.ToLower(v) {
	case "info":
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

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, " /") {
		return fmt.Errorf("is not a listen address like :8080 or 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("has no port number 0..65535")
	}
	return nil
}
