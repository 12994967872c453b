package config

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/httpapi"
	"presign.dev/internal/jwtauth"
	"presign.dev/internal/quotastore"
	"presign.dev/internal/ratelimit"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/receipt"
	"presign.dev/sigv4"
	"presign.dev/webhook"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// exampleEnv provides the variables examples/presign.yaml refers to.
func exampleEnv() map[string]string {
	return map[string]string{
		"STORJ_ACCESS_KEY_ID": "storj-access", "STORJ_SECRET_ACCESS_KEY": "storj-secret-value-1",
		"R2_ACCOUNT_ID": "acct123", "R2_ACCESS_KEY_ID": "r2-access", "R2_SECRET_ACCESS_KEY": "r2-secret-value-2",
		"UPLOAD_SECRET": "upload-secret-value-0123456789abcdef",
		"RECEIPT_KEY":   "MC4CAQAwBQYDK2VwBCIEIJvVF/GCGnTPRQxnUNKZ4O2svuJng9Hxj+KLENLvJjDu", "WEBHOOK_SECRET": "whsec_ZXhhbXBsZS13ZWJob29rLXNlY3JldC1ub3QtYS1yZWFsLW9uZQ==", "REDIS_URL": "redis://127.0.0.1:6379/0",
	}
}

func TestExampleFile(t *testing.T) {
	c, err := Load(env(exampleEnv()), "../../examples/presign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := hex.DecodeString("3ecbb48b9ba0cdc4b9bc1f0d78b1e3a37f5d3c1e6b0e9c8f9a7b6c5d4e3f2a1b")
	f := false
	want := Config{
		Source: "../../examples/presign.yaml",
		Addr:   ":8080",
		Backends: []presign.Backend{{
			Name: "storj", Provider: presign.ProviderStorj, Endpoint: "https://gateway.storjshare.io", Region: "us-east-1", Bucket: "my-bucket",
			PathStyle:   presign.PathStyleAuto,
			Credentials: sigv4.Credentials{AccessKeyID: "storj-access", SecretAccessKey: "storj-secret-value-1"},
			MaxExpires:  168 * time.Hour,
		}, {
			Name: "r2-archive", Endpoint: "https://acct123.r2.cloudflarestorage.com", Region: "auto", Bucket: "archive",
			PathStyle:   presign.PathStyleAlways,
			Credentials: sigv4.Credentials{AccessKeyID: "r2-access", SecretAccessKey: "r2-secret-value-2"},
		}},
		Expires:    15 * time.Minute,
		MaxExpires: time.Hour,
		APIKeys:    []httpapi.APIKey{{Name: "backend-service", Hash: [32]byte(hash)}},
		JWT: []jwtauth.IssuerConfig{{
			Issuer: "https://auth.example.com/", Audience: []string{"presign"},
			JWKSURL:   "https://auth.example.com/.well-known/jwks.json",
			ClockSkew: 30 * time.Second, SubjectClaim: "sub", GroupsClaim: "groups",
		}},
		Rules: []policy.Rule{{
			Name: "user-uploads", Who: policy.Who{Authenticated: true},
			Ops: []presign.Op{presign.OpPut, presign.OpPost}, Backend: "storj",
			Keys: []string{"users/{sub}/**"}, GenerateKey: "users/{sub}/{uuid}{ext}",
			MaxSize: 10 << 20, ContentTypes: []string{"image/png", "image/jpeg", "image/gif", "image/webp"}, MaxExpires: 10 * time.Minute, Overwrite: &f,
			Metadata: []string{"author"},
		}, {
			Name: "user-videos", Who: policy.Who{Authenticated: true},
			Ops: []presign.Op{presign.OpMultipart}, Backend: "storj",
			Keys: []string{"users/{sub}/**"}, GenerateKey: "users/{sub}/{uuid}{ext}",
			MaxSize: 10 << 30, ContentTypes: []string{"video/mp4", "video/webm", "video/quicktime"}, Overwrite: &f,
		}, {
			Name: "user-reads", Who: policy.Who{Authenticated: true},
			Ops: []presign.Op{presign.OpGet, presign.OpHead}, Backend: "storj",
			Keys: []string{"users/{sub}/**"}, Download: ptr(true),
		}, {
			Name: "editors-delete", Who: policy.Who{Claims: map[string][]string{"role": {"editor", "admin"}}},
			Ops: []presign.Op{presign.OpDelete}, Keys: []string{"users/**"},
		}, {
			Name: "public-reads", Who: policy.Who{Anonymous: true, Authenticated: true},
			Ops: []presign.Op{presign.OpGet, presign.OpHead}, Backend: "storj",
			Keys: []string{"public/**"}, MaxExpires: time.Hour,
		}, {
			Name: "backend-service", Who: policy.Who{APIKeys: []string{"backend-service"}},
			Ops: []presign.Op{presign.OpGet, presign.OpHead, presign.OpPut, presign.OpPost, presign.OpDelete}, Keys: []string{"**"},
		}},
		AllowAnonymous: true,
		CORSOrigins:    []string{"https://app.example.com"},
		LogFormat:      "json",
		Uploads: presign.UploadsConfig{
			Secrets: []presign.TokenSecret{{ID: "k1", Secret: []byte("upload-secret-value-0123456789abcdef")}},
			Expires: 24 * time.Hour,
		},
		CompanionPath: "/companion",
		Webhooks: []webhook.Endpoint{{Name: "app", URL: "https://app.example.com/hooks/presign",
			Secret: exampleEnv()["WEBHOOK_SECRET"], Events: []string{"upload.completed"}}},
		PublicURL: "https://presign.example.com",
		Limits: Limits{Quota: 10 << 30, QuotaPeriod: 24 * time.Hour, Store: StoreRedis, RedisURL: exampleEnv()["REDIS_URL"],
			Rate: ratelimit.Config{Rate: ratelimit.Rate{N: 10, Per: time.Second}, Burst: 20, ClientIPHeader: "X-Forwarded-For", OnStoreError: ratelimit.FailOpen}},
		ShutdownDelay:   5 * time.Second,
		ShutdownTimeout: 8 * time.Second,
		authGiven:       true,
	}
	// The receipt key: its ID here, the key itself parsed from the variable.
	key, err := receipt.ParseKey(exampleEnv()["RECEIPT_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	want.ReceiptKeys = []receipt.Key{{ID: "r1", Private: key}}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(Config{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("examples/presign.yaml (-want +got):\n%s", diff)
	}
	if err := c.RequireAuth(); err != nil {
		t.Errorf("RequireAuth: %v", err)
	}
	if diff := cmp.Diff(c.Uploads, c.IssuerConfig().Uploads); diff != "" {
		t.Errorf("IssuerConfig().Uploads (-config +issuer):\n%s", diff)
	}
}

// TestUploadsFromTheEnvironment: PRESIGN_UPLOAD_SECRETS replaces the
// file's secrets, in its order (the first signs), each secret the bytes of
// its text; PRESIGN_COMPANION_PATH turns the Companion routes on. No
// problem shows a secret, whichever entry is wrong.
func TestUploadsFromTheEnvironment(t *testing.T) {
	const s1, s2 = "0123456789abcdef0123456789abcdef-first", "fedcba9876543210fedcba9876543210-second"
	file := "backends: [{name: s3, bucket: my-bucket, access_key_id: AK, secret_access_key: \"${env:SECRET}\"}]\n" +
		"uploads: {secrets: [{id: file, secret: \"${env:FILE_UPLOAD_SECRET}\"}]}\n"
	m := map[string]string{"SECRET": "file-secret-value", "FILE_UPLOAD_SECRET": "file-upload-secret-0123456789abcdef",
		"PRESIGN_UPLOAD_SECRETS": " new:" + s1 + " , old:" + s2, "PRESIGN_COMPANION_PATH": "/uppy", "PRESIGN_AUTH": "none"}
	c, err := Parse(env(m), "f.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "new", Secret: []byte(s1)}, {ID: "old", Secret: []byte(s2)}}}
	if diff := cmp.Diff(want, c.IssuerConfig().Uploads); diff != "" || c.CompanionPath != "/uppy" {
		t.Errorf("uploads (-want +got):\n%s\ncompanion path %q", diff, c.CompanionPath)
	}

	for _, v := range []string{"new:" + s1 + ",old:short-" + s2[:8], s1, "new:" + s1 + ",Bad:" + s2, "x:" + s1 + ",x:" + s2, ":" + s1} {
		m["PRESIGN_UPLOAD_SECRETS"] = v
		_, err := Parse(env(m), "f.yaml", []byte(file))
		if err == nil || !strings.Contains(err.Error(), "PRESIGN_UPLOAD_SECRETS (entry ") {
			t.Errorf("%q: want a problem that names the entry, got %v", v, err)
			continue
		}
		for _, secret := range []string{s1, s2, s2[:8]} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the problem shows a secret: %v", v, err)
			}
		}
	}
}

// TestReceiptsWebhooksAndPublicURL: receipt keys from the file (PEM,
// SEC 1 and base64 of PKCS #8 DER, through ${env:}) or PRESIGN_RECEIPT_KEYS
// (which replaces them, in its order: the first signs); webhooks from the
// file and the one PRESIGN_WEBHOOK_URL adds, named "env", for every
// event; public_url and PRESIGN_PUBLIC_URL. What config accepts,
// receipt.New and webhook.New build. No problem shows a key or a secret,
// whichever entry is wrong.
func TestReceiptsWebhooksAndPublicURL(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed2 := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	const whsec, whsec2 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	file := "backends: [{name: s3, bucket: my-bucket, access_key_id: AK, secret_access_key: \"${env:SECRET}\"}]\n" +
		"uploads: {secrets: [{id: k1, secret: \"${env:UPLOAD_SECRET}\"}]}\n" +
		"public_url: https://presign.example.com/base\n" +
		"receipts: {keys: [{id: ed, private_key: \"${env:ED_PEM}\"}, {id: ec, private_key: \"${env:EC_SEC1}\"}, {id: b64, private_key: \"${env:ED_B64}\"}]}\n" +
		"webhooks: [{name: app, url: \"https://app.example.com/hooks\", secret: \"${env:WEBHOOK_SECRET}\", events: [upload.completed]}]\n"
	m := map[string]string{"SECRET": "file-secret-value", "UPLOAD_SECRET": "upload-secret-value-0123456789abcdef", "PRESIGN_AUTH": "none",
		"ED_PEM":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(ed)})),
		"EC_SEC1": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"ED_B64":  base64.StdEncoding.EncodeToString(pkcs8(ed2)), "WEBHOOK_SECRET": whsec}
	c, err := Parse(env(m), "f.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []receipt.Key{{ID: "ed", Private: ed}, {ID: "ec", Private: ec}, {ID: "b64", Private: ed2}}
	equal := func(a, b receipt.Key) bool {
		return a.ID == b.ID && a.Private.(interface{ Equal(crypto.PrivateKey) bool }).Equal(b.Private)
	}
	if !slices.EqualFunc(wantKeys, c.ReceiptKeys, equal) {
		t.Errorf("receipt keys %v, want %v", c.ReceiptKeys, wantKeys)
	}
	wantHooks := []webhook.Endpoint{{Name: "app", URL: "https://app.example.com/hooks", Secret: whsec, Events: []string{"upload.completed"}}}
	if diff := cmp.Diff(wantHooks, c.Webhooks); diff != "" || c.PublicURL != "https://presign.example.com/base" {
		t.Errorf("webhooks (-want +got):\n%s\npublic URL %q", diff, c.PublicURL)
	}
	if _, err := receipt.New(c.ReceiptKeys, receipt.Options{}); err != nil {
		t.Error(err)
	}
	if _, err := webhook.New(c.Webhooks, webhook.Options{}); err != nil {
		t.Error(err)
	}

	m["PRESIGN_RECEIPT_KEYS"] = " new:" + m["ED_B64"] + " , old:" + base64.StdEncoding.EncodeToString(pkcs8(ec))
	m["PRESIGN_WEBHOOK_URL"], m["PRESIGN_WEBHOOK_SECRET"], m["PRESIGN_WEBHOOK_ALLOW_PRIVATE"] = "http://127.0.0.1:4000/hook", whsec2, "TRUE"
	m["PRESIGN_PUBLIC_URL"] = "http://127.0.0.1:8080"
	c, err = Parse(env(m), "f.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	wantKeys = []receipt.Key{{ID: "new", Private: ed2}, {ID: "old", Private: ec}}
	if !slices.EqualFunc(wantKeys, c.ReceiptKeys, equal) {
		t.Errorf("PRESIGN_RECEIPT_KEYS: receipt keys %v, want %v", c.ReceiptKeys, wantKeys)
	}
	wantHooks = append(wantHooks, webhook.Endpoint{Name: "env", URL: "http://127.0.0.1:4000/hook", Secret: whsec2, AllowPrivate: true})
	if diff := cmp.Diff(wantHooks, c.Webhooks); diff != "" || c.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("PRESIGN_WEBHOOK_*: webhooks (-want +got):\n%s\npublic URL %q", diff, c.PublicURL)
	}

	secrets := []string{m["ED_B64"], m["ED_B64"][20:40], whsec, whsec[6:], whsec2[6:], "hunter2-password"}
	for name, v := range map[string]string{
		"PRESIGN_RECEIPT_KEYS":          m["ED_B64"],
		"PRESIGN_WEBHOOK_SECRET":        "whsec_" + m["ED_B64"][20:40],
		"PRESIGN_PUBLIC_URL":            "https://u:hunter2-password@presign.example.com",
		"PRESIGN_WEBHOOK_URL":           "https://u:hunter2-password@app.example.com",
		"PRESIGN_WEBHOOK_ALLOW_PRIVATE": "yes",
	} {
		bad := maps.Clone(m)
		bad[name] = v
		for _, bad := range []map[string]string{bad, {"PRESIGN_RECEIPT_KEYS": "x:" + v + ",y:" + m["ED_B64"][:40]}} {
			_, err := Parse(env(bad), "f.yaml", []byte(file))
			if err == nil {
				t.Errorf("%s=%q: accepted", name, v)
				continue
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the problem shows a secret: %v", name, err)
				}
			}
		}
	}
}

