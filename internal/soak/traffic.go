package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Sizes of what goes to the store.
const (
	smallBytes = 4 << 10 // a presigned PUT's body
	partBytes  = 5 << 20 // a JSON API upload's first part (S3's minimum but the last)
	lastBytes  = 1 << 10 // and its last
	uppyBytes  = 64 << 10
)

// worker runs scenarios one after another until the run is over.
type worker struct {
	run *run
	id  int
	rng *rand.Rand
	n   int // scenarios run, for unique keys

	pathToken string // for the Companion routes under /t/{token}
}

// scenario is one piece of traffic; it returns errStopped at the end of the
// run, errFailed after a counted failure.
type scenario struct {
	name   string
	weight int
	run    func(w *worker, ctx context.Context) error
}

// light are the scenarios picked at random between JSON API uploads,
// which come at their own cadence.
var light = []scenario{
	{"tutorial", 6, (*worker).tutorial},
	{"presign", 6, (*worker).presign},
	{"presign-use", 3, (*worker).presignUse},
	{"uppy", 2, (*worker).uppy},
	{"refused", 4, (*worker).refused},
}

func (w *worker) loop(ctx context.Context) {
	total := 0
	for _, s := range light {
		total += s.weight
	}
	for ctx.Err() == nil {
		w.n++
		var err error
		select {
		case <-w.run.uploads:
			err = w.upload(ctx)
		default:
			pick := w.rng.IntN(total)
			for _, s := range light {
				if pick < s.weight {
					err = s.run(w, ctx)
					break
				}
				pick -= s.weight
			}
		}
		if err != nil && !errors.Is(err, errStopped) && !errors.Is(err, errFailed) {
			w.run.mu.Lock()
			w.run.rep.TransportErrors++ // a request that could not even be built
			w.run.exampleLocked(err.Error())
			w.run.mu.Unlock()
		}
	}
}

// key returns a fresh key under soak/.
func (w *worker) key(kind string) string {
	return fmt.Sprintf("soak/%s/w%d-%d-%x", kind, w.id, w.n, w.rng.Uint32())
}

func (w *worker) auth() http.Header {
	return http.Header{"Authorization": {"Bearer " + w.run.cfg.APIKey}}
}

func (w *worker) jsonHeader() http.Header {
	h := w.auth()
	h.Set("Content-Type", "application/json")
	return h
}

// payload returns n bytes that differ from one call to the next.
func (w *worker) payload(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := w.rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// tutorial asks GET /?key=…&method=GET and PUT for a URL each.
func (w *worker) tutorial(ctx context.Context) error {
	base := w.run.cfg.BaseURL
	for _, m := range []string{"GET", "PUT"} {
		q := url.Values{"key": {w.key("tutorial")}, "method": {m}}
		if _, _, err := w.run.do(ctx, call{step: "tutorial-" + strings.ToLower(m), method: "GET", url: base + "/?" + q.Encode(),
			header: w.auth(), want: 200}); err != nil {
			return err
		}
	}
	return nil
}

// grant is the part of POST /v1/presign's answer used here.
type grant struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// presignV1 asks POST /v1/presign for body.
func (w *worker) presignV1(ctx context.Context, step string, body any) (grant, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return grant{}, err
	}
	_, resp, err := w.run.do(ctx, call{step: step, method: "POST", url: w.run.cfg.BaseURL + "/v1/presign", header: w.jsonHeader(), body: data, want: 200})
	if err != nil {
		return grant{}, err
	}
	var g grant
	if err := json.Unmarshal(resp, &g); err != nil || g.URL == "" {
		return grant{}, w.bad(step, "the answer is not a grant")
	}
	return g, nil
}

// bad counts an answer of the expected status whose body is not what it
// must be as an unexpected one.
func (w *worker) bad(step, why string) error {
	w.run.mu.Lock()
	defer w.run.mu.Unlock()
	w.run.rep.Unexpected++
	w.run.exampleLocked(step + ": " + why)
	return errFailed
}

// presign asks POST /v1/presign for get, put and head grants, unused.
func (w *worker) presign(ctx context.Context) error {
	for _, op := range []string{"get", "put", "head"} {
		if _, err := w.presignV1(ctx, "v1-presign-"+op, map[string]any{"op": op, "key": w.key("presign")}); err != nil {
			return err
		}
	}
	return nil
}

