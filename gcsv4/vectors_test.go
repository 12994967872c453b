package gcsv4

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/testdep"
)

// Google's conformance vectors for V4 signing: testdata/conformance holds
// v4_signatures.json and the dummy service account key "service-account",
// byte for byte as cloud.google.com/go/storage v1.71.0 ships them
// (internal/test/conformance; upstream googleapis/conformance-tests,
// storage/v1). testdata/conformance/README.md says where they come from and
// under which license; TestVectorsAreGoogles checks the copy against the
// module. Every case runs. All of them are GOOG4-RSA-SHA256; there are no
// HMAC vectors (see TestHMACKnownAnswer).

type vectorFile struct {
	SigningV4Tests    []signingVector `json:"signingV4Tests"`
	PostPolicyV4Tests []postVector    `json:"postPolicyV4Tests"`
}

type signingVector struct {
	Description              string            `json:"description"`
	Bucket                   string            `json:"bucket"`
	Object                   string            `json:"object"`
	Method                   string            `json:"method"`
	Expiration               int64             `json:"expiration"`
	Timestamp                time.Time         `json:"timestamp"`
	Headers                  map[string]string `json:"headers"`
	QueryParameters          map[string]string `json:"queryParameters"`
	Scheme                   string            `json:"scheme"`
	URLStyle                 string            `json:"urlStyle"`
	BucketBoundHostname      string            `json:"bucketBoundHostname"`
	Hostname                 string            `json:"hostname"`
	ClientEndpoint           string            `json:"clientEndpoint"`
	EmulatorHostname         string            `json:"emulatorHostname"`
	UniverseDomain           string            `json:"universeDomain"`
	ExpectedURL              string            `json:"expectedUrl"`
	ExpectedCanonicalRequest string            `json:"expectedCanonicalRequest"`
	ExpectedStringToSign     string            `json:"expectedStringToSign"`
}

type postVector struct {
	Description string `json:"description"`
	PolicyInput struct {
		Scheme              string            `json:"scheme"`
		URLStyle            string            `json:"urlStyle"`
		BucketBoundHostname string            `json:"bucketBoundHostname"`
		Bucket              string            `json:"bucket"`
		Object              string            `json:"object"`
		Expiration          int64             `json:"expiration"`
		Timestamp           time.Time         `json:"timestamp"`
		Fields              map[string]string `json:"fields"`
		Conditions          struct {
			StartsWith         []string `json:"startsWith"`
			ContentLengthRange []int64  `json:"contentLengthRange"`
		} `json:"conditions"`
	} `json:"policyInput"`
	PolicyOutput struct {
		URL                   string            `json:"url"`
		Fields                map[string]string `json:"fields"`
		ExpectedDecodedPolicy string            `json:"expectedDecodedPolicy"`
	} `json:"policyOutput"`
}

func readVectors(t testing.TB) vectorFile {
	t.Helper()
	data, err := os.ReadFile("testdata/conformance/v4_signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("v4_signatures.json: %v", err)
	}
	return v
}

