package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

// discardWriter is a minimal ResponseWriter, so the benchmark times the
// handler, not httptest.ResponseRecorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkHandler compares one presign through the whole handler (routing,
// auth, JSON decode, issue, JSON encode) with the Issue call alone and with
// the signing alone, on the same PUT request.
func BenchmarkHandler(b *testing.B) {
	const body = `{"op":"put","key":"photos/2026/cat picture+1.jpg","content_type":"image/jpeg","content_length":123456}`
	b.Run("layer=handler", func(b *testing.B) { benchServe(b, testHandler(b, nil), "/v1/presign", body) })
	b.Run("layer=handler/route=tutorial-get", func(b *testing.B) {
		h := testHandler(b, nil)
		req := httptest.NewRequest("GET", "/?key=photos/2026/cat.jpg&method=GET", nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		if h.ServeHTTP(rec, req); rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
	b.Run("layer=issue", func(b *testing.B) {
		iss := testIssuer(b)
		n := int64(123456)
		r := presign.Request{Op: presign.OpPut, Key: "photos/2026/cat picture+1.jpg", ContentType: "image/jpeg", ContentLength: &n}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := iss.Issue(context.Background(), presign.Principal{}, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("layer=sign", func(b *testing.B) {
		s := sigv4.NewSigner(sigv4.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, "us-east-1", "s3")
		r := &sigv4.Request{Method: "PUT", Scheme: "http", Host: "127.0.0.1:9000", Path: "/bucket/photos/2026/cat picture+1.jpg",
			Headers: []sigv4.Header{{Name: "content-type", Value: "image/jpeg"}, {Name: "content-length", Value: "123456"}},
			Time:    testTime, Expires: 15 * time.Minute}
		b.ReportAllocs()
		for b.Loop() {
			s.Presign(r)
		}
	})
}

// benchServe times POSTs of body to target through h, as testKey.
func benchServe(b *testing.B, h http.Handler, target, body string) {
	req := httptest.NewRequest("POST", target, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	w := &discardWriter{h: http.Header{}}
	rd := strings.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = readCloser{rd}
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// presignStd is POST /v1/presign with encoding/json for both directions
// instead of codec.go: the alternative BenchmarkServer measures the codec
// against, through the whole server.
func (h *Handler) presignStd(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	var body PresignRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	req, err := body.request()
	if err != nil {
		return err
	}
	g, err := h.issue(r, p, req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, GrantResponse(g))
	return nil
}

// BenchmarkServer times POST /v1/presign through a real HTTP server on
// loopback (net/http client, keep-alive, GOMAXPROCS parallel clients): the
// route's JSON by codec.go (codec=hand) and by encoding/json (codec=std),
// everything else alike.
func BenchmarkServer(b *testing.B) {
	const body = `{"op":"put","key":"photos/2026/cat picture+1.jpg","content_type":"image/jpeg","content_length":123456}`
	for _, codec := range []string{"hand", "std"} {
		b.Run("route=v1-presign/codec="+codec, func(b *testing.B) {
			h := testHandler(b, nil)
			if codec == "std" {
				for i := range h.routes {
					if h.routes[i].name == "v1-presign" {
						h.routes[i].serve = h.presignStd
					}
				}
				h.chain = h.buildChain()
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", srv.URL+"/v1/presign", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testKey)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
