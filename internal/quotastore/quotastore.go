// Package quotastore keeps the per-caller byte counts of presign's quotas
// (presign.QuotaStore): in memory, for one instance, or in Redis, shared by
// every instance.
package quotastore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
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
	client *redis.Client
}

// NewRedis returns the store of the Redis at rawURL (CheckRedisURL). It does
// not connect until first used. Its error never quotes the URL, which may
// hold a password.
func NewRedis(rawURL string) (*Redis, error) {
	if err := CheckRedisURL(rawURL); err != nil {
		return nil, fmt.Errorf("quota store: the Redis URL %w", err)
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil { // CheckRedisURL runs ParseURL: not reached
		return nil, errors.New("quota store: the Redis URL is not one go-redis reads")
	}
	return &Redis{client: redis.NewClient(opt)}, nil
}

// redisURLForm is how a Redis URL is written.
const redisURLForm = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS"

// CheckRedisURL reports what is wrong with u as the URL of a Redis store
// (nil if nothing): redis:// or rediss:// (TLS), a host, an optional port,
// the database number as the path (/0) and go-redis's options, if any, as
// the query (?dial_timeout=5s). Its message, which reads after "the URL",
// never quotes u or a part of it: a Redis URL may hold a password.
func CheckRedisURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL (percent-encode reserved characters in a password): write %s", redisURLForm)
	case p.Scheme != "redis" && p.Scheme != "rediss":
		return fmt.Errorf("must start with redis:// or rediss:// (TLS): write %s", redisURLForm)
	case p.Opaque != "" || p.Hostname() == "":
		return fmt.Errorf("has no host: write %s", redisURLForm)
	case p.Fragment != "":
		return fmt.Errorf("must not have a fragment (#...): write %s", redisURLForm)
	}
	if port := p.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has no port number 1..65535: write %s", redisURLForm)
		}
	}
	if db := strings.FieldsFunc(p.Path, func(r rune) bool { return r == '/' }); len(db) > 1 || len(db) == 1 && !isDigits(db[0]) {
		return fmt.Errorf("has a path that is not a database number (like /0): write %s", redisURLForm)
	}
	if _, err := redis.ParseURL(u); err != nil {
		// The rest is the query: go-redis's options.
		return errors.New("has a query option go-redis does not take, or a value it cannot read (options are like ?dial_timeout=5s&pool_size=10)")
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != "" && len(s) <= 9
}

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

func countKey(caller, window string) string { return "presign:quota:" + caller + ":" + window }

func (r *Redis) Usage(ctx context.Context, caller, window string) (int64, error) {
	n, err := r.client.Get(ctx, countKey(caller, window)).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

// addOnce counts ARGV[1] bytes at KEYS[1] unless KEYS[2] (the upload's id)
// is already set (counted: ok), and only if the total stays within ARGV[2]
// (else nothing: not ok), atomically; ARGV[3] and ARGV[4] are the TTLs of
// the count and of the id in milliseconds (0: none for the count). It
// returns {total, ok}.
var addOnce = redis.NewScript(`
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
if redis.call('EXISTS', KEYS[2]) == 1 then return {total, 1} end
if total + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {total, 0} end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
total = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {total, 1}
`)

func (r *Redis) Add(ctx context.Context, caller, window, id string, n, limit int64, countTTL, idTTL time.Duration) (int64, bool, error) {
	res, err := addOnce.Run(ctx, r.client, []string{countKey(caller, window), "presign:quota:seen:" + id},
		n, limit, countTTL.Milliseconds(), max(idTTL.Milliseconds(), 1)).Int64Slice()
	if err != nil {
		return 0, false, err
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("quota store: unexpected answer %v", res)
	}
	return res[0], res[1] == 1, nil
}
