package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"presign.dev/internal/conformance"
)

// invokeTimeout bounds every wait on the bootstrap.
const invokeTimeout = 30 * time.Second

// buildFlags are scripts/build-lambda.sh's (TestBuildFlagsAreTheScripts).
var buildFlags = []string{"-tags", "lambda.norpc,nethttpomithttp2", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// goBuild builds pkg into out as the deployment script does, for the
// host, with extraTags (comma-separated) added to the script's.
func goBuild(out, pkg, extraTags string) error {
	flags := slices.Clone(buildFlags)
	if extraTags != "" {
		flags[1] += "," + extraTags
	}
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// fakeRuntime is the Lambda Runtime API (2018-06-01) as a bootstrap sees
// it: /next hands out queued events (and blocks while there are none, as
// Lambda does), /response and /error answer the waiting invoke, and
// /init/error is recorded.
type fakeRuntime struct {
	srv     *httptest.Server
	queue   chan invocation
	closed  chan struct{}
	initErr chan []byte
	seq     atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan result
	nexts   chan time.Time // each GET /next as it arrives
}

type invocation struct {
	id      string
	payload []byte
}

type result struct {
	body    []byte
	isError bool // posted to /error
	at      time.Time
}

func newFakeRuntime() *fakeRuntime {
	f := &fakeRuntime{
		queue: make(chan invocation), closed: make(chan struct{}), initErr: make(chan []byte, 1),
		waiting: map[string]chan result{}, nexts: make(chan time.Time, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case f.nexts <- time.Now():
		default:
		}
		var inv invocation
		select {
		case inv = <-f.queue:
		case <-r.Context().Done():
			return
		case <-f.closed:
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(invokeTimeout).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:presign")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		w.Write(inv.payload)
	})
	answer := func(isError bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			f.mu.Lock()
			ch := f.waiting[r.PathValue("id")]
			delete(f.waiting, r.PathValue("id"))
			f.mu.Unlock()
			if ch == nil {
				w.WriteHeader(http.StatusBadRequest) // unknown or already answered invocation
				return
			}
			w.WriteHeader(http.StatusAccepted)
			ch <- result{body: b, isError: isError, at: time.Now()}
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", answer(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", answer(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		select {
		case f.initErr <- b:
		default:
		}
	})
	f.srv = httptest.NewServer(mux) // 127.0.0.1
	return f
}

// Addr is AWS_LAMBDA_RUNTIME_API.
func (f *fakeRuntime) Addr() string { return f.srv.Listener.Addr().String() }

// Close unblocks idle /next calls and stops the server.
func (f *fakeRuntime) Close() {
	close(f.closed)
	f.srv.Close()
}

// invoke hands payload to the bootstrap p through /next and waits for its
// /response or /error.
func (f *fakeRuntime) invoke(p *proc, payload []byte) (result, error) {
	id := fmt.Sprintf("req-%d", f.seq.Add(1))
	ch := make(chan result, 1)
	f.mu.Lock()
	f.waiting[id] = ch
	f.mu.Unlock()
	timeout := time.NewTimer(invokeTimeout)
	defer timeout.Stop()
	select {
	case f.queue <- invocation{id: id, payload: payload}:
	case <-p.exited:
		return result{}, fmt.Errorf("the bootstrap exited (%v) before taking the invocation; output:\n%s", p.err, p.out.String())
	case <-timeout.C:
		return result{}, fmt.Errorf("the bootstrap did not ask for the invocation within %v; output:\n%s", invokeTimeout, p.out.String())
	}
	select {
	case r := <-ch:
		return r, nil
	case <-p.exited:
		return result{}, fmt.Errorf("the bootstrap exited (%v) during the invocation; output:\n%s", p.err, p.out.String())
	case <-timeout.C:
		return result{}, fmt.Errorf("no answer within %v; output:\n%s", invokeTimeout, p.out.String())
	}
}

// proc is a running bootstrap.
type proc struct {
	cmd    *exec.Cmd
	out    *conformance.Buffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// lambdaEnv is what Lambda sets for a provided.al2023 function (besides
// the credentials, which come with the configuration).
func lambdaEnv(api string) map[string]string {
	return map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          api,
		"AWS_LAMBDA_FUNCTION_NAME":        "presign",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/presign",
		"AWS_LAMBDA_LOG_STREAM_NAME":      "2026/11/22/[$LATEST]0123456789abcdef",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
	}
}

// startProc starts bin with exactly env (nothing from the test's own
// environment, so no AWS_CA_BUNDLE or stray credentials).
func startProc(bin string, env map[string]string) (*proc, error) {
	p := &proc{out: &conformance.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.cmd.Env = append(p.cmd.Env, k+"="+env[k])
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop kills the process by its PID and reaps it.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// merge returns the union of maps, later ones winning; a "" value deletes.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
	}
	return out
}

// shape is how a platform turns an HTTP request into a payload-2.0 event.
type shape struct {
	name       string
	stage      string // "" for $default: no prefix in rawPath
	routeKey   string
	cookieHdr  bool           // the cookie header stays (Function URL) besides the cookies array
	forceB64   func() bool    // base64 every body, not only binary ones
	authorizer map[string]any // requestContext.authorizer, nil for none
}

var (
	functionURL = shape{name: "function-url", routeKey: "$default", cookieHdr: true}
	httpAPIProd = shape{name: "http-api", stage: "prod", routeKey: "ANY /{proxy+}"}
)

// alternate returns true every other call: half the bodies go base64.
func alternate() func() bool {
	var n atomic.Int64
	return func() bool { return n.Add(1)%2 == 0 }
}

// event converts req into the event s's platform would send.
func (s shape) event(req *http.Request) ([]byte, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	headers := map[string]string{}
	for k, vs := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",") // payload 2.0 joins repeated headers with commas
	}
	headers["host"] = req.URL.Host
	headers["x-forwarded-proto"] = "https"
	headers["x-forwarded-port"] = "443"
	headers["x-forwarded-for"] = "203.0.113.7"
	headers["x-amzn-trace-id"] = "Root=1-00000000-000000000000000000000000"
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	var cookies []string
	for _, c := range req.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if !s.cookieHdr {
		delete(headers, "cookie")
	}
	rawPath := req.URL.EscapedPath()
	stage := "$default"
	if s.stage != "" {
		stage = s.stage
		if rawPath != "/"+s.stage && !strings.HasPrefix(rawPath, "/"+s.stage+"/") {
			return nil, fmt.Errorf("%s: path %q is not under the stage /%s", s.name, rawPath, s.stage)
		}
	}
	qsp := map[string]string{}
	for k, vs := range req.URL.Query() {
		qsp[k] = strings.Join(vs, ",")
	}
	ev := map[string]any{
		"version": "2.0", "routeKey": s.routeKey, "rawPath": rawPath, "rawQueryString": req.URL.RawQuery,
		"headers": headers, "isBase64Encoded": false,
		"requestContext": map[string]any{
			"accountId": "anonymous", "apiId": "abc", "domainName": req.URL.Host, "domainPrefix": strings.Split(req.URL.Host, ".")[0],
			"requestId": "c0ffee00-0000-4000-8000-000000000001", "routeKey": s.routeKey, "stage": stage,
			"time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": 1795341600000,
			"http": map[string]any{"method": req.Method, "path": req.URL.Path, "protocol": "HTTP/1.1",
				"sourceIp": "203.0.113.7", "userAgent": req.UserAgent()},
		},
	}
	if len(cookies) > 0 {
		ev["cookies"] = cookies
	}
	if len(qsp) > 0 {
		ev["queryStringParameters"] = qsp
	}
	if s.authorizer != nil {
		ev["requestContext"].(map[string]any)["authorizer"] = s.authorizer
	}
	if len(body) > 0 {
		if !utf8.Valid(body) || (s.forceB64 != nil && s.forceB64()) {
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		} else {
			ev["body"] = string(body)
		}
	}
	return json.Marshal(ev)
}

