package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// exitErr asserts that err is an *ExitError and returns it.
func exitErr(t *testing.T, err error) *ExitError {
	t.Helper()
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Run = %v, want *ExitError", err)
	}
	return ee
}

func TestExitStatusReported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       int
		sig        syscall.Signal
		wantStatus int
		wantSignal string
	}{
		{name: "code 0", code: 0, wantStatus: 0},
		{name: "code 1", code: 1, wantStatus: 1},
		{name: "code 2", code: 2, wantStatus: 2},
		{name: "code 64", code: 64, wantStatus: 64},
		{name: "code 127", code: 127, wantStatus: 127},
		{name: "code 255", code: 255, wantStatus: 255},
		{name: "SIGKILL", sig: syscall.SIGKILL, wantStatus: 137, wantSignal: "SIGKILL"},
		{name: "SIGTERM", sig: syscall.SIGTERM, wantStatus: 143, wantSignal: "SIGTERM"},
		{name: "SIGINT", sig: syscall.SIGINT, wantStatus: 130, wantSignal: "SIGINT"},
		{name: "SIGHUP", sig: syscall.SIGHUP, wantStatus: 129, wantSignal: "SIGHUP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, testConfig(t), supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: tt.code, KillSignal: tt.sig})
			ee := exitErr(t, h.result(t)) // MaxFastFailures 1: the first exit gives up
			if ee.Last == nil {
				t.Fatalf("ExitError without last exit: %v", ee)
			}
			if got := ee.Last.ExitStatus(); got != tt.wantStatus || ee.Last.Signal != tt.wantSignal {
				t.Errorf("exit status %d signal %q, want %d %q", got, ee.Last.Signal, tt.wantStatus, tt.wantSignal)
			}
			if ee.Code == 0 {
				t.Errorf("give-up exit code 0, want non-zero")
			}
			recs := h.logs.Records("giving up")
			if len(recs) != 1 {
				t.Fatalf("%d give-up records, want 1", len(recs))
			}
			if got := recs[0]["exit_code"]; got != float64(tt.wantStatus) {
				t.Errorf("logged exit_code %v, want %d", got, tt.wantStatus)
			}
			if st := h.sup.Status(); st.Phase != PhaseFailed || st.LastExit == nil {
				t.Errorf("status %+v, want failed with last exit", st)
			}
		})
	}
}

func TestStopGraceful(t *testing.T) {
	t.Parallel()
	h := start(t, testConfig(t), supervisortest.Controls{GroupChild: true})
	st := h.waitRunning(t)
	poll.Eventually(t, 5*time.Second, func() error {
		if supervisortest.Count(h.events(t), "group-child", "") == 0 {
			return errors.New("group child not started")
		}
		return nil
	})
	h.cancel()
	if err := h.result(t); err != nil {
		t.Fatalf("Run after a requested stop = %v, want nil", err)
	}
	if n := supervisortest.Count(h.events(t), "signal", "SIGTERM"); n != 1 {
		t.Errorf("router recorded %d SIGTERMs, want 1", n)
	}
	// The group child ignores SIGTERM: the stop waited for it, then killed it.
	assertGroupGone(t, st.PID)
	if got := h.sup.Status(); got.Phase != PhaseStopped || got.PID != 0 {
		t.Errorf("status %+v, want stopped without pid", got)
	}
}

func TestStopKillsAfterTimeout(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.StopTimeout = 200 * time.Millisecond
	h := start(t, cfg, supervisortest.Controls{IgnoreTerm: true, GroupChild: true})
	st := h.waitRunning(t)
	h.cancel()
	ee := exitErr(t, h.result(t))
	if ee.Code != 128+int(syscall.SIGKILL) || ee.Last == nil || ee.Last.Signal != "SIGKILL" {
		t.Errorf("ExitError %+v, want code 137 with a SIGKILL exit", ee)
	}
	if n := len(h.logs.Records("did not stop within stop_timeout")); n != 1 {
		t.Errorf("%d SIGKILL decisions logged, want 1", n)
	}
	assertGroupGone(t, st.PID)
}

