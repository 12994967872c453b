package presign

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/azuresas"
	"presign.dev/internal/azuritetest"
	"presign.dev/internal/oracle/azref"
	"presign.dev/sigv4"
)

// Kind azure is tested against Azurite (internal/azuritetest), which checks
// every SAS the way Azure does, and each grant's SAS query is compared with
// the one the Azure SDK for Go's builder signs for the same values
// (azuresas/internal/azref, a module of its own).

// azureKey is a test account key (base64 of 64 bytes).
var azureKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("azure-test-key!!"), 4))

func azureBackend() Backend {
	return Backend{Name: "default", Kind: KindAzure, Bucket: "photos",
		Credentials: sigv4.Credentials{AccessKeyID: "presigntest", SecretAccessKey: azureKey}}
}

func TestAzureBackendValidation(t *testing.T) {
	good := azureBackend()
	tests := []struct {
		name string
		mod  func(*Backend)
		want Problems
	}{
		{"valid", func(*Backend) {}, nil},
		{"Azurite's endpoint", func(b *Backend) { b.Endpoint = "http://127.0.0.1:10000/presigntest" }, nil},
		{"no account", func(b *Backend) { b.Credentials = sigv4.Credentials{} }, Problems{
			{"account_name", "required: the storage account whose key signs"},
			{"account_key", "required: one of the storage account's access keys (base64)"},
		}},
		{"bad account name", func(b *Backend) { b.Credentials.AccessKeyID = "Presign-Test" }, Problems{
			{"account_name", `"Presign-Test" is not a storage account name: 3 to 24 lower-case letters and digits`},
		}},
		{"key not base64", func(b *Backend) { b.Credentials.SecretAccessKey = "not*base64!secret" }, Problems{
			{"account_key", "account key is not standard base64 (A-Z a-z 0-9 + /, with = padding)"},
		}},
		{"bad container", func(b *Backend) { b.Bucket = "Photos_1" }, Problems{
			{"bucket", `"Photos_1" is not a container name: 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit`},
		}},
		{"no container", func(b *Backend) { b.Bucket = "" }, Problems{{"bucket", "required: the container to presign for"}}},
		{"bad endpoint", func(b *Backend) { b.Endpoint = "ftp://x" }, Problems{
			{"endpoint", `"ftp://x" is not the Blob service's URL, like https://ACCOUNT.blob.core.windows.net or http://127.0.0.1:10000/ACCOUNT (no query, fragment or user info)`},
		}},
		{"endpoint with a token", func(b *Backend) { b.Endpoint = "https://a.blob.core.windows.net/?sig=secret" }, Problems{
			{"endpoint", "the URL (with user info, a query or a fragment, not shown) is not the Blob service's URL, like https://ACCOUNT.blob.core.windows.net or http://127.0.0.1:10000/ACCOUNT (no query, fragment or user info)"},
		}},
		{"a credential source", func(b *Backend) { b.Credentials = sigv4.Credentials{}; b.CredentialSource = staticSource{} }, Problems{
			{"credentials.source", "kind azure signs with the storage account's key (account_name, account_key); credential sources are AWS's"},
		}},
		{"other kinds' fields", func(b *Backend) {
			b.Provider, b.Region, b.PathStyle, b.ServiceAccountKey, b.Credentials.SessionToken = ProviderAWS, "us-east-1", PathStyleAlways, "{}", "tok"
		}, Problems{
			{"provider", "does not apply to kind azure (a storage account signs with its name and key); remove it"},
			{"region", "does not apply to kind azure (a storage account signs with its name and key); remove it"},
			{"path_style", "does not apply to kind azure (a storage account signs with its name and key); remove it"},
			{"service_account_key", "does not apply to kind azure (a storage account signs with its name and key); remove it"},
			{"session_token", "does not apply to kind azure (a storage account signs with its name and key); remove it"},
		}},
		{"expiry above 7 days", func(b *Backend) { b.MaxExpires = 8 * 24 * time.Hour }, Problems{
			{"max_expires", "192h must be between 1s and 168h"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			tt.mod(&b)
			got := b.Validate()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if strings.Contains(fmt.Sprint(got), b.Credentials.SecretAccessKey) && b.Credentials.SecretAccessKey != "" {
				t.Errorf("a problem quotes the key: %v", got)
			}
		})
	}
}

// staticSource is a CredentialSource for the validation test.
type staticSource struct{}

func (staticSource) Credentials(context.Context) (sigv4.Credentials, time.Time, error) {
	return sigv4.Credentials{}, time.Time{}, nil
}

func TestAzureDefaults(t *testing.T) {
	b := azureBackend().WithDefaults()
	want := Backend{Name: "default", Kind: KindAzure, Bucket: "photos", Endpoint: "https://presigntest.blob.core.windows.net",
		Credentials: b.Credentials, MaxExpires: 7 * 24 * time.Hour}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
	if got := b.capabilities(); got != azureCapabilities || got.Post || got.List || got.SignedSize || got.SignedType {
		t.Errorf("capabilities %+v", got)
	}
}

// sasOf returns the query of u after its path, and its path.
func sasOf(t *testing.T, u string) (string, url.Values) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(pu.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return pu.EscapedPath(), q
}

func TestAzureGrants(t *testing.T) {
	ref := azref.Start(t)
	dec := &Decision{Rule: "r"}
	b := azureBackend()
	iss := kindIssuer(t, b, dec, nil)
	exp := testTime.Add(15 * time.Minute)
	tests := []struct {
		name        string
		r           Request
		noOverwrite bool
		method      string
		path        string
		headers     map[string]string
		values      azuresas.Values // the SAS the grant must carry
	}{
		{name: "get with a download name", r: Request{Op: OpGet, Key: "dir/a b.jpg", Filename: "Ünïcode \"report\".pdf"},
			method: "GET", path: "/photos/dir/a%20b.jpg",
			values: azuresas.Values{Permissions: azuresas.Read, ContentDisposition: ContentDisposition("Ünïcode \"report\".pdf")}},
		{name: "delete", r: Request{Op: OpDelete, Key: "tmp/x"}, method: "DELETE", path: "/photos/tmp/x",
			values: azuresas.Values{Permissions: azuresas.Delete}},
		{name: "put", r: Request{Op: OpPut, Key: "u/ü+1.png", ContentType: "image/png", ContentLength: ptr(int64(10)), Metadata: map[string]string{"owner": "u1", "b_2": "x y"}},
			method: "PUT", path: "/photos/u/%C3%BC%2B1.png",
			headers: map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "image/png", "x-ms-meta-owner": "u1", "x-ms-meta-b_2": "x y"},
			values:  azuresas.Values{Permissions: azuresas.Write}},
		{name: "put that must not overwrite", r: Request{Op: OpPut, Key: "k"}, noOverwrite: true, method: "PUT", path: "/photos/k",
			headers: map[string]string{"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"},
			values:  azuresas.Values{Permissions: azuresas.Create}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*dec = Decision{Rule: "r", NoOverwrite: tt.noOverwrite}
			g, err := iss.Issue(context.Background(), alice, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			path, q := sasOf(t, g.URL)
			if g.Method != tt.method || path != tt.path || !g.ExpiresAt.Equal(exp) || !strings.HasPrefix(g.URL, "https://presigntest.blob.core.windows.net/") {
				t.Errorf("grant %s %s until %v", g.Method, g.URL, g.ExpiresAt)
			}
			if diff := cmp.Diff(tt.headers, g.Headers); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if q.Get("spr") != "https" || q.Get("se") != exp.Format(azuresas.TimeFormat) || q.Get("sr") != "b" {
				t.Errorf("query %v", q)
			}
			v := tt.values
			v.Container, v.Blob, v.Expiry, v.Protocol = "photos", tt.r.Key, exp, azuresas.ProtocolHTTPS
			want := ref.SharedKey(t, "presigntest", azureKey, v)
			if got := g.URL[strings.IndexByte(g.URL, '?')+1:]; got != want {
				t.Errorf("the grant's SAS is not the SDK's for %+v:\n ours %s\n  SDK %s", v, got, want)
			}
		})
	}
}

