package presign

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/internal/s3test"
	"presign.dev/sigv4"
)

// The S3 store against real Versity Gateway and MinIO servers (package
// s3test starts them; importing it here makes no cycle: it imports no
// package of this module). Parts go up with presigned part URLs
// (s3Signer.signPart) and a plain net/http client, as a browser
// would send them.

// storeTest is one real server, the Store on it and the signer of part URLs.
type storeTest struct {
	srv    *s3test.Server
	store  Store
	signer *s3Signer
	bucket string
}

func newStoreTest(t *testing.T, name string) *storeTest {
	t.Helper()
	srv := s3test.Start(t, name)
	b := Backend{Name: name, Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket, PathStyle: PathStyleAlways,
		Credentials: sigv4.Credentials{AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey}}
	st, err := NewS3Store(b, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &storeTest{srv: srv, store: st, signer: newS3Signer(b.WithDefaults()), bucket: srv.Bucket}
}

var partClient = &http.Client{Timeout: 60 * time.Second}

// putPart uploads data as part p.PartNumber with a presigned part URL for
// p, and returns the store's status and the part's ETag.
func (st *storeTest) putPart(t *testing.T, p uploadPart, data []byte) (status int, etag string) {
	t.Helper()
	g, _ := st.signer.signPart(t.Context(), p, time.Now(), 15*time.Minute)
	req, err := http.NewRequestWithContext(t.Context(), g.Method, g.URL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range g.Headers {
		if name != "Content-Length" { // net/http sends the body's length
			req.Header.Set(name, v)
		}
	}
	resp, err := partClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		t.Logf("part %d: %d %s", p.PartNumber, resp.StatusCode, snippet(body))
	}
	return resp.StatusCode, resp.Header.Get("ETag")
}

// mustPutPart uploads a part that the store must take.
func (st *storeTest) mustPutPart(t *testing.T, p uploadPart, data []byte) string {
	t.Helper()
	p.Bucket, p.Size = st.bucket, int64(len(data))
	status, etag := st.putPart(t, p, data)
	if status != http.StatusOK || etag == "" {
		t.Fatalf("part %d of %s: status %d, ETag %q", p.PartNumber, p.Key, status, etag)
	}
	return etag
}

func (st *storeTest) create(t *testing.T, in CreateMultipartInput) string {
	t.Helper()
	in.Bucket = st.bucket
	id, err := st.store.CreateMultipartUpload(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateMultipartUpload %s: %v", in.Key, err)
	}
	return id
}

// storeErr returns err as a *StoreError, failing the test when it is not
// one.
func storeErr(t *testing.T, err error) *StoreError {
	t.Helper()
	var se *StoreError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *StoreError", err, err)
	}
	t.Logf("store answered: %v", se)
	return se
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// crc64NVME is the CRC-64/NVME of S3's checksums: hash/crc64 with the
// polynomial 0xad93d23594c93659, reflected.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

func b64CRC64NVME(b []byte) string {
	var out [8]byte
	binary.BigEndian.PutUint64(out[:], crc64.Checksum(b, crc64NVME))
	return base64.StdEncoding.EncodeToString(out[:])
}

func b64SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestCRC64NVMECheckValue(t *testing.T) {
	// The check value of CRC-64/NVME (the CRC catalogue).
	if got := crc64.Checksum([]byte("123456789"), crc64NVME); got != 0xae8b14860a799888 {
		t.Fatalf("CRC-64/NVME(123456789) = %#x, want 0xae8b14860a799888", got)
	}
}

// completedParts turns ListParts' answer into Complete's input.
func completedParts(parts []Part) []CompletedPart {
	out := make([]CompletedPart, len(parts))
	for i, p := range parts {
		out[i] = CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag, Checksums: p.Checksums}
	}
	return out
}

func TestS3Store(t *testing.T) {
	for _, name := range s3test.Names {
		t.Run(name, func(t *testing.T) {
			st := newStoreTest(t, name)
			t.Run("MultipartUpload", func(t *testing.T) { testStoreMultipart(t, st) })
			t.Run("Abort", func(t *testing.T) { testStoreAbort(t, st) })
			t.Run("HeadMissing", func(t *testing.T) { testStoreHeadMissing(t, st) })
			t.Run("ObjectSize", func(t *testing.T) { testStoreObjectSize(t, st) })
			t.Run("ChecksumSHA256Composite", func(t *testing.T) { testStoreChecksumComposite(t, st) })
			t.Run("ChecksumCRC64NVMEFullObject", func(t *testing.T) { testStoreChecksumFullObject(t, st) })
			t.Run("ChecksumTypes", func(t *testing.T) { testStoreChecksumTypes(t, st) })
		})
	}
}

