package config

// The configuration's schema: what a YAML file holds, and what the
// environment fills in (PRESIGN_* and AWS_* write into the same fields,
// see env.go). Every leaf is a pointer or a slice, so that "absent" is told
// apart from "zero"; scalars are kept as written (numbers and booleans
// included) and parsed by the converter, so that every problem is reported
// at its path. The same types, with their omitempty tags, write the
// redacted effective configuration (redact.go).
type fileConfig struct {
	Listen *string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// PublicURL: presign's URL as clients reach it (receipts' iss, the
	// Companion endpoint).
	PublicURL *string       `yaml:"public_url,omitempty" json:"public_url,omitempty"`
	Defaults  *fileDefaults `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	CORS      *fileCORS     `yaml:"cors,omitempty" json:"cors,omitempty"`
	Log       *fileLog      `yaml:"log,omitempty" json:"log,omitempty"`
	Backends  []fileBackend `yaml:"backends,omitempty" json:"backends,omitempty"`
	Auth      *fileAuth     `yaml:"auth,omitempty" json:"auth,omitempty"`
	// Uploads: multipart uploads and their tokens.
	Uploads *fileUploads `yaml:"uploads,omitempty" json:"uploads,omitempty"`
	// Companion: Uppy Companion's S3 routes; present (even empty) is on.
	Companion *fileCompanion `yaml:"companion,omitempty" json:"companion,omitempty"`
	// Receipts: the keys that sign the receipts of verified uploads.
	Receipts *fileReceipts `yaml:"receipts,omitempty" json:"receipts,omitempty"`
	// Webhooks: the application's receivers of upload events.
	Webhooks []fileWebhook `yaml:"webhooks,omitempty" json:"webhooks,omitempty"`
	// Limits: the per-caller rate limit and quota, and where their counts
	// are kept.
	Limits *fileLimits `yaml:"limits,omitempty" json:"limits,omitempty"`
	// Shutdown: serve's drain on SIGTERM.
	Shutdown *fileShutdown `yaml:"shutdown,omitempty" json:"shutdown,omitempty"`
	Rules    []fileRule    `yaml:"rules,omitempty" json:"rules,omitempty"`
}

type fileDefaults struct {
	Expires    *string `yaml:"expires,omitempty" json:"expires,omitempty"`
	MaxExpires *string `yaml:"max_expires,omitempty" json:"max_expires,omitempty"`
}

type fileCORS struct {
	Origins []string `yaml:"origins,omitempty" json:"origins,omitempty"`
}

type fileLog struct {
	Level  *string `yaml:"level,omitempty" json:"level,omitempty"`
	Format *string `yaml:"format,omitempty" json:"format,omitempty"`
}

type fileBackend struct {
	Name            *string `yaml:"name,omitempty" json:"name,omitempty"`
	Kind            *string `yaml:"kind,omitempty" json:"kind,omitempty"`
	Provider        *string `yaml:"provider,omitempty" json:"provider,omitempty"`
	Endpoint        *string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region          *string `yaml:"region,omitempty" json:"region,omitempty"`
	Bucket          *string `yaml:"bucket,omitempty" json:"bucket,omitempty"`
	PathStyle       *string `yaml:"path_style,omitempty" json:"path_style,omitempty"`
	AccessKeyID     *string `yaml:"access_key_id,omitempty" json:"access_key_id,omitempty"`
	SecretAccessKey *string `yaml:"secret_access_key,omitempty" json:"secret_access_key,omitempty"`
	SessionToken    *string `yaml:"session_token,omitempty" json:"session_token,omitempty"`
	MaxExpires      *string `yaml:"max_expires,omitempty" json:"max_expires,omitempty"`
	Post            *bool   `yaml:"post,omitempty" json:"post,omitempty"`
	// kind gcs: a service account's JSON key (else access_key_id and
	// secret_access_key are an HMAC key).
	ServiceAccountKey *string `yaml:"service_account_key,omitempty" json:"service_account_key,omitempty"`
	// kind azure: the storage account and its key.
	AccountName *string `yaml:"account_name,omitempty" json:"account_name,omitempty"`
	AccountKey  *string `yaml:"account_key,omitempty" json:"account_key,omitempty"`
	// Credentials says where the signing credentials come from (kind s3),
	// or the tokens that get user delegation keys (kind azure).
	Credentials *fileCredentials `yaml:"credentials,omitempty" json:"credentials,omitempty"`
}

type fileCredentials struct {
	Source        *string `yaml:"source,omitempty" json:"source,omitempty"`
	Base          *string `yaml:"base,omitempty" json:"base,omitempty"`
	RoleARN       *string `yaml:"role_arn,omitempty" json:"role_arn,omitempty"`
	ExternalID    *string `yaml:"external_id,omitempty" json:"external_id,omitempty"`
	SessionName   *string `yaml:"session_name,omitempty" json:"session_name,omitempty"`
	SessionPolicy *string `yaml:"session_policy,omitempty" json:"session_policy,omitempty"`
	Duration      *string `yaml:"duration,omitempty" json:"duration,omitempty"`
	Region        *string `yaml:"region,omitempty" json:"region,omitempty"`
	STSEndpoint   *string `yaml:"sts_endpoint,omitempty" json:"sts_endpoint,omitempty"`
	// kind azure (azure.go): the token file of source azure_token, the
	// managed identity of source azure_managed_identity, and how long each
	// user delegation key lives.
	TokenFile   *string `yaml:"token_file,omitempty" json:"token_file,omitempty"`
	ClientID    *string `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	KeyLifetime *string `yaml:"key_lifetime,omitempty" json:"key_lifetime,omitempty"`
}

