// Package lambdaurl serves an http.Handler as an AWS Lambda function behind
// a Lambda Function URL or an API Gateway HTTP API (payload format 2.0,
// BUFFERED responses).
//
// The request of an event is rebuilt as net/http would have received it:
//
//   - the method from requestContext.http.method;
//   - the target from rawPath and rawQueryString exactly as sent (never
//     re-encoded); with an HTTP API stage other than $default, the
//     "/<stage>" prefix is stripped from rawPath;
//   - headers verbatim (payload 2.0 joins repeated headers with commas; the
//     values are not split);
//   - the Cookie header as sent, or, when there is none (HTTP API removes
//     it), the cookies array joined with "; ";
//   - the body, base64-decoded when isBase64Encoded;
//   - RemoteAddr from requestContext.http.sourceIp, Host from the host
//     header (else requestContext.domainName).
//
// The request's context carries the invocation's context (deadline and
// lambdacontext), the platform's request ID ([RequestIDFrom]) and the
// authorizer's identity ([AuthorizerFrom]), which come only from the event's
// requestContext, never from headers.
//
// The response is the handler's status, its headers single-valued (repeated
// values joined with ", "), every Set-Cookie in cookies, and the body,
// base64-encoded unless the content type is text and the body valid UTF-8.
package lambdaurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Event is a payload-2.0 request: a Function URL event, or an HTTP API
// event (a superset: the Function URL fills the API-only fields with
// "$default").
type Event = events.APIGatewayV2HTTPRequest

// Response is a payload-2.0 response, as Function URLs and HTTP APIs both
// accept it.
type Response = events.LambdaFunctionURLResponse

// Handler returns the Lambda handler that serves h, for lambda.Start.
func Handler(h http.Handler) func(context.Context, Event) (Response, error) {
	return func(ctx context.Context, ev Event) (Response, error) {
		return Serve(ctx, h, &ev)
	}
}

// Serve answers one event with h. An error means the event is not a
// payload-2.0 HTTP request; the handler's own failures are responses.
func Serve(ctx context.Context, h http.Handler, ev *Event) (Response, error) {
	r, err := NewRequest(ctx, ev)
	if err != nil {
		return Response{}, err
	}
	w := newRecorder(r.Method == http.MethodHead)
	h.ServeHTTP(w, r)
	return w.response(), nil
}

// NewRequest returns the server-side *http.Request of ev, with ctx (plus the
// request ID and authorizer) as its context.
func NewRequest(ctx context.Context, ev *Event) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, errors.New("lambdaurl: the event has no requestContext.http.method: not a payload 2.0 HTTP event")
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	if st := ev.RequestContext.Stage; st != "" && st != "$default" {
		prefix := "/" + st
		if path == prefix {
			path = "/"
		} else if strings.HasPrefix(path, prefix+"/") {
			path = path[len(prefix):]
		}
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		// Keep what was sent rather than refuse it: the handler decides.
		u = &url.URL{Path: path, RawQuery: ev.RawQueryString}
	} else {
		u.RawQuery = ev.RawQueryString // exactly as sent
	}

	var body []byte
	if ev.Body != "" {
		if ev.IsBase64Encoded {
			body, err = base64.StdEncoding.DecodeString(ev.Body)
			if err != nil {
				return nil, fmt.Errorf("lambdaurl: the body is not valid base64: %v", err)
			}
		} else {
			body = []byte(ev.Body)
		}
	}

	h := make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		h[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if h.Get("Cookie") == "" && len(ev.Cookies) > 0 {
		h["Cookie"] = []string{strings.Join(ev.Cookies, "; ")}
	}
	host := h.Get("Host")
	if host == "" {
		host = ev.RequestContext.DomainName
	}
	h.Del("Host") // net/http keeps it in r.Host only

	proto := ev.RequestContext.HTTP.Protocol
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		proto, major, minor = "HTTP/1.1", 1, 1
	}

	ctx = context.WithValue(ctx, requestIDKey{}, ev.RequestContext.RequestID)
	if a, ok := authorizerOf(ev); ok {
		ctx = context.WithValue(ctx, authorizerKey{}, a)
	}
	r := (&http.Request{
		Method:        method,
		URL:           u,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        h,
		Host:          host,
		RemoteAddr:    ev.RequestContext.HTTP.SourceIP,
		RequestURI:    target,
		ContentLength: int64(len(body)),
		Body:          http.NoBody,
	}).WithContext(ctx)
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return r, nil
}

type requestIDKey struct{}

// RequestIDFrom returns the platform's request ID (requestContext.requestId)
// of the event being served.
func RequestIDFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(requestIDKey{}).(string)
	return id, ok && id != ""
}

// recorder is the http.ResponseWriter of one event.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	head   bool // a HEAD request: the body is discarded
	wrote  bool
}

func newRecorder(head bool) *recorder {
	return &recorder{header: http.Header{}, head: head}
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.wrote || code < 200 { // informational responses are not relayed
		return
	}
	w.wrote, w.status = true, code
}

func (w *recorder) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.head || !bodyAllowed(w.status) {
		return len(p), nil
	}
	return w.body.Write(p)
}

// Flush is a no-op: responses are buffered.
func (w *recorder) Flush() {}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

func (w *recorder) response() Response {
	if !w.wrote {
		w.status = http.StatusOK
	}
	body := w.body.Bytes()
	if len(body) > 0 && w.header.Get("Content-Type") == "" {
		w.header.Set("Content-Type", http.DetectContentType(body)) // as net/http does
	}
	resp := Response{StatusCode: w.status, Headers: make(map[string]string, len(w.header))}
	for k, vs := range w.header {
		if len(vs) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	switch {
	case len(body) == 0:
	case IsText(w.header.Get("Content-Type")) && utf8.Valid(body):
		resp.Body = string(body)
	default:
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

// IsText reports whether a body of content type ct is text, sent as is
// rather than base64-encoded (when it is valid UTF-8).
func IsText(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded",
		"application/x-ndjson", "application/yaml":
		return true
	}
	return false
}
