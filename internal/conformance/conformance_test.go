package conformance

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"presign.dev/internal/config"
	"presign.dev/internal/service"
)

// TestInProcess: transport (a), the handler behind net/http.
func TestInProcess(t *testing.T) {
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := Env[k]; return v, ok }, "")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(cfg, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	Run(t, srv.URL, http.DefaultClient.Do)
}
