// Command gcsref signs with Google's Go library, cloud.google.com/go/storage,
// for gcsv4's differential tests: it reads one JSON request a line on
// standard input and answers each with one JSON line on standard output.
//
// It is its own module so that the library and the ~50 modules it requires
// stay out of presign's go.mod: only gcsv4's differential test builds it
// (go build in this directory), and nothing presign ships links it.
//
// The library reads the clock itself: its only seam for the signing time is
// an unexported variable, storage.utcNow. A request with Now set signs at
// that time (the helper sets the variable, reached with go:linkname, which
// the linker allows outside the standard library); without it the library
// signs at the clock's time, which the caller learns from the answer:
// X-Goog-Date and X-Goog-Expires in the URL, x-goog-date in the form.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"time"
	_ "unsafe" // go:linkname

	"cloud.google.com/go/storage"
)

// utcNow is storage.utcNow, the library's clock (storage.go: "a variable to
// allow for mocking in tests").
//
//go:linkname utcNow cloud.google.com/go/storage.utcNow
var utcNow func() time.Time

// Request is one signing to do.
type Request struct {
	Op       string `json:"op"` // "url" or "post"
	Email    string `json:"email"`
	Key      string `json:"key"` // PEM
	Bucket   string `json:"bucket"`
	Object   string `json:"object"`
	Style    string `json:"style"` // "path", "virtual" or "bound"
	Hostname string `json:"hostname"`
	Insecure bool   `json:"insecure"`
	Expires  int64  `json:"expires"` // Unix seconds
	// Now is the signing time, Unix seconds; 0 is the clock's time.
	Now int64 `json:"now,omitempty"`

	// op "url"
	Method  string      `json:"method"`
	Headers []string    `json:"headers"` // "name:value"
	Query   [][2]string `json:"query"`

	// op "post"
	Fields     storage.PolicyV4Fields `json:"fields"`
	StartsWith [][2]string            `json:"starts_with"` // "$field", prefix
	Length     []uint64               `json:"length"`      // min, max
}

// Answer is the library's result.
type Answer struct {
	URL    string            `json:"url,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	Error  string            `json:"error,omitempty"`
}

func main() {
	// The library would take its host from this variable.
	os.Unsetenv("STORAGE_EMULATOR_HOST")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r Request
		var a Answer
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			a.Error = "bad request: " + err.Error()
		} else {
			a = sign(&r)
		}
		if err := out.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func style(r *Request) storage.URLStyle {
	switch r.Style {
	case "virtual":
		return storage.VirtualHostedStyle()
	case "bound":
		return storage.BucketBoundHostname(r.Hostname)
	}
	return storage.PathStyle()
}

func sign(r *Request) Answer {
	clock := utcNow
	defer func() { utcNow = clock }()
	if r.Now != 0 {
		at := time.Unix(r.Now, 0).UTC()
		utcNow = func() time.Time { return at }
	}
	expires := time.Unix(r.Expires, 0).UTC()
	switch r.Op {
	case "url":
		q := url.Values{}
		for _, p := range r.Query {
			q.Add(p[0], p[1])
		}
		u, err := storage.SignedURL(r.Bucket, r.Object, &storage.SignedURLOptions{
			GoogleAccessID:  r.Email,
			PrivateKey:      []byte(r.Key),
			Method:          r.Method,
			Expires:         expires,
			Headers:         r.Headers,
			QueryParameters: q,
			Scheme:          storage.SigningSchemeV4,
			Style:           style(r),
			Insecure:        r.Insecure,
			Hostname:        r.Hostname,
		})
		if err != nil {
			return Answer{Error: err.Error()}
		}
		return Answer{URL: u}
	case "post":
		var conds []storage.PostPolicyV4Condition
		for _, sw := range r.StartsWith {
			conds = append(conds, storage.ConditionStartsWith(sw[0], sw[1]))
		}
		if len(r.Length) == 2 {
			conds = append(conds, storage.ConditionContentLengthRange(r.Length[0], r.Length[1]))
		}
		hostname := r.Hostname
		if r.Style == "bound" {
			hostname = ""
		}
		p, err := storage.GenerateSignedPostPolicyV4(r.Bucket, r.Object, &storage.PostPolicyV4Options{
			GoogleAccessID: r.Email,
			PrivateKey:     []byte(r.Key),
			Expires:        expires,
			Style:          style(r),
			Insecure:       r.Insecure,
			Fields:         &r.Fields,
			Conditions:     conds,
			Hostname:       hostname,
		})
		if err != nil {
			return Answer{Error: err.Error()}
		}
		return Answer{URL: p.URL, Fields: p.Fields}
	}
	return Answer{Error: "unknown op " + r.Op}
}
