package presign

import (
	"strings"

	"presign.dev/sigv4"
)

// MinIO acts on request headers that a presigned URL does not sign, and it
// checks no IAM action or condition key for most of them (docs/minio.md has
// the file:line of each in MinIO's code):
//
//   - x-minio-force-delete: true on DELETE removes every object under the
//     key as a prefix, every version, past any rule about those keys;
//   - x-minio-source-mtime and x-minio-source-etag on PUT set the object's
//     Last-Modified and ETag to any value (on DELETE, the delete marker's
//     time), x-minio-source-deletemarker on DELETE makes a delete marker;
//   - x-amz-copy-source on PUT (and on a part's PUT) copies any object the
//     signing identity can read into the granted key;
//   - x-minio-extract: true on GET, HEAD and list reads inside a .zip
//     object whose key is a prefix of the granted one.
//
// presign closes them by signing each such header with a value that does
// nothing, carried in the URL's query: MinIO takes a signed header that the
// request lacks from the query parameter of the same name, and a header the
// client sends instead takes precedence, so sending it with any other value
// breaks the signature (403 SignatureDoesNotMatch). The client sends no
// extra header, and browsers need no CORS change. Only MinIO reads a signed
// header from the query: other stores would refuse such a URL.

// actsOnUnsignedHeaders reports whether b's store is MinIO, whose URLs
// carry the pinned headers of unsignedPins.
func actsOnUnsignedHeaders(b Backend) bool {
	return b.Provider == ProviderMinIO
}

// The pinned values: "false" for MinIO's boolean flags (parsed with
// strconv.ParseBool or compared with "true"), "" for values MinIO ignores
// when empty (a trimmed empty mtime or ETag; an x-amz-copy-source query
// parameter, which MinIO's router never reads: only the header routes a
// PUT to a copy).
var (
	deletePins = []sigv4.Param{{Name: "x-minio-force-delete", Value: "false"},
		{Name: "x-minio-source-deletemarker", Value: "false"}, {Name: "x-minio-source-mtime", Value: ""}}
	putPins = []sigv4.Param{{Name: "x-amz-copy-source", Value: ""},
		{Name: "x-minio-source-etag", Value: ""}, {Name: "x-minio-source-mtime", Value: ""}}
	partPins    = []sigv4.Param{{Name: "x-amz-copy-source", Value: ""}, {Name: "x-minio-source-etag", Value: ""}}
	extractPins = []sigv4.Param{{Name: "x-minio-extract", Value: "false"}}
)

// unsignedPins returns the headers to sign, each with the value its query
// parameter carries, for a request of op on key (a list's prefix for
// OpList); nil when there are none. Reads pin x-minio-extract only when
// key names a path inside a .zip (MinIO's test is case-sensitive; this one
// is not, which only pins more).
func unsignedPins(op Op, key string) []sigv4.Param {
	switch op {
	case OpDelete:
		return deletePins
	case OpPut:
		return putPins
	case OpMultipart:
		return partPins
	case OpGet, OpHead, OpList:
		if strings.Contains(strings.ToLower(key), ".zip/") {
			return extractPins
		}
	}
	return nil
}

// pin adds pins to sr: each signed as a header and carried in the query.
func pin(sr *sigv4.Request, pins []sigv4.Param) {
	for _, p := range pins {
		sr.Headers = append(sr.Headers, sigv4.Header{Name: p.Name, Value: p.Value})
		sr.Query = append(sr.Query, p)
	}
}
