package azuresas

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Defaults of a [DelegationKeys].
const (
	// DefaultKeyLifetime is how long a user delegation key lives: a day, so
	// that a URL signed at any time may live at least half a day.
	DefaultKeyLifetime = 24 * time.Hour
	// DefaultRetryInterval is the least time between two failed requests
	// for a key.
	DefaultRetryInterval = 5 * time.Second
	// DefaultFetchTimeout bounds one token and key request together.
	DefaultFetchTimeout = 30 * time.Second
	// KeyBackdate is how long before the request a key's start (skt) is
	// set, so that a service whose clock is behind presign's accepts it at
	// once.
	KeyBackdate = 5 * time.Minute
)

// DelegationKeys holds the user delegation key of one storage account and
// renews it before it expires: the [Signer] of a key valid now, for a
// presigner that has no account key. It is safe for concurrent use; set its
// fields before the first call and leave them.
//
// A key is asked for (Get User Delegation Key, with a token of Tokens)
// valid from [KeyBackdate] before the request until Lifetime after it. From
// the middle of its life on, a renewal runs in the background while the key
// held is returned; once it has expired (or before the first key), callers
// wait for the one request in flight, however many they are. A request is
// not tied to any one caller's context: a caller that gives up does not
// fail the others. After a failure no request is made for RetryInterval:
// callers get the key held while it is valid, and the failure once it is
// not.
//
// A SAS signed with a key stays valid until the SAS's own expiry, which
// the Signer never lets pass the key's: Azure refuses a user delegation SAS
// after its key expires, and nothing ties it to the token that got the key
// (a token may expire within the hour; the key and its SAS outlive it).
// Revoking the principal's keys (Revoke User Delegation Keys) or its role
// ends them all sooner.
type DelegationKeys struct {
	Account  string      // the storage account's name
	Endpoint string      // the Blob service's base URL, as [NormalizeEndpoint] returns it
	Tokens   TokenSource // Entra ID tokens for [StorageResource]
	// HTTP sends Get User Delegation Key; nil means a client that follows
	// no redirect (a bearer token is not sent on).
	HTTP *http.Client
	Now  func() time.Time // nil: time.Now
	// Lifetime of each key; 0 means DefaultKeyLifetime. At most
	// [MaxUserDelegationKeyLifetime]: a longer one is cut to it.
	Lifetime      time.Duration
	RetryInterval time.Duration // 0: DefaultRetryInterval
	FetchTimeout  time.Duration // 0: DefaultFetchTimeout

	mu      sync.Mutex
	cur     *Signer       // the key held; nil before the first
	retryAt time.Time     // no request before, after a failure
	err     error         // the last request's failure; nil after a success
	flight  chan struct{} // the request running, closed when it ends
}

// noRedirects is DelegationKeys's default client.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (d *DelegationKeys) now() time.Time { return nowOf(d.Now) }

func (d *DelegationKeys) lifetime() time.Duration {
	switch {
	case d.Lifetime <= 0:
		return DefaultKeyLifetime
	case d.Lifetime > MaxUserDelegationKeyLifetime:
		return MaxUserDelegationKeyLifetime
	}
	return d.Lifetime
}

// Signer returns the signer of a user delegation key valid now; its
// [Signer.KeyExpiry] is when the key (and every SAS it signs) expires.
// Errors never hold a token or a key.
func (d *DelegationKeys) Signer(ctx context.Context) (*Signer, error) {
	d.mu.Lock()
	now := d.now()
	if d.valid(now) {
		cur := d.cur
		if d.due(now) && !now.Before(d.retryAt) && d.flight == nil {
			d.start(ctx)
		}
		d.mu.Unlock()
		return cur, nil
	}
	if d.flight == nil {
		if d.err != nil && now.Before(d.retryAt) {
			err := d.err
			d.mu.Unlock()
			return nil, err
		}
		d.start(ctx)
	}
	done := d.flight
	d.mu.Unlock()

	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.valid(d.now()) {
		return d.cur, nil
	}
	if d.err != nil {
		return nil, d.err
	}
	return nil, fmt.Errorf("azuresas: the user delegation key expired at %s", d.cur.KeyExpiry().UTC().Format(time.RFC3339))
}

// valid reports whether the key held may sign at now; d.mu is held.
func (d *DelegationKeys) valid(now time.Time) bool {
	return d.cur != nil && now.Before(d.cur.KeyExpiry())
}

// due reports whether the key held is past the middle of its life; d.mu
// is held.
func (d *DelegationKeys) due(now time.Time) bool {
	k := d.cur.udk
	return !now.Before(k.Start.Add(k.Expiry.Sub(k.Start) / 2))
}

// start runs a request in the background; d.mu is held.
func (d *DelegationKeys) start(ctx context.Context) {
	done := make(chan struct{})
	d.flight = done
	timeout := d.FetchTimeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	go func() {
		defer close(done)
		defer cancel()
		s, err := d.fetch(fctx)
		d.finish(s, err)
	}()
}

// fetch gets a token and, with it, a key.
func (d *DelegationKeys) fetch(ctx context.Context) (*Signer, error) {
	if d.Tokens == nil {
		return nil, invalid("user delegation keys: no token source")
	}
	tok, err := d.Tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("azuresas: the token for a user delegation key: %w", err)
	}
	now := d.now()
	start := now.Add(-KeyBackdate).Truncate(time.Second)
	expiry := now.Add(d.lifetime()).Truncate(time.Second)
	if max := start.Add(MaxUserDelegationKeyLifetime); expiry.After(max) {
		expiry = max
	}
	hc := d.HTTP
	if hc == nil {
		hc = noRedirects
	}
	k, err := GetUserDelegationKey(ctx, hc, d.Endpoint, tok.Value, start, expiry)
	if err != nil {
		return nil, err
	}
	return NewUserDelegationSigner(d.Account, k)
}

// finish records a request's outcome.
func (d *DelegationKeys) finish(s *Signer, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flight = nil
	now := d.now()
	if err == nil && !now.Before(s.KeyExpiry()) {
		err = fmt.Errorf("azuresas: the user delegation key got had expired at %s", s.KeyExpiry().UTC().Format(time.RFC3339))
	}
	if err != nil {
		retry := d.RetryInterval
		if retry <= 0 {
			retry = DefaultRetryInterval
		}
		d.err, d.retryAt = err, now.Add(retry)
		return
	}
	d.cur, d.err = s, nil
}

// wait returns when no request is in flight (for tests).
func (d *DelegationKeys) wait() {
	d.mu.Lock()
	done := d.flight
	d.mu.Unlock()
	if done != nil {
		<-done
	}
}
