package quotastore

import (
	"context"
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
				total, err := st.Add(ctx, "alice", "100", id, n, time.Hour, time.Hour)
				if err != nil {
					t.Fatal(err)
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
				go func() { defer wg.Done(); _, _ = st.Add(ctx, "carol", "100", "same", 1, time.Hour, time.Hour) }()
				go func() {
					defer wg.Done()
					_, _ = st.Add(ctx, "carol", "100", "u"+string(rune('a'+i%26))+string(rune('a'+i/26)), 2, time.Hour, time.Hour)
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
	_, _ = m.Add(ctx, "alice", "w", "up-1", 10, time.Minute, 2*time.Minute)
	now = now.Add(time.Minute)
	if u, _ := m.Usage(ctx, "alice", "w"); u != 0 {
		t.Errorf("an expired count is %d", u)
	}
	if total, _ := m.Add(ctx, "alice", "w", "up-1", 10, time.Minute, 2*time.Minute); total != 0 {
		t.Errorf("an upload counted again while its id is kept: %d", total)
	}
	now = now.Add(2 * time.Minute)
	if len(m.counts) != 0 && len(m.seen) != 1 {
		t.Logf("counts %v seen %v", m.counts, m.seen)
	}
}
