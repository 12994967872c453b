package gcsv4

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

var postTime = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestPresignPostHMAC(t *testing.T) {
	s, err := NewSigner(Credentials{HMAC: &hmacKey, Location: "us-east1"})
	if err != nil {
		t.Fatal(err)
	}
	form, err := s.PresignPost(&PostRequest{
		Bucket: "bucket", Object: "users/u1/a b.jpg",
		Fields:     []Param{{"Content-Type", "image/jpeg"}, {"success_action_status", "201"}, {"x-goog-meta-owner", "u1"}},
		Conditions: []Condition{ContentLengthRange(1, 1024), StartsWith("x-goog-meta-tag", "")},
		Time:       postTime, Expires: 15*time.Minute + 500*time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	const credential = "GOOG1EXAMPLEACCESSID/20261206/us-east1/storage/goog4_request"
	wantPolicy := `{"conditions":[["content-length-range",1,1024],["starts-with","$x-goog-meta-tag",""],` +
		`{"Content-Type":"image/jpeg"},{"success_action_status":"201"},{"x-goog-meta-owner":"u1"},` +
		`{"bucket":"bucket"},{"key":"users/u1/a b.jpg"},{"x-goog-date":"20261206T120000Z"},` +
		`{"x-goog-credential":"` + credential + `"},{"x-goog-algorithm":"GOOG4-HMAC-SHA256"}],` +
		`"expiration":"2026-12-06T12:15:00Z"}`
	if diff := cmp.Diff(wantPolicy, string(form.Policy)); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(wantPolicy))
	var date [16]byte
	sigv4.FormatDate(&date, postTime)
	m := hmac.New(sha256.New, s.signingKey(&date).key[:])
	m.Write([]byte(b64))
	mac := m.Sum(nil)
	want := []Param{
		{"key", "users/u1/a b.jpg"},
		{"Content-Type", "image/jpeg"}, {"success_action_status", "201"}, {"x-goog-meta-owner", "u1"},
		{"x-goog-algorithm", "GOOG4-HMAC-SHA256"},
		{"x-goog-credential", credential},
		{"x-goog-date", "20261206T120000Z"},
		{"policy", b64},
		{"x-goog-signature", hex.EncodeToString(mac[:])},
	}
	if diff := cmp.Diff(want, form.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if form.URL != "https://storage.googleapis.com/bucket/" {
		t.Errorf("URL %s", form.URL)
	}
}

func TestPresignPostRSAVerifies(t *testing.T) {
	key := testRSAKey(t)
	s, _ := NewSigner(Credentials{ServiceAccount: &ServiceAccount{"a@b.iam", key}})
	form, err := s.PresignPost(&PostRequest{Scheme: "http", Host: "127.0.0.1:4443", Style: VirtualHostedStyle,
		Bucket: "b", Object: "k", Time: postTime, Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]string{}
	for _, p := range form.Fields {
		f[p.Name] = p.Value
	}
	sig, _ := hex.DecodeString(f["x-goog-signature"])
	sum := sha256.Sum256([]byte(f["policy"]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if form.URL != "http://b.127.0.0.1:4443/" {
		t.Errorf("URL %s", form.URL)
	}
}

func TestPresignPostRefusals(t *testing.T) {
	s, _ := NewSigner(Credentials{HMAC: &hmacKey})
	for _, r := range []PostRequest{
		{Bucket: "b", Object: "k", Conditions: []Condition{{}}},
		{Bucket: "b", Object: "k", Fields: []Param{{"Key", "other"}}},
		{Bucket: "b", Object: "k", Fields: []Param{{"X-Goog-Signature", "x"}}},
		{Bucket: "b", Object: "k", Fields: []Param{{"policy", "x"}}},
		{Bucket: "b", Object: "k", Fields: []Param{{"file", "x"}}},
	} {
		if _, err := s.PresignPost(&r); err == nil {
			t.Errorf("PresignPost(%+v) succeeded", r)
		}
	}
}

// FuzzPostPolicyNoInjection: whatever the key, content type and metadata
// values, the decoded policy holds exactly the conditions asked for, with the
// values given, and nothing else.
func FuzzPostPolicyNoInjection(f *testing.F) {
	f.Add(`uploads/u1/x"],["starts-with","$key","`, "image/png", `v"},{"acl":"public-read`)
	f.Add("a\\b\u2028c\x00", `"]`, "${filename}")
	f.Add("é😀\xff<&>", "\t\n", "")
	s, _ := NewSigner(Credentials{HMAC: &hmacKey})
	f.Fuzz(func(t *testing.T, key, ctype, meta string) {
		form, err := s.PresignPost(&PostRequest{
			Bucket: "b", Object: key,
			Fields:     []Param{{"content-type", ctype}, {"x-goog-meta-m", meta}},
			Conditions: []Condition{ContentLengthRange(1, 10), StartsWith("x-goog-meta-tag", meta)},
			Time:       postTime, Expires: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Conditions []json.RawMessage `json:"conditions"`
			Expiration string            `json:"expiration"`
		}
		if err := json.Unmarshal(form.Policy, &doc); err != nil {
			t.Fatalf("policy is not JSON: %v\n%s", err, form.Policy)
		}
		if len(doc.Conditions) != 9 || doc.Expiration != "2026-12-06T12:01:00Z" {
			t.Fatalf("%d conditions, expiration %s: %s", len(doc.Conditions), doc.Expiration, form.Policy)
		}
		for i, want := range []struct{ field, value string }{{"content-type", ctype}, {"x-goog-meta-m", meta}, {"bucket", "b"}, {"key", key}} {
			var eq map[string]string
			if err := json.Unmarshal(doc.Conditions[2+i], &eq); err != nil || len(eq) != 1 || eq[want.field] != jsonNormalized(want.value) {
				t.Fatalf("condition %d = %s, want %s=%q", 2+i, doc.Conditions[2+i], want.field, want.value)
			}
		}
		var sw []any
		if err := json.Unmarshal(doc.Conditions[1], &sw); err != nil || len(sw) != 3 || sw[0] != "starts-with" || sw[1] != "$x-goog-meta-tag" || sw[2] != jsonNormalized(meta) {
			t.Fatalf("starts-with condition altered: %s", doc.Conditions[1])
		}
	})
}

// FuzzJSONString: the policy's string encoder writes ASCII only, decodes to
// the input (invalid UTF-8 as U+FFFD, as encoding/json decodes it), and for
// ASCII input writes exactly what encoding/json writes.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x1f\x7f\b\f\n\r\t", "<a&b>", "é", "😀", "\u2028\u2029", "\xff\xfe", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		for _, c := range got {
			if c >= utf8.RuneSelf {
				t.Fatalf("non-ASCII byte in %q", got)
			}
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q is not a JSON string: %v", got, err)
		}
		if back != jsonNormalized(s) {
			t.Fatalf("%q decodes to %q, want %q", got, back, jsonNormalized(s))
		}
		if isASCII(s) {
			want, _ := json.Marshal(s)
			if string(got) != string(want) {
				t.Fatalf("ASCII %q: %s, encoding/json %s", s, got, want)
			}
		}
	})
}

func isASCII(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0
}

// jsonNormalized is s after a JSON round trip: encoding/json replaces each
// invalid UTF-8 byte with U+FFFD.
func jsonNormalized(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
