package config

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"presign.dev/internal/awscreds"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/webhook"
)

// redacted is the placeholder of every secret in Redacted's output.
const redacted = "<redacted>"

// Redacted returns the effective configuration in the file's schema (it
// marshals to YAML or JSON): every value that applies, defaults included
// as the owning packages fill them in, with every secret (receipt keys,
// webhook secrets and the Redis URL included) replaced by "<redacted>",
// API key hashes shortened to their first 8 hex digits and "…", and URL
// queries (which may carry a token) redacted. The env-only configuration shows as the
// file that would say the same, its backend named "default".
func (c Config) Redacted() any {
	ic := c.IssuerConfig().WithDefaults()
	f := &fileConfig{
		Listen:   ptr(c.Addr),
		Defaults: &fileDefaults{Expires: ptr(presign.FormatDuration(ic.DefaultExpires)), MaxExpires: ptr(presign.FormatDuration(ic.MaxExpires))},
		Log:      &fileLog{Level: ptr(levelName(c.LogLevel)), Format: ptr(c.LogFormat)},
	}
	if c.PublicURL != "" {
		f.PublicURL = ptr(c.PublicURL)
	}
	if len(c.CORSOrigins) > 0 {
		f.CORS = &fileCORS{Origins: append([]string(nil), c.CORSOrigins...)}
	}
	for _, b := range ic.Backends {
		fb := fileBackend{
			Name:        ptr(b.Name),
			Kind:        ptr(string(b.Kind)),
			Provider:    optional(string(b.Provider)),
			Endpoint:    ptr(b.Endpoint),
			Region:      ptr(b.Region),
			Bucket:      ptr(b.Bucket),
			PathStyle:   ptr(string(b.PathStyle)),
			AccessKeyID: optional(b.Credentials.AccessKeyID),
			MaxExpires:  ptr(presign.FormatDuration(b.MaxExpires)),
			Post:        ptr(b.Capabilities().Post),
		}
		if b.Credentials.SecretAccessKey != "" {
			fb.SecretAccessKey = ptr(redacted)
		}
		if b.Credentials.SessionToken != "" {
			fb.SessionToken = ptr(redacted)
		}
		if b.ServiceAccountKey != "" {
			fb.ServiceAccountKey = ptr(redacted)
		}
		if b.Kind == presign.KindAzure {
			// The account signs: its name and key, in the file's terms.
			fb.AccountName, fb.AccessKeyID = fb.AccessKeyID, nil
			fb.AccountKey, fb.SecretAccessKey = fb.SecretAccessKey, nil
			fb.Region, fb.PathStyle = nil, nil
		}
		if b.AzureKeys != nil {
			fb.Credentials = effectiveAzureCredentials(b.AzureKeys)
		}
		if cc, ok := c.Credentials[b.Name]; ok {
			fb.AccessKeyID = nil // the source's, not static keys
			fb.Credentials = effectiveCredentials(cc)
		}
		f.Backends = append(f.Backends, fb)
	}
	if len(c.APIKeys) > 0 || len(c.JWT) > 0 {
		f.Auth = &fileAuth{}
	}
	for _, k := range c.APIKeys {
		f.Auth.APIKeys = append(f.Auth.APIKeys, fileAPIKey{Name: ptr(k.Name), SHA256: ptr(hex.EncodeToString(k.Hash[:4]) + "…")})
	}
	for _, j := range c.JWT {
		j = j.WithDefaults()
		fj := fileJWT{
			Issuer:       ptr(j.Issuer),
			Audience:     append([]string(nil), j.Audience...),
			Keys:         append([]string(nil), j.Keys...),
			ClockSkew:    ptr(presign.FormatDuration(j.ClockSkew)),
			SubjectClaim: ptr(j.SubjectClaim),
			GroupsClaim:  ptr(j.GroupsClaim),
		}
		if j.JWKSURL != "" {
			fj.JWKSURL = ptr(withoutQuery(j.JWKSURL))
		}
		if len(j.HS256Secret) > 0 {
			fj.HS256Secret = ptr(redacted)
		}
		f.Auth.JWT = append(f.Auth.JWT, fj)
	}
	if len(c.Uploads.Secrets) > 0 || c.Uploads.Expires != 0 {
		f.Uploads = &fileUploads{Expires: ptr(presign.FormatDuration(ic.Uploads.Expires))}
		for _, s := range c.Uploads.Secrets {
			f.Uploads.Secrets = append(f.Uploads.Secrets, fileTokenSecret{ID: ptr(s.ID), Secret: ptr(redacted)})
		}
	}
	if c.CompanionPath != "" {
		f.Companion = &fileCompanion{Path: ptr(c.CompanionPath)}
	}
	if len(c.ReceiptKeys) > 0 {
		f.Receipts = &fileReceipts{}
		for _, k := range c.ReceiptKeys {
			f.Receipts.Keys = append(f.Receipts.Keys, fileReceiptKey{ID: ptr(k.ID), PrivateKey: ptr(redacted)})
		}
	}
	for _, w := range c.Webhooks {
		fw := fileWebhook{Name: ptr(w.Name), URL: ptr(withoutQuery(w.URL)), Secret: ptr(redacted),
			Events: append([]string(nil), w.Events...), AllowPrivate: ptr(w.AllowPrivate)}
		if len(fw.Events) == 0 {
			fw.Events = append([]string(nil), webhook.Events...) // none listed: every event
		}
		f.Webhooks = append(f.Webhooks, fw)
	}
	if l := c.Limits; l.Quota > 0 || l.Rate.Rate.N > 0 {
		f.Limits = &fileLimits{Store: ptr(l.Store)}
		if l.Rate.Rate.N > 0 {
			rl := l.Rate.WithDefaults()
			f.Limits.Rate, f.Limits.Burst, f.Limits.OnStoreError = ptr(rl.Rate.String()), ptr(strconv.FormatInt(rl.Burst, 10)), ptr(rl.OnStoreError)
			f.Limits.ClientIPHeader = optional(rl.ClientIPHeader)
		}
		if l.Quota > 0 {
			f.Limits.Quota, f.Limits.QuotaPeriod = ptr(policy.FormatSize(l.Quota)), ptr(presign.FormatDuration(l.QuotaPeriod))
		}
		if l.RedisURL != "" {
			f.Limits.RedisURL = ptr(redacted) // it may hold a password
		}
	}
	f.Shutdown = &fileShutdown{Delay: ptr(presign.FormatDuration(c.ShutdownDelay)), Timeout: ptr(presign.FormatDuration(c.ShutdownTimeout))}
	for _, r := range c.Rules {
		r = r.WithDefaults()
		fr := fileRule{
			Name:         ptr(r.Name),
			Who:          &fileWho{APIKeys: r.Who.APIKeys, IAM: r.Who.IAM, Groups: r.Who.Groups, Claims: r.Who.Claims},
			Keys:         r.Keys,
			ContentTypes: r.ContentTypes,
			Metadata:     r.Metadata,
			Overwrite:    r.Overwrite,
			Download:     r.Download,
		}
		if r.RequireChecksum {
			fr.RequireChecksum = ptr(true)
		}
		if r.Who.Anonymous {
			fr.Who.Anonymous = ptr(true)
		}
		if r.Who.Authenticated {
			fr.Who.Authenticated = ptr(true)
		}
		for _, op := range r.Ops {
			fr.Ops = append(fr.Ops, string(op))
		}
		if r.Backend != "" {
			fr.Backend = ptr(r.Backend)
		}
		if r.GenerateKey != "" {
			fr.GenerateKey = ptr(r.GenerateKey)
		}
		// The limits that apply when the rule sets none.
		if slices.ContainsFunc(r.Ops, presign.Op.IsUpload) && fr.Overwrite == nil {
			fr.Overwrite = ptr(true)
		}
		if slices.Contains(r.Ops, presign.OpGet) && fr.Download == nil {
			fr.Download = ptr(true)
		}
		// The global cap, and the backend's when the rule names one (with
		// several backends, each backend's own cap is printed above).
		cap := ic.MaxExpires
		for _, b := range ic.Backends {
			if b.Name == r.Backend || len(ic.Backends) == 1 {
				cap = min(cap, b.MaxExpires)
			}
		}
		if r.MaxExpires == 0 || r.MaxExpires > cap {
			r.MaxExpires = cap
		}
		if r.MaxSize != 0 {
			fr.MaxSize = ptr(policy.FormatSize(r.MaxSize))
		}
		fr.MaxExpires = ptr(presign.FormatDuration(r.MaxExpires))
		f.Rules = append(f.Rules, fr)
	}
	return f
}

