package e2e

import (
	"crypto/sha256"
	"net/http/httptest"
	"testing"

	"presign.dev/httpapi"
	"presign.dev/internal/s3test"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// TestRealStores runs the suite against Versity Gateway and MinIO, each
// behind the presign handler on a loopback HTTP server.
func TestRealStores(t *testing.T) {
	for _, name := range s3test.Names {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t, name)
			iss, err := presign.New(presign.Config{Backends: []presign.Backend{{
				Name: name, Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket,
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
		})
	}
}
