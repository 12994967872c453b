package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"presign.dev/httpapi"
)

// grantAs presigns req as the holder of token and returns the status and
// the grant (zero unless 200).
func grantAs(t *testing.T, tg Target, token string, req map[string]any) (int, httpapi.PresignResponse, []byte) {
	t.Helper()
	status, body := callAs(t, tg, token, "POST", "/v1/presign", req)
	var g httpapi.PresignResponse
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatalf("presign response: %v", err)
		}
	}
	return status, g, body
}

// RunAccessControl runs examples/webapp.yaml's scenario end to end: JWTs
// from ti, the presign API of tg configured with that file, and the store
// refusing whatever goes beyond a grant.
func RunAccessControl(t *testing.T, tg Target, ti *TokenIssuer) {
	alice := ti.Token(t, "alice", nil)
	bob := ti.Token(t, "bob", nil)
	png := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(t, 2000)...)
	n := len(png)

	var aliceKey string
	t.Run("upload lands under a server-chosen key in the user's prefix", func(t *testing.T) {
		status, g, body := grantAs(t, tg, alice, map[string]any{"op": "put", "filename": "My Cat.png", "content_type": "image/png", "content_length": n})
		expectStatus(t, "presign", status, body, 200)
		if !strings.HasPrefix(g.Key, "users/alice/") || !strings.HasSuffix(g.Key, ".png") || g.Headers["If-None-Match"] != "*" {
			t.Fatalf("grant %+v", g)
		}
		status, body = use(t, "PUT", g.URL, g.Headers, png)
		expectStatus(t, "PUT", status, body, 200)
		expectObject(t, tg, g.Key, png)
		aliceKey = g.Key

		status, body = use(t, "PUT", g.URL, g.Headers, png)
		expectStatus(t, "PUT again: the store refuses to overwrite", status, body, 412)
	})
	t.Run("the store refuses another type or size than signed", func(t *testing.T) {
		_, g, _ := grantAs(t, tg, alice, map[string]any{"op": "put", "filename": "a.png", "content_type": "image/png", "content_length": n})
		h := map[string]string{"Content-Type": "text/html", "If-None-Match": "*"}
		status, body := use(t, "PUT", g.URL, h, png)
		expectRefused(t, "PUT as text/html", status, body)
		status, body = use(t, "PUT", g.URL, g.Headers, append(png, 0))
		expectRefused(t, "PUT of one byte more", status, body)
		status, body = use(t, "PUT", strings.Replace(g.URL, "users/alice/", "users/bob/", 1), g.Headers, png)
		expectRefused(t, "PUT to another user's prefix", status, body)
		expectNoObject(t, tg, g.Key)
	})
	t.Run("presign refuses what the rules do not allow", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			token string
			req   map[string]any
			want  int
		}{
			{"not an image", alice, map[string]any{"op": "put", "filename": "x.html", "content_type": "text/html", "content_length": 10}, 403},
			{"no content type", alice, map[string]any{"op": "put", "filename": "x.png", "content_length": 10}, 403},
			{"SVG (can carry script)", alice, map[string]any{"op": "put", "filename": "x.svg", "content_type": "image/svg+xml", "content_length": 10}, 403},
			{"metadata no rule lists", alice, map[string]any{"op": "put", "filename": "x.png", "content_type": "image/png", "content_length": 10,
				"metadata": map[string]string{"snowball-auto-extract": "true"}}, 400},
			{"over 10 MiB", alice, map[string]any{"op": "put", "filename": "x.png", "content_type": "image/png", "content_length": 10<<20 + 1}, 413},
			{"no declared size", alice, map[string]any{"op": "put", "filename": "x.png", "content_type": "image/png"}, 400},
			{"client-chosen key", alice, map[string]any{"op": "put", "key": "users/alice/mine.png", "content_type": "image/png", "content_length": 10}, 403},
			{"another user's file", bob, map[string]any{"op": "get", "key": aliceKey}, 403},
			{"another user's delete", bob, map[string]any{"op": "delete", "key": aliceKey}, 403},
			// No credential: 401 even where a rule admits anonymous callers for other requests.
			{"anonymous private read", "", map[string]any{"op": "get", "key": aliceKey}, 401},
			{"anonymous upload", "", map[string]any{"op": "put", "key": "public/x.png", "content_type": "image/png", "content_length": 10}, 401},
			{"expired token", ti.Token(t, "alice", map[string]any{"exp": 1}), map[string]any{"op": "get", "key": aliceKey}, 401},
			{"wrong audience", ti.Token(t, "alice", map[string]any{"aud": "another-app"}), map[string]any{"op": "get", "key": aliceKey}, 401},
			{"tampered token", alice[:len(alice)-4] + "AAAA", map[string]any{"op": "get", "key": aliceKey}, 401},
			{"alg none", unsignedToken(alice), map[string]any{"op": "get", "key": aliceKey}, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, g, body := grantAs(t, tg, tc.token, tc.req)
				if status != tc.want || g.URL != "" {
					t.Fatalf("status %d, want %d; body %s", status, tc.want, body)
				}
				if strings.HasPrefix(tc.name, "alg none") && !strings.Contains(string(body), "algorithm is not accepted") {
					t.Errorf("an unsigned token hears %s", body)
				}
			})
		}
	})
	t.Run("users read and delete their own files", func(t *testing.T) {
		_, g, _ := grantAs(t, tg, alice, map[string]any{"op": "get", "key": aliceKey})
		status, body := use(t, "GET", g.URL, nil, nil)
		expectStatus(t, "GET own file", status, body, 200)
		if !bytes.Equal(body, png) {
			t.Fatal("download differs")
		}
		_, g, _ = grantAs(t, tg, alice, map[string]any{"op": "delete", "key": aliceKey})
		status, body = use(t, "DELETE", g.URL, nil, nil)
		expectStatus(t, "DELETE own file", status, body, 204, 200)
		expectNoObject(t, tg, aliceKey)
	})
	t.Run("browser form upload within the size range", func(t *testing.T) {
		status, g, body := grantAs(t, tg, alice, map[string]any{"op": "post", "filename": "p.jpg", "content_type": "image/jpeg"})
		expectStatus(t, "presign post", status, body, 200)
		if !strings.HasPrefix(g.Fields["key"], "users/alice/") {
			t.Fatalf("fields %v", g.Fields)
		}
		status, body = postForm(t, g.URL, g.Fields, "image/jpeg", randomBytes(t, 10<<20+1))
		expectRefused(t, "POST over 10 MiB", status, body)
		other := map[string]string{}
		for k, v := range g.Fields {
			other[k] = v
		}
		other["key"] = "users/bob/planted.jpg"
		status, body = postForm(t, g.URL, other, "image/jpeg", png)
		expectRefused(t, "POST into another user's prefix", status, body)
		expectNoObject(t, tg, "users/bob/planted.jpg")
		status, body = postForm(t, g.URL, g.Fields, "image/jpeg", png)
		expectStatus(t, "POST", status, body, 204, 200, 201)
		expectObject(t, tg, g.Fields["key"], png)
	})
	t.Run("anyone reads public files", func(t *testing.T) {
		tg.Store.PutObject(t, "public/hello.txt", []byte("hello, world"))
		for _, token := range []string{"", bob} {
			status, g, body := grantAs(t, tg, token, map[string]any{"op": "get", "key": "public/hello.txt"})
			expectStatus(t, "presign public read", status, body, 200)
			status, body = use(t, "GET", g.URL, nil, nil)
			if status != 200 || string(body) != "hello, world" {
				t.Fatalf("GET public file: %d %q", status, body)
			}
		}
	})
}

// unsignedToken turns a JWT into an "alg":"none" token with the same claims.
func unsignedToken(jwt string) string {
	parts := strings.Split(jwt, ".")
	return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}
