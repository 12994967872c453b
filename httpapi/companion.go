package httpapi

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"presign.dev/presign"
)

// Uppy Companion's S3 routes, so that @uppy/aws-s3 (6.x with
// companionEndpoint, 5.x with endpoint) uploads through presign unchanged.
// Bodies are Companion 6.2.2's. What Companion leaves open, presign
// closes: every route is authenticated (5.x sends Authorization through
// its headers option; 6.x cannot send headers, so the same routes are also
// served under {path}/t/{token}, with a path token from POST /v1/tokens);
// keys come from the rules (the client's file name only when no rule
// generates one); the uploadId the client sees is an upload token, so a
// later call cannot name another upload or key; single uploads are POST
// forms with the rule's content-length-range; a multipart upload's total
// is checked at complete and aborted over the limit.
//
// Errors are Companion-shaped: {"error": message, "message": message}
// (5.x shows message on a 4xx), with the status of the code table.

// uppyMetadata are the file.meta entries Uppy adds on its own (Dashboard,
// DragDrop); they are not the application's metadata and are dropped.
var uppyMetadata = map[string]bool{"name": true, "type": true, "relativepath": true}

func (h *Handler) companionRoutes(base string) []route {
	var out []route
	for _, prefix := range []string{base, base + "/t/{token}"} {
		byToken := strings.HasSuffix(prefix, "}")
		add := func(method, path, name string, serve handlerFunc) {
			out = append(out, route{pattern: method + " " + prefix + path, name: name, companion: true, pathToken: byToken, serve: serve})
		}
		add("GET", "/s3/params", "companion-params", h.companionParams)
		add("POST", "/s3/multipart", "companion-create", h.companionCreate)
		add("GET", "/s3/multipart/{uploadId}", "companion-list", h.companionList)
		add("GET", "/s3/multipart/{uploadId}/batch", "companion-batch", h.companionBatch)
		add("GET", "/s3/multipart/{uploadId}/{partNumber}", "companion-sign", h.companionSign)
		add("POST", "/s3/multipart/{uploadId}/complete", "companion-complete", h.companionComplete)
		add("DELETE", "/s3/multipart/{uploadId}", "companion-abort", h.companionAbort)
	}
	return out
}

// companionMetadata reads metadata[name]=value query parameters or a JSON
// object's string values: names lower-cased (two names that differ only
// in case are refused), Uppy's own entries dropped, values that are not
// printable ASCII encoded as RFC 2047 words (as Companion does), so that
// they can be headers. The rules then decide which names are allowed.
func companionMetadata(entries map[string]string) (map[string]string, error) {
	var md map[string]string
	for name, v := range entries {
		lower := strings.ToLower(name)
		if uppyMetadata[lower] {
			continue
		}
		if md == nil {
			md = map[string]string{}
		}
		if _, dup := md[lower]; dup {
			return nil, presign.Errorf(presign.CodeInvalidArgument, "s3: metadata names %q twice (names are not case-sensitive)", lower)
		}
		md[lower] = mime.BEncoding.Encode("UTF-8", v)
	}
	return md, nil
}

// companionParams serves GET /s3/params: a POST form for one upload.
func (h *Handler) companionParams(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	q := r.URL.Query()
	filename := q.Get("filename")
	if filename == "" {
		return presign.Errorf(presign.CodeInvalidArgument, `s3: the "filename" query parameter is required and must be a non-empty string`)
	}
	entries := map[string]string{}
	for name, vs := range q {
		if k, ok := strings.CutPrefix(name, "metadata["); ok && strings.HasSuffix(k, "]") && len(vs) > 0 {
			entries[strings.TrimSuffix(k, "]")] = vs[0]
		}
	}
	md, err := companionMetadata(entries)
	if err != nil {
		return err
	}
	g, err := h.issue(r, p, presign.Request{Op: presign.OpPost, Filename: filename, KeyFromFilename: true,
		ContentType: q.Get("type"), Metadata: md})
	if presign.ErrorCode(err) == presign.CodeUnsupported {
		return &presign.Error{Code: presign.CodeUnsupported, Err: err,
			Message: presign.ErrorMessage(err) + ". This store takes no single POST uploads: set shouldUseMultipart: true in @uppy/aws-s3 (non-empty files then go up in parts)"}
	}
	if err != nil {
		return err
	}
	writeNoStore(w, struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Fields  map[string]string `json:"fields"`
		Expires int64             `json:"expires"`
	}{"POST", g.URL, g.Fields, secondsUntil(g.ExpiresAt)})
	return nil
}

