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

func (m *mapQuota) Add(_ context.Context, caller, window, id string, n, limit int64, _, _ time.Duration) (int64, bool, error) {
	k := caller + "|" + window
	if m.seen[id] {
		return m.counts[k], true, nil
	}
	if m.counts[k]+n > limit {
		return m.counts[k], false, nil
	}
	m.seen[id] = true
	m.counts[k] += n
	return m.counts[k], true, nil
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
		_, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: &size, Verify: true})
		return err
	}
	complete(60)
	if err := put(50); ErrorCode(err) != CodeTooLarge || !strings.Contains(ErrorMessage(err), "40 of 100 bytes per 24h are left") {
		t.Errorf("a put over what is left: %v", err)
	}
	if err := put(40); err != nil {
		t.Errorf("a put of what is left: %v", err)
	}
	if _, err := iss.Issue(ctx, bob, Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(100)), Verify: true}); err != nil {
		t.Errorf("another caller's quota: %v", err)
	}
	// Grants that could not be counted are refused under a quota: no size,
	// or no token to complete (the tutorials' routes, Companion's forms).
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "k", Verify: true}); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("a post without a size: %v", err)
	}
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(1))}); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("a put that will not be completed: %v", err)
	}
	// A multipart upload of unknown size holds at most what is left.
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "u", Size: SizeUnknown})
	if err != nil {
		t.Fatal(err)
	}
	if ut, _ := openUpload(testSecrets, up.Token, now); ut.MaxSize != 40 {
		t.Errorf("an upload of unknown size may hold %d bytes; 40 are left", ut.MaxSize)
	}
	// Two grants of 30 bytes, both within what is left when signed: the
	// second complete does not fit, and is not recorded.
	var tokens []string
	for range 2 {
		g, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "p", ContentLength: ptr(int64(30)), Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, g.Upload)
	}
	for i, tok := range tokens {
		ut, _ := openUpload(testSecrets, tok, now)
		st.objects["p"] = ObjectInfo{Size: 30, Metadata: map[string]string{stampMetadata: ut.Stamp}}
		_, err := iss.CompleteUpload(ctx, alice, tok, nil)
		if want := []Code{"", CodeTooLarge}[i]; ErrorCode(err) != want && !(i == 0 && err == nil) {
			t.Errorf("complete %d: %v, want %s", i+1, err, want)
		}
	}
	// Likewise two multipart uploads: the second is aborted at complete.
	var ups []Upload
	for range 2 {
		u, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "m", Size: 6})
		if err != nil {
			t.Fatal(err)
		}
		st.putPart(storeID(t, u.Token), 1, 6)
		ups = append(ups, u)
	}
	st.objects = map[string]ObjectInfo{}
	if _, err := iss.CompleteUpload(ctx, alice, ups[0].Token, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.CompleteUpload(ctx, alice, ups[1].Token, nil); ErrorCode(err) != CodeTooLarge || !strings.Contains(ErrorMessage(err), "aborted") {
		t.Errorf("a multipart complete over the quota: %v", err)
	}
	if _, ok := st.uploads[storeID(t, ups[1].Token)]; ok {
		t.Error("the upload over the quota was not aborted")
	}
	complete(4)
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
