package service

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sameAsStd logs r through jsonHandler and slog.JSONHandler (at level
// debug) and returns both outputs.
func sameAsStd(t testing.TB, r slog.Record, with func(slog.Handler) slog.Handler) (got, want string) {
	t.Helper()
	var fast, std bytes.Buffer
	var hf slog.Handler = newJSONHandler(&fast, slog.LevelDebug)
	var hs slog.Handler = slog.NewJSONHandler(&std, &slog.HandlerOptions{Level: slog.LevelDebug})
	if with != nil {
		hf, hs = with(hf), with(hs)
	}
	if err := hf.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := hs.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	return fast.String(), std.String()
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

func TestJSONHandlerSameBytes(t *testing.T) {
	at := time.Date(2026, 12, 6, 16, 40, 53, 123773020, time.UTC)
	tests := []struct {
		name  string
		time  time.Time
		level slog.Level
		msg   string
		attrs []slog.Attr
		with  func(slog.Handler) slog.Handler
		fast  bool // jsonHandler formats it itself
	}{
		{name: "access log", time: at, msg: "request", fast: true, attrs: []slog.Attr{
			slog.String("request_id", "0123456789abcdef"), slog.String("method", "GET"), slog.String("path", "/v1/presign"),
			slog.String("route", "v1-presign"), slog.Int("status", 200), slog.Float64("duration_ms", 0.123),
			slog.String("principal_kind", "api_key"), slog.String("principal", "env-1")}},
		{name: "decision", time: at.In(time.FixedZone("x", -(3*3600 + 1800))), msg: "decision", fast: true, attrs: []slog.Attr{
			slog.String("op", "put"), slog.Bool("allowed", true), slog.Time("expires_at", at.Add(15*time.Minute)),
			slog.String("key", "photos/2026/cat picture+1.jpg")}},
		{name: "escapes", time: at, level: slog.LevelWarn + 2, msg: "a \"q\" \\ \n\r\t\x00\x1f\x7f <>& é \u2028\u2029 \xff\xfe end", fast: true,
			attrs: []slog.Attr{slog.String("k\"\n\u2029", "\xc3"), slog.String("", "")}},
		{name: "numbers", msg: "n", fast: true, attrs: []slog.Attr{
			slog.Int64("min", math.MinInt64), slog.Uint64("max", math.MaxUint64), slog.Float64("zero", 0), slog.Float64("neg", -0.0),
			slog.Float64("small", 1e-6), slog.Float64("big", 1e21-1e6), slog.Duration("d", -3*time.Second), slog.Bool("f", false)}},
		{name: "no time", msg: "", fast: true},
		{name: "exponent float", time: at, msg: "m", attrs: []slog.Attr{slog.Float64("tiny", 1e-9), slog.Float64("huge", 1e21)}},
		{name: "nan", time: at, msg: "m", attrs: []slog.Attr{slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(-1))}},
		{name: "error", time: at, msg: "m", attrs: []slog.Attr{slog.Any("error", errors.New("boom"))}},
		{name: "strings", time: at, msg: "m", attrs: []slog.Attr{slog.Any("problems", []string{"a", "b"})}},
		{name: "group", time: at, msg: "m", attrs: []slog.Attr{slog.Group("g", slog.Int("a", 1)), slog.Group("", slog.Int("b", 2))}},
		{name: "valuer", time: at, msg: "m", attrs: []slog.Attr{slog.Any("v", valuer{})}},
		{name: "empty attr", time: at, msg: "m", attrs: []slog.Attr{{}, slog.Int("a", 1)}},
		{name: "year 10000", time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), msg: "m"},
		{name: "time attr year -1", time: at, msg: "m", attrs: []slog.Attr{slog.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{name: "with attrs", time: at, msg: "m", attrs: []slog.Attr{slog.Int("a", 1)},
			with: func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("svc", "x")}) }},
		{name: "with group", time: at, msg: "m", attrs: []slog.Attr{slog.Int("a", 1)},
			with: func(h slog.Handler) slog.Handler { return h.WithGroup("g") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := slog.NewRecord(tt.time, tt.level, tt.msg, 0)
			r.AddAttrs(tt.attrs...)
			got, want := sameAsStd(t, r, tt.with)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("jsonHandler differs from slog.JSONHandler (-std +jsonHandler):\n%s", diff)
			}
			if _, fast := appendJSONLine(nil, &r); tt.with == nil && fast != tt.fast {
				t.Errorf("formatted by jsonHandler itself: %v, want %v", fast, tt.fast)
			}
		})
	}
}

func TestJSONHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, "json", slog.LevelWarn, nil)
	l.Info("hidden")
	l.Warn("shown", "a", 1)
	if got := strings.Count(buf.String(), "\n"); got != 1 || !strings.Contains(buf.String(), `"msg":"shown","a":1}`) {
		t.Errorf("got %q, want only the warning", buf.String())
	}
}

// TestJSONHandlerLines: concurrent lines, formatted by jsonHandler and by
// its fallback, come out whole.
func TestJSONHandlerLines(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, "json", slog.LevelInfo, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				if i%2 == 0 {
					l.Info("fast", "k", strings.Repeat("x", 100))
				} else {
					l.Info("std", "err", errors.New(strings.Repeat("y", 100)))
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, `{"time":`) || !strings.HasSuffix(line, `"}`) || len(line) < 150 {
			t.Fatalf("line not whole: %q", line)
		}
	}
}

// FuzzJSONHandler: for every record, jsonHandler writes the bytes
// slog.JSONHandler writes.
func FuzzJSONHandler(f *testing.F) {
	f.Add("request", "route", "tutorial", int64(200), 0.123, true, int64(1796575253123773020), 0, int64(0))
	f.Add("a\"\\\n\x00\u2028\xff", "k\x7f<>&", "\xe2\x80", int64(-1), 1e-7, false, int64(math.MinInt64), 3600, int64(-1))
	f.Add("", "", "", int64(0), math.Inf(1), false, int64(0), -1800, int64(4))
	f.Add("m", "k", "v", int64(math.MaxInt64), 1e21, true, int64(math.MaxInt64), 0, int64(-4))
	f.Fuzz(func(t *testing.T, msg, key, s string, n int64, fl float64, b bool, nanos int64, offset int, level int64) {
		zone := time.FixedZone("z", offset%(24*3600))
		at := time.Unix(0, nanos).In(zone)
		r := slog.NewRecord(at, slog.Level(level), msg, 0)
		r.AddAttrs(slog.String(key, s), slog.Int64(key+"n", n), slog.Uint64("u", uint64(n)), slog.Float64("f", fl), slog.Bool("b", b),
			slog.Duration("d", time.Duration(n)), slog.Time("t", at.AddDate(int(n%20000), 0, 0)))
		// r2 is always formatted by jsonHandler itself (times of int64
		// nanoseconds are within the years 1677 to 2262).
		r2 := slog.NewRecord(at, slog.Level(level), msg, 0)
		r2.AddAttrs(slog.String(key, s), slog.Int64("n", n), slog.Bool("b", b), slog.Time("t", at), slog.Float64("f", float64(n%1e9)/1e3))
		if _, fast := appendJSONLine(nil, &r2); !fast {
			t.Errorf("%v: not formatted by jsonHandler", r2)
		}
		for _, r := range []slog.Record{r, r2} {
			got, want := sameAsStd(t, r, nil)
			if got != want {
				t.Errorf("jsonHandler:\n%s\nslog.JSONHandler:\n%s", got, want)
			}
		}
	})
}

// BenchmarkJSONHandler times the access log line of a request through
// slog.JSONHandler and through jsonHandler, both writing to io.Discard.
func BenchmarkJSONHandler(b *testing.B) {
	for _, impl := range []string{"std", "service"} {
		b.Run("impl="+impl, func(b *testing.B) {
			l := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
			if impl == "service" {
				l = NewLogger(io.Discard, "json", slog.LevelInfo, nil)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("request_id", "0123456789abcdef"),
					slog.String("method", "GET"), slog.String("path", "/"), slog.String("route", "tutorial"),
					slog.Int("status", 200), slog.Float64("duration_ms", 0.123),
					slog.String("principal_kind", "api_key"), slog.String("principal", "env-1"))
			}
		})
	}
}
