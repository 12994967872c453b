package main

import (
	"context"
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
	"presign.dev/internal/devstore"
	"presign.dev/internal/metrics"
	"presign.dev/internal/service"
	"presign.dev/presign"
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
}

const devBucket = "presign-dev"

func (c *cli) dev(ctx context.Context, args []string) error {
	fs := c.newFlagSet("dev", "dev [--addr 127.0.0.1:8080] [--s3-addr 127.0.0.1:9000] [--data DIR]")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the presign API")
	s3Addr := fs.String("s3-addr", "127.0.0.1:9000", "listen address of the embedded S3 store")
	dataFlag := fs.String("data", ".presign-dev", "directory for objects, credentials and dev.json")
	if _, err := parse(fs, args); err != nil {
		return err
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

	// Listen first, so the URLs and the CORS origin hold the real ports.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("presign API on %s: %w", *addr, err)
	}
	defer ln.Close()
	st.APIURL = "http://" + ln.Addr().String()
	st.S3Endpoint = "http://" + *s3Addr

	store, err := devstore.Start(ctx, devstore.Config{
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
	cfg, err := config.LoadServing(devEnvironment(st, uploadsSecret), "")
	if err != nil {
		return unusable(err)
	}
	logger := service.NewLogger(c.stderr, cfg.LogFormat, cfg.LogLevel, nil)
	m := metrics.New()
	svc, err := service.New(cfg, service.Options{Logger: logger, Observer: m, Metrics: m.Handler()})
	if err != nil {
		return unusable(err)
	}
	h := svc.Handler
	if err := writeDevState(filepath.Join(data, "dev.json"), st); err != nil {
		return err
	}
	printDevBanner(c.stdout, st, data)
	return c.serveUntilDone(ctx, ln, h, logger)
}

// devEnvironment is the configuration of presign dev, as the environment
// that would configure presign serve the same way: the embedded store (its
// generated credentials, path-style), the generated API key, the generated
// uploads secret (ID "dev") and the Companion routes at /companion, CORS
// open to any origin (the store's CORS admits local origins only), text
// logs.
func devEnvironment(st DevState, uploadsSecret string) config.Lookup {
	vars := map[string]string{
		"PRESIGN_S3_ENDPOINT": st.S3Endpoint, "PRESIGN_S3_REGION": st.Region, "PRESIGN_S3_BUCKET": st.Bucket,
		"PRESIGN_S3_PATH_STYLE": "true", "AWS_ACCESS_KEY_ID": st.AccessKeyID, "AWS_SECRET_ACCESS_KEY": st.SecretAccessKey,
		"PRESIGN_API_KEYS": st.APIKey, "PRESIGN_CORS_ORIGINS": "*", "PRESIGN_LOG_FORMAT": "text",
		"PRESIGN_UPLOAD_SECRETS": "dev:" + uploadsSecret, "PRESIGN_COMPANION_PATH": config.DefaultCompanionPath,
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

func printDevBanner(w io.Writer, st DevState, data string) {
	fmt.Fprintf(w, `presign dev is running (Ctrl-C stops it)

  API        %[1]s
  API key    %[2]s
  S3 store   %[3]s  bucket %[4]s  region %[5]s
  Uppy       %[1]s%[7]s  (Companion S3 routes)
  data       %[6]s
  settings   %[6]s/dev.json

Upload and download with curl:

  URL=$(curl -s -H 'Authorization: Bearer %[2]s' '%[1]s/?key=hello.txt&method=PUT')
  curl -s -X PUT -H 'Content-Type: text/plain' --data-binary 'hello, presign' "$URL"
  curl -s "$(curl -s -H 'Authorization: Bearer %[2]s' '%[1]s/?key=hello.txt&method=GET')"

The JSON API, with the size and type signed:

  curl -s -H 'Authorization: Bearer %[2]s' -d '{"op":"put","key":"cat.png","content_type":"image/png","content_length":1234}' %[1]s/v1/presign

`, st.APIURL, st.APIKey, st.S3Endpoint, st.Bucket, st.Region, data, config.DefaultCompanionPath)
}
