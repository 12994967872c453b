// Package webhook delivers upload events to the application's receivers,
// signed with the Standard Webhooks scheme (webhook-id, webhook-timestamp,
// webhook-signature: v1,<base64 HMAC-SHA256>), synchronously: the caller
// (a verified complete) answers only once every receiver of the event has
// accepted it, so "the callback never fired" cannot happen unnoticed — a
// failed delivery fails the complete, which the client may call again.
//
// Delivery is bounded: a timeout per attempt, a few attempts with jittered
// backoff, all within one budget, receivers in parallel, redirects never
// followed, and only global unicast addresses dialled — private and
// loopback ones when an endpoint allows them, link-local, metadata and
// other special-purpose ones never.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"presign.dev/presign"
)

// EventUploadCompleted is the event of a verified complete.
const EventUploadCompleted = presign.EventUploadCompleted

// Events are the events receivers may subscribe to.
var Events = []string{EventUploadCompleted}

// SecretPrefix starts a Standard Webhooks secret: "whsec_" + base64 of
// the key.
const SecretPrefix = "whsec_"

// Endpoint is one receiver.
type Endpoint struct {
	Name string
	URL  string // http(s)
	// Secret is the Standard Webhooks secret, "whsec_<base64>" (at least 24
	// bytes of key).
	Secret string
	Events []string // nil: every event
	// AllowPrivate admits a receiver on a private or loopback address (a
	// service beside presign, presign dev's local receiver).
	AllowPrivate bool
}

// MinSecretBytes is the shortest key accepted.
const MinSecretBytes = 24

// ValidateEndpoints reports the problems of a list of endpoints, fields
// "[i].name", "[i].url", "[i].secret" and "[i].events"; never quoting a
// secret.
func ValidateEndpoints(eps []Endpoint) presign.Problems {
	var ps presign.Problems
	seen := map[string]int{}
	for i, e := range eps {
		at := presign.Index("", i)
		switch j, dup := seen[e.Name]; {
		case e.Name == "":
			ps.Addf(presign.Join(at, "name"), "required")
		case presign.ValidateName(e.Name) != nil:
			ps.Addf(presign.Join(at, "name"), "%q may hold only a-z, 0-9 and '-' (1 to 63 characters)", e.Name)
		case dup:
			ps.Addf(presign.Join(at, "name"), "%q is already the name of entry [%d] of this list", e.Name, j)
		}
		seen[e.Name] = i
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
			ps.Addf(presign.Join(at, "url"), "must be an http(s) URL without credentials or fragment")
		}
		if key, err := decodeSecret(e.Secret); err != nil || len(key) < MinSecretBytes {
			ps.Addf(presign.Join(at, "secret"), "must be whsec_ and the base64 of at least %d random bytes (Standard Webhooks' form)", MinSecretBytes)
		}
		for k, ev := range e.Events {
			if !isEvent(ev) {
				ps.Addf(presign.Index(presign.Join(at, "events"), k), "%q is not an event (known: %s)", ev, strings.Join(Events, ", "))
			}
		}
	}
	return ps
}

func isEvent(ev string) bool {
	for _, e := range Events {
		if e == ev {
			return true
		}
	}
	return false
}

func decodeSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("no whsec_ prefix")
	}
	return base64.StdEncoding.DecodeString(rest)
}

