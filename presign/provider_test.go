package presign

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDetectProvider(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		provider Provider
		region   string // after WithDefaults
	}{
		{"", ProviderAWS, "us-east-1"},
		{"https://s3.eu-west-1.amazonaws.com", ProviderAWS, "us-east-1"},
		{"https://0123abcd.r2.cloudflarestorage.com", ProviderR2, "auto"},
		{"https://0123abcd.eu.r2.cloudflarestorage.com", ProviderR2, "auto"},
		{"https://s3.us-west-004.backblazeb2.com", ProviderB2, "us-west-004"},
		{"https://storage.googleapis.com", ProviderGCS, "auto"},
		{"https://gateway.storjshare.io", ProviderStorj, "us-east-1"},
		{"https://s3.wasabisys.com", ProviderWasabi, "us-east-1"},
		{"https://s3.eu-central-1.wasabisys.com", ProviderWasabi, "eu-central-1"},
		{"https://nyc3.digitaloceanspaces.com", ProviderDigitalOcean, "nyc3"},
		{"https://NYC3.DigitalOceanSpaces.com:443", ProviderDigitalOcean, "nyc3"},
		{"http://127.0.0.1:9000", ProviderOther, "us-east-1"},
		{"https://minio.example.com", ProviderOther, "us-east-1"},
		{"https://evil-amazonaws.com", ProviderOther, "us-east-1"},
		{"https://googleapis.com.example.org", ProviderOther, "us-east-1"},
	} {
		b := Backend{Endpoint: tc.endpoint}.WithDefaults()
		if got := DetectProvider(tc.endpoint); got != tc.provider || b.Provider != tc.provider || b.Region != tc.region {
			t.Errorf("%q: provider %q (defaults: %q, region %q), want %q and region %q", tc.endpoint, got, b.Provider, b.Region, tc.provider, tc.region)
		}
	}
	// A region or provider given wins.
	b := Backend{Endpoint: "https://nyc3.digitaloceanspaces.com", Region: "ams3", Provider: ProviderOther}.WithDefaults()
	if b.Region != "ams3" || b.Provider != ProviderOther {
		t.Errorf("given values replaced: %+v", b)
	}
}

func TestProviderValidation(t *testing.T) {
	ok := Backend{Bucket: "bucket", Endpoint: "https://x.example", Credentials: testIssuer(t, nil).defaultBackend.Credentials}
	for _, p := range Providers() {
		b := ok
		b.Provider = p
		if ps := b.Validate(); len(ps) > 0 {
			t.Errorf("provider %q: %v", p, ps)
		}
	}
	b := ok
	b.Provider = "s4"
	want := Problems{{Field: "provider", Message: `"s4" is not a provider: use one of aws, r2, b2, gcs, storj, minio, wasabi, digitalocean, versity, other`}}
	if diff := cmp.Diff(want, b.Validate()); diff != "" {
		t.Errorf("unknown provider (-want +got):\n%s", diff)
	}
	if got, ok := ParseProvider("MinIO"); got != ProviderMinIO || !ok {
		t.Errorf("ParseProvider(MinIO) = %q, %v", got, ok)
	}
}

