package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Durations read as durations in both formats (slog's JSON handler alone
// would write nanoseconds).
func TestLoggerDurations(t *testing.T) {
	t.Parallel()
	for format, want := range map[string]string{"json": `"uptime":"260ms"`, "text": "uptime=260ms"} {
		var buf bytes.Buffer
		newLogger(format, "info", &buf).Info("router exited", "uptime", 260*time.Millisecond)
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s: %q, want %s", format, buf.String(), want)
		}
	}
}
