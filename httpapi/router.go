package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"presign.dev/presign"
)

// handlerFunc serves one route; a returned error is written in the
// route's error style.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p presign.Principal) error

// route is one served pattern and how it is served.
type route struct {
	pattern string // http.ServeMux pattern: "METHOD /path", with wildcards
	name    string // for logs and metrics
	public  bool   // no authentication (health, docs, metrics)
	plain   bool   // the tutorial's text/plain errors
	// companion: Companion-shaped errors ({"error","message"}).
	companion bool
	// pathToken: the caller is the path token in {token}, not the
	// Authorization header (Uppy 6 cannot send one).
	pathToken bool
	serve     handlerFunc
}

// Limiter is the rate-limit slot of the chain: it runs after
// authentication, before the route, and refuses a request with an
// *presign.Error (CodeRateLimited, answered 429) when p has made too many.
type Limiter interface {
	Limit(r *http.Request, p presign.Principal) error
}

// The middleware chain, outermost first:
//
//	request: request ID, panic recovery, access log, metrics
//	cors:    CORS headers for allowed origins; preflights answered with the
//	         methods the path's routes serve
//	mux:     http.ServeMux, method and path patterns; a known path with an
//	         unserved method is 400 with Allow, an unknown path 404
//	route:   authentication (unless public), the Limiter, the route
//
// Every error, at every step, is written through writeError and the one
// code→status table.
func (h *Handler) buildChain() http.Handler {
	mux := http.NewServeMux()
	h.byPattern = map[string]*route{}
	for i := range h.routes {
		rt := &h.routes[i]
		mux.Handle(rt.pattern, h.routeHandler(rt))
		h.byPattern[rt.pattern] = rt
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		allowed, rt := h.methodsOf(r)
		if len(allowed) == 0 {
			h.writeError(w, r, nil, presign.Errorf(presign.CodeNotFound, "no route %s", r.URL.Path))
			return
		}
		infoOf(r).route = rt
		// 400, not 405: every error's status comes from the one code table.
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		h.writeError(w, r, rt, presign.Errorf(presign.CodeInvalidArgument,
			"%s %s is not allowed; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
	})
	h.mux = mux
	// The mux would redirect a path that is not clean ("//v1/presign",
	// "/a/../healthz") to its clean form, outside the error table; such a
	// path names no route.
	clean := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isClean(r.URL.Path) {
			h.writeError(w, r, nil, presign.Errorf(presign.CodeNotFound, "no route %s", r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
	return h.withRequest(h.withCORS(clean))
}

// isClean reports whether p is a rooted path without empty, "." or ".."
// segments (a trailing "/" allowed).
func isClean(p string) bool {
	c := path.Clean(p)
	return strings.HasPrefix(p, "/") && (c == p || c != "/" && c+"/" == p)
}

// routeHandler authenticates (unless the route is public), applies the
// Limiter and serves rt.
func (h *Handler) routeHandler(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.route = rt
		var p presign.Principal
		if !rt.public {
			var err error
			if rt.pathToken {
				p, err = h.opts.Issuer.OpenPathToken(r.PathValue("token"))
			} else {
				p, err = h.opts.Auth.Authenticate(r)
			}
			if err != nil {
				h.writeError(w, r, rt, err)
				return
			}
			info.principal = p
			if h.opts.Limiter != nil {
				if err := h.opts.Limiter.Limit(r, p); err != nil {
					h.writeError(w, r, rt, err)
					return
				}
			}
		}
		if err := rt.serve(w, r, p); err != nil {
			h.writeError(w, r, rt, err)
		}
	})
}

// requestInfo is what the chain learns about a request as it goes, for the
// access log: the outer step creates it, the route step fills it in.
type requestInfo struct {
	id        string
	route     *route
	principal presign.Principal
}

type requestInfoKey struct{}

// infoOf returns the request's info; a request that did not come through
// the chain gets an empty one.
func infoOf(r *http.Request) *requestInfo {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// requestState is what withRequest keeps for a request, in one allocation:
// the status recorder, the info, the context that carries the info, and
// the X-Request-Id header's value.
type requestState struct {
	rec  statusRecorder
	info requestInfo
	ctx  infoContext
	idv  [1]string
}

// infoContext is its parent with the request's info as the value of
// requestInfoKey{} (context.WithValue's behaviour, without its allocation).
type infoContext struct {
	context.Context
	info *requestInfo
}

func (c *infoContext) Value(key any) any {
	if key == (requestInfoKey{}) {
		return c.info
	}
	return c.Context.Value(key)
}

func (c *infoContext) String() string { return fmt.Sprint(c.Context) + ".WithValue(requestInfo)" }

// withRequest gives each request an ID (X-Request-Id), recovers a panic as
// a 500 whose cause is logged under that ID, and writes the access log
// line and the metrics observation. It logs the path only: queries may
// carry keys, and signed URLs never go to logs.
func (h *Handler) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{}
		info := &st.info
		info.id = h.opts.NewRequestID()
		rec := &st.rec
		rec.ResponseWriter, rec.status = w, http.StatusOK
		st.idv[0] = info.id
		rec.Header()["X-Request-Id"] = st.idv[:]
		st.ctx = infoContext{Context: r.Context(), info: info}
		r = r.WithContext(&st.ctx)
		defer func() {
			if v := recover(); v != nil {
				h.opts.Logger.Error("panic", "request_id", info.id, "route", info.routeName(), "panic", fmt.Sprint(v))
				if !rec.wrote {
					h.writeError(rec, r, info.route, fmt.Errorf("panic: %v", v))
				}
			}
			elapsed := time.Since(start)
			if h.opts.Observer != nil {
				h.opts.Observer.ObserveRequest(info.routeName(), rec.status, elapsed)
			}
			if !h.opts.Logger.Enabled(r.Context(), slog.LevelInfo) {
				return
			}
			h.logLine(r.Context(), start.Add(elapsed), "request", slog.String("request_id", info.id),
				slog.String("method", r.Method), slog.String("path", h.loggedPath(r)), slog.String("route", info.routeName()),
				slog.Int("status", rec.status), slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("principal_kind", info.principal.Kind), slog.String("principal", info.principal.Name))
		}()
		next.ServeHTTP(rec, r)
	})
}

