package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/internal/config"
	"presign.dev/internal/e2e"
	"presign.dev/internal/s3test"
	"presign.dev/internal/service"
	"presign.dev/presign"
)

// TestDev starts `presign dev` on its embedded store, runs the whole
// integration suite against it, runs the curl commands it prints, and
// restarts it to check that credentials, key and data are kept.
func TestDev(t *testing.T) {
	data := filepath.Join(t.TempDir(), "dev data")
	s3Addr := freeAddr(t)
	c, out, logs := testCLI(nil)
	api, stop := start(t, c, "dev", "--addr", "127.0.0.1:0", "--s3-addr", s3Addr, "--data", data)

	st := readDevState(t, data)
	uploadsSecret := readUploadsSecret(t, data)
	if !strings.Contains(out.String(), "  Uppy       "+api+"/companion  (Companion S3 routes)\n") {
		t.Errorf("the banner does not show the Companion routes:\n%s", out)
	}
	want := DevState{APIURL: api, S3Endpoint: "http://" + s3Addr, Bucket: "presign-dev", Region: "us-east-1"}
	// The key and credentials are random: ignored here, checked for their
	// form below (and for surviving a restart at the end).
	if diff := cmp.Diff(want, st, cmpopts.IgnoreFields(DevState{}, "APIKey", "AccessKeyID", "SecretAccessKey")); diff != "" {
		t.Fatalf("dev.json (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(st.APIKey, "psk_dev_") || st.AccessKeyID == "" || st.SecretAccessKey == "" {
		t.Fatalf("dev.json: api_key %q (want psk_dev_...), access_key_id %q, secret_access_key set: %v", st.APIKey, st.AccessKeyID, st.SecretAccessKey != "")
	}
	if fi, err := os.Stat(filepath.Join(data, "dev.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dev.json mode: %v %v", fi.Mode(), err)
	}
	store := &s3test.Server{Name: "dev", Endpoint: st.S3Endpoint, Region: st.Region, Bucket: st.Bucket,
		AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey}
	e2e.Run(t, e2e.Target{Flavor: "versitygw", API: st.APIURL, APIKey: st.APIKey, Store: store})
	// Uploads and the Companion routes, which dev turns on; dev allows
	// everything, so the cases of the rules' limits run in internal/e2e.
	t.Run("uploads", func(t *testing.T) {
		e2e.RunUploads(t, e2e.Target{Flavor: "versitygw", API: st.APIURL, APIKey: st.APIKey, Store: store}, e2e.UploadRules{})
	})

	t.Run("the printed curl commands work", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("curl is not installed")
			}
			t.Skip("curl is not installed")
		}
		var script []string
		for _, line := range strings.Split(out.String(), "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "URL=") || strings.HasPrefix(l, "curl ") {
				script = append(script, l)
			}
		}
		if len(script) != 4 {
			t.Fatalf("banner has %d commands:\n%s", len(script), out)
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(script, "\n"))
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, got)
		}
		if !strings.Contains(string(got), "hello, presign") || !strings.Contains(string(got), `"method":"PUT"`) {
			t.Fatalf("output:\n%s", got)
		}
	})

	if err := stop(); err != nil {
		t.Fatalf("dev: %v", err)
	}
	if strings.Contains(out.String(), uploadsSecret) || strings.Contains(logs.String(), uploadsSecret) {
		t.Errorf("the banner or the logs show the uploads secret")
	}

	// Restart on the same data: same credentials, key and uploads secret;
	// objects kept.
	c, out, logs = testCLI(nil)
	api, stop = start(t, c, "dev", "--addr", "127.0.0.1:0", "--s3-addr", s3Addr, "--data", data)
	st2 := readDevState(t, data)
	want = st
	want.APIURL = api // the API listens on a new port; the rest is kept
	if diff := cmp.Diff(want, st2); diff != "" {
		t.Fatalf("dev.json after a restart (-want +got):\n%s", diff)
	}
	if got := readUploadsSecret(t, data); got != uploadsSecret {
		t.Errorf("the uploads secret changed across a restart")
	}
	if got, ok := store.GetObject(t, "hello.txt"); !ok || string(got) != "hello, presign" {
		t.Fatalf("object from the first run: %q %v", got, ok)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), uploadsSecret) || strings.Contains(logs.String(), uploadsSecret) {
		t.Errorf("the banner or the logs of the restart show the uploads secret")
	}
}

// TestDevUploadsSecret: presign dev makes its uploads secret from its
// random source once (32 bytes, as 64 hex digits, in a 0600 file of its
// own, not in dev.json), keeps it, refuses a damaged file naming it, and
// configures uploads (ID "dev") and the Companion routes with it.
func TestDevUploadsSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "uploads-secret")
	raw := bytes.Repeat([]byte{0xa5, 0x3c}, 16)
	c, _, _ := testCLI(nil)
	c.random = bytes.NewReader(raw)
	got, err := c.loadOrCreateUploadsSecret(path)
	if err != nil || got != hex.EncodeToString(raw) {
		t.Fatalf("first run: %q, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}
	c.random = iotest.ErrReader(errors.New("no randomness on the second run"))
	if again, err := c.loadOrCreateUploadsSecret(path); err != nil || again != got {
		t.Errorf("second run: %q, %v; want the first run's", again, err)
	}

	for _, damaged := range []string{"", "not hex at all", "a53c", strings.Repeat("zz", 32), got[:62]} {
		if err := os.WriteFile(path, []byte(damaged), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.loadOrCreateUploadsSecret(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: %v, want an error that names the file", damaged, err)
		}
	}

	st := DevState{APIKey: "psk_dev_0123456789abcdef", S3Endpoint: "http://127.0.0.1:9000", Bucket: devBucket, Region: "us-east-1",
		AccessKeyID: "PRESIGNDEVAK", SecretAccessKey: "0123456789abcdef0123"}
	cfg, err := config.LoadServing(devEnvironment(st, got), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []presign.TokenSecret{{ID: "dev", Secret: []byte(got)}}
	if diff := cmp.Diff(want, cfg.IssuerConfig().Uploads.Secrets); diff != "" || cfg.CompanionPath != "/companion" {
		t.Errorf("uploads secrets (-want +got):\n%s\ncompanion path %q", diff, cfg.CompanionPath)
	}
	if _, err := service.New(cfg, service.Options{}); err != nil {
		t.Error(err)
	}
}

func readUploadsSecret(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(data, "uploads-secret")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("uploads-secret mode: %v %v", fi, err)
	}
	s := strings.TrimSpace(string(b))
	if raw, err := hex.DecodeString(s); err != nil || len(raw) != 32 {
		t.Fatalf("uploads-secret does not hold 64 hex digits (%d characters, %v)", len(s), err)
	}
	// dev.json keeps the spec's fields, and no secret of uploads.
	var fields map[string]any
	if b, err := os.ReadFile(filepath.Join(data, "dev.json")); err != nil || json.Unmarshal(b, &fields) != nil {
		t.Fatalf("dev.json: %v", err)
	}
	if got, want := slices.Sorted(maps.Keys(fields)), []string{"access_key_id", "api_key", "api_url", "bucket", "region", "s3_endpoint", "secret_access_key"}; !slices.Equal(got, want) {
		t.Errorf("dev.json fields %v, want %v", got, want)
	}
	return s
}

func readDevState(t *testing.T, data string) DevState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st DevState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}
