package supervisor

import (
	"log/slog"
	"testing"
	"time"
)

func TestParseRouterLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line   string
		ok     bool
		module string
		level  slog.Level
		text   string
	}{
		{"2026-11-26 20:10:15.906314 +0000 SERVER (error) Listener error on 127.0.0.1:5672: Address already in use - listen on 127.0.0.1:5672 (proton:io)",
			true, "SERVER", slog.LevelError, "Listener error on 127.0.0.1:5672: Address already in use - listen on 127.0.0.1:5672 (proton:io)"},
		{"2026-11-26 20:10:28.275915 +0000 ROUTER (critical) Router start-up failed: Not found: Configuration file could not be opened",
			true, "ROUTER", slog.LevelError, "Router start-up failed: Not found: Configuration file could not be opened"},
		{"2026-12-01 10:44:39.626363 +0000 ROUTER_CORE (info) Router Core thread running. 0/edge-proxy-1", true, "ROUTER_CORE", slog.LevelInfo, "Router Core thread running. 0/edge-proxy-1"},
		{"2026-12-01 10:44:39.626363 +0000 TCP_ADAPTOR (warning) x", true, "TCP_ADAPTOR", slog.LevelWarn, "x"},
		{"2026-12-01 10:44:39.626363 +0000 FLOW_LOG (debug) y", true, "FLOW_LOG", slog.LevelDebug, "y"},
		{"2026-12-01 10:44:39.626363 +0000 POLICY (notice) z", true, "POLICY", slog.LevelInfo, "z"},
		// Not the router's format: passed on unchanged by the caller.
		{"skrouterd: Not found: Configuration file could not be opened", false, "", 0, ""},
		{"SERVER (error) no timestamp", false, "", 0, ""},
		{"2026-12-01 10:44:39.626363 +0000 SERVER (loud) unknown level", false, "", 0, ""},
		{"", false, "", 0, ""},
	} {
		got, ok := ParseRouterLine(tt.line)
		if ok != tt.ok {
			t.Errorf("%q: ok %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if got.Module != tt.module || got.SlogLevel() != tt.level || got.Text != tt.text || got.Time.IsZero() || got.Time.Location() != time.UTC && got.Time.Format("-0700") != "+0000" {
			t.Errorf("%q: got %+v (level %v), want module %s level %v text %q", tt.line, got, got.SlogLevel(), tt.module, tt.level, tt.text)
		}
	}
}

func BenchmarkParseRouterLine(b *testing.B) {
	line := "2026-12-01 10:44:39.626363 +0000 SERVER (error) [C1] Connection to host.docker.internal:45671 failed: proton:io Connection refused"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseRouterLine(line); !ok {
			b.Fatal("not parsed")
		}
	}
}
