package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"presign.dev/presign"
)

// The JSON upload API: a multipart upload started, its parts signed,
// listed, completed or aborted — every call after the first carries the
// upload token. Decisions are the issuer's; these handlers decode, call
// and encode.

// MaxCompleteBodyBytes bounds the body of /v1/uploads/complete: 10,000
// named parts with their ETags.
const MaxCompleteBodyBytes = 1 << 20

// UploadStartRequest is the body of POST /v1/uploads.
type UploadStartRequest struct {
	Key               string            `json:"key,omitempty"`
	Bucket            string            `json:"bucket,omitempty"`
	Backend           string            `json:"backend,omitempty"`
	Filename          string            `json:"filename,omitempty"`
	ContentType       string            `json:"content_type,omitempty"`
	Size              *int64            `json:"size"`
	PartSize          int64             `json:"part_size,omitempty"`
	ChecksumSHA256    string            `json:"checksum_sha256,omitempty"`
	ChecksumCRC64NVME string            `json:"checksum_crc64nvme,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	ExpiresIn         *int64            `json:"expires_in,omitempty"` // seconds
}

// UploadStartResponse is the 200 body of POST /v1/uploads.
type UploadStartResponse struct {
	Upload    string    `json:"upload"`
	Key       string    `json:"key"`
	Bucket    string    `json:"bucket"`
	PartSize  int64     `json:"part_size"`
	PartCount int       `json:"part_count"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PartsRequest is the body of POST /v1/uploads/parts.
type PartsRequest struct {
	Upload      string         `json:"upload"`
	PartNumbers []int          `json:"part_numbers"`
	Checksums   []PartChecksum `json:"checksums,omitempty"`
}

// PartChecksum is a part's checksum to sign into its URL (base64).
type PartChecksum struct {
	PartNumber        int    `json:"part_number"`
	ChecksumSHA256    string `json:"checksum_sha256,omitempty"`
	ChecksumCRC64NVME string `json:"checksum_crc64nvme,omitempty"`
}

// PartsResponse is the 200 body of POST /v1/uploads/parts.
type PartsResponse struct {
	Parts []PartURL `json:"parts"`
}

// PartURL is one part's presigned PUT; headers are to be sent as they are.
type PartURL struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	ExpiresAt  time.Time         `json:"expires_at"`
}

// UploadRef is the body of /v1/uploads/list and /v1/uploads/abort.
type UploadRef struct {
	Upload string `json:"upload"`
}

// ListPartsResponse is the 200 body of POST /v1/uploads/list.
type ListPartsResponse struct {
	Parts []ListedPart `json:"parts"`
}

// ListedPart is a part the store holds.
type ListedPart struct {
	PartNumber int    `json:"part_number"`
	Size       int64  `json:"size"`
	ETag       string `json:"etag"`
}

// CompleteRequest is the body of POST /v1/uploads/complete.
type CompleteRequest struct {
	Upload string         `json:"upload"`
	Parts  []CompletePart `json:"parts,omitempty"`
}

// CompletePart is a part the client uploaded, with the ETag the store
// returned for it.
type CompletePart struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
}

// CompleteResponse is the 200 body of POST /v1/uploads/complete.
type CompleteResponse struct {
	Key         string `json:"key"`
	Bucket      string `json:"bucket"`
	Size        int64  `json:"size"`
	ETag        string `json:"etag"`
	ContentType string `json:"content_type"`
	// Checksum is the whole object's, verified by the store at complete:
	// "crc64nvme:<base64>" or "sha256:<base64>"; absent when the upload
	// declared none.
	Checksum string `json:"checksum,omitempty"`
	// Receipt is the signed receipt of the upload (a compact JWS), where
	// receipt keys are configured.
	Receipt string `json:"receipt,omitempty"`
	// ServerData is the JSON object the webhook receiver answered, if any.
	ServerData json.RawMessage `json:"server_data,omitempty"`
}

func (h *Handler) uploadRoutes() []route {
	return []route{
		{pattern: "POST /v1/uploads", name: "v1-uploads", serve: h.startUpload},
		{pattern: "POST /v1/uploads/parts", name: "v1-uploads-parts", serve: h.signParts},
		{pattern: "POST /v1/uploads/list", name: "v1-uploads-list", serve: h.listParts},
		{pattern: "POST /v1/uploads/complete", name: "v1-uploads-complete", serve: h.completeUpload},
		{pattern: "POST /v1/uploads/abort", name: "v1-uploads-abort", serve: h.abortUpload},
		{pattern: "POST /v1/tokens", name: "v1-tokens", serve: h.pathToken},
	}
}