// TestLimits: the quota from the file (a size, a period, the store:
// memory by default, or redis with its URL from a variable) and from
// PRESIGN_QUOTA, PRESIGN_QUOTA_PERIOD (0: never resets),
// PRESIGN_LIMITS_STORE and PRESIGN_REDIS_URL, which override it; the
// issuer's quota is not in IssuerConfig (the service builds its store).
// No problem shows the Redis URL or its password, whichever part of it
// is wrong.
func TestLimits(t *testing.T) {
	file := "backends: [{name: s3, bucket: my-bucket, access_key_id: AK, secret_access_key: \"${env:SECRET}\"}]\n" +
		"uploads: {secrets: [{id: k1, secret: \"${env:UPLOAD_SECRET}\"}]}\n"
	m := map[string]string{"SECRET": "file-secret-value", "UPLOAD_SECRET": "upload-secret-value-0123456789abcdef", "PRESIGN_AUTH": "none",
		"REDIS_URL": "redis://:hunter2-redis-pw@redis.internal:6379/1"}
	parse := func(file string) Config {
		t.Helper()
		c, err := Parse(env(m), "f.yaml", []byte(file))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := parse(file); c.Limits != (Limits{}) {
		t.Errorf("no limits: %+v", c.Limits)
	}
	c := parse(file + "limits: {quota: 10GiB, quota_period: 1d}\n")
	if want := (Limits{Quota: 10 << 30, QuotaPeriod: 24 * time.Hour, Store: StoreMemory}); c.Limits != want {
		t.Errorf("limits %+v, want %+v", c.Limits, want)
	}
	if q := c.IssuerConfig().Quota; q != (presign.QuotaConfig{}) {
		t.Errorf("IssuerConfig has a quota without its store: %+v", q)
	}
	st := quotastore.NewMemory(nil)
	if q := c.Limits.QuotaConfig(st); q != (presign.QuotaConfig{Bytes: 10 << 30, Period: 24 * time.Hour, Store: st}) {
		t.Errorf("QuotaConfig %+v", q)
	}
	redisFile := file + "limits: {quota: 2MiB, store: redis, redis_url: \"${env:REDIS_URL}\"}\n"
	if c := parse(redisFile); c.Limits != (Limits{Quota: 2 << 20, Store: StoreRedis, RedisURL: m["REDIS_URL"]}) {
		t.Errorf("redis limits %+v", c.Limits)
	}

	m["PRESIGN_QUOTA"], m["PRESIGN_QUOTA_PERIOD"], m["PRESIGN_LIMITS_STORE"], m["PRESIGN_REDIS_URL"] = "5GB", "0", "redis", "rediss://u:env-redis-pw@r.example:6380"
	want := Limits{Quota: 5e9, Store: StoreRedis, RedisURL: "rediss://u:env-redis-pw@r.example:6380"}
	for _, f := range []string{file, file + "limits: {quota: 10GiB, quota_period: 24h}\n", redisFile} {
		if c := parse(f); c.Limits != want {
			t.Errorf("from the environment: %+v, want %+v\n%s", c.Limits, want, f)
		}
	}

	secrets := []string{"hunter2-redis-pw", "env-redis-pw", "redis.internal", "r.example"}
	for _, v := range []string{"http://u:env-redis-pw@r.example", "redis://u:env-redis-pw@r.example/x", "redis://u:env-redis-pw@r.example:0",
		"redis://u:env-redis-pw@r.example/0?dial_timeout=env-redis-pw", "redis://u:env-redis-pw@r.example/0?env-redis-pw=1", "u:env-redis-pw@r.example",
		"redis://u:env redis-pw@r.example", "redis://u:env-redis-pw@r.example#env-redis-pw"} {
		m["PRESIGN_REDIS_URL"] = v
		_, err := Parse(env(m), "f.yaml", []byte(file))
		if err == nil || !strings.HasPrefix(err.Error(), "PRESIGN_REDIS_URL: ") {
			t.Errorf("%q: want a problem that names PRESIGN_REDIS_URL, got %v", v, err)
			continue
		}
		for _, secret := range secrets {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the problem shows the URL: %v", v, err)
			}
		}
	}
	delete(m, "PRESIGN_REDIS_URL")
	m["REDIS_URL"] = "redis://:hunter2-redis-pw@redis.internal:6379/x"
	for _, f := range []string{redisFile, strings.ReplaceAll(redisFile, `\"${env:REDIS_URL}\"`, "redis://:hunter2-redis-pw@redis.internal:6379/0")} {
		_, err := Parse(env(m), "f.yaml", []byte(f))
		if err == nil || !strings.Contains(err.Error(), "limits.redis_url: ") {
			t.Errorf("want a problem at limits.redis_url, got %v\n%s", err, f)
			continue
		}
		for _, secret := range secrets {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the problem shows the URL: %v", err)
			}
		}
	}
}

func TestLoadChoosesTheSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "presign.yaml")
	file := "backends:\n  - {name: s3, bucket: my-bucket, access_key_id: AKID, secret_access_key: \"${env:SECRET}\"}\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "very-secret-value", "SECRET": "file-secret-value"}
	c, err := Load(env(m), "")
	if err != nil || c.Source != SourceEnvironment || len(c.Backends) != 1 || c.Backends[0].Name != "default" || c.Rules != nil {
		t.Errorf("no file: %+v, %v", c, err)
	}
	m["PRESIGN_CONFIG"] = path
	if c, err := Load(env(m), ""); err != nil || c.Source != path || c.Backends[0].Name != "s3" || c.Backends[0].Bucket != "bucket" {
		t.Errorf("PRESIGN_CONFIG: %+v, %v", c, err)
	}
	m["PRESIGN_CONFIG"] = filepath.Join(dir, "other.yaml")
	if c, err := Load(env(m), path); err != nil || c.Source != path {
		t.Errorf("the path argument over PRESIGN_CONFIG: %+v, %v", c, err)
	}
	if _, err := Load(env(m), filepath.Join(dir, "none.yaml")); err == nil || err.Error() != filepath.Join(dir, "none.yaml")+": cannot read the configuration file: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(env(m), ""); err == nil || err.Error() != "PRESIGN_CONFIG: "+m["PRESIGN_CONFIG"]+": cannot read the configuration file: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
}