// create → two parts with presigned part URLs → a part of the wrong length
// refused → ListParts → Complete (If-None-Match, x-amz-mp-object-size) →
// HeadObject; then a second upload of the key refused by If-None-Match.
func testStoreMultipart(t *testing.T, st *storeTest) {
	ctx := t.Context()
	key := "multipart/a b+c ü 日本 (1).bin"
	meta := map[string]string{"owner": "alice", "note": "a b+c"}
	start := time.Now().Add(-time.Minute)
	id := st.create(t, CreateMultipartInput{Key: key, ContentType: "application/x-presign-test", Metadata: meta})

	part1, part2 := randBytes(5<<20), randBytes(1000)
	etag1 := st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: 1}, part1)
	etag2 := st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: 2}, part2)

	// Part 3's URL pins 10 bytes: 11 are refused (the signature covers
	// content-length), and so are 9.
	for _, n := range []int{11, 9} {
		status, _ := st.putPart(t, uploadPart{Bucket: st.bucket, Key: key, UploadID: id, PartNumber: 3, Size: 10}, randBytes(n))
		if status != http.StatusForbidden {
			t.Errorf("a %d-byte part on a URL signed for 10 bytes: status %d, want 403", n, status)
		}
	}

	parts, err := st.store.ListParts(ctx, st.bucket, key, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []Part{{PartNumber: 1, Size: int64(len(part1)), ETag: etag1}, {PartNumber: 2, Size: int64(len(part2)), ETag: etag2}}
	if diff := cmp.Diff(want, parts, cmpopts.IgnoreFields(Part{}, "LastModified")); diff != "" {
		t.Errorf("ListParts (-want +got):\n%s", diff)
	}
	for _, p := range parts {
		if p.LastModified.Before(start) || p.LastModified.After(time.Now().Add(time.Minute)) {
			t.Errorf("part %d LastModified %v, not about now", p.PartNumber, p.LastModified)
		}
	}

	total := int64(len(part1) + len(part2))
	obj, err := st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id,
		Parts: completedParts(parts), IfNoneMatch: true, ObjectSize: total})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if !strings.HasSuffix(obj.ETag, `-2"`) {
		t.Errorf("multipart ETag %q does not end in -2", obj.ETag)
	}
	// Asked for no checksum, Versity Gateway keeps a full-object CRC64NVME
	// anyway (its default); MinIO keeps none.
	var wantSums map[string]string
	if st.srv.Name == "versitygw" {
		wantSums = map[string]string{"CRC64NVME": b64CRC64NVME(append(part1, part2...))}
	}
	if diff := cmp.Diff(wantSums, obj.Checksums); diff != "" {
		t.Errorf("Complete's checksums (-want +got):\n%s", diff)
	}

	info, err := st.store.HeadObject(ctx, st.bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if info.LastModified.Before(start.Truncate(time.Second)) || info.LastModified.After(time.Now().Add(time.Minute)) {
		t.Errorf("HeadObject LastModified %v, not about now", info.LastModified)
	}
	wantInfo := ObjectInfo{Size: total, ETag: obj.ETag, ContentType: "application/x-presign-test", Metadata: meta, Checksums: wantSums}
	if diff := cmp.Diff(wantInfo, info, cmpopts.IgnoreFields(ObjectInfo{}, "LastModified")); diff != "" {
		t.Errorf("HeadObject (-want +got):\n%s", diff)
	}
	if got, ok := st.srv.GetObject(t, key); !ok || !bytes.Equal(got, append(part1, part2...)) {
		t.Errorf("the object is not part 1 then part 2 (found %v, %d bytes)", ok, len(got))
	}

	// Another upload of the same key, completed with If-None-Match, is
	// refused: the key exists.
	id2 := st.create(t, CreateMultipartInput{Key: key})
	etag := st.mustPutPart(t, uploadPart{Key: key, UploadID: id2, PartNumber: 1}, []byte("second"))
	_, err = st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id2,
		Parts: []CompletedPart{{PartNumber: 1, ETag: etag}}, IfNoneMatch: true})
	if se := storeErr(t, err); se.StatusCode != http.StatusPreconditionFailed || se.Code != "PreconditionFailed" || se.Op != "CompleteMultipartUpload" {
		t.Errorf("second Complete with If-None-Match: %+v, want 412 PreconditionFailed", se)
	}
	if info2, err := st.store.HeadObject(ctx, st.bucket, key); err != nil || info2.Size != total {
		t.Errorf("after the refused Complete: %+v, %v; want the first object", info2, err)
	}
	if err := st.store.AbortMultipartUpload(ctx, st.bucket, key, id2); err != nil {
		t.Errorf("abort of the refused upload: %v", err)
	}
}

