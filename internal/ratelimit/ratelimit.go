// Package ratelimit limits how often each caller may ask presign: a token
// bucket per caller (Rate tokens a period, Burst at most), kept as GCRA —
// one timestamp per caller, the bucket's "theoretical arrival time" — in
// this process (Memory) or in a Redis every instance shares (Redis), where
// one script call decides each request.
//
// A Limiter keys authenticated callers by who they are (kind, issuer,
// name) and anonymous ones by their client address: the connection's, or
// the one a configured header of a trusted proxy names. It answers the
// httpapi Limiter slot: nil, or a *presign.Error (rate_limited with
// RetryAfter, or unavailable when the store cannot be asked and the
// limiter fails closed).
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"presign.dev/presign"
)

// Rate is N requests per Per.
type Rate struct {
	N   int64
	Per time.Duration
}

// RateForm is how a rate is written.
const RateForm = "N/s, N/m or N/h (requests per second, minute or hour), like 10/s"

// ParseRate reads a rate written as RateForm ("10/s", "600/m", "1000/h").
func ParseRate(s string) (Rate, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a rate: write %s", s, RateForm)
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return Rate{}, fmt.Errorf("%q has no unit s, m or h after the /: write %s", s, RateForm)
	}
	count, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil || count < 1 || count > maxCount {
		return Rate{}, fmt.Errorf("%q needs a whole number of requests from 1 to %d before the /: write %s", s, maxCount, RateForm)
	}
	return Rate{N: count, Per: per}, nil
}

// maxCount bounds a rate's N and a burst: a million a second is far past
// what one instance serves, and keeps every interval at least 1 µs.
const maxCount = 1_000_000

func (r Rate) String() string {
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	if unit == "" {
		return fmt.Sprintf("%d/%s", r.N, r.Per)
	}
	return fmt.Sprintf("%d/%s", r.N, unit)
}

// Interval is the time one request's token takes to come back.
func (r Rate) Interval() time.Duration {
	if r.N <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.N)
}

// What the limiter does when its store cannot be asked.
const (
	FailOpen   = "open"   // allow the request (the default: limits protect, they do not gate)
	FailClosed = "closed" // refuse it, 503 unavailable
)

// Config configures a Limiter; the zero Rate limits nothing.
type Config struct {
	Rate Rate
	// Burst is the most requests a caller may make at once, after being
	// idle; 0 means Rate.N.
	Burst int64
	// ClientIPHeader, when set, is the header a trusted proxy in front of
	// presign sets to the client's address (X-Forwarded-For: its last
	// entry, the one that proxy added; any other header: its value).
	// Anonymous callers are keyed by it; without it (or when a request
	// lacks it) by the connection's address.
	ClientIPHeader string
	// OnStoreError is FailOpen ("" too) or FailClosed.
	OnStoreError string
}

// Validate reports the problems of c: fields rate, burst, client_ip_header
// and on_store_error.
func (c Config) Validate() presign.Problems {
	var ps presign.Problems
	if c.Rate.N < 0 || c.Rate.N > maxCount || c.Rate.N > 0 && c.Rate.Interval() < time.Microsecond {
		ps.Addf("rate", "%s is out of range: write %s, at most %d a second", c.Rate, RateForm, maxCount)
	}
	if c.Burst < 0 || c.Burst > maxCount {
		ps.Addf("burst", "%d must be at most %d, and not negative (0, or left out: the rate's N)", c.Burst, maxCount)
	}
	if c.ClientIPHeader != "" && !validHeaderName(c.ClientIPHeader) {
		ps.Addf("client_ip_header", "%q is not a header name (like X-Forwarded-For)", c.ClientIPHeader)
	}
	if c.OnStoreError != "" && c.OnStoreError != FailOpen && c.OnStoreError != FailClosed {
		ps.Addf("on_store_error", "%q must be open (allow requests while the store is down) or closed (refuse them, 503)", c.OnStoreError)
	}
	return ps
}

// WithDefaults returns c with its defaults filled in: Burst the rate's N,
// OnStoreError FailOpen.
func (c Config) WithDefaults() Config {
	if c.Burst == 0 {
		c.Burst = c.Rate.N
	}
	if c.OnStoreError == "" {
		c.OnStoreError = FailOpen
	}
	return c
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// Store keeps the buckets.
type Store interface {
	// Take takes a token from key's bucket, which refills one token every
	// interval and holds at most burst: it returns 0 when the request may
	// go, else how long until a token is back (nothing taken).
	Take(ctx context.Context, key string, interval time.Duration, burst int64) (wait time.Duration, err error)
}

// gcra decides one request at now for a bucket whose theoretical arrival
// time is tat (zero: full): it returns the bucket's new tat and 0 when
// the request may go, or tat unchanged and the wait when not. A full
// bucket is one whose tat is at or before now; the bucket is empty when
// tat is burst intervals ahead of now.
func gcra(now, tat time.Time, interval time.Duration, burst int64) (time.Time, time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if over := next.Sub(now) - time.Duration(burst)*interval; over > 0 {
		return tat, over
	}
	return next, 0
}
