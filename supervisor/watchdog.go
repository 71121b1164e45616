package supervisor

import (
	"fmt"
	"time"
)

// watchdogMaxFactor caps the watchdog's backoff: after restarts that did not
// bring the link up, it waits at most this many times LinkDownRestartAfter.
const watchdogMaxFactor = 16

// watchdog is the link watchdog's policy (Config.LinkDownRestartAfter): a
// router whose edge link has not been reported up (MarkReady) for `after`
// is restarted once; when the link was not up between two such restarts,
// the wait doubles, up to watchdogMaxFactor × after. It is pure apart from
// the timer start returns; Run owns it.
type watchdog struct {
	after time.Duration // 0: off
	wait  time.Duration // the current wait, after doubled per restart that did not help
	fired time.Time     // when it last restarted the router
}

func newWatchdog(after time.Duration) *watchdog { return &watchdog{after: after, wait: after} }

// start returns the timer for a router process started at started; a timer
// that never fires when the watchdog is off.
func (w *watchdog) start(started time.Time) *time.Timer {
	if w.after <= 0 {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}
	return time.NewTimer(max(0, time.Until(started.Add(w.wait))))
}

// since is when the link was last seen up for router pid, or the start of
// the wait (its start, or the watchdog's last restart) when later.
func (w *watchdog) since(pid int, seen *linkReport, started time.Time) time.Time {
	from := started
	if seen != nil && seen.pid == pid && seen.at.After(from) {
		from = seen.at
	}
	return from
}

// check says why router pid (running since started) must be restarted now,
// or "" when its link was up recently enough. A link seen up since the last
// restart resets the backoff.
func (w *watchdog) check(pid int, started time.Time, seen *linkReport, now time.Time) string {
	if w.after <= 0 {
		return ""
	}
	if seen != nil && seen.at.After(w.fired) && !w.fired.IsZero() {
		w.wait = w.after // the last restart helped
	}
	down := now.Sub(w.since(pid, seen, started))
	if down < w.wait {
		return ""
	}
	why := fmt.Sprintf("link watchdog: no edge link up for %s (supervisor.link_down_restart_after %s)", down.Round(time.Second), w.after)
	if !w.fired.IsZero() && (seen == nil || !seen.at.After(w.fired)) {
		w.wait = min(2*w.wait, watchdogMaxFactor*w.after)
		why += fmt.Sprintf("; the last restart did not help, next wait %s", w.wait)
	}
	w.fired = now
	return why
}

// remaining is how long until check could fire for router pid.
func (w *watchdog) remaining(pid int, started time.Time, seen *linkReport, now time.Time) time.Duration {
	return max(10*time.Millisecond, w.since(pid, seen, started).Add(w.wait).Sub(now))
}
