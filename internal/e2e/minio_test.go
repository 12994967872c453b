package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"presign.dev/internal/s3test"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// copyDenyPolicy is the session policy an earlier README gave a MinIO
// signing identity (before provider minio signed x-amz-copy-source): object reads and writes in the bucket, but no PutObject that
// carries x-amz-copy-source.
func copyDenyPolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::%[1]s/*"]},
{"Effect":"Deny","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::%[1]s/*"],"Condition":{"Null":{"s3:x-amz-copy-source":"false"}}}]}`, bucket)
}

// TestMinIOCopySource: MinIO, unlike S3 and Versity Gateway, accepts
// x-amz-* headers that a presigned URL did not sign, so a PUT URL for one
// key can copy any object the signing identity may read (another user's
// file, of any size). A signing identity whose policy denies PutObject with
// x-amz-copy-source closes that; this test holds both facts.
func TestMinIOCopySource(t *testing.T) {
	srv := s3test.StartMinIO(t)
	srv.PutObject(t, "users/bob/secret.txt", []byte("bob's secret"))

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := sts.New(sts.Options{
		Region: srv.Region, BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKeyID, srv.SecretAccessKey, ""),
	}).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:minio:iam:::role/presign"), RoleSessionName: aws.String("presign"),
		Policy: aws.String(copyDenyPolicy(srv.Bucket)), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	restricted := sigv4.Credentials{AccessKeyID: *out.Credentials.AccessKeyId,
		SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}

	for i, tc := range []struct {
		name        string
		creds       sigv4.Credentials
		plain, copy int // status of a plain PUT and of one with x-amz-copy-source
	}{
		{"root credentials", sigv4.Credentials{AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey}, 200, 200},
		{"identity with the copy-deny policy", restricted, 200, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss, err := presign.New(presign.Config{Backends: []presign.Backend{{Name: "minio", Endpoint: srv.Endpoint,
				Region: srv.Region, Bucket: srv.Bucket, PathStyle: presign.PathStyleAlways, Credentials: tc.creds}}})
			if err != nil {
				t.Fatal(err)
			}
			put := func(key string, extra map[string]string) (int, string) {
				n := int64(5)
				g, err := iss.Issue(ctx, presign.Principal{}, presign.Request{Op: presign.OpPut, Key: key, ContentType: "text/plain", ContentLength: &n})
				if err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequestWithContext(ctx, "PUT", g.URL, bytes.NewReader([]byte("alice")))
				for k, v := range g.Headers {
					req.Header.Set(k, v)
				}
				for k, v := range extra {
					req.Header.Set(k, v)
				}
				req.ContentLength = n
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			dir := fmt.Sprintf("users/alice/%d/", i)
			if st, body := put(dir+"plain.txt", nil); st != tc.plain {
				t.Fatalf("plain PUT: %d %s", st, body)
			}
			st, body := put(dir+"copy.txt", map[string]string{"X-Amz-Copy-Source": "/" + srv.Bucket + "/users/bob/secret.txt"})
			got, landed := srv.GetObject(t, dir+"copy.txt")
			if st != tc.copy || landed != (tc.copy == 200) {
				t.Fatalf("PUT with x-amz-copy-source: %d %.300s (want %d), object landed %v", st, body, tc.copy, landed)
			}
			if landed && !strings.Contains(string(got), "secret") {
				t.Fatalf("copied %q", got)
			}
		})
	}
}