// vectorSigner is the signer of the vectors: the dummy service account key.
func vectorSigner(t testing.TB) *Signer {
	t.Helper()
	data, err := os.ReadFile("testdata/conformance/service-account")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := ParseServiceAccountKey(data)
	if err != nil {
		t.Fatalf("the vectors' service account key: %v", err)
	}
	s, err := NewSigner(Credentials{ServiceAccount: &sa})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func vectorStyle(t *testing.T, s string) Style {
	switch s {
	case "", "PATH_STYLE":
		return PathStyle
	case "VIRTUAL_HOSTED_STYLE":
		return VirtualHostedStyle
	case "BUCKET_BOUND_HOSTNAME":
		return BucketBoundHostname
	}
	t.Fatalf("unknown urlStyle %q", s)
	return 0
}

// vectorHost is the endpoint of a case. The vectors name it through
// features of the client libraries, not of the wire format: a hostname
// option, the client's endpoint, the STORAGE_EMULATOR_HOST variable and the
// universe domain, in that precedence (the cases "... takes precedence ..."
// test it). Each is mapped to the one Request.Host they mean: the host of the
// URL, without a scheme; the universe domain D is the endpoint storage.D.
func vectorHost(tc signingVector) string {
	for _, h := range []string{tc.Hostname, tc.ClientEndpoint, tc.EmulatorHostname} {
		if h != "" {
			if _, rest, ok := strings.Cut(h, "://"); ok {
				return rest
			}
			return h
		}
	}
	if tc.UniverseDomain != "" {
		return "storage." + tc.UniverseDomain
	}
	return ""
}

// wrongCanonicalRequest names the vectors whose expectedCanonicalRequest is
// wrong: its SHA-256 is not the one in the vector's own expectedStringToSign,
// and the expected URL's signature signs that string to sign. For
// "Universe domain with virtual hosted style" the vector's canonical
// request has the path /test-bucket/test-object, but the string to sign (and
// the signature in the URL) are of /test-object, the path a virtual-hosted
// URL has. Such a case checks that the vector is still inconsistent (a fixed
// vector must then be compared like the others) and compares the string to
// sign and the URL.
var wrongCanonicalRequest = map[string]bool{
	"Universe domain with virtual hosted style": true,
}

func TestSigningVectors(t *testing.T) {
	v := readVectors(t)
	if len(v.SigningV4Tests) != 29 {
		t.Errorf("%d signing vectors, want the 29 of v1.71.0", len(v.SigningV4Tests))
	}
	s := vectorSigner(t)
	for _, tc := range v.SigningV4Tests {
		t.Run(tc.Description, func(t *testing.T) {
			r := &Request{
				Method:  tc.Method,
				Scheme:  tc.Scheme,
				Host:    vectorHost(tc),
				Style:   vectorStyle(t, tc.URLStyle),
				Bucket:  tc.Bucket,
				Object:  tc.Object,
				Time:    tc.Timestamp,
				Expires: time.Duration(tc.Expiration) * time.Second,
			}
			if r.Style == BucketBoundHostname {
				r.Host = tc.BucketBoundHostname
			}
			for _, name := range sortedKeys(tc.Headers) {
				r.Headers = append(r.Headers, Header{name, tc.Headers[name]})
			}
			for _, name := range sortedKeys(tc.QueryParameters) {
				r.Query = append(r.Query, Param{name, tc.QueryParameters[name]})
			}

			creq := s.CanonicalRequest(r)
			if wrongCanonicalRequest[tc.Description] {
				if vectorHash(tc.ExpectedCanonicalRequest) == stsHash(tc.ExpectedStringToSign) {
					t.Errorf("the vector's canonical request now matches its string to sign: compare it like the others")
				}
				if got, want := vectorHash(creq), stsHash(tc.ExpectedStringToSign); got != want {
					t.Errorf("SHA-256 of the canonical request = %s, want the string to sign's %s\ncanonical request:\n%s", got, want, creq)
				}
			} else if diff := cmp.Diff(tc.ExpectedCanonicalRequest, creq); diff != "" {
				t.Errorf("canonical request (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ExpectedStringToSign, s.StringToSign(r)); diff != "" {
				t.Errorf("string to sign (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ExpectedURL, s.Presign(r)); diff != "" {
				t.Errorf("URL (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostPolicyVectors(t *testing.T) {
	v := readVectors(t)
	if len(v.PostPolicyV4Tests) != 11 {
		t.Errorf("%d POST policy vectors, want the 11 of v1.71.0", len(v.PostPolicyV4Tests))
	}
	s := vectorSigner(t)
	for _, tc := range v.PostPolicyV4Tests {
		t.Run(tc.Description, func(t *testing.T) {
			in := tc.PolicyInput
			r := &PostRequest{
				Scheme:  in.Scheme,
				Style:   vectorStyle(t, in.URLStyle),
				Host:    in.BucketBoundHostname,
				Bucket:  in.Bucket,
				Object:  in.Object,
				Time:    in.Timestamp,
				Expires: time.Duration(in.Expiration) * time.Second,
			}
			// The vectors give the fields as a map; the policies list them
			// sorted by name (which is also the fixed order of Google's
			// libraries for these names).
			for _, name := range sortedKeys(in.Fields) {
				r.Fields = append(r.Fields, Param{name, in.Fields[name]})
			}
			if sw := in.Conditions.StartsWith; sw != nil {
				if len(sw) != 2 || !strings.HasPrefix(sw[0], "$") {
					t.Fatalf("startsWith %q", sw)
				}
				r.Conditions = append(r.Conditions, StartsWith(strings.TrimPrefix(sw[0], "$"), sw[1]))
			}
			if cl := in.Conditions.ContentLengthRange; cl != nil {
				if len(cl) != 2 {
					t.Fatalf("contentLengthRange %v", cl)
				}
				r.Conditions = append(r.Conditions, ContentLengthRange(cl[0], cl[1]))
			}
			form, err := s.PresignPost(r)
			if err != nil {
				t.Fatal(err)
			}
			if form.URL != tc.PolicyOutput.URL {
				t.Errorf("URL %q, want %q", form.URL, tc.PolicyOutput.URL)
			}
			// Byte for byte: the fields hold the base64 policy and its
			// signature. ("POST Policy Character Escaping" needs é written
			// as \u00e9 for that, as the vector's policy field has it.)
			got := map[string]string{}
			for _, f := range form.Fields {
				if _, dup := got[f.Name]; dup {
					t.Errorf("field %s twice", f.Name)
				}
				got[f.Name] = f.Value
			}
			if diff := cmp.Diff(tc.PolicyOutput.Fields, got); diff != "" {
				t.Errorf("form fields (-want +got):\n%s", diff)
			}
			if dec, _ := base64.StdEncoding.DecodeString(got["policy"]); string(dec) != string(form.Policy) {
				t.Errorf("the policy field is not Form.Policy")
			}
			// expectedDecodedPolicy is the same document with non-ASCII
			// characters unescaped, so it is compared as JSON.
			var want, have any
			if err := json.Unmarshal([]byte(tc.PolicyOutput.ExpectedDecodedPolicy), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(form.Policy, &have); err != nil {
				t.Fatalf("policy is not JSON: %v\n%s", err, form.Policy)
			}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("decoded policy (-want +got):\n%s", diff)
			}
		})
	}
}

func vectorHash(creq string) string {
	sum := sha256.Sum256([]byte(creq))
	return hex.EncodeToString(sum[:])
}

// stsHash is the last line of a string to sign: the canonical request's hash.
func stsHash(sts string) string { return sts[strings.LastIndexByte(sts, '\n')+1:] }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestVectorsAreGoogles: the copies in testdata/conformance are byte for
// byte those of cloud.google.com/go/storage at the version
// internal/gcsref requires (found with the go command, which downloads the
// module when the cache lacks it; without either the test is skipped, and
// fails under CI=true).
func TestVectorsAreGoogles(t *testing.T) {
	cmd := exec.Command("go", "mod", "download", "-json", "cloud.google.com/go/storage")
	cmd.Dir = filepath.Join("internal", "gcsref")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		testdep.Missing(t, fmt.Sprintf("go mod download cloud.google.com/go/storage: %v", err))
	}
	var mod struct{ Version, Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download said %s (%v)", out, err)
	}
	if mod.Version != "v1.71.0" {
		t.Errorf("internal/gcsref requires %s; testdata/conformance/README.md names v1.71.0", mod.Version)
	}
	for _, name := range []string{"v4_signatures.json", "service-account"} {
		ours, err := os.ReadFile(filepath.Join("testdata", "conformance", name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(mod.Dir, "internal", "test", "conformance", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(ours) != string(theirs) {
			t.Errorf("testdata/conformance/%s differs from the module's copy", name)
		}
	}
}
