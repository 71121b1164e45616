package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// End-to-end tests of the `edgeproxy run` binary over the fake router (the
// re-executed test binary, see supervisortest).

func TestRunStopSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ctl      supervisortest.Controls
		before   []syscall.Signal // sent to edgeproxy while the router runs
		stop     syscall.Signal
		timeout  string // supervisor.stop_timeout: short where the stop must end in SIGKILL
		wantCode int
		wantSeen map[string]int // signals the router recorded
	}{
		{name: "SIGTERM stops cleanly", stop: syscall.SIGTERM, timeout: "10s", wantSeen: map[string]int{"SIGTERM": 1}},
		{name: "SIGINT stops cleanly with SIGTERM to the router", stop: syscall.SIGINT, timeout: "10s", wantSeen: map[string]int{"SIGTERM": 1, "SIGINT": 0}},
		{
			// The fake, like skrouterd, ignores SIGTERM after a SIGHUP: a
			// forwarded SIGHUP would also turn this exit 0 into 137. SIGHUP
			// reloads edgeproxy's configuration (here: nothing changed).
			name:   "SIGHUP and the user signals are not forwarded",
			before: []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGHUP},
			stop:   syscall.SIGTERM, timeout: "10s", wantSeen: map[string]int{"SIGHUP": 0, "SIGUSR1": 0, "SIGUSR2": 0, "SIGWINCH": 0, "SIGTERM": 1},
		},
		{
			name: "router and its group ignoring SIGTERM are killed after stop_timeout",
			ctl:  supervisortest.Controls{IgnoreTerm: true, GroupChild: true},
			stop: syscall.SIGTERM, timeout: "300ms", wantCode: 137, wantSeen: map[string]int{"SIGTERM": 1},
		},
		{
			name: "a group child ignoring SIGTERM is killed; the router's clean exit counts",
			ctl:  supervisortest.Controls{GroupChild: true},
			stop: syscall.SIGTERM, timeout: "2s", wantSeen: map[string]int{"SIGTERM": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, tt.ctl, "EDGEPROXY_SUPERVISOR__STOP_TIMEOUT="+tt.timeout)
			pids := p.waitRouters(t, 1)
			if tt.ctl.GroupChild {
				routertest.Eventually(t, 5*time.Second, func() error {
					if supervisortest.Count(p.events(t), "group-child", "") == 0 {
						return fmt.Errorf("group child not started")
					}
					return nil
				})
			}
			// Each ignored signal (and each SIGHUP's reload) is logged once;
			// wait for that log before the next signal (pending signals of
			// one kind coalesce).
			for i, sig := range tt.before {
				p.signal(t, sig)
				routertest.Eventually(t, 5*time.Second, func() error {
					if n := len(p.logRecords("ignored")) + len(p.logRecords("configuration reloaded")); n < i+1 {
						return fmt.Errorf("%d of %d signals logged as ignored", n, i+1)
					}
					return nil
				})
			}
			p.signal(t, tt.stop)
			if code := p.wait(t, 10*time.Second); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			ev := p.events(t)
			for sig, n := range tt.wantSeen {
				if got := supervisortest.Count(ev, "signal", sig); got != n {
					t.Errorf("router recorded %d %s, want %d", got, sig, n)
				}
			}
			if err := noRouterLeft(pids); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRunSignalRecorderNegativeControl shows that the fake router does
// record a SIGHUP that reaches it, so "recorded no SIGHUP" means something.
func TestRunSignalRecorderNegativeControl(t *testing.T) {
	t.Parallel()
	p := startProxy(t, supervisortest.Controls{}, "EDGEPROXY_SUPERVISOR__STOP_TIMEOUT=300ms")
	pid := p.waitRouters(t, 1)[0]
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	routertest.Eventually(t, 5*time.Second, func() error {
		if supervisortest.Count(p.events(t), "signal", "SIGHUP") != 1 {
			return fmt.Errorf("router did not record the SIGHUP sent to it")
		}
		return nil
	})
	p.signal(t, syscall.SIGTERM)
	// After a SIGHUP the router ignores SIGTERM: only SIGKILL ends it.
	if code := p.wait(t, 10*time.Second); code != 137 {
		t.Errorf("exit code %d, want 137 (router killed after ignoring SIGTERM)", code)
	}
}

func TestRunGivesUp(t *testing.T) {
	t.Parallel()
	refusal := []string{"ROUTER (info) Router started",
		"ROUTER (critical) Router start-up failed: Configuration failed: Duplicate entity name 'x'",
		"/opt/router/sbin/skrouterd: Configuration failed: Duplicate entity name 'x'"}
	tests := []struct {
		name         string
		ctl          supervisortest.Controls
		wantLaunches int
		wantReason   string
	}{
		{name: "fast failures", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 3, Stderr: []string{"SERVER (error) oops"}}, wantLaunches: 3, wantReason: "3 times in a row"},
		{name: "killed by a signal", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, KillSignal: syscall.SIGKILL, Stderr: []string{"SERVER (error) oops"}}, wantLaunches: 3, wantReason: "3 times in a row"},
		{name: "configuration refused", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 1, Stderr: refusal}, wantLaunches: 1, wantReason: "Duplicate entity name"},
		// Capture 07: a required listener that cannot bind; restarting cannot free the port.
		{name: "listener refused", ctl: supervisortest.Controls{ExitAfter: time.Millisecond, ExitCode: 1, Stderr: []string{
			"SERVER (error) Listener error on 127.0.0.9:5672: Address already in use - listen on 127.0.0.9:5672 (proton:io)",
			"SERVER (critical) Shutting down, required listener failed 127.0.0.9:5672"}},
			wantLaunches: 1, wantReason: "the router cannot open a listener on 127.0.0.9:5672: Address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, tt.ctl)
			if code := p.wait(t, 15*time.Second); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if n := len(p.routerPIDs(t)); n != tt.wantLaunches {
				t.Errorf("%d launches, want %d", n, tt.wantLaunches)
			}
			recs := p.logRecords("giving up")
			if len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["reason"]), tt.wantReason) || recs[0]["last_stderr"] == nil {
				t.Errorf("give-up records %v, want one with reason ~%q and the last stderr lines", recs, tt.wantReason)
			}
		})
	}
}

