package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/redistest"
	"presign.dev/presign"
)

func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Rate
		err  bool
	}{
		{in: "10/s", want: Rate{10, time.Second}},
		{in: " 600 / m ", want: Rate{600, time.Minute}},
		{in: "1/h", want: Rate{1, time.Hour}},
		{in: "5/minute", want: Rate{5, time.Minute}},
		{in: "1000000/s", want: Rate{1_000_000, time.Second}},
		{in: "10", err: true},
		{in: "10/d", err: true},
		{in: "0/s", err: true},
		{in: "-1/s", err: true},
		{in: "1000001/s", err: true},
		{in: "1.5/s", err: true},
		{in: "/s", err: true},
		{in: "", err: true},
	} {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzParseRate: a rate that parses is valid and prints as a rate that
// parses back to itself.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/s", "600/m", "1/h", "5/minute", "0/s", "x/y", "1000000/s", " 3 / sec"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if ps := (Config{Rate: r}).Validate(); len(ps) != 0 {
			t.Fatalf("ParseRate(%q) = %v, which Validate refuses: %v", s, r, ps)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %v, printed %q, read back %v, %v", s, r, r.String(), back, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
		want []string // fields with a problem
	}{
		{"valid", Config{Rate: Rate{10, time.Second}, Burst: 20, ClientIPHeader: "X-Forwarded-For", OnStoreError: FailClosed}, nil},
		{"defaults", Config{Rate: Rate{10, time.Second}}, nil},
		{"burst negative", Config{Rate: Rate{10, time.Second}, Burst: -1}, []string{"burst"}},
		{"rate too fast", Config{Rate: Rate{2_000_000, time.Second}}, []string{"rate"}},
		{"header", Config{Rate: Rate{1, time.Second}, ClientIPHeader: "X Real IP"}, []string{"client_ip_header"}},
		{"fail mode", Config{Rate: Rate{1, time.Second}, OnStoreError: "sometimes"}, []string{"on_store_error"}},
	} {
		var got []string
		for _, p := range tt.c.Validate() {
			got = append(got, p.Field)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestGCRA: a full bucket lets burst requests through at once, then one
// per interval; each refusal says exactly how long until a token is back.
func TestGCRA(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	const interval = 100 * time.Millisecond
	type step struct {
		at   time.Duration // after t0
		wait time.Duration // 0: allowed
	}
	for _, tt := range []struct {
		name  string
		burst int64
		steps []step
	}{
		{"burst 3 at once, then one per interval", 3, []step{
			{0, 0}, {0, 0}, {0, 0}, {0, interval}, {50 * time.Millisecond, 50 * time.Millisecond},
			{interval, 0}, {interval, interval}, {2 * interval, 0},
		}},
		{"idle refills the bucket to burst, no more", 2, []step{
			{0, 0}, {0, 0}, {0, interval}, {time.Hour, 0}, {time.Hour, 0}, {time.Hour, interval},
		}},
		{"burst 1 is a steady rate", 1, []step{
			{0, 0}, {10 * time.Millisecond, 90 * time.Millisecond}, {interval, 0}, {interval + time.Millisecond, interval - time.Millisecond},
		}},
	} {
		var tat time.Time
		for i, s := range tt.steps {
			next, wait := gcra(t0.Add(s.at), tat, interval, tt.burst)
			if wait != s.wait {
				t.Errorf("%s: step %d at +%v: wait %v, want %v", tt.name, i, s.at, wait, s.wait)
			}
			if wait == 0 {
				tat = next
			}
		}
	}
}

// clock is a settable time for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestStores: Memory and Redis (a real redis-server) keep the same
// contract. Redis decides on its own clock, so its test uses a rate slow
// enough that no token comes back during the test.
func TestStores(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	r, err := NewRedis(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, st := range map[string]Store{"memory": NewMemory(clk.Now), "redis": r} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			const interval = time.Minute
			for i := range 3 {
				if wait, err := st.Take(ctx, "alice", interval, 3); err != nil || wait != 0 {
					t.Fatalf("request %d of a burst of 3: wait %v, %v", i+1, wait, err)
				}
			}
			wait, err := st.Take(ctx, "alice", interval, 3)
			if err != nil || wait <= interval-5*time.Second || wait > interval {
				t.Fatalf("4th request: wait %v, %v; want about %v", wait, err, interval)
			}
			// Refusals take nothing: the wait does not grow.
			again, _ := st.Take(ctx, "alice", interval, 3)
			if again > wait {
				t.Errorf("a refusal took a token: wait %v after %v", again, wait)
			}
			if wait, err := st.Take(ctx, "bob", interval, 3); err != nil || wait != 0 {
				t.Errorf("bob shares alice's bucket: wait %v, %v", wait, err)
			}
		})
	}
	t.Run("memory refills", func(t *testing.T) {
		m := NewMemory(clk.Now)
		ctx := context.Background()
		m.Take(ctx, "k", time.Second, 1)
		if wait, _ := m.Take(ctx, "k", time.Second, 1); wait != time.Second {
			t.Fatalf("wait %v", wait)
		}
		clk.Add(time.Second)
		if wait, _ := m.Take(ctx, "k", time.Second, 1); wait != 0 {
			t.Fatalf("after the interval: wait %v", wait)
		}
	})
	t.Run("redis expires full buckets", func(t *testing.T) {
		ctx := context.Background()
		if _, err := r.Take(ctx, "short", time.Millisecond, 1); err != nil {
			t.Fatal(err)
		}
		v, err := r.client.Do(ctx, "PTTL", "presign:rate:short")
		if err != nil {
			t.Fatal(err)
		}
		if ms, _ := v.Int64(); ms < 0 || ms > 1 {
			t.Errorf("PTTL of a bucket full again in 1 ms: %d", ms)
		}
	})
}