func TestAzurePartURLs(t *testing.T) {
	ref := azref.Start(t)
	b := azureBackend()
	b.Endpoint = "http://127.0.0.1:10000/presigntest"
	iss := kindIssuer(t, b, &Decision{Rule: "r"}, nil)
	ctx := context.Background()
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "big.bin", Size: 12 << 20, ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if up.PartCount != 3 || up.PartSize != 5<<20 {
		t.Fatalf("upload %+v", up)
	}
	grants, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}, {Number: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		path, q := sasOf(t, g.URL)
		n, ok := parseAzureBlockID("0000000000000000", q.Get("blockid"))
		if g.Headers == nil || len(g.Headers) != 0 || path != "/presigntest/photos/big.bin" || !ok || n != g.Number || q.Get("comp") != "block" || q.Get("sp") != "w" || q.Has("spr") {
			t.Errorf("part %d: %s %v", g.Number, g.URL, g.Headers)
		}
		prefix := "blockid=" + q.Get("blockid") + "&comp=block&"
		query := g.URL[strings.IndexByte(g.URL, '?')+1:]
		if !strings.HasPrefix(query, prefix) {
			t.Errorf("part %d: the query is not blockid, comp, then the SAS: %s", g.Number, g.URL)
		}
		sas := strings.TrimPrefix(query, prefix)
		want := ref.SharedKey(t, "presigntest", azureKey, azuresas.Values{Container: "photos", Blob: "big.bin", Permissions: azuresas.Write, Expiry: testTime.Add(15 * time.Minute)})
		if sas != want {
			t.Errorf("part %d: the SAS is not the SDK's:\n ours %s\n  SDK %s", g.Number, sas, want)
		}
	}
	// Another upload of the same blob names its blocks otherwise.
	other := azureBlockID("0123456789abcdef", 1)
	if _, ok := parseAzureBlockID("0000000000000000", other); ok {
		t.Errorf("a block of another upload is taken for this one's")
	}
}