type fileAuth struct {
	APIKeys []fileAPIKey `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	JWT     []fileJWT    `yaml:"jwt,omitempty" json:"jwt,omitempty"`
}

type fileAPIKey struct {
	Name   *string `yaml:"name,omitempty" json:"name,omitempty"`
	SHA256 *string `yaml:"sha256,omitempty" json:"sha256,omitempty"`
}

type fileJWT struct {
	Issuer       *string  `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	Audience     []string `yaml:"audience,omitempty" json:"audience,omitempty"`
	JWKSURL      *string  `yaml:"jwks_url,omitempty" json:"jwks_url,omitempty"`
	Keys         []string `yaml:"keys,omitempty" json:"keys,omitempty"`
	HS256Secret  *string  `yaml:"hs256_secret,omitempty" json:"hs256_secret,omitempty"`
	ClockSkew    *string  `yaml:"clock_skew,omitempty" json:"clock_skew,omitempty"`
	SubjectClaim *string  `yaml:"subject_claim,omitempty" json:"subject_claim,omitempty"`
	GroupsClaim  *string  `yaml:"groups_claim,omitempty" json:"groups_claim,omitempty"`
}

type fileRule struct {
	Name         *string  `yaml:"name,omitempty" json:"name,omitempty"`
	Who          *fileWho `yaml:"who,omitempty" json:"who,omitempty"`
	Ops          []string `yaml:"ops,omitempty" json:"ops,omitempty"`
	Backend      *string  `yaml:"backend,omitempty" json:"backend,omitempty"`
	Keys         []string `yaml:"keys,omitempty" json:"keys,omitempty"`
	GenerateKey  *string  `yaml:"generate_key,omitempty" json:"generate_key,omitempty"`
	MaxSize      *string  `yaml:"max_size,omitempty" json:"max_size,omitempty"`
	ContentTypes []string `yaml:"content_types,omitempty" json:"content_types,omitempty"`
	MaxExpires   *string  `yaml:"max_expires,omitempty" json:"max_expires,omitempty"`
	Overwrite    *bool    `yaml:"overwrite,omitempty" json:"overwrite,omitempty"`
	Download     *bool    `yaml:"download,omitempty" json:"download,omitempty"`
	// Metadata: the x-amz-meta-* names uploads may set (default none).
	Metadata []string `yaml:"metadata,omitempty" json:"metadata,omitempty"`
	// RequireChecksum: put uploads must declare content_md5 or checksum_sha256.
	RequireChecksum *bool `yaml:"require_checksum,omitempty" json:"require_checksum,omitempty"`
}

type fileUploads struct {
	Secrets []fileTokenSecret `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Expires *string           `yaml:"expires,omitempty" json:"expires,omitempty"`
}

type fileTokenSecret struct {
	ID     *string `yaml:"id,omitempty" json:"id,omitempty"`
	Secret *string `yaml:"secret,omitempty" json:"secret,omitempty"`
}

type fileCompanion struct {
	Path *string `yaml:"path,omitempty" json:"path,omitempty"`
}

type fileReceipts struct {
	Keys []fileReceiptKey `yaml:"keys,omitempty" json:"keys,omitempty"`
}

type fileReceiptKey struct {
	ID         *string `yaml:"id,omitempty" json:"id,omitempty"`
	PrivateKey *string `yaml:"private_key,omitempty" json:"private_key,omitempty"`
}

type fileWebhook struct {
	Name         *string  `yaml:"name,omitempty" json:"name,omitempty"`
	URL          *string  `yaml:"url,omitempty" json:"url,omitempty"`
	Secret       *string  `yaml:"secret,omitempty" json:"secret,omitempty"`
	Events       []string `yaml:"events,omitempty" json:"events,omitempty"`
	AllowPrivate *bool    `yaml:"allow_private,omitempty" json:"allow_private,omitempty"`
}

type fileLimits struct {
	// Rate and Burst: each caller's token bucket (ratelimit.Config).
	Rate           *string `yaml:"rate,omitempty" json:"rate,omitempty"`
	Burst          *string `yaml:"burst,omitempty" json:"burst,omitempty"`
	ClientIPHeader *string `yaml:"client_ip_header,omitempty" json:"client_ip_header,omitempty"`
	OnStoreError   *string `yaml:"on_store_error,omitempty" json:"on_store_error,omitempty"`
	Quota          *string `yaml:"quota,omitempty" json:"quota,omitempty"`
	QuotaPeriod    *string `yaml:"quota_period,omitempty" json:"quota_period,omitempty"`
	Store          *string `yaml:"store,omitempty" json:"store,omitempty"`
	RedisURL       *string `yaml:"redis_url,omitempty" json:"redis_url,omitempty"`
}

// fileShutdown: how serve stops on SIGTERM.
type fileShutdown struct {
	Delay   *string `yaml:"delay,omitempty" json:"delay,omitempty"`
	Timeout *string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

type fileWho struct {
	Anonymous     *bool               `yaml:"anonymous,omitempty" json:"anonymous,omitempty"`
	Authenticated *bool               `yaml:"authenticated,omitempty" json:"authenticated,omitempty"`
	APIKeys       []string            `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	IAM           []string            `yaml:"iam,omitempty" json:"iam,omitempty"`
	Groups        []string            `yaml:"groups,omitempty" json:"groups,omitempty"`
	Claims        map[string][]string `yaml:"claims,omitempty" json:"claims,omitempty"`
}
