// Package httpapi is presign's HTTP transport: the tutorial-compatible
// routes, the JSON API, health, OpenAPI and metrics, over any
// [presign.Issuer]-like value. It decodes, authenticates, calls Issue and
// encodes; every decision is the library's.
//
// The same http.Handler serves `presign serve`, the Lambda function and the
// Cloud Function.
package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"presign.dev/presign"
)

// Issuer is what the handler needs from the library; *presign.Issuer is one.
type Issuer interface {
	Issue(ctx context.Context, p presign.Principal, r presign.Request) (presign.Grant, error)
	// The multipart upload calls (routes in uploads.go and companion.go).
	CreateUpload(ctx context.Context, p presign.Principal, r presign.UploadRequest) (presign.Upload, error)
	SignParts(ctx context.Context, p presign.Principal, token string, parts []presign.PartRequest) ([]presign.PartGrant, error)
	ListUploadParts(ctx context.Context, p presign.Principal, token string) ([]presign.Part, error)
	CompleteUpload(ctx context.Context, p presign.Principal, token string, named []presign.PartETag) (presign.CompletedUpload, error)
	AbortUpload(ctx context.Context, p presign.Principal, token string) error
	// Path tokens, for clients that cannot send Authorization.
	IssuePathToken(p presign.Principal, expiresIn time.Duration) (string, time.Time, error)
	OpenPathToken(token string) (presign.Principal, error)
}

// Observer receives one observation per request, and one per upload
// event, for metrics.
type Observer interface {
	ObserveRequest(route string, status int, elapsed time.Duration)
	// ObserveUpload counts an upload event: UploadCreated, UploadCompleted
	// (n: the object's bytes), UploadAborted, UploadOverLimit (aborted at
	// complete) or PartURLsSigned (n: the URLs).
	ObserveUpload(event string, n int64)
}

// Upload events, for Observer.ObserveUpload.
const (
	UploadCreated   = "created"
	UploadCompleted = "completed"
	UploadAborted   = "aborted"
	UploadOverLimit = "over_limit"
	PartURLsSigned  = "part_urls"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// Options configure the handler. Issuer and Auth are required.
type Options struct {
	Issuer Issuer
	Auth   Authenticator
	// CORSOrigins may call the API from a browser; "*" allows any origin
	// (credentials are bearer tokens, never cookies, so none are allowed).
	CORSOrigins []string
	Logger      *slog.Logger // nil discards
	Observer    Observer     // nil observes nothing
	// Metrics, when non-nil, is served at GET /metrics.
	Metrics http.Handler
	// NewRequestID returns a fresh request ID; nil means 16 random hex digits.
	NewRequestID func() string
	// Limiter, when non-nil, is the rate limit every authenticated request
	// passes after authentication.
	Limiter Limiter
	// CompanionPath, when not "", serves Uppy Companion's S3 routes under
	// that path (e.g. "/companion"); see companion.go.
	CompanionPath string
	// Receipts, when non-nil, signs the receipt of every verified complete
	// and serves its public keys at GET /.well-known/jwks.json.
	Receipts ReceiptSigner
	// Webhooks, when non-nil, delivers upload.completed to the receivers
	// before a verified complete answers (see webhooks.go).
	Webhooks Notifier
	// PublicURL is presign's URL as clients reach it ("https://host"), the
	// receipts' iss and the base of companion_endpoint; "" takes it from
	// each request (its Host, and X-Forwarded-Proto).
	PublicURL string
	// Ready reports whether the process takes new work: GET /healthz
	// answers 200 while it is true and 503 once it is false (draining on
	// shutdown); GET /livez answers 200 either way. nil is always ready.
	Ready func() bool
}

// Handler is the HTTP API.
type Handler struct {
	opts   Options
	routes []route
	mux    *http.ServeMux
	// byPattern finds a route by its pattern, for the errors of requests
	// no pattern serves.
	byPattern map[string]*route
	chain     http.Handler
	origins   map[string]bool
	anyOrig   bool
}

// New returns the handler of o.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NewRequestID == nil {
		o.NewRequestID = randomID
	}
	h := &Handler{opts: o, origins: map[string]bool{}}
	for _, origin := range o.CORSOrigins {
		if origin == "*" {
			h.anyOrig = true
		}
		h.origins[strings.TrimSuffix(origin, "/")] = true
	}
	h.routes = []route{
		{pattern: "GET /{$}", name: "tutorial", plain: true, serve: h.tutorialGet},
		{pattern: "GET /presign", name: "tutorial", plain: true, serve: h.tutorialGet},
		{pattern: "POST /get-upload-url", name: "get-upload-url", serve: h.getUploadURL},
		{pattern: "POST /get-download-url", name: "get-download-url", serve: h.getDownloadURL},
		{pattern: "POST /v1/presign", name: "v1-presign", serve: h.presign},
		{pattern: "GET /healthz", name: "healthz", public: true, serve: h.healthz},
		{pattern: "GET /livez", name: "livez", public: true, serve: livez},
		{pattern: "GET /openapi.json", name: "openapi", public: true, serve: serveOpenAPI},
	}
	h.routes = append(h.routes, h.uploadRoutes()...)
	h.routes = append(h.routes, route{pattern: "GET /.well-known/jwks.json", name: "jwks", public: true, serve: h.jwks})
	if o.CompanionPath != "" {
		h.routes = append(h.routes, h.companionRoutes(o.CompanionPath)...)
	}
	if o.Metrics != nil {
		h.routes = append(h.routes, route{pattern: "GET /metrics", name: "metrics", public: true,
			serve: func(w http.ResponseWriter, r *http.Request, _ presign.Principal) error {
				o.Metrics.ServeHTTP(w, r)
				return nil
			}})
	}
	h.chain = h.buildChain()
	return h
}