// response converts the function's payload-2.0 answer back into HTTP, as
// the platform does; an /error is a 502.
func response(req *http.Request, r result) (*http.Response, error) {
	resp := &http.Response{Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
	if r.isError {
		resp.StatusCode = http.StatusBadGateway
		resp.Body = io.NopCloser(bytes.NewReader(r.body))
		return resp, nil
	}
	var out struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		Cookies         []string          `json:"cookies"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields() // exactly the payload-2.0 response fields
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("response %s: %v", r.body, err)
	}
	if out.StatusCode == 0 {
		return nil, fmt.Errorf("response without statusCode: %s", r.body)
	}
	body := []byte(out.Body)
	if out.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
			return nil, fmt.Errorf("response body is not base64: %v", err)
		}
	}
	resp.StatusCode = out.StatusCode
	resp.Status = fmt.Sprintf("%d %s", out.StatusCode, http.StatusText(out.StatusCode))
	for k, v := range out.Headers {
		resp.Header.Set(k, v)
	}
	for _, c := range out.Cookies {
		resp.Header.Add("Set-Cookie", c)
	}
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// doer carries each request to p through the fake Runtime API as s's
// platform would.
func doer(f *fakeRuntime, p *proc, s shape) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		payload, err := s.event(req)
		if err != nil {
			return nil, err
		}
		r, err := f.invoke(p, payload)
		if err != nil {
			return nil, err
		}
		return response(req, r)
	}
}
