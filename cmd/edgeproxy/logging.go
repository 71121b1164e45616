package main

import (
	"io"
	"log/slog"
)

// newLogger builds edgeproxy's logger: text (default) or JSON on w.
func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level)) // validated by loadSettings; info on error
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: durationsAsText}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationsAsText writes durations as Go duration strings ("260ms") in
// both formats: slog's JSON handler would write nanoseconds (260000000).
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
