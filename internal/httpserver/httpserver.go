// Package httpserver holds the settings of the HTTP server `presign serve`
// and `presign dev` run, in one place, so that the benchmarks' servers
// (bench/cmd) run with the very same ones. It imports the standard library
// only: a trivial server built with it links nothing of presign's.
package httpserver

import (
	"log"
	"net/http"
	"time"
)

// New returns the server of h: bounded header, body and idle times, and a
// 64 KiB header limit. errorLog receives net/http's own errors (nil: the
// log package's standard logger).
func New(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
}
