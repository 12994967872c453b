// Package presign is the presign library: it turns a request ("may this
// caller upload image/png of 2 MiB to users/u1/cat.png for 10 minutes?")
// into a grant, a presigned URL with the headers or form fields the client
// must send, whose limits the S3-compatible store itself enforces.
//
// The package knows no transport. [Issuer.Issue] is the whole API; the HTTP
// server, the Lambda function, the Cloud Function and the CLI are adapters
// around it. It reads no environment and no wall clock except through
// [Config.Now].
//
// # Enforced by the store
//
// A PUT grant signs Content-Type, Content-Length, Content-MD5,
// x-amz-checksum-sha256, x-amz-meta-* and If-None-Match: * when they apply,
// so the store refuses a request that differs. A POST grant's policy pins
// the key, the content type, the metadata and the size range. A list grant
// (ListObjectsV2) signs its whole query — the prefix, and the delimiter,
// max-keys and continuation token when given — so the store refuses any
// other prefix. Every grant expires; lifetimes are clamped to the
// configured caps, never extended.
//
// # Errors
//
// Every error returned by Issue is an [*Error] whose [Code] is one of
// [Codes]; its Message is safe to show the caller.
//
// # Limits
//
// Keys are 1..1024 bytes of UTF-8 with no control characters and no "." or
// ".." segments. Single uploads are at most 5 GiB; user metadata at most
// 2 KiB; lifetimes at most the backend's cap (7 days on S3).
//
// # Required IAM actions
//
// The signing identity needs s3:GetObject (get, head), s3:PutObject (put,
// post) and s3:DeleteObject (delete) on the objects it presigns for, and
// s3:ListBucket on the bucket (list).
package presign