// An aborted upload is gone: ListParts answers NoSuchUpload.
func testStoreAbort(t *testing.T, st *storeTest) {
	ctx := t.Context()
	key := "abort/x+y z.bin"
	id := st.create(t, CreateMultipartInput{Key: key})
	st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: 1}, []byte("will be aborted"))
	if err := st.store.AbortMultipartUpload(ctx, st.bucket, key, id); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	_, err := st.store.ListParts(ctx, st.bucket, key, id)
	if se := storeErr(t, err); se.StatusCode != http.StatusNotFound || se.Code != "NoSuchUpload" || se.Op != "ListParts" {
		t.Errorf("ListParts after abort: %+v, want 404 NoSuchUpload", se)
	}
	if _, ok := st.srv.GetObject(t, key); ok {
		t.Errorf("an aborted upload left an object")
	}
}

// HEAD has no body: a missing key is a 404 *StoreError coded NotFound.
func testStoreHeadMissing(t *testing.T, st *storeTest) {
	_, err := st.store.HeadObject(t.Context(), st.bucket, "no/such key+ü")
	se := storeErr(t, err)
	if diff := cmp.Diff(&StoreError{Op: "HeadObject", StatusCode: 404, Code: "NotFound", Message: "Not Found"}, se,
		cmpopts.IgnoreFields(StoreError{}, "RequestID")); diff != "" {
		t.Errorf("HeadObject of a missing key (-want +got):\n%s", diff)
	}
}

// x-amz-mp-object-size: Versity Gateway refuses a total of another size;
// MinIO ignores the header (no reference to it in its source, see
// ../shared/reference/stores-and-credentials.md §4) and completes.
func testStoreObjectSize(t *testing.T, st *storeTest) {
	ctx := t.Context()
	key := "size/wrong total.bin"
	id := st.create(t, CreateMultipartInput{Key: key})
	data := []byte("twelve bytes")
	etag := st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: 1}, data)
	_, err := st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id,
		Parts: []CompletedPart{{PartNumber: 1, ETag: etag}}, ObjectSize: int64(len(data)) + 1})
	switch st.srv.Name {
	case "versitygw":
		if se := storeErr(t, err); se.StatusCode != http.StatusBadRequest || se.Code != "InvalidRequest" {
			t.Errorf("Complete with a wrong x-amz-mp-object-size: %+v, want 400 InvalidRequest", se)
		}
		if _, ok := st.srv.GetObject(t, key); ok {
			t.Errorf("the refused upload left an object")
		}
		if err := st.store.AbortMultipartUpload(ctx, st.bucket, key, id); err != nil {
			t.Errorf("abort: %v", err)
		}
	case "minio":
		if err != nil {
			t.Fatalf("MinIO ignored x-amz-mp-object-size so far, but refused: %v", err)
		}
		t.Logf("MinIO completed despite x-amz-mp-object-size %d for %d bytes: it ignores the header", len(data)+1, len(data))
		if info, err := st.store.HeadObject(ctx, st.bucket, key); err != nil || info.Size != int64(len(data)) {
			t.Errorf("HeadObject: %+v, %v; want the 12 bytes uploaded", info, err)
		}
	}
}

