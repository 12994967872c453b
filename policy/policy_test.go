package policy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
			wantCode: presign.CodeUnauthenticated, wantMsg: "authentication required"},
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
		{Name: "c", Who: Who{Authenticated: true, APIKeys: []string{"ghost"}}, Ops: []presign.Op{presign.OpPut}, GenerateKey: "u/{sub}/*", ContentTypes: []string{"image"}, MaxSize: -1, Backend: "nope"},
		{Name: "d", Who: Who{Anonymous: true, Groups: []string{"g"}}, Ops: []presign.Op{presign.OpGet, presign.OpGet}, Keys: []string{"u/{sub}/*"}, MaxSize: 1, Download: bptr(true), MaxExpires: 1500 * time.Millisecond},
	}, Options{Refs: &References{Backends: []string{"default"}, APIKeys: []string{"svc"}}})
	var got presign.Problems
	if !errors.As(err, &got) {
		t.Fatalf("New: %v, want presign.Problems", err)
	}
	want := []string{
		"[0].who: matches nobody: set anonymous, authenticated, api_keys, iam, groups or claims",
		`[0].ops[0]: "copy" is not an operation: get, head, put, post, delete, list, multipart`,
		"[0].keys[0]: {nope} is not a placeholder here; known: {sub} {name} {claim.NAME}",
		"[0].keys[1]: has ** inside a path segment; ** must be a whole segment, as in users/**",
		`[1].keys: required: the key patterns allowed, e.g. ["users/{sub}/**"] (write ["**"] for every key)`,
		`[1].name: "a" is already the name of entry [0] of this list`,
		`[2].who.api_keys[0]: "ghost" is not the name of a key in auth.api_keys (or env-1, env-2, ... of PRESIGN_API_KEYS)`,
		`[2].backend: "nope" is not the name of a backend`,
		"[2].generate_key: has a *: generate_key is a template, not a pattern",
		"[2].max_size: -1 must be between 1 byte and 5GiB, S3's limit for one upload (up to 5TiB with multipart)",
		`[2].content_types[0]: "image" is not a media type pattern like image/png, image/* or */*`,
		"[3].who.groups: groups come from JWTs, but auth.jwt lists no issuer (nor is PRESIGN_PLATFORM_AUTH=jwt_authorizer)",
		`[3].ops[1]: "get" is listed twice`,
		"[3]: uses {sub}, which anonymous callers (who.anonymous) have no value for",
		"[3].max_size: applies to uploads, but ops has none of put, post and multipart",
		"[3].max_expires: 1.5s must be whole seconds",
	}
	if diff := cmp.Diff(want, strings.Split(got.Error(), "\n")); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestExplain(t *testing.T) {
	p := examplePolicy(t)
	trace := p.Explain(alice, &presign.Request{Op: presign.OpGet, Key: "public/x"})
	want := []Trace{
		{Rule: "user-uploads", Reason: "no rule lets this caller get objects"},
		{Rule: "own-files", Reason: `key is outside what rule "own-files" allows (users/{sub}/**)`},
		{Rule: "public-reads", Matched: true},
		{Rule: "editors", Reason: "rule does not apply to this caller"},
		{Rule: "checked", Reason: "rule does not apply to this caller"},
		{Rule: "jobs", Reason: "rule does not apply to this caller"},
	}
	if diff := cmp.Diff(want, trace); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
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
		// Anonymous callers learn nothing of the rules beyond "not allowed".
		for _, secret := range []string{"drop-box", "inbox", "10", "text/plain", "rule"} {
			if msg := presign.ErrorMessage(err); strings.Contains(msg, secret) {
				t.Errorf("%s: the refusal %q tells an anonymous caller %q", tt.name, msg, secret)
			}
		}
	}
}

