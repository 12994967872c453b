package bench

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"presign.dev/sigv4"
)

// Golden signatures of the benchmark's URLs at signingTime, recomputed
// independently (see ../shared/reference/perf-baseline.md §2).
var goldenSignature = map[string]string{
	"GET": "4559b1660311bc236f16d4c3b0e6f57386c17fa851ec8eecf250bf254b1f81b9",
	"PUT": "7676b3ee6278f9fccafd7d5a2de2b67e45062cf76b8427f88b4b5536278efbdf",
}

var wantSignedHeaders = map[string]string{
	"GET": "host",
	"PUT": "content-length;content-type;host",
}

var xID = map[string]string{"GET": "GetObject", "PUT": "PutObject"}

// TestSameURLs checks that every benchmarked implementation presigns the same
// request, through the very fixture methods the benchmark times.
func TestSameURLs(t *testing.T) {
	ctx := context.Background()
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			f := newFixture(t, op)
			ours := f.presign()
			t.Logf("presign: %s", ours)
			t.Logf("floor input: canonical request %d B, string to sign %d B", len(f.floor.creq), len(f.floor.sts))

			if got := string(f.presignAppend()); got != ours {
				t.Errorf("presign_append differs from presign:\n got %s\nwant %s", got, ours)
			}

			ou := mustParse(t, ours)
			if got := ou.Query().Get("X-Amz-Signature"); got != goldenSignature[op] {
				t.Errorf("signature %s, want golden %s\ncanonical request:\n%s", got, goldenSignature[op], f.signer.CanonicalRequest(f.req))
			}
			if got := ou.Query().Get("X-Amz-SignedHeaders"); got != wantSignedHeaders[op] {
				t.Errorf("signed headers %q, want %q", got, wantSignedHeaders[op])
			}

			// awsv2signer: byte-identical.
			sdk, err := f.awsv2signer(ctx)
			if err != nil {
				t.Fatalf("awsv2signer: %v", err)
			}
			if sdk != ours {
				t.Errorf("awsv2signer differs:\n  sdk %s\n ours %s", sdk, ours)
			}

			// awsv2client: identical once presign also signs x-id.
			cl, err := f.awsv2client(ctx)
			if err != nil {
				t.Fatalf("awsv2client: %v", err)
			}
			withXID := f.signer.Presign(sigv4Request(op, sigv4.Param{Name: "x-id", Value: xID[op]}))
			if cl != withXID {
				t.Errorf("awsv2client differs from presign with x-id=%s:\n client %s\n   ours %s", xID[op], cl, withXID)
			}

			// miniov7: same path and signed headers; and, re-signed at the
			// X-Amz-Date minio-go used, the same URL.
			mu, err := f.miniov7(ctx)
			if err != nil {
				t.Fatalf("miniov7: %v", err)
			}
			t.Logf("miniov7: %s", mu)
			mp := mustParse(t, mu)
			if mp.EscapedPath() != ou.EscapedPath() || mp.Path != ou.Path {
				t.Errorf("miniov7 path %q (%q), want %q (%q)", mp.EscapedPath(), mp.Path, ou.EscapedPath(), ou.Path)
			}
			if got := mp.Query().Get("X-Amz-SignedHeaders"); got != wantSignedHeaders[op] {
				t.Errorf("miniov7 signed headers %q, want %q", got, wantSignedHeaders[op])
			}
			at, err := time.Parse("20060102T150405Z", mp.Query().Get("X-Amz-Date"))
			if err != nil {
				t.Fatalf("miniov7 X-Amz-Date: %v", err)
			}
			r := sigv4Request(op)
			r.Time = at
			if again := f.signer.Presign(r); again != mu {
				t.Errorf("miniov7 differs from presign at its X-Amz-Date %s:\n minio %s\n  ours %s", at.Format(time.RFC3339), mu, again)
			}
		})
	}
}

// TestNoNetwork checks the guard: a minio-go client without Region must look
// the bucket location up, and the failing transport refuses that.
func TestNoNetwork(t *testing.T) {
	mc, err := minio.New(host, &minio.Options{
		Creds: miniocreds.NewStaticV4(accessKey, secretKey, ""), BucketLookup: minio.BucketLookupPath,
		Transport: noNetworkTransport(), MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mc.PresignedGetObject(context.Background(), bucket, object, expires, nil)
	if err == nil || !(errors.Is(err, errNoNetwork) || strings.Contains(err.Error(), errNoNetwork.Error())) {
		t.Fatalf("presign without Region: err = %v, want the no-network error", err)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}
