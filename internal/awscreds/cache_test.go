package awscreds

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"presign.dev/sigv4"
)

// scripted is a source whose fetches the test answers one by one.
type scripted struct {
	calls   atomic.Int32
	started chan struct{}      // a fetch began (buffered)
	answers chan scriptedReply // what the fetch returns
	ctxs    chan context.Context
}

type scriptedReply struct {
	cr  Credentials
	err error
}

func newScripted() *scripted {
	return &scripted{
		started: make(chan struct{}, 16),
		answers: make(chan scriptedReply, 16),
		ctxs:    make(chan context.Context, 16),
	}
}

func (s *scripted) fetch(ctx context.Context) (Credentials, error) {
	s.calls.Add(1)
	s.ctxs <- ctx
	s.started <- struct{}{}
	r := <-s.answers
	return r.cr, r.err
}

func temp(id string, exp time.Time) Credentials {
	return Credentials{
		Credentials: sigv4.Credentials{AccessKeyID: id, SecretAccessKey: "s-" + id, SessionToken: "t-" + id},
		CanExpire:   true, Expires: exp, Source: "test",
	}
}

// TestCacheRefresh walks a Cache through its life on a manual clock.
func TestCacheRefresh(t *testing.T) {
	clock := &manualClock{t: t0}
	src := newScripted()
	c := NewCache(src.fetch, Options{Now: clock.Now, Rand: func() float64 { return 0.25 }, RetryInterval: 30 * time.Second})
	ctx := t.Context()

	exp1 := t0.Add(time.Hour)
	src.answers <- scriptedReply{cr: temp("A", exp1)}
	if got, err := c.Retrieve(ctx); err != nil || got.AccessKeyID != "A" || !got.Expires.Equal(exp1) {
		t.Fatalf("first: %v %v", got, err)
	}
	// Due at exp1 - (5m + 0.25·1m) = exp1 - 5m15s.
	due := exp1.Add(-5*time.Minute - 15*time.Second)
	clock.Set(due.Add(-time.Nanosecond))
	c.Retrieve(ctx)
	c.wait()
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d fetches before due, want 1", n)
	}
	clock.Set(due)
	exp2 := t0.Add(2 * time.Hour)
	src.answers <- scriptedReply{cr: temp("B", exp2)}
	if got, _ := c.Retrieve(ctx); got.AccessKeyID != "A" {
		t.Fatalf("due: %v, want the held ones while refreshing", got)
	}
	c.wait()
	if got, _ := c.Retrieve(ctx); got.AccessKeyID != "B" || src.calls.Load() != 2 {
		t.Fatalf("refreshed: %v after %d fetches", got, src.calls.Load())
	}

	// A failed refresh: the held credentials, with their own expiry, until
	// it; no new fetch within the retry interval.
	due2 := exp2.Add(-5*time.Minute - 15*time.Second)
	clock.Set(due2)
	src.answers <- scriptedReply{err: errors.New("STS is down")}
	c.Retrieve(ctx)
	c.wait()
	clock.Set(due2.Add(29 * time.Second))
	if got, err := c.Retrieve(ctx); err != nil || got.AccessKeyID != "B" || !got.Expires.Equal(exp2) {
		t.Fatalf("after a failed refresh: %v %v", got, err)
	}
	c.wait()
	if n := src.calls.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3 (none within the retry interval)", n)
	}
	clock.Set(due2.Add(30 * time.Second))
	src.answers <- scriptedReply{err: errors.New("STS is still down")}
	c.Retrieve(ctx)
	c.wait()
	if n := src.calls.Load(); n != 4 {
		t.Fatalf("%d fetches, want 4", n)
	}
	clock.Set(exp2.Add(-time.Nanosecond))
	src.answers <- scriptedReply{err: errors.New("STS is still down")}
	if got, err := c.Retrieve(ctx); err != nil || got.AccessKeyID != "B" || !got.Expires.Equal(exp2) {
		t.Fatalf("a nanosecond before the expiry: %v %v", got, err)
	}
	c.wait()
	clock.Set(exp2)
	if got, err := c.Retrieve(ctx); err == nil || err.Error() != "STS is still down" {
		t.Fatalf("at the expiry: %v %v, want the refresh's error", got, err)
	}
	// Past the retry interval, a caller with nothing valid waits for a fetch.
	clock.Set(exp2.Add(30 * time.Second))
	exp3 := exp2.Add(time.Hour)
	src.answers <- scriptedReply{cr: temp("C", exp3)}
	if got, err := c.Retrieve(ctx); err != nil || got.AccessKeyID != "C" {
		t.Fatalf("after the expiry, STS back: %v %v", got, err)
	}
}

