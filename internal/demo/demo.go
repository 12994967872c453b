// Package demo is the demo page of `presign dev` at /demo/: sign in with
// the dev API key, upload files straight to the store (a POST form, one
// PUT or a multipart upload, chosen by size; pause, resume, resume after a
// reload), see each upload verified with its receipt, and list and
// download your files. Plain HTML, JavaScript and CSS embedded in the
// binary: no build step, no framework, nothing loaded from another origin.
// The page calls the presign API of its own origin.
package demo

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Path is where the page is served; Handler answers the paths under it.
const Path = "/demo/"

//go:embed index.html demo.js demo.css
var files embed.FS

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets maps each path under Path to its file.
func assets() map[string]asset {
	out := map[string]asset{}
	for path, f := range map[string]struct{ name, contentType string }{
		Path:              {"index.html", "text/html; charset=utf-8"},
		Path + "demo.js":  {"demo.js", "text/javascript; charset=utf-8"},
		Path + "demo.css": {"demo.css", "text/css; charset=utf-8"},
	} {
		b, err := files.ReadFile(f.name)
		if err != nil {
			panic("demo: " + err.Error()) // embedded: cannot happen
		}
		sum := sha256.Sum256(b)
		out[path] = asset{body: b, contentType: f.contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out
}

// Handler serves the page under /demo/ (GET and HEAD; /demo redirects
// there). storeEndpoint is the URL of the S3 store the presigned URLs
// point at (path-style): its origin is the only one besides the page's
// own that the Content-Security-Policy lets the page connect to. An
// endpoint that is not an http(s) URL leaves the page to its own origin.
func Handler(storeEndpoint string) http.Handler {
	files := assets()
	csp := contentSecurityPolicy(storeEndpoint)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == strings.TrimSuffix(Path, "/") {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Path, http.StatusMovedPermanently)
				return
			}
		}
		a, ok := files[r.URL.Path]
		if !ok {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the demo page answers GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		// ServeContent answers HEAD, If-None-Match (304) and ranges.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

// Mount serves the page under /demo/ (and /demo) in front of next, which
// answers every other path. A prefix test, not an http.ServeMux: a mux
// would redirect next's unclean paths ("//v1/presign") to their clean
// form instead of letting next answer them as it does everywhere else.
func Mount(next http.Handler, storeEndpoint string) http.Handler {
	page := Handler(storeEndpoint)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == strings.TrimSuffix(Path, "/") || strings.HasPrefix(r.URL.Path, Path) {
			page.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy: everything from the page's own origin, no inline
// script or style, connections to the page's origin (presign's API) and the
// store's, images from the page or data: URLs (the empty favicon), no
// plugins, frames, form submissions or <base>.
func contentSecurityPolicy(storeEndpoint string) string {
	connect := "'self'"
	if o := origin(storeEndpoint); o != "" {
		connect += " " + o
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// origin is scheme://host[:port] of an http(s) URL, or "" for anything
// else (and for a host that a policy's source list could not hold).
func origin(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	for _, c := range u.Host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return ""
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}
