// Package soak drives a running `presign serve` with bounded mixed traffic
// for a while and judges whether it held up: no 5xx, no unexpected status,
// no transport error, and no growth of memory, goroutines or file
// descriptors once warmed up.
//
// The traffic, from a few workers under one request rate: the tutorial's
// GET /?key=…&method=… (get and put) and POST /v1/presign (get, put,
// head, delete), some of whose URLs are used against the store (bytes put,
// read back and compared, then deleted); multipart uploads through the
// JSON API (POST /v1/uploads, /v1/uploads/parts, the parts PUT to the
// store, /v1/uploads/list, /v1/uploads/complete, some aborted instead) at
// a fixed cadence, since each moves 5 MiB; Uppy-style uploads through the
// Companion routes (with the Authorization header, as @uppy/aws-s3 5.x,
// and under a path token, as 6.x); and requests that must be refused
// (unauthenticated, a wrong key, keys like a/../b, unknown JSON fields,
// oversized bodies, keys outside the rule, unknown routes), each with the
// one 4xx it must get.
//
// Run needs the server's address, an API key its configuration allows
// (get, head, put, delete and multipart under keys soak/**, at least 16
// MiB), its Companion path and its PID, for /proc. TestSoak in this
// package starts Versity Gateway and `presign serve` and calls it;
// scripts/soak.sh runs TestSoak.
package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config is what Run needs; zero values take the defaults noted.
type Config struct {
	BaseURL       string // presign's, http://127.0.0.1:PORT
	APIKey        string // allowed get, head, put, delete, multipart under soak/**
	CompanionPath string // e.g. /companion
	PID           int    // the server's process, for /proc samples

	Duration    time.Duration
	Workers     int           // concurrent requests at most; default 8
	Rate        float64       // requests per second at most, over all workers; default 40
	UploadEvery time.Duration // a JSON API multipart upload (5 MiB + 1 KiB) this often; default 3s
	SampleEvery time.Duration // default 2s
	Tolerance   Tolerance     // default DefaultTolerance

	Seed uint64           // of the traffic's choices
	Now  func() time.Time // default time.Now
	// Progress, when set, is called with each sample as it is taken.
	Progress func(Sample)
}

// Report is what a run did and found.
type Report struct {
	Duration time.Duration
	Requests int64             // every HTTP request made, to presign and the store
	ByStep   map[string]*Tally // by step name (e.g. "v1-presign-put", "store-put-part")
	Samples  []Sample

	Status5xx       int64
	Unexpected      int64 // statuses other than the step's expected one, 5xx included
	TransportErrors int64
	SampleErrors    int64
	Mismatches      int64 // bytes read back that differ from those put
	Examples        []string

	Checks []Check
}

// Tally counts one step's responses by status.
type Tally struct {
	ByStatus map[int]int64
}

// maxExamples bounds the examples of failures a report keeps.
const maxExamples = 20