func TestRunBadConfigStartsNothing(t *testing.T) {
	t.Parallel()
	p := startProxy(t, supervisortest.Controls{}, "EDGEPROXY_LISTENERS=8080=bad address!")
	if code := p.wait(t, 10*time.Second); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if _, err := os.Stat(p.record); !os.IsNotExist(err) {
		t.Errorf("a router was started for a bad configuration (record: %v)", err)
	}
}

func TestRunRestartsKilledRouter(t *testing.T) {
	t.Parallel()
	p := startProxy(t, supervisortest.Controls{})
	first := p.waitRouters(t, 1)[0]
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pids := p.waitRouters(t, 2)
	if pids[1] == first {
		t.Fatalf("restarted router has the old pid %d", first)
	}
	recs := p.logRecords("restarting after backoff")
	if len(recs) != 1 || recs[0]["signal"] != "SIGKILL" || recs[0]["exit_code"] != float64(137) || recs[0]["restarts"] != float64(1) {
		t.Errorf("restart records %v, want one naming SIGKILL, 137, restarts 1", recs)
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if err := noRouterLeft(pids); err != nil {
		t.Error(err)
	}
}

func TestRunRouterEnvironment(t *testing.T) {
	t.Parallel()
	p := startProxy(t, supervisortest.Controls{Stderr: []string{"2026-12-01 10:44:39.626363 +0000 SERVER (error) visible"}})
	p.waitRouters(t, 1)
	start := p.events(t)[0]
	if len(start.Args) != 2 || start.Args[0] != "-c" || !strings.HasSuffix(start.Args[1], "skrouterd.json") {
		t.Errorf("router argv %q, want -c .../skrouterd.json", start.Args)
	}
	if data, err := os.ReadFile(start.Args[1]); err != nil || !strings.Contains(string(data), `"mode": "edge"`) {
		t.Errorf("rendered config %s: %v\n%s", start.Args[1], err, data)
	}
	for _, kv := range start.Env {
		if strings.HasPrefix(kv, "EDGEPROXY_") {
			t.Errorf("router environment has %s", kv)
		}
	}
	routertest.Eventually(t, 5*time.Second, func() error {
		recs := p.logRecords("visible")
		if len(recs) != 1 || recs[0]["msg"] != "visible" || recs[0]["source"] != "skrouterd" || recs[0]["module"] != "SERVER" || recs[0]["level"] != "ERROR" {
			return fmt.Errorf("router line in edgeproxy's log: %v", recs)
		}
		return nil
	})
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
