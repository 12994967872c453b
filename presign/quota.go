package presign

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// Quotas cap the bytes each caller may upload in a period. Bytes are
// counted at a verified complete (the object checked at the store), once
// per upload however often complete is called; a caller already at the
// quota is refused at signing time, and so is an upload whose declared
// size would take it over.

// QuotaConfig configures the per-caller quota; the zero value has none.
type QuotaConfig struct {
	// Bytes a caller may upload per Period; 0 means no quota.
	Bytes int64
	// Period is the quota's window, aligned to the Unix epoch (24h: UTC
	// days); 0 means the quota never resets.
	Period time.Duration
	// Store keeps the counts: in memory for one instance, shared (Redis)
	// for many. Required with Bytes.
	Store QuotaStore
}

// QuotaStore keeps per-caller byte counts.
type QuotaStore interface {
	// Usage returns the bytes counted for caller in the window.
	Usage(ctx context.Context, caller, window string) (int64, error)
	// Add counts n bytes for caller in the window, once per id (an upload
	// counted before is not counted again), keeping the count for at least
	// countTTL (0: for ever) and the id for idTTL; it returns the window's
	// total.
	Add(ctx context.Context, caller, window, id string, n int64, countTTL, idTTL time.Duration) (int64, error)
}

// Validate reports the problems of c: fields bytes, period and store.
func (c QuotaConfig) Validate() Problems {
	var ps Problems
	switch {
	case c.Bytes < 0:
		ps.Addf("bytes", "must not be negative")
	case c.Bytes > 0 && c.Store == nil:
		ps.Addf("store", "required with a quota: memory (one instance) or redis (shared)")
	}
	if c.Period < 0 || c.Period%time.Second != 0 || c.Period > 0 && c.Period < time.Minute {
		ps.Addf("period", "%s must be whole seconds, at least 1m (or 0: no reset)", FormatDuration(c.Period))
	}
	return ps
}

// quotaWindow names the window of now: its start in Unix seconds ("0"
// without a period), and how long its count must be kept (0: for ever).
func (c QuotaConfig) quotaWindow(now time.Time) (string, time.Duration) {
	if c.Period == 0 {
		return "0", 0
	}
	p := int64(c.Period / time.Second)
	start := now.Unix() / p * p
	return fmt.Sprint(start), time.Unix(start+p, 0).Sub(now) + time.Minute
}

// quotaCaller is the key of p's counts: its caller digest in hex.
func quotaCaller(p Principal) string {
	d := callerDigest(p)
	return hex.EncodeToString(d[:])
}

// checkQuota refuses an upload of size bytes (SizeUnknown: checked against
// what is used only) when p is at its quota or the upload would take it
// over (CodeTooLarge for the upload, CodePermissionDenied at the quota).
func (iss *Issuer) checkQuota(ctx context.Context, p Principal, size int64) error {
	q := iss.quota
	if q.Bytes == 0 {
		return nil
	}
	window, _ := q.quotaWindow(iss.now())
	used, err := q.Store.Usage(ctx, quotaCaller(p), window)
	if err != nil {
		return &Error{Code: CodeUnavailable, Message: "the quota store failed", Err: err}
	}
	switch {
	case used >= q.Bytes:
		return Errorf(CodePermissionDenied, "over quota: %d of the %d bytes allowed%s are used", used, q.Bytes, q.per())
	case size > 0 && used+size > q.Bytes:
		return Errorf(CodeTooLarge, "this upload of %d bytes would go over the quota: %d of %d bytes%s are left", size, q.Bytes-used, q.Bytes, q.per())
	}
	return nil
}

func (q QuotaConfig) per() string {
	if q.Period == 0 {
		return ""
	}
	return " per " + FormatDuration(q.Period)
}

// countUpload counts a verified upload of t for p, once (t's stamp names
// it). A store failure is logged by the caller's error path: the upload
// stands (the store verified it), the count is what fails.
func (iss *Issuer) countUpload(ctx context.Context, p Principal, t uploadToken, size int64) error {
	q := iss.quota
	if q.Bytes == 0 {
		return nil
	}
	window, ttl := q.quotaWindow(iss.now())
	// An upload may be completed again while its token lives.
	if _, err := q.Store.Add(ctx, quotaCaller(p), window, t.Stamp, size, ttl, iss.uploads.Expires+time.Hour); err != nil {
		return &Error{Code: CodeUnavailable, Message: "the upload is verified, but the quota store failed to count it; call complete again", Err: err}
	}
	return nil
}
