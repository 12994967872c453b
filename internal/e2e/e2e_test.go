package e2e

import (
	"crypto/sha256"
	"net/http/httptest"
	"testing"

	"presign.dev/httpapi"
	"presign.dev/internal/s3test"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// providers are the provider profiles the suite runs the test servers
// with, by name. MinIO runs as other: the suite shows what the store
// itself enforces of every kind of URL, POST forms included, which
// provider minio refuses (TestMinIOUnsignedHeaders runs it).
var providers = map[string]presign.Provider{"versitygw": presign.ProviderVersity, "minio": presign.ProviderOther}

// TestRealStores runs the suite against Versity Gateway and MinIO, each
// behind the presign handler on a loopback HTTP server.
func TestRealStores(t *testing.T) {
	for _, name := range s3test.Names {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t, name)
			iss, err := presign.New(presign.Config{Backends: []presign.Backend{{
				Name: name, Provider: providers[name], Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket,
				Credentials: sigv4.Credentials{AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			const key = "e2e-api-key-0123456789"
			api := httptest.NewServer(httpapi.New(httpapi.Options{
				Issuer: iss, Auth: httpapi.APIKeys{{Name: "e2e", Hash: sha256.Sum256([]byte(key))}},
			}))
			defer api.Close()
			Run(t, Target{Flavor: name, API: api.URL, APIKey: key, Store: srv})

			uploads, rules := uploadsAPI(t, srv)
			defer uploads.Close()
			RunUploads(t, Target{Flavor: name, API: uploads.URL, APIKey: key, Store: srv}, rules)
			t.Run("list within the rules", func(t *testing.T) {
				testListRules(t, Target{Flavor: name, API: uploads.URL, APIKey: key, Store: srv})
			})
		})
	}
}

// uploadsAPI is a presign API in front of srv with uploads configured and
// rules for RunUploads: companion and generated keys capped at 12 MiB,
// fixed/ never overwritten, uploads/ open to both API keys (and listable:
// uploads/ and deeper).
func uploadsAPI(t *testing.T, srv *s3test.Server) (*httptest.Server, UploadRules) {
	rules := UploadRules{CappedPrefix: "capped/", CappedMaxSize: 12 << 20, FixedPrefix: "fixed/", OtherAPIKey: "e2e-other-key-0123456789"}
	who := policy.Who{APIKeys: []string{"e2e", "other"}}
	no := false
	p, err := policy.New([]policy.Rule{
		{Name: "capped", Who: who, Ops: []presign.Op{presign.OpMultipart, presign.OpPost}, GenerateKey: "capped/{uuid}/{filename}",
			Keys: []string{"capped/**"}, MaxSize: rules.CappedMaxSize},
		{Name: "fixed", Who: who, Ops: []presign.Op{presign.OpMultipart}, Keys: []string{"fixed/**"}, Overwrite: &no},
		{Name: "uploads", Who: who, Ops: []presign.Op{presign.OpMultipart, presign.OpPut, presign.OpPost, presign.OpGet, presign.OpList}, Keys: []string{"uploads/**"}},
	}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{Name: "store", Provider: providers[srv.Name], Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket,
			Credentials: sigv4.Credentials{AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey}}},
		Authorizer: p,
		Uploads:    presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "e2e", Secret: []byte("e2e-uploads-secret-0123456789abcdef")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(httpapi.New(httpapi.Options{
		Issuer: iss, CompanionPath: "/companion",
		Auth: httpapi.APIKeys{{Name: "e2e", Hash: sha256.Sum256([]byte("e2e-api-key-0123456789"))},
			{Name: "other", Hash: sha256.Sum256([]byte(rules.OtherAPIKey))}},
	}))
	return api, rules
}
