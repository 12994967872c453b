package presign

import (
	"context"
	"strings"
	"testing"
	"time"
)

// mapQuota is a QuotaStore in a map (the real ones are in
// internal/quotastore, tested there against Redis too).
type mapQuota struct {
	counts map[string]int64
	seen   map[string]bool
}

func (m *mapQuota) Usage(_ context.Context, caller, window string) (int64, error) {
	return m.counts[caller+"|"+window], nil
}

func (m *mapQuota) Add(_ context.Context, caller, window, id string, n int64, _, _ time.Duration) (int64, error) {
	if !m.seen[id] {
		m.seen[id] = true
		m.counts[caller+"|"+window] += n
	}
	return m.counts[caller+"|"+window], nil
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	q := &mapQuota{counts: map[string]int64{}, seen: map[string]bool{}}
	st := newMemStore()
	now := testTime
	iss := testIssuer(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.Uploads = UploadsConfig{Secrets: testSecrets}
		c.NewStore = func(Backend) (Store, error) { return st, nil }
		c.Quota = QuotaConfig{Bytes: 100, Period: 24 * time.Hour, Store: q}
	})
	complete := func(size int64) {
		t.Helper()
		up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: size})
		if err != nil {
			t.Fatal(err)
		}
		st.putPart(storeID(t, up.Token), 1, size)
		for range 2 { // a repeated complete counts once
			if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	put := func(size int64) error {
		_, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: &size})
		return err
	}
	complete(60)
	if err := put(50); ErrorCode(err) != CodeTooLarge || !strings.Contains(ErrorMessage(err), "40 of 100 bytes per 24h are left") {
		t.Errorf("a put over what is left: %v", err)
	}
	if err := put(40); err != nil {
		t.Errorf("a put of what is left: %v", err)
	}
	if _, err := iss.Issue(ctx, bob, Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(100))}); err != nil {
		t.Errorf("another caller's quota: %v", err)
	}
	complete(40)
	if _, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: SizeUnknown}); ErrorCode(err) != CodePermissionDenied {
		t.Errorf("at the quota: %v", err)
	}
	if _, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "k"}); err != nil {
		t.Errorf("a download at the quota: %v", err)
	}
	now = now.Add(24 * time.Hour) // the next window
	if err := put(100); err != nil {
		t.Errorf("the next day: %v", err)
	}
	if ps := (QuotaConfig{Bytes: 1}).Validate(); len(ps) != 1 || ps[0].Field != "store" {
		t.Errorf("a quota without a store: %v", ps)
	}
}
