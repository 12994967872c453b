package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// exampleEnv provides the variables examples/presign.yaml refers to.
func exampleEnv() map[string]string {
	return map[string]string{
		"STORJ_ACCESS_KEY_ID": "storj-access", "STORJ_SECRET_ACCESS_KEY": "storj-secret-value-1",
		"R2_ACCOUNT_ID": "acct123", "R2_ACCESS_KEY_ID": "r2-access", "R2_SECRET_ACCESS_KEY": "r2-secret-value-2",
	}
}

func TestExampleFile(t *testing.T) {
	c, err := Load(env(exampleEnv()), "../../examples/presign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := hex.DecodeString("3ecbb48b9ba0cdc4b9bc1f0d78b1e3a37f5d3c1e6b0e9c8f9a7b6c5d4e3f2a1b")
	want := Config{
		Source: "../../examples/presign.yaml",
		Addr:   ":8080",
		Backends: []presign.Backend{{
			Name: "storj", Endpoint: "https://gateway.storjshare.io", Region: "us-east-1", Bucket: "my-bucket",
			PathStyle:   presign.PathStyleAuto,
			Credentials: sigv4.Credentials{AccessKeyID: "storj-access", SecretAccessKey: "storj-secret-value-1"},
			MaxExpires:  168 * time.Hour,
		}, {
			Name: "r2-archive", Endpoint: "https://acct123.r2.cloudflarestorage.com", Region: "auto", Bucket: "archive",
			PathStyle:   presign.PathStyleAlways,
			Credentials: sigv4.Credentials{AccessKeyID: "r2-access", SecretAccessKey: "r2-secret-value-2"},
			NoPost:      true,
		}},
		Expires:    15 * time.Minute,
		MaxExpires: time.Hour,
		APIKeys:    []APIKey{{Name: "backend-service", Hash: [32]byte(hash)}},
		JWT: []JWTIssuer{{
			Issuer: "https://auth.example.com/", Audience: []string{"presign"},
			JWKSURL:   "https://auth.example.com/.well-known/jwks.json",
			ClockSkew: 30 * time.Second, SubjectClaim: "sub", GroupsClaim: "groups",
		}},
		Rules: []policy.Rule{{
			Name: "user-uploads", Who: policy.Who{Authenticated: true},
			Ops: []presign.Op{presign.OpPut, presign.OpPost}, Backend: "storj",
			Keys: []string{"users/{sub}/**"}, GenerateKey: "users/{sub}/{uuid}{ext}",
			MaxSize: 10 << 20, ContentTypes: []string{"image/png", "image/jpeg", "image/gif", "image/webp"}, MaxExpires: 10 * time.Minute, Overwrite: ptr(false),
			Metadata: []string{"author"},
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
			Ops: presign.Ops, Keys: []string{"**"},
		}},
		AllowAnonymous: true,
		CORSOrigins:    []string{"https://app.example.com"},
		LogFormat:      "json",
	}
	want.Backend = want.Backends[0]
	want.authGiven = true
	if !reflect.DeepEqual(c.Backends, want.Backends) {
		t.Errorf("backends:\n got %+v\nwant %+v", c.Backends, want.Backends)
	}
	for i := range max(len(c.Rules), len(want.Rules)) {
		if i >= len(c.Rules) || i >= len(want.Rules) || !reflect.DeepEqual(c.Rules[i], want.Rules[i]) {
			t.Errorf("rules[%d]:\n got %+v\nwant %+v", i, at(c.Rules, i), at(want.Rules, i))
		}
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config:\n got %+v\nwant %+v", c, want)
	}
	if err := c.RequireAuth(); err != nil {
		t.Errorf("RequireAuth: %v", err)
	}
	if _, err := presign.New(c.IssuerConfig()); err != nil {
		t.Errorf("presign.New: %v", err)
	}
}

func at[T any](s []T, i int) any {
	if i < len(s) {
		return s[i]
	}
	return nil
}

func TestLoadChoosesTheSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "presign.yaml")
	if err := os.WriteFile(path, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	m := valid()
	m["SECRET"] = "file-secret-value"
	c, err := Load(env(m), "")
	if err != nil || c.Source != SourceEnvironment || len(c.Backends) != 1 || c.Backends[0] != c.Backend || c.Backend.Name != "default" || c.Rules != nil {
		t.Errorf("no file: %+v, %v", c, err)
	}
	m["PRESIGN_CONFIG"] = path
	if c, err := Load(env(m), ""); err != nil || c.Source != path || c.Backends[0].Name != "s3" {
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

// minimal is the smallest valid file; the tests below change one part.
const minimal = `backends:
  - name: s3
    bucket: my-bucket
    access_key_id: AKID
    secret_access_key: ${env:SECRET}
auth:
  api_keys:
    - {name: svc, sha256: ff2ea7c039cf4234d8389b8b2268a5a988e9cc3b68e6865eaadf5ddc133353a2}
rules:
  - name: svc
    who: {api_keys: [svc]}
    ops: [get]
    keys: ["**"]
`

// doc builds a file from minimal with its sections replaced: keys
// "top" (prepended), "backends", "auth", "rules" (each the whole section).
func doc(parts map[string]string) string {
	sections := map[string]string{}
	for _, name := range []string{"backends", "auth", "rules"} {
		i := strings.Index(minimal, name+":")
		j := len(minimal)
		for _, next := range []string{"backends:", "auth:", "rules:"} {
			if k := strings.Index(minimal, next); k > i && k < j {
				j = k
			}
		}
		sections[name] = minimal[i:j]
	}
	// The parts given come first, so that their lines are the test's own.
	out := parts["top"]
	for _, name := range []string{"backends", "auth", "rules"} {
		if s, ok := parts[name]; ok {
			out += s
		}
	}
	for _, name := range []string{"backends", "auth", "rules"} {
		if _, ok := parts[name]; !ok {
			out += sections[name]
		}
	}
	return out
}

func secretEnv() map[string]string {
	return map[string]string{"SECRET": "file-secret-value", "JWT_SECRET": "0123456789abcdef0123456789abcdef-jwt", "SHORT": "short-hs256-secret"}
}

func TestMinimal(t *testing.T) {
	c, err := Parse(env(secretEnv()), "presign.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Expires != 15*time.Minute || c.MaxExpires != time.Hour || c.LogFormat != "json" ||
		c.Backends[0].Region != "us-east-1" || c.Backends[0].PathStyle != presign.PathStyleAuto || c.Backends[0].NoPost ||
		c.AllowAnonymous || c.RequireAuth() != nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFileProblems(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parts map[string]string
		want  []string // each a substring of the error
	}{
		{"top level", map[string]string{"top": "listen: nope\ndefaults: {expires: 2h, max_expires: 9d}\ncors: {origins: [app.example.com]}\nlog: {level: loud, format: xml}\n"}, []string{
			`presign.yaml:1: listen: "nope" is not a listen address`,
			`presign.yaml:2: defaults.max_expires: 216h must be between 1s and 168h`,
			`presign.yaml:3: cors.origins[0]: "app.example.com" is not an origin`,
			`presign.yaml:4: log.level: "loud" must be`,
			`presign.yaml:4: log.format: "xml" must be`,
		}},
		{"expires above max", map[string]string{"top": "defaults: {expires: 2h, max_expires: 1h}\n"}, []string{
			`presign.yaml:1: defaults.expires: 2h is above defaults.max_expires (1h)`,
		}},
		{"durations", map[string]string{"top": "defaults: {expires: 15 minutes, max_expires: 1.5s}\n"}, []string{
			`defaults.expires: "15 minutes" is not a duration like 15m, 1h30m or 7d`,
			`defaults.max_expires: 1.5s must be whole seconds`,
		}},
		{"no backends", map[string]string{"backends": ""}, []string{
			`presign.yaml: backends: at least one backend is required`,
		}},
		{"backend fields", map[string]string{"backends": `backends:
  - name: Storj_1
    endpoint: ftp://x
    region: "us east"
    bucket: B
    path_style: sometimes
    secret_access_key: ${env:SECRET}
    max_expires: 8d
    post: maybe
  - name: b
    endpoint: https://u:p@s3.example.com
  - name: b
    bucket: ok-bucket
    access_key_id: AK
    secret_access_key: ${env:SECRET}
`}, []string{
			`presign.yaml:2: backends[0].name: "Storj_1" may hold only a-z, 0-9 and '-'`,
			`presign.yaml:3: backends[0].endpoint: "ftp://x" is not an http(s) URL`,
			`presign.yaml:4: backends[0].region: "us east" is not a region`,
			`presign.yaml:5: backends[0].bucket: bucket "B" must be 3 to 63 characters`,
			`presign.yaml:6: backends[0].path_style: "sometimes" must be true, false or auto`,
			`presign.yaml:8: backends[0].max_expires: 192h must be between 1s and 168h`,
			`presign.yaml:9: backends[0].post: must be true or false, not a string`,
			`presign.yaml:2: backends[0].access_key_id: required: the access key that signs URLs (or set AWS_ACCESS_KEY_ID)`,
			`presign.yaml:10: backends[1].access_key_id: required`,
			`presign.yaml:11: backends[1].endpoint: the URL (with user info, not shown) is not`,
			`presign.yaml:10: backends[1].bucket: required: the bucket to presign for`,
			`presign.yaml:10: backends[1].secret_access_key: required`,
			`presign.yaml:12: backends[2].name: "b" is already the name of backends[1]`,
		}},
		{"api keys", map[string]string{"auth": `auth:
  api_keys:
    - {name: svc, sha256: not-a-hash-but-maybe-the-raw-key}
    - {name: svc, sha256: FF2EA7C039CF4234D8389B8B2268A5A988E9CC3B68E6865EAADF5DDC133353A2}
    - {name: env-1, sha256: ff2ea7c039cf4234d8389b8b2268a5a988e9cc3b68e6865eaadf5ddc133353a2}
    - {sha256: ""}
`}, []string{
			`presign.yaml:3: auth.api_keys[0].sha256: must be 64 hex digits`,
			`presign.yaml:4: auth.api_keys[1].name: "svc" is already the name of auth.api_keys[0]`,
			`presign.yaml:5: auth.api_keys[2].name: "env-1" is reserved`,
			`presign.yaml:5: auth.api_keys[2].sha256: is the same key as auth.api_keys[1]`,
			`presign.yaml:6: auth.api_keys[3].name: required`,
			`presign.yaml:6: auth.api_keys[3].sha256: required`,
		}},
		{"jwt", map[string]string{"auth": `auth:
  jwt:
    - issuer: https://a.example/
    - issuer: https://a.example/
      audience: [presign, ""]
      jwks_url: http://a.example/jwks
      hs256_secret: ${env:JWT_SECRET}
      clock_skew: 1h
      subject_claim: "has space"
    - audience: [x]
      keys: ["-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", "not a key", '{"kty":"oct","k":"c2VjcmV0"}', '{"kty":"RSA","n":"x","e":"AQAB","d":"private"}', '{"kty":"EC","crv":"P-256","x":"a"}']
    - issuer: https://c.example/
      audience: [x]
      hs256_secret: ${env:SHORT}
`, "rules": ""}, []string{
			`presign.yaml:3: auth.jwt[0].audience: required`,
			`presign.yaml:3: auth.jwt[0]: needs the issuer's keys: one of jwks_url, keys or hs256_secret`,
			`presign.yaml:4: auth.jwt[1].issuer: "https://a.example/" is already the issuer of auth.jwt[0]`,
			`presign.yaml:5: auth.jwt[1].audience[1]: is empty`,
			`presign.yaml:6: auth.jwt[1].jwks_url: "http://a.example/jwks" must be https`,
			`presign.yaml:4: auth.jwt[1]: sets more than one of jwks_url, keys and hs256_secret`,
			`presign.yaml:8: auth.jwt[1].clock_skew: 1h must be between 0s and 5m`,
			`presign.yaml:9: auth.jwt[1].subject_claim: "has space" is not a claim name`,
			`presign.yaml:10: auth.jwt[2].issuer: required`,
			`presign.yaml:11: auth.jwt[2].keys[0]: is a private key`,
			`presign.yaml:11: auth.jwt[2].keys[1]: must be a PEM public key`,
			`presign.yaml:11: auth.jwt[2].keys[2]: is a symmetric JWK (kty oct): use hs256_secret`,
			`presign.yaml:11: auth.jwt[2].keys[3]: is a private JWK`,
			`presign.yaml:11: auth.jwt[2].keys[4]: is a EC JWK without y`,
			`presign.yaml:14: auth.jwt[3].hs256_secret: the secret is shorter than 32 bytes`,
			`presign.yaml: rules: required: the file names callers in auth but no rules`,
		}},
		{"rule metadata", map[string]string{"rules": `rules:
  - name: meta
    who: {authenticated: true}
    ops: [put, get]
    keys: ["m/**"]
    metadata: [snowball-auto-extract, "a b", Author]
  - name: meta-reads
    who: {authenticated: true}
    ops: [get]
    keys: ["m/**"]
    metadata: [author]
`}, []string{
			`presign.yaml:6: rules[0].metadata[0]: metadata name "snowball-auto-extract" is refused: names starting with "snowball-" make some stores act on the upload`,
			`presign.yaml:6: rules[0].metadata[1]: metadata name "a b" may hold only a-z, 0-9, '-' and '_'`,
			`presign.yaml:11: rules[1].metadata: applies to uploads, but ops has neither put nor post`,
		}},
		{"rules", map[string]string{"rules": `rules:
  - name: r
    who: {}
    ops: [put, fly, put]
    backend: nope
    keys: ["users/{user}/**", "a/**b", "a/../b", "x/{sub", "x}", ./a, "{claim.}"]
    generate_key: "users/{sub}/*{uuid}"
    max_size: "10 MB"
    content_types: ["image", "*/png", "image/png; q=1"]
    max_expires: 0s
  - name: r
    who: {api_keys: [ghost], groups: [g], claims: {role: editor}}
    ops: get
  - name: anon
    who: {anonymous: true}
    ops: [get]
    keys: ["users/{sub}/x"]
    max_size: 1KiB
    content_types: [image/*]
    overwrite: false
    generate_key: "{uuid}"
  - name: uploads
    who: {authenticated: true}
    ops: [put, get]
    generate_key: "u/{uuid}{ext}"
    max_size: 6GiB
    download: true
  - name: Bad Name
    ops: [put]
  - who: {groups: [g], claims: {"https://x/role": []}}
    ops: [head]
    keys: ["**"]
    download: false
  - name: no-keys
    who: {authenticated: true}
    ops: [delete]
`}, []string{
			`presign.yaml:3: rules[0].who: matches nobody`,
			`presign.yaml:4: rules[0].ops[1]: "fly" is not an operation`,
			`presign.yaml:4: rules[0].ops[2]: "put" is listed twice`,
			`presign.yaml:5: rules[0].backend: "nope" is not the name of a backend`,
			`presign.yaml:6: rules[0].keys[0]: {user} is not a placeholder here; known: {sub} {name} {claim.NAME}`,
			`presign.yaml:6: rules[0].keys[1]: has ** inside a path segment`,
			`presign.yaml:6: rules[0].keys[2]: has a ".." path segment`,
			`presign.yaml:6: rules[0].keys[3]: has a { at byte 2 without its }`,
			`presign.yaml:6: rules[0].keys[4]: has a } at byte 1 without its {`,
			`presign.yaml:6: rules[0].keys[5]: has a "." path segment`,
			`presign.yaml:6: rules[0].keys[6]: {claim.}: "" is not a claim name`,
			`presign.yaml:7: rules[0].generate_key: has a *: generate_key is a template`,
			`presign.yaml:8: rules[0].max_size: "10 MB" is not a size like 10MiB`,
			`presign.yaml:9: rules[0].content_types[0]: "image" is not a media type pattern`,
			`presign.yaml:9: rules[0].content_types[1]: "*/png": only */* may leave the type open`,
			`presign.yaml:9: rules[0].content_types[2]: "image/png; q=1" is not a media type pattern`,
			`presign.yaml:10: rules[0].max_expires: 0s must be between 1s and 168h`,
			`presign.yaml:11: rules[1].name: "r" is already the name of rules[0]`,
			`presign.yaml:12: rules[1].who.api_keys[0]: "ghost" is not the name of a key in auth.api_keys`,
			`presign.yaml:12: rules[1].who.groups: groups come from JWTs, but auth.jwt lists no issuer`,
			`presign.yaml:12: rules[1].who.claims.role: must be a list of strings, not a string`,
			`presign.yaml:13: rules[1].ops: must be a list of strings, not a string`,
			`presign.yaml:14: rules[2]: uses {sub}, which anonymous callers (who.anonymous) have no value for`,
			`presign.yaml:18: rules[2].max_size: applies to uploads, but ops has neither put nor post`,
			`presign.yaml:19: rules[2].content_types: applies to uploads`,
			`presign.yaml:20: rules[2].overwrite: applies to uploads`,
			`presign.yaml:21: rules[2].generate_key: applies to uploads`,
			`presign.yaml:22: rules[3].keys: required for get, head and delete, which generate_key does not cover`,
			`presign.yaml:26: rules[3].max_size: 6GiB must be between 1 byte and 5GiB`,
			`presign.yaml:28: rules[4].name: "Bad Name" may hold only`,
			`presign.yaml:28: rules[4].who: required`,
			`presign.yaml:28: rules[4].keys: required: the key patterns allowed`,
			`presign.yaml:30: rules[5].name: required`,
			`presign.yaml:30: rules[5].who.groups: groups come from JWTs`,
			`presign.yaml:30: rules[5].who.claims: claims come from JWTs`,
			`presign.yaml:30: rules[5].who.claims["https://x/role"]: lists no values`,
			`presign.yaml:33: rules[5].download: applies to get, which ops does not list`,
			`presign.yaml:34: rules[6].keys: required: the key patterns allowed, e.g. ["users/{sub}/**"] (write ["**"] for every key)`,
		}},
		{"types", map[string]string{"top": "listen: [a]\ndefaults: 5\n", "rules": "rules: {name: x}\n"}, []string{
			`presign.yaml:1: listen: must be a string, not a list`,
			`presign.yaml:2: defaults: must be a mapping, not a number`,
			`presign.yaml:3: rules: must be a list of mappings, not a mapping`,
		}},
		{"duplicate keys", map[string]string{"top": "listen: :1\nlisten: :2\n"}, []string{
			`presign.yaml:2: listen: is set twice (first at line 1)`,
		}},
		{"not a mapping", map[string]string{"top": "- a\n", "backends": "", "auth": "", "rules": ""}, []string{
			`presign.yaml:1: the file must be a mapping of settings`,
		}},
		{"syntax", map[string]string{"top": "listen: [a\n"}, []string{
			`presign.yaml:`, `did not find expected`,
		}},
		{"two documents", map[string]string{"top": minimal + "---\nlisten: :1\n", "backends": "", "auth": "", "rules": ""}, []string{
			`presign.yaml:14: the file must hold one YAML document`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(env(secretEnv()), "presign.yaml", []byte(doc(tt.parts)))
			if err == nil {
				t.Fatalf("accepted:\n%s", doc(tt.parts))
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tt.want {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, w) }) {
					t.Errorf("no problem %q in:\n%v", w, err)
				}
			}
			if len(lines) != len(tt.want) && tt.name != "syntax" {
				t.Errorf("%d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, secret := range secretEnv() {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret:\n%v", err)
				}
			}
		})
	}
}

