package presign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// Bounds of what the S3 store reads of a response.
const (
	// maxErrorBody bounds an error document (S3's are well under 1 KiB);
	// what is past it is not read.
	maxErrorBody = 64 << 10
	// maxResultBody bounds the result of Create and Complete. S3 may send
	// whitespace while it assembles the parts, before the document.
	maxResultBody = 1 << 20
	// maxListPartsBody bounds one ListParts page: S3 sends up to 1,000 parts
	// a page, MinIO up to 10,000, each some 300 bytes.
	maxListPartsBody = 16 << 20
	// maxPartNumber is S3's highest part number.
	maxPartNumber = 10000
)

// checksumAlgorithms are the S3 checksum algorithms, as the names of
// x-amz-checksum-<algorithm> (lower-cased) and of XML Checksum<algorithm>
// elements.
var checksumAlgorithms = [...]string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// s3Store is the Store of an S3-compatible backend: requests signed in
// their headers with the backend's credentials (sigv4.Signer.SignHeaders),
// sent with net/http.
type s3Store struct {
	endpoint
	keys   *sigv4Keys
	client *http.Client
	now    func() time.Time
}

// StoreOptions are a store's inputs besides its backend.
type StoreOptions struct {
	// HTTPClient sends the requests; nil means one with timeouts fit for
	// these calls (see newStoreHTTPClient).
	HTTPClient *http.Client
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
}

// NewS3Store returns the Store of backend b, which it validates (the error
// is then a Problems).
func NewS3Store(b Backend, o StoreOptions) (Store, error) {
	if ps := b.Validate(); len(ps) > 0 {
		return nil, ps
	}
	return newS3Store(b.WithDefaults(), o), nil
}

// newS3Store returns the Store of the valid b (with defaults).
func newS3Store(b Backend, o StoreOptions) *s3Store {
	if o.HTTPClient == nil {
		o.HTTPClient = newStoreHTTPClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &s3Store{endpoint: newEndpoint(b), keys: newSigV4Keys(b), client: o.HTTPClient, now: o.Now}
}

// newStoreHTTPClient returns the client NewS3Store uses by default: a
// connection within 10s and its TLS handshake within 10s more, a whole call
// within 10 minutes, and redirects not followed, so that a redirect (S3's 301
// PermanentRedirect for a bucket in another region) is an error answer.
// There is no shorter bound on waiting for an answer: MinIO and Versity
// Gateway answer Complete only once the parts are assembled, which takes a
// while for a large object. A caller's context may end any call sooner.
func newStoreHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{
		Transport:     t,
		Timeout:       10 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// call is one request to the store.
type call struct {
	op      string // S3 operation, for errors
	method  string
	bucket  string
	key     string
	query   []sigv4.Param
	headers []sigv4.Header // sent and signed
	body    []byte
}

// do signs and sends c. A request that got no answer is an error wrapped
// with the operation; any answer is returned, whatever its status.
func (s *s3Store) do(ctx context.Context, c *call) (*http.Response, error) {
	if c.key == "" {
		return nil, fmt.Errorf("store: %s: empty key", c.op)
	}
	host, path := s.target(c.bucket, c.key)
	sum := sha256.Sum256(c.body)
	sr := sigv4.Request{Method: c.method, Scheme: s.scheme, Host: host, Path: path, Query: c.query,
		Headers: c.headers, PayloadHash: hex.EncodeToString(sum[:]), Time: s.now()}

	// The path as signed, so the store sees the same bytes: net/http sends
	// a RawPath that is a valid encoding of the path as it is.
	u := make([]byte, 0, len(s.scheme)+3+len(host)+2*len(path)+64)
	u = append(u, s.scheme...)
	u = append(u, "://"...)
	u = append(u, host...)
	u = sigv4.AppendEscapePath(u, path)
	for i, p := range c.query {
		if i == 0 {
			u = append(u, '?')
		} else {
			u = append(u, '&')
		}
		u = sigv4.AppendEscapeQuery(u, p.Name)
		u = append(u, '=')
		u = sigv4.AppendEscapeQuery(u, p.Value)
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, string(u), body)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", c.op, err)
	}
	for _, h := range c.headers {
		req.Header.Set(h.Name, h.Value)
	}
	sg, _, err := s.keys.signer(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", c.op, err)
	}
	for _, h := range sg.SignHeaders(&sr) {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", c.op, err)
	}
	return resp, nil
}

// result reads the XML document of a 2xx answer with read, when its root
// element is root. A non-2xx answer, and an <Error> document in a 2xx one,
// is a *StoreError.
func (s *s3Store) result(op string, resp *http.Response, limit int64, root string, read func([]byte) error) error {
	defer resp.Body.Close()
	if !success(resp.StatusCode) {
		return storeError(op, resp)
	}
	body, err := readBody(resp.Body, limit)
	if err != nil {
		return fmt.Errorf("store: %s: reading the answer: %w", op, err)
	}
	switch name := rootElement(body); name {
	case root:
		if err := read(body); err != nil {
			return fmt.Errorf("store: %s: reading the answer: %w", op, err)
		}
		return nil
	case "Error":
		return errorDocument(op, resp, body)
	case "":
		return fmt.Errorf("store: %s: %d answer without an XML document", op, resp.StatusCode)
	default:
		return fmt.Errorf("store: %s: %d answer is <%s>, not <%s>", op, resp.StatusCode, name, root)
	}
}

func success(status int) bool { return status >= 200 && status <= 299 }

// readBody reads r to its end, failing when it is longer than limit.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("longer than %d bytes", limit)
	}
	return b, nil
}

