package policy_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"presign.dev/httpapi"
	"presign.dev/policy"
	"presign.dev/presign"
)

// Each signed-in user may read and write under their own prefix, and
// anyone may read public/. The first rule that matches allows the request;
// a refusal says why, except to callers without a credential, who hear
// only that they must sign in (httpapi answers them 401) and nothing of
// the rules.
func ExamplePolicy_Authorize() {
	p, err := policy.New([]policy.Rule{
		{
			Name: "own-files",
			Who:  policy.Who{Authenticated: true},
			Ops:  []presign.Op{presign.OpGet, presign.OpPut, presign.OpDelete},
			Keys: []string{"users/{sub}/**"}, // {sub}: the caller's own name
		},
		{
			Name: "public-read",
			Who:  policy.Who{Anonymous: true, Authenticated: true},
			Ops:  []presign.Op{presign.OpGet},
			Keys: []string{"public/**"},
		},
	}, policy.Options{
		// Fixed clock and randomness ({date}, {uuid}), so that decisions
		// are reproducible.
		Now:    func() time.Time { return time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC) },
		Random: bytes.NewReader(make([]byte, 64)),
	})
	if err != nil {
		panic(err)
	}
	alice := presign.Principal{Kind: presign.KindJWT, Name: "alice", Issuer: "https://auth.example.com/"}
	anonymous := presign.Principal{Kind: presign.KindAnonymous}
	for _, c := range []struct {
		caller string
		who    presign.Principal
		op     presign.Op
		key    string
	}{
		{"alice", alice, presign.OpPut, "users/alice/notes.txt"},         // her own prefix
		{"alice", alice, presign.OpGet, "users/bob/notes.txt"},           // another user's: 403, with the reason
		{"anonymous", anonymous, presign.OpGet, "public/logo.png"},       // public: anyone may read it
		{"anonymous", anonymous, presign.OpGet, "users/alice/notes.txt"}, // 401: sign in, and no word of the rules
	} {
		fmt.Printf("%s %s %s: ", c.caller, c.op, c.key)
		dec, err := p.Authorize(context.Background(), c.who, &presign.Request{Op: c.op, Key: c.key})
		if err != nil {
			fmt.Printf("%d %s: %s\n", httpapi.Status(err), presign.ErrorCode(err), presign.ErrorMessage(err))
			continue
		}
		fmt.Printf("allowed by %q\n", dec.Rule)
	}
	// Output:
	// alice put users/alice/notes.txt: allowed by "own-files"
	// alice get users/bob/notes.txt: 403 permission_denied: denied: key is outside what rule "own-files" allows (users/{sub}/**)
	// anonymous get public/logo.png: allowed by "public-read"
	// anonymous get users/alice/notes.txt: 401 unauthenticated: authentication required: send Authorization: Bearer <API key or JWT>
}

// A rule with generate_key chooses upload keys itself. When the rule fixes
// the content types, {ext} follows the signed type, never the client's
// file name: a file named page.html uploaded as image/png gets a .png key,
// not a .html one.
func ExamplePolicy_Authorize_generateKey() {
	p, err := policy.New([]policy.Rule{{
		Name:         "avatars",
		Who:          policy.Who{Authenticated: true},
		Ops:          []presign.Op{presign.OpPut},
		GenerateKey:  "users/{sub}/{uuid}{ext}",
		ContentTypes: []string{"image/png", "image/jpeg"},
		MaxSize:      1 << 20,
	}}, policy.Options{
		Now: func() time.Time { return time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC) },
		// {uuid} reads 16 random bytes per key: zeros give the UUID
		// 00000000-0000-4000-8000-000000000000 (its version and variant bits set).
		Random: bytes.NewReader(make([]byte, 64)),
	})
	if err != nil {
		panic(err)
	}
	alice := presign.Principal{Kind: presign.KindJWT, Name: "alice", Issuer: "https://auth.example.com/"}
	for _, c := range []struct {
		what string
		r    presign.Request
	}{
		{"page.html as image/png", presign.Request{Op: presign.OpPut, Filename: "page.html", ContentType: "image/png"}},
		{"page.html as text/html", presign.Request{Op: presign.OpPut, Filename: "page.html", ContentType: "text/html"}},
		{"the client's own key", presign.Request{Op: presign.OpPut, Key: "users/alice/index.html", ContentType: "image/png"}},
	} {
		fmt.Printf("%s: ", c.what)
		dec, err := p.Authorize(context.Background(), alice, &c.r)
		if err != nil {
			fmt.Printf("%s: %s\n", presign.ErrorCode(err), presign.ErrorMessage(err))
			continue
		}
		fmt.Printf("allowed by %q, key %s\n", dec.Rule, dec.Key)
	}
	// Output:
	// page.html as image/png: allowed by "avatars", key users/alice/00000000-0000-4000-8000-000000000000.png
	// page.html as text/html: permission_denied: denied: content type "text/html" is not allowed by rule "avatars" (allowed: image/png, image/jpeg)
	// the client's own key: permission_denied: denied: rule "avatars" chooses upload keys itself; send no key
}

// ValidateRules reports every problem at once, each with its field in the
// configuration file's names ("[0]" is the first rule); policy.New refuses
// the same rules with the same problems.
func ExampleValidateRules() {
	problems := policy.ValidateRules([]policy.Rule{{
		Name:         "uploads",
		Who:          policy.Who{Authenticated: true},
		Ops:          []presign.Op{presign.OpPut, "upload"},
		Keys:         []string{"users/{user}/**"},
		MaxSize:      10 << 30,
		ContentTypes: []string{"images"},
		MaxExpires:   30 * 24 * time.Hour,
	}}, nil)
	for _, p := range problems {
		fmt.Println(p) // field: message
	}
	// Output:
	// [0].ops[1]: "upload" is not an operation: get, head, put, post, delete, list, multipart
	// [0].keys[0]: {user} is not a placeholder here; known: {sub} {name} {claim.NAME}
	// [0].max_size: 10GiB must be between 1 byte and 5GiB, S3's limit for one upload (up to 5TiB with multipart)
	// [0].content_types[0]: "images" is not a media type pattern like image/png, image/* or */*
	// [0].max_expires: 720h must be between 1s and 168h
}
