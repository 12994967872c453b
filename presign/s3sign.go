package presign

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// s3Signer presigns S3 requests with SigV4: query-string authentication
// for GET, HEAD, PUT, DELETE and ListObjectsV2, and POST policies for
// browser forms.
type s3Signer struct {
	endpoint
	keys *sigv4Keys
	// pins: the store acts on headers no signature covers (MinIO), so URLs
	// sign them with values that do nothing (unsignedPins).
	pins bool
}

func newS3Signer(b Backend) *s3Signer {
	return &s3Signer{endpoint: newEndpoint(b), keys: newSigV4Keys(b), pins: actsOnUnsignedHeaders(b)}
}

func (s *s3Signer) check(r Request, dec Decision) error {
	if r.Op != OpPost {
		return nil
	}
	if dec.NoOverwrite {
		return Errorf(CodeUnsupported, "uploads here must not overwrite, which needs put (S3 POST uploads cannot be conditional)")
	}
	// S3 and MinIO replace ${filename} in a form's key with the name of the
	// uploaded file, which the uploader picks after the policy is signed.
	if strings.Contains(r.Key, "${filename}") {
		return Errorf(CodeInvalidArgument, "a post key must not contain ${filename}: the store would replace it with the uploaded file's name")
	}
	return nil
}

func (s *s3Signer) sign(ctx context.Context, r Request, dec Decision, now time.Time, expires time.Duration, maxSize int64) (Grant, error) {
	var g Grant
	sg, expires, err := s.keys.signerFor(ctx, now, expires)
	if err != nil {
		return g, err
	}
	g.ExpiresAt = now.Add(expires).UTC().Truncate(time.Second)
	if r.Op == OpPost {
		err := signPost(sg, s.endpoint, &g, &r, now, expires, maxSize)
		return g, err
	}
	host, prefix := s.bucketTarget(r.Bucket)
	sr := sigv4.Request{Scheme: s.scheme, Host: host, Path: prefix, PathSuffix: r.Key, Time: now, Expires: expires}
	switch r.Op {
	case OpList:
		sr.Method = "GET"
		sr.Query = listQuery(r)
	case OpGet:
		sr.Method = "GET"
		if r.Filename != "" {
			sr.Query = []sigv4.Param{{Name: "response-content-disposition", Value: ContentDisposition(r.Filename)}}
		}
	case OpHead:
		sr.Method = "HEAD"
	case OpDelete:
		sr.Method = "DELETE"
	case OpPut:
		sr.Method = "PUT"
		g.Headers = make(map[string]string, 4)
		sr.Headers = make([]sigv4.Header, 0, 4+len(r.Metadata))
		// name is what the client sends; signed, its lower-case form.
		add := func(name, signed, value string) {
			g.Headers[name] = value
			sr.Headers = append(sr.Headers, sigv4.Header{Name: signed, Value: value})
		}
		if r.ContentType != "" {
			add("Content-Type", "content-type", r.ContentType)
		}
		if r.ContentLength != nil {
			add("Content-Length", "content-length", strconv.FormatInt(*r.ContentLength, 10))
		}
		if r.ContentMD5 != "" {
			add("Content-MD5", "content-md5", r.ContentMD5)
		}
		if r.ChecksumSHA256 != "" {
			add("x-amz-checksum-sha256", "x-amz-checksum-sha256", r.ChecksumSHA256)
		}
		if dec.NoOverwrite {
			add("If-None-Match", "if-none-match", "*")
		}
		for _, name := range sortedKeys(r.Metadata) {
			add("x-amz-meta-"+name, "x-amz-meta-"+name, r.Metadata[name]) // names are lower-case already
		}
	}
	if s.pins {
		key := r.Key
		if r.Op == OpList {
			key = r.Prefix
		}
		pin(&sr, unsignedPins(r.Op, key))
	}
	g.Method = sr.Method
	g.URL = sg.Presign(&sr)
	return g, nil
}

// listQuery is the query of a ListObjectsV2 request for r, every
// parameter signed: SigV4 signs the whole query string, so the store
// refuses the URL with any parameter changed, removed or added. The
// prefix is signed even when empty, and the store then lists the whole
// bucket.
func listQuery(r Request) []sigv4.Param {
	q := make([]sigv4.Param, 0, 5)
	q = append(q, sigv4.Param{Name: "list-type", Value: "2"}, sigv4.Param{Name: "prefix", Value: r.Prefix})
	if r.Delimiter != "" {
		q = append(q, sigv4.Param{Name: "delimiter", Value: r.Delimiter})
	}
	if r.MaxKeys > 0 {
		q = append(q, sigv4.Param{Name: "max-keys", Value: strconv.Itoa(r.MaxKeys)})
	}
	if r.ContinuationToken != "" {
		q = append(q, sigv4.Param{Name: "continuation-token", Value: r.ContinuationToken})
	}
	return q
}