// errorBody is S3's error document, <Error>.
type errorBody struct {
	Code      string
	Message   string
	RequestID string // <RequestId>
}

// storeError reads the error answer resp as a *StoreError. Past
// maxErrorBody, the body is not read: a document cut there is not S3's.
func storeError(op string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return errorDocument(op, resp, body)
}

// errorDocument returns the *StoreError of an answer with the error
// document body (nil for none).
func errorDocument(op string, resp *http.Response, body []byte) *StoreError {
	e := &StoreError{Op: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	var eb errorBody
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		if resp.Request != nil && resp.Request.Method == http.MethodHead {
			e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
		}
		e.Message = http.StatusText(resp.StatusCode)
	case eb.read(body) == nil:
		e.Code, e.Message = eb.Code, eb.Message
		if eb.RequestID != "" {
			e.RequestID = eb.RequestID
		}
	default: // not S3's: a proxy's page, say
		e.Message = http.StatusText(resp.StatusCode) + ": " + snippet(body)
	}
	return e
}

// snippet returns the start of a body that is not S3's, fit for a log line.
func snippet(b []byte) string {
	const n = 200
	cut := len(b) > n
	if cut {
		b = b[:n]
	}
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "\uFFFD"))
	s = strings.TrimSpace(s)
	if cut {
		s += "…"
	}
	return s
}

// discard reads what is left of a body (bounded, so the connection can be
// reused) and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// xmlChecksums are the Checksum<algorithm> elements of S3's documents.
type xmlChecksums struct {
	ChecksumCRC32     string
	ChecksumCRC32C    string
	ChecksumCRC64NVME string
	ChecksumSHA1      string
	ChecksumSHA256    string
}

func (c *xmlChecksums) fields() [len(checksumAlgorithms)]*string {
	return [...]*string{&c.ChecksumCRC32, &c.ChecksumCRC32C, &c.ChecksumCRC64NVME, &c.ChecksumSHA1, &c.ChecksumSHA256}
}

// toMap returns the checksums set, by algorithm, or nil for none.
func (c *xmlChecksums) toMap() map[string]string {
	var m map[string]string
	for i, f := range c.fields() {
		if v := strings.TrimSpace(*f); v != "" {
			if m == nil {
				m = make(map[string]string, 1)
			}
			m[checksumAlgorithms[i]] = v
		}
	}
	return m
}

// checksumsOf is the inverse of toMap; an unknown algorithm is an error.
func checksumsOf(m map[string]string) (xmlChecksums, error) {
	var c xmlChecksums
	fields := c.fields()
	for alg, v := range m {
		i := slices.Index(checksumAlgorithms[:], alg)
		if i < 0 {
			return c, fmt.Errorf("unknown checksum algorithm %q (known: %s)", alg, strings.Join(checksumAlgorithms[:], ", "))
		}
		*fields[i] = v
	}
	return c, nil
}