// TestProviderRefusals: what each provider's store does not enforce is
// never signed: 422 unsupported, with the reason.
func TestProviderRefusals(t *testing.T) {
	ctx := context.Background()
	size := int64(100)
	crc := "AAAAAAAAAAA=" // 8 bytes
	sha := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	type outcome map[string]bool // request → signed (true) or unsupported
	all := outcome{"post": true, "put sha256": true, "put no-overwrite": true, "multipart no-overwrite": true, "multipart crc64nvme": true, "part sha256": true, "part crc64nvme": true}
	with := func(off ...string) outcome {
		o := outcome{}
		for k, v := range all {
			o[k] = v
		}
		for _, k := range off {
			o[k] = false
		}
		return o
	}
	for _, tc := range []struct {
		provider Provider
		want     outcome
	}{
		{ProviderAWS, all},
		{ProviderOther, all},
		{ProviderVersity, all},
		{ProviderMinIO, with("post")},
		{ProviderR2, with("post")},
		{ProviderB2, with("post", "put sha256", "put no-overwrite", "multipart no-overwrite", "multipart crc64nvme", "part sha256", "part crc64nvme")},
		{ProviderStorj, with("multipart crc64nvme", "part crc64nvme")},
		{ProviderGCS, with("post", "put sha256", "put no-overwrite", "multipart no-overwrite", "multipart crc64nvme", "part sha256", "part crc64nvme")},
		{ProviderWasabi, with("put sha256", "put no-overwrite", "multipart no-overwrite", "multipart crc64nvme", "part sha256", "part crc64nvme")},
		{ProviderDigitalOcean, with("put sha256", "put no-overwrite", "multipart no-overwrite", "multipart crc64nvme", "part sha256", "part crc64nvme")},
	} {
		t.Run(string(tc.provider), func(t *testing.T) {
			st := newMemStore()
			noOverwrite := false
			iss := testIssuer(t, func(c *Config) {
				c.Backends[0].Provider = tc.provider
				c.Uploads = UploadsConfig{Secrets: testSecrets}
				c.NewStore = func(Backend) (Store, error) { return st, nil }
				c.Authorizer = decideFunc(func(Principal, *Request) (Decision, error) {
					return Decision{Rule: "r", NoOverwrite: noOverwrite}, nil
				})
			})
			got := outcome{}
			note := func(what string, err error) {
				switch code := ErrorCode(err); {
				case err == nil:
					got[what] = true
				case code == CodeUnsupported:
					got[what] = false
					if msg := ErrorMessage(err); !containsAll(msg, string(tc.provider), "backend") {
						t.Errorf("%s: the refusal does not say why: %q", what, msg)
					}
				default:
					t.Errorf("%s: %v", what, err)
				}
			}
			_, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "k"})
			note("post", err)
			_, err = iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ChecksumSHA256: sha})
			note("put sha256", err)
			_, err = iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: size, ChecksumCRC64NVME: crc})
			note("multipart crc64nvme", err)
			up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: size})
			if err != nil {
				t.Fatal(err)
			}
			_, err = iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1, ChecksumSHA256: sha}})
			note("part sha256", err)
			_, err = iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1, ChecksumCRC64NVME: crc}})
			note("part crc64nvme", err)
			noOverwrite = true
			_, err = iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k"})
			note("put no-overwrite", err)
			_, err = iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: size})
			note("multipart no-overwrite", err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("signed (true) or unsupported (false) (-want +got):\n%s", diff)
			}
		})
	}
	// post: false turns POST off on a store that has it, and says so.
	iss := testIssuer(t, func(c *Config) { c.Backends[0].NoPost = true })
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "k"}); ErrorCode(err) != CodeUnsupported || !containsAll(ErrorMessage(err), "post: false") {
		t.Errorf("post with post: false: %v", err)
	}
}

// TestProviderMultipartComplete: x-amz-mp-object-size goes only to stores
// that understand it; R2's equal parts are checked before its store would
// refuse them.
func TestProviderMultipartComplete(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		provider   Provider
		objectSize bool
	}{{ProviderVersity, true}, {ProviderAWS, true}, {ProviderMinIO, false}, {ProviderR2, false}} {
		st := newMemStore()
		iss := testIssuer(t, func(c *Config) {
			c.Backends[0].Provider = tc.provider
			c.Uploads = UploadsConfig{Secrets: testSecrets}
			c.NewStore = func(Backend) (Store, error) { return st, nil }
		})
		up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 6 << 20})
		if err != nil {
			t.Fatal(err)
		}
		id := storeID(t, up.Token)
		st.putPart(id, 1, 5<<20)
		st.putPart(id, 2, 1<<20)
		if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); err != nil {
			t.Fatalf("%s: %v", tc.provider, err)
		}
		if sent := st.lastComplete.ObjectSize == 6<<20; sent != tc.objectSize {
			t.Errorf("%s: x-amz-mp-object-size %d sent", tc.provider, st.lastComplete.ObjectSize)
		}
	}

	st := newMemStore()
	iss := testIssuer(t, func(c *Config) {
		c.Backends[0].Provider = ProviderR2
		c.Uploads = UploadsConfig{Secrets: testSecrets}
		c.NewStore = func(Backend) (Store, error) { return st, nil }
	})
	for _, tc := range []struct {
		sizes []int64
		ok    bool
	}{
		{[]int64{5 << 20, 5 << 20, 1}, true},
		{[]int64{5 << 20, 5 << 20, 5 << 20}, true},
		{[]int64{6 << 20, 5 << 20, 1}, false},
		{[]int64{5 << 20, 5<<20 + 1}, false},
		{[]int64{7}, true},
	} {
		up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: SizeUnknown})
		if err != nil {
			t.Fatal(err)
		}
		id := storeID(t, up.Token)
		for i, n := range tc.sizes {
			st.putPart(id, i+1, n)
		}
		_, err = iss.CompleteUpload(ctx, alice, up.Token, nil)
		if ok := err == nil; ok != tc.ok || err != nil && ErrorCode(err) != CodeInvalidArgument {
			t.Errorf("R2 parts %v: %v", tc.sizes, err)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
