package main

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"presign.dev/internal/redistest"
	"presign.dev/internal/s3test"
)

// rateEnv is serveEnv with a rate limit of 3 requests a minute per caller
// (burst 3), kept in store, and a second API key.
func rateEnv(store, redisURL string, extra ...string) map[string]string {
	env := serveEnv(&s3test.Server{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: "SK"})
	env["PRESIGN_API_KEYS"] = "rate-key-alice-0123456789,rate-key-bob-0123456789"
	env["PRESIGN_RATE_LIMIT"] = "3/m"
	env["PRESIGN_LIMITS_STORE"] = store
	if redisURL != "" {
		env["PRESIGN_REDIS_URL"] = redisURL
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

type rateAnswer struct {
	status     int
	retryAfter string
	code       string // the JSON error's code
}

// askPresign asks api for a GET URL as key (POST /v1/presign).
func askPresign(t *testing.T, api, key string) rateAnswer {
	t.Helper()
	req, _ := http.NewRequest("POST", api+"/v1/presign", strings.NewReader(`{"key":"a.txt","op":"get"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &body)
	return rateAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), code: body.Error.Code}
}

func metricsText(t *testing.T, api string) string {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServeRateLimitShared: two `presign serve` instances on one real
// redis-server share each caller's limit; over it is 429 rate_limited with
// Retry-After, on the JSON and the tutorial routes; another caller is not
// affected. Then Redis stops mid-test: the instance that fails open keeps
// serving, the one that fails closed answers 503 with Retry-After, and
// both count it.
func TestServeRateLimitShared(t *testing.T) {
	redis := redistest.StartServer(t)
	apiA, stopA := start(t, mustCLI(rateEnv("redis", redis.URL)), "serve")
	defer stopA()
	apiB, stopB := start(t, mustCLI(rateEnv("redis", redis.URL, "PRESIGN_LIMITS_ON_STORE_ERROR", "closed")), "serve")
	defer stopB()

	const alice, bob = "rate-key-alice-0123456789", "rate-key-bob-0123456789"
	var got []int
	for i, api := range []string{apiA, apiB, apiA, apiB, apiA} {
		a := askPresign(t, api, alice)
		got = append(got, a.status)
		if i >= 3 {
			secs, err := strconv.Atoi(a.retryAfter)
			if a.status != 429 || a.code != "rate_limited" || err != nil || secs < 1 || secs > 20 {
				t.Errorf("request %d over the shared limit: %+v; want 429 rate_limited with Retry-After 1..20 (a token every 20 s)", i+1, a)
			}
		}
	}
	if want := []int{200, 200, 200, 429, 429}; !slices.Equal(got, want) {
		t.Fatalf("alice's 5 requests across two instances: %v, want %v (one limit of 3 shared)", got, want)
	}
	// The tutorial route answers in its own (plain) style, with the header.
	req, _ := http.NewRequest("GET", apiB+"/?key=a.txt&method=GET", nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("tutorial route over the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if a := askPresign(t, apiB, bob); a.status != 200 {
		t.Errorf("bob, limited by alice's requests: %+v", a)
	}
	if m := metricsText(t, apiA); !strings.Contains(m, `presign_rate_limit_decisions_total{outcome="limited"} 1`) {
		t.Errorf("instance A's metrics lack its 1 limited decision (request 5):\n%s", grepLines(m, "presign_rate_limit"))
	}

	redis.Stop()
	for range 3 {
		if a := askPresign(t, apiA, bob); a.status != 200 {
			t.Errorf("Redis down, failing open: %+v, want 200", a)
		}
		if a := askPresign(t, apiB, bob); a.status != 503 || a.code != "unavailable" || a.retryAfter == "" {
			t.Errorf("Redis down, failing closed: %+v, want 503 unavailable with Retry-After", a)
		}
	}
	if m := metricsText(t, apiA); !strings.Contains(m, `presign_rate_limit_decisions_total{outcome="store_error_open"} 3`) {
		t.Errorf("instance A's metrics lack the store errors:\n%s", grepLines(m, "presign_rate_limit"))
	}
	if m := metricsText(t, apiB); !strings.Contains(m, `presign_rate_limit_decisions_total{outcome="store_error_closed"} 3`) {
		t.Errorf("instance B's metrics lack the store errors:\n%s", grepLines(m, "presign_rate_limit"))
	}

	// Redis comes back, empty, on the same address: once the limiter's
	// one-second backoff has passed, B serves again (its pooled
	// connections, dead, are replaced without an error) and the limit is
	// shared again, from a full bucket.
	redis.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for askPresign(t, apiB, alice).status == 503 {
		if time.Now().After(deadline) {
			t.Fatal("instance B still answers 503 10 s after Redis came back")
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
	}
	deadline = time.Now().Add(10 * time.Second)
	for askPresign(t, apiA, alice).status != 200 { // A's backoff, if a request hit it
		if time.Now().After(deadline) {
			t.Fatal("instance A limits alice 10 s after Redis came back empty")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// alice has made 2 requests in the new Redis (B's first, A's first).
	got = got[:0]
	for _, api := range []string{apiB, apiA} {
		got = append(got, askPresign(t, api, alice).status)
	}
	if want := []int{200, 429}; !slices.Equal(got, want) {
		t.Errorf("after Redis came back: %v, want %v (the limit shared again)", got, want)
	}
}

// TestServeRateLimitMemory: with store memory each instance limits alone.
func TestServeRateLimitMemory(t *testing.T) {
	apiA, stopA := start(t, mustCLI(rateEnv("memory", "")), "serve")
	defer stopA()
	apiB, stopB := start(t, mustCLI(rateEnv("memory", "")), "serve")
	defer stopB()
	const alice = "rate-key-alice-0123456789"
	var got []int
	for _, api := range []string{apiA, apiA, apiA, apiA, apiB} {
		got = append(got, askPresign(t, api, alice).status)
	}
	if want := []int{200, 200, 200, 429, 200}; !slices.Equal(got, want) {
		t.Fatalf("alice's requests: %v, want %v (instance B keeps its own buckets)", got, want)
	}
}

func mustCLI(env map[string]string) *cli {
	c, _, _ := testCLI(env)
	c.stdout = io.Discard
	return c
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