func (h *Handler) startUpload(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	var body UploadStartRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Size == nil || *body.Size < 0 {
		return presign.Errorf(presign.CodeInvalidArgument, "size is required: the total bytes of the upload (0 or more)")
	}
	expires, err := expiresIn(body.ExpiresIn)
	if err != nil {
		return err
	}
	up, err := h.createUpload(r, p, presign.UploadRequest{
		Backend: body.Backend, Bucket: body.Bucket, Key: body.Key, Filename: body.Filename, ContentType: body.ContentType,
		Size: *body.Size, PartSize: body.PartSize, ChecksumSHA256: body.ChecksumSHA256, ChecksumCRC64NVME: body.ChecksumCRC64NVME,
		Metadata: body.Metadata, ExpiresIn: expires,
	})
	if err != nil {
		return err
	}
	writeNoStore(w, UploadStartResponse{Upload: up.Token, Key: up.Key, Bucket: up.Bucket, PartSize: up.PartSize,
		PartCount: up.PartCount, ExpiresAt: up.ExpiresAt})
	return nil
}

// createUpload starts an upload and writes its audit line and metric.
func (h *Handler) createUpload(r *http.Request, p presign.Principal, req presign.UploadRequest) (presign.Upload, error) {
	up, err := h.opts.Issuer.CreateUpload(r.Context(), p, req)
	if err != nil {
		h.audit(r, p, string(presign.OpMultipart), err, slog.String("backend", req.Backend), slog.String("key", req.Key), slog.Int64("size", req.Size))
		return up, err
	}
	h.audit(r, p, string(presign.OpMultipart), nil, slog.String("backend", up.Backend), slog.String("bucket", up.Bucket),
		slog.String("key", up.Key), slog.Int64("size", req.Size), slog.String("rule", up.Rule), slog.Time("expires_at", up.ExpiresAt))
	h.observeUpload(UploadCreated, 1)
	return up, nil
}

func (h *Handler) observeUpload(event string, n int64) {
	if h.opts.Observer != nil {
		h.opts.Observer.ObserveUpload(event, n)
	}
}

func (h *Handler) signParts(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	var body PartsRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Upload == "" {
		return presign.Errorf(presign.CodeInvalidArgument, "upload is required: the token POST /v1/uploads returned")
	}
	parts := make([]presign.PartRequest, len(body.PartNumbers))
	index := make(map[int]int, len(body.PartNumbers))
	for i, n := range body.PartNumbers {
		if _, dup := index[n]; dup {
			return presign.Errorf(presign.CodeInvalidArgument, "part_numbers names part %d twice", n)
		}
		index[n] = i
		parts[i].Number = n
	}
	for _, c := range body.Checksums {
		i, ok := index[c.PartNumber]
		if !ok {
			return presign.Errorf(presign.CodeInvalidArgument, "checksums names part %d, which part_numbers does not", c.PartNumber)
		}
		parts[i].ChecksumSHA256, parts[i].ChecksumCRC64NVME = c.ChecksumSHA256, c.ChecksumCRC64NVME
	}
	grants, err := h.signPartURLs(r, p, body.Upload, parts)
	if err != nil {
		return err
	}
	resp := PartsResponse{Parts: make([]PartURL, len(grants))}
	for i, g := range grants {
		resp.Parts[i] = PartURL{PartNumber: g.Number, URL: g.URL, Headers: g.Headers, ExpiresAt: g.ExpiresAt}
	}
	writeNoStore(w, resp)
	return nil
}

// signPartURLs signs parts of an upload, counting the URLs; a refusal is
// audited (a signed batch is not: an upload signs thousands).
func (h *Handler) signPartURLs(r *http.Request, p presign.Principal, token string, parts []presign.PartRequest) ([]presign.PartGrant, error) {
	grants, err := h.opts.Issuer.SignParts(r.Context(), p, token, parts)
	if err != nil {
		h.audit(r, p, "multipart.parts", err, slog.Int("parts", len(parts)))
		return nil, err
	}
	h.observeUpload(PartURLsSigned, int64(len(grants)))
	return grants, nil
}

func (h *Handler) listParts(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := decodeUploadRef(w, r)
	if err != nil {
		return err
	}
	parts, err := h.opts.Issuer.ListUploadParts(r.Context(), p, token)
	if err != nil {
		return err
	}
	resp := ListPartsResponse{Parts: make([]ListedPart, len(parts))}
	for i, part := range parts {
		resp.Parts[i] = ListedPart{PartNumber: part.PartNumber, Size: part.Size, ETag: part.ETag}
	}
	writeNoStore(w, resp)
	return nil
}

func decodeUploadRef(w http.ResponseWriter, r *http.Request) (string, error) {
	var body UploadRef
	if err := decodeJSON(w, r, &body); err != nil {
		return "", err
	}
	if body.Upload == "" {
		return "", presign.Errorf(presign.CodeInvalidArgument, "upload is required: the token POST /v1/uploads returned")
	}
	return body.Upload, nil
}

