package presign

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testSecrets = []TokenSecret{{ID: "k2", Secret: []byte("0123456789abcdef0123456789abcdef-new")}, {ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef-old")}}

func testToken() uploadToken {
	return uploadToken{Kind: tokenMultipart, Caller: callerDigest(Principal{Kind: KindJWT, Issuer: "https://idp", Name: "alice"}),
		Backend: "s3", Bucket: "bucket", Key: "users/alice/a b+c.bin", UploadID: "2~abc/+==", Size: 12 << 20, PartSize: 5 << 20,
		MaxSize: 1 << 30, PartExpires: 10 * time.Minute, NoOverwrite: true, Stamp: "0123456789abcdef", ContentType: "video/mp4", ChecksumCRC64NVME: "AAAAAAAAAAA=", Rule: "uploads",
		ExpiresAt: testTime.Add(24 * time.Hour)}
}

// openUpload opens an upload token.
func openUpload(secrets []TokenSecret, tok string, now time.Time) (uploadToken, error) {
	var t uploadToken
	err := openToken(secrets, tok, now, &t)
	return t, err
}

func TestTokenRoundTrip(t *testing.T) {
	want := testToken()
	tok := sealToken(testSecrets, &want)
	if !strings.HasPrefix(tok, "u1.k2.") || strings.ContainsAny(tok, "/+= ") {
		t.Errorf("token %q: not u1.<id>.<base64url>", tok)
	}
	got, err := openUpload(testSecrets, tok, testTime)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	// Rotation: a token of the old secret still opens while it is listed.
	old := sealToken(testSecrets[1:], &want)
	if _, err := openUpload(testSecrets, old, testTime); err != nil {
		t.Errorf("a token of the second secret: %v", err)
	}
	if _, err := openUpload(testSecrets[:1], old, testTime); ErrorCode(err) != CodeUnauthenticated {
		t.Errorf("a token of a secret no longer listed: %v", err)
	}
}

func TestTokenRefusals(t *testing.T) {
	tt := testToken()
	tok := sealToken(testSecrets, &tt)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "u1.k2."))
	// Every single-byte change of the payload or the MAC is refused.
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x20
		if _, err := openUpload(testSecrets, "u1.k2."+base64.RawURLEncoding.EncodeToString(b), testTime); ErrorCode(err) != CodeUnauthenticated {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	for name, bad := range map[string]string{
		"empty": "", "no prefix": strings.TrimPrefix(tok, "u1."), "other id": strings.Replace(tok, "k2", "k1", 1),
		"unknown id": strings.Replace(tok, "k2", "k9", 1), "no dot": "u1.k2", "padding": tok + "=", "truncated": tok[:len(tok)-5],
		"huge": "u1.k2." + strings.Repeat("A", 5000),
	} {
		if _, err := openUpload(testSecrets, bad, testTime); ErrorCode(err) != CodeUnauthenticated || ErrorMessage(err) != "the upload token is not valid" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := openUpload(testSecrets, tok, tt.ExpiresAt); ErrorCode(err) != CodeUnauthenticated || !strings.Contains(ErrorMessage(err), "expired") {
		t.Errorf("expired: %v", err)
	}
}

func TestCallerDigest(t *testing.T) {
	a := callerDigest(Principal{Kind: KindJWT, Issuer: "https://a", Name: "bob"})
	for _, p := range []Principal{
		{Kind: KindJWT, Issuer: "https://b", Name: "bob"}, {Kind: KindAPIKey, Name: "bob"},
		{Kind: KindJWT, Issuer: "https://abob", Name: ""}, {Kind: KindJWT, Issuer: "https://a", Name: "bob "},
	} {
		if callerDigest(p) == a {
			t.Errorf("%+v has the digest of another caller", p)
		}
	}
}

// FuzzOpenToken: any string is refused or opens to a token that seals
// back to the same string; nothing panics.
func FuzzOpenToken(f *testing.F) {
	tt := testToken()
	f.Add(sealToken(testSecrets, &tt))
	f.Add("u1.k1.AAAA")
	f.Add("u1.k2." + strings.Repeat("_", 60))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := openUpload(testSecrets, s, testTime)
		if err != nil {
			if ErrorCode(err) != CodeUnauthenticated {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		id := strings.Split(s, ".")[1]
		var secrets []TokenSecret
		for _, sec := range testSecrets {
			if sec.ID == id {
				secrets = append(secrets, sec)
			}
		}
		if again := sealToken(secrets, &got); again != s {
			t.Fatalf("%q opens to a token that seals to %q", s, again)
		}
	})
}

// FuzzTokenPayload: decode never panics, and what it accepts encodes back
// to the same bytes.
func FuzzTokenPayload(f *testing.F) {
	tt := testToken()
	f.Add(tt.encode(nil))
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got uploadToken
		if decodePayload(&got, b) != nil {
			return
		}
		if again := got.encode(nil); string(again) != string(b) {
			t.Fatalf("%x decodes to a token that encodes to %x", b, again)
		}
	})
}

var testPrincipal = Principal{Kind: KindJWT, Issuer: "https://idp", Name: "alice", Groups: []string{"staff", ""},
	Claims: map[string]string{"sub": "alice", "org": "acme", "exp": "1900000000"}}

func TestPathTokenRoundTrip(t *testing.T) {
	want := pathToken{Principal: testPrincipal, ExpiresAt: testTime.Add(time.Hour)}
	tok := sealToken(testSecrets, &want)
	var got pathToken
	if err := openToken(testSecrets, tok, testTime, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("path token (-want +got):\n%s", diff)
	}
	// A token of one kind never opens as the other.
	var up uploadToken
	if err := openToken(testSecrets, tok, testTime, &up); ErrorCode(err) != CodeUnauthenticated {
		t.Errorf("a path token opened as an upload token: %v", err)
	}
	ut := testToken()
	if err := openToken(testSecrets, sealToken(testSecrets, &ut), testTime, &got); ErrorCode(err) != CodeUnauthenticated {
		t.Errorf("an upload token opened as a path token: %v", err)
	}
	if err := openToken(testSecrets, tok, want.ExpiresAt, &got); !strings.Contains(ErrorMessage(err), "expired") {
		t.Errorf("expired path token: %v", err)
	}
}

// FuzzPathTokenPayload: decode never panics, and what it accepts encodes
// back to the same bytes (claims in one order only).
func FuzzPathTokenPayload(f *testing.F) {
	pt := pathToken{Principal: testPrincipal, ExpiresAt: testTime}
	f.Add(pt.encode(nil))
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got pathToken
		if decodePayload(&got, b) != nil {
			return
		}
		if again := got.encode(nil); string(again) != string(b) {
			t.Fatalf("%x decodes to a token that encodes to %x", b, again)
		}
	})
}
