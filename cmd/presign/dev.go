package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"presign.dev/internal/config"
	"presign.dev/internal/demo"
	"presign.dev/internal/metrics"
	"presign.dev/internal/service"
	"presign.dev/presign"
	"presign.dev/receipt"
	"presign.dev/webhook"
)

// DevState is what `presign dev` writes to DIR/dev.json: everything a client
// or a test needs to use the local stack. Credentials and the API key are
// generated on the first run and kept across restarts.
type DevState struct {
	APIURL          string `json:"api_url"`
	APIKey          string `json:"api_key"`
	S3Endpoint      string `json:"s3_endpoint"`
	Bucket          string `json:"bucket"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	// WebhookSecret, with --webhook only, is the Standard Webhooks secret
	// (whsec_...) that signs the deliveries, for the receiver to verify
	// them; it is kept in DIR/webhook-secret across restarts.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

const devBucket = "presign-dev"

func (c *cli) dev(ctx context.Context, args []string) error {
	fs := c.newFlagSet("dev", "dev [--addr 127.0.0.1:8080] [--s3-addr 127.0.0.1:9000] [--data DIR] [--webhook URL]")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the presign API")
	s3Addr := fs.String("s3-addr", "127.0.0.1:9000", "listen address of the embedded S3 store")
	dataFlag := fs.String("data", ".presign-dev", "directory for objects, credentials and dev.json")
	webhookURL := fs.String("webhook", "", "deliver upload.completed to this receiver (local ones too), signed with dev.json's webhook_secret")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if !haveDevStore {
		return errNoDevStore
	}
	if *webhookURL != "" {
		// The receiver's URL, checked by the rule the configuration
		// applies (with a stand-in secret) before anything is made, so
		// that a mistake is reported as the flag's.
		standIn := webhook.SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 32))
		if ps := webhook.ValidateEndpoints([]webhook.Endpoint{{Name: "env", URL: *webhookURL, Secret: standIn}}); len(ps) > 0 {
			return usageError{"--webhook: " + ps[0].Message}
		}
	}
	// Absolute: the embedded store changes the process's working directory.
	data, err := filepath.Abs(*dataFlag)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	st, err := c.loadOrCreateDevState(filepath.Join(data, "dev.json"))
	if err != nil {
		return err
	}
	uploadsSecret, err := c.loadOrCreateUploadsSecret(filepath.Join(data, devUploadsSecretFile))
	if err != nil {
		return err
	}
	receiptKey, err := c.loadOrCreateReceiptKey(filepath.Join(data, devReceiptKeyFile))
	if err != nil {
		return err
	}
	st.WebhookSecret = "" // in dev.json with --webhook only
	if *webhookURL != "" {
		if st.WebhookSecret, err = c.loadOrCreateWebhookSecret(filepath.Join(data, devWebhookSecretFile)); err != nil {
			return err
		}
	}

	// Listen first, so the URLs and the CORS origin hold the real ports.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("presign API on %s: %w", *addr, err)
	}
	defer ln.Close()
	st.APIURL = "http://" + ln.Addr().String()
	st.S3Endpoint = "http://" + *s3Addr

	store, err := startDevStore(ctx, devStoreConfig{
		Addr: *s3Addr, DataDir: data, Region: st.Region, AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey,
		Bucket:      st.Bucket,
		CORSOrigins: []string{st.APIURL, "http://localhost:*", "http://127.0.0.1:*", "https://localhost:*"},
	})
	if err != nil {
		return fmt.Errorf("embedded S3 store on %s: %w", *s3Addr, err)
	}
	defer store.Close()
	st.S3Endpoint = store.Endpoint()

	// The same service as serve, configured as serve would be from the
	// environment: dev adds its store, its key and permissive local CORS,
	// and nothing else.
	// Its problems can only come from a dev.json edited by hand, which the
	// variables named stand for.
	unusable := func(err error) error {
		return fmt.Errorf("%s holds unusable settings (fix them, or delete the file to start afresh): %w",
			filepath.Join(data, "dev.json"), configError(err))
	}
	cfg, err := config.LoadServing(devEnvironment(st, uploadsSecret, receiptKey, *webhookURL), "")
	if err != nil {
		return unusable(err)
	}
	logger := service.NewLogger(c.stderr, cfg.LogFormat, cfg.LogLevel, nil)
	m := metrics.New()
	svc, err := service.New(cfg, service.Options{Logger: logger, Observer: m, Metrics: m.Handler()})
	if err != nil {
		return unusable(err)
	}
	// The demo page at /demo/, in front of the service.
	h := demo.Mount(svc.Handler, st.S3Endpoint)
	if err := writeDevState(filepath.Join(data, "dev.json"), st); err != nil {
		return err
	}
	printDevBanner(c.stdout, st, data, *webhookURL)
	return c.serveUntilDone(ctx, ln, h, logger)
}

// devEnvironment is the configuration of presign dev, as the environment
// that would configure presign serve the same way: the embedded store (its
// generated credentials, path-style, provider versity: it is Versity
// Gateway), the generated API key, the generated uploads secret and
// receipt key (both ID "dev") and the Companion routes at /companion,
// CORS open to any origin (the store's CORS admits local origins only),
// text logs; with a webhook URL, its receiver (named "env",
// signed with st.WebhookSecret), which may be on a private or loopback
// address: a local receiver needs no tunnel.
func devEnvironment(st DevState, uploadsSecret, receiptKey, webhookURL string) config.Lookup {
	vars := map[string]string{
		"PRESIGN_S3_ENDPOINT": st.S3Endpoint, "PRESIGN_S3_REGION": st.Region, "PRESIGN_S3_BUCKET": st.Bucket,
		"PRESIGN_S3_PATH_STYLE": "true", "PRESIGN_S3_PROVIDER": "versity", "AWS_ACCESS_KEY_ID": st.AccessKeyID, "AWS_SECRET_ACCESS_KEY": st.SecretAccessKey,
		"PRESIGN_API_KEYS": st.APIKey, "PRESIGN_CORS_ORIGINS": "*", "PRESIGN_LOG_FORMAT": "text",
		"PRESIGN_UPLOAD_SECRETS": "dev:" + uploadsSecret, "PRESIGN_COMPANION_PATH": config.DefaultCompanionPath,
		"PRESIGN_RECEIPT_KEYS": "dev:" + receiptKey,
	}
	if webhookURL != "" {
		vars["PRESIGN_WEBHOOK_URL"], vars["PRESIGN_WEBHOOK_SECRET"] = webhookURL, st.WebhookSecret
		vars["PRESIGN_WEBHOOK_ALLOW_PRIVATE"] = "true"
	}
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

// devUploadsSecretFile, in the data directory, keeps the secret that signs
// presign dev's upload tokens across restarts, so that uploads in progress
// survive one. It is a file of its own: dev.json's fields are what clients
// need, and no client needs this.
const devUploadsSecretFile = "uploads-secret"

// loadOrCreateUploadsSecret reads the uploads secret at path: 64 hex
// digits (32 random bytes), the secret being that text. Without the file it
// makes one and writes it (mode 0600).
func (c *cli) loadOrCreateUploadsSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if raw, err := hex.DecodeString(s); err != nil || len(raw) < presign.MinTokenSecretSize {
			return "", fmt.Errorf("%s does not hold an uploads secret (at least %d hex digits); delete it to generate a new one (uploads in progress are then lost)",
				path, 2*presign.MinTokenSecretSize)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, presign.MinTokenSecretSize)
	if _, err := io.ReadFull(c.random, raw); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(s+"\n")); err != nil {
		return "", err
	}
	return s, nil
}

// devReceiptKeyFile, in the data directory, keeps the key that signs
// presign dev's receipts across restarts, so that receipts given before a
// restart still verify against GET /.well-known/jwks.json. Like the
// uploads secret, no client needs it: it is not in dev.json.
const devReceiptKeyFile = "receipt-key"

// loadOrCreateReceiptKey reads the receipt key at path: the base64 of an
// Ed25519 (or P-256) private key's PKCS #8 DER, as PRESIGN_RECEIPT_KEYS
// takes it. Without the file it makes an Ed25519 key from 32 random bytes
// and writes it (mode 0600). No error quotes the key.
func (c *cli) loadOrCreateReceiptKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return "", fmt.Errorf("%s does not hold a receipt key (the base64 of a PKCS #8 private key); delete it to generate a new one (receipts given so far then no longer verify)", path)
		}
		if _, err := receipt.ParseKey(s); err != nil {
			return "", fmt.Errorf("%s does not hold a receipt key: %v; delete it to generate a new one (receipts given so far then no longer verify)", path, err)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(c.random, seed); err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return "", err
	}
	s := base64.StdEncoding.EncodeToString(der)
	if err := writeFileAtomic(path, []byte(s+"\n")); err != nil {
		return "", err
	}
	return s, nil
}

// devWebhookSecretFile, in the data directory, keeps the secret that signs
// the deliveries to --webhook across restarts (and runs without
// --webhook), so that a receiver set up once keeps verifying them.
const devWebhookSecretFile = "webhook-secret"

// loadOrCreateWebhookSecret reads the webhook secret at path, in Standard
// Webhooks' whsec_<base64> form. Without the file it makes one
// (webhook.NewSecret) and writes it (mode 0600).
func (c *cli) loadOrCreateWebhookSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if ps := webhook.ValidateEndpoints([]webhook.Endpoint{{Name: "dev", URL: "http://127.0.0.1", Secret: s}}); len(ps) > 0 {
			return "", fmt.Errorf("%s does not hold a webhook secret (whsec_ and the base64 of at least %d bytes); delete it to generate a new one (your receiver then needs the new one)",
				path, webhook.MinSecretBytes)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	s, err := webhook.NewSecret(c.random)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(s+"\n")); err != nil {
		return "", err
	}
	return s, nil
}

// loadOrCreateDevState reads path, or makes new credentials and an API key.
func (c *cli) loadOrCreateDevState(path string) (DevState, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		var st DevState
		if err := json.Unmarshal(b, &st); err != nil {
			return DevState{}, fmt.Errorf("%s is not valid JSON (delete it to start afresh): %w", path, err)
		}
		if st.APIKey == "" || st.AccessKeyID == "" || st.SecretAccessKey == "" || st.Bucket == "" || st.Region == "" {
			return DevState{}, fmt.Errorf("%s lacks credentials (delete it to start afresh)", path)
		}
		return st, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return DevState{}, err
	}
	secret := func(n int) (string, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(c.random, b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	}
	ak, err1 := secret(8)
	sk, err2 := secret(20)
	key, err3 := secret(16)
	if err := errors.Join(err1, err2, err3); err != nil {
		return DevState{}, err
	}
	return DevState{
		APIKey: "psk_dev_" + key, Bucket: devBucket, Region: "us-east-1",
		AccessKeyID: "PRESIGNDEV" + ak, SecretAccessKey: sk,
	}, nil
}

func writeDevState(path string, st DevState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes data to path (mode 0600) through a temporary file,
// so that a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func printDevBanner(w io.Writer, st DevState, data, webhookURL string) {
	webhooks := ""
	if webhookURL != "" {
		webhooks = fmt.Sprintf("\n  webhooks   %s  (upload.completed, signed with webhook_secret of dev.json)", webhookURL)
	}
	fmt.Fprintf(w, `presign dev is running (Ctrl-C stops it)

  API        %[1]s
  API key    %[2]s
  demo       %[1]s/demo/
  S3 store   %[3]s  bucket %[4]s  region %[5]s
  Uppy       %[1]s%[7]s  (Companion S3 routes)
  receipts   %[1]s/.well-known/jwks.json  (the keys that verify complete's receipts)%[8]s
  data       %[6]s
  settings   %[6]s/dev.json

Upload and download with curl:

  URL=$(curl -s -H 'Authorization: Bearer %[2]s' '%[1]s/?key=hello.txt&method=PUT')
  curl -s -X PUT -H 'Content-Type: text/plain' --data-binary 'hello, presign' "$URL"
  curl -s "$(curl -s -H 'Authorization: Bearer %[2]s' '%[1]s/?key=hello.txt&method=GET')"

The JSON API, with the size and type signed:

  curl -s -H 'Authorization: Bearer %[2]s' -d '{"op":"put","key":"cat.png","content_type":"image/png","content_length":1234}' %[1]s/v1/presign

`, st.APIURL, st.APIKey, st.S3Endpoint, st.Bucket, st.Region, data, config.DefaultCompanionPath, webhooks)
}