func TestUnknownFieldsAtEveryLevel(t *testing.T) {
	full := `listen: ":8080"
defaults: {expires: 15m}
cors: {origins: ["*"]}
log: {level: info}
backends:
  - name: s3
    bucket: my-bucket
    access_key_id: AKID
    secret_access_key: ${env:SECRET}
auth:
  api_keys:
    - {name: svc, sha256: ff2ea7c039cf4234d8389b8b2268a5a988e9cc3b68e6865eaadf5ddc133353a2}
  jwt:
    - issuer: https://a.example/
      audience: [presign]
      jwks_url: https://a.example/jwks.json
rules:
  - name: svc
    who: {api_keys: [svc]}
    ops: [get]
    keys: ["**"]
`
	if _, err := Parse(env(secretEnv()), "presign.yaml", []byte(full)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ anchor, insert, want string }{
		{"listen:", "bogus: 1\n", "presign.yaml:1: bogus: unknown field; known fields: listen, defaults, cors, log, backends, auth, rules"},
		{"{expires: 15m", "{bogus: 1, ", "presign.yaml:2: defaults.bogus: unknown field; known fields: expires, max_expires"},
		{"{origins:", "{bogus: 1, ", "presign.yaml:3: cors.bogus: unknown field"},
		{"{level:", "{bogus: 1, ", "presign.yaml:4: log.bogus: unknown field; known fields: level, format"},
		{"    bucket:", "    bogus: 1\n", "presign.yaml:7: backends[0].bogus: unknown field; known fields: name, endpoint,"},
		{"  api_keys:", "  bogus: 1\n", "presign.yaml:11: auth.bogus: unknown field; known fields: api_keys, jwt"},
		{"{name: svc, sha", "{bogus: 1, ", "presign.yaml:12: auth.api_keys[0].bogus: unknown field; known fields: name, sha256"},
		{"      audience:", "      bogus: 1\n", "presign.yaml:15: auth.jwt[0].bogus: unknown field; known fields: issuer, audience, jwks_url, keys,"},
		{"    ops:", "    bogus: 1\n", "presign.yaml:20: rules[0].bogus: unknown field; known fields: name, who, ops,"},
		{"{api_keys: [svc]", "{bogus: 1, ", "presign.yaml:19: rules[0].who.bogus: unknown field; known fields: anonymous, authenticated, api_keys, iam, groups, claims"},
	} {
		i := strings.Index(full, tt.anchor)
		if i < 0 {
			t.Fatalf("no %q", tt.anchor)
		}
		var data string
		if strings.HasPrefix(tt.insert, "{") {
			data = full[:i] + tt.insert + full[i+1:]
		} else {
			data = full[:i] + tt.insert + full[i:]
		}
		_, err := Parse(env(secretEnv()), "presign.yaml", []byte(data))
		if err == nil || err.Error() != tt.want && !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("bogus at %q: got\n%v\nwant %s", tt.anchor, err, tt.want)
		}
	}
}

