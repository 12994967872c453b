package bench

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

// partBatch is the number of part URLs one call signs.
const partBatch = 100

// partStore is the store of presign's issuer here: CreateMultipartUpload
// answers an upload ID; nothing else is called.
type partStore struct{ presign.Store }

func (partStore) CreateMultipartUpload(context.Context, presign.CreateMultipartInput) (string, error) {
	return "2~bench-upload-id", nil
}

// partFixture signs the part URLs of one upload of 1,000 parts of 5 MiB,
// with presign's issuer (a batch of 100 per SignParts call, the token
// checked each time) and with aws-sdk-go-v2's presign client
// (PresignUploadPart, one call per part, as Companion signs).
type partFixture struct {
	iss   *presign.Issuer
	p     presign.Principal
	token string
	parts []presign.PartRequest
	pc    *s3.PresignClient
}

func newPartFixture(tb testing.TB) *partFixture {
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{Name: "bench", Endpoint: scheme + "://" + host, Bucket: bucket, Region: region, PathStyle: presign.PathStyleAlways,
			Credentials: sigv4.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}}},
		Now:      func() time.Time { return signingTime },
		Uploads:  presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "b", Secret: []byte("bench-uploads-secret-0123456789abcdef")}}},
		NewStore: func(presign.Backend) (presign.Store, error) { return partStore{}, nil },
	})
	if err != nil {
		tb.Fatal(err)
	}
	f := &partFixture{iss: iss, p: presign.Principal{Kind: presign.KindAPIKey, Name: "bench"}, parts: make([]presign.PartRequest, partBatch)}
	up, err := iss.CreateUpload(context.Background(), f.p, presign.UploadRequest{Key: object, Size: 1000 * presign.MinPartSize})
	if err != nil {
		tb.Fatal(err)
	}
	f.token = up.Token
	for i := range f.parts {
		f.parts[i].Number = i + 1
	}
	f.pc = newFixture(tb, "PUT").pc
	return f
}

func (f *partFixture) presign() ([]presign.PartGrant, error) {
	return f.iss.SignParts(context.Background(), f.p, f.token, f.parts)
}

func (f *partFixture) awsv2client(ctx context.Context) ([]string, error) {
	out := make([]string, 0, partBatch)
	for i := range partBatch {
		r, err := f.pc.PresignUploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(object),
			UploadId: aws.String("2~bench-upload-id"), PartNumber: aws.Int32(int32(i + 1)), ContentLength: aws.Int64(presign.MinPartSize)})
		if err != nil {
			return nil, err
		}
		out = append(out, r.URL)
	}
	return out, nil
}

// BenchmarkPartURLs signs a batch of 100 part URLs per iteration;
// parts/s is the figure of docs/benchmarks.md.
func BenchmarkPartURLs(b *testing.B) {
	f := newPartFixture(b)
	ctx := context.Background()
	report := func(b *testing.B) { b.ReportMetric(float64(b.N*partBatch)/b.Elapsed().Seconds(), "parts/s") }
	b.Run("impl=presign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.presign(); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("impl=awsv2client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.awsv2client(ctx); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}

// TestSamePartURLs: both implementations sign the same request — PUT of
// the part, its number and upload ID in the query, its size signed.
func TestSamePartURLs(t *testing.T) {
	f := newPartFixture(t)
	ours, err := f.presign()
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.awsv2client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range partBatch {
		a, _ := url.Parse(ours[i].URL)
		b, _ := url.Parse(theirs[i])
		for _, u := range []*url.URL{a, b} {
			q := u.Query()
			if u.Path != path || q.Get("partNumber") != strconv.Itoa(i+1) || q.Get("uploadId") != "2~bench-upload-id" ||
				!strings.Contains(q.Get("X-Amz-SignedHeaders"), "content-length") {
				t.Fatalf("part %d: %s does not sign the part's PUT", i+1, u)
			}
		}
	}
}