// Routes lists the served "METHOD /path" pairs, sorted ("{$}", which marks
// an exact path, left out).
func (h *Handler) Routes() []string {
	out := make([]string, len(h.routes))
	for i, rt := range h.routes {
		out[i] = strings.TrimSuffix(rt.pattern, "{$}")
	}
	sort.Strings(out)
	return out
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.chain.ServeHTTP(w, r) }

// issue asks the issuer for a grant and writes the audit line of the
// decision.
func (h *Handler) issue(r *http.Request, p presign.Principal, req presign.Request) (presign.Grant, error) {
	g, err := h.opts.Issuer.Issue(r.Context(), p, req)
	// A list names a prefix, not a key.
	what := slog.String("key", req.Key)
	if req.Op == presign.OpList {
		what = slog.String("prefix", req.Prefix)
	} else if err == nil {
		what = slog.String("key", g.Key)
	}
	if err != nil {
		h.audit(r, p, string(req.Op), err, slog.String("backend", req.Backend), slog.String("bucket", req.Bucket), what)
	} else {
		h.audit(r, p, string(req.Op), nil, slog.String("backend", g.Backend), slog.String("bucket", g.Bucket), what,
			slog.String("rule", g.Rule), slog.Time("expires_at", g.ExpiresAt))
	}
	return g, err
}

// audit writes the audit line of a decision: who asked for what (op and
// attrs), allowed or refused (err) and why. Never a URL, a signature, a
// token or any credential.
func (h *Handler) audit(r *http.Request, p presign.Principal, op string, err error, attrs ...slog.Attr) {
	if !h.opts.Logger.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	// On the stack for the usual few attrs (the record copies them).
	var buf [16]slog.Attr
	line := append(buf[:0], slog.String("request_id", infoOf(r).id), slog.String("principal_kind", p.Kind), slog.String("principal", p.Name),
		slog.String("op", op))
	line = append(line, attrs...)
	if err != nil {
		line = append(line, slog.Bool("allowed", false), slog.String("code", string(presign.ErrorCode(err))), slog.String("reason", presign.ErrorMessage(err)))
	} else {
		line = append(line, slog.Bool("allowed", true))
	}
	h.logLine(r.Context(), time.Now(), "decision", line...)
}

// WriteError writes err as the JSON API's error body, with the status of
// its code; for adapters that answer before a Handler exists.
func WriteError(w http.ResponseWriter, err error) {
	writeJSON(w, Status(err), errorBody{Error: errorDetail{Code: presign.ErrorCode(err), Message: presign.ErrorMessage(err)}})
}

// The tutorial's messages, kept word for word.
const (
	msgMissingKey    = "Request is missing 'key' query parameter"
	msgMissingMethod = "Request is missing 'method' query parameter"
	msgInvalidMethod = "The request 'method' query parameter is invalid"
)

// tutorialMethods maps the tutorial's method parameter to an op. POST is a
// presigned PUT, exactly as the Storj tutorial does.
var tutorialMethods = map[string]presign.Op{
	"GET": presign.OpGet, "POST": presign.OpPut, "PUT": presign.OpPut, "HEAD": presign.OpHead, "DELETE": presign.OpDelete,
}

// tutorialGet serves GET /?key=K&method=M with the URL as text/plain.
func (h *Handler) tutorialGet(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	key, method := queryGet2(r.URL.RawQuery, "key", "method")
	switch {
	case key == "":
		return presign.Errorf(presign.CodeInvalidArgument, msgMissingKey)
	case method == "":
		return presign.Errorf(presign.CodeInvalidArgument, msgMissingMethod)
	}
	op, ok := tutorialMethods[strings.ToUpper(method)]
	if !ok {
		return presign.Errorf(presign.CodeInvalidArgument, msgInvalidMethod)
	}
	g, err := h.issue(r, p, presign.Request{Op: op, Key: key})
	if err != nil {
		return err
	}
	writeText(w, http.StatusOK, g.URL, "Cache-Control", "no-store")
	return nil
}