// TestCacheShortLived: credentials that live less than twice the window
// are refreshed at half their life.
func TestCacheShortLived(t *testing.T) {
	clock := &manualClock{t: t0}
	src := newScripted()
	c := NewCache(src.fetch, Options{Now: clock.Now, Rand: fixedRand})
	src.answers <- scriptedReply{cr: temp("A", t0.Add(4*time.Minute))}
	c.Retrieve(t.Context())
	clock.Set(t0.Add(2*time.Minute - time.Nanosecond))
	c.Retrieve(t.Context())
	c.wait()
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d fetches before half life", n)
	}
	clock.Set(t0.Add(2 * time.Minute))
	src.answers <- scriptedReply{cr: temp("B", t0.Add(8*time.Minute))}
	c.Retrieve(t.Context())
	c.wait()
	if got, _ := c.Retrieve(t.Context()); got.AccessKeyID != "B" {
		t.Fatalf("at half life: %v", got)
	}
}

// TestCacheSingleFlight: however many callers ask at once, one fetch.
func TestCacheSingleFlight(t *testing.T) {
	src := newScripted()
	c := NewCache(src.fetch, Options{Now: func() time.Time { return t0 }})
	const n = 50
	var wg sync.WaitGroup
	got := make([]Credentials, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = c.Retrieve(context.Background())
		}()
	}
	<-src.started
	src.answers <- scriptedReply{cr: temp("A", t0.Add(time.Hour))}
	wg.Wait()
	if k := src.calls.Load(); k != 1 {
		t.Errorf("%d fetches, want 1", k)
	}
	for i := range n {
		if errs[i] != nil || got[i].AccessKeyID != "A" {
			t.Errorf("caller %d: %v %v", i, got[i], errs[i])
		}
	}
}

// TestCacheCallerGivesUp: a caller whose context ends stops waiting; the
// fetch goes on, under its own timeout, for the next caller.
func TestCacheCallerGivesUp(t *testing.T) {
	src := newScripted()
	c := NewCache(src.fetch, Options{Now: func() time.Time { return t0 }, FetchTimeout: 7 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Retrieve(ctx)
		done <- err
	}()
	<-src.started
	fctx := <-src.ctxs
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v", err)
	}
	if fctx.Err() != nil {
		t.Fatal("the fetch was cancelled with the caller")
	}
	if dl, ok := fctx.Deadline(); !ok || time.Until(dl) > 7*time.Second {
		t.Errorf("the fetch's deadline: %v %v, want within the 7s timeout", dl, ok)
	}
	src.answers <- scriptedReply{cr: temp("A", t0.Add(time.Hour))}
	if got, err := c.Retrieve(context.Background()); err != nil || got.AccessKeyID != "A" {
		t.Fatalf("next caller: %v %v", got, err)
	}
	if k := src.calls.Load(); k != 1 {
		t.Errorf("%d fetches, want 1", k)
	}
}

// TestCacheExpiredOnArrival: credentials that have already expired when
// fetched are an error, never returned.
func TestCacheExpiredOnArrival(t *testing.T) {
	src := newScripted()
	c := NewCache(src.fetch, Options{Now: func() time.Time { return t0 }})
	src.answers <- scriptedReply{cr: temp("A", t0)}
	got, err := c.Retrieve(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Op != "refresh" {
		t.Fatalf("%v %v, want an error", got, err)
	}
}

// TestCacheNoExpiry: credentials without an expiry are fetched once.
func TestCacheNoExpiry(t *testing.T) {
	clock := &manualClock{t: t0}
	src := newScripted()
	c := NewCache(src.fetch, Options{Now: clock.Now})
	src.answers <- scriptedReply{cr: Credentials{Credentials: sigv4.Credentials{AccessKeyID: "A", SecretAccessKey: "s"}, Source: "test"}}
	c.Retrieve(t.Context())
	clock.Set(t0.Add(1000 * time.Hour))
	if got, err := c.Retrieve(t.Context()); err != nil || got.AccessKeyID != "A" {
		t.Fatal(got, err)
	}
	c.wait()
	if k := src.calls.Load(); k != 1 {
		t.Errorf("%d fetches", k)
	}
}
