package presign

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Multipart uploads: presign creates the upload on the store, then signs
// one URL per part — each with that part's exact Content-Length, so the
// store refuses a part of any other size — and at complete checks the
// store's parts against what was declared before asking the store to
// assemble them. Nothing is kept between calls: the upload token carries it.

// S3's multipart limits.
const (
	MinPartSize = 5 << 20 // every part but the last
	MaxPartSize = 5 << 30
	MaxParts    = 10_000
)

// SizeUnknown is the size of an upload whose client does not declare it
// (Uppy's Companion protocol never sends one): its part URLs sign no
// size, and its total is learned — and checked against the rule's limit —
// at complete, where an upload over the limit is aborted.
const SizeUnknown = -1

// stampMetadata is the x-amz-meta-* name of an upload's stamp: a random
// value presign sets at create and keeps in the token, so that a repeated
// complete recognizes the object this upload became (and not another
// written at the same key since).
const stampMetadata = "presign-upload"

// defaultContentType is an upload's type when the client names none.
const defaultContentType = "application/octet-stream"

// stamped returns md with the stamp added, refusing metadata that the
// stamp would take over S3's limit.
func stamped(md map[string]string, stamp string) (map[string]string, error) {
	out := make(map[string]string, len(md)+1)
	total := len(stampMetadata) + len(stamp)
	for name, v := range md {
		out[name] = v
		total += len(name) + len(v)
	}
	if total > MaxMetadataSize {
		return nil, Errorf(CodeTooLarge, "metadata is %d bytes with presign's stamp (%d); the limit is %d", total, len(stampMetadata)+len(stamp), MaxMetadataSize)
	}
	out[stampMetadata] = stamp
	return out, nil
}

// newStamp returns a fresh stamp: 16 hex digits.
func (iss *Issuer) newStamp() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(iss.random, b[:]); err != nil {
		return "", &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
	return hex.EncodeToString(b[:]), nil
}

// EventUploadCompleted names the event of a verified complete, which
// webhooks deliver.
const EventUploadCompleted = "upload.completed"

// Defaults of uploads.
const (
	DefaultUploadExpires = 24 * time.Hour // an upload token's lifetime
	// MaxPartBatch is the most part URLs one SignParts call returns.
	MaxPartBatch = 1000
)

// UploadsConfig configures multipart uploads.
type UploadsConfig struct {
	// Secrets sign and verify upload tokens; the first signs. Without
	// secrets, uploads are refused (CodeUnsupported).
	Secrets []TokenSecret
	// Expires is an upload's lifetime (its token's); 0 means 24 hours. A
	// part URL lives no longer than the grants' caps allow.
	Expires time.Duration
	// PathTokenClaims are the JWT claims a path token carries (those the
	// rules read: policy.Policy.ClaimNames); a caller's other claims stay
	// out of the URL.
	PathTokenClaims []string
}

// Validate reports the problems of c: fields secrets[i].id,
// secrets[i].secret and expires.
func (c UploadsConfig) Validate() Problems {
	var ps Problems
	ps.Append("secrets", validateTokenSecrets(c.Secrets))
	if c.Expires != 0 && (c.Expires < time.Minute || c.Expires > 30*24*time.Hour || c.Expires%time.Second != 0) {
		ps.Addf("expires", "%s must be whole seconds from 1m to 720h", FormatDuration(c.Expires))
	}
	return ps
}

// UploadRequest asks to start a multipart upload.
type UploadRequest struct {
	Backend, Bucket string
	// Key may be "" when the rules generate keys (from Filename).
	Key, Filename string
	// KeyFromFilename: as Request.KeyFromFilename.
	KeyFromFilename bool
	ContentType     string
	// Size is the total in bytes, required; SizeUnknown when the client
	// cannot say (Companion).
	Size int64
	// PartSize is every part's size but the last; 0 lets presign choose
	// (with SizeUnknown it must be 0: the client chooses).
	PartSize int64
	// ChecksumSHA256 (refused: no store verifies a whole-object SHA-256 of
	// a multipart upload) and ChecksumCRC64NVME (base64), the whole
	// object's, which the store verifies at complete.
	ChecksumSHA256, ChecksumCRC64NVME string
	Metadata                          map[string]string
	// ExpiresIn shortens the upload's lifetime; 0 means the configured one.
	ExpiresIn time.Duration
}

