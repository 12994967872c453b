package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"presign.dev/presign"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func valid() map[string]string {
	return map[string]string{
		"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "very-secret-value",
	}
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Expires != 15*time.Minute || c.MaxExpires != time.Hour || c.Backend.Region != "us-east-1" ||
		c.Backend.PathStyle != presign.PathStyleAuto || c.LogFormat != "json" || c.AuthNone || len(c.APIKeys) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.RequireAuth(); err == nil || !strings.Contains(err.Error(), "PRESIGN_AUTH=none") {
		t.Errorf("serve without auth: %v", err)
	}
	m := valid()
	m["PORT"] = "3000"
	if c, _ := FromEnv(env(m)); c.Addr != ":3000" {
		t.Errorf("PORT: addr %q", c.Addr)
	}
	m["PRESIGN_ADDR"] = "127.0.0.1:9999"
	if c, _ := FromEnv(env(m)); c.Addr != "127.0.0.1:9999" {
		t.Errorf("PRESIGN_ADDR over PORT: addr %q", c.Addr)
	}
}

func TestAPIKeys(t *testing.T) {
	m := valid()
	sum := sha256.Sum256([]byte("second-key-0123456789"))
	m["PRESIGN_API_KEYS"] = "first-key-0123456789, sha256:" + hex.EncodeToString(sum[:])
	c, err := FromEnv(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APIKeys) != 2 || c.APIKeys[0].Hash != sha256.Sum256([]byte("first-key-0123456789")) || c.APIKeys[1].Hash != sum {
		t.Errorf("keys %+v", c.APIKeys)
	}
	if c.RequireAuth() != nil {
		t.Error("keys configured, auth still required")
	}
}

func TestEveryProblemReportedByName(t *testing.T) {
	m := map[string]string{
		"PRESIGN_S3_ENDPOINT":   "ftp://x",
		"PRESIGN_S3_PATH_STYLE": "sometimes",
		"AWS_SECRET_ACCESS_KEY": "s3cr3t-do-not-print",
		"PRESIGN_EXPIRES":       "2h",
		"PRESIGN_MAX_EXPIRES":   "30d",
		"PRESIGN_API_KEYS":      "short,sha256:zz",
		"PRESIGN_AUTH":          "maybe",
		"PRESIGN_CORS_ORIGINS":  "app.example.com",
		"PRESIGN_LOG_LEVEL":     "loud",
		"PRESIGN_LOG_FORMAT":    "xml",
	}
	_, err := FromEnv(env(m))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, name := range []string{"PRESIGN_S3_ENDPOINT", "PRESIGN_S3_BUCKET", "PRESIGN_S3_PATH_STYLE", "AWS_ACCESS_KEY_ID",
		"PRESIGN_MAX_EXPIRES", "PRESIGN_API_KEYS", "PRESIGN_AUTH", "PRESIGN_CORS_ORIGINS", "PRESIGN_LOG_LEVEL", "PRESIGN_LOG_FORMAT"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("no error names %s:\n%v", name, err)
		}
	}
	for _, secret := range []string{"s3cr3t-do-not-print", "short"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks a secret %q:\n%v", secret, err)
		}
	}
}

// TestNoPasswordInURLProblems: a password written into an endpoint or an
// origin never reaches the error, parseable or not, through the
// environment or the file (with the environment overriding it).
func TestNoPasswordInURLProblems(t *testing.T) {
	for _, v := range []string{"https://admin:pw-do-not-print@minio.internal", "https://admin:pw-do-not-print@minio.internal/%zz"} {
		m := valid()
		m["PRESIGN_S3_ENDPOINT"], m["PRESIGN_CORS_ORIGINS"], m["PRESIGN_S3_REGION"] = v, v, "us east/1"
		_, errEnv := FromEnv(env(m))
		_, errFile := Parse(env(m), "f.yaml", []byte("backends:\n  - {name: b, bucket: bucket, endpoint: https://s3.example.com}\n"))
		for _, err := range []error{errEnv, errFile} {
			if err == nil {
				t.Fatalf("%s accepted", v)
			}
			if strings.Contains(err.Error(), "pw-do-not-print") {
				t.Errorf("error leaks the password:\n%v", err)
			}
			for _, name := range []string{"PRESIGN_S3_ENDPOINT:", "PRESIGN_CORS_ORIGINS:", "PRESIGN_S3_REGION:"} {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("no problem names %s\n%v", name, err)
				}
			}
		}
	}
}

func TestDurations(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"15m", 15 * time.Minute, true}, {"900", 15 * time.Minute, true}, {"1h", time.Hour, true},
		{"0", 0, false}, {"-5m", 0, false}, {"1.5s", 0, false}, {"soon", 0, false}, {"99999999999999999999", 0, false},
	} {
		m := valid()
		m["PRESIGN_EXPIRES"] = tt.v
		c, err := FromEnv(env(m))
		if (err == nil) != tt.ok || (tt.ok && c.Expires != tt.want) {
			t.Errorf("PRESIGN_EXPIRES=%q: %v, %v", tt.v, c.Expires, err)
		}
	}
}

func FuzzFromEnv(f *testing.F) {
	f.Add("bucket", "15m", "k1234567890123456,sha256:00", "https://a.example", "auto")
	f.Fuzz(func(t *testing.T, bucket, expires, keys, origins, pathStyle string) {
		m := valid()
		m["PRESIGN_S3_BUCKET"], m["PRESIGN_EXPIRES"], m["PRESIGN_API_KEYS"], m["PRESIGN_CORS_ORIGINS"], m["PRESIGN_S3_PATH_STYLE"] = bucket, expires, keys, origins, pathStyle
		c, err := FromEnv(env(m))
		if err != nil {
			return
		}
		// What is accepted must build an issuer.
		if _, err := presign.New(c.IssuerConfig()); err != nil {
			t.Fatalf("accepted config does not build an issuer: %v", err)
		}
	})
}

// TestExpressionsCompile: the package's expressions compile on first use,
// not at init, so an invalid one would panic only on the path that needs it;
// this compiles every one.
func TestExpressionsCompile(t *testing.T) {
	for _, re := range []func() *regexp.Regexp{envKeyName, envName, secretRef, sizeRE, plainKey, reSyntax, reUnknown, reType, reDupKey, reDupFld, reLine, reQuoted} {
		if re() == nil {
			t.Fatal("nil expression")
		}
	}
}

// TestLoadServingListsMissingAuthWithTheRest: the missing authentication is
// one of the problems reported at once, and is not claimed when a bad
// authentication setting was given (that setting's own problem is listed).
func TestLoadServingListsMissingAuthWithTheRest(t *testing.T) {
	_, err := LoadServing(env(map[string]string{"PRESIGN_LOG_LEVEL": "loud"}), "")
	for _, want := range []string{"PRESIGN_S3_BUCKET:", "PRESIGN_LOG_LEVEL:", "PRESIGN_API_KEYS: no authentication is configured"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrNoAuth) {
		t.Errorf("%v is not ErrNoAuth", err)
	}
	_, err = LoadServing(env(map[string]string{"PRESIGN_API_KEYS": "short"}), "")
	if err == nil || !strings.Contains(err.Error(), "PRESIGN_API_KEYS:") || errors.Is(err, ErrNoAuth) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := LoadServing(env(valid()), ""); !errors.Is(err, ErrNoAuth) {
		t.Errorf("valid but no auth: %v", err)
	}
	m := valid()
	m["PRESIGN_AUTH"] = "none"
	if _, err := LoadServing(env(m), ""); err != nil {
		t.Errorf("PRESIGN_AUTH=none: %v", err)
	}
}
