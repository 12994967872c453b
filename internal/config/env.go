package config

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"presign.dev/httpapi"
	"presign.dev/presign"
)

// applyEnv writes the environment's settings into f, into the very fields
// a file would set, and records which variable set each, so that the one
// converter reads both and a problem names the variable:
//
//	PRESIGN_ADDR, else PORT (as ":PORT")   listen
//	PRESIGN_EXPIRES, PRESIGN_MAX_EXPIRES   defaults.expires, defaults.max_expires
//	PRESIGN_CORS_ORIGINS                   cors.origins (replaced, not merged)
//	PRESIGN_LOG_LEVEL, PRESIGN_LOG_FORMAT  log.level, log.format
//	PRESIGN_S3_ENDPOINT, _REGION, _BUCKET,
//	_PATH_STYLE, _PROVIDER                 backends[0].endpoint, region, bucket, path_style, provider
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//	AWS_SESSION_TOKEN                      backends[0]'s credentials, only when the file gives none
//	PRESIGN_API_KEYS                       auth.api_keys, added, named env-1, env-2, ...
//	PRESIGN_UPLOAD_SECRETS                 uploads.secrets (replaced, not merged): ID:SECRET,...
//	PRESIGN_COMPANION_PATH                 companion.path (and so companion, on)
//	PRESIGN_RECEIPT_KEYS                   receipts.keys (replaced, not merged): ID:KEY,... (base64 of PKCS #8 DER)
//	PRESIGN_WEBHOOK_URL, _SECRET,
//	_ALLOW_PRIVATE                         webhooks, one added, named "env" (every event)
//	PRESIGN_PUBLIC_URL                     public_url
//	PRESIGN_RATE_LIMIT, PRESIGN_RATE_BURST limits.rate, limits.burst
//	PRESIGN_CLIENT_IP_HEADER               limits.client_ip_header
//	PRESIGN_LIMITS_ON_STORE_ERROR          limits.on_store_error: open or closed
//	PRESIGN_QUOTA, PRESIGN_QUOTA_PERIOD    limits.quota, limits.quota_period
//	PRESIGN_LIMITS_STORE                   limits.store: memory or redis
//	PRESIGN_REDIS_URL                      limits.redis_url (a secret: it may hold a password)
//	PRESIGN_SHUTDOWN_DELAY, _TIMEOUT       shutdown.delay, shutdown.timeout
//
// Without a file, or with a file that has no backends while
// PRESIGN_S3_BUCKET is set, backends[0] is made from the environment and
// named "default".
func (r *reader) applyEnv(f *fileConfig) {
	get := envGetter(r.lookup)
	set := func(path, name string) *string {
		v := get(name)
		if v == "" {
			return nil
		}
		r.envSet[path] = name
		return &v
	}
	override := func(dst **string, path, name string) {
		if v := set(path, name); v != nil {
			*dst = v
		}
	}

	override(&f.Listen, "listen", "PRESIGN_ADDR")
	override(&f.PublicURL, "public_url", "PRESIGN_PUBLIC_URL")
	if r.envSet["listen"] == "" {
		if port := get("PORT"); port != "" {
			v := ":" + port
			f.Listen = &v
			r.envSet["listen"] = "PORT"
		}
	}

	if f.Defaults == nil {
		f.Defaults = &fileDefaults{}
	}
	override(&f.Defaults.Expires, "defaults.expires", "PRESIGN_EXPIRES")
	override(&f.Defaults.MaxExpires, "defaults.max_expires", "PRESIGN_MAX_EXPIRES")

	if v := get("PRESIGN_CORS_ORIGINS"); v != "" {
		f.CORS = &fileCORS{Origins: splitList(v)}
		r.envSet["cors.origins"] = "PRESIGN_CORS_ORIGINS"
	}

	if f.Log == nil {
		f.Log = &fileLog{}
	}
	override(&f.Log.Level, "log.level", "PRESIGN_LOG_LEVEL")
	override(&f.Log.Format, "log.format", "PRESIGN_LOG_FORMAT")

	if len(f.Backends) == 0 && (r.name == "" || get("PRESIGN_S3_BUCKET") != "") {
		name := "default"
		f.Backends = []fileBackend{{Name: &name}}
		r.envBackend = true
	}
	if len(f.Backends) > 0 {
		b := &f.Backends[0]
		override(&b.Endpoint, "backends[0].endpoint", "PRESIGN_S3_ENDPOINT")
		override(&b.Provider, "backends[0].provider", "PRESIGN_S3_PROVIDER")
		override(&b.Region, "backends[0].region", "PRESIGN_S3_REGION")
		override(&b.Bucket, "backends[0].bucket", "PRESIGN_S3_BUCKET")
		override(&b.PathStyle, "backends[0].path_style", "PRESIGN_S3_PATH_STYLE")
		// The credentials are one setting, and the environment's fill it
		// only when the file gives none: AWS Lambda sets AWS_* to the
		// function's role in every process, which must not replace a
		// Storj or R2 key that the file names.
		// Nor do they fill a backend whose credentials come from elsewhere:
		// a source (which reads the environment itself), or a GCS or Azure
		// key.
		fromSource := b.Credentials != nil && b.Credentials.Source != nil && *b.Credentials.Source != "static"
		otherKind := b.Kind != nil && *b.Kind != "" && *b.Kind != string(presign.KindS3)
		if b.AccessKeyID == nil && b.SecretAccessKey == nil && b.SessionToken == nil && !fromSource && !otherKind &&
			b.AccountName == nil && b.AccountKey == nil && b.ServiceAccountKey == nil {
			b.AccessKeyID = set("backends[0].access_key_id", "AWS_ACCESS_KEY_ID")
			b.SecretAccessKey = set("backends[0].secret_access_key", "AWS_SECRET_ACCESS_KEY")
			b.SessionToken = set("backends[0].session_token", "AWS_SESSION_TOKEN")
			if b.SessionToken != nil && b.AccessKeyID == nil && b.SecretAccessKey == nil {
				r.envErrf("AWS_SESSION_TOKEN", "set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, whose session it belongs to")
			}
		}
	}

	r.envAPIKeys(f, get("PRESIGN_API_KEYS"))
	r.envUploadSecrets(f, get("PRESIGN_UPLOAD_SECRETS"))

	if v := get("PRESIGN_COMPANION_PATH"); v != "" {
		if f.Companion == nil {
			f.Companion = &fileCompanion{}
			r.envSet["companion"] = "PRESIGN_COMPANION_PATH" // the whole section
		} else {
			r.envSet["companion.path"] = "PRESIGN_COMPANION_PATH"
		}
		f.Companion.Path = &v
	}

	r.envReceiptKeys(f, get("PRESIGN_RECEIPT_KEYS"))
	r.envWebhook(f, get("PRESIGN_WEBHOOK_URL"), get("PRESIGN_WEBHOOK_SECRET"), get("PRESIGN_WEBHOOK_ALLOW_PRIVATE"))

	if anySet(get, "PRESIGN_RATE_LIMIT", "PRESIGN_RATE_BURST", "PRESIGN_CLIENT_IP_HEADER", "PRESIGN_LIMITS_ON_STORE_ERROR",
		"PRESIGN_QUOTA", "PRESIGN_QUOTA_PERIOD", "PRESIGN_LIMITS_STORE", "PRESIGN_REDIS_URL") {
		if f.Limits == nil {
			f.Limits = &fileLimits{}
		}
		override(&f.Limits.Rate, "limits.rate", "PRESIGN_RATE_LIMIT")
		override(&f.Limits.Burst, "limits.burst", "PRESIGN_RATE_BURST")
		override(&f.Limits.ClientIPHeader, "limits.client_ip_header", "PRESIGN_CLIENT_IP_HEADER")
		override(&f.Limits.OnStoreError, "limits.on_store_error", "PRESIGN_LIMITS_ON_STORE_ERROR")
		override(&f.Limits.Quota, "limits.quota", "PRESIGN_QUOTA")
		override(&f.Limits.QuotaPeriod, "limits.quota_period", "PRESIGN_QUOTA_PERIOD")
		override(&f.Limits.Store, "limits.store", "PRESIGN_LIMITS_STORE")
		override(&f.Limits.RedisURL, "limits.redis_url", "PRESIGN_REDIS_URL")
	}
	if anySet(get, "PRESIGN_SHUTDOWN_DELAY", "PRESIGN_SHUTDOWN_TIMEOUT") {
		if f.Shutdown == nil {
			f.Shutdown = &fileShutdown{}
		}
		override(&f.Shutdown.Delay, "shutdown.delay", "PRESIGN_SHUTDOWN_DELAY")
		override(&f.Shutdown.Timeout, "shutdown.timeout", "PRESIGN_SHUTDOWN_TIMEOUT")
	}
}

