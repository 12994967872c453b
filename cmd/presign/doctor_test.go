package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"presign.dev/internal/s3test"
)

// doctorEnv is the environment-only configuration of srv's bucket (or
// bucket) with the secret key secret (or srv's).
func doctorEnv(srv *s3test.Server, bucket, secret string) map[string]string {
	if bucket == "" {
		bucket = srv.Bucket
	}
	if secret == "" {
		secret = srv.SecretAccessKey
	}
	return map[string]string{
		"PRESIGN_S3_ENDPOINT": srv.Endpoint, "PRESIGN_S3_REGION": srv.Region, "PRESIGN_S3_BUCKET": bucket, "PRESIGN_S3_PATH_STYLE": "true",
		"AWS_ACCESS_KEY_ID": srv.AccessKeyID, "AWS_SECRET_ACCESS_KEY": secret,
		"PRESIGN_API_KEYS": "doctor-test-api-key-0123456789",
	}
}

// TestDoctor runs presign doctor against Versity Gateway and MinIO and
// checks what it prints and its exit status: 0 when nothing fails, 1 when
// a check fails, 2 for a mistake in the command or the configuration.
func TestDoctor(t *testing.T) {
	versity, minio := s3test.StartVersity(t), s3test.StartMinIO(t)
	const origin = "http://localhost:5173"

	// Two backends in a file: --backend picks one.
	file := filepath.Join(t.TempDir(), "presign.yaml")
	if err := os.WriteFile(file, []byte(`backends:
  - name: versity
    endpoint: `+versity.Endpoint+`
    bucket: `+versity.Bucket+`
    path_style: true
    access_key_id: `+versity.AccessKeyID+`
    secret_access_key: ${env:VERSITY_SECRET}
  - name: minio
    endpoint: `+minio.Endpoint+`
    bucket: `+minio.Bucket+`
    path_style: true
    access_key_id: `+minio.AccessKeyID+`
    secret_access_key: ${env:MINIO_SECRET}
auth:
  api_keys:
    - {name: app, sha256: `+strings.Repeat("a", 64)+`}
cors:
  origins: [`+origin+`]
rules:
  - name: all
    who: {authenticated: true}
    ops: [get, put, delete]
    keys: ["**"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	fileEnv := map[string]string{"VERSITY_SECRET": versity.SecretAccessKey, "MINIO_SECRET": minio.SecretAccessKey}

	for _, tt := range []struct {
		name   string
		env    map[string]string
		args   []string
		status int
		stdout []string // each in stdout, in this order
		stderr string   // stderr starts with it
	}{
		{"healthy store", doctorEnv(versity, "", ""), []string{"doctor", "--origin", origin}, 0,
			[]string{"presign doctor: bucket CORS checked for origin " + origin, `backend "default": ` + versity.Endpoint,
				"ok    credentials", "ok    cors ", "ok    post", "ok    conditional-write", "ok    unsigned-force-delete", "0 fail"}, ""},
		{"without an origin: CORS warns", doctorEnv(versity, "", ""), []string{"doctor"}, 0,
			[]string{"no origin to check bucket CORS for", "warn  cors ", "fix: run presign doctor --origin", "2 warn, 0 fail"}, ""},
		{"MinIO acts on unsigned headers", doctorEnv(minio, "", ""), []string{"doctor", "--origin", origin}, 1,
			[]string{"fail  provider", "set provider of backend", "ok    cors ", "fail  unsigned-source-mtime", "docs/minio.md", "fail  unsigned-force-delete", "fail  unsigned-copy-source", "fail  minio-policy", "5 fail"},
			"presign: doctor: 5 checks failed\n"},
		{"wrong secret key", doctorEnv(versity, "", "not-the-secret-key-0123456789"), []string{"doctor"}, 1,
			[]string{"fail  credentials", "SignatureDoesNotMatch", "fix: the secret key is not that of access key", "skip  cors "},
			"presign: doctor: 1 check failed\n"},
		{"missing bucket", doctorEnv(minio, "no-such-bucket-here", ""), []string{"doctor"}, 1,
			[]string{"fail  bucket", "NoSuchBucket", `fix: create bucket "no-such-bucket-here"`, "fail  provider"}, "presign: doctor: 2 checks failed\n"},
		{"--backend picks one of the file's", fileEnv, []string{"doctor", "--config", file, "--backend", "versity"}, 0,
			[]string{`backend "versity"`, "ok    unsigned-copy-source", "0 fail"}, ""},
		{"every backend of the file", fileEnv, []string{"doctor", "--config", file}, 1,
			[]string{`backend "versity"`, `backend "minio"`, "fail  provider", "fail  unsigned-force-delete", "fail  minio-policy"}, "presign: doctor: 5 checks failed\n"},
		{"unknown backend", fileEnv, []string{"doctor", "--config", file, "--backend", "nope"}, 2, nil,
			`presign: no backend is named "nope" (the configuration has "versity", "minio")` + "\nRun 'presign doctor --help' for usage.\n"},
		{"not an origin", doctorEnv(versity, "", ""), []string{"doctor", "--origin", "localhost:5173"}, 2, nil,
			`presign: --origin "localhost:5173" is not an origin like https://app.example.com`},
		{"configuration error", map[string]string{"AWS_SECRET_ACCESS_KEY": "do-not-print-me"}, []string{"doctor"}, 2, nil,
			"presign: invalid configuration:\n"},
		{"a positional argument", nil, []string{"doctor", "default"}, 2, nil, `presign: doctor takes flags only, not "default"`},
		{"-o xml", nil, []string{"doctor", "-o", "xml"}, 2, nil, `presign: -o "xml": use text or json`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := testCLI(tt.env)
			status := c.main(context.Background(), tt.args)
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			if status != tt.status {
				t.Errorf("exit status %d, want %d", status, tt.status)
			}
			rest := out.String()
			for _, s := range tt.stdout {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("stdout lacks %q (after the lines before it)", s)
					continue
				}
				rest = rest[i+len(s):]
			}
			if !strings.HasPrefix(errOut.String(), tt.stderr) || (tt.stderr == "" && errOut.Len() > 0) {
				t.Errorf("stderr %q, want it to start with %q", errOut, tt.stderr)
			}
			for _, secret := range []string{versity.SecretAccessKey, minio.SecretAccessKey, "not-the-secret-key", "do-not-print-me", "X-Amz-Signature"} {
				if strings.Contains(out.String()+errOut.String(), secret) {
					t.Errorf("the output shows %q", secret)
				}
			}
		})
	}

	t.Run("-o json", func(t *testing.T) {
		c, out, errOut := testCLI(doctorEnv(minio, "", ""))
		if status := c.main(context.Background(), []string{"doctor", "-o", "json", "--origin", origin}); status != 1 {
			t.Errorf("exit status %d, want 1; stderr:\n%s", status, errOut)
		}
		var got struct {
			Origin   string `json:"origin"`
			Failed   bool   `json:"failed"`
			Backends []struct {
				Backend string `json:"backend"`
				Checks  []struct {
					Check, Result, Seen, Fix string
				} `json:"checks"`
			} `json:"backends"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, out)
		}
		results := map[string]string{}
		for _, ch := range got.Backends[0].Checks {
			results[ch.Check] = ch.Result
		}
		if !got.Failed || got.Origin != origin || got.Backends[0].Backend != "default" || results["unsigned-force-delete"] != "fail" || results["credentials"] != "ok" {
			t.Errorf("JSON report:\n%s", out)
		}
	})

	t.Run("--help", func(t *testing.T) {
		c, out, errOut := testCLI(nil)
		if status := c.main(context.Background(), []string{"doctor", "--help"}); status != 0 || out.Len() != 0 {
			t.Errorf("exit status %d, stdout %q", status, out)
		}
		for _, f := range []string{"-config", "-backend", "-origin", "-o", "-lambda", "-timeout"} {
			if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `( |$)`).MatchString(errOut.String()) {
				t.Errorf("--help lacks %s:\n%s", f, errOut)
			}
		}
		if !strings.HasPrefix(errOut.String(), "Usage: presign doctor ") {
			t.Errorf("--help:\n%s", errOut)
		}
	})
}
