// Package quotastore keeps the per-caller byte counts of presign's quotas
// (presign.QuotaStore): in memory, for one instance, or in Redis, shared by
// every instance.
package quotastore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"presign.dev/internal/resp"
)

// Memory keeps counts in this process. It is safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	now    func() time.Time
	counts map[string]entry // caller|window
	seen   map[string]time.Time
}

type entry struct {
	n       int64
	expires time.Time // zero: never
}

// NewMemory returns an empty Memory; now nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, counts: map[string]entry{}, seen: map[string]time.Time{}}
}

func (m *Memory) Usage(_ context.Context, caller, window string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.counts[caller+"|"+window]
	if !e.expires.IsZero() && !m.now().Before(e.expires) {
		return 0, nil
	}
	return e.n, nil
}

func (m *Memory) Add(_ context.Context, caller, window, id string, n, limit int64, countTTL, idTTL time.Duration) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.expire(now)
	k := caller + "|" + window
	e := m.counts[k]
	if _, dup := m.seen[id]; dup {
		return e.n, true, nil
	}
	if e.n+n > limit {
		return e.n, false, nil
	}
	m.seen[id] = now.Add(idTTL)
	e.n += n
	if countTTL > 0 {
		e.expires = now.Add(countTTL)
	}
	m.counts[k] = e
	return e.n, true, nil
}

// expire drops what has expired (at most all of it: Add is rare, a verified
// upload, and its cost bounded by what the process holds).
func (m *Memory) expire(now time.Time) {
	for k, e := range m.counts {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			delete(m.counts, k)
		}
	}
	for id, exp := range m.seen {
		if !now.Before(exp) {
			delete(m.seen, id)
		}
	}
}

// Redis keeps counts in Redis, shared by every presign instance, under
// keys prefixed "presign:quota:".
type Redis struct {
	client *resp.Client
}

// NewRedis returns the store of the Redis at rawURL (CheckRedisURL). It does
// not connect until first used. Its error never quotes the URL, which may
// hold a password.
func NewRedis(rawURL string) (*Redis, error) {
	if err := CheckRedisURL(rawURL); err != nil {
		return nil, fmt.Errorf("quota store: the Redis URL %w", err)
	}
	c, err := resp.New(rawURL, resp.Options{})
	if err != nil {
		return nil, err
	}
	return &Redis{client: c}, nil
}

// CheckRedisURL reports what is wrong with u as the URL of a Redis store
// (nil if nothing): resp.URLForm. Its message, which reads after "the
// URL", never quotes u or a part of it: a Redis URL may hold a password.
func CheckRedisURL(u string) error {
	_, _, _, _, _, err := resp.ParseURL(u)
	return err
}

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

func countKey(caller, window string) string { return "presign:quota:" + caller + ":" + window }

func (r *Redis) Usage(ctx context.Context, caller, window string) (int64, error) {
	v, err := r.client.Do(ctx, "GET", countKey(caller, window))
	if err != nil || v.Kind == resp.Null {
		return 0, err
	}
	return v.Int64()
}

// addOnce counts ARGV[1] bytes at KEYS[1] unless KEYS[2] (the upload's id)
// is already set (counted: ok), and only if the total stays within ARGV[2]
// (else nothing: not ok), atomically; ARGV[3] and ARGV[4] are the TTLs of
// the count and of the id in milliseconds (0: none for the count). It
// returns {total, ok}.
var addOnce = resp.NewScript(`
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
if redis.call('EXISTS', KEYS[2]) == 1 then return {total, 1} end
if total + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {total, 0} end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
total = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {total, 1}
`)

func (r *Redis) Add(ctx context.Context, caller, window, id string, n, limit int64, countTTL, idTTL time.Duration) (int64, bool, error) {
	v, err := addOnce.Run(ctx, r.client, []string{countKey(caller, window), "presign:quota:seen:" + id},
		strconv.FormatInt(n, 10), strconv.FormatInt(limit, 10), strconv.FormatInt(countTTL.Milliseconds(), 10),
		strconv.FormatInt(max(idTTL.Milliseconds(), 1), 10))
	if err != nil {
		return 0, false, err
	}
	if v.Kind != resp.Array || len(v.Array) != 2 {
		return 0, false, fmt.Errorf("quota store: unexpected answer %+v", v)
	}
	total, err1 := v.Array[0].Int64()
	ok, err2 := v.Array[1].Int64()
	if err := errors.Join(err1, err2); err != nil {
		return 0, false, fmt.Errorf("quota store: %w", err)
	}
	return total, ok == 1, nil
}