// Upload is a started multipart upload.
type Upload struct {
	Token   string // the upload token every later call carries
	Key     string
	Bucket  string
	Backend string
	// PartSize and PartCount are the parts to send (0 and the most parts
	// an upload within the limit can have, when the size is unknown).
	PartSize  int64
	PartCount int
	ExpiresAt time.Time
	Rule      string // the rule that allowed it, for the audit log
}

// PartRequest asks for the URL of one part.
type PartRequest struct {
	Number int
	// ChecksumSHA256, ChecksumCRC64NVME (base64), when given, are signed,
	// so the store refuses a part with other bytes.
	ChecksumSHA256, ChecksumCRC64NVME string
}

// PartGrant is the presigned PUT of one part.
type PartGrant struct {
	Number    int
	URL       string
	Headers   map[string]string // to send with exactly these values (Content-Length included)
	ExpiresAt time.Time
}

// ID names an upload: the same from every complete of it, another for
// every other upload (of the same bytes to the same key too): "upl_" and
// 24 hex digits of a digest of its backend, bucket, key and stamp (the
// random value its token carries). Receipts (jti) and webhooks
// (webhook-id) carry it, so that their receivers can tell a repeat from a
// new upload.
func (d CompletedUpload) ID() string {
	sum := sha256.Sum256([]byte(d.Backend + "\x00" + d.Bucket + "\x00" + d.Key + "\x00" + d.stamp))
	return "upl_" + hex.EncodeToString(sum[:12])
}

// PartETag names an uploaded part to assemble, as the client saw it.
type PartETag struct {
	Number int
	ETag   string // quoted or not
}

// CompletedUpload is the object a completed upload became.
type CompletedUpload struct {
	Backend, Bucket, Key string
	Size                 int64
	ETag                 string
	ContentType          string
	// Checksum is the whole object's checksum that the store verified at
	// complete, as "<algorithm>:<base64>" ("crc64nvme:…"); "" when the
	// upload declared none.
	Checksum string
	Location string // the object's unsigned URL
	// Repeated: the upload had completed before; this answer is the same,
	// read from the object.
	Repeated bool
	// stamp is the upload's (uploadToken.Stamp), for ID.
	stamp string
}

// partLayout returns the part count and the size of part n (1-based) of
// an upload of size bytes in parts of partSize. An empty upload has one
// empty part. With SizeUnknown, count is the most parts an upload within
// maxSize can have (every part but the last is at least MinPartSize) and
// every size is SizeUnknown.
func partLayout(size, partSize, maxSize int64) (count int, sizeOf func(n int) int64) {
	if size == SizeUnknown {
		return int(min(maxSize/MinPartSize+1, MaxParts)), func(int) int64 { return SizeUnknown }
	}
	count = 1
	if size > 0 {
		count = int((size + partSize - 1) / partSize)
	}
	return count, func(n int) int64 {
		if n < count {
			return partSize
		}
		return size - int64(count-1)*partSize
	}
}