// envReceiptKeys replaces receipts.keys with those of PRESIGN_RECEIPT_KEYS:
// comma-separated ID:KEY entries, KEY the base64 of a PKCS #8 DER private
// key, the first of which signs; each is set by "PRESIGN_RECEIPT_KEYS
// (entry N)", which problems name. No problem quotes a key.
func (r *reader) envReceiptKeys(f *fileConfig, v string) {
	if v == "" {
		return
	}
	if f.Receipts == nil {
		f.Receipts = &fileReceipts{}
		r.envSet["receipts"] = "PRESIGN_RECEIPT_KEYS" // the whole section
	} else {
		r.envSet["receipts.keys"] = "PRESIGN_RECEIPT_KEYS"
	}
	f.Receipts.Keys = nil
	for _, e := range r.envIDList("receipts.keys", "PRESIGN_RECEIPT_KEYS", v,
		"must be ID:KEY, an ID (a-z, 0-9 and '-') and, after a colon, the base64 of the private key's PKCS #8 DER") {
		f.Receipts.Keys = append(f.Receipts.Keys, fileReceiptKey{ID: &e.id, PrivateKey: &e.value})
	}
}

// idEntry is one ID:VALUE entry of a variable's list.
type idEntry struct{ id, value string }

// envIDList reads v, comma-separated ID:VALUE entries of the variable
// name, into the list at path: each entry is set by "NAME (entry N)",
// which problems name; an entry without a colon is the problem wrong
// (and its value, a secret maybe, is kept nowhere).
func (r *reader) envIDList(path, name, v, wrong string) []idEntry {
	var entries []idEntry
	for i, entry := range splitList(v) {
		ep := presign.Index(path, i)
		en := fmt.Sprintf("%s (entry %d)", name, i+1)
		r.envSet[ep] = en
		id, value, ok := strings.Cut(entry, ":")
		if !ok {
			r.envErrf(en, "%s", wrong)
			r.failed[ep] = true // no fields to check
			id, value = "", ""
		}
		entries = append(entries, idEntry{strings.TrimSpace(id), strings.TrimSpace(value)})
	}
	return entries
}

