package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"presign.dev/httpapi"
)

// UploadRules are what the API under test allows its key (Target.APIKey),
// for the cases that test the limits: uploads without a key (Companion's)
// get a generated key under CappedPrefix and at most CappedMaxSize bytes;
// keys under FixedPrefix may not be overwritten. The zero value (presign
// dev, which allows everything) runs the other cases only.
type UploadRules struct {
	CappedPrefix  string
	CappedMaxSize int64
	FixedPrefix   string
	// OtherAPIKey is a second caller, whose calls with the first's upload
	// tokens must be refused; "" skips those cases.
	OtherAPIKey string
}

const mib = 1 << 20

// RunUploads runs the multipart upload cases — the JSON API and
// Companion's routes at /companion — against tg, whose API has uploads
// configured, and checks each object in the store.
func RunUploads(t *testing.T, tg Target, rules UploadRules) {
	t.Run("one part", func(t *testing.T) { uploadWhole(t, tg, "uploads/one-part.bin", randomBytes(t, 1000)) })
	t.Run("several parts, the last one short", func(t *testing.T) {
		uploadWhole(t, tg, "uploads/three-parts.bin", randomBytes(t, 11*mib+3))
	})
	t.Run("empty file", func(t *testing.T) { uploadWhole(t, tg, "uploads/empty.bin", []byte{}) })
	t.Run("resume after a reload", func(t *testing.T) { testResume(t, tg) })
	t.Run("the store refuses parts other than signed", func(t *testing.T) { testPartRefusals(t, tg) })
	t.Run("tokens presign refuses", func(t *testing.T) { testTokenRefusals(t, tg, rules) })
	t.Run("a missing part at complete", func(t *testing.T) { testMissingPart(t, tg) })
	t.Run("abort leaves no parts", func(t *testing.T) { testAbort(t, tg) })
	t.Run("checksums the store verifies", func(t *testing.T) { testUploadChecksums(t, tg) })
	t.Run("verified completion of a put and a post", func(t *testing.T) { testVerifiedSingle(t, tg) })
	t.Run("companion routes", func(t *testing.T) { testCompanionFlow(t, tg) })
	if rules.CappedPrefix != "" {
		t.Run("over the limit at complete: aborted", func(t *testing.T) { testOverLimit(t, tg, rules) })
		t.Run("complete over an existing key without overwrite", func(t *testing.T) { testCompleteNoOverwrite(t, tg, rules) })
	}
}

func startUpload(t *testing.T, tg Target, req map[string]any) httpapi.UploadStartResponse {
	t.Helper()
	status, body := callAPI(t, tg, "POST", "/v1/uploads", req)
	expectStatus(t, "POST /v1/uploads", status, body, 200)
	var up httpapi.UploadStartResponse
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	return up
}

func signParts(t *testing.T, tg Target, token string, numbers ...int) []httpapi.PartURL {
	t.Helper()
	status, body := callAPI(t, tg, "POST", "/v1/uploads/parts", map[string]any{"upload": token, "part_numbers": numbers})
	expectStatus(t, "POST /v1/uploads/parts", status, body, 200)
	var resp httpapi.PartsResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Parts
}

// partBytes returns part n (1-based) of data in parts of size.
func partBytes(data []byte, size int64, n int) []byte {
	lo := min(int64(len(data)), int64(n-1)*size)
	return data[lo:min(int64(len(data)), lo+size)]
}

// refusedMidBody is putPart's status for a connection the store closed
// before the whole body was sent.
const refusedMidBody = 499

