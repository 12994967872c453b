// Package bench compares the cost of presigning one S3 URL with presign.dev's
// own SigV4 signer (package presign.dev/sigv4) against aws-sdk-go-v2 and
// minio-go, and against a raw-crypto floor.
//
// It is a separate module so that the comparison libraries never enter the
// build of presign.dev itself. Everything lives in the _test.go files:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 6 .
//
// See docs/benchmarks.md for the method and the results.
package bench
