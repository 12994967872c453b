package policy

import (
	"context"
	"testing"

	"presign.dev/presign"
)

// BenchmarkAuthorize: one decision of the README's example rules, for a
// key in the caller's prefix (users/{sub}/**) and for a one-segment
// wildcard pattern (public/*.html) after three rules that do not match.
func BenchmarkAuthorize(b *testing.B) {
	p, err := New(exampleRules, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		who  presign.Principal
		req  presign.Request
	}{
		{"own-file", alice, presign.Request{Op: presign.OpGet, Key: "users/alice/photos/2026/cat.png"}},
		{"wildcard", editor, presign.Request{Op: presign.OpPut, Key: "public/index.html", ContentType: "text/html"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := bc.req
				if _, err := p.Authorize(context.Background(), bc.who, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
