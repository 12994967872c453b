package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"presign.dev/sigv4"
)

// The one URL every implementation presigns, per operation.
const (
	scheme        = "http"
	host          = "127.0.0.1:9000"
	bucket        = "bucket"
	object        = "photos/2026/cat picture+1.jpg"
	path          = "/" + bucket + "/" + object
	region        = "us-east-1"
	accessKey     = "AKIAIOSFODNN7EXAMPLE"
	secretKey     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	expires       = 15 * time.Minute
	contentType   = "image/jpeg"
	contentLength = 123456
)

// signingTime is the fixed signing time (minio-go cannot take one).
var signingTime = time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)

var ops = []string{"GET", "PUT"}

// errNoNetwork is what every SDK client's transport returns on dial: no
// benchmarked or tested call may reach the network.
var errNoNetwork = errors.New("bench: network access is disabled")

// noNetworkTransport returns an http.Transport whose dials always fail.
func noNetworkTransport() *http.Transport {
	fail := func(context.Context, string, string) (net.Conn, error) { return nil, errNoNetwork }
	return &http.Transport{Proxy: nil, DialContext: fail, DialTLSContext: fail}
}

// sigv4Request is the project's request for op, with extra query parameters.
func sigv4Request(op string, query ...sigv4.Param) *sigv4.Request {
	r := &sigv4.Request{
		Method: op, Scheme: scheme, Host: host, Path: path,
		Query: query, Time: signingTime, Expires: expires,
	}
	if op == "PUT" {
		r.Headers = []sigv4.Header{
			{Name: "Content-Type", Value: contentType},
			{Name: "Content-Length", Value: strconv.Itoa(contentLength)},
		}
	}
	return r
}

// fixedClockPresigner is an s3.HTTPPresignerV4 that forwards to a v4.Signer
// configured as the S3 client's default presigner, at a fixed signing time.
type fixedClockPresigner struct {
	signer *v4.Signer
	t      time.Time
}

func (p fixedClockPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request,
	payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions),
) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.t, optFns...)
}

// newS3Signer returns a v4.Signer configured as the S3 client configures it.
func newS3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// floor is the raw crypto of one presign: SHA-256 of the canonical request,
// then one HMAC-SHA256 of the string to sign with a reused keyed HMAC.
type floor struct {
	creq, sts []byte
	mac       hash.Hash
	out       [sha256.Size]byte
}

// fixture holds everything one operation needs, built outside timed loops.
type fixture struct {
	op string

	signer *sigv4.Signer
	req    *sigv4.Request
	buf    []byte // presign_append's reused buffer

	v4       *v4.Signer
	awsCreds aws.Credentials
	httpReq  *http.Request // awsv2signer's prepared request

	pc    *s3.PresignClient
	getIn *s3.GetObjectInput
	putIn *s3.PutObjectInput

	mc        *minio.Client
	minioHdrs http.Header

	floor floor
}

func newFixture(tb testing.TB, op string) *fixture {
	tb.Helper()
	f := &fixture{op: op}

	// presign, presign_append.
	f.signer = sigv4.NewSigner(sigv4.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, region, "s3")
	f.req = sigv4Request(op)
	f.buf = make([]byte, 0, 1024)

	// awsv2signer: a prepared request, as the S3 serializer builds it.
	f.v4 = newS3Signer()
	f.awsCreds = aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "bench"}
	u := &url.URL{
		Scheme: scheme, Host: host, Path: path, RawPath: httpbinding.EscapePath(path, false),
		RawQuery: "X-Amz-Expires=" + strconv.Itoa(int(expires/time.Second)),
	}
	hr, err := http.NewRequest(op, u.String(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	hr.URL = u
	if op == "PUT" {
		hr.Header.Set("Content-Type", contentType)
		hr.ContentLength = contentLength
	}
	f.httpReq = hr

	// awsv2client: s3.New with zero-value options apart from these.
	client := s3.New(s3.Options{
		Region:       region,
		Credentials:  awscreds.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String(scheme + "://" + host),
		UsePathStyle: true,
		HTTPClient:   &http.Client{Transport: noNetworkTransport()},
	})
	f.pc = s3.NewPresignClient(client, s3.WithPresignExpires(expires), func(o *s3.PresignOptions) {
		o.Presigner = fixedClockPresigner{signer: newS3Signer(), t: signingTime}
	})
	f.getIn = &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)}
	f.putIn = &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(object),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(contentLength),
	}

	// miniov7: Region set, so it never looks the bucket location up.
	f.mc, err = minio.New(host, &minio.Options{
		Creds:        miniocreds.NewStaticV4(accessKey, secretKey, ""),
		Secure:       false,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    noNetworkTransport(),
		MaxRetries:   1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.minioHdrs = http.Header{
		"Content-Type":   {contentType},
		"Content-Length": {strconv.Itoa(contentLength)},
	}

	// floor, at this operation's real canonical request and string to sign.
	f.floor = floor{
		creq: []byte(f.signer.CanonicalRequest(f.req)),
		sts:  []byte(f.signer.StringToSign(f.req)),
		mac:  hmac.New(sha256.New, f.signer.SigningKey(signingTime)),
	}
	return f
}

func (f *fixture) presign() string { return f.signer.Presign(f.req) }

func (f *fixture) presignAppend() []byte {
	f.buf = f.signer.AppendPresign(f.buf[:0], f.req)
	return f.buf
}

func (f *fixture) awsv2client(ctx context.Context) (string, error) {
	var (
		p   *v4.PresignedHTTPRequest
		err error
	)
	if f.op == "PUT" {
		p, err = f.pc.PresignPutObject(ctx, f.putIn)
	} else {
		p, err = f.pc.PresignGetObject(ctx, f.getIn)
	}
	if err != nil {
		return "", err
	}
	return p.URL, nil
}

func (f *fixture) awsv2signer(ctx context.Context) (string, error) {
	u, _, err := f.v4.PresignHTTP(ctx, f.awsCreds, f.httpReq, sigv4.UnsignedPayload, "s3", region, signingTime)
	return u, err
}

func (f *fixture) miniov7(ctx context.Context) (string, error) {
	var (
		u   *url.URL
		err error
	)
	if f.op == "PUT" {
		u, err = f.mc.PresignHeader(ctx, "PUT", bucket, object, expires, nil, f.minioHdrs)
	} else {
		u, err = f.mc.PresignedGetObject(ctx, bucket, object, expires, nil)
	}
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func (f *fixture) floorSign() byte {
	sum := sha256.Sum256(f.floor.creq)
	f.floor.mac.Reset()
	f.floor.mac.Write(f.floor.sts)
	f.floor.mac.Sum(f.floor.out[:0])
	return sum[0] ^ f.floor.out[0]
}
