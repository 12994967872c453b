//go:build !nodevstore

package main

import (
	"context"

	"presign.dev/internal/devstore"
)

// haveDevStore: this build links presign dev's embedded store.
const haveDevStore = true

func startDevStore(ctx context.Context, c devStoreConfig) (devStore, error) {
	return devstore.Start(ctx, devstore.Config{Addr: c.Addr, DataDir: c.DataDir, Region: c.Region, AccessKeyID: c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey, Bucket: c.Bucket, CORSOrigins: c.CORSOrigins})
}
