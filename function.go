// Package presignfn is presign as a Google Cloud Function: the HTTP function
// Presign, registered with the Functions Framework for Go, serves the same
// HTTP API as presign serve (the tutorial routes, /v1/presign, /healthz,
// /openapi.json), configured from the function's environment exactly as
// serve is (README: Configuration). There is no /metrics route: Cloud
// Functions has its own request metrics, and Prometheus stays out of the
// function's build.
//
// Deploy it with the module root as the source (deploy/gcp/README.md):
//
//	gcloud functions deploy presign --gen2 --runtime go126 --entry-point Presign --trigger-http --source . ...
//
// Run it locally with go run ./cmd/presign-gcf.
//
// The configuration is read and the service built on the first request,
// once per instance; init only registers the function, so a cold start does
// no I/O. A configuration that does not validate is logged (every problem,
// each naming its variable, never a secret) and every request is then
// answered 503 unavailable, until a new revision fixes the environment.
//
// This package must stay at the module root, must not be package main, and
// its tests must stay in package presignfn: the Go buildpack parses the root
// directory (tests included) and requires exactly one package there.
package presignfn

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/service"
	"presign.dev/presign"
)

// FunctionName is the name the function is registered under: the
// --entry-point of gcloud functions deploy and the FUNCTION_TARGET of the
// Functions Framework.
const FunctionName = "Presign"

func init() { functions.HTTP(FunctionName, Presign) }

// Presign is the Cloud Function: it serves presign's HTTP API.
func Presign(w http.ResponseWriter, r *http.Request) {
	function.ServeHTTP(w, r)
}

// function is what Presign serves. Tests replace it (sequentially, never
// from parallel tests) with a lazyHandler reading another environment.
var function http.Handler = newLazyHandler(os.LookupEnv, os.Stderr)

// lazyHandler builds presign's handler from the environment that lookup
// reads, once, on its first request.
type lazyHandler struct {
	lookup config.Lookup
	logs   io.Writer // where the function's logs go

	once sync.Once
	h    http.Handler
}

func newLazyHandler(lookup config.Lookup, logs io.Writer) *lazyHandler {
	return &lazyHandler{lookup: lookup, logs: logs}
}

func (l *lazyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.once.Do(l.build)
	l.h.ServeHTTP(w, r)
}

// build sets l.h: the service's handler, or one that answers 503 when the
// configuration is invalid. It never panics (a panic inside sync.Once would
// leave l.h nil for every later request).
func (l *lazyHandler) build() {
	logger := service.NewLogger(l.logs, "json", slog.LevelInfo, cloudLogging)
	defer func() {
		if v := recover(); v != nil {
			l.h = unavailable(logger, fmt.Errorf("building the service: panic: %v", v))
		}
	}()
	cfg, err := config.LoadServing(l.lookup, "")
	if err != nil {
		l.h = unavailable(logger, err)
		return
	}
	logger = service.NewLogger(l.logs, cfg.LogFormat, cfg.LogLevel, cloudLogging)
	svc, err := service.New(cfg, service.Options{Logger: logger})
	if err != nil {
		l.h = unavailable(logger, err)
		return
	}
	logger.Info("presign function ready", "config", cfg.Source, "backends", len(cfg.Backends),
		"rules", len(cfg.Rules), "api_keys", len(cfg.APIKeys), "jwt_issuers", len(cfg.JWT))
	l.h = svc.Handler
}

// unavailable logs why the service cannot start, once, and returns the
// handler that answers every request 503 in httpapi's error shape. The
// problems go to the log only: config's messages name variables and file
// fields, never secret values, but they are still no business of callers.
func unavailable(logger *slog.Logger, err error) http.Handler {
	problems := strings.Split(err.Error(), "\n")
	logger.Error("invalid configuration: presign answers 503 until it is fixed", "problems", problems)
	refusal := presign.Errorf(presign.CodeUnavailable, "presign is not configured correctly; the problems are in its log")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.Warn("request refused: invalid configuration", "method", r.Method, "path", r.URL.Path)
		w.Header().Set("Cache-Control", "no-store")
		httpapi.WriteError(w, refusal)
	})
}

// cloudLogging renames the level and message keys of JSON log lines to
// those of Cloud Logging's structured logs (severity, message), so that the
// log explorer shows each line with its severity.
func cloudLogging(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "severity"
		if lvl, ok := a.Value.Any().(slog.Level); ok && lvl >= slog.LevelWarn && lvl < slog.LevelError {
			a.Value = slog.StringValue("WARNING")
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}