// A SHA256 COMPOSITE upload: parts signed with their x-amz-checksum-sha256,
// ListParts reports them, Complete must send them back, and the object's
// checksum is the SHA-256 of the parts' SHA-256s, "-2".
func testStoreChecksumComposite(t *testing.T, st *storeTest) {
	ctx := t.Context()
	key := "checksum/composite sha256.bin"
	id := st.create(t, CreateMultipartInput{Key: key, ChecksumAlgorithm: "SHA256", ChecksumType: "COMPOSITE"})
	part1, part2 := randBytes(5<<20), randBytes(100)
	sum1, sum2 := sha256.Sum256(part1), sha256.Sum256(part2)
	etag1 := st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: 1, ChecksumSHA256: b64SHA256(part1)}, part1)
	// A part whose body does not match its signed checksum is refused
	// (Versity Gateway: BadDigest; MinIO: XAmzContentChecksumMismatch).
	status, _ := st.putPart(t, uploadPart{Bucket: st.bucket, Key: key, UploadID: id, PartNumber: 2, Size: int64(len(part2)),
		ChecksumSHA256: b64SHA256([]byte("other"))}, part2)
	if status != http.StatusBadRequest {
		t.Errorf("a part with the wrong x-amz-checksum-sha256: status %d, want 400", status)
	}
	etag2 := st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: 2, ChecksumSHA256: b64SHA256(part2)}, part2)

	parts, err := st.store.ListParts(ctx, st.bucket, key, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []Part{
		{PartNumber: 1, Size: int64(len(part1)), ETag: etag1, Checksums: map[string]string{"SHA256": b64SHA256(part1)}},
		{PartNumber: 2, Size: int64(len(part2)), ETag: etag2, Checksums: map[string]string{"SHA256": b64SHA256(part2)}},
	}
	if diff := cmp.Diff(want, parts, cmpopts.IgnoreFields(Part{}, "LastModified")); diff != "" {
		t.Errorf("ListParts (-want +got):\n%s", diff)
	}

	// Without the parts' checksums, Complete is refused: Versity Gateway
	// answers as S3 does ("The upload was created using a sha256 checksum.
	// The complete request must include the checksum for each part."),
	// MinIO with InvalidPart.
	_, err = st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id,
		Parts: []CompletedPart{{PartNumber: 1, ETag: etag1}, {PartNumber: 2, ETag: etag2}}})
	wantCode := map[string]string{"versitygw": "InvalidRequest", "minio": "InvalidPart"}[st.srv.Name]
	if se := storeErr(t, err); se.StatusCode != http.StatusBadRequest || se.Code != wantCode {
		t.Errorf("Complete without the parts' checksums: %+v, want 400 %s", se, wantCode)
	}

	obj, err := st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id,
		Parts: completedParts(parts)})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	composite := b64SHA256(append(sum1[:], sum2[:]...)) + "-2"
	if diff := cmp.Diff(map[string]string{"SHA256": composite}, obj.Checksums); diff != "" {
		t.Errorf("Complete's checksums (-want +got):\n%s", diff)
	}
	info, err := st.store.HeadObject(ctx, st.bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"SHA256": composite}, info.Checksums); diff != "" {
		t.Errorf("HeadObject's checksums (-want +got):\n%s", diff)
	}
}

// A CRC64NVME FULL_OBJECT upload: Complete checks the whole object's
// CRC64NVME when it is sent, and the object keeps it.
func testStoreChecksumFullObject(t *testing.T, st *storeTest) {
	ctx := t.Context()
	key := "checksum/full crc64nvme.bin"
	upload := func() (string, []CompletedPart, []byte) {
		id := st.create(t, CreateMultipartInput{Key: key, ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT"})
		part1, part2 := randBytes(5<<20), randBytes(100)
		var parts []CompletedPart
		for i, data := range [][]byte{part1, part2} {
			etag := st.mustPutPart(t, uploadPart{Key: key, UploadID: id, PartNumber: i + 1, ChecksumCRC64NVME: b64CRC64NVME(data)}, data)
			parts = append(parts, CompletedPart{PartNumber: i + 1, ETag: etag, Checksums: map[string]string{"CRC64NVME": b64CRC64NVME(data)}})
		}
		listed, err := st.store.ListParts(ctx, st.bucket, key, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(parts, completedParts(listed)); diff != "" {
			t.Errorf("ListParts (-want +got):\n%s", diff)
		}
		return id, parts, append(part1, part2...)
	}

	// A wrong whole-object checksum is refused.
	id, parts, _ := upload()
	_, err := st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id,
		Parts: parts, ChecksumCRC64NVME: b64CRC64NVME([]byte("other"))})
	wantCode := map[string]string{"versitygw": "BadDigest", "minio": "XAmzContentChecksumMismatch"}[st.srv.Name]
	if se := storeErr(t, err); se.StatusCode != http.StatusBadRequest || se.Code != wantCode {
		t.Errorf("Complete with a wrong x-amz-checksum-crc64nvme: %+v, want 400 %s", se, wantCode)
	}
	if err := st.store.AbortMultipartUpload(ctx, st.bucket, key, id); err != nil {
		t.Errorf("abort: %v", err)
	}

	id, parts, data := upload()
	obj, err := st.store.CompleteMultipartUpload(ctx, CompleteMultipartInput{Bucket: st.bucket, Key: key, UploadID: id,
		Parts: parts, ChecksumCRC64NVME: b64CRC64NVME(data), IfNoneMatch: true, ObjectSize: int64(len(data))})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	want := map[string]string{"CRC64NVME": b64CRC64NVME(data)}
	if diff := cmp.Diff(want, obj.Checksums); diff != "" {
		t.Errorf("Complete's checksums (-want +got):\n%s", diff)
	}
	info, err := st.store.HeadObject(ctx, st.bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, info.Checksums); diff != "" {
		t.Errorf("HeadObject's checksums (-want +got):\n%s", diff)
	}
}

// fakeStore is an S3 store on httptest answering with handler, and the
// Store on it.
func fakeStore(t *testing.T, handler http.HandlerFunc) Store {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	st, err := NewS3Store(Backend{Endpoint: srv.URL, Bucket: "bucket", PathStyle: PathStyleAlways,
		Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}},
		StoreOptions{HTTPClient: srv.Client(), Now: func() time.Time { return fakeStoreTime }})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fakeStoreTime is the clock of fakeStore's Store: every request is
// signed at it (checkSigned).
var fakeStoreTime = time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)

