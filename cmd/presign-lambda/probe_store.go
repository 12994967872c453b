//go:build storeprobe

package main

// Built with -tags storeprobe, the bootstrap links presign's S3 store
// (presign.NewS3Store: net/http and the project's SigV4 signer), unused,
// so that BenchmarkColdStart and the zip size show what the store costs
// the function (docs/benchmarks.md). Not part of any release build.

import (
	"context"
	"fmt"
	"os"

	"presign.dev/presign"
)

func init() {
	if os.Getenv("PRESIGN_STORE_PROBE") == "1" {
		s, err := presign.NewS3Store(presign.Backend{}, presign.StoreOptions{})
		fmt.Println(err)
		ctx := context.Background()
		fmt.Println(s.CreateMultipartUpload(ctx, presign.CreateMultipartInput{}))
		fmt.Println(s.ListParts(ctx, "b", "k", "u"))
		fmt.Println(s.CompleteMultipartUpload(ctx, presign.CompleteMultipartInput{}))
		fmt.Println(s.AbortMultipartUpload(ctx, "b", "k", "u"))
		fmt.Println(s.HeadObject(ctx, "b", "k"))
	}
}