func secondsUntil(t time.Time) int64 { return max(0, int64(time.Until(t)/time.Second)) }

// companionCreate serves POST /s3/multipart: a multipart upload of a size
// the client does not declare.
func (h *Handler) companionCreate(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	var body struct {
		Filename string         `json:"filename"`
		Type     *string        `json:"type"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := decodeCompanionJSON(w, r, &body, MaxBodyBytes); err != nil {
		return err
	}
	if body.Filename == "" {
		return presign.Errorf(presign.CodeInvalidArgument, `s3: the "filename" field is required and must be a non-empty string`)
	}
	if body.Type == nil {
		return presign.Errorf(presign.CodeInvalidArgument, "s3: content type must be a string")
	}
	entries := map[string]string{}
	for name, v := range body.Metadata {
		if s, ok := v.(string); ok { // as Companion: only string values
			entries[name] = s
		}
	}
	md, err := companionMetadata(entries)
	if err != nil {
		return err
	}
	up, err := h.createUpload(r, p, presign.UploadRequest{Filename: body.Filename, KeyFromFilename: true, ContentType: *body.Type,
		Size: presign.SizeUnknown, Metadata: md})
	if err != nil {
		return err
	}
	writeNoStore(w, struct {
		Key      string `json:"key"`
		UploadID string `json:"uploadId"`
		Bucket   string `json:"bucket"`
	}{up.Key, up.Token, up.Bucket})
	return nil
}

// decodeCompanionJSON decodes a Companion request body: a JSON object whose
// unknown fields are ignored, as Companion ignores them.
func decodeCompanionJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	data, err := readBodyLimit(w, r, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return presign.Errorf(presign.CodeInvalidArgument, "s3: the request body is not the JSON object expected")
	}
	return nil
}

// companionUpload returns the upload token of a route's {uploadId}. The
// key the client repeats must be there, as Companion requires, but is not
// used: the token binds the upload's key.
func companionUpload(r *http.Request) (string, error) {
	if _, ok := r.URL.Query()["key"]; !ok {
		return "", presign.Errorf(presign.CodeInvalidArgument, `s3: the object key must be passed as a query parameter. For example: "?key=abc.jpg"`)
	}
	return r.PathValue("uploadId"), nil
}

// companionList serves GET /s3/multipart/{uploadId}: the parts, as a bare
// array of S3 Part objects (PartNumber a number: 5.x compares with ===).
func (h *Handler) companionList(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := companionUpload(r)
	if err != nil {
		return err
	}
	parts, err := h.opts.Issuer.ListUploadParts(r.Context(), p, token)
	if err != nil {
		return err
	}
	type s3Part struct {
		PartNumber   int       `json:"PartNumber"`
		ETag         string    `json:"ETag"`
		Size         int64     `json:"Size"`
		LastModified time.Time `json:"LastModified"`
	}
	out := make([]s3Part, len(parts))
	for i, part := range parts {
		out[i] = s3Part{part.PartNumber, part.ETag, part.Size, part.LastModified}
	}
	writeNoStore(w, out)
	return nil
}

// companionSign serves GET /s3/multipart/{uploadId}/{partNumber}.
func (h *Handler) companionSign(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := companionUpload(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("partNumber"))
	if err != nil || n < 1 || n > presign.MaxParts {
		return presign.Errorf(presign.CodeInvalidArgument, "s3: the part number must be a number between 1 and 10000.")
	}
	grants, err := h.signPartURLs(r, p, token, []presign.PartRequest{{Number: n}})
	if err != nil {
		return err
	}
	writeNoStore(w, struct {
		URL     string `json:"url"`
		Expires int64  `json:"expires"`
	}{grants[0].URL, secondsUntil(grants[0].ExpiresAt)})
	return nil
}

// companionBatch serves GET /s3/multipart/{uploadId}/batch?partNumbers=1,2.
func (h *Handler) companionBatch(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := companionUpload(r)
	if err != nil {
		return err
	}
	list := r.URL.Query().Get("partNumbers")
	if list == "" {
		return presign.Errorf(presign.CodeInvalidArgument, `s3: the part numbers must be passed as a comma separated query parameter. For example: "?partNumbers=4,6,7,21"`)
	}
	var parts []presign.PartRequest
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > presign.MaxParts {
			return presign.Errorf(presign.CodeInvalidArgument, "s3: the part number must be a number between 1 and 10000.")
		}
		parts = append(parts, presign.PartRequest{Number: n})
	}
	grants, err := h.signPartURLs(r, p, token, parts)
	if err != nil {
		return err
	}
	urls := make(map[string]string, len(grants))
	for _, g := range grants {
		urls[strconv.Itoa(g.Number)] = g.URL
	}
	writeNoStore(w, struct {
		PresignedURLs map[string]string `json:"presignedUrls"`
	}{urls})
	return nil
}

// companionComplete serves POST /s3/multipart/{uploadId}/complete.
func (h *Handler) companionComplete(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := companionUpload(r)
	if err != nil {
		return err
	}
	var body struct {
		Parts []struct {
			PartNumber any `json:"PartNumber"`
			ETag       any `json:"ETag"`
		} `json:"parts"`
	}
	if err := decodeCompanionJSON(w, r, &body, MaxCompleteBodyBytes); err != nil {
		return err
	}
	invalid := presign.Errorf(presign.CodeInvalidArgument, "s3: `parts` must be an array of {ETag, PartNumber} objects.")
	if body.Parts == nil {
		return invalid
	}
	named := make([]presign.PartETag, len(body.Parts))
	for i, part := range body.Parts {
		n, ok1 := part.PartNumber.(float64)
		etag, ok2 := part.ETag.(string)
		if !ok1 || !ok2 || n != float64(int(n)) {
			return invalid
		}
		named[i] = presign.PartETag{Number: int(n), ETag: etag}
	}
	if len(named) == 0 {
		return presign.Errorf(presign.CodeInvalidArgument, "s3: no parts to complete")
	}
	done, err := h.complete(r, p, token, named)
	if err != nil {
		return err
	}
	writeNoStore(w, struct {
		Location string `json:"location"`
		Key      string `json:"key"`
		Bucket   string `json:"bucket"`
	}{done.Location, done.Key, done.Bucket})
	return nil
}

// companionAbort serves DELETE /s3/multipart/{uploadId}: {} (5.x parses
// every 2xx body as JSON).
func (h *Handler) companionAbort(w http.ResponseWriter, r *http.Request, p presign.Principal) error {
	token, err := companionUpload(r)
	if err != nil {
		return err
	}
	if err := h.abort(r, p, token); err != nil {
		return err
	}
	writeNoStore(w, struct{}{})
	return nil
}

// reservedPaths are the first segments of presign's own routes (httpapi's
// route table, and presign dev's demo page), which the Companion routes
// may neither take nor go under. TestCompanionPathAvoidsEveryRoute keeps
// the list in step with the route table.
var reservedPaths = []string{"/v1", "/presign", "/get-upload-url", "/get-download-url", "/healthz", "/livez",
	"/openapi.json", "/metrics", "/.well-known", "/demo"}

// ValidateCompanionPath checks p as Options.CompanionPath: a clean
// absolute path, without a trailing "/", of URL-safe characters that
// http.ServeMux patterns take literally, clear of presign's own routes.
func ValidateCompanionPath(p string) error {
	if msg := companionPathProblem(p); msg != "" {
		return presign.Errorf(presign.CodeInvalidArgument, "%s", msg)
	}
	return nil
}

func companionPathProblem(p string) string {
	const example = "like /companion"
	switch {
	case p == "":
		return "is empty; give a path " + example + ", or leave companion out to turn the routes off"
	case p == "/":
		return `"/" would take every route; give a path of its own, ` + example
	case p[0] != '/':
		return fmt.Sprintf("%q must start with \"/\", %s", p, example)
	case len(p) > 200:
		return "is longer than 200 characters"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0) {
			return fmt.Sprintf("%q may hold only letters, digits, '-', '_', '.', '~' and '/'", p)
		}
	}
	if clean := path.Clean(p); clean != p {
		return fmt.Sprintf("%q is not a clean path (no trailing \"/\", no empty, \".\" or \"..\" segments): write %q", p, clean)
	}
	for _, route := range reservedPaths {
		if p == route || strings.HasPrefix(p, route+"/") {
			return fmt.Sprintf("%q collides with presign's own routes under %s; choose another path, %s", p, route, example)
		}
	}
	return ""
}

// companionEndpointOf is the companionEndpoint of a path token, on the
// host the request reached.
func (h *Handler) companionEndpointOf(r *http.Request, token string) string {
	return h.externalURL(r) + h.opts.CompanionPath + "/t/" + url.PathEscape(token)
}
