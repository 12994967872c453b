package gcsv4

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

// There are no official GOOG4-HMAC-SHA256 vectors, and Google's Go library
// signs only with RSA. These answers were computed outside Go, with
// openssl 3 (`openssl dgst -sha256 -mac HMAC -macopt key:GOOG4<secret>`,
// then `-macopt hexkey:<previous>` for the location, "storage" and
// "goog4_request", then over the string to sign), from the canonical
// request of the "Simple GET" vector with the HMAC algorithm and access ID:
// the signing key chain as Google documents it for HMAC keys, with the
// secret used as text.
var hmacKey = HMACKey{AccessID: "GOOG1EXAMPLEACCESSID", Secret: "Gh0st/+secret=EXAMPLE"}

func TestHMACKnownAnswer(t *testing.T) {
	r := &Request{Method: "GET", Bucket: "test-bucket", Object: "test-object",
		Time: time.Date(2019, 2, 1, 9, 0, 0, 0, time.UTC), Expires: 10 * time.Second}
	tests := []struct {
		location, wantKey, wantSig string
	}{
		{"", "a11a3703659bb496a79887b99c73176905b4a0325e36b6cb41d643484af0dde9",
			"33f32305cc58ed756b0017bb5408be0879712123c03b2158c537fc58da002296"},
		{"us-east1", "3d405d636ea1ab462ef0df945c1b8d1192fc4567053d022106c0603ecab39d06",
			"3939b7779abbb6de9103e878706b0faa765a4351d6d6f844d8fc1867f39d08ac"},
	}
	for _, tt := range tests {
		t.Run("location "+tt.location, func(t *testing.T) {
			s, err := NewSigner(Credentials{HMAC: &hmacKey, Location: tt.location})
			if err != nil {
				t.Fatal(err)
			}
			loc := tt.location
			if loc == "" {
				loc = "auto"
			}
			wantCreq := "GET\n/test-bucket/test-object\n" +
				"X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=GOOG1EXAMPLEACCESSID%2F20190201%2F" + loc + "%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host\n" +
				"host:storage.googleapis.com\n\nhost\nUNSIGNED-PAYLOAD"
			if diff := cmp.Diff(wantCreq, s.CanonicalRequest(r)); diff != "" {
				t.Errorf("canonical request (-want +got):\n%s", diff)
			}
			var date [16]byte
			sigv4.FormatDate(&date, r.Time)
			if got := hexString(s.signingKey(&date).key[:]); got != tt.wantKey {
				t.Errorf("signing key %s, want %s", got, tt.wantKey)
			}
			want := "https://storage.googleapis.com/test-bucket/test-object?" + strings.SplitN(wantCreq, "\n", 4)[2] + "&X-Goog-Signature=" + tt.wantSig
			if diff := cmp.Diff(want, s.Presign(r)); diff != "" {
				t.Errorf("URL (-want +got):\n%s", diff)
			}
		})
	}
}

// The derived key is cached per date: a signer used across midnight must
// derive the next day's key, not reuse the last one.
func TestHMACKeyPerDate(t *testing.T) {
	s, err := NewSigner(Credentials{HMAC: &hmacKey})
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC)
	r := &Request{Method: "GET", Bucket: "b", Object: "o", Time: day1, Expires: time.Minute}
	u1 := s.Presign(r)
	r.Time = day1.Add(time.Second)
	u2 := s.Presign(r)
	fresh, _ := NewSigner(Credentials{HMAC: &hmacKey})
	if want := fresh.Presign(r); u2 != want {
		t.Errorf("after midnight the cached signer gives\n%s\nwant (a fresh signer)\n%s", u2, want)
	}
	r.Time = day1
	if got := s.Presign(r); got != u1 {
		t.Errorf("back on the first day: %s, want %s", got, u1)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestNewSignerRefusals(t *testing.T) {
	key := testRSAKey(t)
	tests := []struct {
		name string
		c    Credentials
		want error
	}{
		{"nothing", Credentials{}, errNoCredentials},
		{"both", Credentials{ServiceAccount: &ServiceAccount{"a@b", key}, HMAC: &hmacKey}, errTwoCredentials},
		{"no email", Credentials{ServiceAccount: &ServiceAccount{"", key}}, errNoEmail},
		{"no key", Credentials{ServiceAccount: &ServiceAccount{"a@b", nil}}, errNoPrivateKey},
		{"no access id", Credentials{HMAC: &HMACKey{Secret: "s"}}, errNoAccessID},
		{"no secret", Credentials{HMAC: &HMACKey{AccessID: "GOOG1"}}, errNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSigner(tt.c); err != tt.want {
				t.Errorf("NewSigner: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCredentialsRedacted(t *testing.T) {
	key := testRSAKey(t)
	for _, s := range []string{
		HMACKey{AccessID: "GOOG1ID", Secret: "topsecret"}.String(),
		HMACKey{AccessID: "GOOG1ID", Secret: "topsecret"}.GoString(),
		ServiceAccount{ClientEmail: "a@b.iam", PrivateKey: key}.String(),
		ServiceAccount{ClientEmail: "a@b.iam", PrivateKey: key}.GoString(),
	} {
		if strings.Contains(s, "topsecret") || strings.Contains(s, key.D.String()[:20]) || !strings.Contains(s, "<redacted>") {
			t.Errorf("not redacted: %s", s)
		}
	}
}