// use sends a grant's request to the store.
func (w *worker) use(ctx context.Context, step string, g grant, body []byte, want int) ([]byte, *http.Response, error) {
	h := http.Header{}
	for k, v := range g.Headers {
		h.Set(k, v)
	}
	resp, got, err := w.run.do(ctx, call{step: step, method: g.Method, url: g.URL, header: h, body: body, want: want})
	return got, resp, err
}

// presignUse puts bytes through a grant (the tutorial's or /v1/presign's,
// in turn), reads them back through another and deletes the object.
func (w *worker) presignUse(ctx context.Context) error {
	key := w.key("used")
	data := w.payload(smallBytes)
	var put grant
	if w.n%2 == 0 {
		q := url.Values{"key": {key}, "method": {"PUT"}}
		_, u, err := w.run.do(ctx, call{step: "tutorial-put", method: "GET", url: w.run.cfg.BaseURL + "/?" + q.Encode(), header: w.auth(), want: 200})
		if err != nil {
			return err
		}
		put = grant{Method: "PUT", URL: string(u)}
	} else {
		var err error
		if put, err = w.presignV1(ctx, "v1-presign-put", map[string]any{"op": "put", "key": key, "content_type": "application/octet-stream",
			"content_length": len(data)}); err != nil {
			return err
		}
	}
	if _, _, err := w.use(ctx, "store-put", put, data, 200); err != nil {
		return err
	}
	return w.readBack(ctx, key, data)
}

// remove deletes key through a presigned DELETE.
func (w *worker) remove(ctx context.Context, key string) error {
	del, err := w.presignV1(ctx, "v1-presign-delete", map[string]any{"op": "delete", "key": key})
	if err != nil {
		return err
	}
	_, _, err = w.use(ctx, "store-delete", del, nil, 204)
	return err
}

// upload is a multipart upload through the JSON API: two parts (5 MiB and
// 1 KiB) put to the store, then completed and read back, or (one in four)
// aborted after the first part.
func (w *worker) upload(ctx context.Context) error {
	base := w.run.cfg.BaseURL
	key := w.key("upload")
	size := int64(partBytes + lastBytes)
	post := func(step, path string, body any, out any) error {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		_, resp, err := w.run.do(ctx, call{step: step, method: "POST", url: base + path, header: w.jsonHeader(), body: data, want: 200})
		if err != nil {
			return err
		}
		if out != nil && json.Unmarshal(resp, out) != nil {
			return w.bad(step, "the answer is not the JSON expected")
		}
		return nil
	}
	var start struct {
		Upload    string `json:"upload"`
		PartCount int    `json:"part_count"`
	}
	if err := post("v1-uploads", "/v1/uploads", map[string]any{"key": key, "size": size, "part_size": partBytes,
		"content_type": "application/octet-stream"}, &start); err != nil {
		return err
	}
	if start.PartCount != 2 {
		return w.bad("v1-uploads", fmt.Sprintf("part_count %d, want 2", start.PartCount))
	}
	var parts struct {
		Parts []struct {
			PartNumber int               `json:"part_number"`
			URL        string            `json:"url"`
			Headers    map[string]string `json:"headers"`
		} `json:"parts"`
	}
	if err := post("v1-uploads-parts", "/v1/uploads/parts", map[string]any{"upload": start.Upload, "part_numbers": []int{1, 2}}, &parts); err != nil {
		return err
	}
	if len(parts.Parts) != 2 {
		return w.bad("v1-uploads-parts", fmt.Sprintf("%d part URLs, want 2", len(parts.Parts)))
	}
	abort := w.rng.IntN(4) == 0
	data := w.payload(int(size))
	type done struct {
		PartNumber int    `json:"part_number"`
		ETag       string `json:"etag"`
	}
	var etags []done
	for i, p := range parts.Parts {
		body := data[:partBytes]
		if p.PartNumber == 2 {
			body = data[partBytes:]
		}
		_, resp, err := w.use(ctx, "store-put-part", grant{Method: "PUT", URL: p.URL, Headers: p.Headers}, body, 200)
		if err != nil {
			return err
		}
		etags = append(etags, done{p.PartNumber, resp.Header.Get("ETag")})
		if abort && i == 0 {
			return post("v1-uploads-abort", "/v1/uploads/abort", map[string]any{"upload": start.Upload}, nil)
		}
	}
	var listed struct {
		Parts []struct{ PartNumber int } `json:"parts"`
	}
	if err := post("v1-uploads-list", "/v1/uploads/list", map[string]any{"upload": start.Upload}, &listed); err != nil {
		return err
	}
	if len(listed.Parts) != 2 {
		return w.bad("v1-uploads-list", fmt.Sprintf("%d parts listed, want 2", len(listed.Parts)))
	}
	var completed struct {
		Size int64 `json:"size"`
	}
	if err := post("v1-uploads-complete", "/v1/uploads/complete", map[string]any{"upload": start.Upload, "parts": etags}, &completed); err != nil {
		return err
	}
	if completed.Size != size {
		return w.bad("v1-uploads-complete", fmt.Sprintf("size %d, want %d", completed.Size, size))
	}
	get, err := w.presignV1(ctx, "v1-presign-get", map[string]any{"op": "get", "key": key})
	if err != nil {
		return err
	}
	got, _, err := w.use(ctx, "store-get-upload", get, nil, 200)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		w.run.mismatch("store-get-upload", len(got), len(data))
	}
	return w.remove(ctx, key)
}