// logLine writes one info line with attrs, at t, as Logger.LogAttrs does
// but straight to the logger's handler: without the caller's program
// counter, which only a handler with AddSource would print (presign's
// loggers do not), and which costs as much as formatting a line's fields;
// and at a time the caller may have read already. Callers check
// Logger.Enabled first.
func (h *Handler) logLine(ctx context.Context, t time.Time, msg string, attrs ...slog.Attr) {
	rec := slog.NewRecord(t, slog.LevelInfo, msg, 0)
	rec.AddAttrs(attrs...)
	_ = h.opts.Logger.Handler().Handle(ctx, rec)
}

// loggedPath is r's path for logs, with every token in it (a path
// token is a bearer credential: {path}/t/{token}/…; an upload token in
// Companion's {uploadId}) replaced by "…", wherever it is (an unclean
// path too).
func (h *Handler) loggedPath(r *http.Request) string {
	p := r.URL.Path
	if !strings.Contains(p, "/"+tokenMark) {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, tokenMark) {
			segs[i] = "…"
		}
	}
	return strings.Join(segs, "/")
}

// tokenMark starts every token presign issues (presign's token framing).
const tokenMark = "u1."

func (info *requestInfo) routeName() string {
	if info.route == nil {
		return "unknown"
	}
	return info.route.name
}

// withCORS sets the CORS headers of an allowed origin and answers its
// preflights with the methods that the path's routes serve.
// Credentials are bearer tokens, never cookies, so none are allowed.
func (h *Handler) withCORS(next http.Handler) http.Handler {
	if len(h.origins) == 0 && !h.anyOrig {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !(h.anyOrig || h.origins[origin]) {
			next.ServeHTTP(w, r)
			return
		}
		if h.anyOrig {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		} else {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		w.Header().Set("Access-Control-Expose-Headers", "X-Request-Id")
		if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
			next.ServeHTTP(w, r)
			return
		}
		var allowed []string
		if isClean(r.URL.Path) {
			allowed, _ = h.methodsOf(r)
		}
		if len(allowed) == 0 {
			next.ServeHTTP(w, r) // no route here: the mux answers 404
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", strings.Join(append(allowed, http.MethodOptions), ", "))
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// corsMethods are the methods a preflight may ask about.
var corsMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodsOf returns the methods served at r's path, by asking the mux
// which pattern each would match, and one of the routes there.
func (h *Handler) methodsOf(r *http.Request) ([]string, *route) {
	var out []string
	var rt *route
	probe := r.Clone(r.Context())
	for _, m := range corsMethods {
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); strings.HasPrefix(pattern, m+" ") || m == http.MethodHead && strings.HasPrefix(pattern, "GET ") {
			out = append(out, m)
			rt = h.byPattern[pattern]
		}
	}
	return out, rt
}

// writeError writes err in the route's style (rt nil: JSON). Internal
// errors are logged with the request ID and reach the client only as
// "internal error (request id …)".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, rt *route, err error) {
	code := presign.ErrorCode(err)
	msg := presign.ErrorMessage(err)
	if code == presign.CodeInternal || code == presign.CodeUnavailable {
		id := infoOf(r).id
		h.opts.Logger.Error("request failed", "request_id", id, "path", h.loggedPath(r), "error", err.Error())
		msg = fmt.Sprintf("%s (request id %s)", msg, id)
	}
	if wait := presign.RetryAfter(err); wait > 0 {
		// Whole seconds (RFC 9110), rounded up: a caller that waits that long
		// is allowed.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	}
	switch {
	case rt != nil && rt.plain:
		writeText(w, Status(err), msg)
		return
	case rt != nil && rt.companion:
		writeJSON(w, Status(err), struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{msg, msg})
		return
	}
	writeJSON(w, Status(err), errorBody{Error: errorDetail{Code: code, Message: msg}})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// WriteString passes s on without a copy to []byte when the writer takes
// strings (net/http's does).
func (s *statusRecorder) WriteString(str string) (int, error) {
	s.wrote = true
	return io.WriteString(s.ResponseWriter, str)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
