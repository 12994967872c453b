package service

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"presign.dev/internal/jsonstr"
)

// NewLogger returns the process logger of every entry point: format "text"
// for people, anything else JSON, to w, at level. replace, when not nil,
// renames or rewrites attributes of JSON lines (the Cloud Function uses
// Cloud Logging's severity and message keys).
//
// JSON lines without replace are written by jsonHandler: the very bytes
// slog.JSONHandler writes (FuzzJSONHandler compares them), in less than
// half its time, for the records every request logs (docs/benchmarks.md,
// "Issue 12").
func NewLogger(w io.Writer, format string, level slog.Level, replace func(groups []string, a slog.Attr) slog.Attr) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	if replace != nil {
		opts.ReplaceAttr = replace
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(newJSONHandler(w, level))
}

// jsonHandler writes the JSON lines of slog.JSONHandler (no ReplaceAttr, no
// source). It formats a record itself when every attribute is a string, an
// integer, a finite float that encoding/json writes without an exponent, a
// bool, a time of the years 0 to 9999 or a duration; any other record, and
// the handlers of WithAttrs and WithGroup, are slog.JSONHandler's. Each
// line is one Write to w, under one lock shared with the fallback.
type jsonHandler struct {
	level slog.Level
	std   *slog.JSONHandler // writes through out, so its lines and ours never interleave
	out   *lockedWriter
}

func newJSONHandler(w io.Writer, level slog.Level) *jsonHandler {
	out := &lockedWriter{w: w}
	return &jsonHandler{level: level, std: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level}), out: out}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (h *jsonHandler) Enabled(_ context.Context, level slog.Level) bool { return level >= h.level }

func (h *jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.std.WithAttrs(attrs) }

func (h *jsonHandler) WithGroup(name string) slog.Handler { return h.std.WithGroup(name) }

// lineBufs holds line buffers; one over maxPooledLine is dropped.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledLine = 16 << 10

func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	bp := lineBufs.Get().(*[]byte)
	line, ok := appendJSONLine((*bp)[:0], &r)
	var err error
	if ok {
		_, err = h.out.Write(line)
	} else {
		err = h.std.Handle(ctx, r)
	}
	if cap(line) <= maxPooledLine {
		*bp = line
		lineBufs.Put(bp)
	}
	return err
}

// appendJSONLine appends r as slog.JSONHandler writes it (with a final
// newline), or reports false when r holds what only slog.JSONHandler
// writes.
func appendJSONLine(b []byte, r *slog.Record) ([]byte, bool) {
	ok := r.Time.IsZero() || inYearRange(r.Time)
	r.Attrs(func(a slog.Attr) bool {
		ok = fastValue(a.Value)
		return ok
	})
	if !ok {
		return b, false
	}
	b = append(b, '{')
	if !r.Time.IsZero() {
		b = append(b, `"time":`...)
		b = appendTime(b, r.Time.Round(0))
		b = append(b, ',')
	}
	b = append(b, `"level":`...)
	b = appendString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = append(b, ',')
		b = appendString(b, a.Key)
		b = append(b, ':')
		b = appendValue(b, a.Value)
		return true
	})
	return append(b, '}', '\n'), true
}

// fastValue reports whether appendValue writes v as slog.JSONHandler does.
func fastValue(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindDuration:
		return true
	case slog.KindFloat64:
		// encoding/json's form for these is strconv's 'f' format.
		f := math.Abs(v.Float64())
		return f == 0 || f >= 1e-6 && f < 1e21
	case slog.KindTime:
		return inYearRange(v.Time())
	}
	return false
}

func inYearRange(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y < 10000
}

func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'f', -1, 64)
	case slog.KindTime:
		return appendTime(b, v.Time())
	}
	panic("service: appendValue of a kind fastValue refuses")
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string the way slog.JSONHandler escapes
// it (jsonstr.Append with \b and \f in hex).
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s, jsonstr.HexControls) }