// uppy is an upload as @uppy/aws-s3 makes it through the Companion routes:
// create, sign part 1 (and a batch, as 5.x signs ahead), put it, list,
// then complete (the object read back and deleted) or, one in four, abort.
// Every other one goes under a path token (6.x's companionEndpoint), the
// others with the Authorization header (5.x's headers option).
func (w *worker) uppy(ctx context.Context) error {
	base := w.run.cfg.BaseURL + w.run.cfg.CompanionPath
	header := w.auth()
	if w.n%2 == 0 {
		if w.pathToken == "" {
			_, resp, err := w.run.do(ctx, call{step: "v1-tokens", method: "POST", url: w.run.cfg.BaseURL + "/v1/tokens", header: w.auth(), want: 200})
			if err != nil {
				return err
			}
			var tok struct {
				Token string `json:"token"`
			}
			if json.Unmarshal(resp, &tok) != nil || tok.Token == "" {
				return w.bad("v1-tokens", "no token")
			}
			w.pathToken = tok.Token
		}
		base += "/t/" + url.PathEscape(w.pathToken)
		header = http.Header{}
	}
	jsonHeader := header.Clone()
	jsonHeader.Set("Content-Type", "application/json")

	key := w.key("uppy")
	body, _ := json.Marshal(map[string]any{"filename": key, "type": "application/octet-stream", "metadata": map[string]string{"name": "x.bin"}})
	_, resp, err := w.run.do(ctx, call{step: "companion-create", method: "POST", url: base + "/s3/multipart", header: jsonHeader, body: body, want: 200})
	if err != nil {
		return err
	}
	var created struct {
		Key      string `json:"key"`
		UploadID string `json:"uploadId"`
	}
	if json.Unmarshal(resp, &created) != nil || created.UploadID == "" || created.Key != key {
		return w.bad("companion-create", "not the key and uploadId expected")
	}
	up := base + "/s3/multipart/" + url.PathEscape(created.UploadID)
	kq := "?key=" + url.QueryEscape(created.Key)
	if _, _, err := w.run.do(ctx, call{step: "companion-batch", method: "GET", url: up + "/batch" + kq + "&partNumbers=1,2,3", header: header, want: 200}); err != nil {
		return err
	}
	_, resp, err = w.run.do(ctx, call{step: "companion-sign", method: "GET", url: up + "/1" + kq, header: header, want: 200})
	if err != nil {
		return err
	}
	var signed struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(resp, &signed) != nil || signed.URL == "" {
		return w.bad("companion-sign", "no url")
	}
	data := w.payload(uppyBytes)
	_, put, err := w.use(ctx, "store-put-part", grant{Method: "PUT", URL: signed.URL}, data, 200)
	if err != nil {
		return err
	}
	if _, _, err := w.run.do(ctx, call{step: "companion-list", method: "GET", url: up + kq, header: header, want: 200}); err != nil {
		return err
	}
	if w.rng.IntN(4) == 0 {
		_, _, err := w.run.do(ctx, call{step: "companion-abort", method: "DELETE", url: up + kq, header: header, want: 200})
		return err
	}
	body, _ = json.Marshal(map[string]any{"parts": []map[string]any{{"PartNumber": 1, "ETag": put.Header.Get("ETag")}}})
	if _, _, err := w.run.do(ctx, call{step: "companion-complete", method: "POST", url: up + "/complete" + kq, header: jsonHeader, body: body, want: 200}); err != nil {
		return err
	}
	return w.readBack(ctx, key, data)
}

