package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"presign.dev/webhook"
)

// complete delivers upload.completed before it answers: the receiver's
// JSON comes back as server_data; a receiver that fails makes complete
// 503, and a later complete delivers again, with the same webhook-id.
func TestCompleteDeliversWebhook(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	fail := true
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, r.Header.Get("webhook-id"))
		var ev struct {
			Type string
			Data map[string]any
		}
		if json.Unmarshal(body, &ev) != nil || ev.Type != "upload.completed" || ev.Data["key"] != "a.bin" || ev.Data["caller"] != "web" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, `{"photo_id":42}`)
	}))
	defer rc.Close()
	sender, err := webhook.New([]webhook.Endpoint{{Name: "app", URL: rc.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G", AllowPrivate: true}},
		webhook.Options{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Issuer: testIssuer(t), Webhooks: sender, Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
	tok := decode[UploadStartResponse](t, run(t, h, httpCase{method: "POST", target: "/v1/uploads", body: `{"key":"a.bin","size":10}`, wantStatus: 200})).Upload
	run(t, h, httpCase{method: "POST", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `"}`, wantStatus: 503})
	mu.Lock()
	fail = false
	mu.Unlock()
	done := decode[CompleteResponse](t, run(t, h, httpCase{method: "POST", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `"}`, wantStatus: 200}))
	if string(done.ServerData) != `{"photo_id":42}` {
		t.Errorf("server_data %s", done.ServerData)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != ids[1] || ids[0] == "" {
		t.Errorf("webhook-ids %q: want two deliveries of one id", ids)
	}
}

// BenchmarkCompleteWebhook: POST /v1/uploads/complete through the handler
// (a fake store that answers at once), without webhooks and with a
// receiver on loopback (a real HTTP server answering {}): what a
// synchronous delivery adds to complete.
func BenchmarkCompleteWebhook(b *testing.B) {
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{}`)
	}))
	defer rc.Close()
	sender, err := webhook.New([]webhook.Endpoint{{Name: "app", URL: rc.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G", AllowPrivate: true}}, webhook.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		webhooks Notifier
	}{{"webhook=none", nil}, {"webhook=loopback", sender}} {
		b.Run(tc.name, func(b *testing.B) {
			h := New(Options{Issuer: testIssuer(b), Webhooks: tc.webhooks, Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
			rec := httptest.NewRecorder()
			start := httptest.NewRequest("POST", "/v1/uploads", strings.NewReader(`{"key":"a.bin","size":10}`))
			start.Header.Set("Authorization", "Bearer "+testKey)
			h.ServeHTTP(rec, start)
			var up UploadStartResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &up); err != nil {
				b.Fatal(err)
			}
			check := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/v1/uploads/complete", strings.NewReader(`{"upload":"`+up.Upload+`"}`))
			req.Header.Set("Authorization", "Bearer "+testKey)
			if h.ServeHTTP(check, req); check.Code != 200 {
				b.Fatalf("complete: %d %s", check.Code, check.Body)
			}
			benchServe(b, h, "/v1/uploads/complete", `{"upload":"`+up.Upload+`"}`)
		})
	}
}
