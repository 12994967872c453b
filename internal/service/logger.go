package service

import (
	"io"
	"log/slog"
)

// NewLogger returns the process logger of every entry point: format "text"
// for people, anything else JSON, to w, at level. replace, when not nil,
// renames or rewrites attributes of JSON lines (the Cloud Function uses
// Cloud Logging's severity and message keys).
func NewLogger(w io.Writer, format string, level slog.Level, replace func(groups []string, a slog.Attr) slog.Attr) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	opts.ReplaceAttr = replace
	return slog.New(slog.NewJSONHandler(w, opts))
}
