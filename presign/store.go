package presign

import (
	"context"
	"fmt"
	"time"
)

// Store is what presign asks of a backend's store itself, server to
// server: the calls that a multipart upload and a verified completion make.
// Everything else goes from the client to the store with a presigned URL.
//
// Errors: a refusal or failure the store answered is a *StoreError (its
// S3 error code and HTTP status), a 200 response whose body holds an error
// included; a request that never got an answer (network, context) is
// returned as is, wrapped with the operation.
type Store interface {
	// CreateMultipartUpload starts a multipart upload and returns the
	// store's upload ID.
	CreateMultipartUpload(ctx context.Context, in CreateMultipartInput) (uploadID string, err error)
	// ListParts returns every part uploaded so far, in part-number order,
	// following the store's pagination.
	ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error)
	// CompleteMultipartUpload assembles the parts into the object.
	CompleteMultipartUpload(ctx context.Context, in CompleteMultipartInput) (CompletedObject, error)
	// AbortMultipartUpload deletes the upload and its parts.
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	// HeadObject returns what the store holds at key.
	HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error)
}

// CreateMultipartInput starts a multipart upload.
type CreateMultipartInput struct {
	Bucket, Key string
	ContentType string            // "" sets none
	Metadata    map[string]string // x-amz-meta-<name>: value; names lower-case
	// ChecksumAlgorithm ("CRC64NVME", "SHA256", …) and ChecksumType
	// ("FULL_OBJECT" or "COMPOSITE") ask the store to keep a checksum of the
	// object; "" asks for none.
	ChecksumAlgorithm, ChecksumType string
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	PartNumber int
	Size       int64
	ETag       string // as the store quotes it
	// LastModified is when the part was uploaded.
	LastModified time.Time
	// Checksums are the part's checksums the store reports, by algorithm
	// ("SHA256": base64): that of the upload's checksum algorithm, if it
	// was created with one (MinIO also reports a checksum the part was
	// uploaded with). Complete needs them back (see [CompletedPart]).
	Checksums map[string]string
}

// CompletedPart names a part to assemble: its number and the ETag the
// store returned when it was uploaded.
type CompletedPart struct {
	PartNumber int
	ETag       string
	// Checksums are the part's checksums, by algorithm ("CRC32", "CRC32C",
	// "CRC64NVME", "SHA1", "SHA256": base64), as ListParts reports them.
	// When the upload was created with a checksum algorithm, S3 requires
	// that algorithm's checksum of every part; when it was not, Versity
	// Gateway refuses any (and lists none).
	Checksums map[string]string
}

// CompleteMultipartInput completes a multipart upload.
type CompleteMultipartInput struct {
	Bucket, Key, UploadID string
	Parts                 []CompletedPart // in ascending part-number order
	// IfNoneMatch sends If-None-Match: *, so the store refuses (412) to
	// replace an existing object.
	IfNoneMatch bool
	// ObjectSize, when > 0, is sent as x-amz-mp-object-size, so a store
	// that supports it refuses a total of any other size.
	ObjectSize int64
	// ChecksumCRC64NVME and ChecksumSHA256 (base64), when set, are sent as
	// the whole object's checksum, which the store verifies.
	ChecksumCRC64NVME, ChecksumSHA256 string
}

// CompletedObject is the object a multipart upload became.
type CompletedObject struct {
	ETag string
	// Size, when > 0, is the size the store reports the object has, which
	// complete answers instead of the parts' total (a store whose part URLs
	// can write past presign's checks reads it back: Azure); 0 means the
	// total of the parts presign checked.
	Size int64
	// Checksums the store computed, by algorithm ("CRC64NVME": base64).
	Checksums map[string]string
}

// ObjectInfo is what HeadObject tells about an object.
type ObjectInfo struct {
	Size         int64
	ETag         string
	ContentType  string
	LastModified time.Time
	Metadata     map[string]string // x-amz-meta-* by lower-case name, without the prefix
	// Checksums the store holds, by algorithm ("SHA256": base64).
	Checksums map[string]string
}

// StoreError is an error answer of the store.
type StoreError struct {
	Op         string // the S3 operation, e.g. "CompleteMultipartUpload"
	StatusCode int    // the HTTP status (200 for an error in a 200 body)
	// Code is the S3 error code, e.g. "NoSuchUpload"; "" when the body had
	// none. A HEAD answer has no body: its code is the status text without
	// spaces ("NotFound", "Forbidden", "PreconditionFailed").
	Code      string
	Message   string // the store's message
	RequestID string // the store's request ID, for its operator
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("store: %s: %d %s: %s (request id %s)", e.Op, e.StatusCode, e.Code, e.Message, e.RequestID)
}