// TestCredentialsFromTheEnvironment: AWS_* are the first backend's
// credentials only when the file gives it none (Lambda sets them to the
// function's role in every process).
func TestCredentialsFromTheEnvironment(t *testing.T) {
	m := map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret-value", "AWS_SESSION_TOKEN": "env-token", "SECRET": "file-secret-value", "PRESIGN_AUTH": "none"}
	without := "backends:\n  - {name: s3, bucket: my-bucket}\n  - {name: two, bucket: two-bucket, access_key_id: AK2, secret_access_key: \"${env:SECRET}\"}\n"
	with := "backends:\n  - {name: s3, bucket: my-bucket, access_key_id: AK, secret_access_key: \"${env:SECRET}\"}\n"
	c, err := Parse(env(m), "f.yaml", []byte(without))
	if err != nil {
		t.Fatal(err)
	}
	want := sigv4.Credentials{AccessKeyID: "ENVKEY", SecretAccessKey: "env-secret-value", SessionToken: "env-token"}
	if c.Backends[0].Credentials != want || c.Backends[1].Credentials.AccessKeyID != "AK2" {
		t.Errorf("a file without credentials: %+v", c.Backends)
	}
	c, err = Parse(env(m), "f.yaml", []byte(with))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Backends[0].Credentials; got != (sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "file-secret-value"}) {
		t.Errorf("a file with credentials: %+v", got)
	}
}

