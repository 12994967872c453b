package awscreds

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Refresh defaults (see Options).
const (
	DefaultRefreshWindow = 5 * time.Minute
	DefaultRefreshJitter = time.Minute
	DefaultRetryInterval = 5 * time.Second
	DefaultFetchTimeout  = 20 * time.Second
)

// Cache holds the credentials of a source that expire, and refreshes them
// before they do. It is safe for concurrent use.
//
// Credentials fetched at t that expire at E are refreshed from
// E - (window + jitter·rand) on, or from the middle of their life when
// that comes later. A refresh runs in the background while the held
// credentials are valid, so callers get those meanwhile; once they have
// expired (or before the first fetch), callers wait for the one fetch in
// flight, however many they are. A fetch is not tied to any one caller's
// context: a caller that gives up does not fail the others.
//
// A failed refresh is retried RetryInterval later at the earliest, by the
// next call; until then the held credentials are returned while they are
// valid, with their own expiry, and once they are not, the refresh's
// error. Credentials are never returned at or after their expiry, and
// fetched credentials that have already expired are an error.
type Cache struct {
	fetch   func(ctx context.Context) (Credentials, error)
	now     func() time.Time
	rand    func() float64
	window  time.Duration
	jitter  time.Duration
	retry   time.Duration
	timeout time.Duration

	mu        sync.Mutex
	cur       Credentials // valid while have
	have      bool
	refreshAt time.Time     // when cur is due for refresh
	retryAt   time.Time     // no fetch before, after a failure
	err       error         // the last fetch's failure; nil after a success
	flight    chan struct{} // the fetch running, closed when it ends; nil when none

	src fetcher // the source behind fetch, when New made the Cache (for tests)
}

// fetcher is a source that New caches.
type fetcher interface {
	fetch(ctx context.Context) (Credentials, error)
}

func newSourceCache(src fetcher, o Options) *Cache {
	c := NewCache(src.fetch, o)
	c.src = src
	return c
}

// NewCache returns a Cache of the credentials fetch returns.
func NewCache(fetch func(ctx context.Context) (Credentials, error), o Options) *Cache {
	o = o.withDefaults()
	return &Cache{
		fetch:   fetch,
		now:     o.Now,
		rand:    o.Rand,
		window:  o.RefreshWindow,
		jitter:  o.RefreshJitter,
		retry:   o.RetryInterval,
		timeout: o.FetchTimeout,
	}
}

// Retrieve returns the held credentials while they are valid, refreshing
// them when they are due; otherwise it waits for a fetch (or ctx).
func (c *Cache) Retrieve(ctx context.Context) (Credentials, error) {
	c.mu.Lock()
	now := c.now()
	if c.valid(now) {
		if c.cur.CanExpire && !now.Before(c.refreshAt) && !now.Before(c.retryAt) && c.flight == nil {
			c.start(ctx)
		}
		cur := c.cur
		c.mu.Unlock()
		return cur, nil
	}
	if c.flight == nil {
		if c.err != nil && now.Before(c.retryAt) {
			err := c.err
			c.mu.Unlock()
			return Credentials{}, err
		}
		c.start(ctx)
	}
	done := c.flight
	c.mu.Unlock()

	select {
	case <-done:
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.valid(now) {
		return c.cur, nil
	}
	if c.err != nil {
		return Credentials{}, c.err
	}
	// Fetched valid, expired while this caller was scheduled.
	return Credentials{}, &Error{Source: c.cur.Source, Op: "refresh", Err: fmt.Errorf("the credentials expired at %s", c.cur.Expires.UTC().Format(time.RFC3339))}
}

// valid reports whether the held credentials may be used at now.
func (c *Cache) valid(now time.Time) bool {
	return c.have && (!c.cur.CanExpire || now.Before(c.cur.Expires))
}

// start runs a fetch in the background; c.mu is held.
func (c *Cache) start(ctx context.Context) {
	done := make(chan struct{})
	c.flight = done
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	go func() {
		defer close(done)
		defer cancel()
		cr, err := c.fetch(fctx)
		c.finish(cr, err)
	}()
}

// finish records a fetch's outcome.
func (c *Cache) finish(cr Credentials, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flight = nil
	now := c.now()
	if err == nil && cr.CanExpire && !now.Before(cr.Expires) {
		err = &Error{Source: cr.Source, Op: "refresh", Err: fmt.Errorf("the credentials fetched had expired at %s", cr.Expires.UTC().Format(time.RFC3339))}
	}
	if err != nil {
		c.err = err
		c.retryAt = now.Add(c.retry)
		return
	}
	c.cur, c.have, c.err = cr, true, nil
	if !cr.CanExpire {
		return // never refreshed
	}
	lead := c.window + time.Duration(c.rand()*float64(c.jitter))
	if half := cr.Expires.Sub(now) / 2; lead > half {
		lead = half
	}
	c.refreshAt = cr.Expires.Add(-lead)
}

// wait returns when no fetch is in flight (for tests).
func (c *Cache) wait() {
	c.mu.Lock()
	done := c.flight
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}
