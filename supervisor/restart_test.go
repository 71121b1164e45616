package supervisor

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// TestPlannedRestart: Restart stops the router with SIGTERM (as a stop
// does) and starts a new one at once, logged with the reason; Run goes on.
func TestPlannedRestart(t *testing.T) {
	t.Parallel()
	h := start(t, testConfig(t), supervisortest.Controls{})
	first := h.waitRunning(t)
	h.sup.Restart("router.id changed")
	poll.Eventually(t, 10*time.Second, func() error {
		if st := h.sup.Status(); st.Phase != PhaseRunning || st.PID == first.PID || st.PID == 0 {
			return fmt.Errorf("phase %s pid %d (first %d)", st.Phase, st.PID, first.PID)
		}
		return nil
	})
	second := h.waitRunning(t)
	if n := supervisortest.Count(h.events(t), "signal", "SIGTERM"); n != 1 {
		t.Errorf("routers recorded %d SIGTERMs, want 1", n)
	}
	recs := h.logs.Records("restarting the router as planned")
	if len(recs) != 1 || recs[0]["reason"] != "router.id changed" || recs[0]["pid"] != float64(first.PID) {
		t.Errorf("planned restart records %v", recs)
	}
	if second.Restarts != 1 || second.LastExit == nil || second.LastExit.PID != first.PID {
		t.Errorf("status after the planned restart %+v", second)
	}
	assertGroupGone(t, first.PID)
	h.cancel()
	if err := h.result(t); err != nil {
		t.Errorf("Run after stop = %v", err)
	}
}

// TestLinkWatchdog: with link_down_restart_after set and no link reported
// up, the router is restarted once after that time, then after twice it
// (the restart did not help); a link reported up keeps it quiet. Off (0),
// nothing happens (the negative control is TestPlannedRestart's single
// start and every other test here).
func TestLinkWatchdog(t *testing.T) {
	t.Parallel()
	t.Run("no link: restart, then back off", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.LinkDownRestartAfter = 300 * time.Millisecond
		h := start(t, cfg, supervisortest.Controls{})
		poll.Eventually(t, 20*time.Second, func() error {
			if n := len(h.logs.Records("restarting the router as planned")); n < 2 {
				return fmt.Errorf("%d watchdog restarts", n)
			}
			return nil
		})
		recs := h.logs.Records("restarting the router as planned")
		if r := fmt.Sprint(recs[0]["reason"]); !strings.Contains(r, "no edge link up") || !strings.Contains(r, "supervisor.link_down_restart_after 300ms") {
			t.Errorf("first reason %q", r)
		}
		if r := fmt.Sprint(recs[1]["reason"]); !strings.Contains(r, "did not help, next wait 600ms") {
			t.Errorf("second reason %q, want the backoff", r)
		}
	})
	t.Run("link up: no restart", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.LinkDownRestartAfter = 300 * time.Millisecond
		h := start(t, cfg, supervisortest.Controls{})
		st := h.waitRunning(t)
		// What the prober does after every probe that found the link up,
		// for more than three watchdog periods.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for until := time.After(time.Second); ; {
			h.sup.MarkReady(st.PID)
			select {
			case <-tick.C:
				continue
			case <-until:
			}
			break
		}
		if recs := h.logs.Records("restarting the router as planned"); len(recs) != 0 {
			t.Errorf("watchdog restarted a router with its link up: %v", recs)
		}
		if got := h.sup.Status(); got.PID != st.PID {
			t.Errorf("router %d replaced by %d", st.PID, got.PID)
		}
	})
}

func TestWatchdogPolicy(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := newWatchdog(time.Minute)
	if why := w.check(1, t0, nil, t0.Add(59*time.Second)); why != "" {
		t.Errorf("fired early: %s", why)
	}
	if why := w.check(1, t0, &linkReport{pid: 1, at: t0.Add(30 * time.Second)}, t0.Add(61*time.Second)); why != "" {
		t.Errorf("fired though the link was up 31s ago: %s", why)
	}
	if why := w.check(1, t0, &linkReport{pid: 0, at: t0.Add(30 * time.Second)}, t0.Add(61*time.Second)); why == "" {
		t.Error("a link report of another router counted")
	}
	// Router 2 starts after that restart; no link: the wait doubles each time.
	t1 := t0.Add(62 * time.Second)
	if why := w.check(2, t1, nil, t1.Add(time.Minute)); !strings.Contains(why, "next wait 2m0s") {
		t.Errorf("second restart %q", why)
	}
	for i := 0; i < 10; i++ {
		w.check(2, t1, nil, t1.Add(time.Hour*time.Duration(i+1)))
	}
	if w.wait != watchdogMaxFactor*time.Minute {
		t.Errorf("wait %s, want the cap", w.wait)
	}
	// A link seen after the last restart resets the wait.
	last := w.fired
	w.check(3, last, &linkReport{pid: 3, at: last.Add(time.Second)}, last.Add(2*time.Second))
	if w.wait != time.Minute {
		t.Errorf("wait %s after a link came up, want 1m", w.wait)
	}
	if off := newWatchdog(0); off.check(1, t0, nil, t0.Add(time.Hour)) != "" {
		t.Error("the watchdog fired while off")
	}
}