// envWebhook adds the receiver of PRESIGN_WEBHOOK_URL, signed with
// PRESIGN_WEBHOOK_SECRET, to webhooks, named "env", for every event;
// PRESIGN_WEBHOOK_ALLOW_PRIVATE=true lets it be on a private or loopback
// address. One without the other is a problem; no problem quotes the
// secret.
func (r *reader) envWebhook(f *fileConfig, url, secret, allowPrivate string) {
	switch {
	case url == "" && secret == "" && allowPrivate == "":
		return
	case url == "":
		if secret != "" {
			r.envErrf("PRESIGN_WEBHOOK_SECRET", "set without PRESIGN_WEBHOOK_URL, the receiver whose deliveries it signs")
		}
		if allowPrivate != "" {
			r.envErrf("PRESIGN_WEBHOOK_ALLOW_PRIVATE", "set without PRESIGN_WEBHOOK_URL, the receiver it applies to")
		}
		return
	case secret == "":
		r.envErrf("PRESIGN_WEBHOOK_URL", "set without PRESIGN_WEBHOOK_SECRET, the Standard Webhooks secret (whsec_...) that signs its deliveries")
		return
	}
	if len(f.Webhooks) == 0 {
		r.envSet["webhooks"] = "PRESIGN_WEBHOOK_URL" // the whole list
	}
	path := presign.Index("webhooks", len(f.Webhooks))
	name := envWebhookName
	wh := fileWebhook{Name: &name, URL: &url, Secret: &secret}
	r.envSet[path+".name"] = "PRESIGN_WEBHOOK_URL"
	r.envSet[path+".url"] = "PRESIGN_WEBHOOK_URL"
	r.envSet[path+".secret"] = "PRESIGN_WEBHOOK_SECRET"
	switch strings.ToLower(allowPrivate) {
	case "":
	case "true", "false":
		b := strings.ToLower(allowPrivate) == "true"
		wh.AllowPrivate = &b
	default:
		r.envErrf("PRESIGN_WEBHOOK_ALLOW_PRIVATE", "%q must be true or false", allowPrivate)
	}
	f.Webhooks = append(f.Webhooks, wh)
}

