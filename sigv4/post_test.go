package sigv4

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPresignPostPolicy(t *testing.T) {
	s := NewSigner(Credentials{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "TOK"}, "us-east-1", "s3")
	at := time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)
	form, err := s.PresignPost(&PostRequest{
		Bucket:     "bucket",
		Fields:     []Param{{"key", "users/u1/a.jpg"}, {"Content-Type", "image/jpeg"}},
		Conditions: []Condition{ContentLengthRange(0, 1024)},
		Time:       at, Expires: 15 * time.Minute, LowerCaseFields: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}
	if err := json.Unmarshal(form.Policy, &doc); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, form.Policy)
	}
	if doc.Expiration != "2026-05-24T12:15:00.000Z" {
		t.Errorf("expiration %q", doc.Expiration)
	}
	want := []any{
		map[string]any{"bucket": "bucket"},
		map[string]any{"key": "users/u1/a.jpg"},
		map[string]any{"Content-Type": "image/jpeg"},
		[]any{"content-length-range", 0.0, 1024.0},
		map[string]any{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]any{"x-amz-credential": "AK/20260524/us-east-1/s3/aws4_request"},
		map[string]any{"x-amz-date": "20260524T120000Z"},
		map[string]any{"x-amz-security-token": "TOK"},
	}
	if diff := cmp.Diff(want, doc.Conditions); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	fields := map[string]string{}
	for _, f := range form.Fields {
		fields[f.Name] = f.Value
	}
	if got, _ := base64.StdEncoding.DecodeString(fields["policy"]); string(got) != string(form.Policy) {
		t.Errorf("policy field does not decode to the policy")
	}
	if fields["x-amz-signature"] != s.SignPolicy(fields["policy"], at) {
		t.Errorf("signature does not sign the policy field")
	}
	for _, name := range []string{"key", "Content-Type", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"} {
		if fields[name] == "" {
			t.Errorf("form field %s missing", name)
		}
	}
}

// FuzzPostPolicyNoInjection: whatever the key, content type and metadata
// values, the decoded policy holds exactly the conditions asked for, with the
// values given, and nothing else.
func FuzzPostPolicyNoInjection(f *testing.F) {
	f.Add(`uploads/u1/x"],["starts-with","$key","`, "image/png", `v"},{"acl":"public-read`)
	f.Add("a\\b\u2028c\x00", `"]`, "${filename}")
	f.Add("", "", "")
	s := NewSigner(Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, "us-east-1", "s3")
	f.Fuzz(func(t *testing.T, key, ctype, meta string) {
		form, err := s.PresignPost(&PostRequest{
			Bucket:     "b",
			Fields:     []Param{{"key", key}, {"Content-Type", ctype}, {"x-amz-meta-m", meta}},
			Conditions: []Condition{ContentLengthRange(1, 10), StartsWith("x-amz-meta-tag", meta)},
			Time:       time.Unix(0, 0), Expires: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Conditions []json.RawMessage `json:"conditions"`
		}
		if err := json.Unmarshal(form.Policy, &doc); err != nil {
			t.Fatalf("policy is not JSON: %v", err)
		}
		if len(doc.Conditions) != 9 {
			t.Fatalf("%d conditions, want 9: %s", len(doc.Conditions), form.Policy)
		}
		// Each input value must come back exactly, in its own condition.
		var eq map[string]string
		for i, want := range []struct{ field, value string }{{"bucket", "b"}, {"key", key}, {"Content-Type", ctype}, {"x-amz-meta-m", meta}} {
			eq = nil
			if err := json.Unmarshal(doc.Conditions[i], &eq); err != nil || len(eq) != 1 {
				t.Fatalf("condition %d is not a one-field object: %s", i, doc.Conditions[i])
			}
			if got, ok := eq[want.field]; !ok || got != jsonNormalized(want.value) {
				t.Fatalf("condition %d = %v, want %s=%q", i, eq, want.field, want.value)
			}
		}
		var sw []any
		if err := json.Unmarshal(doc.Conditions[5], &sw); err != nil || len(sw) != 3 || sw[0] != "starts-with" || sw[1] != "$x-amz-meta-tag" || sw[2] != jsonNormalized(meta) {
			t.Fatalf("starts-with condition altered: %s", doc.Conditions[5])
		}
	})
}

// jsonNormalized is s after a JSON round trip: encoding/json replaces each
// invalid UTF-8 byte with U+FFFD.
func jsonNormalized(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
