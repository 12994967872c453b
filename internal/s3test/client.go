package s3test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// opTimeout bounds each helper's S3 call.
const opTimeout = 30 * time.Second

// Client returns a plain S3 client for the server: static root credentials,
// path-style addressing, Endpoint as BaseEndpoint. It signs each request with
// a header signature and never presigns, so it is an independent check of
// what presigned requests did.
//
// Checksums are only sent and checked where S3 requires them, so the check
// does not depend on each server's support of the newer checksum algorithms.
func (s *Server) Client() *s3.Client {
	s.clientOnce.Do(func() {
		s.client = s.newClient(s.AccessKeyID, s.SecretAccessKey)
	})
	return s.client
}

// ClientWith returns a client like Client but signing with the given
// credentials, e.g. a wrong secret to check that the server refuses it.
func (s *Server) ClientWith(accessKeyID, secretAccessKey string, optFns ...func(*s3.Options)) *s3.Client {
	return s.newClient(accessKeyID, secretAccessKey, optFns...)
}

func (s *Server) newClient(accessKeyID, secretAccessKey string, optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}, optFns...)
}

// GetObject returns the object's bytes from s.Bucket, and false when there is
// no such key. Any other error fails the test.
func (s *Server) GetObject(tb testing.TB, key string) ([]byte, bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), opTimeout)
	defer cancel()
	out, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) || errorCode(err) == "NoSuchKey" {
			return nil, false
		}
		tb.Fatalf("s3test: %s: GetObject %s/%s: %v", s.Name, s.Bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		tb.Fatalf("s3test: %s: GetObject %s/%s: reading body: %v", s.Name, s.Bucket, key, err)
	}
	return data, true
}

// PutObject stores data under key in s.Bucket as application/octet-stream.
// Any error fails the test.
func (s *Server) PutObject(tb testing.TB, key string, data []byte) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), opTimeout)
	defer cancel()
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.Bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/octet-stream"),
	})
	if err != nil {
		tb.Fatalf("s3test: %s: PutObject %s/%s: %v", s.Name, s.Bucket, key, err)
	}
}

// HeadObject returns the stored Content-Type and size of key in s.Bucket, and
// ok false when there is no such key. Any other error fails the test.
func (s *Server) HeadObject(tb testing.TB, key string) (contentType string, size int64, ok bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), opTimeout)
	defer cancel()
	out, err := s.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		var nf *types.NotFound
		if errors.As(err, &nf) || httpStatus(err) == http.StatusNotFound {
			return "", 0, false
		}
		tb.Fatalf("s3test: %s: HeadObject %s/%s: %v", s.Name, s.Bucket, key, err)
	}
	return aws.ToString(out.ContentType), aws.ToInt64(out.ContentLength), true
}

// errorCode is the S3 error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of the response that caused err, or 0.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