func TestSecrets(t *testing.T) {
	literal := "wJalrXUtnFEMI-literal-secret"
	for _, field := range []string{"secret_access_key", "session_token"} {
		data := strings.Replace(minimal, "secret_access_key: ${env:SECRET}", "secret_access_key: ${env:SECRET}\n    "+field+": "+literal, 1)
		if field == "secret_access_key" {
			data = strings.Replace(minimal, "${env:SECRET}", literal, 1)
		}
		_, err := Parse(env(secretEnv()), "presign.yaml", []byte(data))
		if err == nil || !strings.Contains(err.Error(), "backends[0]."+field+": must be one ${env:NAME} reference, not the secret itself") {
			t.Errorf("literal %s: %v", field, err)
		}
		if err != nil && strings.Contains(err.Error(), literal) {
			t.Errorf("error shows the literal secret: %v", err)
		}
	}
	jwt := "auth:\n  jwt:\n    - {issuer: https://a.example/, audience: [x], hs256_secret: " + literal + "}\n"
	_, err := Parse(env(secretEnv()), "presign.yaml", []byte(doc(map[string]string{"auth": jwt, "rules": ""})))
	if err == nil || !strings.Contains(err.Error(), "auth.jwt[0].hs256_secret: must be one ${env:NAME} reference") || strings.Contains(err.Error(), literal) {
		t.Errorf("literal hs256_secret: %v", err)
	}

	// An unset variable is named along with the field.
	data := strings.Replace(minimal, "${env:SECRET}", "${env:NOT_SET}", 1)
	_, err = Parse(env(secretEnv()), "presign.yaml", []byte(data))
	if err == nil || err.Error() != "presign.yaml:5: backends[0].secret_access_key: ${env:NOT_SET} refers to NOT_SET, which is not set" {
		t.Errorf("unset variable: %v", err)
	}
	_, err = Parse(env(map[string]string{"SECRET": "  "}), "presign.yaml", []byte(minimal))
	if err == nil || !strings.Contains(err.Error(), "backends[0].secret_access_key: ${env:SECRET} refers to SECRET, which is empty") {
		t.Errorf("empty variable: %v", err)
	}
	data = strings.Replace(minimal, "bucket: my-bucket", "bucket: ${env:BUCKET_NOT_SET}", 1)
	_, err = Parse(env(secretEnv()), "presign.yaml", []byte(data))
	if err == nil || err.Error() != "presign.yaml:3: backends[0].bucket: ${env:BUCKET_NOT_SET} refers to BUCKET_NOT_SET, which is not set" {
		t.Errorf("unset variable in a plain field: %v", err)
	}

	// Secret values never appear in errors, whatever else is wrong.
	m := secretEnv()
	m["TOKEN"] = "session-token-value-xyz"
	m["SHORT"] = "short-hs256-secret"
	m["AWS_SECRET_ACCESS_KEY"] = "aws-secret-from-env"
	bad := doc(map[string]string{
		"top": "listen: bad\n",
		"backends": `backends:
  - name: s3
    bucket: B
    access_key_id: AKID
    secret_access_key: ${env:SECRET}
    session_token: ${env:TOKEN}
`,
		"auth":  "auth:\n  jwt:\n    - {issuer: https://a.example/, audience: [x], hs256_secret: ${env:SHORT}, jwks_url: x}\n",
		"rules": "rules:\n  - {name: x, who: {}, ops: [get]}\n",
	})
	_, err = Parse(env(m), "presign.yaml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	for name, v := range m {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error shows %s:\n%v", name, err)
		}
	}
}