// queryGet2 returns the values of two query parameters of raw exactly as
// url.ParseQuery(raw) and Values.Get give them (FuzzQueryGet2): each
// name's first value, "" when absent; pairs holding ';' or a bad escape
// are skipped, '+' is a space. It builds no map, and a value without
// escapes is raw's own bytes. A query over maxQuickParams pairs, or a
// process with GODEBUG's urlmaxqueryparams set, is parsed by url.ParseQuery
// itself (its limit on pairs answers no values at all).
func queryGet2(raw, name1, name2 string) (v1, v2 string) {
	if strings.Count(raw, "&") >= maxQuickParams || customMaxQueryParams {
		q, _ := url.ParseQuery(raw)
		return q.Get(name1), q.Get(name2)
	}
	var found1, found2 bool
	for raw != "" && !(found1 && found2) {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || !(k == name1 && !found1 || k == name2 && !found2) {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		if k == name1 && !found1 {
			v1, found1 = v, true
		}
		if k == name2 && !found2 {
			v2, found2 = v, true
		}
	}
	return v1, v2
}

// maxQuickParams is far under url.ParseQuery's default limit of pairs
// (10,000), which queryGet2 leaves to it.
const maxQuickParams = 64

var customMaxQueryParams = strings.Contains(os.Getenv("GODEBUG"), "urlmaxqueryparams")

// filenameBody is the Chalice tutorial's request.
type filenameBody struct {
	Filename string `json:"filename"`
}

func decodeFilename(w http.ResponseWriter, r *http.Request) (string, error) {
	var body filenameBody
	if err := decodeJSON(w, r, &body); err != nil {
		return "", err
	}
	if body.Filename == "" {
		return "", presign.Errorf(presign.CodeInvalidArgument, "filename is required")
	}
	return body.Filename, nil
}

// getUploadURL serves POST /get-upload-url: a presigned POST form, shaped as
// boto3's generate_presigned_post returns it.
func (h *Handler) getUploadURL(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	name, err := decodeFilename(w, r)
	if err != nil {
		return err
	}
	g, err := h.issue(r, p, presign.Request{Op: presign.OpPost, Key: name})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}{g.URL, g.Fields})
	return nil
}

// getDownloadURL serves POST /get-download-url: the GET URL as a JSON string.
func (h *Handler) getDownloadURL(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	name, err := decodeFilename(w, r)
	if err != nil {
		return err
	}
	g, err := h.issue(r, p, presign.Request{Op: presign.OpGet, Key: name})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, g.URL)
	return nil
}