// choosePartSize returns the part size of an upload of size bytes: the
// requested one when it is valid, else the smallest multiple of 1 MiB of
// at least 5 MiB that needs at most 10,000 parts.
func choosePartSize(size, requested int64) (int64, error) {
	if requested != 0 {
		count, _ := partLayout(size, max(requested, 1), 0)
		switch {
		case requested < 0 || requested > MaxPartSize:
			return 0, Errorf(CodeInvalidArgument, "part_size %d must be between 5 MiB and 5 GiB", requested)
		case requested < MinPartSize && count > 1:
			return 0, Errorf(CodeInvalidArgument, "part_size %d is below S3's 5 MiB minimum for every part but the last", requested)
		case count > MaxParts:
			return 0, Errorf(CodeInvalidArgument, "part_size %d would need %d parts; at most %d are allowed", requested, count, MaxParts)
		}
		return requested, nil
	}
	ps := int64(MinPartSize)
	if need := (size + MaxParts - 1) / MaxParts; need > ps {
		ps = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps, nil
}

// CreateUpload validates and authorizes r (op multipart), creates the
// multipart upload on the store and returns its token.
//
// It returns an *Error: as Issue does for the request and the rules;
// CodeUnsupported when uploads are not configured or the store cannot
// verify what is asked; CodeUnavailable when the store fails.
func (iss *Issuer) CreateUpload(ctx context.Context, p Principal, r UploadRequest) (Upload, error) {
	if len(iss.uploads.Secrets) == 0 {
		return Upload{}, Errorf(CodeUnsupported, "uploads are not configured here (uploads.secrets)")
	}
	if r.ChecksumSHA256 != "" {
		return Upload{}, Errorf(CodeUnsupported, "no store verifies a SHA-256 of a whole multipart upload: send checksum_crc64nvme, or a SHA-256 per part (checksums at /v1/uploads/parts)")
	}
	if r.ChecksumCRC64NVME != "" {
		if err := validateDigest("checksum_crc64nvme", r.ChecksumCRC64NVME, 8); err != nil {
			return Upload{}, err
		}
	}
	size := r.Size
	req := Request{Op: OpMultipart, Backend: r.Backend, Bucket: r.Bucket, Key: r.Key, Filename: r.Filename, KeyFromFilename: r.KeyFromFilename,
		ContentType: r.ContentType, ContentLength: &size, Metadata: r.Metadata}
	switch {
	case size == SizeUnknown && r.PartSize != 0:
		return Upload{}, Errorf(CodeInvalidArgument, "part_size needs the upload's size")
	case size == SizeUnknown:
		req.ContentLength = nil
	case size < 0:
		return Upload{}, Errorf(CodeInvalidArgument, "size is required: the total bytes of the upload")
	}
	be, err := iss.validate(&req)
	if err != nil {
		return Upload{}, err
	}
	if r.ChecksumCRC64NVME != "" && !be.caps.FullObjectChecksum {
		return Upload{}, be.unsupported("a whole-object CRC64NVME checksum", "start the upload without checksum_crc64nvme")
	}
	d, err := iss.authorize(ctx, p, be, &req)
	if err != nil {
		return Upload{}, err
	}
	left, err := iss.quotaLeft(ctx, p, size)
	if err != nil {
		return Upload{}, err
	}
	if size == SizeUnknown {
		d.maxSize = min(d.maxSize, left) // complete aborts an upload over it
	}
	var partSize int64
	if size != SizeUnknown {
		if partSize, err = choosePartSize(size, r.PartSize); err != nil {
			return Upload{}, err
		}
	}
	life := iss.uploads.Expires
	if r.ExpiresIn < 0 || r.ExpiresIn%time.Second != 0 {
		return Upload{}, Errorf(CodeInvalidArgument, "expires_in must be a positive number of seconds")
	}
	if r.ExpiresIn > 0 {
		life = min(life, r.ExpiresIn)
	}
	contentType := req.ContentType
	if contentType == "" {
		contentType = defaultContentType // set, so that every answer of complete names the same
	}
	stamp, err := iss.newStamp()
	if err != nil {
		return Upload{}, err
	}
	md, err := stamped(req.Metadata, stamp)
	if err != nil {
		return Upload{}, err
	}
	in := CreateMultipartInput{Bucket: req.Bucket, Key: req.Key, ContentType: contentType, Metadata: md}
	if r.ChecksumCRC64NVME != "" {
		in.ChecksumAlgorithm, in.ChecksumType = "CRC64NVME", "FULL_OBJECT"
	}
	id, err := iss.stores[be.Name].CreateMultipartUpload(ctx, in)
	if err != nil {
		return Upload{}, storeFailure("starting the upload", err)
	}
	now := iss.now()
	t := uploadToken{Kind: tokenMultipart, Caller: callerDigest(p), Backend: be.Name, Bucket: req.Bucket, Key: req.Key,
		UploadID: id, Size: size, PartSize: partSize, MaxSize: d.maxSize, PartExpires: d.expires, NoOverwrite: d.dec.NoOverwrite,
		ContentType: contentType, ChecksumCRC64NVME: r.ChecksumCRC64NVME, Rule: d.dec.Rule, Stamp: stamp, IssuedAt: now.UTC().Truncate(time.Second),
		ExpiresAt: now.Add(life).UTC().Truncate(time.Second)}
	count, _ := partLayout(size, partSize, t.MaxSize)
	return Upload{Token: sealToken(iss.uploads.Secrets, &t), Key: t.Key, Bucket: t.Bucket, Backend: t.Backend,
		PartSize: partSize, PartCount: count, ExpiresAt: t.ExpiresAt, Rule: t.Rule}, nil
}

// upload opens token for p: its backend, and what it binds. A token that
// is not valid or has expired is CodeUnauthenticated; one of another
// caller, or for a backend no longer configured, CodePermissionDenied.
func (iss *Issuer) upload(p Principal, token string) (*backend, uploadToken, error) {
	if len(iss.uploads.Secrets) == 0 {
		return nil, uploadToken{}, Errorf(CodeUnsupported, "uploads are not configured here (uploads.secrets)")
	}
	var t uploadToken
	if err := openToken(iss.uploads.Secrets, token, iss.now(), &t); err != nil {
		return nil, t, err
	}
	if t.Caller != callerDigest(p) {
		return nil, t, Errorf(CodePermissionDenied, "this upload belongs to another caller")
	}
	be := iss.backends[t.Backend]
	if be == nil || be.Bucket != t.Bucket {
		return nil, t, Errorf(CodePermissionDenied, "this upload's backend is not served here")
	}
	return be, t, nil
}

// multipart is upload for the calls that only a multipart upload takes.
func (iss *Issuer) multipart(p Principal, token string) (*backend, uploadToken, error) {
	be, t, err := iss.upload(p, token)
	if err == nil && t.Kind != tokenMultipart {
		err = Errorf(CodeInvalidArgument, "this upload token is a put or post upload's: only complete takes it")
	}
	return be, t, err
}

// SignParts returns the URLs of the parts asked for (at most MaxPartBatch
// at once): each a presigned PUT of exactly that part's size, with its
// checksum when one is given. It may be called again at any time for the
// same parts (an expired URL, a page reload). A URL lives as long as
// grants may (the default lifetime and the caps), and never past the upload.
func (iss *Issuer) SignParts(ctx context.Context, p Principal, token string, parts []PartRequest) ([]PartGrant, error) {
	be, t, err := iss.multipart(p, token)
	if err != nil {
		return nil, err
	}
	switch {
	case len(parts) == 0:
		return nil, Errorf(CodeInvalidArgument, "part_numbers is empty: name the parts to sign")
	case len(parts) > MaxPartBatch:
		return nil, Errorf(CodeInvalidArgument, "%d parts at once; at most %d", len(parts), MaxPartBatch)
	}
	count, sizeOf := partLayout(t.Size, t.PartSize, t.MaxSize)
	now := iss.now()
	expires := min(t.PartExpires, iss.maxExpires, be.MaxExpires, t.ExpiresAt.Sub(now).Truncate(time.Second))
	if expires < time.Second {
		return nil, Errorf(CodeUnauthenticated, "the upload token has expired; start the upload again")
	}
	grants := make([]PartGrant, 0, len(parts))
	for _, pr := range parts {
		if pr.Number < 1 || pr.Number > count {
			return nil, Errorf(CodeInvalidArgument, "part %d does not exist: this upload has parts 1 to %d", pr.Number, count)
		}
		// The store requires of each part a checksum of the algorithm the
		// upload was created with (CRC64NVME when the whole object's was
		// declared), and no other.
		switch {
		case t.ChecksumCRC64NVME != "" && pr.ChecksumCRC64NVME == "":
			return nil, Errorf(CodeInvalidArgument, "part %d needs its checksum_crc64nvme: this upload declared the whole object's, and the store checks every part's", pr.Number)
		case t.ChecksumCRC64NVME != "" && pr.ChecksumSHA256 != "":
			return nil, Errorf(CodeInvalidArgument, "part %d: this upload's parts carry checksum_crc64nvme, not checksum_sha256", pr.Number)
		}
		if pr.ChecksumSHA256 != "" {
			if err := validateDigest("checksum_sha256", pr.ChecksumSHA256, 32); err != nil {
				return nil, err
			}
			if !be.caps.ChecksumHeaders {
				return nil, be.unsupported("a part's x-amz-checksum-sha256", "sign the parts without checksums (each part's size is signed)")
			}
		}
		if pr.ChecksumCRC64NVME != "" {
			if err := validateDigest("checksum_crc64nvme", pr.ChecksumCRC64NVME, 8); err != nil {
				return nil, err
			}
			if !be.caps.ChecksumHeaders || !be.caps.FullObjectChecksum {
				return nil, be.unsupported("a part's x-amz-checksum-crc64nvme", "sign the parts without checksums (each part's size is signed)")
			}
		}
		g, err := be.signer.signPart(ctx, uploadPart{Bucket: t.Bucket, Key: t.Key, UploadID: t.UploadID, PartNumber: pr.Number,
			Size: sizeOf(pr.Number), ChecksumSHA256: pr.ChecksumSHA256, ChecksumCRC64NVME: pr.ChecksumCRC64NVME}, now, expires)
		if err != nil {
			return nil, err
		}
		grants = append(grants, PartGrant{Number: pr.Number, URL: g.URL, Headers: g.Headers, ExpiresAt: g.ExpiresAt})
	}
	return grants, nil
}

// ListUploadParts returns the parts the store holds, to resume an upload.
func (iss *Issuer) ListUploadParts(ctx context.Context, p Principal, token string) ([]Part, error) {
	_, t, err := iss.multipart(p, token)
	if err != nil {
		return nil, err
	}
	parts, err := iss.stores[t.Backend].ListParts(ctx, t.Bucket, t.Key, t.UploadID)
	if isNoSuchUpload(err) {
		return nil, errUploadGone
	}
	if err != nil {
		return nil, storeFailure("listing the parts", err)
	}
	return parts, nil
}

// AbortUpload deletes the upload and its parts on the store. Aborting an
// upload that is already gone (aborted, completed or expired on the store)
// succeeds.
func (iss *Issuer) AbortUpload(ctx context.Context, p Principal, token string) error {
	_, t, err := iss.multipart(p, token)
	if err != nil {
		return err
	}
	if err := iss.stores[t.Backend].AbortMultipartUpload(ctx, t.Bucket, t.Key, t.UploadID); err != nil && !isNoSuchUpload(err) {
		return storeFailure("aborting the upload", err)
	}
	return nil
}

// CompleteUpload checks the store's parts against the upload — every part
// present with the size it must have, the total the declared size, within
// the rule's limit — and has the store assemble them, with If-None-Match:
// * when the rule forbids overwriting, the total (x-amz-mp-object-size)
// and the whole-object checksum when one was declared. An upload over its
// limit is aborted (CodeTooLarge). Calling it again for a completed upload
// answers the same, from the object.
//
// named, when not empty, are the parts the client uploaded, as it saw
// them: each must be on the store with that ETag. An upload of unknown
// size assembles exactly those (all the store holds when named is empty);
// one of declared size assembles parts 1 to its count, which named must
// cover.
//
// The store is called once to list the parts (once per 1,000 parts), once
// to complete, and — only when the upload is no longer in progress — once
// to HEAD the object.
func (iss *Issuer) CompleteUpload(ctx context.Context, p Principal, token string, named []PartETag) (CompletedUpload, error) {
	be, t, err := iss.upload(p, token)
	if err != nil {
		return CompletedUpload{}, err
	}
	var done CompletedUpload
	if t.Kind == tokenSingle {
		if len(named) > 0 {
			return CompletedUpload{}, Errorf(CodeInvalidArgument, "parts apply to multipart uploads; this upload was one put or post")
		}
		done, err = iss.verifySingle(ctx, t)
	} else {
		done, err = iss.complete(ctx, t, named)
	}
	if err != nil {
		return CompletedUpload{}, err
	}
	if err := iss.countUpload(ctx, t, done.Size); err != nil {
		return CompletedUpload{}, err
	}
	done.Location = be.signer.objectURL(t.Bucket, t.Key)
	return done, nil
}

func (iss *Issuer) complete(ctx context.Context, t uploadToken, named []PartETag) (CompletedUpload, error) {
	st := iss.stores[t.Backend]
	listed, err := st.ListParts(ctx, t.Bucket, t.Key, t.UploadID)
	if isNoSuchUpload(err) {
		return iss.completed(ctx, st, t)
	}
	if err != nil {
		return CompletedUpload{}, storeFailure("listing the parts", err)
	}
	var held int64
	byNumber := make(map[int]Part, len(listed))
	for _, part := range listed {
		byNumber[part.PartNumber] = part
		held += part.Size
	}
	if held > t.MaxSize || t.Size != SizeUnknown && held > t.Size {
		// Parts the store took past the limit or their signed sizes:
		// nothing of this upload may become an object.
		if err := st.AbortMultipartUpload(ctx, t.Bucket, t.Key, t.UploadID); err != nil && !isNoSuchUpload(err) {
			return CompletedUpload{}, storeFailure("aborting an upload over its limit", err)
		}
		limit := t.MaxSize
		if t.Size != SizeUnknown {
			limit = min(limit, t.Size)
		}
		return CompletedUpload{}, Errorf(CodeTooLarge, "the parts hold %d bytes, above the %d allowed; the upload is aborted", held, limit)
	}
	assemble, err := partsToAssemble(t, byNumber, named)
	if err != nil {
		return CompletedUpload{}, err
	}
	if iss.backends[t.Backend].caps.EqualParts {
		if err := equalParts(assemble); err != nil {
			return CompletedUpload{}, err
		}
	}
	completed := make([]CompletedPart, len(assemble))
	var total int64
	for i, part := range assemble {
		completed[i] = CompletedPart{PartNumber: part.PartNumber, ETag: part.ETag, Checksums: part.Checksums}
		total += part.Size
	}
	if err := iss.quotaFits(ctx, t, total); err != nil {
		if ErrorCode(err) == CodeTooLarge {
			if aerr := st.AbortMultipartUpload(ctx, t.Bucket, t.Key, t.UploadID); aerr != nil && !isNoSuchUpload(aerr) {
				return CompletedUpload{}, storeFailure("aborting an upload over the quota", aerr)
			}
			return CompletedUpload{}, &Error{Code: CodeTooLarge, Message: ErrorMessage(err) + "; the upload is aborted", Err: err}
		}
		return CompletedUpload{}, err
	}
	in := CompleteMultipartInput{Bucket: t.Bucket, Key: t.Key, UploadID: t.UploadID,
		Parts: completed, IfNoneMatch: t.NoOverwrite, ChecksumCRC64NVME: t.ChecksumCRC64NVME}
	if iss.backends[t.Backend].caps.MultipartObjectSize {
		in.ObjectSize = total
	}
	obj, err := st.CompleteMultipartUpload(ctx, in)
	if err != nil {
		var se *StoreError
		if errors.As(err, &se) && se.StatusCode == http.StatusConflict && se.Code == "ConditionalRequestConflict" {
			return CompletedUpload{}, &Error{Code: CodePermissionDenied, Message: "another upload wrote this key at the same moment, and this one may not overwrite it; start the upload again", Err: err}
		}
		if errors.As(err, &se) && se.StatusCode == http.StatusPreconditionFailed {
			return CompletedUpload{}, &Error{Code: CodePermissionDenied, Message: "an object exists at this key already and may not be overwritten; the parts are kept until the upload is aborted or expires", Err: err}
		}
		if errors.As(err, &se) && (se.Code == "BadDigest" || se.Code == "XAmzContentChecksumMismatch" || se.Code == "InvalidRequest" || se.Code == "InvalidPart" || se.Code == "EntityTooSmall" || se.Code == "InvalidPartOrder") {
			return CompletedUpload{}, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("the store refused to assemble the parts (%s): a part or the whole object is not what was declared", se.Code), Err: err}
		}
		return CompletedUpload{}, storeFailure("completing the upload", err)
	}
	if obj.Size > 0 {
		total = obj.Size // what the store holds (CompletedObject.Size)
	}
	return completedAnswer(t, total, obj.ETag), nil
}