// TestExtFollowsTheSignedType: when a rule fixes the content types, {ext}
// and the extension of {filename} come from the signed type, so a client
// cannot get an image/png upload stored under a .html key by naming its
// file page.html.
func TestExtFollowsTheSignedType(t *testing.T) {
	rules := []Rule{
		{Name: "any", Who: Who{APIKeys: []string{"svc"}}, Ops: []presign.Op{presign.OpPut}, GenerateKey: "any/{uuid}{ext}"},
		{Name: "named", Who: Who{Claims: map[string][]string{"role": {"editor"}}}, Ops: []presign.Op{presign.OpPut}, GenerateKey: "u/{uuid}/{filename}",
			ContentTypes: []string{"image/png", "image/jpeg", "application/x-custom"}},
		{Name: "images", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPut}, GenerateKey: "u/{uuid}{ext}",
			ContentTypes: []string{"image/png", "image/jpeg", "application/x-custom"}},
	}
	p, err := New(rules, Options{Random: bytes.NewReader(bytes.Repeat([]byte{0}, 1<<10))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		who             presign.Principal
		filename, ctype string
		wantSuffix      string
	}{
		{alice, "page.html", "image/png", ".png"},
		{alice, "photo.JPEG", "image/jpeg", ".jpg"},
		{alice, "x.exe", "image/png; charset=binary", ".png"},
		{alice, "data.html", "application/x-custom", "0000"},                        // no extension known: none
		{worker, "page.html", "image/png", ".html"},                                 // no types fixed: the file's
		{editor, "page.html", "image/png", "-0000-4000-8000-000000000000/page.png"}, // {filename} too
		{editor, "Page.HTML", "application/x-custom", "-0000-4000-8000-000000000000/Page"},
		{editor, "noext", "image/jpeg", "-0000-4000-8000-000000000000/noext.jpg"},
	} {
		who := tt.who
		if who.Kind == presign.KindAPIKey {
			who.Name = "svc"
		}
		dec, err := p.Authorize(context.Background(), who, &presign.Request{Op: presign.OpPut, Filename: tt.filename, ContentType: tt.ctype})
		if err != nil {
			t.Fatalf("%s as %s: %v", tt.filename, tt.ctype, err)
		}
		if !strings.HasSuffix(dec.Key, tt.wantSuffix) {
			t.Errorf("%s as %s: key %q, want suffix %q", tt.filename, tt.ctype, dec.Key, tt.wantSuffix)
		}
	}
}

// TestOpenMode: PRESIGN_AUTH=none grants what the tutorials did, GET and
// PUT URLs (and the Chalice POST form), and refuses everything else with a
// message that says so.
func TestOpenMode(t *testing.T) {
	open := presign.Principal{Kind: presign.KindOpen}
	for _, tt := range []struct {
		req  presign.Request
		want presign.Code
	}{
		{presign.Request{Op: presign.OpGet, Key: "k"}, ""},
		{presign.Request{Op: presign.OpPut, Key: "k", ContentType: "text/plain"}, ""},
		{presign.Request{Op: presign.OpPost, Key: "k"}, ""},
		{presign.Request{Op: presign.OpDelete, Key: "k"}, presign.CodePermissionDenied},
		{presign.Request{Op: presign.OpHead, Key: "k"}, presign.CodePermissionDenied},
		{presign.Request{Op: presign.OpList, Prefix: "k/"}, presign.CodePermissionDenied},
		{presign.Request{Op: presign.OpList}, presign.CodePermissionDenied},
		{presign.Request{Op: presign.OpPut, Key: "k", Metadata: map[string]string{"a": "b"}}, presign.CodePermissionDenied},
	} {
		dec, err := OpenMode{}.Authorize(context.Background(), open, &tt.req)
		if got := presign.ErrorCode(err); got != tt.want {
			t.Errorf("%s %v: %v, want %q", tt.req.Op, tt.req.Metadata, err, tt.want)
		}
		if err != nil && !strings.Contains(presign.ErrorMessage(err), "open mode allows only get and put") {
			t.Errorf("%s: message %q does not say what open mode allows", tt.req.Op, presign.ErrorMessage(err))
		}
		if err == nil && dec.Rule != OpenModeRule {
			t.Errorf("%s: rule %q", tt.req.Op, dec.Rule)
		}
	}
}

// TestPostCannotForbidOverwrite: a rule that lets post uploads in but
// forbids overwriting, without {uuid} keys, could never grant a post.
func TestPostCannotForbidOverwrite(t *testing.T) {
	f := false
	for _, tt := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "r", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPost}, Keys: []string{"u/**"}, Overwrite: &f},
			"overwrite: false cannot hold for post (S3 POST uploads cannot be conditional) unless generate_key has {uuid}; remove post from ops, or generate {uuid} keys"},
		{Rule{Name: "r", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPut, presign.OpPost}, GenerateKey: "u/{uuid}", Overwrite: &f}, ""},
		{Rule{Name: "r", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPut}, Keys: []string{"u/**"}, Overwrite: &f}, ""},
	} {
		got := tt.rule.Validate(nil)
		if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || got[0].String() != tt.want) {
			t.Errorf("%v: %v", tt.rule.Ops, got)
		}
	}
}

func TestClaimNames(t *testing.T) {
	p, err := New([]Rule{
		{Name: "a", Who: Who{Claims: map[string][]string{"org": {"acme"}, "tier": {"gold"}}}, Ops: []presign.Op{presign.OpGet}, Keys: []string{"orgs/{claim.org}/**"}},
		{Name: "b", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpPut}, Keys: []string{"users/{sub}/**", "t/{claim.team}/{claim.org}/*"},
			GenerateKey: "t/{claim.team}/{uuid}"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"org", "team", "tier"}, p.ClaimNames()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}