// envUploadSecrets replaces uploads.secrets with those of
// PRESIGN_UPLOAD_SECRETS: comma-separated ID:SECRET entries, the first of
// which signs; each is set by "PRESIGN_UPLOAD_SECRETS (entry N)", which
// problems name. No problem quotes a secret.
func (r *reader) envUploadSecrets(f *fileConfig, v string) {
	if v == "" {
		return
	}
	if f.Uploads == nil {
		f.Uploads = &fileUploads{}
	}
	f.Uploads.Secrets = nil
	r.envSet["uploads.secrets"] = "PRESIGN_UPLOAD_SECRETS"
	for _, e := range r.envIDList("uploads.secrets", "PRESIGN_UPLOAD_SECRETS", v,
		"must be ID:SECRET, an ID (a-z, 0-9 and '-') and the secret after a colon") {
		f.Uploads.Secrets = append(f.Uploads.Secrets, fileTokenSecret{ID: &e.id, Secret: &e.value})
	}
}

// envAPIKeys adds the keys of PRESIGN_API_KEYS to auth.api_keys: each its
// value (kept as its SHA-256, httpapi.HashAPIKey) or sha256:<hex>, named
// env-1, env-2, ... by position; each is set by "PRESIGN_API_KEYS (entry
// N)", which problems name. No problem quotes a key.
func (r *reader) envAPIKeys(f *fileConfig, v string) {
	for i, raw := range splitList(v) {
		hash, ok := strings.CutPrefix(raw, "sha256:")
		if !ok {
			sum, err := httpapi.HashAPIKey(raw)
			if err != nil {
				r.envErrf(fmt.Sprintf("PRESIGN_API_KEYS (entry %d)", i+1), "%s", presign.ErrorMessage(err))
				continue
			}
			hash = hex.EncodeToString(sum[:])
		}
		if f.Auth == nil {
			f.Auth = &fileAuth{}
		}
		name := "env-" + strconv.Itoa(i+1)
		path := presign.Index("auth.api_keys", len(f.Auth.APIKeys))
		r.envSet[path] = fmt.Sprintf("PRESIGN_API_KEYS (entry %d)", i+1)
		f.Auth.APIKeys = append(f.Auth.APIKeys, fileAPIKey{Name: &name, SHA256: &hash})
	}
}

func envGetter(lookup Lookup) func(string) string {
	return func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
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

// anySet reports whether any of the variables is set (not empty).
func anySet(get func(string) string, names ...string) bool {
	for _, n := range names {
		if get(n) != "" {
			return true
		}
	}
	return false
}