func (s *s3Store) CreateMultipartUpload(ctx context.Context, in CreateMultipartInput) (string, error) {
	const op = "CreateMultipartUpload"
	hs := make([]sigv4.Header, 0, 3+len(in.Metadata))
	if in.ContentType != "" {
		hs = append(hs, sigv4.Header{Name: "Content-Type", Value: in.ContentType})
	}
	for _, name := range sortedKeys(in.Metadata) {
		hs = append(hs, sigv4.Header{Name: "x-amz-meta-" + name, Value: in.Metadata[name]})
	}
	if in.ChecksumAlgorithm != "" {
		hs = append(hs, sigv4.Header{Name: "x-amz-checksum-algorithm", Value: in.ChecksumAlgorithm})
	}
	if in.ChecksumType != "" {
		hs = append(hs, sigv4.Header{Name: "x-amz-checksum-type", Value: in.ChecksumType})
	}
	resp, err := s.do(ctx, &call{op: op, method: http.MethodPost, bucket: in.Bucket, key: in.Key,
		query: []sigv4.Param{{Name: "uploads"}}, headers: hs})
	if err != nil {
		return "", err
	}
	var res initiateResult
	if err := s.result(op, resp, maxResultBody, "InitiateMultipartUploadResult", res.read); err != nil {
		return "", err
	}
	if res.UploadID == "" {
		return "", fmt.Errorf("store: %s: the answer has no UploadId", op)
	}
	return res.UploadID, nil
}

// initiateResult is CreateMultipartUpload's answer,
// <InitiateMultipartUploadResult>.
type initiateResult struct {
	UploadID string // <UploadId>
}

// listPartsResult is one page of ListParts, <ListPartsResult>.
type listPartsResult struct {
	IsTruncated          bool
	NextPartNumberMarker int
	Parts                []listedPart // <Part>
}

// listedPart is a <Part> of ListParts.
type listedPart struct {
	PartNumber   int
	Size         int64
	ETag         string
	LastModified string
	xmlChecksums
}

func (s *s3Store) ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error) {
	const op = "ListParts"
	var parts []Part
	marker := 0
	for {
		q := []sigv4.Param{{Name: "uploadId", Value: uploadID}}
		if marker > 0 {
			q = append(q, sigv4.Param{Name: "part-number-marker", Value: strconv.Itoa(marker)})
		}
		resp, err := s.do(ctx, &call{op: op, method: http.MethodGet, bucket: bucket, key: key, query: q})
		if err != nil {
			return nil, err
		}
		var page listPartsResult
		if err := s.result(op, resp, maxListPartsBody, "ListPartsResult", page.read); err != nil {
			return nil, err
		}
		for _, p := range page.Parts {
			lm, _ := time.Parse(time.RFC3339, strings.TrimSpace(p.LastModified))
			parts = append(parts, Part{PartNumber: p.PartNumber, Size: p.Size, ETag: p.ETag, LastModified: lm, Checksums: p.toMap()})
		}
		if !page.IsTruncated {
			break
		}
		// Each page must move on, and no part comes after 10,000: a store
		// that says otherwise would make this loop forever.
		if page.NextPartNumberMarker <= marker || page.NextPartNumberMarker >= maxPartNumber {
			return nil, fmt.Errorf("store: %s: a truncated page after part %d gives next part marker %d", op, marker, page.NextPartNumberMarker)
		}
		marker = page.NextPartNumberMarker
	}
	slices.SortStableFunc(parts, func(a, b Part) int { return a.PartNumber - b.PartNumber })
	return parts, nil
}

// completePart is a <Part> of CompleteMultipartUpload's body
// (appendCompleteRequest).
type completePart struct {
	xmlChecksums
	ETag       string
	PartNumber int
}

