package main

import "errors"

// presign dev's embedded S3 store (internal/devstore: Versity Gateway and
// its ~300 packages) is linked in unless the binary is built with
// -tags nodevstore, as the container image is (Dockerfile): a server that
// never runs `presign dev` does not pay for it — about 20 MB of binary, and
// 2.5 MB of heap its packages' init allocate and keep, which together are
// most of serve's memory at rest (docs/benchmarks.md) — nor ship its MPL-2.0
// modules (docs/dependencies.md).

// devStoreConfig is the embedded store's configuration (devstore.Config).
type devStoreConfig struct {
	Addr, DataDir, Region, AccessKeyID, SecretAccessKey, Bucket string
	CORSOrigins                                                 []string
}

// devStore is a running embedded store.
type devStore interface {
	Endpoint() string
	Close() error
}

// errNoDevStore is `presign dev`'s answer in a build without the store.
var errNoDevStore = errors.New("dev: this build of presign has no embedded store (it was built with -tags nodevstore, as the container image is); " +
	"install the full CLI (go install presign.dev/cmd/presign@latest) to run presign dev, or point presign serve at a store")