// PresignRequest is the body of POST /v1/presign.
type PresignRequest struct {
	Op             presign.Op        `json:"op"`
	Key            string            `json:"key,omitempty"`
	Bucket         string            `json:"bucket,omitempty"`
	Backend        string            `json:"backend,omitempty"`
	Filename       string            `json:"filename,omitempty"`
	ContentType    string            `json:"content_type,omitempty"`
	ContentLength  *int64            `json:"content_length,omitempty"`
	ContentMD5     string            `json:"content_md5,omitempty"`
	ChecksumSHA256 string            `json:"checksum_sha256,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	ExpiresIn      *int64            `json:"expires_in,omitempty"` // seconds
	// list only: signed into the ListObjectsV2 URL.
	Prefix            string `json:"prefix,omitempty"`
	Delimiter         string `json:"delimiter,omitempty"`
	MaxKeys           int    `json:"max_keys,omitempty"` // 1..1000; 0 is the store's default
	ContinuationToken string `json:"continuation_token,omitempty"`
}

// PresignResponse is the 200 body of POST /v1/presign.
type PresignResponse struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Fields    map[string]string `json:"fields"`
	Key       string            `json:"key"`
	Bucket    string            `json:"bucket"`
	ExpiresAt time.Time         `json:"expires_at"`
	// Upload, for put and post where uploads are configured, is the token
	// POST /v1/uploads/complete takes to verify the upload.
	Upload string `json:"upload,omitempty"`
}

// maxExpiresSeconds bounds expires_in before it becomes a Duration (no
// overflow); the issuer applies the real caps.
const maxExpiresSeconds = 10 * 365 * 24 * 3600

func (h *Handler) presign(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	data, err := readBody(w, r)
	if err != nil {
		return err
	}
	body, err := decodePresignRequest(data)
	if err != nil {
		return err
	}
	req, err := body.request()
	if err != nil {
		return err
	}
	g, err := h.issue(r, p, req)
	if err != nil {
		return err
	}
	resp := GrantResponse(g)
	setHeaders(w.Header(), "Cache-Control", "no-store", "Content-Type", "application/json", "X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(appendGrant(make([]byte, 0, 1024), &resp))
	return nil
}

// request is the library's request of a /v1/presign body.
func (body *PresignRequest) request() (presign.Request, error) {
	req := presign.Request{
		Op: body.Op, Key: body.Key, Bucket: body.Bucket, Backend: body.Backend, Filename: body.Filename,
		ContentType: body.ContentType, ContentLength: body.ContentLength, ContentMD5: body.ContentMD5,
		ChecksumSHA256: body.ChecksumSHA256, Metadata: body.Metadata, Verify: true,
		Prefix: body.Prefix, Delimiter: body.Delimiter, MaxKeys: body.MaxKeys, ContinuationToken: body.ContinuationToken,
	}
	var err error
	req.ExpiresIn, err = expiresIn(body.ExpiresIn)
	return req, err
}

// GrantResponse returns the wire form of g; headers and fields are always
// objects, empty when there are none.
func GrantResponse(g presign.Grant) PresignResponse {
	resp := PresignResponse{Method: g.Method, URL: g.URL, Headers: g.Headers, Fields: g.Fields, Key: g.Key, Bucket: g.Bucket, ExpiresAt: g.ExpiresAt,
		Upload: g.Upload}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	if resp.Fields == nil {
		resp.Fields = map[string]string{}
	}
	return resp
}

// healthz is readiness: 200 "ok", or 503 "draining" once Options.Ready
// says the process takes no new work (a load balancer stops sending).
func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request, _ presign.Principal) error {
	if h.opts.Ready != nil && !h.opts.Ready() {
		writeText(w, http.StatusServiceUnavailable, "draining: shutting down, send new requests elsewhere")
		return nil
	}
	writeText(w, http.StatusOK, "ok")
	return nil
}

// livez is liveness: 200 "ok" as long as the process serves, draining or
// not (restarting a draining process would cut its requests off).
func livez(w http.ResponseWriter, _ *http.Request, _ presign.Principal) error {
	writeText(w, http.StatusOK, "ok")
	return nil
}

// decodeJSON decodes exactly one JSON object of at most MaxBodyBytes into v,
// refusing unknown fields, wrong types, invalid UTF-8 and trailing data, each
// with a message that says what is wrong.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, MaxBodyBytes)
}

// decodeJSONLimit is decodeJSON for a body of at most limit bytes.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	data, err := readBodyLimit(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return presign.Errorf(presign.CodeInvalidArgument, "request body is not valid JSON (at byte %d)", syntax.Offset)
		case errors.As(err, &typ):
			if typ.Field == "" {
				return presign.Errorf(presign.CodeInvalidArgument, "request body must be a JSON object")
			}
			return presign.Errorf(presign.CodeInvalidArgument, "field %q must be of type %s", typ.Field, jsonType(typ))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return presign.Errorf(presign.CodeInvalidArgument, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return presign.Errorf(presign.CodeInvalidArgument, "request body is truncated JSON")
		}
		return presign.Errorf(presign.CodeInvalidArgument, "request body is not a valid JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return presign.Errorf(presign.CodeInvalidArgument, "request body must hold one JSON object and nothing after it")
	}
	return nil
}

// readBody reads a request body of at most MaxBodyBytes that is not blank
// and is valid UTF-8.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBodyLimit(w, r, MaxBodyBytes)
}

// readBodyLimit is readBody for a body of at most limit bytes.
func readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, presign.Errorf(presign.CodeTooLarge, "request body is over %d bytes", limit)
		}
		return nil, presign.Errorf(presign.CodeInvalidArgument, "reading the request body failed")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, presign.Errorf(presign.CodeInvalidArgument, "request body is empty; send a JSON object")
	}
	if !utf8.Valid(data) {
		return nil, presign.Errorf(presign.CodeInvalidArgument, "request body is not valid UTF-8")
	}
	return data, nil
}

func jsonType(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind().String() {
	case "string":
		return "string"
	case "int64", "int", "ptr":
		return "integer"
	case "map":
		return "object of strings"
	}
	return e.Type.String()
}

// setHeaders sets each canonical name of kv (name, value, name, value, …)
// to its value, with one allocation for all of them where Header.Set makes
// one per header.
func setHeaders(h http.Header, kv ...string) {
	vals := make([]string, len(kv)/2)
	for i := range vals {
		vals[i] = kv[2*i+1]
		h[kv[2*i]] = vals[i : i+1 : i+1]
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	setHeaders(w.Header(), "Content-Type", "application/json", "X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeText writes s as text/plain with status; more are further header
// name, value pairs, set with the others in one allocation.
func writeText(w http.ResponseWriter, status int, s string, more ...string) {
	var kv [8]string
	setHeaders(w.Header(), append(append(kv[:0], "Content-Type", "text/plain; charset=utf-8", "X-Content-Type-Options", "nosniff"), more...)...)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s)
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
