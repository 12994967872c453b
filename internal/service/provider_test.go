package service

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"presign.dev/internal/config"
)

// TestWarnsOfProviderOther: a backend whose provider is other (a
// self-hosted store, not told from its address) is logged as a warning at
// start, naming the backend; a named provider is not.
func TestWarnsOfProviderOther(t *testing.T) {
	for _, tc := range []struct {
		provider string
		warned   bool
	}{{"", true}, {"minio", false}, {"versity", false}} {
		env := map[string]string{"PRESIGN_S3_BUCKET": "bucket", "PRESIGN_S3_ENDPOINT": "http://127.0.0.1:9000",
			"PRESIGN_S3_PROVIDER": tc.provider, "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "secret-key",
			"PRESIGN_API_KEYS": "a-key-0123456789abcdef"}
		cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" }, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		if _, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(logs.String(), "level=WARN msg=\"backend's provider is other") && strings.Contains(logs.String(), "backend=default")
		if warned != tc.warned {
			t.Errorf("provider %q: warned %v, want %v; logs:\n%s", tc.provider, warned, tc.warned, logs.String())
		}
	}
}
