package supervisor

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// RouterLine is one line of skrouterd's log, parsed:
//
//	2026-12-01 10:44:39.626363 +0000 SERVER (error) [C1] Connection to ... failed
//	time                              module level   text
type RouterLine struct {
	Time   time.Time
	Module string
	Level  string // the router's own level: trace debug info notice warning error critical
	Text   string
}

// routerLinePattern matches skrouterd's log format (includeTimestamp on,
// includeSource off: what edgeproxy renders and the router's default).
var routerLinePattern = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}) ([A-Z][A-Z0-9_]*) \((trace|debug|info|notice|warning|error|critical)\) (.*)$`)

// routerTimeLayout is the router's timestamp ("2026-12-01 10:44:39.626363 +0000").
const routerTimeLayout = "2006-01-02 15:04:05.999999 -0700"

// ParseRouterLine parses one line of the router's log; ok is false for a
// line in another form (the "<argv0>: <reason>" line of a refusal, a
// Python traceback), which callers pass on unchanged.
func ParseRouterLine(line string) (RouterLine, bool) {
	m := routerLinePattern.FindStringSubmatch(line)
	if m == nil {
		return RouterLine{}, false
	}
	t, err := time.Parse(routerTimeLayout, m[1])
	if err != nil {
		return RouterLine{}, false
	}
	return RouterLine{Time: t, Module: m[2], Level: m[3], Text: m[4]}, true
}

// SlogLevel maps the router's level to slog's. "critical" and "notice",
// which slog lacks, become Error and Info (the record keeps the router's
// own name in router_level).
func (l RouterLine) SlogLevel() slog.Level {
	switch l.Level {
	case "trace", "debug":
		return slog.LevelDebug
	case "warning":
		return slog.LevelWarn
	case "error", "critical":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// logRouterLine logs one router output line as its own record: a parsed
// line carries the router's time as the record's time (so one record has
// one timestamp), module=<MODULE>, the router's level mapped to slog's and
// the text as msg; other lines go through unchanged, at Error when they are
// the "<argv0>: <reason>" line of a refusal.
func logRouterLine(logger *slog.Logger, argv0, stream, line string) {
	ctx := context.Background()
	rl, ok := ParseRouterLine(line)
	if !ok {
		level := slog.LevelInfo
		if argv0 != "" && strings.HasPrefix(line, argv0+": ") {
			level = slog.LevelError
		}
		logger.Log(ctx, level, line, "stream", stream)
		return
	}
	level := rl.SlogLevel()
	h := logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(rl.Time, level, rl.Text, 0)
	r.AddAttrs(slog.String("module", rl.Module))
	if rl.Level == "critical" || rl.Level == "notice" || rl.Level == "trace" {
		r.AddAttrs(slog.String("router_level", rl.Level))
	}
	r.AddAttrs(slog.String("stream", stream))
	_ = h.Handle(ctx, r)
}