// TestMemoryForgetsFullBuckets: the map holds the buckets that are not
// full; a flood of one-off callers does not grow it without bound.
func TestMemoryForgetsFullBuckets(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	m := NewMemory(clk.Now)
	ctx := context.Background()
	for round := range 10 {
		for i := range 1000 {
			if wait, _ := m.Take(ctx, fmt.Sprintf("caller-%d-%d", round, i), time.Second, 5); wait != 0 {
				t.Fatal("a new caller refused")
			}
		}
		clk.Add(time.Second) // every bucket of this round is full again
	}
	if n := m.Len(); n > 2*minSweep+1000 {
		t.Errorf("%d buckets held after 10 rounds of 1000 one-off callers", n)
	}
}

type outcomes struct {
	mu  sync.Mutex
	got map[string]int
}

func (o *outcomes) ObserveRateLimit(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.got == nil {
		o.got = map[string]int{}
	}
	o.got[outcome]++
}

func (o *outcomes) count() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.got)
}

func TestLimiterKeys(t *testing.T) {
	alice := presign.Principal{Kind: presign.KindAPIKey, Name: "alice"}
	req := func(remote string, header ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Add(header[i], header[i+1])
		}
		return r
	}
	anon := presign.Principal{Kind: presign.KindAnonymous}
	plain := New(Config{Rate: Rate{1, time.Second}}, Options{Store: NewMemory(nil)})
	proxied := New(Config{Rate: Rate{1, time.Second}, ClientIPHeader: "X-Forwarded-For"}, Options{Store: NewMemory(nil)})
	for _, tt := range []struct {
		name       string
		l          *Limiter
		a, b       *http.Request
		pa, pb     presign.Principal
		sameBucket bool
	}{
		{"one API key from two addresses", plain, req("192.0.2.1:1000"), req("192.0.2.2:1000"), alice, alice, true},
		{"two API keys", plain, req("192.0.2.1:1000"), req("192.0.2.1:1000"), alice, presign.Principal{Kind: presign.KindAPIKey, Name: "bob"}, false},
		{"a JWT subject is not the API key of that name", plain, req("192.0.2.1:1"), req("192.0.2.1:1"), alice,
			presign.Principal{Kind: presign.KindJWT, Issuer: "https://idp", Name: "alice"}, false},
		{"same subject, other issuer", plain, req("192.0.2.1:1"), req("192.0.2.1:1"),
			presign.Principal{Kind: presign.KindJWT, Issuer: "https://a", Name: "s"}, presign.Principal{Kind: presign.KindJWT, Issuer: "https://b", Name: "s"}, false},
		{"anonymous: the connection's address", plain, req("192.0.2.1:1000"), req("192.0.2.1:2000"), anon, anon, true},
		{"anonymous: two addresses", plain, req("192.0.2.1:1000"), req("192.0.2.2:1000"), anon, anon, false},
		{"no proxy header configured: a forged one is ignored", plain,
			req("192.0.2.1:1", "X-Forwarded-For", "198.51.100.1"), req("192.0.2.1:1", "X-Forwarded-For", "198.51.100.2"), anon, anon, true},
		{"trusted proxy: its header's last entry", proxied,
			req("10.0.0.1:1", "X-Forwarded-For", "203.0.113.9, 198.51.100.1"), req("10.0.0.1:1", "X-Forwarded-For", "198.51.100.1"), anon, anon, true},
		{"trusted proxy: two clients behind it", proxied,
			req("10.0.0.1:1", "X-Forwarded-For", "198.51.100.1"), req("10.0.0.1:1", "X-Forwarded-For", "198.51.100.2"), anon, anon, false},
		{"trusted proxy: a client's forged first entry does not change its bucket", proxied,
			req("10.0.0.1:1", "X-Forwarded-For", "1.1.1.1, 198.51.100.1"), req("10.0.0.1:1", "X-Forwarded-For", "2.2.2.2, 198.51.100.1"), anon, anon, true},
		{"trusted proxy: no header, the connection's address", proxied, req("10.0.0.1:1"), req("10.0.0.2:1"), anon, anon, false},
		{"IPv6: one /64", plain, req("[2001:db8:1:2::1]:1"), req("[2001:db8:1:2:ffff::9]:1"), anon, anon, true},
		{"IPv6: two /64s", plain, req("[2001:db8:1:2::1]:1"), req("[2001:db8:1:3::1]:1"), anon, anon, false},
		{"IPv4-mapped IPv6 is IPv4", plain, req("[::ffff:192.0.2.1]:1"), req("192.0.2.1:1"), anon, anon, true},
		{"open mode is keyed by address", plain, req("192.0.2.1:1"), req("192.0.2.2:1"),
			presign.Principal{Kind: presign.KindOpen}, presign.Principal{Kind: presign.KindOpen}, false},
	} {
		ka, kb := tt.l.Key(tt.a, tt.pa), tt.l.Key(tt.b, tt.pb)
		if (ka == kb) != tt.sameBucket {
			t.Errorf("%s: same bucket %v, want %v", tt.name, ka == kb, tt.sameBucket)
		}
	}
}