// completedAnswer is complete's answer for the object t became: the same
// from the first call and from any later one.
func completedAnswer(t uploadToken, size int64, etag string) CompletedUpload {
	done := CompletedUpload{Backend: t.Backend, Bucket: t.Bucket, Key: t.Key, Size: size, ETag: etag, ContentType: t.ContentType, stamp: t.Stamp}
	if t.ChecksumCRC64NVME != "" {
		done.Checksum = "crc64nvme:" + t.ChecksumCRC64NVME
	}
	return done
}

// equalParts refuses parts that a store wanting equal part sizes (R2)
// would not assemble: every part but the last the size of the first, and
// the last no larger. (The parts of an upload of known size always are.)
func equalParts(parts []Part) error {
	for i, part := range parts {
		if last := i == len(parts)-1; !last && part.Size != parts[0].Size || last && part.Size > parts[0].Size {
			return Errorf(CodeInvalidArgument, "part %d holds %d bytes and part %d %d: this store assembles only parts of one size (the last may be smaller); upload them again in equal parts", parts[0].PartNumber, parts[0].Size, part.PartNumber, part.Size)
		}
	}
	return nil
}

// partsToAssemble returns the parts of t to complete, in order, from the
// store's parts by number and the parts the client named.
func partsToAssemble(t uploadToken, held map[int]Part, named []PartETag) ([]Part, error) {
	seen := make(map[int]bool, len(named))
	for _, pe := range named {
		part, ok := held[pe.Number]
		switch {
		case seen[pe.Number]:
			return nil, Errorf(CodeInvalidArgument, "part %d is named twice", pe.Number)
		case !ok:
			return nil, Errorf(CodeInvalidArgument, "part %d is not on the store: upload it (sign it again if its URL expired), then complete", pe.Number)
		case strings.Trim(pe.ETag, `"`) != strings.Trim(part.ETag, `"`):
			return nil, Errorf(CodeInvalidArgument, "part %d's ETag is not the one the store holds: it was uploaded again since; complete with the parts the store lists (/v1/uploads/list)", pe.Number)
		}
		seen[pe.Number] = true
	}
	if t.Size == SizeUnknown {
		var out []Part
		for _, part := range held {
			if len(named) == 0 || seen[part.PartNumber] {
				out = append(out, part)
			}
		}
		if len(out) == 0 {
			return nil, Errorf(CodeInvalidArgument, "no part has been uploaded: upload at least one, then complete")
		}
		slices.SortFunc(out, func(a, b Part) int { return a.PartNumber - b.PartNumber })
		return out, nil
	}
	count, sizeOf := partLayout(t.Size, t.PartSize, t.MaxSize)
	out := make([]Part, 0, count)
	for n := 1; n <= count; n++ {
		part, ok := held[n]
		switch {
		case !ok:
			return nil, Errorf(CodeInvalidArgument, "part %d of %d is missing: upload it (sign it again with /v1/uploads/parts if its URL expired), then complete", n, count)
		case part.Size != sizeOf(n):
			return nil, Errorf(CodeInvalidArgument, "part %d holds %d bytes, not %d", n, part.Size, sizeOf(n))
		case len(named) > 0 && !seen[n]:
			return nil, Errorf(CodeInvalidArgument, "part %d of %d is not among the parts named: name every part 1 to %d", n, count, count)
		}
		out = append(out, part)
	}
	if len(named) > len(out) {
		return nil, Errorf(CodeInvalidArgument, "parts are named beyond the %d this upload has", count)
	}
	return out, nil
}