// refusal is a request presign must refuse, with the status it must get.
type refusal struct {
	step   string
	method string
	path   string
	auth   string // the Authorization header; "" for none
	body   string
	want   int
}

// refusals are the bad requests, tried in turn. Their statuses come from
// httpapi's one code table: 400 invalid, 401 unauthenticated (a wrong
// key, an upload token that does not open), 403 forbidden, 404 no route,
// 413 too large.
func (w *worker) refusals() []refusal {
	good := "Bearer " + w.run.cfg.APIKey
	over := `{"op":"get","key":"soak/x","metadata":{"a":"` + strings.Repeat("x", 70<<10) + `"}}`
	cp := w.run.cfg.CompanionPath
	return []refusal{
		{"refused-anonymous", "POST", "/v1/presign", "", `{"op":"get","key":"soak/x"}`, 401},
		{"refused-wrong-key", "POST", "/v1/presign", "Bearer not-the-key-0123456789", `{"op":"get","key":"soak/x"}`, 401},
		{"refused-dotdot-key", "POST", "/v1/presign", good, `{"op":"get","key":"soak/a/../b"}`, 400},
		{"refused-dotdot-tutorial", "GET", "/?key=" + url.QueryEscape("a/../b") + "&method=GET", good, "", 400},
		{"refused-unknown-field", "POST", "/v1/presign", good, `{"op":"get","key":"soak/x","colour":"red"}`, 400},
		{"refused-oversized", "POST", "/v1/presign", good, over, 413},
		{"refused-outside-rule", "POST", "/v1/presign", good, `{"op":"get","key":"other/x"}`, 403},
		{"refused-no-route", "GET", "/v1/nothing-here", good, "", 404},
		{"refused-method", "DELETE", "/v1/presign", good, "", 400},
		{"refused-upload-size", "POST", "/v1/uploads", good, `{"key":"soak/big","size":` + strconv.Itoa(1<<40) + `}`, 413},
		{"refused-bad-upload-token", "POST", "/v1/uploads/parts", good, `{"upload":"not-a-token","part_numbers":[1]}`, 401},
		{"refused-companion-anonymous", "POST", cp + "/s3/multipart", "", `{"filename":"soak/x","type":""}`, 401},
		{"refused-companion-part", "GET", cp + "/s3/multipart/not-a-token/0?key=soak/x", good, "", 400},
	}
}

// refused sends two of the bad requests.
func (w *worker) refused(ctx context.Context) error {
	all := w.refusals()
	for range 2 {
		rf := all[w.rng.IntN(len(all))]
		h := http.Header{}
		if rf.auth != "" {
			h.Set("Authorization", rf.auth)
		}
		var body []byte
		if rf.body != "" {
			body = []byte(rf.body)
			h.Set("Content-Type", "application/json")
		}
		if _, _, err := w.run.do(ctx, call{step: rf.step, method: rf.method, url: w.run.cfg.BaseURL + rf.path, header: h, body: body, want: rf.want}); err != nil {
			return err
		}
	}
	return nil
}

// readBack gets key through a presigned GET, checks it holds data, and
// removes it.
func (w *worker) readBack(ctx context.Context, key string, data []byte) error {
	get, err := w.presignV1(ctx, "v1-presign-get", map[string]any{"op": "get", "key": key})
	if err != nil {
		return err
	}
	got, _, err := w.use(ctx, "store-get", get, nil, 200)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		w.run.mismatch("store-get", len(got), len(data))
	}
	return w.remove(ctx, key)
}