// checkSigned fails unless r carries a header signature over its body.
func checkSigned(t *testing.T, r *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: X-Amz-Content-Sha256 %q, not the body's SHA-256", r.Method, got)
	}
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AK/20260524/") || r.Header.Get("X-Amz-Date") != "20260524T120000Z" {
		t.Errorf("%s: not signed at the store's clock: Authorization %q, X-Amz-Date %q", r.Method, a, r.Header.Get("X-Amz-Date"))
	}
}

// listPartsPage writes a ListParts page as S3 does (the API reference's
// example, with the parts given).
func listPartsPage(w io.Writer, marker, next int, truncated bool, parts ...int) {
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket>
  <Key>a b+c.bin</Key>
  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <Initiator>
    <ID>arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx</ID>
    <DisplayName>umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx</DisplayName>
  </Initiator>
  <Owner>
    <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
    <DisplayName>someName</DisplayName>
  </Owner>
  <StorageClass>STANDARD</StorageClass>
  <PartNumberMarker>%d</PartNumberMarker>
  <NextPartNumberMarker>%d</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>%t</IsTruncated>
`, marker, next, truncated)
	for _, n := range parts {
		fmt.Fprintf(w, `  <Part>
    <PartNumber>%d</PartNumber>
    <LastModified>2010-11-10T20:48:3%d.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d39%d"</ETag>
    <Size>%d</Size>
  </Part>
`, n, n, n, n*1000)
	}
	fmt.Fprint(w, "</ListPartsResult>\n")
}

func TestS3StoreListPartsPagination(t *testing.T) {
	var markers []string
	st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
		checkSigned(t, r, nil)
		if r.Method != "GET" || r.URL.EscapedPath() != "/bucket/a%20b%2Bc.bin" || r.URL.Query().Get("uploadId") != "up+id/1" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		m := r.URL.Query().Get("part-number-marker")
		markers = append(markers, m)
		switch m {
		case "":
			listPartsPage(w, 0, 2, true, 1, 2)
		case "2":
			listPartsPage(w, 2, 4, true, 3, 4)
		case "4":
			listPartsPage(w, 4, 5, false, 5)
		default:
			http.Error(w, "unexpected marker", 400)
		}
	})
	parts, err := st.ListParts(t.Context(), "bucket", "a b+c.bin", "up+id/1")
	if err != nil {
		t.Fatal(err)
	}
	var want []Part
	for n := 1; n <= 5; n++ {
		want = append(want, Part{PartNumber: n, Size: int64(n * 1000), ETag: `"7778aef83f66abc1fa1e8477f296d39` + strconv.Itoa(n) + `"`,
			LastModified: time.Date(2010, 11, 10, 20, 48, 30+n, 0, time.UTC)})
	}
	if diff := cmp.Diff(want, parts); diff != "" {
		t.Errorf("ListParts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"", "2", "4"}, markers); diff != "" {
		t.Errorf("part-number-marker of each page (-want +got):\n%s", diff)
	}
}

// A truncated page whose marker does not move on is an error, not a loop.
func TestS3StoreListPartsStuckMarker(t *testing.T) {
	calls := 0
	st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		listPartsPage(w, 2, 2, true, 1, 2)
	})
	_, err := st.ListParts(t.Context(), "bucket", "k", "u")
	if err == nil || calls > 2 {
		t.Fatalf("err %v after %d calls; want an error after at most 2", err, calls)
	}
	if errors.As(err, new(*StoreError)) {
		t.Errorf("a malformed answer is not the store's refusal: %v", err)
	}
}

// S3 may answer Complete with 200 and then an <Error>: that is a
// *StoreError, with status 200.
func TestS3StoreCompleteErrorIn200(t *testing.T) {
	var gotBody []byte
	st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		checkSigned(t, r, gotBody)
		for name, want := range map[string]string{"If-None-Match": "*", "X-Amz-Mp-Object-Size": "5242881", "Content-Type": "application/xml"} {
			if got := r.Header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		if !strings.Contains(r.Header.Get("Authorization"), "SignedHeaders=content-type;host;if-none-match;x-amz-content-sha256;x-amz-date;x-amz-mp-object-size,") {
			t.Errorf("signed headers: %s", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(200)
		io.WriteString(w, "\n \n \n")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>656c76696e6727732072657175657374</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>`)
	})
	_, err := st.CompleteMultipartUpload(t.Context(), CompleteMultipartInput{Bucket: "bucket", Key: "k", UploadID: "u",
		Parts:       []CompletedPart{{PartNumber: 1, ETag: `"a"`}, {PartNumber: 2, ETag: `"b"`, Checksums: map[string]string{"SHA256": "c2hh"}}},
		IfNoneMatch: true, ObjectSize: 5<<20 + 1})
	var se *StoreError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *StoreError", err)
	}
	want := &StoreError{Op: "CompleteMultipartUpload", StatusCode: 200, Code: "InternalError",
		Message: "We encountered an internal error. Please try again.", RequestID: "656c76696e6727732072657175657374"}
	if diff := cmp.Diff(want, se); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	wantBody := `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
		`<Part><ETag>&#34;a&#34;</ETag><PartNumber>1</PartNumber></Part>` +
		`<Part><ChecksumSHA256>c2hh</ChecksumSHA256><ETag>&#34;b&#34;</ETag><PartNumber>2</PartNumber></Part>` +
		`</CompleteMultipartUpload>`
	if diff := cmp.Diff(wantBody, string(gotBody)); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