// completed answers a complete whose upload the store no longer has: the
// object this upload became, when it is there with the declared size (or
// within the limit, when the size was unknown) and a multipart ETag (of
// its part count, when known); else CodeNotFound.
func (iss *Issuer) completed(ctx context.Context, st Store, t uploadToken) (CompletedUpload, error) {
	info, err := st.HeadObject(ctx, t.Bucket, t.Key)
	var se *StoreError
	if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
		return CompletedUpload{}, errUploadGone
	}
	if err != nil {
		return CompletedUpload{}, storeFailure("reading the object", err)
	}
	// The object at the key is this upload's only if it bears its stamp,
	// has a multipart ETag ("…-N", N its part count when the size was
	// declared) and the size declared or within the limit: Versity Gateway
	// keeps a replaced object's metadata, so the stamp alone does not prove it.
	_, suffix, multipart := strings.Cut(strings.Trim(info.ETag, `"`), "-")
	n, err := strconv.Atoi(suffix)
	count, _ := partLayout(t.Size, t.PartSize, t.MaxSize)
	switch {
	case info.Metadata[stampMetadata] != t.Stamp, !multipart || err != nil || n < 1,
		t.Size != SizeUnknown && (info.Size != t.Size || n != count), info.Size > t.MaxSize:
		return CompletedUpload{}, errUploadGone
	}
	done := completedAnswer(t, info.Size, info.ETag)
	done.Repeated = true
	return done, nil
}