// putPart sends a part and returns the store's status, ETag and body.
func putPart(t *testing.T, p httpapi.PartURL, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("PUT", p.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.Headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		// The store answered and closed the connection while the body was
		// still going (Versity Gateway does, for a part longer than
		// signed): refused, status unknown.
		return refusedMidBody, "", []byte(err.Error())
	}
	if err != nil {
		t.Fatalf("PUT part %d: %v", p.PartNumber, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), b
}

func completeUpload(t *testing.T, tg Target, token string, parts []httpapi.CompletePart) (int, []byte) {
	t.Helper()
	req := map[string]any{"upload": token}
	if parts != nil {
		req["parts"] = parts
	}
	return callAPI(t, tg, "POST", "/v1/uploads/complete", req)
}

// uploadWhole uploads data to key through the JSON API, part by part,
// completes, and checks the object and the answer.
func uploadWhole(t *testing.T, tg Target, key string, data []byte) {
	up := startUpload(t, tg, map[string]any{"key": key, "content_type": "application/x-test", "size": len(data)})
	wantParts := max(1, (len(data)+5*mib-1)/(5*mib))
	if up.Key != key || up.PartSize != 5*mib || up.PartCount != wantParts {
		t.Fatalf("upload %+v; want key %s, 5 MiB parts, %d of them", up, key, wantParts)
	}
	numbers := make([]int, up.PartCount)
	for i := range numbers {
		numbers[i] = i + 1
	}
	var done []httpapi.CompletePart
	for _, p := range signParts(t, tg, up.Upload, numbers...) {
		body := partBytes(data, up.PartSize, p.PartNumber)
		if p.Headers["Content-Length"] != strconv.Itoa(len(body)) {
			t.Fatalf("part %d signs Content-Length %s, want %d", p.PartNumber, p.Headers["Content-Length"], len(body))
		}
		status, etag, rb := putPart(t, p, body)
		expectStatus(t, fmt.Sprintf("PUT part %d", p.PartNumber), status, rb, 200)
		done = append(done, httpapi.CompletePart{PartNumber: p.PartNumber, ETag: etag})
	}
	status, body := completeUpload(t, tg, up.Upload, done)
	expectStatus(t, "complete", status, body, 200)
	var got httpapi.CompleteResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Key != key || got.Size != int64(len(data)) || got.ContentType != "application/x-test" || got.ETag == "" {
		t.Errorf("complete answered %+v", got)
	}
	expectObject(t, tg, key, data)
	if ct, size, _ := tg.Store.HeadObject(t, key); ct != "application/x-test" || size != int64(len(data)) {
		t.Errorf("the store holds %s, %d bytes", ct, size)
	}
	// Idempotent: the same answer again.
	status, again := completeUpload(t, tg, up.Upload, nil)
	expectStatus(t, "complete again", status, again, 200)
	if !sameCompletion(t, body, again) {
		t.Errorf("complete again answered %s, first %s", again, body)
	}
}

// sameCompletion reports whether two answers of complete for one upload
// say the same: every field but the receipt, which a service with receipt
// keys (presign dev's) signs afresh for each answer, with its own iat and
// unique jti. A receipt, when there is one, is a compact JWS.
func sameCompletion(t *testing.T, a, b []byte) bool {
	t.Helper()
	var ma, mb map[string]any
	if err := json.Unmarshal(a, &ma); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &mb); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{ma, mb} {
		if r, ok := m["receipt"]; ok {
			if s, _ := r.(string); strings.Count(s, ".") != 2 {
				t.Errorf("receipt %v is not a compact JWS", r)
			}
		}
	}
	_, ra := ma["receipt"]
	_, rb := mb["receipt"]
	delete(ma, "receipt")
	delete(mb, "receipt")
	return ra == rb && reflect.DeepEqual(ma, mb)
}

func testResume(t *testing.T, tg Target) {
	key := "uploads/resumed.bin"
	data := randomBytes(t, 11*mib+3)
	up := startUpload(t, tg, map[string]any{"key": key, "size": len(data)})
	first := signParts(t, tg, up.Upload, 1, 2, 3)
	status, _, body := putPart(t, first[0], partBytes(data, up.PartSize, 1))
	expectStatus(t, "PUT part 1", status, body, 200)

	// The page reloads: all the client has is the token.
	status, body = callAPI(t, tg, "POST", "/v1/uploads/list", map[string]any{"upload": up.Upload})
	expectStatus(t, "list", status, body, 200)
	var listed httpapi.ListPartsResponse
	if err := json.Unmarshal(body, &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Parts) != 1 || listed.Parts[0].PartNumber != 1 || listed.Parts[0].Size != 5*mib || listed.Parts[0].ETag == "" {
		t.Fatalf("listed %+v; want part 1 of 5 MiB", listed.Parts)
	}
	parts := []httpapi.CompletePart{{PartNumber: 1, ETag: listed.Parts[0].ETag}}
	for _, p := range signParts(t, tg, up.Upload, 2, 3) { // re-signed
		status, etag, body := putPart(t, p, partBytes(data, up.PartSize, p.PartNumber))
		expectStatus(t, fmt.Sprintf("PUT part %d", p.PartNumber), status, body, 200)
		parts = append(parts, httpapi.CompletePart{PartNumber: p.PartNumber, ETag: etag})
	}
	status, body = completeUpload(t, tg, up.Upload, parts)
	expectStatus(t, "complete", status, body, 200)
	expectObject(t, tg, key, data)
}

