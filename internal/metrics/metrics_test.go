package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposed(t *testing.T) {
	m := New()
	m.ObserveRequest("v1-presign", 200, time.Millisecond)
	m.ObserveRequest("v1-presign", 200, time.Millisecond)
	m.ObserveRequest("tutorial", 400, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`presign_http_requests_total{route="v1-presign",status="200"} 2`,
		`presign_http_requests_total{route="tutorial",status="400"} 1`,
		`presign_http_request_duration_seconds_count{route="v1-presign"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// BenchmarkObserveRequest is the metrics' share of every request.
func BenchmarkObserveRequest(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("tutorial", 200, time.Millisecond)
	}
}