// TestStopSetsStoppingFirst checks that health can see "stopping" while the
// router still runs (it ignores SIGTERM here), before it is gone.
func TestStopSetsStoppingFirst(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.StopTimeout = 3 * time.Second
	h := start(t, cfg, supervisortest.Controls{IgnoreTerm: true})
	h.waitRunning(t)
	h.cancel()
	poll.Eventually(t, 2*time.Second, func() error {
		if supervisortest.Count(h.events(t), "signal", "SIGTERM") == 0 {
			return errors.New("router has not received SIGTERM yet")
		}
		return nil
	})
	if st := h.sup.Status(); st.Phase != PhaseStopping || st.Alive() {
		t.Errorf("status after SIGTERM was sent: %+v, want stopping (not alive)", st)
	}
}

func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	poll.Eventually(t, 5*time.Second, func() error {
		ps, err := supervisortest.GroupMembers(pgid)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			return fmt.Errorf("process group %d still has %+v", pgid, ps)
		}
		return nil
	})
}

func TestRestartBackoffGrowsThenGivesUp(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.BackoffInitial, cfg.BackoffMax, cfg.MaxFastFailures = 10*time.Millisecond, 50*time.Millisecond, 6
	h := start(t, cfg, supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 3, Stderr: []string{"first line", "SERVER (error) last words"}})
	ee := exitErr(t, h.result(t))
	if ee.Restarts != 5 {
		t.Errorf("restarts %d, want 5 (give up at the 6th fast failure)", ee.Restarts)
	}
	var backoffs []time.Duration
	for _, r := range h.logs.Records("restarting after backoff") {
		backoffs = append(backoffs, logDuration(r["backoff"]))
	}
	// random() = 0: no jitter; doubling from 10ms, capped at 50ms.
	ms := time.Millisecond
	want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 50 * ms, 50 * ms}
	if !slices.Equal(backoffs, want) {
		t.Errorf("backoffs %v, want %v", backoffs, want)
	}
	give := h.logs.Records("giving up")
	if len(give) != 1 {
		t.Fatalf("%d give-up records, want 1", len(give))
	}
	last := fmt.Sprint(give[0]["last_stderr"])
	if !strings.Contains(last, "last words") || give[0]["exit_code"] != float64(3) || give[0]["restarts"] != float64(5) {
		t.Errorf("give-up record %v lacks exit code, restarts or last stderr", give[0])
	}
	if n := supervisortest.Count(h.events(t), "start", ""); n != 6 {
		t.Errorf("%d launches, want 6", n)
	}
}

func TestResetAfterHealthyRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		resetAfter time.Duration
		wantGiveUp bool
	}{
		{name: "runs longer than reset_after keep restarting", resetAfter: 50 * time.Millisecond},
		{name: "negative control: shorter runs give up", resetAfter: time.Hour, wantGiveUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.ResetAfter, cfg.MaxFastFailures = tt.resetAfter, 2
			h := start(t, cfg, supervisortest.Controls{ExitAfter: 150 * time.Millisecond, ExitCode: 5})
			if tt.wantGiveUp {
				ee := exitErr(t, h.result(t))
				if ee.Restarts != 1 {
					t.Errorf("restarts %d, want 1", ee.Restarts)
				}
				return
			}
			poll.Eventually(t, 10*time.Second, func() error {
				if r := h.sup.Status().Restarts; r < 4 {
					return fmt.Errorf("%d restarts", r)
				}
				return nil
			})
			for _, r := range h.logs.Records("restarting after backoff") {
				if logDuration(r["backoff"]) != cfg.BackoffInitial || r["fast_failures"] != float64(0) {
					t.Errorf("restart after a healthy run: %v, want initial backoff and no fast failures", r)
				}
			}
			h.cancel()
			if err := h.result(t); err != nil {
				t.Errorf("Run = %v, want nil after stop", err)
			}
		})
	}
}