func testPartRefusals(t *testing.T, tg Target) {
	data := randomBytes(t, 6*mib)
	up := startUpload(t, tg, map[string]any{"key": "uploads/refused.bin", "size": len(data)})
	other := startUpload(t, tg, map[string]any{"key": "uploads/refused.bin", "size": len(data)})
	ps := signParts(t, tg, up.Upload, 1, 2)
	one, two := partBytes(data, up.PartSize, 1), partBytes(data, up.PartSize, 2)

	status, _, body := putPart(t, ps[0], append(append([]byte{}, one...), 0))
	expectRefused(t, "a part one byte longer than signed", status, body)
	status, _, body = putPart(t, ps[0], one[:len(one)-1])
	expectRefused(t, "a part one byte shorter than signed", status, body)

	// Part 2's URL used for part 1 (same size: 5 MiB part URLs differ only
	// in the part number), and for another upload.
	p := ps[0]
	p.URL = strings.Replace(p.URL, "partNumber=1&", "partNumber=2&", 1)
	if p.URL == ps[0].URL {
		t.Fatalf("no partNumber=1 in %s", ps[0].URL)
	}
	status, _, body = putPart(t, p, one)
	expectRefused(t, "part 1's URL used for part 2", status, body)
	p = ps[0]
	u, _ := url.Parse(p.URL)
	q := u.Query()
	q.Set("uploadId", uploadIDOf(t, signParts(t, tg, other.Upload, 1)[0].URL))
	u.RawQuery = q.Encode()
	p.URL = u.String()
	status, _, body = putPart(t, p, one)
	expectRefused(t, "a part URL used for another upload", status, body)

	parts := listParts(t, tg, up.Upload)
	if len(parts) != 0 {
		t.Fatalf("the store kept refused parts: %+v", parts)
	}
	// The right bytes still go.
	status, _, body = putPart(t, ps[1], two)
	expectStatus(t, "PUT part 2", status, body, 200)
	for _, token := range []string{up.Upload, other.Upload} {
		status, body = callAPI(t, tg, "POST", "/v1/uploads/abort", map[string]any{"upload": token})
		expectStatus(t, "abort", status, body, 200)
	}
}

func uploadIDOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("uploadId")
}

func listParts(t *testing.T, tg Target, token string) []httpapi.ListedPart {
	t.Helper()
	status, body := callAPI(t, tg, "POST", "/v1/uploads/list", map[string]any{"upload": token})
	expectStatus(t, "list", status, body, 200)
	var listed httpapi.ListPartsResponse
	if err := json.Unmarshal(body, &listed); err != nil {
		t.Fatal(err)
	}
	return listed.Parts
}