// TestLimiter: the 429 and its Retry-After, and every outcome counted.
func TestLimiter(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	obs := &outcomes{}
	l := New(Config{Rate: Rate{2, time.Minute}, Burst: 2}, Options{Store: NewMemory(clk.Now), Observer: obs, Now: clk.Now})
	r := httptest.NewRequest("GET", "/", nil)
	p := presign.Principal{Kind: presign.KindAPIKey, Name: "alice"}
	for i := range 2 {
		if err := l.Limit(r, p); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	err := l.Limit(r, p)
	var e *presign.Error
	if !errors.As(err, &e) || e.Code != presign.CodeRateLimited || e.RetryAfter != 30*time.Second {
		t.Fatalf("3rd request: %#v; want rate_limited, retry after 30s", err)
	}
	clk.Add(30 * time.Second)
	if err := l.Limit(r, p); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
	if diff := cmp.Diff(map[string]int{OutcomeAllowed: 3, OutcomeLimited: 1}, obs.count()); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// failingStore is a store that cannot be asked.
type failingStore struct{ calls int }

func (f *failingStore) Take(context.Context, string, time.Duration, int64) (time.Duration, error) {
	f.calls++
	return 0, errors.New("connection refused")
}

// TestLimiterStoreDown: open allows, closed refuses 503 with Retry-After;
// either way the store is not asked again during the backoff, and the
// error is counted.
func TestLimiterStoreDown(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	p := presign.Principal{Kind: presign.KindAPIKey, Name: "alice"}
	for _, mode := range []string{FailOpen, FailClosed} {
		clk := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
		obs, st := &outcomes{}, &failingStore{}
		l := New(Config{Rate: Rate{1, time.Second}, OnStoreError: mode}, Options{Store: st, Observer: obs, Now: clk.Now})
		for range 3 {
			err := l.Limit(r, p)
			switch mode {
			case FailOpen:
				if err != nil {
					t.Fatalf("open: %v", err)
				}
			case FailClosed:
				var e *presign.Error
				if !errors.As(err, &e) || e.Code != presign.CodeUnavailable || e.RetryAfter <= 0 {
					t.Fatalf("closed: %#v; want unavailable with RetryAfter", err)
				}
			}
		}
		if st.calls != 1 {
			t.Errorf("%s: store asked %d times within the backoff, want 1", mode, st.calls)
		}
		clk.Add(storeBackoff)
		l.Limit(r, p)
		if st.calls != 2 {
			t.Errorf("%s: store not asked again after the backoff (%d calls)", mode, st.calls)
		}
		if diff := cmp.Diff(map[string]int{"store_error_" + mode: 4}, obs.count()); diff != "" {
			t.Errorf("%s: outcomes (-want +got):\n%s", mode, diff)
		}
	}
}

// BenchmarkLimit: one decision per iteration, over many callers, in memory
// and in a real redis-server on loopback (docs/benchmarks.md).
func BenchmarkLimit(b *testing.B) {
	r, err := NewRedis(redistest.Start(b))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for name, st := range map[string]Store{"memory": NewMemory(nil), "redis": r} {
		b.Run("store="+name, func(b *testing.B) {
			l := New(Config{Rate: Rate{1_000_000, time.Second}}, Options{Store: st})
			reqs := make([]*http.Request, 1024)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/", nil)
				reqs[i].RemoteAddr = fmt.Sprintf("192.0.2.%d:%d", i%256, 1000+i)
			}
			p := presign.Principal{Kind: presign.KindAnonymous}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := l.Limit(reqs[i%len(reqs)], p); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
