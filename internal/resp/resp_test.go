package resp

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/redistest"
)

// Against a real redis-server: plain commands, every kind of answer,
// scripts (loaded on NOSCRIPT), databases, the pool under concurrent use.
func TestClient(t *testing.T) {
	url := redistest.Start(t)
	c, err := New(url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	do := func(args ...string) Value {
		t.Helper()
		v, err := c.Do(ctx, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return v
	}
	if v := do("PING"); v.Kind != Simple || v.Str != "PONG" {
		t.Errorf("PING: %+v", v)
	}
	if v := do("GET", "missing"); v.Kind != Null {
		t.Errorf("GET of a missing key: %+v", v)
	}
	do("SET", "k", "a\r\nb \x00 ü")
	if v := do("GET", "k"); v.Kind != Bulk || v.Str != "a\r\nb \x00 ü" {
		t.Errorf("GET: %+v", v)
	}
	if n, err := do("INCRBY", "n", "42").Int64(); err != nil || n != 42 {
		t.Errorf("INCRBY: %d, %v", n, err)
	}
	if _, err := c.Do(ctx, "NOSUCHCOMMAND"); err == nil || !strings.HasPrefix(err.(Error).Error(), "redis: ERR") {
		t.Errorf("an unknown command: %v", err)
	}
	// The connection is still usable after an error answer.
	if v := do("PING"); v.Str != "PONG" {
		t.Errorf("PING after an error: %+v", v)
	}
	s := NewScript(`return {tonumber(ARGV[1]) + 1, KEYS[1], redis.call('GET', KEYS[1])}`)
	for range 2 { // EVAL first (NOSCRIPT), then EVALSHA
		v, err := s.Run(ctx, c, []string{"k"}, "41")
		if err != nil {
			t.Fatal(err)
		}
		want := Value{Kind: Array, Array: []Value{{Kind: Integer, Int: 42}, {Kind: Bulk, Str: "k"}, {Kind: Bulk, Str: "a\r\nb \x00 ü"}}}
		if diff := cmp.Diff(want, v); diff != "" {
			t.Errorf("script (-want +got):\n%s", diff)
		}
	}
	// Another database does not see db 0's keys.
	other, err := New(strings.TrimSuffix(url, "/0")+"/3", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if v, err := other.Do(ctx, "GET", "k"); err != nil || v.Kind != Null {
		t.Errorf("db 3 sees db 0's key: %+v, %v", v, err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Do(ctx, "INCR", "counter"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, _ := do("GET", "counter").Int64(); n != 50 {
		t.Errorf("50 concurrent INCRs gave %d", n)
	}
	c.Close()
	if _, err := c.Do(ctx, "PING"); err != ErrClosed {
		t.Errorf("after Close: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	type parsed struct {
		Addr, User, Password string
		DB                   int
		TLS                  bool
	}
	for in, want := range map[string]parsed{
		"redis://127.0.0.1:6380/2":          {Addr: "127.0.0.1:6380", DB: 2},
		"redis://localhost":                 {Addr: "localhost:6379"},
		"rediss://u:p%40ss@cache.example:6": {Addr: "cache.example:6", User: "u", Password: "p@ss", TLS: true},
		"redis://:secret@[::1]:7000/":       {Addr: "[::1]:7000", Password: "secret"},
	} {
		addr, user, password, db, useTLS, err := ParseURL(in)
		if diff := cmp.Diff(want, parsed{addr, user, password, db, useTLS}); err != nil || diff != "" {
			t.Errorf("%s: %v (-want +got):\n%s", in, err, diff)
		}
	}
	for _, in := range []string{"http://h", "redis://", "redis://:s3cr3t@h:99999", "redis://:s3cr3t@h/x", "redis://:s3cr3t@h/1/2",
		"redis://:s3cr3t@h?timeout=1", "redis://:s3cr3t@h#f", "redis:h", "redis://:s3cr3t%zz@h"} {
		_, _, _, _, _, err := ParseURL(in)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v", in, err)
		}
	}
}

// FuzzReadValue: any bytes are a value or an error, never a panic, and a
// value written back as RESP reads the same.
func FuzzReadValue(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "-ERR x\r\n", ":-42\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*2\r\n:1\r\n$1\r\nx\r\n", "*-1\r\n",
		"*1\r\n*1\r\n*1\r\n:1\r\n", "$99999999\r\n", "*3\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := readValue(bufio.NewReader(bytes.NewReader(b)), 0)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		writeValue(&buf, v)
		again, err := readValue(bufio.NewReader(&buf), 0)
		if err != nil || !cmp.Equal(v, again, cmp.Comparer(func(a, b []Value) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })) {
			t.Fatalf("%q reads as %+v, written back as %q: %+v, %v", b, v, buf.Bytes(), again, err)
		}
	})
}

// writeValue writes v as RESP (the test's encoder of answers).
func writeValue(w *bytes.Buffer, v Value) {
	switch v.Kind {
	case Null:
		w.WriteString("$-1\r\n")
	case Simple:
		w.WriteString("+" + v.Str + "\r\n")
	case Integer:
		w.WriteString(":" + strconv.FormatInt(v.Int, 10) + "\r\n")
	case Bulk:
		w.WriteString("$" + strconv.Itoa(len(v.Str)) + "\r\n" + v.Str + "\r\n")
	case Array:
		w.WriteString("*" + strconv.Itoa(len(v.Array)) + "\r\n")
		for _, e := range v.Array {
			writeValue(w, e)
		}
	}
}

// TestRedisRestart: after Redis restarts, every idle connection in the
// pool is dead; the next commands still succeed (one retry on a new
// connection, the dead ones dropped), and nothing is retried on a
// connection that was new.
func TestRedisRestart(t *testing.T) {
	srv := redistest.StartServer(t)
	c, err := New(srv.URL, Options{PoolSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var conns []*conn
	for range 8 {
		cn, _, err := c.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, cn)
	}
	for _, cn := range conns {
		c.put(cn)
	}
	srv.Restart(t)
	for i := range 8 {
		if v, err := c.Do(ctx, "PING"); err != nil || v.Str != "PONG" {
			t.Fatalf("command %d after the restart: %+v, %v", i+1, v, err)
		}
	}
	if n := len(c.pool); n != 1 {
		t.Errorf("%d idle connections after the restart, want the 1 new one (the dead ones dropped)", n)
	}
	srv.Stop()
	if _, err := c.Do(ctx, "PING"); err == nil {
		t.Error("a command succeeded with Redis stopped")
	}
}