// Complete's answer: the ETag and the checksums, after S3's whitespace.
func TestS3StoreCompleteResult(t *testing.T) {
	st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `   <?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://x/bucket/k</Location><Bucket>bucket</Bucket><Key>k</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag><ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>`)
	})
	obj, err := st.CompleteMultipartUpload(t.Context(), CompleteMultipartInput{Bucket: "bucket", Key: "k", UploadID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	want := CompletedObject{ETag: `"3858f62230ac3c915f300c664312c11f-9"`, Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="}}
	if diff := cmp.Diff(want, obj); diff != "" {
		t.Errorf("Complete (-want +got):\n%s", diff)
	}
}

func TestS3StoreErrors(t *testing.T) {
	t.Run("error document", func(t *testing.T) {
		st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Amz-Request-Id", "from-header")
			w.WriteHeader(404)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>u</UploadId><RequestId>from-body</RequestId></Error>`)
		})
		err := st.AbortMultipartUpload(t.Context(), "bucket", "k", "u")
		want := &StoreError{Op: "AbortMultipartUpload", StatusCode: 404, Code: "NoSuchUpload", Message: "The specified upload does not exist.", RequestID: "from-body"}
		if diff := cmp.Diff(want, storeErr(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("HEAD without body", func(t *testing.T) {
		st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Amz-Request-Id", "rid")
			w.WriteHeader(403)
		})
		_, err := st.HeadObject(t.Context(), "bucket", "k")
		want := &StoreError{Op: "HeadObject", StatusCode: 403, Code: "Forbidden", Message: "Forbidden", RequestID: "rid"}
		if diff := cmp.Diff(want, storeErr(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("not S3's", func(t *testing.T) {
		st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, "<html>\n<body>bad gateway</body></html>"+strings.Repeat("x", 1<<20))
		})
		_, err := st.ListParts(t.Context(), "bucket", "k", "u")
		se := storeErr(t, err)
		if se.StatusCode != 502 || se.Code != "" || !strings.HasPrefix(se.Message, "Bad Gateway: <html> <body>bad gateway") || len(se.Message) > 300 {
			t.Errorf("%+v", se)
		}
	})
	t.Run("malformed answers", func(t *testing.T) {
		// A 2xx answer that is not the expected, well-formed document is an
		// error, not the store's refusal.
		for body, want := range map[string]string{
			`<ListPartsResult><Part><PartNumber>1</PartNumber></ListPartsResult>`:                   "reading the answer: XML syntax error",
			`<ListPartsResult><Part><Size>x</Size></Part></ListPartsResult>`:                        `reading the answer: <Size>: strconv.ParseInt`,
			`<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult><more/>`:             "content after the root element",
			`<!DOCTYPE ListPartsResult><ListPartsResult></ListPartsResult>`:                         "200 answer without an XML document",
			`<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>`: "answer is <InitiateMultipartUploadResult>, not <ListPartsResult>",
		} {
			st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
			_, err := st.ListParts(t.Context(), "bucket", "k", "u")
			if err == nil || errors.As(err, new(*StoreError)) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err %v, want an error with %q", body, err, want)
			}
		}
		// An <Error> in a 200, prefixed: the store's refusal.
		st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `<?xml version="1.0"?><s3:Error xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Code>SlowDown</s3:Code><s3:Message>Please reduce your request rate.</s3:Message></s3:Error>`)
		})
		_, err := st.CreateMultipartUpload(t.Context(), CreateMultipartInput{Bucket: "bucket", Key: "k"})
		if se := storeErr(t, err); se.StatusCode != 200 || se.Code != "SlowDown" || se.Message != "Please reduce your request rate." {
			t.Errorf("%+v", se)
		}
	})
	t.Run("answer too long", func(t *testing.T) {
		st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat(" ", maxResultBody)+"<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>")
		})
		_, err := st.CreateMultipartUpload(t.Context(), CreateMultipartInput{Bucket: "bucket", Key: "k"})
		if err == nil || !strings.Contains(err.Error(), "longer than") {
			t.Errorf("err %v, want the answer refused as too long", err)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/bucket/k" {
				t.Errorf("followed the redirect to %s", r.URL)
			}
			w.Header().Set("Location", "/elsewhere/k")
			w.WriteHeader(301)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><RequestId>r</RequestId></Error>`)
		}))
		defer srv.Close()
		st, err := NewS3Store(Backend{Endpoint: srv.URL, Bucket: "bucket", PathStyle: PathStyleAlways,
			Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}}, StoreOptions{}) // the default client
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.ListParts(t.Context(), "bucket", "k", "u")
		if se := storeErr(t, err); se.StatusCode != 301 || se.Code != "PermanentRedirect" {
			t.Errorf("%+v", se)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := st.HeadObject(ctx, "bucket", "k")
		if !errors.Is(err, context.Canceled) || errors.As(err, new(*StoreError)) || !strings.Contains(err.Error(), "HeadObject") {
			t.Errorf("err %v, want context.Canceled wrapped with the operation", err)
		}
	})
}