func TestAPIKeysFromTheEnvironment(t *testing.T) {
	sum := sha256.Sum256([]byte("second-key-0123456789"))
	m := map[string]string{"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "very-secret-value",
		"PRESIGN_API_KEYS": "first-key-0123456789, sha256:" + hex.EncodeToString(sum[:])}
	c, err := LoadServing(env(m), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []httpapi.APIKey{{Name: "env-1", Hash: sha256.Sum256([]byte("first-key-0123456789"))}, {Name: "env-2", Hash: sum}}
	if diff := cmp.Diff(want, c.APIKeys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestSizesAndDurations(t *testing.T) {
	for _, tt := range []struct {
		s  string
		n  int64
		ok bool
	}{
		{"10MiB", 10 << 20, true}, {"10MB", 10e6, true}, {"1KiB", 1024, true}, {"1KB", 1000, true}, {"5GiB", 5 << 30, true},
		{"2GB", 2e9, true}, {"123", 123, true}, {"7B", 7, true}, {"5TiB", 5 << 40, true},
		{"10 MB", 0, false}, {"10mb", 0, false}, {"1.5MiB", 0, false}, {"-1", 0, false}, {"", 0, false}, {"MiB", 0, false},
		{"99999999999999GiB", 0, false}, {"9999999999999TiB", 0, false},
	} {
		if n, ok := parseSize(tt.s); ok != tt.ok || n != tt.n {
			t.Errorf("parseSize(%q) = %d, %v", tt.s, n, ok)
		}
	}
	for _, tt := range []struct {
		s  string
		d  time.Duration
		ok bool
	}{
		{"15m", 15 * time.Minute, true}, {"1h30m", 90 * time.Minute, true}, {"7d", 168 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true}, {"900", 15 * time.Minute, true}, {"0s", 0, true}, {"2d", 48 * time.Hour, true},
		{"", 0, false}, {"d", 0, false}, {"1dh", 0, false}, {"-5m", 0, false}, {"15 min", 0, false}, {"1d-1h", 0, false},
	} {
		if d, ok := ParseDuration(tt.s); ok != tt.ok || d != tt.d {
			t.Errorf("ParseDuration(%q) = %v, %v", tt.s, d, ok)
		}
	}
}

func TestProblemsAreJoined(t *testing.T) {
	_, err := Parse(env(nil), "presign.yaml", []byte("listen: bad\nlog: {level: x}\n"))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("want 3 joined problems: %v", err)
	}
}

// TestRedactedIsTheSchema: config check's output is itself a valid file
// in the schema, which reads back to the same configuration (secrets
// aside).
func TestRedactedIsTheSchema(t *testing.T) {
	c, err := Load(env(exampleEnv()), "../../examples/presign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	r := newReader("out.yaml", nil)
	if _, ok := r.decode(b.Bytes()); !ok || len(r.probs) > 0 {
		t.Errorf("the redacted output does not decode: %v\n%s", r.err(), b.String())
	}
}

func FuzzLoadYAML(f *testing.F) {
	example, err := os.ReadFile("../../examples/presign.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, dir := range []string{"testdata/problems", "testdata/effective"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil && len(data) < 4096 {
				f.Add(data)
			}
		}
	}
	m := exampleEnv()
	m["SECRET"], m["JWT_SECRET"] = "file-secret-value", "0123456789abcdef0123456789abcdef-jwt"
	m["REDIS_URL"] = "redis://:redis-secret-password@127.0.0.1:6379/0"
	lookup := env(m)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(lookup, "fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			for _, v := range m {
				if strings.Contains(err.Error(), v) && strings.Contains(v, "secret") {
					t.Fatalf("a problem shows a secret: %v", err)
				}
			}
			return
		}
		// Accepted means every owner accepts it too.
		if _, err := presign.New(c.IssuerConfig()); err != nil {
			t.Fatalf("accepted config does not build an issuer: %v\n%s", err, data)
		}
		if _, err := policy.New(c.Rules, policy.Options{Refs: c.PolicyRefs()}); err != nil {
			t.Fatalf("accepted config does not build its policy: %v\n%s", err, data)
		}
		if len(c.JWT) > 0 {
			if _, err := jwtauth.New(c.JWT, jwtauth.Options{}); err != nil {
				t.Fatalf("accepted config does not build its JWT verifier: %v\n%s", err, data)
			}
		}
		if len(c.ReceiptKeys) > 0 {
			if _, err := receipt.New(c.ReceiptKeys, receipt.Options{}); err != nil {
				t.Fatalf("accepted config does not build its receipt signer: %v\n%s", err, data)
			}
		}
		if len(c.Webhooks) > 0 {
			if _, err := webhook.New(c.Webhooks, webhook.Options{}); err != nil {
				t.Fatalf("accepted config does not build its webhook sender: %v\n%s", err, data)
			}
		}
		if c.Limits.Quota > 0 {
			if ps := c.Limits.QuotaConfig(quotastore.NewMemory(nil)).Validate(); len(ps) > 0 {
				t.Fatalf("accepted config has a quota presign refuses: %v\n%s", ps, data)
			}
			if c.Limits.Store == StoreRedis {
				if _, err := quotastore.NewRedis(c.Limits.RedisURL); err != nil {
					t.Fatalf("accepted config does not build its Redis store: %v\n%s", err, data)
				}
			}
		}
		if err := c.WriteRedacted(&bytes.Buffer{}); err != nil {
			t.Fatalf("WriteRedacted: %v", err)
		}
	})
}
