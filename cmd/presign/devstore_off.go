//go:build nodevstore

package main

import "context"

// haveDevStore: this build leaves presign dev's embedded store out.
const haveDevStore = false

func startDevStore(context.Context, devStoreConfig) (devStore, error) { return nil, errNoDevStore }
