package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"presign.dev/internal/resp"
)

// Memory keeps buckets in this process: each instance limits alone. It is
// safe for concurrent use, and holds only buckets that are not full (one
// that has refilled is forgotten, at the latest when the map has doubled).
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	tats      map[string]time.Time
	nextSweep int
}

// NewMemory returns an empty Memory; now nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tats: map[string]time.Time{}, nextSweep: minSweep}
}

// minSweep is the number of buckets below which Memory does not sweep.
const minSweep = 1024

func (m *Memory) Take(_ context.Context, key string, interval time.Duration, burst int64) (time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	tat, wait := gcra(now, m.tats[key], interval, burst)
	if wait > 0 {
		return wait, nil
	}
	if _, known := m.tats[key]; !known && len(m.tats) >= m.nextSweep {
		m.sweep(now)
	}
	m.tats[key] = tat
	return 0, nil
}

// sweep forgets full buckets (amortized: the next sweep waits until the
// map has doubled).
func (m *Memory) sweep(now time.Time) {
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
		}
	}
	m.nextSweep = max(minSweep, 2*len(m.tats))
}

// Len is the number of buckets held (for tests and metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tats)
}

// Redis keeps buckets in Redis, shared by every presign instance, under
// keys "presign:rate:<digest of the caller>". Each decision is one script
// call (EVALSHA, falling back to EVAL once after a Redis restart) on
// Redis's own clock, so instances whose clocks differ share one bucket.
type Redis struct {
	client *resp.Client
}

// Timeouts of the rate limiter's Redis: a decision sits in front of every
// request, so a Redis that does not answer must cost little before the
// limiter fails open or closed.
const (
	redisDialTimeout = 500 * time.Millisecond
	redisIOTimeout   = 250 * time.Millisecond
)

// NewRedis returns the store of the Redis at rawURL (resp.URLForm). It
// does not connect until first used. Its error never quotes the URL, which
// may hold a password.
func NewRedis(rawURL string) (*Redis, error) {
	c, err := resp.New(rawURL, resp.Options{DialTimeout: redisDialTimeout, IOTimeout: redisIOTimeout, PoolSize: 32})
	if err != nil {
		return nil, fmt.Errorf("rate limit store: %w", err)
	}
	return &Redis{client: c}, nil
}

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

// takeToken is gcra in Redis, in microseconds on Redis's clock: KEYS[1]
// holds the bucket's tat, ARGV[1] is the interval and ARGV[2] the burst.
// It returns 0 when the request may go (the new tat stored, expiring when
// the bucket is full again), else the wait. Numbers are written with
// %.0f: Lua's tostring would round a 16-digit microsecond count.
var takeToken = resp.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local over = nxt - now - tonumber(ARGV[2]) * interval
if over > 0 then return over end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', string.format('%.0f', math.ceil((nxt - now) / 1000)))
return 0
`)

func (r *Redis) Take(ctx context.Context, key string, interval time.Duration, burst int64) (time.Duration, error) {
	v, err := takeToken.Run(ctx, r.client, []string{"presign:rate:" + key},
		strconv.FormatInt(max(interval.Microseconds(), 1), 10), strconv.FormatInt(burst, 10))
	if err != nil {
		return 0, err
	}
	us, err := v.Int64()
	if err != nil {
		return 0, fmt.Errorf("rate limit store: unexpected answer: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}