// WriteRedacted writes Redacted as YAML, after a comment naming the source
// and, when set, the open mode of PRESIGN_AUTH=none.
func (c Config) WriteRedacted(w io.Writer) error {
	var b strings.Builder
	if c.Source == "" || c.Source == SourceEnvironment {
		fmt.Fprintf(&b, "# presign: effective configuration, from the environment\n")
	} else {
		fmt.Fprintf(&b, "# presign: effective configuration, from %s and the environment\n", strings.ReplaceAll(c.Source, "\n", " "))
	}
	if c.AuthNone {
		b.WriteString("# PRESIGN_AUTH=none: no authentication; anyone who can reach the service gets GET and PUT URLs\n")
	}
	if c.PlatformAuth != "" {
		fmt.Fprintf(&b, "# PRESIGN_PLATFORM_AUTH=%s: callers come from the Lambda platform's verified request context\n", c.PlatformAuth)
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// withoutQuery shows a URL without its query, which may carry a token.
func withoutQuery(u string) string {
	if base, _, found := strings.Cut(u, "?"); found {
		return base + "?" + redacted
	}
	return u
}

func levelName(l slog.Level) string {
	switch l {
	case slog.LevelDebug:
		return "debug"
	case slog.LevelWarn:
		return "warn"
	case slog.LevelError:
		return "error"
	}
	return "info"
}

func ptr[T any](v T) *T { return &v }

// effectiveCredentials prints a backend's credentials section: the source
// and, for assume_role, the role (the external ID redacted).
func effectiveCredentials(cc awscreds.Config) *fileCredentials {
	fc := &fileCredentials{Source: ptr(cmp.Or(cc.Source, awscreds.SourceAWSDefault))}
	if cc.Source != awscreds.SourceAssumeRole {
		return fc
	}
	fc.Base, fc.RoleARN, fc.SessionName = optional(cc.Base), ptr(cc.RoleARN), optional(cc.SessionName)
	fc.SessionPolicy, fc.Region, fc.STSEndpoint = optional(cc.SessionPolicy), optional(cc.Region), optional(cc.STSEndpoint)
	if cc.ExternalID != "" {
		fc.ExternalID = ptr(redacted)
	}
	if cc.Duration > 0 {
		fc.Duration = ptr(presign.FormatDuration(cc.Duration))
	}
	return fc
}

// optional points at v, or is nil for "" (a field left out).
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return ptr(v)
}
