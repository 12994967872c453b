package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
)

// TestRouterGrows: a route with a path wildcard and another method (what
// the upload routes will add) is served through the same chain:
// authenticated, limited, its preflight answered with its own methods, a
// wrong method answered 400 with Allow.
func TestRouterGrows(t *testing.T) {
	h := testHandler(t, nil)
	var gotID string
	h.routes = append(h.routes, route{pattern: "DELETE /v1/things/{id}", name: "thing", serve: func(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
		gotID = r.PathValue("id") + " by " + p.Name
		writeJSON(w, http.StatusOK, struct{}{})
		return nil
	}})
	h.chain = h.buildChain()

	run(t, h, httpCase{method: "DELETE", target: "/v1/things/t%2F1", wantStatus: 200})
	if gotID != "t/1 by web" {
		t.Errorf("route saw %q", gotID)
	}
	run(t, h, httpCase{method: "DELETE", target: "/v1/things/t1", noAuth: true, wantStatus: 401, wantCode: presign.CodeUnauthenticated})
	rec := run(t, h, httpCase{method: "PUT", target: "/v1/things/t1", wantStatus: 400, wantCode: presign.CodeInvalidArgument})
	if got := rec.Header().Get("Allow"); got != "DELETE" {
		t.Errorf("Allow %q", got)
	}
	for _, tt := range []struct{ path, want string }{
		{"/v1/things/t1", "DELETE, OPTIONS"},
		{"/v1/presign", "POST, OPTIONS"},
		{"/", "GET, HEAD, OPTIONS"},
	} {
		rec := run(t, h, httpCase{method: "OPTIONS", target: tt.path, noAuth: true, wantStatus: 204,
			header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"}})
		if got := rec.Header().Get("Access-Control-Allow-Methods"); got != tt.want {
			t.Errorf("preflight %s: methods %q, want %q", tt.path, got, tt.want)
		}
	}
	run(t, h, httpCase{method: "OPTIONS", target: "/nowhere", noAuth: true, wantStatus: 404, wantCode: presign.CodeNotFound,
		header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}})
}

type limiterFunc func(*http.Request, presign.Principal) error

func (f limiterFunc) Limit(r *http.Request, p presign.Principal) error { return f(r, p) }

// TestLimiterSlot: the limiter runs after authentication (it sees the
// caller) and before the route; its refusal is 429 from the one error
// table; public routes and unauthenticated requests never reach it.
func TestLimiterSlot(t *testing.T) {
	var seen []string
	h := New(Options{Issuer: testIssuer(t), Auth: testHandler(t, nil).opts.Auth, Limiter: limiterFunc(func(r *http.Request, p presign.Principal) error {
		seen = append(seen, r.URL.Path+" "+p.Name)
		return presign.Errorf(presign.CodeRateLimited, "slow down")
	})})
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`, wantStatus: 429, wantCode: presign.CodeRateLimited})
	run(t, h, httpCase{method: "GET", target: "/?key=k&method=GET", wantStatus: 429, wantType: "text/plain", wantBody: "slow down"})
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{}`, noAuth: true, wantStatus: 401})
	run(t, h, httpCase{method: "GET", target: "/healthz", noAuth: true, wantStatus: 200})
	if diff := cmp.Diff([]string{"/v1/presign web", "/ web"}, seen); diff != "" {
		t.Errorf("limiter calls (-want +got):\n%s", diff)
	}
}

// TestHeadOnGetRoutes: a GET route answers HEAD as net/http does.
func TestHeadOnGetRoutes(t *testing.T) {
	h := testHandler(t, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("HEAD /healthz: %d", rec.Code)
	}
}

// TestAccessLogAndMetricsNameTheRoute: the outermost step sees what the
// inner ones learned (the route, the caller), whatever the answer.
func TestAccessLogAndMetricsNameTheRoute(t *testing.T) {
	var logs strings.Builder
	h := testHandler(t, nil)
	h.opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	h.chain = h.buildChain()
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`, wantStatus: 200})
	run(t, h, httpCase{method: "GET", target: "/v1/presign", wantStatus: 400})
	run(t, h, httpCase{method: "GET", target: "/nope", wantStatus: 404})
	for _, want := range []string{
		`"path":"/v1/presign","route":"v1-presign","status":200,`,
		`"principal_kind":"api_key","principal":"web"`,
		`"method":"GET","path":"/v1/presign","route":"v1-presign","status":400`,
		`"path":"/nope","route":"unknown","status":404`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("access log lacks %s:\n%s", want, logs.String())
		}
	}
}

// TestUncleanPathsAreNotFound: a path with empty, "." or ".." segments is
// 404 from the error table, never a redirect (which a client would follow
// with its Authorization header, and which loses an API Gateway stage).
func TestUncleanPathsAreNotFound(t *testing.T) {
	h := testHandler(t, nil)
	for _, target := range []string{"//", "//v1/presign", "/v1//presign", "/v1/./presign", "/v1/presign/../healthz", "/v1/presign/", "/./"} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"op":"get","key":"k"}`))
		req.URL.Path = target // as sent, not cleaned by the client
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 404 || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
			t.Errorf("%s: %d %v %s", target, rec.Code, rec.Header(), rec.Body)
		}
		pre := httptest.NewRequest("OPTIONS", "/", nil)
		pre.URL.Path = target
		pre.Header.Set("Origin", "https://app.example.com")
		pre.Header.Set("Access-Control-Request-Method", "POST")
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, pre)
		if rec.Code != 404 {
			t.Errorf("preflight %s: %d", target, rec.Code)
		}
	}
}