// The requests as sent: Create's headers, Head's checksum mode, and what
// Head reads of the answer.
func TestS3StoreRequests(t *testing.T) {
	st := fakeStore(t, func(w http.ResponseWriter, r *http.Request) {
		checkSigned(t, r, nil)
		switch r.Method {
		case "POST":
			if _, ok := r.URL.Query()["uploads"]; !ok || r.URL.EscapedPath() != "/bucket/dir/%C3%BC%20x%2By" {
				t.Errorf("create: %s", r.URL)
			}
			for name, want := range map[string]string{"Content-Type": "text/plain", "X-Amz-Meta-Owner": "alice",
				"X-Amz-Checksum-Algorithm": "CRC64NVME", "X-Amz-Checksum-Type": "FULL_OBJECT"} {
				if got := r.Header.Get(name); got != want {
					t.Errorf("create: %s %q, want %q", name, got, want)
				}
			}
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><Key>dir/ü x+y</Key><UploadId>up/1+2</UploadId></InitiateMultipartUploadResult>`)
		case "HEAD":
			if got := r.Header.Get("X-Amz-Checksum-Mode"); got != "ENABLED" {
				t.Errorf("head: x-amz-checksum-mode %q", got)
			}
			h := w.Header()
			h.Set("Content-Length", "5242881")
			h.Set("ETag", `"abc-2"`)
			h.Set("Content-Type", "text/plain")
			h.Set("Last-Modified", "Sun, 24 May 2026 12:00:00 GMT")
			h.Set("X-Amz-Meta-Owner", "alice")
			h.Set("x-amz-checksum-crc64nvme", "AAAAAAAAAAA=")
			h.Set("x-amz-checksum-type", "FULL_OBJECT")
		}
	})
	id, err := st.CreateMultipartUpload(t.Context(), CreateMultipartInput{Bucket: "bucket", Key: "dir/ü x+y", ContentType: "text/plain",
		Metadata: map[string]string{"owner": "alice"}, ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT"})
	if err != nil || id != "up/1+2" {
		t.Fatalf("create: %q, %v", id, err)
	}
	info, err := st.HeadObject(t.Context(), "bucket", "dir/ü x+y")
	if err != nil {
		t.Fatal(err)
	}
	want := ObjectInfo{Size: 5<<20 + 1, ETag: `"abc-2"`, ContentType: "text/plain", LastModified: time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC),
		Metadata: map[string]string{"owner": "alice"}, Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="}}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("HeadObject (-want +got):\n%s", diff)
	}
}

func TestNewS3StoreValidates(t *testing.T) {
	_, err := NewS3Store(Backend{Endpoint: "ftp://x"}, StoreOptions{})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("err %v, want Problems", err)
	}
}

// The part URL signs content-length, the part number and the upload ID,
// and the checksums given; no content-type.
func TestSignUploadPart(t *testing.T) {
	s := newS3Signer(Backend{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", Bucket: "bucket", PathStyle: PathStyleAlways,
		Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}}.WithDefaults())
	g, _ := s.signPart(context.Background(), uploadPart{Bucket: "bucket", Key: "a b+c.bin", UploadID: "u+/=", PartNumber: 7, Size: 5 << 20, ChecksumSHA256: "c2hh"}, testTime, 15*time.Minute)
	if g.Method != "PUT" || !strings.HasPrefix(g.URL, "http://127.0.0.1:9000/bucket/a%20b%2Bc.bin?") ||
		!strings.Contains(g.URL, "partNumber=7&") || !strings.Contains(g.URL, "uploadId=u%2B%2F%3D") ||
		!strings.Contains(g.URL, "X-Amz-SignedHeaders=content-length%3Bhost%3Bx-amz-checksum-sha256&") {
		t.Errorf("grant %s %s", g.Method, g.URL)
	}
	if diff := cmp.Diff(map[string]string{"Content-Length": "5242880", "x-amz-checksum-sha256": "c2hh"}, g.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

// Which algorithm and type pairs each store takes at Create. S3 allows
// FULL_OBJECT with the CRCs only, COMPOSITE with all but CRC64NVME, and
// x-amz-checksum-type only with an algorithm.
func testStoreChecksumTypes(t *testing.T, st *storeTest) {
	tests := []struct {
		alg, typ string
		refused  map[string]string // store name: error code; absent: taken
	}{
		{"CRC64NVME", "FULL_OBJECT", nil},
		{"CRC64NVME", "", nil},
		{"CRC32", "FULL_OBJECT", nil},
		{"CRC32C", "COMPOSITE", nil},
		{"SHA1", "COMPOSITE", nil},
		{"SHA256", "", nil},
		{"SHA256", "FULL_OBJECT", map[string]string{"versitygw": "InvalidRequest", "minio": "InvalidArgument"}},
		// MinIO takes what S3 refuses.
		{"CRC64NVME", "COMPOSITE", map[string]string{"versitygw": "InvalidRequest"}},
		{"", "COMPOSITE", map[string]string{"versitygw": "InvalidRequest"}},
	}
	for _, tt := range tests {
		key := "types/" + tt.alg + "-" + tt.typ
		id, err := st.store.CreateMultipartUpload(t.Context(), CreateMultipartInput{Bucket: st.bucket, Key: key, ChecksumAlgorithm: tt.alg, ChecksumType: tt.typ})
		if code, refused := tt.refused[st.srv.Name]; refused {
			if se := storeErr(t, err); se.StatusCode != http.StatusBadRequest || se.Code != code {
				t.Errorf("%s %s: %+v, want 400 %s", tt.alg, tt.typ, se, code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", tt.alg, tt.typ, err)
			continue
		}
		if err := st.store.AbortMultipartUpload(t.Context(), st.bucket, key, id); err != nil {
			t.Errorf("abort: %v", err)
		}
	}
}
