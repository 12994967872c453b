package quotastore

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"presign.dev/internal/redistest"
	"presign.dev/presign"
)

// Both stores keep the same contract; the Redis one against a real
// redis-server.
func TestStores(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r, err := NewRedis(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, st := range map[string]presign.QuotaStore{"memory": NewMemory(clock), "redis": r} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			add := func(id string, n int64) int64 {
				t.Helper()
				total, ok, err := st.Add(ctx, "alice", "100", id, n, 1000, time.Hour, time.Hour)
				if err != nil || !ok {
					t.Fatalf("add %s: %v, %v", id, ok, err)
				}
				return total
			}
			if u, err := st.Usage(ctx, "alice", "100"); err != nil || u != 0 {
				t.Fatalf("usage before: %d, %v", u, err)
			}
			if add("up-1", 10) != 10 || add("up-2", 5) != 15 {
				t.Fatal("totals")
			}
			if add("up-1", 10) != 15 {
				t.Error("an upload counted twice")
			}
			if u, _ := st.Usage(ctx, "alice", "100"); u != 15 {
				t.Errorf("usage %d, want 15", u)
			}
			// Over the limit: not counted, and not taken as counted later.
			if total, ok, _ := st.Add(ctx, "alice", "100", "up-3", 986, 1000, time.Hour, time.Hour); ok || total != 15 {
				t.Errorf("an add over the limit: total %d, ok %v", total, ok)
			}
			if total, ok, _ := st.Add(ctx, "alice", "100", "up-3", 985, 1000, time.Hour, time.Hour); !ok || total != 1000 {
				t.Errorf("an add up to the limit: total %d, ok %v", total, ok)
			}
			if u, _ := st.Usage(ctx, "bob", "100"); u != 0 {
				t.Errorf("bob's usage %d", u)
			}
			if u, _ := st.Usage(ctx, "alice", "200"); u != 0 {
				t.Errorf("another window's usage %d", u)
			}
			// Concurrent adds of distinct uploads all count; of one, once.
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Add(2)
				go func() { defer wg.Done(); _, _, _ = st.Add(ctx, "carol", "100", "same", 1, 1000, time.Hour, time.Hour) }()
				go func() {
					defer wg.Done()
					_, _, _ = st.Add(ctx, "carol", "100", "u"+string(rune('a'+i%26))+string(rune('a'+i/26)), 2, 1000, time.Hour, time.Hour)
				}()
			}
			wg.Wait()
			if u, _ := st.Usage(ctx, "carol", "100"); u != 101 {
				t.Errorf("carol's usage %d, want 101 (50 uploads of 2, one of 1)", u)
			}
		})
	}
}

func TestMemoryExpiry(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	ctx := context.Background()
	_, _, _ = m.Add(ctx, "alice", "w", "up-1", 10, 100, time.Minute, 2*time.Minute)
	now = now.Add(time.Minute)
	if u, _ := m.Usage(ctx, "alice", "w"); u != 0 {
		t.Errorf("an expired count is %d", u)
	}
	if total, _, _ := m.Add(ctx, "alice", "w", "up-1", 10, 100, time.Minute, 2*time.Minute); total != 0 {
		t.Errorf("an upload counted again while its id is kept: %d", total)
	}
	now = now.Add(2 * time.Minute)
	if len(m.counts) != 0 && len(m.seen) != 1 {
		t.Logf("counts %v seen %v", m.counts, m.seen)
	}
}

// TestCheckRedisURL: what a Redis URL may be (and so what NewRedis
// takes), and that no refusal quotes the URL or its password.
func TestCheckRedisURL(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:6379/0", "redis://localhost", "rediss://:s3cret-pass@redis.example.com:6380/2",
		"redis://user:s3cret-pass@[::1]:6379", "redis://h/", "redis://h:6379/15", "REDIS://h"} {
		if err := CheckRedisURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
		if _, err := NewRedis(u); err != nil {
			t.Errorf("NewRedis(%s): %v", u, err)
		}
	}
	for _, u := range []string{"", "s3cret-pass", "127.0.0.1:6379", "http://:s3cret-pass@h:6379", "unix:///tmp/redis.sock",
		"redis://:s3cret-pass@", "redis:s3cret-pass@h", "redis://:s3cret-pass@h:0", "redis://:s3cret-pass@h:99999",
		"redis://:s3cret-pass@h/zero", "redis://:s3cret-pass@h/0/1", "redis://:s3cret-pass@h/0?dial_timeout=soon",
		"redis://:s3cret-pass@h/0?password=s3cret-pass", "redis://:s3cret-pass@h/0#s3cret-pass", "redis://:s3cret pass@h/0",
		"redis://:s3cret-pass@h/99999999999"} {
		err := CheckRedisURL(u)
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		if _, nerr := NewRedis(u); nerr == nil {
			t.Errorf("NewRedis(%q) accepted what CheckRedisURL refuses", u)
		} else if strings.Contains(nerr.Error(), "s3cret") || strings.Contains(err.Error(), "s3cret") || u != "" && strings.Contains(err.Error(), u) {
			t.Errorf("%q: the refusal quotes the URL: %v / %v", u, err, nerr)
		}
	}
}

// FuzzCheckRedisURL: what CheckRedisURL accepts, NewRedis takes (so it
// never fails on a URL the configuration accepted), and no refusal quotes
// the URL's user information.
func FuzzCheckRedisURL(f *testing.F) {
	for _, u := range []string{"redis://127.0.0.1:6379/0", "rediss://u:pw@h:6380/2?dial_timeout=5s", "redis://:pw@h/x", "redis://h/0?db=1",
		"redis://h/0?pool_size=-1", "unix:///tmp/s", "redis://[::1]:6379", "redis://h:6379/0#x", "redis://h/0/", "//edis@"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		err := CheckRedisURL(u)
		if err == nil {
			if _, nerr := NewRedis(u); nerr != nil {
				t.Fatalf("%q accepted, but NewRedis refuses it: %v", u, nerr)
			}
			return
		}
		if p, perr := url.Parse(u); perr == nil && p.User != nil {
			pw, _ := p.User.Password()
			for _, s := range []string{p.User.Username(), pw} {
				// The refusal's own words ("redis://…") may contain s;
				// it may not hold s more often than some refusal of a
				// URL without user information does.
				if len(s) >= 4 && strings.Count(err.Error(), s) > fixedCount(s) {
					t.Fatalf("%q: the refusal quotes its user information: %v", u, err)
				}
			}
		}
	})
}

// fixedCount is how often s occurs, at most, in the refusal of a URL that
// has no user information (one of each refusal).
func fixedCount(s string) int {
	n := 0
	for _, u := range []string{"%zz", "http://h", "redis://", "redis://h?x", "redis://h:0", "redis://h/x"} {
		if err := CheckRedisURL(u); err != nil {
			n = max(n, strings.Count(err.Error(), s))
		}
	}
	return n
}
