package supervisor

import (
	"strings"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name     string
		failures int
		r        float64
		want     time.Duration
	}{
		{name: "no failure yet", failures: 0, want: 100 * ms},
		{name: "first", failures: 1, want: 100 * ms},
		{name: "second doubles", failures: 2, want: 200 * ms},
		{name: "fourth", failures: 4, want: 800 * ms},
		{name: "capped", failures: 5, want: time.Second},
		{name: "stays capped", failures: 500, want: time.Second},
		{name: "full jitter cuts a fifth", failures: 1, r: 0.999999, want: 80 * ms},
		{name: "jitter under the cap", failures: 9, r: 0.5, want: 900 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := backoffDelay(100*ms, time.Second, tt.failures, tt.r)
			if diff := got - tt.want; diff > time.Microsecond || diff < -time.Microsecond {
				t.Errorf("backoffDelay(%d, %v) = %v, want %v", tt.failures, tt.r, got, tt.want)
			}
		})
	}
}

// Delays grow strictly until the cap whatever the jitter: the worst case
// (no jitter, then full jitter) still grows.
func TestBackoffDelayGrowsDespiteJitter(t *testing.T) {
	t.Parallel()
	initial, maxDelay := 10*time.Millisecond, 10*time.Second
	for n := 1; ; n++ {
		hi := backoffDelay(initial, maxDelay, n, 0)
		lo := backoffDelay(initial, maxDelay, n+1, 0.999999)
		if hi >= maxDelay {
			return
		}
		if lo <= hi {
			t.Fatalf("delay after %d failures with full jitter %v <= delay after %d without %v", n+1, lo, n, hi)
		}
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	cfg := Config{Binary: "skrouterd", Management: "127.0.0.1:5672", BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second, ResetAfter: 30 * time.Second, MaxFastFailures: 3}
	refused := []string{"ROUTER (info) starting", "skrouterd: Duplicate entity name"}
	// As captured (invalid-config/does-not-exist.out), started by an absolute path.
	startupFailed := []string{
		"2026-11-26 20:10:28.275874 +0000 ERROR (error) Not found: Configuration file could not be opened",
		"2026-11-26 20:10:28.275915 +0000 ROUTER (critical) Router start-up failed: Not found: Configuration file could not be opened",
		"/usr/sbin/skrouterd: Not found: Configuration file could not be opened",
	}
	// As captured (invalid-config/07-mgmt-listener-port-in-use.out).
	listenerFailed := []string{
		"2026-11-26 20:10:15.906314 +0000 SERVER (error) Listener error on 127.0.0.1:5672: Address already in use - listen on 127.0.0.1:5672 (proton:io)",
		"2026-11-26 20:10:15.906381 +0000 SERVER (critical) Shutting down, required listener failed 127.0.0.1:5672",
	}
	tests := []struct {
		name      string
		exit      Exit
		failures  int
		want      action
		wantFails int
		wantDelay time.Duration
		reason    string
	}{
		{name: "fast crash", exit: Exit{Code: 3, Uptime: time.Second}, want: actRestart, wantFails: 1, wantDelay: 100 * time.Millisecond},
		{name: "second fast crash backs off more", exit: Exit{Code: 3, Uptime: time.Second}, failures: 1, want: actRestart, wantFails: 2, wantDelay: 200 * time.Millisecond},
		{name: "third fast crash gives up", exit: Exit{Code: 3, Uptime: time.Second}, failures: 2, want: actGiveUp, wantFails: 3, reason: "3 times in a row"},
		{name: "killed by a signal counts", exit: Exit{Code: -1, Signal: "SIGKILL", SignalNumber: 9}, failures: 2, want: actGiveUp, wantFails: 3},
		{name: "healthy run resets", exit: Exit{Code: 3, Uptime: 31 * time.Second}, failures: 2, want: actRestart, wantFails: 0, wantDelay: 100 * time.Millisecond},
		{name: "config refusal", exit: Exit{Code: 1, Uptime: 100 * time.Millisecond, LastLogs: refused}, want: actPermanent, wantFails: 1, reason: "Duplicate entity name"},
		{name: "refusal text but late", exit: Exit{Code: 1, Uptime: 2 * time.Second, LastLogs: refused}, want: actRestart, wantFails: 1, wantDelay: 100 * time.Millisecond},
		{name: "refusal text but code 2", exit: Exit{Code: 2, Uptime: 100 * time.Millisecond, LastLogs: refused}, want: actRestart, wantFails: 1, wantDelay: 100 * time.Millisecond},
		{name: "code 1 without reason line", exit: Exit{Code: 1, Uptime: 100 * time.Millisecond, LastLogs: refused[:1]}, want: actRestart, wantFails: 1, wantDelay: 100 * time.Millisecond},
		{name: "start-up failed, any argv0", exit: Exit{Code: 1, Uptime: 100 * time.Millisecond, LastLogs: startupFailed}, want: actPermanent, wantFails: 1,
			reason: "the router refused its configuration: Not found: Configuration file could not be opened"},
		{name: "start-up failed after a slow start", exit: Exit{Code: 1, Uptime: 20 * time.Second, LastLogs: startupFailed}, want: actPermanent, wantFails: 1, reason: "Configuration file could not be opened"},
		{name: "argv0 line only, absolute argv0", exit: Exit{Code: 1, Uptime: 100 * time.Millisecond, LastLogs: startupFailed[2:]}, want: actRestart, wantFails: 1, wantDelay: 100 * time.Millisecond},
		{name: "required management listener failed", exit: Exit{Code: 1, Uptime: 100 * time.Millisecond, LastLogs: listenerFailed}, want: actPermanent, wantFails: 1,
			reason: "the router cannot open its management listener (router.management) on 127.0.0.1:5672: Address already in use; another process holds that port"},
		{name: "ready before a kill: restart at once", exit: Exit{Code: -1, Signal: "SIGKILL", SignalNumber: 9, Uptime: time.Second, Ready: true}, failures: 2, want: actRestart, wantFails: 0, wantDelay: 0, reason: "had been ready"},
		{name: "ready, then exit code 3: at once too", exit: Exit{Code: 3, Uptime: 200 * time.Millisecond, Ready: true}, want: actRestart, wantFails: 0, wantDelay: 0},
		{name: "clean exit 0 is still unexpected", exit: Exit{Code: 0, Uptime: time.Second}, want: actRestart, wantFails: 1, wantDelay: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decide(cfg, tt.exit, tt.failures, 0)
			if v.action != tt.want || v.failures != tt.wantFails || v.delay != tt.wantDelay || !strings.Contains(v.reason, tt.reason) {
				t.Errorf("decide = %+v, want action %d failures %d delay %v reason ~%q", v, tt.want, tt.wantFails, tt.wantDelay, tt.reason)
			}
		})
	}
}

func TestExitDescribe(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		exit   Exit
		status int
		text   string
	}{
		{Exit{Code: 0}, 0, "exit code 0"},
		{Exit{Code: 255}, 255, "exit code 255"},
		{Exit{Code: -1, Signal: "SIGKILL", SignalNumber: 9}, 137, "killed by SIGKILL"},
	} {
		if got := tt.exit.ExitStatus(); got != tt.status {
			t.Errorf("%+v ExitStatus = %d, want %d", tt.exit, got, tt.status)
		}
		if got := tt.exit.Describe(); got != tt.text {
			t.Errorf("%+v Describe = %q, want %q", tt.exit, got, tt.text)
		}
	}
}

func TestRouterEnv(t *testing.T) {
	t.Parallel()
	got := routerEnv([]string{"PATH=/bin", "EDGEPROXY_UPLINK__HOST=x", "HOME=/root", "EDGEPROXY_CONFIG=/c.yaml", "SKROUTERD=/usr/sbin/skrouterd", "XEDGEPROXY_=kept"})
	want := []string{"PATH=/bin", "HOME=/root", "SKROUTERD=/usr/sbin/skrouterd", "XEDGEPROXY_=kept"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("routerEnv = %q, want %q", got, want)
	}
}
