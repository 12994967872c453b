package soak

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Reader takes one Sample of a server: its process (by PID, from /proc)
// and its /metrics.
type Reader struct {
	PID        int
	MetricsURL string // http://HOST:PORT/metrics
	Client     *http.Client
}

// Read returns the process's RSS, descriptors and goroutines now (At left
// 0). It returns an error when the process is gone or /metrics does not
// answer a go_goroutines gauge.
func (r Reader) Read(ctx context.Context) (Sample, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.PID))
	if err != nil {
		return Sample{}, err
	}
	rss, err := ParseVmRSS(status)
	if err != nil {
		return Sample{}, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", r.PID))
	if err != nil {
		return Sample{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.MetricsURL, nil)
	if err != nil {
		return Sample{}, err
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return Sample{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return Sample{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	g, err := ParseGauge(body, "go_goroutines")
	if err != nil {
		return Sample{}, err
	}
	if g < 0 || g > math.MaxInt32 || g != math.Trunc(g) {
		return Sample{}, fmt.Errorf("go_goroutines %v is not a count", g)
	}
	return Sample{RSS: rss, Goroutines: int(g), FDs: len(fds)}, nil
}

// ParseVmRSS returns the resident set size, in bytes, that a
// /proc/PID/status file states on its "VmRSS:" line (a count of kB, which
// the kernel means as KiB). It returns an error when there is no such line
// or its value is not a non-negative count of kB.
func ParseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q is not \"VmRSS: N kB\"", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
			return 0, fmt.Errorf("VmRSS value %q is not a count of kB", f[0])
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS line")
}

// ParseGauge returns the value of the unlabelled sample called name in a
// Prometheus text exposition ("name value" or "name value timestamp" on a
// line of its own; comments and other metrics are skipped). It returns an
// error when there is none, or its value is not a finite number.
func ParseGauge(text []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != name {
			continue
		}
		if len(f) > 3 {
			return 0, fmt.Errorf("%s: line %q has more than a value and a timestamp", name, sc.Text())
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%s: value %q is not a finite number", name, f[1])
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s sample", name)
}

// sampleLoop reads r every interval from began until ctx ends, sending each
// sample (At set) or error to out. The first reading is at once.
func sampleLoop(ctx context.Context, r Reader, began time.Time, interval time.Duration, now func() time.Time, out func(Sample, error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		s, err := r.Read(rctx)
		cancel()
		if ctx.Err() != nil {
			return // a reading cut short by the end of the run is not a failure
		}
		s.At = now().Sub(began)
		out(s, err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