func TestPermanentConfigFailure(t *testing.T) {
	t.Parallel()
	// The real router's last lines, whatever argv[0] it was started with.
	refusal := []string{"2026-11-26 20:09:24.126050 +0000 ROUTER (info) Router started",
		"2026-11-26 20:09:24.126090 +0000 ROUTER (critical) Router start-up failed: Configuration failed: unknown attribute 'bogus'",
		"/usr/sbin/skrouterd: Configuration failed: unknown attribute 'bogus'"}
	tests := []struct {
		name          string
		ctl           supervisortest.Controls
		wantLaunches  int
		wantPermanent bool
	}{
		{name: "exit 1 after start-up failed", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 1, Stderr: refusal}, wantLaunches: 1, wantPermanent: true},
		{name: "negative control: exit 2 is a crash", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 2, Stderr: refusal}, wantLaunches: 4},
		{name: "negative control: no reason line", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 1, Stderr: refusal[:1]}, wantLaunches: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.MaxFastFailures = 4
			h := start(t, cfg, tt.ctl)
			ee := exitErr(t, h.result(t))
			if n := supervisortest.Count(h.events(t), "start", ""); n != tt.wantLaunches {
				t.Errorf("%d launches, want %d", n, tt.wantLaunches)
			}
			if got := strings.Contains(ee.Reason, "unknown attribute 'bogus'"); got != tt.wantPermanent {
				t.Errorf("reason %q, want permanent=%v", ee.Reason, tt.wantPermanent)
			}
		})
	}
}

func TestRouterEnvironmentAndArgs(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	h := start(t, cfg, supervisortest.Controls{})
	h.waitRunning(t)
	ev := h.events(t)
	if !slices.Equal(ev[0].Args, []string{"-c", cfg.ConfigFile}) {
		t.Errorf("router args %q, want -c %s", ev[0].Args, cfg.ConfigFile)
	}
	if ev[0].PGID != ev[0].PID {
		t.Errorf("router pgid %d, want its own group %d", ev[0].PGID, ev[0].PID)
	}
	for _, kv := range ev[0].Env {
		if strings.HasPrefix(kv, "EDGEPROXY_") {
			t.Errorf("router environment has %s", kv)
		}
	}
	if !slices.ContainsFunc(ev[0].Env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		t.Errorf("router environment lacks PATH: %q", ev[0].Env)
	}
}

func TestRouterOutputLogged(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxLineBytes+100)
	lines := []string{
		"2026-12-01 10:44:39.626363 +0000 SERVER (error) [C1] Connection to 127.0.0.1:45671 failed: boom",
		"2026-12-01 10:44:39.700000 +0000 ROUTER (info) hello",
		"Traceback (most recent call last):", // not the router's format: passed on as it is
		long,
	}
	h := start(t, testConfig(t), supervisortest.Controls{Stderr: lines})
	h.waitRunning(t)
	poll.Eventually(t, 5*time.Second, func() error {
		if len(h.logs.Records("truncated")) == 0 {
			return errors.New("long line not logged yet")
		}
		return nil
	})
	for _, want := range []struct{ msg, level, module, time string }{
		{"[C1] Connection to 127.0.0.1:45671 failed: boom", "ERROR", "SERVER", "2026-12-01T10:44:39.626363Z"},
		{"hello", "INFO", "ROUTER", "2026-12-01T10:44:39.7Z"},
		{"Traceback (most recent call last):", "INFO", "", ""},
	} {
		recs := h.logs.Records(want.msg)
		if len(recs) != 1 || recs[0]["msg"] != want.msg || recs[0]["source"] != "skrouterd" || recs[0]["stream"] != "stderr" || recs[0]["level"] != want.level {
			t.Errorf("records for %q: %v, want one with source=skrouterd stream=stderr level=%s", want.msg, recs, want.level)
			continue
		}
		if m, _ := recs[0]["module"].(string); m != want.module {
			t.Errorf("%q: module %q, want %q", want.msg, m, want.module)
		}
		if want.time != "" && recs[0]["time"] != want.time {
			t.Errorf("%q: time %v, want the router's own %s (one timestamp per record)", want.msg, recs[0]["time"], want.time)
		}
	}
	if got := h.logs.Records("truncated")[0]["msg"].(string); len(got) > maxLineBytes+len("…[truncated]") {
		t.Errorf("long line logged with %d bytes", len(got))
	}
}

