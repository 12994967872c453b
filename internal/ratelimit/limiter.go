package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"presign.dev/presign"
)

// Observer counts the limiter's decisions, by outcome (metrics).
type Observer interface {
	ObserveRateLimit(outcome string)
}

// Outcomes of a decision, for Observer.
const (
	OutcomeAllowed = "allowed"
	OutcomeLimited = "limited"
	// The store could not be asked: allowed (FailOpen) or refused
	// (FailClosed).
	OutcomeStoreErrorOpen   = "store_error_open"
	OutcomeStoreErrorClosed = "store_error_closed"
)

// Options are a Limiter's inputs besides its Config.
type Options struct {
	Store    Store
	Observer Observer     // nil observes nothing
	Logger   *slog.Logger // nil discards
	Now      func() time.Time
}

// Limiter applies a Config to requests. It is safe for concurrent use.
type Limiter struct {
	c        Config
	interval time.Duration
	burst    int64
	o        Options
	// downUntil (Unix nanoseconds): after a store error the store is not
	// asked again until then, so that a Redis that is down costs each
	// request nothing while the limiter fails open or closed.
	downUntil atomic.Int64
	// loggedAt (Unix nanoseconds) spaces the store-error log lines.
	loggedAt atomic.Int64
}

// storeBackoff is how long the limiter decides without its store after
// the store failed.
const storeBackoff = time.Second

// New returns the Limiter of c (valid, with a Rate) over o.Store.
func New(c Config, o Options) *Limiter {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c = c.WithDefaults()
	return &Limiter{c: c, interval: c.Rate.Interval(), burst: c.Burst, o: o}
}

// Limit takes one token of p's bucket for r: nil, or a *presign.Error —
// rate_limited with RetryAfter, or (the store down, failing closed)
// unavailable.
func (l *Limiter) Limit(r *http.Request, p presign.Principal) error {
	now := l.o.Now()
	if now.UnixNano() < l.downUntil.Load() {
		return l.storeDown(nil)
	}
	wait, err := l.o.Store.Take(r.Context(), l.Key(r, p), l.interval, l.burst)
	if err != nil {
		l.downUntil.Store(now.Add(storeBackoff).UnixNano())
		return l.storeDown(err)
	}
	if wait > 0 {
		l.observe(OutcomeLimited)
		return &presign.Error{Code: presign.CodeRateLimited, RetryAfter: wait,
			Message: "too many requests: the limit is " + l.c.Rate.String() + " per caller; retry after the time Retry-After says"}
	}
	l.observe(OutcomeAllowed)
	return nil
}

// storeDown answers while the store cannot be asked (err: why, nil while
// backing off), as the Config says.
func (l *Limiter) storeDown(err error) error {
	if err != nil {
		if now := l.o.Now().UnixNano(); now-l.loggedAt.Load() >= int64(10*time.Second) {
			l.loggedAt.Store(now)
			l.o.Logger.Warn("rate limit store unavailable", "on_store_error", l.c.OnStoreError, "error", err.Error())
		}
	}
	if l.c.OnStoreError == FailClosed {
		l.observe(OutcomeStoreErrorClosed)
		return &presign.Error{Code: presign.CodeUnavailable, RetryAfter: storeBackoff, Err: err,
			Message: "the rate limit cannot be checked right now; retry shortly"}
	}
	l.observe(OutcomeStoreErrorOpen)
	return nil
}

func (l *Limiter) observe(outcome string) {
	if l.o.Observer != nil {
		l.o.Observer.ObserveRateLimit(outcome)
	}
}

// Key is the bucket of p's request r: a digest of who p is (kind,
// issuer, name) for an identified caller, and of the client's address for
// an anonymous or open one. An IPv6 client is keyed by its /64, which one
// host usually has whole.
func (l *Limiter) Key(r *http.Request, p presign.Principal) string {
	h := sha256.New()
	if p.Kind == presign.KindAnonymous || p.Kind == presign.KindOpen || p.Kind == "" {
		h.Write([]byte("ip\x00"))
		h.Write([]byte(l.clientAddr(r)))
	} else {
		h.Write([]byte("id\x00" + p.Kind + "\x00" + p.Issuer + "\x00" + p.Name))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// clientAddr is the client's address: the trusted proxy's header when
// configured and valid, else the connection's; an IPv6 address as its
// /64. An address that does not parse is used as it is.
func (l *Limiter) clientAddr(r *http.Request) string {
	raw := ""
	if l.c.ClientIPHeader != "" {
		raw = lastHeaderEntry(r.Header.Values(l.c.ClientIPHeader))
	}
	addr, err := netip.ParseAddr(raw)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(r.RemoteAddr)
		if splitErr != nil {
			host = r.RemoteAddr
		}
		if addr, err = netip.ParseAddr(host); err != nil {
			return host
		}
	}
	addr = addr.Unmap()
	if addr.Is6() {
		prefix, _ := addr.Prefix(64)
		return prefix.String()
	}
	return addr.String()
}

// lastHeaderEntry is the last comma-separated entry of a header's values:
// the one the nearest proxy wrote (X-Forwarded-For lists the client, then
// each proxy's view; only the trusted proxy's own entry cannot be forged
// by the client). Behind two proxies, that entry is the outer proxy's
// address (README: Rate limits). A "[addr]:port" or "addr:port" entry is reduced to addr.
func lastHeaderEntry(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	v = strings.TrimSpace(v)
	if host, _, err := net.SplitHostPort(v); err == nil {
		return host
	}
	return v
}
