package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/internal/e2e"
	"presign.dev/internal/s3test"
)

// TestDev starts `presign dev` on its embedded store, runs the whole
// integration suite against it, runs the curl commands it prints, and
// restarts it to check that credentials, key and data are kept.
func TestDev(t *testing.T) {
	data := filepath.Join(t.TempDir(), "dev data")
	s3Addr := freeAddr(t)
	c, out, _ := testCLI(nil)
	api, stop := start(t, c, "dev", "--addr", "127.0.0.1:0", "--s3-addr", s3Addr, "--data", data)

	st := readDevState(t, data)
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

	// Restart on the same data: same credentials and key; objects kept.
	c, _, _ = testCLI(nil)
	api, stop = start(t, c, "dev", "--addr", "127.0.0.1:0", "--s3-addr", s3Addr, "--data", data)
	st2 := readDevState(t, data)
	want = st
	want.APIURL = api // the API listens on a new port; the rest is kept
	if diff := cmp.Diff(want, st2); diff != "" {
		t.Fatalf("dev.json after a restart (-want +got):\n%s", diff)
	}
	if got, ok := store.GetObject(t, "hello.txt"); !ok || string(got) != "hello, presign" {
		t.Fatalf("object from the first run: %q %v", got, ok)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
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