func TestEnvReferences(t *testing.T) {
	for _, tt := range []struct{ value, want, problem string }{
		{"${env:HOST}", "https://s3.example.com", ""},
		{"https://${env:REGION}.example.com", "https://eu-1.example.com", ""},
		{"https://x.example.com/$${env:X}", "https://x.example.com/${env:X}", ""},
		{"${HOST}", "", `"HOST"} is not a reference like ${env:NAME}`},
		{"${env:1X}", "", `is not a reference like ${env:NAME}`},
		{"https://${env:HOST", "", "has a ${ without its }"},
	} {
		data := strings.Replace(minimal, "bucket: my-bucket", "endpoint: \""+tt.value+"\"\n    bucket: my-bucket", 1)
		m := secretEnv()
		m["HOST"], m["REGION"] = "https://s3.example.com", "eu-1"
		c, err := Parse(env(m), "presign.yaml", []byte(data))
		if tt.problem == "" {
			if err != nil || c.Backends[0].Endpoint != tt.want {
				t.Errorf("%s: %q, %v", tt.value, c.Backends[0].Endpoint, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), "presign.yaml:3: backends[0].endpoint: ") || !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("%s: %v", tt.value, err)
		}
	}
}

func TestEnvOverridesFile(t *testing.T) {
	file := doc(map[string]string{
		"top": "listen: \":9000\"\ndefaults: {expires: 10m, max_expires: 2h}\ncors: {origins: [https://a.example]}\nlog: {level: warn, format: text}\n",
		"backends": `backends:
  - name: s3
    endpoint: https://s3.example.com
    region: eu-1
    bucket: my-bucket
    path_style: "false"
    access_key_id: AKID
    secret_access_key: ${env:SECRET}
    session_token: ${env:TOKEN}
  - name: second
    bucket: second-bucket
    access_key_id: AKID2
    secret_access_key: ${env:SECRET}
`,
		"rules": "rules:\n  - {name: svc, who: {api_keys: [svc, env-1]}, ops: [get], keys: [\"**\"]}\n",
	})
	base := func() map[string]string {
		m := secretEnv()
		m["TOKEN"] = "file-token"
		m["PRESIGN_API_KEYS"] = "an-env-key-0123456789"
		return m
	}
	c, err := Parse(env(base()), "presign.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || c.Expires != 10*time.Minute || c.MaxExpires != 2*time.Hour || c.CORSOrigins[0] != "https://a.example" ||
		c.LogFormat != "text" || c.LogLevel.String() != "WARN" || len(c.APIKeys) != 2 || c.APIKeys[1].Name != "env-1" ||
		c.APIKeys[1].Hash != sha256.Sum256([]byte("an-env-key-0123456789")) {
		t.Errorf("file values: %+v", c)
	}
	for _, tt := range []struct {
		env   map[string]string
		check func(Config) bool
	}{
		{map[string]string{"PORT": "3000"}, func(c Config) bool { return c.Addr == ":3000" }},
		{map[string]string{"PORT": "3000", "PRESIGN_ADDR": "127.0.0.1:1"}, func(c Config) bool { return c.Addr == "127.0.0.1:1" }},
		{map[string]string{"PRESIGN_EXPIRES": "5m", "PRESIGN_MAX_EXPIRES": "30m"}, func(c Config) bool {
			return c.Expires == 5*time.Minute && c.MaxExpires == 30*time.Minute
		}},
		{map[string]string{"PRESIGN_CORS_ORIGINS": "https://b.example,https://c.example"}, func(c Config) bool {
			return slices.Equal(c.CORSOrigins, []string{"https://b.example", "https://c.example"})
		}},
		{map[string]string{"PRESIGN_LOG_LEVEL": "debug", "PRESIGN_LOG_FORMAT": "json"}, func(c Config) bool {
			return c.LogLevel.String() == "DEBUG" && c.LogFormat == "json"
		}},
		{map[string]string{"PRESIGN_S3_ENDPOINT": "https://minio.example.com", "PRESIGN_S3_REGION": "us-west-2", "PRESIGN_S3_BUCKET": "env-bucket", "PRESIGN_S3_PATH_STYLE": "true"},
			func(c Config) bool {
				b := c.Backends[0]
				return b.Endpoint == "https://minio.example.com" && b.Region == "us-west-2" && b.Bucket == "env-bucket" && b.PathStyle == presign.PathStyleAlways &&
					c.Backend == b && c.Backends[1].Bucket == "second-bucket" && c.Backends[1].Endpoint == ""
			}},
		// The file names backends[0]'s credentials: AWS_* (which Lambda
		// always sets to the function's role) do not replace them.
		{map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token"}, func(c Config) bool {
			return c.Backends[0].Credentials.AccessKeyID == "AKID" && c.Backends[0].Credentials.SessionToken == "file-token" && c.Backends[1].Credentials.AccessKeyID == "AKID2"
		}},
	} {
		m := base()
		for k, v := range tt.env {
			m[k] = v
		}
		c, err := Parse(env(m), "presign.yaml", []byte(file))
		if err != nil || !tt.check(c) {
			t.Errorf("%v: %+v, %v", tt.env, c, err)
		}
	}

	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PRESIGN_AUTH": "none"}, "PRESIGN_AUTH: none runs without authentication and so without rules, but presign.yaml has 1"},
		{map[string]string{"PRESIGN_AUTH": "maybe"}, `PRESIGN_AUTH: "maybe": the only value is none`},
		{map[string]string{"PRESIGN_EXPIRES": "3h"}, "PRESIGN_EXPIRES: 3h is above defaults.max_expires (2h)"},
		{map[string]string{"PRESIGN_MAX_EXPIRES": "5m"}, "presign.yaml:2: defaults.expires: 10m is above PRESIGN_MAX_EXPIRES (5m)"},
		{map[string]string{"PRESIGN_MAX_EXPIRES": "200h"}, "PRESIGN_MAX_EXPIRES: 200h0m0s is above S3's cap"},
		{map[string]string{"PRESIGN_S3_BUCKET": "No"}, `PRESIGN_S3_BUCKET: bucket "No" must be 3 to 63 characters`},
		{map[string]string{"PRESIGN_S3_ENDPOINT": "ftp://x"}, `PRESIGN_S3_ENDPOINT: "ftp://x" is not an http(s) URL`},
		{map[string]string{"PRESIGN_S3_PATH_STYLE": "x"}, `PRESIGN_S3_PATH_STYLE: "x" must be true, false or auto`},
		{map[string]string{"PRESIGN_CORS_ORIGINS": "nope"}, `PRESIGN_CORS_ORIGINS: "nope" is not an origin`},
		{map[string]string{"PRESIGN_LOG_LEVEL": "x"}, `PRESIGN_LOG_LEVEL: "x" must be`},
		{map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY"}, "AWS_SECRET_ACCESS_KEY: required with AWS_ACCESS_KEY_ID"},
		{map[string]string{"AWS_SECRET_ACCESS_KEY": "env-secret"}, "AWS_ACCESS_KEY_ID: required with AWS_SECRET_ACCESS_KEY"},
		{map[string]string{"AWS_SESSION_TOKEN": "tok"}, "AWS_SESSION_TOKEN: set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{map[string]string{"PRESIGN_API_KEYS": "short"}, "PRESIGN_API_KEYS: entry 1: API keys must be at least 16 characters"},
		{map[string]string{"PRESIGN_API_KEYS": "example-backend-key,an-env-key-0123456789"}, "PRESIGN_API_KEYS: env-1 is the same key as auth.api_keys[0] in presign.yaml"},
	} {
		m := base()
		for k, v := range tt.env {
			m[k] = v
		}
		_, err := Parse(env(m), "presign.yaml", []byte(file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v\nwant %s", tt.env, err, tt.want)
		}
	}

	// Without rules or auth in the file, PRESIGN_AUTH=none is the open mode;
	// with auth, it contradicts it.
	open := doc(map[string]string{"auth": "", "rules": ""})
	m := base()
	delete(m, "PRESIGN_API_KEYS")
	c, err = Parse(env(m), "presign.yaml", []byte(open))
	if err != nil || c.AuthNone || c.RequireAuth() == nil || !strings.HasPrefix(c.RequireAuth().Error(), "presign.yaml: auth: no authentication is configured") {
		t.Errorf("no auth: %v, %v", err, c.RequireAuth())
	}
	m["PRESIGN_AUTH"] = "none"
	if c, err := Parse(env(m), "presign.yaml", []byte(open)); err != nil || !c.AuthNone || c.RequireAuth() != nil {
		t.Errorf("open mode: %+v, %v", c, err)
	}
	if _, err := Parse(env(m), "presign.yaml", []byte(doc(map[string]string{"rules": ""}))); err == nil || !strings.Contains(err.Error(), "PRESIGN_AUTH: none contradicts the auth section of presign.yaml") {
		t.Errorf("none with auth: %v", err)
	}

	// A file without backends takes the environment's.
	noBackends := doc(map[string]string{"backends": "", "rules": "rules:\n  - {name: r, who: {anonymous: true}, ops: [get], backend: default, keys: [\"public/**\"]}\n"})
	m = valid()
	c, err = Parse(env(m), "presign.yaml", []byte(noBackends))
	if err != nil || len(c.Backends) != 1 || c.Backends[0].Name != "default" || c.Backends[0].Bucket != "bucket" || !c.AllowAnonymous || c.RequireAuth() != nil {
		t.Errorf("backend from the environment: %+v, %v", c, err)
	}
	delete(m, "AWS_SECRET_ACCESS_KEY")
	if _, err := Parse(env(m), "presign.yaml", []byte(noBackends)); err == nil || err.Error() != "AWS_SECRET_ACCESS_KEY: required: the secret key that signs URLs" {
		t.Errorf("env backend incomplete: %v", err)
	}

	// The first backend's required fields may come from the environment.
	partial := doc(map[string]string{"backends": "backends:\n  - name: s3\n"})
	m = valid()
	if c, err := Parse(env(m), "presign.yaml", []byte(partial)); err != nil || c.Backends[0].Bucket != "bucket" || c.Backends[0].Name != "s3" {
		t.Errorf("first backend from env: %+v, %v", c, err)
	}
	_, err = Parse(env(nil), "presign.yaml", []byte(partial))
	want := "presign.yaml:2: backends[0].bucket: required: the bucket to presign for (or set PRESIGN_S3_BUCKET)\n" +
		"presign.yaml:2: backends[0].access_key_id: required: the access key that signs URLs (or set AWS_ACCESS_KEY_ID)\n" +
		"presign.yaml:2: backends[0].secret_access_key: required: the secret key that signs URLs, as ${env:NAME} (or set AWS_SECRET_ACCESS_KEY)"
	if err == nil || err.Error() != want {
		t.Errorf("first backend incomplete: got\n%v\nwant\n%s", err, want)
	}
}

func TestSizesAndDurations(t *testing.T) {
	for _, tt := range []struct {
		s  string
		n  int64
		ok bool
	}{
		{"10MiB", 10 << 20, true}, {"10MB", 10e6, true}, {"1KiB", 1024, true}, {"1KB", 1000, true}, {"5GiB", 5 << 30, true},
		{"2GB", 2e9, true}, {"123", 123, true}, {"7B", 7, true},
		{"10 MB", 0, false}, {"10mb", 0, false}, {"1.5MiB", 0, false}, {"-1", 0, false}, {"", 0, false}, {"MiB", 0, false},
		{"99999999999999GiB", 0, false}, {"9999999999999GiB", 0, false},
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
		{"1d12h", 36 * time.Hour, true}, {"900", 15 * time.Minute, true}, {"0s", 0, true},
		{"", 0, false}, {"d", 0, false}, {"1dh", 0, false}, {"-5m", 0, false}, {"15 min", 0, false}, {"1d-1h", 0, false},
	} {
		if d, ok := parseDuration(tt.s); ok != tt.ok || d != tt.d {
			t.Errorf("parseDuration(%q) = %v, %v", tt.s, d, ok)
		}
	}
	for d, want := range map[time.Duration]string{15 * time.Minute: "15m", time.Hour: "1h", 90 * time.Minute: "1h30m", 168 * time.Hour: "168h", 90 * time.Second: "1m30s", 30 * time.Second: "30s"} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %s", d, got)
		}
	}
}

