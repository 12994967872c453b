package presign

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// Quotas cap the bytes each caller may upload in a period. Bytes are
// counted at a verified complete (the object checked at the store), once
// per upload however often complete is called, and only while they fit:
// a complete that would take the caller over is refused (413, a
// multipart upload aborted), and nothing is counted. At signing time a
// caller at the quota is refused, every put and post must declare its
// size (a grant that could not be counted — the tutorials' routes,
// Companion's single uploads — is refused), and a multipart upload of
// unknown size may hold no more than what is left. An upload whose
// complete is never called is not counted: complete is the step that
// records an upload (receipts, webhooks).

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
	// Add counts n bytes for caller in the window, atomically, once per id
	// (an upload counted before is not counted again: ok), and only if the
	// total stays within limit (else nothing is counted: not ok); it keeps
	// the count for at least countTTL (0: for ever) and the id for idTTL,
	// and returns the window's total.
	Add(ctx context.Context, caller, window, id string, n, limit int64, countTTL, idTTL time.Duration) (total int64, ok bool, err error)
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

// quotaCaller is the key of a caller's counts: its digest in hex.
func quotaCaller(digest [16]byte) string { return hex.EncodeToString(digest[:]) }

// quotaLeft returns the bytes p may still upload (math.MaxInt64 without
// a quota), refusing p when it is at the quota (CodePermissionDenied) or
// an upload of size bytes (SizeUnknown: not checked) would take it over
// (CodeTooLarge).
func (iss *Issuer) quotaLeft(ctx context.Context, p Principal, size int64) (int64, error) {
	q := iss.quota
	if q.Bytes == 0 {
		return math.MaxInt64, nil
	}
	window, _ := q.quotaWindow(iss.now())
	used, err := q.Store.Usage(ctx, quotaCaller(callerDigest(p)), window)
	if err != nil {
		return 0, &Error{Code: CodeUnavailable, Message: "the quota store failed", Err: err}
	}
	switch {
	case used >= q.Bytes:
		return 0, Errorf(CodePermissionDenied, "over quota: %d of the %d bytes allowed%s are used", used, q.Bytes, q.per())
	case size > 0 && used+size > q.Bytes:
		return 0, Errorf(CodeTooLarge, "this upload of %d bytes would go over the quota: %d of %d bytes%s are left", size, q.Bytes-used, q.Bytes, q.per())
	}
	return q.Bytes - used, nil
}

func (q QuotaConfig) per() string {
	if q.Period == 0 {
		return ""
	}
	return " per " + FormatDuration(q.Period)
}

// quotaFits reports, without counting, whether size more bytes of t's
// caller fit the quota: complete asks before it has the store assemble a
// multipart upload, so that one over the quota is aborted instead.
func (iss *Issuer) quotaFits(ctx context.Context, t uploadToken, size int64) error {
	q := iss.quota
	if q.Bytes == 0 {
		return nil
	}
	window, _ := q.quotaWindow(iss.now())
	used, err := q.Store.Usage(ctx, quotaCaller(t.Caller), window)
	if err != nil {
		return &Error{Code: CodeUnavailable, Message: "the quota store failed", Err: err}
	}
	if used+size > q.Bytes {
		return Errorf(CodeTooLarge, "over quota: this upload's %d bytes do not fit the %d of %d left%s", size, max(0, q.Bytes-used), q.Bytes, q.per())
	}
	return nil
}

// countUpload counts the verified upload of t, of size bytes, once (t's
// stamp names it), if it fits the quota; else CodeTooLarge: the upload is
// not recorded.
func (iss *Issuer) countUpload(ctx context.Context, t uploadToken, size int64) error {
	q := iss.quota
	if q.Bytes == 0 {
		return nil
	}
	window, ttl := q.quotaWindow(iss.now())
	// An upload may be completed again while its token lives.
	total, ok, err := q.Store.Add(ctx, quotaCaller(t.Caller), window, t.Stamp, size, q.Bytes, ttl, iss.uploads.Expires+time.Hour)
	if err != nil {
		return &Error{Code: CodeUnavailable, Message: "the upload is verified, but the quota store failed to count it; call complete again", Err: err}
	}
	if !ok {
		return Errorf(CodeTooLarge, "over quota: this upload's %d bytes do not fit the %d of %d left%s; it is not recorded", size, max(0, q.Bytes-total), q.Bytes, q.per())
	}
	return nil
}