// multipartUnderLimits is the refusal of a multipart upload whose part
// URLs (write SASs on the blob) could write past the rule's limits.
const multipartUnderLimits = `backend "default" cannot sign a multipart upload under a limit of size, type or overwriting, or a quota (a part URL could write the object whole): its store (azure) does not enforce it; allow multipart only in a rule without those limits`

// TestAzureRefusals: what a SAS cannot enforce is refused, with the reason.
func TestAzureRefusals(t *testing.T) {
	dec := &Decision{Rule: "r"}
	iss := kindIssuer(t, azureBackend(), dec, nil)
	quota := kindIssuer(t, azureBackend(), dec, func(c *Config) {
		c.Quota = QuotaConfig{Bytes: 1 << 30, Period: 24 * time.Hour, Store: &mapQuota{counts: map[string]int64{}, seen: map[string]bool{}}}
	})
	longMeta := map[string]string{"a": strings.Repeat("%", 400)}
	tests := []struct {
		name string
		iss  *Issuer
		dec  Decision
		r    Request
		up   *UploadRequest
		code Code
		msg  string
	}{
		{name: "post", r: Request{Op: OpPost, Key: "k"}, code: CodeUnsupported,
			msg: `backend "default" cannot sign browser POST uploads: its store (azure) does not enforce it; use put, or a multipart upload (POST /v1/uploads)`},
		{name: "list", r: Request{Op: OpList, Prefix: "a/"}, code: CodeUnsupported,
			msg: `backend "default" cannot sign listings: its store (azure) does not enforce it; keep a list of the keys in the application`},
		{name: "put under a size limit", dec: Decision{MaxSize: 1 << 20}, r: Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(10))}, code: CodeUnsupported,
			msg: `backend "default" cannot sign a single upload of a limited size: its store (azure) does not enforce it; allow uploads to it only in a rule without that limit`},
		{name: "put of a limited type", dec: Decision{TypeLimited: true}, r: Request{Op: OpPut, Key: "k", ContentType: "image/png"}, code: CodeUnsupported,
			msg: `backend "default" cannot sign a single upload of a limited content type: its store (azure) does not enforce it; allow uploads to it only in a rule without that limit`},
		{name: "put under a quota", iss: quota, r: Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(10)), Verify: true}, code: CodeUnsupported,
			msg: `backend "default" cannot sign a single upload of a limited size: its store (azure) does not enforce it; allow uploads to it only in a rule without that limit`},
		{name: "head (a read SAS downloads)", r: Request{Op: OpHead, Key: "k"}, code: CodeUnsupported,
			msg: `backend "default" cannot sign a head URL that only reads headers (its URL would download the object): its store (azure) does not enforce it; ask for get`},
		{name: "multipart under a size limit", dec: Decision{MaxSize: 1 << 20}, up: &UploadRequest{Key: "k", Size: 10}, code: CodeUnsupported, msg: multipartUnderLimits},
		{name: "multipart of a limited type", dec: Decision{TypeLimited: true}, up: &UploadRequest{Key: "k", Size: 10, ContentType: "image/png"}, code: CodeUnsupported, msg: multipartUnderLimits},
		{name: "multipart without overwrite", dec: Decision{NoOverwrite: true}, up: &UploadRequest{Key: "k", Size: 10}, code: CodeUnsupported, msg: multipartUnderLimits},
		{name: "multipart under a quota", iss: quota, up: &UploadRequest{Key: "k", Size: 10}, code: CodeUnsupported, msg: multipartUnderLimits},
		{name: "content_md5", r: Request{Op: OpPut, Key: "k", ContentMD5: "1B2M2Y8AsgTpgAmY7PhCfg=="}, code: CodeUnsupported,
			msg: `backend "default" cannot sign content_md5: its store (azure) does not enforce it; a SAS cannot require Content-MD5: send none (a client may send its own Content-MD5 header, which Azure then checks)`},
		{name: "checksum_sha256", r: Request{Op: OpPut, Key: "k", ChecksumSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, code: CodeUnsupported,
			msg: `backend "default" cannot sign x-amz-checksum-sha256: its store (azure) does not enforce it; send content_md5 instead`},
		{name: "a metadata name with a hyphen", r: Request{Op: OpPut, Key: "k", Metadata: map[string]string{"my-tag": "1"}}, code: CodeInvalidArgument,
			msg: `metadata name "my-tag" is not an Azure metadata name: letters, digits and '_', not starting with a digit`},
		{name: "a metadata name starting with a digit", r: Request{Op: OpMultipart, Key: "k"}, up: &UploadRequest{Key: "k", Size: 1, Metadata: map[string]string{"1a": "1"}}, code: CodeInvalidArgument,
			msg: `metadata name "1a" is not an Azure metadata name: letters, digits and '_', not starting with a digit`},
		{name: "presign's own metadata", r: Request{Op: OpPut, Key: "k", Metadata: map[string]string{"presign_upload": "0000000000000000"}}, code: CodeInvalidArgument,
			msg: `metadata name "presign_upload" is refused: names starting with "presign_" are presign's own on Azure (the stamp of a verified upload)`},
		{name: "a key with a backslash", r: Request{Op: OpGet, Key: `a\b`}, code: CodeInvalidArgument,
			msg: `key "a\\b" cannot be a blob name on Azure: blob name: UTF-8 without control characters or backslashes`},
		{name: "multipart metadata too long for the token", up: &UploadRequest{Key: "k", Size: 1, Metadata: longMeta}, code: CodeTooLarge,
			msg: "on Azure, a multipart upload's content type and metadata travel in its token: they take 1272 bytes there, and at most 1200 fit"},
		{name: "a whole-object checksum", up: &UploadRequest{Key: "k", Size: 1, ChecksumCRC64NVME: "AAAAAAAAAAA="}, code: CodeUnsupported,
			msg: `backend "default" cannot sign a whole-object CRC64NVME checksum: its store (azure) does not enforce it; start the upload without checksum_crc64nvme`},
		{name: "parts above Azure's block size", up: &UploadRequest{Key: "k", Size: 5 << 30, PartSize: 5 << 30}, code: CodeInvalidArgument,
			msg: "part 1 would hold 5368709120 bytes, above Azure's 4194304000 per block: start the upload again with a smaller part_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*dec = tt.dec
			is := cmpOrIssuer(tt.iss, iss)
			var err error
			if tt.up != nil {
				var up Upload
				up, err = is.CreateUpload(context.Background(), alice, *tt.up)
				if err == nil {
					_, err = is.SignParts(context.Background(), alice, up.Token, []PartRequest{{Number: 1}})
				}
			} else {
				_, err = is.Issue(context.Background(), alice, tt.r)
			}
			if ErrorCode(err) != tt.code || ErrorMessage(err) != tt.msg {
				t.Errorf("got %v\nwant %s: %s", err, tt.code, tt.msg)
			}
		})
	}
}

