package policy

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"presign.dev/presign"
)

func bptr(b bool) *bool   { return &b }
func iptr(n int64) *int64 { return &n }

// The README's example: users upload images up to 10 MiB into their own
// prefix (keys chosen by the server), read their own files, anonymous
// callers read public/, and a backend service may do anything under jobs/.
var exampleRules = []Rule{
	{Name: "user-uploads", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPut, presign.OpPost},
		Keys: []string{"users/{sub}/**"}, GenerateKey: "users/{sub}/{uuid}{ext}",
		MaxSize: 10 << 20, ContentTypes: []string{"image/*"}, MaxExpires: 10 * time.Minute, Overwrite: bptr(false)},
	{Name: "own-files", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpGet, presign.OpHead, presign.OpDelete},
		Keys: []string{"users/{sub}/**"}},
	{Name: "public-reads", Who: Who{Anonymous: true, Authenticated: true}, Ops: []presign.Op{presign.OpGet, presign.OpHead},
		Keys: []string{"public/**"}},
	{Name: "editors", Who: Who{Claims: map[string][]string{"role": {"editor", "admin"}}}, Ops: []presign.Op{presign.OpPut},
		Keys: []string{"public/*.html", "public/assets/**"}, ContentTypes: []string{"text/html", "image/png", "text/*"}},
	{Name: "checked", Who: Who{APIKeys: []string{"archiver"}}, Ops: []presign.Op{presign.OpPut}, Keys: []string{"archive/**"}, RequireChecksum: true,
		Metadata: []string{"source", "batch-id"}},
	{Name: "jobs", Who: Who{APIKeys: []string{"worker"}, Groups: []string{"ops"}, IAM: []string{"arn:aws:iam::123456789012:role/uploader"}}, Ops: presign.Ops, Keys: []string{"jobs/**"}},
}

func examplePolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := New(exampleRules, Options{Now: func() time.Time { return time.Date(2026, 5, 24, 0, 0, 0, 0, time.UTC) },
		Random: bytes.NewReader(bytes.Repeat([]byte{0xab}, 1<<16))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	alice  = presign.Principal{Kind: presign.KindJWT, Name: "alice", Groups: []string{"staff"}, Claims: map[string]string{"sub": "alice", "role": "viewer"}}
	editor = presign.Principal{Kind: presign.KindJWT, Name: "ed", Claims: map[string]string{"sub": "ed", "role": "editor"}}
	opsBob = presign.Principal{Kind: presign.KindJWT, Name: "bob", Groups: []string{"ops"}}
	worker = presign.Principal{Kind: presign.KindAPIKey, Name: "worker"}
	anon   = presign.Principal{Kind: presign.KindAnonymous}
)

func TestAuthorize(t *testing.T) {
	p := examplePolicy(t)
	tests := []struct {
		name     string
		who      presign.Principal
		req      presign.Request
		wantRule string
		wantCode presign.Code
		wantMsg  string
		check    func(*testing.T, presign.Decision)
	}{
		{name: "upload gets a generated key in the user's prefix", who: alice,
			req:      presign.Request{Op: presign.OpPut, Filename: "My Cat.PNG", ContentType: "image/png", ContentLength: iptr(1000)},
			wantRule: "user-uploads", check: func(t *testing.T, d presign.Decision) {
				if d.Key != "users/alice/abababab-abab-4bab-abab-abababababab.png" || d.MaxSize != 10<<20 || !d.NoOverwrite || d.MaxExpires != 10*time.Minute {
					t.Errorf("decision %+v", d)
				}
			}},
		{name: "post upload with a generated uuid key needs no overwrite guard", who: alice,
			req: presign.Request{Op: presign.OpPost, Filename: "a.jpg", ContentType: "image/jpeg"}, wantRule: "user-uploads",
			check: func(t *testing.T, d presign.Decision) {
				if d.NoOverwrite || !strings.HasPrefix(d.Key, "users/alice/") || !strings.HasSuffix(d.Key, ".jpg") {
					t.Errorf("decision %+v", d)
				}
			}},
		{name: "client-chosen upload key refused", who: alice, req: presign.Request{Op: presign.OpPut, Key: "users/alice/x.png", ContentType: "image/png"},
			wantCode: presign.CodePermissionDenied, wantMsg: "chooses upload keys itself"},
		{name: "upload of a non-image", who: alice, req: presign.Request{Op: presign.OpPut, ContentType: "text/html"},
			wantCode: presign.CodePermissionDenied, wantMsg: `content type "text/html" is not allowed by rule "user-uploads"`},
		{name: "upload without a content type", who: alice, req: presign.Request{Op: presign.OpPut},
			wantCode: presign.CodePermissionDenied, wantMsg: "content_type is required"},
		{name: "metadata where the rule lists none", who: alice,
			req:      presign.Request{Op: presign.OpPut, ContentType: "image/png", ContentLength: iptr(1), Metadata: map[string]string{"author": "alice"}},
			wantCode: presign.CodePermissionDenied, wantMsg: `metadata "author" is not allowed by rule "user-uploads" (allowed: none)`},
		{name: "metadata the rule lists", who: presign.Principal{Kind: presign.KindAPIKey, Name: "archiver"},
			req:      presign.Request{Op: presign.OpPut, Key: "archive/a.tar", ContentMD5: "1B2M2Y8AsgTpgAmY7PhCfg==", Metadata: map[string]string{"source": "x", "batch-id": "7"}},
			wantRule: "checked"},
		{name: "metadata beyond what the rule lists", who: presign.Principal{Kind: presign.KindAPIKey, Name: "archiver"},
			req:      presign.Request{Op: presign.OpPut, Key: "archive/a.tar", ContentMD5: "1B2M2Y8AsgTpgAmY7PhCfg==", Metadata: map[string]string{"source": "x", "snowball-auto-extract": "true"}},
			wantCode: presign.CodePermissionDenied, wantMsg: `metadata "snowball-auto-extract" is not allowed by rule "checked" (allowed: source, batch-id)`},
		{name: "upload over 10 MiB", who: alice, req: presign.Request{Op: presign.OpPut, ContentType: "image/png", ContentLength: iptr(10<<20 + 1)},
			wantCode: presign.CodeTooLarge, wantMsg: "above the 10485760 bytes"},
		{name: "read own file", who: alice, req: presign.Request{Op: presign.OpGet, Key: "users/alice/photo.png"}, wantRule: "own-files"},
		{name: "delete own file", who: alice, req: presign.Request{Op: presign.OpDelete, Key: "users/alice/a/b/c.png"}, wantRule: "own-files"},
		{name: "read another user's file", who: alice, req: presign.Request{Op: presign.OpGet, Key: "users/bob/photo.png"},
			wantCode: presign.CodePermissionDenied, wantMsg: `outside what rule "own-files" allows`},
		{name: "the bare prefix is not a file in it", who: alice, req: presign.Request{Op: presign.OpGet, Key: "users/alice"}, wantCode: presign.CodePermissionDenied},
		{name: "prefix look-alike", who: alice, req: presign.Request{Op: presign.OpGet, Key: "users/alicex/photo.png"}, wantCode: presign.CodePermissionDenied},
		{name: "encoded slash is a character, not a separator", who: alice, req: presign.Request{Op: presign.OpGet, Key: "users/alice%2F..%2Fbob/x"},
			wantCode: presign.CodePermissionDenied},
		{name: "encoded dot-dot inside the prefix stays inside", who: alice, req: presign.Request{Op: presign.OpGet, Key: "users/alice/%2E%2E/x"}, wantRule: "own-files"},
		{name: "anonymous public read", who: anon, req: presign.Request{Op: presign.OpGet, Key: "public/logo.png"}, wantRule: "public-reads"},
		// No credential: 401 unless a rule admits anonymous callers to this
		// op and key (then its limits answer, as for anyone).
		{name: "anonymous public write", who: anon, req: presign.Request{Op: presign.OpPut, Key: "public/logo.png"},
			wantCode: presign.CodeUnauthenticated, wantMsg: "no rule lets this caller put objects"},
		{name: "anonymous private read needs authentication", who: anon, req: presign.Request{Op: presign.OpGet, Key: "users/alice/x"},
			wantCode: presign.CodeUnauthenticated, wantMsg: "authentication required"},
		{name: "anonymous where no rule admits anonymous", who: anon, req: presign.Request{Op: presign.OpDelete, Key: "jobs/x"},
			wantCode: presign.CodeUnauthenticated},
		{name: "editor by claim", who: editor, req: presign.Request{Op: presign.OpPut, Key: "public/index.html", ContentType: "text/html; charset=utf-8"}, wantRule: "editors"},
		{name: "editor wildcard stays in one segment", who: editor, req: presign.Request{Op: presign.OpPut, Key: "public/a/index.html", ContentType: "text/html"},
			wantCode: presign.CodePermissionDenied},
		{name: "viewer claim is not editor", who: alice, req: presign.Request{Op: presign.OpPut, Key: "public/index.html", ContentType: "text/html"},
			wantCode: presign.CodePermissionDenied},
		{name: "checksum required", who: presign.Principal{Kind: presign.KindAPIKey, Name: "archiver"}, req: presign.Request{Op: presign.OpPut, Key: "archive/a.tar"},
			wantCode: presign.CodePermissionDenied, wantMsg: "content_md5 or checksum_sha256 is required"},
		{name: "checksum given", who: presign.Principal{Kind: presign.KindAPIKey, Name: "archiver"},
			req: presign.Request{Op: presign.OpPut, Key: "archive/a.tar", ChecksumSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, wantRule: "checked"},
		{name: "iam caller by ARN", who: presign.Principal{Kind: presign.KindIAM, Name: "arn:aws:iam::123456789012:role/uploader"},
			req: presign.Request{Op: presign.OpPut, Key: "jobs/x"}, wantRule: "jobs"},
		{name: "iam caller is authenticated", who: presign.Principal{Kind: presign.KindIAM, Name: "arn:aws:iam::123456789012:user/x"},
			req: presign.Request{Op: presign.OpGet, Key: "public/a"}, wantRule: "public-reads"},
		{name: "api key by name", who: worker, req: presign.Request{Op: presign.OpDelete, Key: "jobs/1/out.csv"}, wantRule: "jobs"},
		{name: "api key is authenticated", who: worker, req: presign.Request{Op: presign.OpGet, Key: "public/a"}, wantRule: "public-reads"},
		{name: "group member", who: opsBob, req: presign.Request{Op: presign.OpPut, Key: "jobs/x"}, wantRule: "jobs"},
		{name: "sub with a slash cannot widen its prefix",
			who: presign.Principal{Kind: presign.KindJWT, Name: "alice/../bob"}, req: presign.Request{Op: presign.OpGet, Key: "users/alice/../bob/x"},
			wantCode: presign.CodePermissionDenied},
		{name: "sub with a slash gets no generated key",
			who: presign.Principal{Kind: presign.KindJWT, Name: "a/b"}, req: presign.Request{Op: presign.OpPut, ContentType: "image/png"},
			wantCode: presign.CodePermissionDenied, wantMsg: "does not provide"},
		{name: "wildcard in a sub is literal",
			who: presign.Principal{Kind: presign.KindJWT, Name: "*"}, req: presign.Request{Op: presign.OpGet, Key: "users/bob/x"},
			wantCode: presign.CodePermissionDenied},
		{name: "unicode look-alike sub", who: presign.Principal{Kind: presign.KindJWT, Name: "аlice"}, // Cyrillic а
			req: presign.Request{Op: presign.OpGet, Key: "users/alice/x"}, wantCode: presign.CodePermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			d, err := p.Authorize(context.Background(), tt.who, &r)
			if tt.wantCode != "" {
				if presign.ErrorCode(err) != tt.wantCode || !strings.Contains(presign.ErrorMessage(err), tt.wantMsg) {
					t.Fatalf("got %v (%q), want %s containing %q", err, presign.ErrorMessage(err), tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil || d.Rule != tt.wantRule {
				t.Fatalf("decision %+v, %v; want rule %s", d, err, tt.wantRule)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestAnonymousWithoutAnonymousRules(t *testing.T) {
	p, err := New([]Rule{{Name: "r", Who: Who{Authenticated: true}, Ops: presign.Ops, Keys: []string{"**"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Authorize(context.Background(), anon, &presign.Request{Op: presign.OpGet, Key: "k"})
	if presign.ErrorCode(err) != presign.CodeUnauthenticated {
		t.Fatalf("anonymous: %v", err)
	}
}

func TestRefusalsDoNotLeakOtherPaths(t *testing.T) {
	p := examplePolicy(t)
	_, err := p.Authorize(context.Background(), alice, &presign.Request{Op: presign.OpGet, Key: "users/bob/secret.pdf"})
	msg := presign.ErrorMessage(err)
	if strings.Contains(msg, "bob") || strings.Contains(msg, "jobs/") {
		t.Errorf("refusal names other callers' paths: %q", msg)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New([]Rule{
		{Name: "a", Ops: []presign.Op{"copy"}, Keys: []string{"x/{nope}/**", "a**b"}},
		{Name: "a", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpGet}},
		{Name: "c", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPut}, GenerateKey: "u/{sub}/*", ContentTypes: []string{"image"}, MaxSize: -1},
	}, Options{})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"rules[0] (a): who is empty", `op "copy"`, "unknown reference {nope}", "** must be a whole segment",
		"rules[1] (a): name is used twice", "rules[1] (a): keys is empty", "a generated key has no wildcards", `"image" is not a media type`, "max_size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestExplain(t *testing.T) {
	p := examplePolicy(t)
	ex := p.Explain(alice, &presign.Request{Op: presign.OpGet, Key: "public/x"})
	if !ex.Allowed || ex.Rule != "public-reads" || len(ex.Trace) != len(exampleRules) || ex.Trace[1].Matched || !ex.Trace[2].Matched {
		t.Fatalf("%+v", ex)
	}
	ex = p.Explain(alice, &presign.Request{Op: presign.OpGet, Key: "users/bob/x"})
	if ex.Allowed || ex.Error == "" {
		t.Fatalf("%+v", ex)
	}
}

func TestFilenameHelpers(t *testing.T) {
	for _, tt := range []struct{ in, name, ext string }{
		{"My Cat.PNG", "My_Cat.PNG", ".png"}, {"../../etc/passwd", "passwd", ""}, {`C:\Users\x\photo.jpeg`, "photo.jpeg", ".jpeg"},
		{".bashrc", "bashrc", ""}, {"", "file", ""}, {"naïve.tar.gz", "na__ve.tar.gz", ".gz"}, {"a.verylongextension", "a.verylongextension", ""},
	} {
		if got := SanitizeFilename(tt.in); got != tt.name {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", tt.in, got, tt.name)
		}
		if got := Ext(tt.in); got != tt.ext {
			t.Errorf("Ext(%q) = %q, want %q", tt.in, got, tt.ext)
		}
	}
}

// TestAnonymousRefusals: without a credential, a request no rule admits
// anonymous callers to is 401; one a rule admits but whose limits it
// breaks is answered by those limits, as for anyone (signing in would not
// help an oversized upload to an anonymous drop box).
func TestAnonymousRefusals(t *testing.T) {
	p, err := New([]Rule{{Name: "drop-box", Who: Who{Anonymous: true}, Ops: []presign.Op{presign.OpPut}, Keys: []string{"inbox/*"},
		MaxSize: 10, ContentTypes: []string{"text/plain"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	anon := presign.Principal{Kind: presign.KindAnonymous}
	for _, tt := range []struct {
		name string
		req  presign.Request
		want presign.Code
	}{
		{"other op", presign.Request{Op: presign.OpGet, Key: "inbox/a"}, presign.CodeUnauthenticated},
		{"other key", presign.Request{Op: presign.OpPut, Key: "private/a", ContentType: "text/plain", ContentLength: iptr(1)}, presign.CodeUnauthenticated},
		{"too large", presign.Request{Op: presign.OpPut, Key: "inbox/a", ContentType: "text/plain", ContentLength: iptr(11)}, presign.CodeTooLarge},
		{"wrong type", presign.Request{Op: presign.OpPut, Key: "inbox/a", ContentType: "text/html", ContentLength: iptr(1)}, presign.CodePermissionDenied},
	} {
		_, err := p.Authorize(context.Background(), anon, &tt.req)
		if got := presign.ErrorCode(err); got != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
}
