//go:build sdkprobe

package main

// Built with -tags sdkprobe, the bootstrap links aws-sdk-go-v2's S3 client
// with the calls presign's Store makes, unused: the library alternative
// to presign's own S3 store, measured side by side (docs/benchmarks.md).
// Not part of any release build.

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func init() {
	if os.Getenv("PRESIGN_STORE_PROBE") == "1" {
		c := s3.New(s3.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
		ctx := context.Background()
		fmt.Println(c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{}))
		fmt.Println(c.ListParts(ctx, &s3.ListPartsInput{}))
		fmt.Println(c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{}))
		fmt.Println(c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{}))
		fmt.Println(c.HeadObject(ctx, &s3.HeadObjectInput{}))
	}
}