// errUploadGone answers a call for an upload the store no longer has and
// that did not become an object.
var errUploadGone = Errorf(CodeNotFound, "this upload is no longer in progress (aborted, or expired on the store) and did not complete")

func isNoSuchUpload(err error) bool {
	var se *StoreError
	return errors.As(err, &se) && (se.Code == "NoSuchUpload" || se.StatusCode == http.StatusNotFound && se.Code == "")
}

// storeFailure is the caller's error of a failed store call: the store's
// refusal of presign's own credentials or an unreachable store is
// CodeUnavailable (the cause goes to the log), a missing bucket
// CodeNotFound.
func storeFailure(doing string, err error) error {
	var se *StoreError
	if errors.As(err, &se) && se.Code == "NoSuchBucket" {
		return &Error{Code: CodeNotFound, Message: "the store has no such bucket", Err: err}
	}
	return &Error{Code: CodeUnavailable, Message: "the store failed " + doing, Err: err}
}

// singleUpload stamps the put or post r (its metadata gets the stamp, so
// its grant signs it) and returns the token of its completion.
func (iss *Issuer) singleUpload(p Principal, be *backend, r *Request, d decision, now time.Time) (*uploadToken, error) {
	stamp, err := iss.newStamp()
	if err != nil {
		return nil, err
	}
	if r.Metadata, err = stamped(r.Metadata, stamp); err != nil {
		return nil, err
	}
	size := int64(SizeUnknown)
	if r.ContentLength != nil {
		size = *r.ContentLength
	}
	return &uploadToken{Kind: tokenSingle, Caller: callerDigest(p), Backend: be.Name, Bucket: r.Bucket, Key: r.Key,
		Size: size, MaxSize: d.maxSize, PartExpires: d.expires, ContentType: r.ContentType, ContentMD5: r.ContentMD5,
		ChecksumSHA256: r.ChecksumSHA256, Rule: d.dec.Rule, Stamp: stamp, IssuedAt: now.UTC().Truncate(time.Second),
		ExpiresAt: now.Add(iss.uploads.Expires).UTC().Truncate(time.Second)}, nil
}