func testTokenRefusals(t *testing.T, tg Target, rules UploadRules) {
	up := startUpload(t, tg, map[string]any{"key": "uploads/tokens.bin", "size": 10})
	tampered := []byte(up.Upload)
	tampered[len(tampered)-3] ^= 1
	cases := []struct {
		name, key, token string
		want             int
	}{
		{"tampered", tg.APIKey, string(tampered), 401},
		{"not a token", tg.APIKey, "u1.x.AAAA", 401},
	}
	if rules.OtherAPIKey != "" {
		cases = append(cases, struct {
			name, key, token string
			want             int
		}{"another caller's", rules.OtherAPIKey, up.Upload, 403})
	}
	for _, c := range cases {
		for _, call := range []struct {
			path string
			body map[string]any
		}{
			{"/v1/uploads/parts", map[string]any{"upload": c.token, "part_numbers": []int{1}}},
			{"/v1/uploads/list", map[string]any{"upload": c.token}},
			{"/v1/uploads/complete", map[string]any{"upload": c.token}},
			{"/v1/uploads/abort", map[string]any{"upload": c.token}},
		} {
			status, body := callAs(t, tg, c.key, "POST", call.path, call.body)
			expectStatus(t, c.name+" token at "+call.path, status, body, c.want)
			if bytes.Contains(body, []byte("X-Amz-Signature")) {
				t.Fatalf("%s token at %s: something was signed: %s", c.name, call.path, body)
			}
		}
	}
	// The upload is untouched by the refused calls.
	p := signParts(t, tg, up.Upload, 1)[0]
	status, _, body := putPart(t, p, randomBytes(t, 10))
	expectStatus(t, "PUT after refusals", status, body, 200)
}

func testMissingPart(t *testing.T, tg Target) {
	data := randomBytes(t, 5*mib+10)
	up := startUpload(t, tg, map[string]any{"key": "uploads/missing.bin", "size": len(data)})
	p := signParts(t, tg, up.Upload, 2)[0]
	status, _, body := putPart(t, p, partBytes(data, up.PartSize, 2))
	expectStatus(t, "PUT part 2", status, body, 200)
	status, body = completeUpload(t, tg, up.Upload, nil)
	expectStatus(t, "complete without part 1", status, body, 400)
	if !bytes.Contains(body, []byte("part 1 of 2 is missing")) {
		t.Errorf("the refusal does not say which part: %s", body)
	}
	expectNoObject(t, tg, "uploads/missing.bin")
}

func testAbort(t *testing.T, tg Target) {
	key := "uploads/aborted.bin"
	data := randomBytes(t, 5*mib+10)
	up := startUpload(t, tg, map[string]any{"key": key, "size": len(data)})
	p := signParts(t, tg, up.Upload, 1)[0]
	status, _, body := putPart(t, p, partBytes(data, up.PartSize, 1))
	expectStatus(t, "PUT part 1", status, body, 200)
	id := uploadIDOf(t, p.URL)
	for range 2 { // idempotent
		status, body = callAPI(t, tg, "POST", "/v1/uploads/abort", map[string]any{"upload": up.Upload})
		expectStatus(t, "abort", status, body, 200)
		if string(bytes.TrimSpace(body)) != "{}" {
			t.Errorf("abort answered %s", body)
		}
	}
	expectNoUpload(t, tg, key, id)
	status, body = completeUpload(t, tg, up.Upload, nil)
	expectStatus(t, "complete after abort", status, body, 404)
	expectNoObject(t, tg, key)
}

