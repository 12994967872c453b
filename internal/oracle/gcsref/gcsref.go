// Package gcsref is the tests' side of gcsv4/internal/gcsref, the program
// that signs with Google's Go library (cloud.google.com/go/storage): its
// protocol and a client for it (see package oracle).
//
// Only tests import this package.
package gcsref

import (
	"path/filepath"
	"testing"

	"presign.dev/internal/oracle"
	"presign.dev/internal/testdep"
)

// Request is one signing for the library: op "url" (storage.SignedURL) or
// "post" (storage.GenerateSignedPostPolicyV4).
type Request struct {
	Op       string `json:"op"`
	Email    string `json:"email"`
	Key      string `json:"key"` // PEM
	Bucket   string `json:"bucket"`
	Object   string `json:"object"`
	Style    string `json:"style"` // "path", "virtual" or "bound"
	Hostname string `json:"hostname"`
	Insecure bool   `json:"insecure"`
	Expires  int64  `json:"expires"` // Unix seconds
	// Now is the signing time, Unix seconds; 0 is the clock's time, which
	// the answer shows (X-Goog-Date, or the form's x-goog-date).
	Now int64 `json:"now,omitempty"`

	// op "url"
	Method  string      `json:"method,omitempty"`
	Headers []string    `json:"headers,omitempty"` // "name:value"
	Query   [][2]string `json:"query,omitempty"`

	// op "post"
	Fields     Fields      `json:"fields"`
	StartsWith [][2]string `json:"starts_with,omitempty"` // "$field", prefix
	Length     []uint64    `json:"length,omitempty"`      // min, max
}

// Fields is storage.PolicyV4Fields as JSON.
type Fields struct {
	ACL                    string            `json:"ACL,omitempty"`
	CacheControl           string            `json:"CacheControl,omitempty"`
	ContentType            string            `json:"ContentType,omitempty"`
	ContentDisposition     string            `json:"ContentDisposition,omitempty"`
	ContentEncoding        string            `json:"ContentEncoding,omitempty"`
	Metadata               map[string]string `json:"Metadata,omitempty"`
	StatusCodeOnSuccess    int               `json:"StatusCodeOnSuccess,omitempty"`
	RedirectToURLOnSuccess string            `json:"RedirectToURLOnSuccess,omitempty"`
}

// Answer is the library's result: the URL, and a form's fields.
type Answer struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
	Error  string            `json:"error"`
}

// Library is a running gcsv4/internal/gcsref.
type Library struct{ p *oracle.Process }

// Start starts the program for the rest of tb, or skips tb (fails it under
// CI=true) when it cannot be built.
func Start(tb testing.TB) *Library {
	tb.Helper()
	root, err := testdep.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return &Library{oracle.Start(tb, filepath.Join(root, "gcsv4", "internal", "gcsref"))}
}

// Sign returns the library's answer to r, failing tb when it refused.
func (l *Library) Sign(tb testing.TB, r *Request) Answer {
	tb.Helper()
	var a Answer
	l.p.Ask(tb, r, &a)
	if a.Error != "" {
		tb.Fatalf("the library refused %+v: %s", r, a.Error)
	}
	return a
}