// blockingWriter blocks every Write until released: a log nobody reads.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) { <-w.release; return len(p), nil }

// logDuration reads a duration from a JSON log record (nanoseconds).
func logDuration(v any) time.Duration {
	f, _ := v.(float64)
	return time.Duration(f)
}

func TestOutputNeverBlocksTheWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		logger *slog.Logger
	}{
		{name: "log never accepts a line", logger: newJSONLogger(blockingWriter{release: make(chan struct{})})},
		{name: "log accepts lines", logger: newJSONLogger(io.Discard)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			tail := newRing(3)
			newOutputPump(r, tt.logger, "stderr", "skrouterd", tail, nil)
			// About 3 MB, far beyond a pipe's 64 KiB: the writer finishes only
			// when the pump keeps reading while the log blocks.
			done := make(chan error, 1)
			go func() {
				line := []byte(strings.Repeat("y", 100) + "\n")
				for i := 0; i < 30_000; i++ {
					if _, err := w.Write(line); err != nil {
						done <- err
						return
					}
				}
				_, err := w.Write([]byte("last\n"))
				done <- errors.Join(err, w.Close())
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("writer blocked on the pipe")
			}
			poll.Eventually(t, 5*time.Second, func() error {
				if s := tail.snapshot(); len(s) != 3 || s[2] != "last" {
					return fmt.Errorf("tail %q, want 3 lines ending with last", s)
				}
				return nil
			})
		})
	}
}

func TestHostnameCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lookup   func(ctx context.Context, host string) ([]string, error)
		wantWarn string
	}{
		{name: "resolves", lookup: func(context.Context, string) ([]string, error) { return []string{"10.0.0.2"}, nil }},
		{name: "fails", lookup: func(context.Context, string) ([]string, error) { return nil, errors.New("no such host") }, wantWarn: "does not resolve"},
		{name: "no answer", lookup: func(ctx context.Context, _ string) ([]string, error) { <-ctx.Done(); return nil, ctx.Err() }, wantWarn: "does not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &supervisortest.LogBuffer{}
			s := New(testConfig(t), newJSONLogger(logs), WithHostLookup(func() (string, error) { return "proxy-1", nil }, tt.lookup))
			s.checkHostname(context.Background())
			warns := 0
			for _, r := range logs.Records("") {
				if r["level"] == "WARN" {
					warns++
					if !strings.Contains(r["msg"].(string), tt.wantWarn) || r["hostname"] != "proxy-1" || !strings.Contains(fmt.Sprint(r["fix"]), "/etc/hosts") ||
						!strings.Contains(r["msg"].(string), "20 s instead of 0.2 s") {
						t.Errorf("warning %v lacks cause or fix", r)
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantWarn != ""]; warns != want {
				t.Errorf("%d warnings, want %d; log:\n%s", warns, want, logs)
			}
		})
	}
}

// TestChangedNotifies: Changed's channel is closed by the next status change
// (here the stop), and not before it (negative control).
func TestChangedNotifies(t *testing.T) {
	t.Parallel()
	h := start(t, testConfig(t), supervisortest.Controls{})
	h.waitRunning(t)
	changed := h.sup.Changed()
	select {
	case <-changed:
		t.Fatal("Changed closed with no change")
	case <-time.After(50 * time.Millisecond):
	}
	h.cancel()
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("Changed not closed by the stop")
	}
	if p := h.sup.Status().Phase; p != PhaseStopping && p != PhaseStopped {
		t.Errorf("phase %s after the change, want stopping or stopped", p)
	}
}
