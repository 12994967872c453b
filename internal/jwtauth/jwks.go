package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// maxRedirects bounds the redirects of a JWKS fetch.
const maxRedirects = 5

// checkJWKSURL accepts https URLs, and http ones only on loopback
// (localhost, 127.0.0.0/8, ::1), without credentials or a fragment: keys
// fetched in clear over a network can be forged.
func checkJWKSURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("is not an https URL like https://auth.example.com/.well-known/jwks.json")
	}
	if u.User != nil {
		return nil, errors.New("must not hold user info")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return nil, errors.New("must not have a fragment")
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, errors.New("must use https (http only for localhost or a loopback address): keys fetched in clear can be forged")
		}
	}
	return u, nil
}

// httpClient returns the client for JWKS fetches and the bound of one
// fetch. A caller's client is copied, never changed; when it has no
// redirect policy it gets one that keeps checkJWKSURL's rules.
func httpClient(c *http.Client) (*http.Client, time.Duration) {
	if c == nil {
		c = &http.Client{Timeout: DefaultFetchTimeout}
	} else {
		cc := *c
		c = &cc
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if _, err := checkJWKSURL(req.URL.String()); err != nil {
				return fmt.Errorf("redirect refused: %w", err)
			}
			return nil
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	return c, timeout
}

// jwksCache holds one issuer's JWKS keys. It never holds mu during a fetch.
type jwksCache struct {
	url, issuer string
	client      *http.Client
	timeout     time.Duration
	minRefresh  time.Duration
	ttl         time.Duration
	now         func() time.Time
	log         *slog.Logger

	mu        sync.Mutex
	keys      []*key
	loaded    bool          // a fetch has succeeded: keys is the issuer's word
	fetchedAt time.Time     // of the last successful fetch
	attempt   time.Time     // start of the last fetch, successful or not
	lastErr   error         // of the last fetch, nil after a success
	inflight  chan struct{} // closed when the fetch in flight ends
}

// get returns the keys to verify a token with kid ("" for none), fetching
// or refreshing first as Options describes.
func (c *jwksCache) get(ctx context.Context, kid string) ([]*key, error) {
	c.mu.Lock()
	now := c.now()
	var wait <-chan struct{}
	switch {
	case !c.loaded:
		// Nothing to verify with: wait for a fetch, unless one failed just now.
		wait = c.startLocked(ctx, now, min(c.minRefresh, 5*time.Second))
	case kid != "" && !hasKid(c.keys, kid):
		// Perhaps a rotation: wait for a refresh, at most one per minRefresh.
		wait = c.startLocked(ctx, now, c.minRefresh)
	case now.Sub(c.fetchedAt) >= c.ttl:
		// Stale: refresh in the background, verify with what we have.
		c.startLocked(ctx, now, c.minRefresh)
	}
	c.mu.Unlock()

	var waitErr error
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			waitErr = ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		cause := c.lastErr
		if waitErr != nil {
			cause = fmt.Errorf("waiting for the JWKS: %w", waitErr)
		}
		return nil, unauthenticated("the token's issuer keys are unavailable; try again later", cause)
	}
	return c.keys, nil
}

// startLocked starts a fetch unless one is in flight (then it returns
// that one) or the last one started less than gap ago (then nil).
func (c *jwksCache) startLocked(ctx context.Context, now time.Time, gap time.Duration) <-chan struct{} {
	if c.inflight != nil {
		return c.inflight
	}
	if !c.attempt.IsZero() && now.Sub(c.attempt) < gap {
		return nil
	}
	c.attempt = now
	done := make(chan struct{})
	c.inflight = done
	// The fetch outlives the request that started it (others may wait for
	// it too) but never its own timeout.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	go func() {
		defer cancel()
		defer close(done)
		c.fetch(fctx)
	}()
	return done
}

func (c *jwksCache) fetch(ctx context.Context) {
	keys, skipped, err := c.download(ctx)
	c.mu.Lock()
	c.inflight = nil
	if err != nil {
		c.lastErr = err
		cached := len(c.keys)
		loaded := c.loaded
		c.mu.Unlock()
		if loaded {
			c.log.LogAttrs(ctx, slog.LevelWarn, "jwks refresh failed; keeping the cached keys",
				slog.String("issuer", c.issuer), slog.Int("cached_keys", cached), slog.String("error", err.Error()))
		} else {
			c.log.LogAttrs(ctx, slog.LevelWarn, "jwks fetch failed",
				slog.String("issuer", c.issuer), slog.String("error", err.Error()))
		}
		return
	}
	c.keys, c.loaded, c.fetchedAt, c.lastErr = keys, true, c.now(), nil
	c.mu.Unlock()
	level := slog.LevelInfo
	if len(keys) == 0 {
		level = slog.LevelWarn
	}
	c.log.LogAttrs(ctx, level, "jwks fetched",
		slog.String("issuer", c.issuer), slog.Int("keys", len(keys)), slog.Int("skipped", skipped))
}

// download fetches and parses the JWKS. It never panics: a panic while
// parsing a hostile document would be a bug, but is an error here all the
// same, not a crash of the server.
func (c *jwksCache) download(ctx context.Context) (keys []*key, skipped int, err error) {
	defer func() {
		if r := recover(); r != nil {
			keys, skipped, err = nil, 0, fmt.Errorf("jwks: panic while parsing: %v", r)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("jwks: %s answered %s", c.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: reading %s: %w", c.url, err)
	}
	if len(body) > MaxJWKSSize {
		return nil, 0, fmt.Errorf("jwks: %s sent more than %d bytes", c.url, MaxJWKSSize)
	}
	keys, skipped, err = parseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: %s: %w", c.url, err)
	}
	return keys, skipped, nil
}

func hasKid(keys []*key, kid string) bool {
	for _, k := range keys {
		if k.kid == kid {
			return true
		}
	}
	return false
}