func cmpOrIssuer(a, b *Issuer) *Issuer {
	if a != nil {
		return a
	}
	return b
}

// TestAzureUploadTokenFits: the longest key, names and the most metadata an
// Azure upload takes still make a token that opens.
func TestAzureUploadTokenFits(t *testing.T) {
	b := azureBackend()
	b.Name = strings.Repeat("b", 63)
	b.Bucket = strings.Repeat("c", 63)
	dec := &Decision{Rule: strings.Repeat("r", 63)}
	iss := kindIssuer(t, b, dec, func(c *Config) {
		c.Uploads.Secrets = []TokenSecret{{ID: strings.Repeat("i", 32), Secret: testSecrets[0].Secret}}
	})
	key := strings.Repeat("k/", 511) + "kk"
	ct := "application/x-" + strings.Repeat("t", 255-len("application/x-"))
	// Metadata that fills the upload ID to its bound exactly.
	md := map[string]string{"m": ""}
	for len(azureUploadID(ct, map[string]string{"m": md["m"], stampMetadata: "0123456789abcdef"})) < maxAzureUploadID {
		md["m"] += "v"
	}
	up, err := iss.CreateUpload(context.Background(), alice, UploadRequest{Key: key, Size: 1, ContentType: ct, Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Token) > maxTokenSize {
		t.Fatalf("the token has %d bytes, more than %d", len(up.Token), maxTokenSize)
	}
	if _, err := iss.SignParts(context.Background(), alice, up.Token, []PartRequest{{Number: 1}}); err != nil {
		t.Fatalf("the token does not open: %v", err)
	}
}

func TestAzureUploadID(t *testing.T) {
	md := map[string]string{stampMetadata: "0123456789abcdef", "owner": "a&b=c d", "x": ""}
	id := azureUploadID("text/plain; charset=utf-8", md)
	up, err := parseAzureUploadID(id)
	if err != nil {
		t.Fatal(err)
	}
	want := azureUpload{contentType: "text/plain; charset=utf-8", metadata: md, stamp: "0123456789abcdef"}
	if diff := cmp.Diff(want, up, cmp.AllowUnexported(azureUpload{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "v=2&ct=a%2Fb&m.presign-upload=0123456789abcdef", "v=1&ct=a%2Fb", "v=1&m.presign-upload=short", "%zz"} {
		if _, err := parseAzureUploadID(bad); err == nil {
			t.Errorf("parseAzureUploadID(%q) took it", bad)
		}
	}
}

// FuzzAzureUploadID: every content type and metadata comes back from the
// upload ID as it went in, and no input makes the parser fail otherwise
// than with an error.
func FuzzAzureUploadID(f *testing.F) {
	f.Add("image/png", "owner", "u1", "0123456789abcdef", "")
	f.Add("text/plain; charset=\"utf-8\"", "m.x", "a&b=c%20d+e", "fedcba9876543210", "v=1&ct=x&m.presign-upload=0123456789abcdef")
	f.Add("", "", "", "", "%")
	f.Fuzz(func(t *testing.T, ct, name, value, stamp, raw string) {
		parseAzureUploadID(raw) // must not panic
		if len(stamp) != 16 {
			return
		}
		md := map[string]string{stampMetadata: stamp}
		if name != "" && name != stampMetadata {
			md[name] = value
		}
		// url.ParseQuery decodes what Encode wrote, for any bytes.
		up, err := parseAzureUploadID(azureUploadID(ct, md))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if up.contentType != ct || !cmp.Equal(up.metadata, md) || up.stamp != stamp {
			t.Fatalf("round trip: %+v, want %q %v", up, ct, md)
		}
	})
}

// FuzzAzureBlockID: the block ID of part n of an upload parses back to n
// for that upload only, and every ID that parses is the one of its part.
func FuzzAzureBlockID(f *testing.F) {
	f.Add("0123456789abcdef", 1, "MDEyMzQ1Njc4OWFiY2RlZjAwMDAwMDAx")
	f.Add("0000000000000000", 10000, "MDAwMDAx")
	f.Add("ffffffffffffffff", 0, "")
	f.Fuzz(func(t *testing.T, stamp string, n int, raw string) {
		if m, ok := parseAzureBlockID(stamp, raw); ok && azureBlockID(stamp, m) != raw {
			t.Fatalf("%q parses as part %d of %q, whose ID is %q", raw, m, stamp, azureBlockID(stamp, m))
		}
		if len(stamp) != 16 || strings.Trim(stamp, "0123456789abcdef") != "" || n < 1 || n > MaxParts {
			return
		}
		id := azureBlockID(stamp, n)
		if len(id) != 32 || strings.ContainsAny(id, "+/=") {
			t.Fatalf("block ID %q: not 32 characters without + / =", id)
		}
		if m, ok := parseAzureBlockID(stamp, id); !ok || m != n {
			t.Fatalf("part %d's ID %q parses as %d, %v", n, id, m, ok)
		}
		if other := strings.Map(func(r rune) rune { return 'f' - (r - '0') }, stamp); other != stamp {
			if _, ok := parseAzureBlockID(other, id); ok {
				t.Fatalf("part %d of %q is taken for %q's", n, stamp, other)
			}
		}
	})
}

// azurite is an Azurite server and a backend of its account.
type azurite struct {
	*azuritetest.Server
	backend Backend
}

func startAzurite(t *testing.T) *azurite {
	t.Helper()
	s := azuritetest.Start(t)
	return &azurite{Server: s, backend: Backend{Name: "az", Kind: KindAzure, Endpoint: s.Endpoint, Bucket: s.Container,
		Credentials: sigv4.Credentials{AccessKeyID: s.AccountName, SecretAccessKey: s.AccountKey}}}
}

// send sends a grant's request with body, as a client would (no
// x-ms-version), and returns the status and the error code.
func sendGrant(t *testing.T, g Grant, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(g.Method, g.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range g.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("x-ms-error-code")
}

// TestAzureStore runs the store's calls against Azurite: an upload's
// blocks listed and committed, a repeated commit answered from the blob,
// no overwrite, the properties read back, Azure's errors in S3's terms.
func TestAzureStore(t *testing.T) {
	a := startAzurite(t)
	ctx := context.Background()
	st, err := newAzureStore(a.backend, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := newAzureSigner(a.backend)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	key := "dir/a file.bin"
	md := map[string]string{stampMetadata: "00000000000000aa", "owner": "u1"}
	id, err := st.CreateMultipartUpload(ctx, CreateMultipartInput{Bucket: a.Container, Key: key, ContentType: "video/mp4", Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	if parts, err := st.ListParts(ctx, a.Container, key, id); err != nil || len(parts) != 0 {
		t.Fatalf("ListParts before any part: %v, %v", parts, err)
	}
	put := func(id string, n int, body []byte) {
		t.Helper()
		g, err := sg.signPart(ctx, uploadPart{Bucket: a.Container, Key: key, UploadID: id, PartNumber: n, Size: SizeUnknown}, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if status, code := sendGrant(t, g, body); status != http.StatusCreated {
			t.Fatalf("Put Block %d: %d %s", n, status, code)
		}
	}
	// Another upload of the same blob, whose part 1 must not mix with this one's.
	otherID := azureUploadID("text/plain", map[string]string{stampMetadata: "00000000000000bb"})
	put(otherID, 1, []byte("other upload"))
	put(id, 2, []byte("22"))
	put(id, 1, []byte("1"))
	parts, err := st.ListParts(ctx, a.Container, key, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Part{{PartNumber: 1, Size: 1}, {PartNumber: 2, Size: 2}}, parts); diff != "" {
		t.Fatalf("ListParts (-want +got):\n%s", diff)
	}
	in := CompleteMultipartInput{Bucket: a.Container, Key: key, UploadID: id, Parts: []CompletedPart{{PartNumber: 1}, {PartNumber: 2}}, IfNoneMatch: true}
	obj, err := st.CompleteMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := a.Get(t, key); string(body) != "122" || resp.Header.Get("Content-Type") != "video/mp4" ||
		resp.Header.Get("x-ms-meta-presign_upload") != "00000000000000aa" || resp.Header.Get("x-ms-meta-owner") != "u1" || resp.Header.Get("ETag") != obj.ETag {
		t.Fatalf("the blob: %q %v", body, resp.Header)
	}
	info, err := st.HeadObject(ctx, a.Container, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ObjectInfo{Size: 3, ETag: obj.ETag, ContentType: "video/mp4", LastModified: info.LastModified,
		Metadata: map[string]string{stampMetadata: "00000000000000aa", "owner": "u1"}}, info); diff != "" || time.Since(info.LastModified) > time.Minute {
		t.Errorf("HeadObject (-want +got):\n%s", diff)
	}
	// Complete again: the committed blocks are this upload's, answered as they are.
	if parts, err := st.ListParts(ctx, a.Container, key, id); err != nil || len(parts) != 2 {
		t.Fatalf("ListParts after the commit: %v, %v", parts, err)
	}
	again, err := st.CompleteMultipartUpload(ctx, in)
	if err != nil || again.ETag != obj.ETag {
		t.Fatalf("the second complete: %+v, %v; want the ETag %s", again, err, obj.ETag)
	}
	// The commit discarded the other upload's block (Azure discards every
	// uncommitted block a commit does not name).
	if parts, err := st.ListParts(ctx, a.Container, key, otherID); err != nil || len(parts) != 0 {
		t.Errorf("the other upload's parts after the commit: %v, %v", parts, err)
	}
	// Uploaded again, its commit without overwrite is refused over the blob
	// (as S3's 412).
	put(otherID, 1, []byte("other upload"))
	oin := CompleteMultipartInput{Bucket: a.Container, Key: key, UploadID: otherID, Parts: []CompletedPart{{PartNumber: 1}}, IfNoneMatch: true}
	var se *StoreError
	if _, err := st.CompleteMultipartUpload(ctx, oin); !errors.As(err, &se) || se.StatusCode != http.StatusPreconditionFailed || se.Code != "BlobAlreadyExists" {
		t.Errorf("a commit without overwrite over the blob: %v, want 412 BlobAlreadyExists", err)
	}
	// A part that is not there.
	oin.Parts = []CompletedPart{{PartNumber: 2}}
	if _, err := st.CompleteMultipartUpload(ctx, oin); !errors.As(err, &se) || se.Code != "InvalidPart" {
		t.Errorf("a commit of a missing block: %v, want InvalidPart", err)
	}
	if obj, err := st.HeadObject(ctx, a.Container, key); err != nil || obj.ETag != info.ETag {
		t.Errorf("the blob changed: %+v, %v", obj, err)
	}
	// Missing blob and container.
	if _, err := st.HeadObject(ctx, a.Container, "missing"); !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Errorf("HeadObject of a missing blob: %v, want 404", err)
	}
	if _, err := st.ListParts(ctx, "nosuchcontainer", key, id); !errors.As(err, &se) || se.Code != "NoSuchBucket" {
		t.Errorf("ListParts in a missing container: %v, want NoSuchBucket", err)
	}
	// Abort calls nothing.
	if err := st.AbortMultipartUpload(ctx, a.Container, key, otherID); err != nil {
		t.Error(err)
	}
}

// noKeys is an AzureKeySource that is never asked (validation only).
type noKeys struct{}

func (noKeys) Signer(context.Context) (*azuresas.Signer, error) { return nil, errors.New("not asked") }

// TestAzureTokenOverHTTP: user delegation keys are fetched with an Entra ID
// token, which an http endpoint would carry in clear text: refused, but on
// a loopback address (Azurite).
func TestAzureTokenOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"https://presigntest.blob.core.windows.net", true},
		{"http://127.0.0.1:10000/devstoreaccount1", true},
		{"http://localhost:10000/devstoreaccount1", true},
		{"http://[::1]:10000/devstoreaccount1", true},
		{"http://blob.example.com", false},
		{"http://10.0.0.5:10000/acct", false},
	} {
		b := Backend{Kind: KindAzure, Endpoint: tc.endpoint, Bucket: "photos", AzureKeys: noKeys{},
			Credentials: sigv4.Credentials{AccessKeyID: "presigntest"}}
		ps := b.Validate()
		if ok := len(ps) == 0; ok != tc.ok || !ok && (len(ps) != 1 || ps[0].Field != "endpoint") {
			t.Errorf("%s: %v", tc.endpoint, ps)
		}
	}
}