// verifySingle completes a put or post upload: the object at the key must
// bear the grant's stamp (else nothing was uploaded with it: not found),
// and its size, type and checksums be what was signed (else the upload
// is refused, and nothing recorded). It reads the object once (HEAD);
// calling it again answers the same.
func (iss *Issuer) verifySingle(ctx context.Context, t uploadToken) (CompletedUpload, error) {
	info, err := iss.stores[t.Backend].HeadObject(ctx, t.Bucket, t.Key)
	var se *StoreError
	if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
		return CompletedUpload{}, errNotUploaded
	}
	if err != nil {
		return CompletedUpload{}, storeFailure("reading the object", err)
	}
	// The object is this grant's if it bears the grant's stamp (which only
	// that grant signed: clients may not set presign-* metadata) and was
	// written while the grant's URL lived: Versity Gateway keeps an
	// object's metadata when a PUT without metadata replaces it, so a stamp
	// alone does not prove it.
	signedUntil := t.IssuedAt.Add(t.PartExpires)
	if info.Metadata[stampMetadata] != t.Stamp || info.LastModified.After(signedUntil.Add(clockSkew)) {
		return CompletedUpload{}, errNotUploaded
	}
	mismatch := func(format string, args ...any) error {
		return Errorf(CodeInvalidArgument, "the object is not what was signed: "+format+"; nothing is recorded", args...)
	}
	switch {
	case t.Size != SizeUnknown && info.Size != t.Size:
		return CompletedUpload{}, mismatch("%d bytes, not %d", info.Size, t.Size)
	case info.Size > t.MaxSize:
		return CompletedUpload{}, mismatch("%d bytes, above the %d allowed", info.Size, t.MaxSize)
	case t.ContentType != "" && info.ContentType != t.ContentType:
		return CompletedUpload{}, mismatch("type %q, not %q", info.ContentType, t.ContentType)
	case t.ChecksumSHA256 != "" && info.Checksums["SHA256"] != t.ChecksumSHA256:
		return CompletedUpload{}, mismatch("its SHA-256 is not the one signed")
	case t.ContentMD5 != "" && !etagIsMD5(info.ETag, t.ContentMD5):
		return CompletedUpload{}, mismatch("its MD5 is not the one signed")
	}
	done := CompletedUpload{Backend: t.Backend, Bucket: t.Bucket, Key: t.Key, Size: info.Size, ETag: info.ETag, ContentType: info.ContentType,
		stamp: t.Stamp}
	if t.ChecksumSHA256 != "" {
		done.Checksum = "sha256:" + t.ChecksumSHA256
	}
	return done, nil
}

// clockSkew is the tolerance between presign's clock and the store's.
const clockSkew = time.Minute

// errNotUploaded answers complete for a grant whose upload has not landed.
var errNotUploaded = Errorf(CodeNotFound, "nothing was uploaded with this grant (yet): the object at the key does not bear its stamp")

// etagIsMD5 reports whether etag, a single upload's ETag, is the MD5 of
// base64 md5: stores give the hex MD5 of a plain upload's bytes.
func etagIsMD5(etag, md5 string) bool {
	raw, err := base64.StdEncoding.DecodeString(md5)
	return err == nil && strings.EqualFold(strings.Trim(etag, `"`), hex.EncodeToString(raw))
}