// NewSecret returns a fresh secret of 32 random bytes from random.
func NewSecret(random io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// Options are a Sender's inputs besides its endpoints.
type Options struct {
	// Timeout bounds one attempt (connect to answer); 0 means 5 s.
	Timeout time.Duration
	// Attempts per receiver; 0 means 3.
	Attempts int
	// Budget bounds a whole delivery — every receiver, every attempt, the
	// pauses between them — so that complete answers in time (a Lambda
	// function's timeout, a server's write timeout); 0 means 8 s. A
	// context's earlier deadline wins.
	Budget time.Duration
	// Backoff is the pause before the second attempt, doubled for each
	// further one, each with ±50% jitter; 0 means 200 ms.
	Backoff time.Duration
	// Sleep waits between attempts; nil sleeps (until ctx is done).
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time // nil means time.Now
	// Random is the source of the jitter; nil means crypto/rand.
	Random io.Reader
	// Logger receives one line per delivery attempt (never the secret or
	// the signature); nil discards.
	Logger *slog.Logger
	// Transport, when non-nil, replaces the guarded transport (tests of
	// delivery semantics only).
	Transport http.RoundTripper
}

// MaxServerData bounds the JSON a receiver may answer.
const MaxServerData = 64 << 10

// Sender delivers events. It is safe for concurrent use.
type Sender struct {
	endpoints []sender
	o         Options
	client    *http.Client
}

type sender struct {
	Endpoint
	signer *standardwebhooks.Webhook
}

// New returns the Sender of eps (validated).
func New(eps []Endpoint, o Options) (*Sender, error) {
	if ps := ValidateEndpoints(eps); len(ps) > 0 {
		return nil, ps
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Attempts == 0 {
		o.Attempts = 3
	}
	if o.Backoff == 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.Budget == 0 {
		o.Budget = 8 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{o: o}
	for _, e := range eps {
		wh, err := standardwebhooks.NewWebhook(e.Secret)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", e.Name, err)
		}
		s.endpoints = append(s.endpoints, sender{Endpoint: e, signer: wh})
	}
	transport := o.Transport
	if transport == nil {
		transport = guardedTransport(o.Timeout)
	}
	s.client = &http.Client{Transport: transport, Timeout: o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribed reports whether any receiver takes events of type typ.
func (s *Sender) Subscribed(typ string) bool {
	for _, e := range s.endpoints {
		if e.takes(typ) {
			return true
		}
	}
	return false
}

func (e *sender) takes(typ string) bool {
	if len(e.Events) == 0 {
		return true
	}
	for _, ev := range e.Events {
		if ev == typ {
			return true
		}
	}
	return false
}

// ErrNotDelivered is the error of an event some receiver did not accept.
var ErrNotDelivered = errors.New("webhook: not delivered")

// event is one event to deliver.
type event struct {
	typ string
	// id is the webhook-id: the same for the same upload, so that
	// receivers can de-duplicate a delivery repeated by a repeated
	// complete.
	id string
}

// Deliver sends the event typ of id (the webhook-id) with data (its JSON)
// to every receiver that takes it, one after the other, and returns the
// JSON object the first receiver that answered one gave (nil if none did).
// Each receiver must answer 2xx within the attempts; else Deliver returns
// an error wrapping ErrNotDelivered that names the receiver (its cause for
// the log).
func (s *Sender) Deliver(ctx context.Context, typ, id string, data any) (json.RawMessage, error) {
	ev := event{typ, id}
	now := s.o.Now()
	body, err := json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      any       `json:"data"`
	}{typ, now.UTC().Truncate(time.Second), data})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Budget)
	defer cancel()
	// Every receiver at once; the answers in the endpoints' order.
	type result struct {
		data json.RawMessage
		err  error
	}
	results := make([]result, len(s.endpoints))
	var wg sync.WaitGroup
	for i := range s.endpoints {
		e := &s.endpoints[i]
		if !e.takes(ev.typ) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].data, results[i].err = s.deliverTo(ctx, e, ev, now, body)
		}()
	}
	wg.Wait()
	var serverData json.RawMessage
	for i, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("%w to %s: %v", ErrNotDelivered, s.endpoints[i].Name, r.err)
		}
		if serverData == nil {
			serverData = r.data
		}
	}
	return serverData, nil
}

// minAttempt is the least time worth starting an attempt with.
const minAttempt = 100 * time.Millisecond

// deliverTo sends body to e, retrying; it returns the receiver's JSON
// object answer, if any.
func (s *Sender) deliverTo(ctx context.Context, e *sender, ev event, now time.Time, body []byte) (json.RawMessage, error) {
	sig, err := e.signer.Sign(ev.id, now, body)
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := 1; attempt <= s.o.Attempts; attempt++ {
		if attempt > 1 {
			pause := s.backoff(attempt - 1)
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause+minAttempt {
				break // no time left within the budget for another attempt
			}
			if err := s.o.Sleep(ctx, pause); err != nil {
				return nil, fmt.Errorf("%v (after: %w)", err, last)
			}
		}
		start := time.Now()
		data, status, err := s.post(ctx, e, ev.id, now, sig, body)
		s.o.Logger.LogAttrs(ctx, slog.LevelInfo, "webhook", slog.String("receiver", e.Name), slog.String("event", ev.typ),
			slog.String("webhook_id", ev.id), slog.Int("attempt", attempt), slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.Bool("delivered", err == nil))
		if err == nil {
			return data, nil
		}
		last = err
		if status >= 300 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
			break // a refusal (or a redirect, never followed): asking again will not change it
		}
	}
	return nil, last
}

