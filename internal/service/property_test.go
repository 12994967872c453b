package service

import (
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/config/configtest"
)

// A valid Ed25519 public key as a JWK, and one as PEM, for generated
// issuers.
const (
	genJWK = `{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	genPEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----"
)

// Receipt keys (the base64 of PKCS #8 DER: Ed25519 and P-256) and a
// Standard Webhooks secret, for generated receipts and webhooks.
const (
	genEd25519 = "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
	genP256    = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2KLH3KbRhDUFZspCKOIqt53bAa66xGj4VzUx0nprUf2hRANCAAQ13MVDpu4LnYItm+EedIbxOMRd4kSiEsKvqCV1n32Z2HYdILgCzg+/Ddpaa8JdWUQXfiSyJudzi6gm2P4d0CqR"
	genWhsec   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// genAccountKey is an Azure account key: the base64 of 64 bytes.
	genAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// genServiceAccount is a Google service account's JSON key, with a fresh
// 2048-bit RSA key.
var genServiceAccount = func() string {
	k, err := rsa.GenerateKey(cryptorand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	key, err := json.Marshal(map[string]string{"type": "service_account", "client_email": "presign@example.iam.gserviceaccount.com",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	if err != nil {
		panic(err)
	}
	return string(key)
}()

// pick returns def ("" is absent) most of the time, else one of others:
// so that whole configurations are often valid, and every kind of mistake
// still comes up.
func pick(r *rand.Rand, def string, others ...string) string {
	if r.IntN(100) < 97 || len(others) == 0 {
		return def
	}
	return others[r.IntN(len(others))]
}

// genConfig writes a configuration file and environment from r: every
// field absent, valid or wrong in one of the ways users get it wrong.
func genConfig(r *rand.Rand) (string, map[string]string) {
	env := map[string]string{"SECRET": "file-secret-value", "HS": "0123456789abcdef0123456789abcdef-hs256", "SHORT": "short",
		"UPLOAD": "0123456789abcdef0123456789abcdef-upload", "RECEIPT": genEd25519, "RECEIPT_EC": genP256, "WHSEC": genWhsec,
		"ACCOUNT_KEY": genAccountKey, "SERVICE_ACCOUNT": genServiceAccount, "REDIS_URL": "redis://:redis-password@127.0.0.1:6379/0", "BAD_REDIS_URL": "redis://:redis-password@127.0.0.1:6379/db"}
	var b strings.Builder
	field := func(indent, name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s%s: %s\n", indent, name, v)
		}
	}
	if d := pick(r, "", "{expires: 15m}", "{max_expires: 2d}", "{expires: 2h, max_expires: 1h}", "{max_expires: 9d}", "{expires: 1.5s}", "{expires: soon}", "{expires: 0s}"); d != "" {
		field("", "defaults", d)
	}
	field("", "cors", pick(r, "", "{origins: [https://app.example.com]}", "{origins: ['*']}", "{origins: [app.example.com]}", "{origins: [https://u:p@x.example]}"))
	field("", "listen", pick(r, "", `":8080"`, "nope", `"127.0.0.1:0"`))
	backends := []string{}
	if n := 1 + r.IntN(2) - r.IntN(20)/19; n > 0 { // none in 1 of 20
		b.WriteString("backends:\n")
		for i := range n {
			name := pick(r, fmt.Sprintf("b%d", i), "s3", "r2", "Bad_Name", "")
			if name != "" {
				backends = append(backends, name)
			}
			fmt.Fprintf(&b, "  - name: %q\n", name)
			field("    ", "endpoint", pick(r, "", "https://s3.example.com", "http://127.0.0.1:9000", "ftp://x", "https://u:p@s3.example.com", "https://s3.example.com/?a=b"))
			field("    ", "region", pick(r, "", "us-east-1", "auto", "us east", `""`))
			field("    ", "bucket", pick(r, "my-bucket", "B", "ab", "my.dotted.bucket", "-bad-", ""))
			field("    ", "path_style", pick(r, "", "auto", `"true"`, "sometimes"))
			creds := pick(r, "file", "literal", "missing-secret", "")
			switch creds {
			case "file":
				b.WriteString("    access_key_id: AKID\n    secret_access_key: ${env:SECRET}\n")
			case "literal":
				b.WriteString("    access_key_id: AKID\n    secret_access_key: wJalrXUtnFEMI-literal\n")
			case "missing-secret":
				b.WriteString("    access_key_id: AKID\n")
			}
			field("    ", "max_expires", pick(r, "", "1h", "8d", "0s", "90m"))
			field("    ", "post", pick(r, "", "true", "false", "maybe"))
			field("    ", "provider", pick(r, "", "", "minio", "r2", "b2", "MinIO", "s4"))
			field("    ", "kind", pick(r, "", "", "", "s3", "gcs", "azure", "ftp"))
			switch pick(r, "", "", "", "aws_default", "assume_role", "role-without-source", "vault") {
			case "aws_default":
				b.WriteString("    credentials: {source: aws_default}\n")
			case "assume_role":
				b.WriteString("    credentials: {source: assume_role, role_arn: \"arn:aws:iam::123456789012:role/presign\", duration: 1h}\n")
			case "role-without-source":
				b.WriteString("    credentials: {role_arn: \"arn:aws:iam::123456789012:role/presign\"}\n")
			case "vault":
				b.WriteString("    credentials: {source: vault}\n")
			}
			switch pick(r, "", "", "", "account", "service-account") {
			case "account":
				b.WriteString("    account_name: presignacct\n    account_key: ${env:ACCOUNT_KEY}\n")
			case "service-account":
				b.WriteString("    service_account_key: ${env:SERVICE_ACCOUNT}\n")
			}
		}
	}
	secrets := false
	if r.IntN(3) == 0 {
		b.WriteString("uploads:\n")
		if n := 1 + r.IntN(2) - r.IntN(20)/19; n > 0 { // none in 1 of 20
			secrets = true
			b.WriteString("  secrets:\n")
			for i := range n {
				fmt.Fprintf(&b, "    - {id: %s, secret: %s}\n", pick(r, fmt.Sprintf("k%d", i), "dup", "Bad_ID", `""`),
					pick(r, `"${env:UPLOAD}"`, `"${env:SHORT}"`, "literal-upload-secret-0123456789abcdef", `"${env:UNSET}"`))
			}
		}
		field("  ", "expires", pick(r, "", "12h", "0s", "31d", "30s"))
	}
	if r.IntN(3) == 0 && (secrets || r.IntN(20) == 0) { // the routes need secrets
		field("", "companion", pick(r, "{path: /companion}", "{}", "", "{path: /v1}", "{path: /uppy/}", `{path: "/{x}"}`, "{path: companion}"))
	}
	if r.IntN(4) == 0 && (secrets || r.IntN(20) == 0) { // receipts and webhooks come from complete, which needs secrets
		b.WriteString("receipts:\n")
		if n := 1 + r.IntN(2) - r.IntN(20)/19; n > 0 { // none in 1 of 20
			b.WriteString("  keys:\n")
			for i := range n {
				fmt.Fprintf(&b, "    - {id: %s, private_key: %s}\n", pick(r, fmt.Sprintf("r%d", i), "dup", "Bad_ID", `""`),
					pick(r, pick(r, `"${env:RECEIPT}"`, `"${env:RECEIPT_EC}"`), `"${env:SHORT}"`, genEd25519, `"${env:UNSET}"`, `"${env:UPLOAD}"`))
			}
		}
	}
	if r.IntN(4) == 0 && (secrets || r.IntN(20) == 0) {
		b.WriteString("webhooks:\n")
		for i := range 1 + r.IntN(2) {
			fmt.Fprintf(&b, "  - name: %s\n", pick(r, fmt.Sprintf("w%d", i), "dup", "env", "Bad_Name", `""`))
			field("    ", "url", pick(r, "https://app.example.com/hooks", "http://10.0.0.5/h", "ftp://app.example.com", "https://u:p@app.example.com", "app.example.com", ""))
			field("    ", "secret", pick(r, `"${env:WHSEC}"`, `"${env:SHORT}"`, `"${env:UPLOAD}"`, genWhsec, `"${env:UNSET}"`, ""))
			field("    ", "events", pick(r, "", "[upload.completed]", "[]", "[upload.started]"))
			field("    ", "allow_private", pick(r, "", "true", "false", "maybe"))
		}
	}
	if r.IntN(4) == 0 { // the quota counts at complete, which needs secrets; the rate does not
		b.WriteString("limits:\n")
		quota := ""
		if secrets || r.IntN(20) == 0 {
			quota = "10GiB"
		}
		field("  ", "quota", pick(r, quota, "", "0", "10 GB", "lots", "1"))
		rate := []string{"", "10/s", "600/m"}[r.IntN(3)]
		field("  ", "rate", pick(r, rate, "0/s", "10/d", "fast", "2000000/s"))
		if rate != "" {
			field("  ", "burst", pick(r, []string{"", "20"}[r.IntN(2)], "0", "-1", "x"))
			field("  ", "client_ip_header", pick(r, []string{"", "X-Forwarded-For", "X-Real-IP"}[r.IntN(3)], "X Real", "a:b"))
			field("  ", "on_store_error", pick(r, []string{"", "open", "closed"}[r.IntN(3)], "maybe"))
		}
		field("  ", "quota_period", pick(r, []string{"", "24h", "7d", "0"}[r.IntN(4)], "30s", "90.5s", "soon", "-1h"))
		store := pick(r, []string{"", "memory", "redis"}[r.IntN(3)], "disk", "Redis")
		field("  ", "store", store)
		url := ""
		if store == "redis" {
			url = `"${env:REDIS_URL}"`
		}
		field("  ", "redis_url", pick(r, url, `"${env:REDIS_URL}"`, `"${env:BAD_REDIS_URL}"`, `"${env:UNSET}"`, "redis://127.0.0.1:6379/0", `""`))
	}
	if r.IntN(4) == 0 {
		field("", "public_url", pick(r, "https://presign.example.com", "https://presign.example.com/", "presign.example.com", "https://u:p@x.example", "https://x.example/?a=b", `""`))
	}
	keys := []string{}
	if r.IntN(2) == 0 {
		b.WriteString("auth:\n")
		if r.IntN(2) == 0 {
			b.WriteString("  api_keys:\n")
			for range r.IntN(3) + 1 {
				name := pick(r, fmt.Sprintf("k%d", len(keys)), "svc", "env-1", "Bad Key", "")
				if name != "" {
					keys = append(keys, name)
				}
				sum := sha256.Sum256([]byte(fmt.Sprint(name, len(keys), b.Len())))
				fmt.Fprintf(&b, "    - {name: %q, sha256: %s}\n", name, pick(r, hex.EncodeToString(sum[:]),
					"ff2ea7c039cf4234d8389b8b2268a5a988e9cc3b68e6865eaadf5ddc133353a2", "not-a-hash", `""`))
			}
		}
		if r.IntN(2) == 0 {
			b.WriteString("  jwt:\n")
			for range r.IntN(2) + 1 {
				fmt.Fprintf(&b, "    - issuer: %s\n", pick(r, fmt.Sprintf("https://i%d.example/", b.Len()), "https://a.example/", `"has space"`, `""`))
				field("      ", "audience", pick(r, "[presign]", `[presign, ""]`, "[]", ""))
				switch pick(r, "0", "1", "2", "3", "4") {
				case "0":
					field("      ", "jwks_url", pick(r, "https://a.example/jwks", "http://[::1]:8443/jwks", "http://127.0.0.2/jwks",
						"http://a.example/jwks", "https://a.example/jwks#x", "/jwks", "http://localhost/jwks"))
				case "1":
					fmt.Fprintf(&b, "      keys: [%s]\n", pick(r, fmt.Sprintf("%q", genPEM), fmt.Sprintf("'%s'", genJWK),
						fmt.Sprintf(`'{"keys": [%s]}'`, genJWK), `'{"keys": []}'`, `'{"kty":"oct","k":"c2VjcmV0"}'`, "garbage"))
				case "2":
					field("      ", "hs256_secret", pick(r, "${env:HS}", "${env:SHORT}", "literal-secret-value"))
				case "3":
					b.WriteString("      jwks_url: https://a.example/jwks\n      hs256_secret: ${env:HS}\n")
				}
				field("      ", "clock_skew", pick(r, "", "30s", "10m", "0s", "-1s"))
				field("      ", "subject_claim", pick(r, "", "sub", `"has space"`, "email"))
			}
		}
	}
	if n := r.IntN(4); n > 0 {
		b.WriteString("rules:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - name: %s\n", pick(r, fmt.Sprintf("r%d", i), "dup", `"Bad Rule"`, `""`))
			who := pick(r, "{authenticated: true}", "", "{anonymous: true}", "{}", "{groups: [g]}", "{claims: {role: [admin]}}", "{iam: [\"arn:aws:iam::1:role/x\"]}")
			if len(keys) > 0 && r.IntN(3) == 0 {
				who = fmt.Sprintf("{api_keys: [%q]}", keys[r.IntN(len(keys))])
			}
			field("    ", "who", who)
			field("    ", "ops", pick(r, "[get]", "", "[put, post]", "[get, head, delete]", "[multipart]", "[fly]", "[put, put]", "get"))
			if len(backends) > 0 && r.IntN(3) == 0 {
				field("    ", "backend", fmt.Sprintf("%q", backends[r.IntN(len(backends))]))
			} else {
				field("    ", "backend", pick(r, "", "nope"))
			}
			field("    ", "keys", pick(r, `["users/{sub}/**"]`, "", `["public/**"]`, `["**"]`, `["a/**b"]`, `["{nope}"]`, `["a/../b"]`, `[]`))
			field("    ", "generate_key", pick(r, "", `"u/{uuid}{ext}"`, `"users/{sub}/{uuid}"`, `"u/*"`))
			field("    ", "max_size", pick(r, "", "10MiB", "6GiB", "10 MB", "1", "6TiB"))
			field("    ", "content_types", pick(r, "", "[image/png]", "[image/*]", "[image]", "[]"))
			field("    ", "max_expires", pick(r, "", "10m", "1.5s", "8d"))
			field("    ", "overwrite", pick(r, "", "false", "true"))
			field("    ", "metadata", pick(r, "", "[author]", "[snowball-auto-extract]", "[Author]"))
			field("    ", "require_checksum", pick(r, "", "true"))
			field("    ", "download", pick(r, "", "false"))
		}
	}
	for name, values := range map[string][]string{
		"PRESIGN_S3_BUCKET":     {"env-bucket", "No"},
		"PRESIGN_S3_ENDPOINT":   {"http://127.0.0.1:9000", "ftp://x"},
		"AWS_ACCESS_KEY_ID":     {"ENVKEY"},
		"AWS_SECRET_ACCESS_KEY": {"env-secret-value"},
		"PRESIGN_API_KEYS":      {"an-env-key-0123456789", "short"},
		"PRESIGN_AUTH":          {"none", "maybe"},
		"PRESIGN_PLATFORM_AUTH": {"aws_iam", "jwt_authorizer", "iam-please"},
		"PRESIGN_EXPIRES":       {"900", "2d", "5m", "soon"},
		"PRESIGN_MAX_EXPIRES":   {"2d", "30m", "30d"},
		"PRESIGN_CORS_ORIGINS":  {"https://a.example", "nope"},
		"PRESIGN_UPLOAD_SECRETS": {"env:0123456789abcdef0123456789abcdef-env", "env:short", "no-id-0123456789abcdef0123456789abcdef",
			"a:0123456789abcdef0123456789abcdef-a,a:0123456789abcdef0123456789abcdef-b"},
		"PRESIGN_RECEIPT_KEYS": {"env:" + genEd25519, "env:not-a-key", genEd25519, "a:" + genEd25519 + ",a:" + genP256},
		"PRESIGN_PUBLIC_URL":   {"https://presign.example.com", "https://presign.example.com/", "ftp://x"},
	} {
		if r.IntN(6) == 0 {
			env[name] = pick(r, values[0], values[1:]...)
		}
	}
	if r.IntN(6) == 0 { // the three together, or one of them alone
		env["PRESIGN_WEBHOOK_URL"] = pick(r, "http://127.0.0.1:4000/hooks", "", "ftp://x")
		env["PRESIGN_WEBHOOK_SECRET"] = pick(r, genWhsec, "", "whsec_c2hvcnQ=")
		env["PRESIGN_WEBHOOK_ALLOW_PRIVATE"] = pick(r, pick(r, "", "true", "false"), "yes")
	}
	if (secrets || env["PRESIGN_UPLOAD_SECRETS"] != "") && r.IntN(6) == 0 {
		env["PRESIGN_COMPANION_PATH"] = pick(r, "/companion", "/metrics", "companion")
	}
	if r.IntN(8) == 0 { // the rate limit, or one of its settings
		env["PRESIGN_RATE_LIMIT"] = pick(r, []string{"5/s", ""}[r.IntN(2)], "0/s", "lots")
		env["PRESIGN_RATE_BURST"] = pick(r, []string{"", "10"}[r.IntN(2)], "0", "many")
		env["PRESIGN_LIMITS_ON_STORE_ERROR"] = pick(r, []string{"", "closed"}[r.IntN(2)], "fail")
	}
	if r.IntN(8) == 0 {
		env["PRESIGN_SHUTDOWN_DELAY"] = pick(r, []string{"", "5s", "0"}[r.IntN(3)], "soon", "2h")
		env["PRESIGN_SHUTDOWN_TIMEOUT"] = pick(r, []string{"", "20s"}[r.IntN(2)], "0", "-1s")
	}
	if (secrets || env["PRESIGN_UPLOAD_SECRETS"] != "" || r.IntN(20) == 0) && r.IntN(6) == 0 { // the quota, or one of its settings
		env["PRESIGN_QUOTA"] = pick(r, []string{"1GiB", ""}[r.IntN(2)], "0", "lots")
		env["PRESIGN_QUOTA_PERIOD"] = pick(r, []string{"", "1d", "0"}[r.IntN(3)], "45s", "soon")
		env["PRESIGN_LIMITS_STORE"] = pick(r, []string{"", "memory", "redis"}[r.IntN(3)], "disk")
		env["PRESIGN_REDIS_URL"] = pick(r, "", "redis://:env-password@127.0.0.1:6379/1", "rediss://r.example:6380/2",
			"http://r.example", "redis://r.example/0?dial_timeout=soon", "redis://r.example:0")
		if env["PRESIGN_LIMITS_STORE"] == "redis" && r.IntN(4) > 0 {
			env["PRESIGN_REDIS_URL"] = pick(r, []string{"redis://:env-password@127.0.0.1:6379/1", "rediss://r.example:6380/2"}[r.IntN(2)],
				"redis://r.example/a/b", "http://r.example")
		}
	}
	return b.String(), env
}

// checkAgreesWithBuild is the property: what config accepts, the service
// builds — as serve, dev and the Cloud Function build it (no platform
// identity), and as the Lambda function does (with one) — and what config
// refuses, nothing builds (there is no configuration to build from).
// presign config check runs exactly config.LoadServing and New.
func checkAgreesWithBuild(t *testing.T, file string, env map[string]string) (accepted bool) {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var cfg config.Config
	var err error
	if file == "" {
		cfg, err = config.LoadServing(lookup, "")
	} else {
		cfg, err = config.Parse(lookup, "gen.yaml", []byte(file))
		if err == nil {
			err = cfg.RequireAuth()
		}
	}
	if err != nil {
		if err.Error() == "" {
			t.Fatalf("refused without a problem:\n%s", file)
		}
		return false
	}
	_, errServe := New(cfg, Options{})
	_, errLambda := New(cfg, Options{PlatformAuth: httpapi.APIKeys{}})
	switch {
	case errLambda != nil:
		t.Fatalf("config accepts what the Lambda function's service refuses: %v\nfile:\n%s\nenv: %v", errLambda, file, env)
	case errServe != nil && !(errors.Is(errServe, ErrNoPlatform) && cfg.PlatformAuth != ""):
		t.Fatalf("config accepts what serve's service refuses: %v\nfile:\n%s\nenv: %v", errServe, file, env)
	}
	return true
}

// TestCheckAgreesWithServeGenerated runs the property over generated
// configurations, and shows the generator reaches both sides.
func TestCheckAgreesWithServeGenerated(t *testing.T) {
	accepted := 0
	const n = 3000
	for seed := range uint64(n) {
		file, env := genConfig(rand.New(rand.NewPCG(seed, 8)))
		if checkAgreesWithBuild(t, file, env) {
			accepted++
		}
	}
	t.Logf("%d of %d generated configurations accepted", accepted, n)
	if accepted < n/20 || accepted > n-n/20 {
		t.Errorf("%d of %d accepted: the generator does not reach both sides", accepted, n)
	}
}

// TestCheckAgreesWithServeHandWritten runs it over every configuration in
// the repository: the examples and config's test cases.
func TestCheckAgreesWithServeHandWritten(t *testing.T) {
	cases, err := configtest.Cases("../config/testdata")
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, ex := range examples {
		env, err := configtest.ReadEnvFile(strings.TrimSuffix(ex, ".yaml") + ".env")
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, configtest.Case{Group: "effective", Name: ex, File: ex, Env: env})
	}
	// The Kubernetes recipe's configurations, with the placeholder Secret
	// (and the Redis URL the redis overlay builds from its password).
	k8sEnv, err := configtest.ReadEnvFile("../../deploy/kubernetes/base/secrets.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"base", "redis"} {
		env := maps.Clone(k8sEnv)
		if dir == "redis" {
			env["PRESIGN_REDIS_URL"] = "redis://:example@presign-redis:6379/0"
		}
		f := "../../deploy/kubernetes/" + dir + "/presign.yaml"
		cases = append(cases, configtest.Case{Group: "effective", Name: f, File: f, Env: env})
	}
	for _, c := range cases {
		file := ""
		if c.File != "" {
			data, err := os.ReadFile(c.File)
			if err != nil {
				t.Fatal(err)
			}
			file = string(data)
		}
		if accepted := checkAgreesWithBuild(t, file, c.Env); accepted != (c.Group == "effective") {
			t.Errorf("%s/%s: accepted %v", c.Group, c.Name, accepted)
		}
	}
}

// FuzzCheckAgreesWithServe explores generated configurations from fuzzed
// seeds.
func FuzzCheckAgreesWithServe(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(seed, uint64(8))
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		file, env := genConfig(rand.New(rand.NewPCG(a, b)))
		checkAgreesWithBuild(t, file, env)
	})
}
