package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestCompanionPath: the Companion routes' path is a clean absolute path
// of URL-safe characters, clear of presign's own routes.
func TestCompanionPath(t *testing.T) {
	for _, p := range []string{"/companion", "/uppy/companion", "/a.b~c_d-E9", "/v1x", "/healthz2", "/presigned"} {
		if msg := companionPathProblem(p); msg != "" {
			t.Errorf("%q refused: %s", p, msg)
		}
	}
	for _, p := range []string{"", "/", "companion", "/companion/", "//companion", "/a//b", "/a/./b", "/a/../b", "/a/..",
		"/comp anion", "/{id}", "/a%2Fb", "/a?b", "/a#b", "/ü", "/v1", "/v1/companion", "/healthz", "/livez/x", "/openapi.json",
		"/metrics", "/presign", "/get-upload-url", "/get-download-url", "/.well-known", "/.well-known/companion", "/demo",
		"/" + strings.Repeat("a", 200)} {
		if companionPathProblem(p) == "" {
			t.Errorf("%q accepted", p)
		}
	}
}

// TestCompanionPathAvoidsEveryRoute: no path accepted for the Companion
// routes is one of httpapi's routes or lies under one (the reserved list
// follows the route table).
func TestCompanionPathAvoidsEveryRoute(t *testing.T) {
	h := New(Options{Issuer: testIssuer(t), Auth: Open{}, Metrics: http.NotFoundHandler()})
	for _, rt := range h.Routes() {
		_, p, _ := strings.Cut(rt, " ")
		if p == "/" {
			if companionPathProblem(p) == "" {
				t.Errorf("route %s: %q is accepted as the Companion path", rt, p)
			}
			continue // GET / is that path alone
		}
		first := "/" + strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)[0]
		for _, q := range []string{p, first, strings.TrimSuffix(p, "/") + "/companion"} {
			if companionPathProblem(q) == "" {
				t.Errorf("route %s: %q is accepted as the Companion path", rt, q)
			}
		}
	}
}
