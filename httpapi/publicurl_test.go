package httpapi

import (
	"strings"
	"testing"
)

func TestValidatePublicURL(t *testing.T) {
	for _, u := range []string{"https://presign.example.com", "http://127.0.0.1:8080", "https://example.com/presign", "https://example.com:8443/a/b"} {
		if err := ValidatePublicURL(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
	for u, want := range map[string]string{
		"":                                 "is empty",
		"presign.example.com":              "is not an http(s) URL",
		"ftp://presign.example.com":        "is not an http(s) URL",
		"https://":                         "is not an http(s) URL",
		"https:presign.example.com":        "is not an http(s) URL",
		"https://u:hunter2@x.example":      "must not hold user info",
		"https://x.example/?token=hunter2": "must not have a query",
		"https://x.example/p#hunter2":      "must not have a query or a fragment",
		"https://x.example/":               `write "https://x.example"`,
		"https://x.example/presign/":       `write "https://x.example/presign"`,
		"https://x.example/a/../b":         "not clean",
		"https://x.example/a//b":           "not clean",
		"https://x.example/a%2Fb":          "not clean",
	} {
		err := ValidatePublicURL(u)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", u, err, want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the problem quotes a credential: %v", u, err)
		}
	}
}