func (h *Handler) completeUpload(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	var body CompleteRequest
	if err := decodeJSONLimit(w, r, &body, MaxCompleteBodyBytes); err != nil {
		return err
	}
	if body.Upload == "" {
		return presign.Errorf(presign.CodeInvalidArgument, "upload is required: the token POST /v1/uploads returned")
	}
	named := make([]presign.PartETag, len(body.Parts))
	for i, part := range body.Parts {
		named[i] = presign.PartETag{Number: part.PartNumber, ETag: part.ETag}
	}
	done, err := h.complete(r, p, body.Upload, named)
	if err != nil {
		return err
	}
	resp := CompleteResponse{Key: done.Key, Bucket: done.Bucket, Size: done.Size, ETag: done.ETag, ContentType: done.ContentType,
		Checksum: done.Checksum}
	if resp.Receipt, err = h.receipt(r, p, done); err != nil {
		return err
	}
	if resp.ServerData, err = h.notifyCompleted(r, p, done, resp.Receipt); err != nil {
		return err
	}
	writeNoStore(w, resp)
	return nil
}

// complete completes an upload and writes its audit line and metrics.
func (h *Handler) complete(r *http.Request, p presign.Principal, token string, named []presign.PartETag) (presign.CompletedUpload, error) {
	done, err := h.opts.Issuer.CompleteUpload(r.Context(), p, token, named)
	if err != nil {
		h.audit(r, p, "complete", err)
		if presign.ErrorCode(err) == presign.CodeTooLarge {
			h.observeUpload(UploadOverLimit, 1)
		}
		return done, err
	}
	h.audit(r, p, "complete", nil, slog.String("backend", done.Backend), slog.String("bucket", done.Bucket),
		slog.String("key", done.Key), slog.Int64("size", done.Size), slog.Bool("repeated", done.Repeated))
	if !done.Repeated {
		h.observeUpload(UploadCompleted, done.Size)
	}
	return done, nil
}

func (h *Handler) abortUpload(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := decodeUploadRef(w, r)
	if err != nil {
		return err
	}
	if err := h.abort(r, p, token); err != nil {
		return err
	}
	writeNoStore(w, struct{}{})
	return nil
}

// abort aborts an upload and writes its audit line and metric.
func (h *Handler) abort(r *http.Request, p presign.Principal, token string) error {
	err := h.opts.Issuer.AbortUpload(r.Context(), p, token)
	h.audit(r, p, "multipart.abort", err)
	if err == nil {
		h.observeUpload(UploadAborted, 1)
	}
	return err
}

// PathTokenRequest is the body of POST /v1/tokens (it may be empty).
type PathTokenRequest struct {
	ExpiresIn *int64 `json:"expires_in,omitempty"` // seconds
}

// PathTokenResponse is the 200 body of POST /v1/tokens.
type PathTokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// CompanionEndpoint is Uppy 6's companionEndpoint: the Companion routes
	// with the token in the path; "" when they are not served.
	CompanionEndpoint string `json:"companion_endpoint,omitempty"`
}

func (h *Handler) pathToken(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	var body PathTokenRequest
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return presign.Errorf(presign.CodeInvalidArgument, "reading the request body failed (at most %d bytes)", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(data)) > 0 { // the body is optional
		r.Body = io.NopCloser(bytes.NewReader(data))
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	expires, err := expiresIn(body.ExpiresIn)
	if err != nil {
		return err
	}
	tok, exp, err := h.opts.Issuer.IssuePathToken(p, expires)
	h.audit(r, p, "token", err, slog.Time("expires_at", exp))
	if err != nil {
		return err
	}
	resp := PathTokenResponse{Token: tok, ExpiresAt: exp}
	if h.opts.CompanionPath != "" {
		resp.CompanionEndpoint = h.companionEndpointOf(r, tok)
	}
	writeNoStore(w, resp)
	return nil
}

// externalURL is presign's URL as the client reached it: Options.PublicURL,
// else the request's host, https when the connection is TLS or a proxy says
// so (X-Forwarded-Proto, as Cloud Run, Lambda Function URLs and load
// balancers set it).
func (h *Handler) externalURL(r *http.Request) string {
	if h.opts.PublicURL != "" {
		return h.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// expiresIn converts an optional expires_in in seconds.
func expiresIn(s *int64) (time.Duration, error) {
	if s == nil {
		return 0, nil
	}
	switch {
	case *s <= 0:
		return 0, presign.Errorf(presign.CodeInvalidArgument, "expires_in must be a positive number of seconds")
	case *s > maxExpiresSeconds:
		return 0, presign.Errorf(presign.CodeInvalidArgument, "expires_in %d is beyond any store's cap (at most 7 days, 604800 seconds)", *s)
	}
	return time.Duration(*s) * time.Second, nil
}

// writeNoStore writes a 200 JSON body that no cache may keep.
func writeNoStore(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
}
