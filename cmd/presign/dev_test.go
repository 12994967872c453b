package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/internal/config"
	"presign.dev/internal/e2e"
	"presign.dev/internal/s3test"
	"presign.dev/internal/service"
	"presign.dev/presign"
	"presign.dev/receipt"
	"presign.dev/webhook"
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
	receiptKey := readReceiptKey(t, data)
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
	if strings.Contains(out.String(), receiptKey) || strings.Contains(logs.String(), receiptKey) {
		t.Errorf("the banner or the logs show the receipt key")
	}

	// Restart on the same data: same credentials, key, uploads secret and
	// receipt key; objects kept.
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
	if got := readReceiptKey(t, data); got != receiptKey {
		t.Errorf("the receipt key changed across a restart")
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
	if strings.Contains(out.String(), receiptKey) || strings.Contains(logs.String(), receiptKey) {
		t.Errorf("the banner or the logs of the restart show the receipt key")
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
	cfg, err := config.LoadServing(devEnvironment(st, got, testReceiptKey(t), ""), "")
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

// TestDevReceiptKey: presign dev makes its receipt key from its random
// source once (an Ed25519 key from a 32-byte seed, kept as the base64 of
// its PKCS #8 DER in a 0600 file of its own, not in dev.json), keeps it,
// refuses a damaged file naming it but not quoting it, and configures
// receipts (ID "dev") with it.
func TestDevReceiptKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "receipt-key")
	seed := bytes.Repeat([]byte{0x5a, 0xc3}, 16)
	c, _, _ := testCLI(nil)
	c.random = bytes.NewReader(seed)
	got, err := c.loadOrCreateReceiptKey(path)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
	if want := base64.StdEncoding.EncodeToString(der); got != want {
		t.Fatalf("first run: %q, want %q", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}
	c.random = iotest.ErrReader(errors.New("no randomness on the second run"))
	if again, err := c.loadOrCreateReceiptKey(path); err != nil || again != got {
		t.Errorf("second run: %q, %v; want the first run's", again, err)
	}

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	for _, damaged := range []string{"", "not base64 at all", got[:40], base64.StdEncoding.EncodeToString(rsaDER),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))} {
		if err := os.WriteFile(path, []byte(damaged), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := c.loadOrCreateReceiptKey(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%.20q: %v, want an error that names the file", damaged, err)
		} else if strings.Contains(err.Error(), got[8:40]) || strings.Contains(err.Error(), "not base64 at all") {
			t.Errorf("the error quotes the file: %v", err)
		}
	}

	st := DevState{APIKey: "psk_dev_0123456789abcdef", S3Endpoint: "http://127.0.0.1:9000", Bucket: devBucket, Region: "us-east-1",
		AccessKeyID: "PRESIGNDEVAK", SecretAccessKey: "0123456789abcdef0123"}
	cfg, err := config.LoadServing(devEnvironment(st, strings.Repeat("ab", 32), got, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ReceiptKeys) != 1 || cfg.ReceiptKeys[0].ID != "dev" || !ed25519.NewKeyFromSeed(seed).Equal(cfg.ReceiptKeys[0].Private) || len(cfg.Webhooks) != 0 {
		t.Errorf("receipt keys %v, webhooks %v", cfg.ReceiptKeys, cfg.Webhooks)
	}
	if _, err := service.New(cfg, service.Options{}); err != nil {
		t.Error(err)
	}
}

// TestDevWebhookSecret: with --webhook, presign dev makes the webhook
// secret from its random source once (webhook.NewSecret: whsec_ and 32
// bytes, in a 0600 file of its own), keeps it, refuses a damaged file
// naming it, and configures the receiver ("env", on any address) with it.
func TestDevWebhookSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "webhook-secret")
	raw := bytes.Repeat([]byte{0x17, 0xe8}, 16)
	c, _, _ := testCLI(nil)
	c.random = bytes.NewReader(raw)
	got, err := c.loadOrCreateWebhookSecret(path)
	if want := "whsec_" + base64.StdEncoding.EncodeToString(raw); err != nil || got != want {
		t.Fatalf("first run: %q, %v; want %q", got, err, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}
	c.random = iotest.ErrReader(errors.New("no randomness on the second run"))
	if again, err := c.loadOrCreateWebhookSecret(path); err != nil || again != got {
		t.Errorf("second run: %q, %v; want the first run's", again, err)
	}
	for _, damaged := range []string{"", "whsec_", "whsec_c2hvcnQ=", got[6:], "whsec_!!" + got[8:]} {
		if err := os.WriteFile(path, []byte(damaged), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.loadOrCreateWebhookSecret(path); err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), got[8:]) {
			t.Errorf("%q: %v, want an error that names the file, not its content", damaged, err)
		}
	}

	st := DevState{APIKey: "psk_dev_0123456789abcdef", S3Endpoint: "http://127.0.0.1:9000", Bucket: devBucket, Region: "us-east-1",
		AccessKeyID: "PRESIGNDEVAK", SecretAccessKey: "0123456789abcdef0123", WebhookSecret: got}
	cfg, err := config.LoadServing(devEnvironment(st, strings.Repeat("ab", 32), testReceiptKey(t), "http://127.0.0.1:4000/hooks"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []webhook.Endpoint{{Name: "env", URL: "http://127.0.0.1:4000/hooks", Secret: got, AllowPrivate: true}}
	if diff := cmp.Diff(want, cfg.Webhooks); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	if _, err := service.New(cfg, service.Options{}); err != nil {
		t.Error(err)
	}
}

// TestDevWebhook starts `presign dev --webhook URL` with a receiver on the
// loopback interface (no tunnel), uploads a file with a PUT grant and
// completes it: the receiver gets upload.completed before complete
// answers, signed with dev.json's webhook_secret (verified here by the
// Standard Webhooks scheme, written out), its JSON answer comes back as
// server_data, the receipt verifies against GET /.well-known/jwks.json
// (the key of DIR/receipt-key), and dev's log has the delivery, but
// neither the secret nor the key.
func TestDevWebhook(t *testing.T) {
	type delivery struct {
		header http.Header
		path   string
		body   []byte
	}
	deliveries := make(chan delivery, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliveries <- delivery{r.Header.Clone(), r.Method + " " + r.URL.Path, body}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"accepted":true,"record":42}`)
	}))
	defer recv.Close()
	hookURL := recv.URL + "/hooks/presign"

	data := t.TempDir()
	c, out, logs := testCLI(nil)
	api, stop := start(t, c, "dev", "--addr", "127.0.0.1:0", "--s3-addr", freeAddr(t), "--data", data, "--webhook", hookURL)
	st := readDevState(t, data)
	var fields map[string]any
	if b, err := os.ReadFile(filepath.Join(data, "dev.json")); err != nil || json.Unmarshal(b, &fields) != nil {
		t.Fatalf("dev.json: %v", err)
	}
	if got, want := slices.Sorted(maps.Keys(fields)), []string{"access_key_id", "api_key", "api_url", "bucket", "region", "s3_endpoint", "secret_access_key", "webhook_secret"}; !slices.Equal(got, want) {
		t.Errorf("dev.json fields %v, want %v", got, want)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(st.WebhookSecret, "whsec_"))
	if !strings.HasPrefix(st.WebhookSecret, "whsec_") || err != nil || len(key) != 32 {
		t.Fatalf("dev.json webhook_secret is not whsec_ and the base64 of 32 bytes (%d bytes, %v)", len(key), err)
	}
	if !strings.Contains(out.String(), "  webhooks   "+hookURL+"  (upload.completed") || !strings.Contains(out.String(), "  receipts   "+api+"/.well-known/jwks.json") {
		t.Errorf("the banner does not say where webhooks go and where the receipt keys are:\n%s", out)
	}

	call := func(method, path string, body any, want int) []byte {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, api+path, r)
		req.Header.Set("Authorization", "Bearer "+st.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		return b
	}
	content := []byte("delivered before complete answers")
	var grant struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Upload  string            `json:"upload"`
	}
	if err := json.Unmarshal(call("POST", "/v1/presign", map[string]any{"op": "put", "key": "hooked/a.txt", "content_type": "text/plain", "content_length": len(content)}, 200), &grant); err != nil || grant.Upload == "" {
		t.Fatalf("put grant without an upload token: %+v %v", grant, err)
	}
	put, _ := http.NewRequest("PUT", grant.URL, bytes.NewReader(content))
	for k, v := range grant.Headers {
		if !strings.EqualFold(k, "Content-Length") {
			put.Header.Set(k, v)
		}
	}
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	var done struct {
		Key        string          `json:"key"`
		Size       int64           `json:"size"`
		ETag       string          `json:"etag"`
		Receipt    string          `json:"receipt"`
		ServerData json.RawMessage `json:"server_data"`
	}
	if err := json.Unmarshal(call("POST", "/v1/uploads/complete", map[string]any{"upload": grant.Upload}, 200), &done); err != nil {
		t.Fatal(err)
	}
	if string(done.ServerData) != `{"accepted":true,"record":42}` {
		t.Errorf("server_data %s, want the receiver's answer", done.ServerData)
	}

	// The delivery, already made when complete answered, verified as the
	// Standard Webhooks scheme says: base64(HMAC-SHA256(key, id.timestamp.body)).
	var d delivery
	select {
	case d = <-deliveries:
	default:
		t.Fatal("complete answered before the receiver got the event")
	}
	id, ts := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(d.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if d.path != "POST /hooks/presign" || id == "" || !slices.Contains(strings.Fields(d.header.Get("webhook-signature")), want) {
		t.Errorf("delivery %s, webhook-id %q, webhook-signature %q, want %q", d.path, id, d.header.Get("webhook-signature"), want)
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Errorf("webhook-timestamp %q", ts)
	}
	var event struct {
		Type string `json:"type"`
		Data struct {
			Key     string `json:"key"`
			Size    int64  `json:"size"`
			ETag    string `json:"etag"`
			Receipt string `json:"receipt"`
		} `json:"data"`
	}
	if err := json.Unmarshal(d.body, &event); err != nil || event.Type != "upload.completed" || event.Data.Key != "hooked/a.txt" ||
		event.Data.Size != int64(len(content)) || event.Data.ETag != done.ETag || event.Data.Receipt != done.Receipt {
		t.Errorf("event %s (%v), complete answered %+v", d.body, err, done)
	}

	// The receipt verifies with the key GET /.well-known/jwks.json serves,
	// which is DIR/receipt-key's, and names the object.
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(call("GET", "/.well-known/jwks.json", nil, 200), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks %+v %v", jwks, err)
	}
	priv, err := receipt.ParseKey(readReceiptKey(t, data))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0]["x"])
	if jwks.Keys[0]["kid"] != "dev" || !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(x)) {
		t.Errorf("jwks %v is not the key of receipt-key", jwks.Keys[0])
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(api)).ParseWithClaims(done.Receipt, claims, func(tok *jwt.Token) (any, error) {
		for _, k := range jwks.Keys {
			if k["kid"] == tok.Header["kid"] && k["kty"] == "OKP" && k["crv"] == "Ed25519" {
				x, err := base64.RawURLEncoding.DecodeString(k["x"])
				return ed25519.PublicKey(x), err
			}
		}
		return nil, errors.New("no such key")
	})
	if err != nil || claims["key"] != "hooked/a.txt" || claims["bucket"] != st.Bucket || claims["etag"] != done.ETag {
		t.Errorf("receipt: %v, claims %v", err, claims)
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var logged bool
	for _, line := range strings.Split(logs.String(), "\n") {
		logged = logged || strings.Contains(line, "msg=webhook") && strings.Contains(line, "receiver=env") &&
			strings.Contains(line, "webhook_id="+id) && strings.Contains(line, "delivered=true")
	}
	if !logged {
		t.Errorf("dev's log lacks the delivery:\n%s", logs)
	}
	for what, secret := range map[string]string{"webhook secret": st.WebhookSecret[6:], "receipt key": readReceiptKey(t, data)} {
		if strings.Contains(out.String(), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("the banner or the logs show the %s", what)
		}
	}
}

// testReceiptKey is a receipt key as presign dev keeps it.
func testReceiptKey(t *testing.T) string {
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func readReceiptKey(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(data, "receipt-key")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("receipt-key mode: %v %v", fi, err)
	}
	s := strings.TrimSpace(string(b))
	if k, err := receipt.ParseKey(s); err != nil {
		t.Fatalf("receipt-key does not hold a key: %v", err)
	} else if _, ok := k.(ed25519.PrivateKey); !ok {
		t.Fatalf("receipt-key holds a %T, want an Ed25519 key", k)
	}
	return s
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
