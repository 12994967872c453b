package azuritetest

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestStart: the server runs with its own account, the container exists,
// and the harness's account SAS is checked (a wrong key is refused), so a
// test's independent read can fail.
func TestStart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || !strings.HasSuffix(s.Endpoint, "/"+s.AccountName) {
		t.Fatalf("Endpoint %s", s.Endpoint)
	}
	req, _ := http.NewRequest(http.MethodPut, s.Endpoint+"/"+s.Container+"/a.txt?"+s.AccountSAS("w", "o"), strings.NewReader("a"))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	if resp, body := s.Do(t, req); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %s\n%s", resp.Status, body)
	}
	if resp, body := s.Get(t, "a.txt"); resp.StatusCode != http.StatusOK || string(body) != "a" {
		t.Fatalf("GET: %s %q", resp.Status, body)
	}
	if resp, _ := s.Get(t, "missing.txt"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a missing blob: %s", resp.Status)
	}
	wrong := *s
	wrong.AccountKey = base64.StdEncoding.EncodeToString([]byte("not the key"))
	if resp, _ := wrong.Get(t, "a.txt"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET with an account SAS of another key: %s, want 403", resp.Status)
	}
	// The emulator's well-known account is not there.
	dev := *s
	dev.AccountName = "devstoreaccount1"
	dev.AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	dev.Endpoint = strings.TrimSuffix(s.Endpoint, s.AccountName) + dev.AccountName
	if resp, _ := dev.Get(t, "a.txt"); resp.StatusCode == http.StatusOK {
		t.Errorf("GET as devstoreaccount1: %s, want a refusal", resp.Status)
	}
}

// TestStartOAuth: HTTPS with a certificate the client trusts.
func TestStartOAuth(t *testing.T) {
	s := StartOAuth(t)
	if !strings.HasPrefix(s.Endpoint, "https://127.0.0.1:") {
		t.Fatalf("Endpoint %s", s.Endpoint)
	}
	if resp, _ := s.Get(t, "missing.txt"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a missing blob: %s", resp.Status)
	}
	if _, err := http.Get(s.Endpoint + "/" + s.Container); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust the certificate: %v", err)
	}
}