// backoff is the pause before attempt n+1: Backoff·2^(n-1), ±50%.
func (s *Sender) backoff(n int) time.Duration {
	d := float64(s.o.Backoff) * math.Pow(2, float64(n-1))
	var b [8]byte
	if _, err := io.ReadFull(s.o.Random, b[:]); err == nil {
		d *= 0.5 + float64(binary.BigEndian.Uint64(b[:])>>11)/float64(1<<53)
	}
	return time.Duration(d)
}

// post makes one attempt.
func (s *Sender) post(ctx context.Context, e *sender, id string, now time.Time, sig string, body []byte) (json.RawMessage, int, error) {
	ctx = context.WithValue(ctx, allowPrivateKey{}, e.AllowPrivate)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "presign-webhook")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		// Not the URL: its query may hold the receiver's token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxServerData+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, fmt.Errorf("answered %d", resp.StatusCode)
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer: %w", err)
	}
	answer = bytes.TrimSpace(answer)
	if len(answer) > MaxServerData || len(answer) == 0 || answer[0] != '{' || !json.Valid(answer) {
		return nil, resp.StatusCode, nil // accepted; no JSON object (≤ 64 KiB) to pass on
	}
	return json.RawMessage(answer), resp.StatusCode, nil
}

// guardedTransport dials only addresses a receiver may have: never
// link-local or cloud metadata ones; private and loopback ones only for
// endpoints that allow them (checked per request: see RoundTrip).
func guardedTransport(timeout time.Duration) http.RoundTripper {
	return &guard{timeout: timeout}
}

type guard struct {
	timeout time.Duration
}

type allowPrivateKey struct{}

// RoundTrip dials with a dialer whose Control refuses the addresses the
// request's endpoint may not reach, after DNS resolution (so a name that
// resolves to a private address is refused too).
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	allowPrivate, _ := req.Context().Value(allowPrivateKey{}).(bool)
	d := &net.Dialer{Timeout: g.timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		return checkAddr(ap.Addr().Unmap(), allowPrivate)
	}}
	t := &http.Transport{DialContext: d.DialContext, Proxy: nil, TLSHandshakeTimeout: g.timeout,
		ResponseHeaderTimeout: g.timeout, DisableKeepAlives: true, MaxResponseHeaderBytes: 64 << 10}
	defer t.CloseIdleConnections()
	return t.RoundTrip(req)
}

// ErrAddressRefused is the refusal of a receiver's address.
var ErrAddressRefused = errors.New("webhook: the receiver's address is not allowed")

// Ranges no receiver lives in: shared address space (CGNAT; 100.100.100.200
// is a cloud metadata service), benchmarking, IETF protocol assignments,
// "this network", the reserved class E, and IPv6's deprecated site-local
// and Teredo ranges.
var refused = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("fd00:ec2::254/128"), // AWS's IPv6 metadata service
}

// Ranges that embed an IPv4 address, which is checked in their stead:
// NAT64 (64:ff9b::/96, the address in the last 32 bits) and 6to4
// (2002::/16, the address in bits 16 to 48).
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// checkAddr admits global unicast addresses only — never link-local (cloud
// metadata services live there), multicast, unspecified, reserved or
// special-purpose ones, nor an IPv4 address embedded in IPv6 that is one of
// those — and private and loopback ones only when allowPrivate.
func checkAddr(a netip.Addr, allowPrivate bool) error {
	a = a.Unmap()
	if a.Is6() && (nat64.Contains(a) || sixTo4.Contains(a)) {
		b := a.As16()
		var v4 [4]byte
		if nat64.Contains(a) {
			copy(v4[:], b[12:])
		} else {
			copy(v4[:], b[2:6])
		}
		if err := checkAddr(netip.AddrFrom4(v4), allowPrivate); err != nil {
			return fmt.Errorf("%w (embedded in %s)", err, a)
		}
		return nil
	}
	for _, p := range refused {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s is in %s, a special-purpose range", ErrAddressRefused, a, p)
		}
	}
	switch {
	case a.IsLoopback() || a.IsPrivate():
		if !allowPrivate {
			return fmt.Errorf("%w: %s is private or loopback (allow_private admits it)", ErrAddressRefused, a)
		}
		return nil
	case !a.IsGlobalUnicast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a.Is6() && a.As16()[0] == 0 && a.As16()[1] == 0:
		// Link-local, multicast, unspecified, broadcast, and ::/16
		// (IPv4-compatible and other reserved forms).
		return fmt.Errorf("%w: %s is link-local, multicast, unspecified or reserved", ErrAddressRefused, a)
	}
	return nil
}