// expectNoUpload asserts, with the store's own client, that the upload is
// gone: ListParts answers NoSuchUpload.
func expectNoUpload(t *testing.T, tg Target, key, uploadID string) {
	t.Helper()
	_, err := tg.Store.Client().ListParts(context.Background(), &s3.ListPartsInput{
		Bucket: aws.String(tg.Store.Bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "NoSuchUpload" {
		t.Fatalf("ListParts of the aborted upload: %v; want NoSuchUpload", err)
	}
}

// testCompanionFlow drives Companion's routes as @uppy/aws-s3 does — no
// size declared, one sign call per part — with the API key in the
// Authorization header (5.x) and then with a path token (6.x).
func testCompanionFlow(t *testing.T, tg Target) {
	data := randomBytes(t, 5*mib+7)
	for _, viaPath := range []bool{false, true} {
		base, key := "/companion", tg.APIKey
		if viaPath {
			status, body := callAPI(t, tg, "POST", "/v1/tokens", map[string]any{"expires_in": 600})
			expectStatus(t, "POST /v1/tokens", status, body, 200)
			var pt httpapi.PathTokenResponse
			if err := json.Unmarshal(body, &pt); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(pt.CompanionEndpoint, tg.API+"/companion/t/") {
				t.Fatalf("companion_endpoint %q", pt.CompanionEndpoint)
			}
			base, key = strings.TrimPrefix(pt.CompanionEndpoint, tg.API), ""
		}
		status, body := callAs(t, tg, key, "POST", base+"/s3/multipart", map[string]any{
			"filename": "companion.bin", "type": "application/x-test", "metadata": map[string]any{"name": "companion.bin", "type": "application/x-test"}})
		expectStatus(t, "create", status, body, 200)
		var created struct{ Key, UploadID, Bucket string }
		if err := json.Unmarshal(body, &created); err != nil || created.UploadID == "" || created.Key == "" {
			t.Fatalf("create answered %s (%v)", body, err)
		}
		q := "?key=" + url.QueryEscape(created.Key)
		var parts []map[string]any
		for n := 1; n <= 2; n++ {
			status, body := callAs(t, tg, key, "GET", base+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/"+strconv.Itoa(n)+q, nil)
			expectStatus(t, "sign part", status, body, 200)
			var signed struct {
				URL     string
				Expires int64
			}
			if err := json.Unmarshal(body, &signed); err != nil {
				t.Fatal(err)
			}
			status, etag, rb := putPart(t, httpapi.PartURL{PartNumber: n, URL: signed.URL}, partBytes(data, 5*mib, n))
			expectStatus(t, "PUT part", status, rb, 200)
			parts = append(parts, map[string]any{"PartNumber": n, "ETag": strings.Trim(etag, `"`)})
		}
		status, body = callAs(t, tg, key, "GET", base+"/s3/multipart/"+url.PathEscape(created.UploadID)+q, nil)
		expectStatus(t, "list", status, body, 200)
		var listed []struct {
			PartNumber int
			Size       int64
		}
		if err := json.Unmarshal(body, &listed); err != nil || len(listed) != 2 || listed[1].PartNumber != 2 || listed[1].Size != 7 {
			t.Fatalf("list answered %s (%v)", body, err)
		}
		status, body = callAs(t, tg, key, "POST", base+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/complete"+q, map[string]any{"parts": parts})
		expectStatus(t, "complete", status, body, 200)
		var done struct{ Location, Key, Bucket string }
		if err := json.Unmarshal(body, &done); err != nil || done.Key != created.Key || done.Location == "" {
			t.Fatalf("complete answered %s (%v)", body, err)
		}
		expectObject(t, tg, created.Key, data)
		sum := sha256.Sum256(data)
		got, _ := tg.Store.GetObject(t, created.Key)
		if sha256.Sum256(got) != sum {
			t.Fatal("the object's SHA-256 differs")
		}
	}
}

func testOverLimit(t *testing.T, tg Target, rules UploadRules) {
	status, body := callAPI(t, tg, "POST", "/v1/uploads", map[string]any{"filename": "over.bin", "size": rules.CappedMaxSize + 1})
	expectStatus(t, "a declared size over the limit", status, body, 413)

	// Companion's protocol declares no size: the parts go up unsigned for
	// size, and complete finds the total over the limit.
	status, body = callAPI(t, tg, "POST", "/companion/s3/multipart", map[string]any{"filename": "over.bin", "type": "application/octet-stream"})
	expectStatus(t, "create", status, body, 200)
	var created struct{ Key, UploadID string }
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Key, rules.CappedPrefix) {
		t.Fatalf("the capped rule did not take the upload: key %q", created.Key)
	}
	q := "?key=" + url.QueryEscape(created.Key)
	partSize := 5 * mib
	n := int(rules.CappedMaxSize/int64(partSize)) + 1 // one part more than the limit holds
	var parts []map[string]any
	var id string
	for i := 1; i <= n; i++ {
		status, body := callAPI(t, tg, "GET", "/companion/s3/multipart/"+url.PathEscape(created.UploadID)+"/"+strconv.Itoa(i)+q, nil)
		expectStatus(t, "sign part", status, body, 200)
		var signed struct{ URL string }
		_ = json.Unmarshal(body, &signed)
		status, etag, rb := putPart(t, httpapi.PartURL{PartNumber: i, URL: signed.URL}, randomBytes(t, partSize))
		expectStatus(t, "PUT part", status, rb, 200)
		parts = append(parts, map[string]any{"PartNumber": i, "ETag": etag})
		id = uploadIDOf(t, signed.URL)
	}
	status, body = callAPI(t, tg, "POST", "/companion/s3/multipart/"+url.PathEscape(created.UploadID)+"/complete"+q, map[string]any{"parts": parts})
	expectStatus(t, "complete over the limit", status, body, 413)
	expectNoObject(t, tg, created.Key)
	expectNoUpload(t, tg, created.Key, id)
}

func testCompleteNoOverwrite(t *testing.T, tg Target, rules UploadRules) {
	key := rules.FixedPrefix + "exists.bin"
	tg.Store.PutObject(t, key, []byte("first"))
	data := randomBytes(t, 100)
	up := startUpload(t, tg, map[string]any{"key": key, "size": len(data)})
	p := signParts(t, tg, up.Upload, 1)[0]
	status, _, body := putPart(t, p, data)
	expectStatus(t, "PUT part", status, body, 200)
	status, body = completeUpload(t, tg, up.Upload, nil)
	expectStatus(t, "complete over an existing key", status, body, 403)
	expectObject(t, tg, key, []byte("first"))
}

// crc64NVME is S3's CRC-64/NVME (hash/crc64 takes the reversed polynomial).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

func b64CRC64NVME(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, crc64.Checksum(b, crc64NVME)))
}

func b64SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// testUploadChecksums: a whole-object CRC64NVME (every part's signed, the
// whole verified by the store at complete), and per-part SHA-256s.
func testUploadChecksums(t *testing.T, tg Target) {
	data := randomBytes(t, 5*mib+100)
	one, two := data[:5*mib], data[5*mib:]
	up := startUpload(t, tg, map[string]any{"key": "uploads/crc.bin", "size": len(data), "checksum_crc64nvme": b64CRC64NVME(data)})
	status, body := callAPI(t, tg, "POST", "/v1/uploads/parts", map[string]any{"upload": up.Upload, "part_numbers": []int{1, 2}})
	expectStatus(t, "parts without their CRC64NVME", status, body, 400)
	status, body = callAPI(t, tg, "POST", "/v1/uploads/parts", map[string]any{"upload": up.Upload, "part_numbers": []int{1, 2},
		"checksums": []map[string]any{{"part_number": 1, "checksum_crc64nvme": b64CRC64NVME(one)}, {"part_number": 2, "checksum_crc64nvme": b64CRC64NVME(one)}}})
	expectStatus(t, "parts", status, body, 200)
	var resp httpapi.PartsResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	status, _, rb := putPart(t, resp.Parts[1], two)
	expectRefused(t, "part 2 under part 1's CRC64NVME", status, rb)
	status, _, rb = putPart(t, resp.Parts[0], one)
	expectStatus(t, "part 1", status, rb, 200)
	status, body = callAPI(t, tg, "POST", "/v1/uploads/parts", map[string]any{"upload": up.Upload, "part_numbers": []int{2},
		"checksums": []map[string]any{{"part_number": 2, "checksum_crc64nvme": b64CRC64NVME(two)}}})
	expectStatus(t, "part 2 signed again", status, body, 200)
	resp = httpapi.PartsResponse{} // json.Unmarshal would merge into the old headers
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	status, _, rb = putPart(t, resp.Parts[0], two)
	expectStatus(t, "part 2", status, rb, 200)
	status, body = completeUpload(t, tg, up.Upload, nil)
	expectStatus(t, "complete", status, body, 200)
	var done httpapi.CompleteResponse
	if err := json.Unmarshal(body, &done); err != nil || done.Checksum != "crc64nvme:"+b64CRC64NVME(data) {
		t.Errorf("complete answered %s (%v); want the whole object's CRC64NVME", body, err)
	}
	expectObject(t, tg, "uploads/crc.bin", data)

	// Per-part SHA-256s, on an upload without a whole-object checksum.
	up = startUpload(t, tg, map[string]any{"key": "uploads/sha.bin", "size": 100})
	part := data[:100]
	status, body = callAPI(t, tg, "POST", "/v1/uploads/parts", map[string]any{"upload": up.Upload, "part_numbers": []int{1},
		"checksums": []map[string]any{{"part_number": 1, "checksum_sha256": b64SHA256(part)}}})
	expectStatus(t, "parts", status, body, 200)
	resp = httpapi.PartsResponse{}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	other := append([]byte{part[0] ^ 1}, part[1:]...)
	status, _, rb = putPart(t, resp.Parts[0], other)
	expectRefused(t, "a part whose bytes are not its signed SHA-256", status, rb)
	status, _, rb = putPart(t, resp.Parts[0], part)
	expectStatus(t, "part 1", status, rb, 200)
	status, body = completeUpload(t, tg, up.Upload, nil)
	expectStatus(t, "complete", status, body, 200)
	expectObject(t, tg, "uploads/sha.bin", part)
}

// testVerifiedSingle: a put's and a post's grants carry an upload token;
// complete finds the object by its stamp and checks it against the grant.
func testVerifiedSingle(t *testing.T, tg Target) {
	data := randomBytes(t, 3000)
	sha := b64SHA256(data)
	g := presignJSON(t, tg, map[string]any{"op": "put", "key": "uploads/verified.bin", "content_type": "application/x-test",
		"content_length": len(data), "checksum_sha256": sha})
	if g.Upload == "" || g.Headers["x-amz-meta-presign-upload"] == "" {
		t.Fatalf("grant %+v: no upload token or stamp", g)
	}
	status, body := completeUpload(t, tg, g.Upload, nil)
	expectStatus(t, "complete before the upload", status, body, 404)
	status, body = use(t, "PUT", g.URL, g.Headers, data)
	expectStatus(t, "PUT", status, body, 200)
	status, body = completeUpload(t, tg, g.Upload, nil)
	expectStatus(t, "complete", status, body, 200)
	var done httpapi.CompleteResponse
	if err := json.Unmarshal(body, &done); err != nil {
		t.Fatal(err)
	}
	want := httpapi.CompleteResponse{Key: "uploads/verified.bin", Bucket: tg.Store.Bucket, Size: int64(len(data)), ETag: done.ETag,
		ContentType: "application/x-test", Checksum: "sha256:" + sha, Receipt: done.Receipt} // the receipt, if any: see sameCompletion
	if !reflect.DeepEqual(done, want) || done.ETag == "" {
		t.Errorf("complete answered %+v, want %+v", done, want)
	}
	status, again := completeUpload(t, tg, g.Upload, nil)
	expectStatus(t, "complete again", status, again, 200)
	if !sameCompletion(t, body, again) {
		t.Errorf("complete again answered %s, first %s", again, body)
	}
	// Another upload at the key since: not this grant's object. MinIO
	// drops the stamp with the old object (404); Versity Gateway keeps an
	// object's metadata when a PUT without metadata replaces it, stamp
	// included, and the size check refuses it (400).
	tg.Store.PutObject(t, "uploads/verified.bin", []byte("someone else"))
	status, body = completeUpload(t, tg, g.Upload, nil)
	expectStatus(t, "complete after the object was replaced", status, body, map[string]int{"minio": 404, "versitygw": 400}[tg.Flavor])

	// A POST form: the stamp is one of its signed fields.
	form := presignJSON(t, tg, map[string]any{"op": "post", "key": "uploads/form.txt", "content_type": "text/plain"})
	if form.Upload == "" || form.Fields["x-amz-meta-presign-upload"] == "" {
		t.Fatalf("post grant %+v: no upload token or stamp", form)
	}
	status, body = postForm(t, form.URL, form.Fields, "text/plain", []byte("a form upload"))
	expectStatus(t, "POST", status, body, 201, 204)
	status, body = completeUpload(t, tg, form.Upload, nil)
	expectStatus(t, "complete of the post", status, body, 200)
	if err := json.Unmarshal(body, &done); err != nil || done.Key != form.Key || done.Size != int64(len("a form upload")) || done.ContentType != "text/plain" {
		t.Errorf("complete of the post answered %s", body)
	}
}