func TestRedacted(t *testing.T) {
	m := exampleEnv()
	m["PRESIGN_API_KEYS"] = "an-env-key-0123456789"
	c, err := Load(env(m), "../../examples/presign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Backends[0].Credentials.SecretAccessKey = "env-secret-value-3"
	c.Backends[0].Credentials.SessionToken = "session-token-value"
	c.JWT = append(c.JWT, JWTIssuer{Issuer: "https://hs.example/", Audience: []string{"x"}, HS256Secret: []byte("hs256-secret-value-0123456789abcdef")})
	var buf bytes.Buffer
	if err := c.WriteRedacted(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"session-token-value", "env-secret-value-3", "r2-secret-value-2", "hs256-secret-value", "3ecbb48b9ba0", hex.EncodeToString(c.APIKeys[1].Hash[:5])} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted output shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"sha256: 3ecbb48b…", "secret_access_key: <redacted>", "session_token: <redacted>", "hs256_secret: <redacted>",
		"name: env-1", "generate_key: users/{sub}/{uuid}{ext}", "max_size: 10MiB", "from ../../examples/presign.yaml and the environment"} {
		if !strings.Contains(out, want) {
			t.Errorf("redacted output lacks %q:\n%s", want, out)
		}
	}
	// The output is in the file's schema.
	var f fileConfig
	dec := yaml.NewDecoder(strings.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Errorf("redacted output is not in the schema: %v", err)
	}
	if len(f.Rules) != 5 || len(f.Backends) != 2 || *f.Backends[0].AccessKeyID != c.Backends[0].Credentials.AccessKeyID {
		t.Errorf("redacted: %+v", f)
	}

	// The env-only configuration, too.
	ec, err := FromEnv(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := ec.WriteRedacted(&buf); err != nil || strings.Contains(buf.String(), "very-secret-value") || !strings.Contains(buf.String(), "name: default") {
		t.Errorf("env-only redacted: %v\n%s", err, buf.String())
	}
}

func TestFileErrorsAreJoined(t *testing.T) {
	_, err := Parse(env(nil), "presign.yaml", []byte("listen: bad\nlog: {level: x}\n"))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("want 3 joined problems: %v", err)
	}
}

func FuzzLoadYAML(f *testing.F) {
	example, err := os.ReadFile("../../examples/presign.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte(doc(map[string]string{"backends": ""})))
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("rules:\n  - {name: r, who: {anonymous: true}, ops: [get], keys: [\"{claim.x}/**\"]}\n"))
	lookup := env(func() map[string]string {
		m := exampleEnv()
		for k, v := range secretEnv() {
			m[k] = v
		}
		return m
	}())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(lookup, "fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, r := range c.Rules {
			if len(r.Ops) == 0 {
				t.Fatalf("rule %q without ops", r.Name)
			}
			for _, op := range r.Ops {
				if !slices.Contains(presign.Ops, op) {
					t.Fatalf("rule %q: op %q", r.Name, op)
				}
			}
		}
		if _, err := presign.New(c.IssuerConfig()); err != nil {
			t.Fatalf("accepted config does not build an issuer: %v\n%s", err, data)
		}
		if err := c.WriteRedacted(&bytes.Buffer{}); err != nil {
			t.Fatalf("WriteRedacted: %v", err)
		}
	})
}