// signPost builds, with sg, the browser POST form: the policy pins the key, the
// content type and metadata given, and the size range.
func signPost(sg *sigv4.Signer, e endpoint, g *Grant, r *Request, now time.Time, expires time.Duration, maxSize int64) error {
	pr := sigv4.PostRequest{
		Bucket: r.Bucket,
		// 201 makes the store answer with an XML document naming the
		// object (Location, Bucket, Key, ETag), which browsers can read.
		Fields:          []sigv4.Param{{Name: "key", Value: r.Key}, {Name: "success_action_status", Value: "201"}},
		Time:            now,
		Expires:         expires,
		LowerCaseFields: true,
	}
	if r.ContentType != "" {
		pr.Fields = append(pr.Fields, sigv4.Param{Name: "Content-Type", Value: r.ContentType})
	}
	for _, name := range sortedKeys(r.Metadata) {
		pr.Fields = append(pr.Fields, sigv4.Param{Name: "x-amz-meta-" + name, Value: r.Metadata[name]})
	}
	lo, hi := int64(0), maxSize
	if r.ContentLength != nil {
		lo, hi = *r.ContentLength, *r.ContentLength
	}
	pr.Conditions = []sigv4.Condition{sigv4.ContentLengthRange(lo, hi)}
	form, err := sg.PresignPost(&pr)
	if err != nil {
		return err
	}
	host, path := e.target(r.Bucket, "")
	g.Method = "POST"
	g.URL = e.scheme + "://" + host + sigv4.EscapePath(path)
	g.Fields = make(map[string]string, len(form.Fields))
	for _, f := range form.Fields {
		g.Fields[f.Name] = f.Value
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// uploadPart is one part of a multipart upload, to presign with
// urlSigner.signPart.
type uploadPart struct {
	Bucket, Key, UploadID string
	PartNumber            int
	// Size is signed as content-length: the store refuses a body of any
	// other size. SizeUnknown signs none.
	Size int64
	// ChecksumCRC64NVME and ChecksumSHA256 (base64), when set, are signed as
	// x-amz-checksum-crc64nvme and x-amz-checksum-sha256: the store refuses
	// a body with another checksum, and keeps it as the part's.
	ChecksumCRC64NVME, ChecksumSHA256 string
}

// signPart presigns the UploadPart request of p, PUT
// ?partNumber=N&uploadId=U, for the lifetime expires: the grant's method,
// URL and the headers the client must send. No Content-Type is signed:
// UploadPart takes none.
func (s *s3Signer) signPart(ctx context.Context, p uploadPart, now time.Time, expires time.Duration) (Grant, error) {
	var g Grant
	sg, expires, err := s.keys.signerFor(ctx, now, expires)
	if err != nil {
		return g, err
	}
	g.ExpiresAt = now.Add(expires).UTC().Truncate(time.Second)
	host, prefix := s.bucketTarget(p.Bucket)
	sr := sigv4.Request{Method: "PUT", Scheme: s.scheme, Host: host, Path: prefix, PathSuffix: p.Key, Time: now, Expires: expires,
		Query: []sigv4.Param{{Name: "partNumber", Value: strconv.Itoa(p.PartNumber)}, {Name: "uploadId", Value: p.UploadID}}}
	g.Headers = make(map[string]string, 3)
	sr.Headers = make([]sigv4.Header, 0, 3)
	add := func(name, signed, value string) {
		g.Headers[name] = value
		sr.Headers = append(sr.Headers, sigv4.Header{Name: signed, Value: value})
	}
	if p.Size != SizeUnknown {
		add("Content-Length", "content-length", strconv.FormatInt(p.Size, 10))
	}
	if p.ChecksumCRC64NVME != "" {
		add("x-amz-checksum-crc64nvme", "x-amz-checksum-crc64nvme", p.ChecksumCRC64NVME)
	}
	if p.ChecksumSHA256 != "" {
		add("x-amz-checksum-sha256", "x-amz-checksum-sha256", p.ChecksumSHA256)
	}
	if s.pins {
		pin(&sr, unsignedPins(OpMultipart, p.Key))
	}
	g.Method = sr.Method
	g.URL = sg.Presign(&sr)
	return g, nil
}