func (s *s3Store) CompleteMultipartUpload(ctx context.Context, in CompleteMultipartInput) (CompletedObject, error) {
	const op = "CompleteMultipartUpload"
	parts := make([]completePart, len(in.Parts))
	for i, p := range in.Parts {
		cs, err := checksumsOf(p.Checksums)
		if err != nil {
			return CompletedObject{}, fmt.Errorf("store: %s: part %d: %w", op, p.PartNumber, err)
		}
		parts[i] = completePart{xmlChecksums: cs, ETag: p.ETag, PartNumber: p.PartNumber}
	}
	body := appendCompleteRequest(make([]byte, 0, 128+256*len(parts)), parts)
	hs := make([]sigv4.Header, 0, 5)
	hs = append(hs, sigv4.Header{Name: "Content-Type", Value: "application/xml"})
	if in.IfNoneMatch {
		hs = append(hs, sigv4.Header{Name: "If-None-Match", Value: "*"})
	}
	if in.ObjectSize > 0 {
		hs = append(hs, sigv4.Header{Name: "x-amz-mp-object-size", Value: strconv.FormatInt(in.ObjectSize, 10)})
	}
	if in.ChecksumCRC64NVME != "" {
		hs = append(hs, sigv4.Header{Name: "x-amz-checksum-crc64nvme", Value: in.ChecksumCRC64NVME})
	}
	if in.ChecksumSHA256 != "" {
		hs = append(hs, sigv4.Header{Name: "x-amz-checksum-sha256", Value: in.ChecksumSHA256})
	}
	resp, err := s.do(ctx, &call{op: op, method: http.MethodPost, bucket: in.Bucket, key: in.Key,
		query: []sigv4.Param{{Name: "uploadId", Value: in.UploadID}}, headers: hs, body: body})
	if err != nil {
		return CompletedObject{}, err
	}
	// S3 answers 200 at once and sends the outcome, maybe an <Error>, once
	// the parts are assembled: result reads the document whatever the
	// status.
	var res completeResult
	if err := s.result(op, resp, maxResultBody, "CompleteMultipartUploadResult", res.read); err != nil {
		return CompletedObject{}, err
	}
	return CompletedObject{ETag: res.ETag, Checksums: res.toMap()}, nil
}

// completeResult is CompleteMultipartUpload's answer,
// <CompleteMultipartUploadResult>.
type completeResult struct {
	ETag string
	xmlChecksums
}

func (s *s3Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	const op = "AbortMultipartUpload"
	resp, err := s.do(ctx, &call{op: op, method: http.MethodDelete, bucket: bucket, key: key,
		query: []sigv4.Param{{Name: "uploadId", Value: uploadID}}})
	if err != nil {
		return err
	}
	if !success(resp.StatusCode) {
		defer resp.Body.Close()
		return storeError(op, resp)
	}
	discard(resp)
	return nil
}

func (s *s3Store) HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	const op = "HeadObject"
	resp, err := s.do(ctx, &call{op: op, method: http.MethodHead, bucket: bucket, key: key,
		headers: []sigv4.Header{{Name: "x-amz-checksum-mode", Value: "ENABLED"}}})
	if err != nil {
		return ObjectInfo{}, err
	}
	defer resp.Body.Close()
	if !success(resp.StatusCode) {
		return ObjectInfo{}, storeError(op, resp)
	}
	h := resp.Header
	info := ObjectInfo{Size: resp.ContentLength, ETag: h.Get("ETag"), ContentType: h.Get("Content-Type")}
	if info.Size < 0 {
		return ObjectInfo{}, fmt.Errorf("store: %s: the answer has no Content-Length", op)
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		info.LastModified, _ = http.ParseTime(lm)
	}
	for name, values := range h {
		lower := strings.ToLower(name)
		if meta, ok := strings.CutPrefix(lower, "x-amz-meta-"); ok {
			if info.Metadata == nil {
				info.Metadata = make(map[string]string)
			}
			info.Metadata[meta] = strings.Join(values, ",")
		} else if alg, ok := strings.CutPrefix(lower, "x-amz-checksum-"); ok {
			// x-amz-checksum-type is not a checksum.
			if alg = strings.ToUpper(alg); slices.Contains(checksumAlgorithms[:], alg) {
				if info.Checksums == nil {
					info.Checksums = make(map[string]string, 1)
				}
				info.Checksums[alg] = strings.Join(values, ",")
			}
		}
	}
	return info, nil
}