// Run sends the traffic until cfg.Duration has passed (or ctx ends) and
// returns the report with its checks. It returns an error only when it
// could not run at all (a bad Config).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.BaseURL == "" || cfg.APIKey == "" || cfg.CompanionPath == "" || cfg.PID <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("soak: BaseURL, APIKey, CompanionPath, PID and Duration are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 40
	}
	if cfg.UploadEvery <= 0 {
		cfg.UploadEvery = 3 * time.Second
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = 2 * time.Second
	}
	if cfg.Tolerance == (Tolerance{}) {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	transport := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: cfg.Workers,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	began := cfg.Now()
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	r := &run{cfg: cfg, client: client, rep: &Report{ByStep: map[string]*Tally{}}, tokens: make(chan struct{}, 1),
		uploads: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Go(func() { feed(runCtx, r.tokens, time.Duration(float64(time.Second)/cfg.Rate)) })
	wg.Go(func() { feed(runCtx, r.uploads, cfg.UploadEvery) })
	wg.Go(func() {
		reader := Reader{PID: cfg.PID, MetricsURL: cfg.BaseURL + "/metrics", Client: client}
		sampleLoop(runCtx, reader, began, cfg.SampleEvery, cfg.Now, func(s Sample, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if err != nil {
				r.rep.SampleErrors++
				r.exampleLocked(fmt.Sprintf("sample at %v: %v", s.At.Round(time.Second), err))
				return
			}
			r.rep.Samples = append(r.rep.Samples, s)
			if cfg.Progress != nil {
				cfg.Progress(s)
			}
		})
	})
	for i := range cfg.Workers {
		w := &worker{run: r, id: i, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
		wg.Go(func() { w.loop(runCtx) })
	}
	wg.Wait()

	rep := r.rep
	rep.Duration = cfg.Now().Sub(began)
	rep.Checks = append([]Check{
		Zero("responses 5xx", rep.Status5xx),
		Zero("unexpected statuses", rep.Unexpected),
		Zero("transport errors", rep.TransportErrors),
		Zero("bytes read back differ", rep.Mismatches),
		Zero("sampling errors", rep.SampleErrors),
	}, Growth(rep.Samples, cfg.Duration, cfg.Tolerance)...)
	return rep, nil
}

// feed puts a token in ch every interval (none piles up: ch holds one)
// until ctx ends.
func feed(ctx context.Context, ch chan<- struct{}, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// run is one Run's shared state.
type run struct {
	cfg     Config
	client  *http.Client
	tokens  chan struct{} // one per request allowed
	uploads chan struct{} // one per JSON API upload due

	mu  sync.Mutex
	rep *Report
}

func (r *run) exampleLocked(s string) {
	if len(r.rep.Examples) < maxExamples {
		r.rep.Examples = append(r.rep.Examples, s)
	}
}

// errStopped ends a scenario when the run is over; it is not a failure.
var errStopped = errors.New("soak: run over")

// errFailed ends a scenario after a failure that is already counted.
var errFailed = errors.New("soak: step failed")

// call is one HTTP request of a scenario.
type call struct {
	step   string // name in the report
	method string
	url    string
	header http.Header
	body   []byte
	want   int // the one status expected
}

// do waits for the rate limiter, sends c and returns the status and body
// when the status is c.want. Anything else is counted (a 5xx, an
// unexpected status, a transport error) and answered errFailed; the end of
// the run errStopped. Examples name the step and status, never a URL
// (presigned URLs carry signatures).
func (r *run) do(ctx context.Context, c call) (*http.Response, []byte, error) {
	select {
	case <-ctx.Done():
		return nil, nil, errStopped
	case <-r.tokens:
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, bytes.NewReader(c.body))
	if err != nil {
		return nil, nil, err
	}
	copyHeader(req.Header, c.header)
	resp, err := r.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil && ctx.Err() != nil {
		return nil, nil, errStopped // cut short by the end of the run
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Requests++
	if err != nil {
		r.rep.TransportErrors++
		r.exampleLocked(fmt.Sprintf("%s: transport error: %v", c.step, redact(err)))
		return nil, nil, errFailed
	}
	t := r.rep.ByStep[c.step]
	if t == nil {
		t = &Tally{ByStatus: map[int]int64{}}
		r.rep.ByStep[c.step] = t
	}
	t.ByStatus[resp.StatusCode]++
	if resp.StatusCode >= 500 {
		r.rep.Status5xx++
	}
	if resp.StatusCode != c.want {
		r.rep.Unexpected++
		r.exampleLocked(fmt.Sprintf("%s: status %d, want %d: %.300s", c.step, resp.StatusCode, c.want, body))
		return nil, nil, errFailed
	}
	return resp, body, nil
}

// mismatch counts bytes read back that differ from those put.
func (r *run) mismatch(step string, got, want int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Mismatches++
	r.exampleLocked(fmt.Sprintf("%s: read back %d bytes that differ from the %d put", step, got, want))
}

// redact keeps a transport error's text but not the URL it names (a
// *url.Error quotes it whole, signature included).
func redact(err error) string {
	s := err.Error()
	if i := strings.Index(s, "?"); i >= 0 {
		if j := strings.IndexAny(s[i:], "\": "); j >= 0 {
			return s[:i] + "?…" + s[i+j:]
		}
		return s[:i] + "?…"
	}
	return s
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = slices.Clone(vs)
	}
}

// Steps lists the report's steps with their statuses, one a line, sorted.
func (rep *Report) Steps() string {
	names := make([]string, 0, len(rep.ByStep))
	for name := range rep.ByStep {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		t := rep.ByStep[name]
		statuses := make([]int, 0, len(t.ByStatus))
		var total int64
		for s, n := range t.ByStatus {
			statuses = append(statuses, s)
			total += n
		}
		slices.Sort(statuses)
		fmt.Fprintf(&b, "%-28s %7d ", name, total)
		for _, s := range statuses {
			fmt.Fprintf(&b, " %d×%d", s, t.ByStatus[s])
		}
		b.WriteByte('\n')
	}
	return b.String()
}
