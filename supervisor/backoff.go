package supervisor

import (
	"strconv"
	"strings"
	"time"
)

// The restart policy, as pure functions of the configuration, the exit and
// the count of consecutive fast failures, so that it can be tested alone.

// permanentWithin: a config refusal makes skrouterd exit within about 0.1 s.
const permanentWithin = time.Second

// jitterFraction: a delay is cut by up to this fraction, at random, so that
// many proxies restarted together do not retry in lock-step.
const jitterFraction = 0.2

// backoffDelay is the wait before the next launch after failures consecutive
// fast failures (0 or 1: the initial delay). It doubles per failure up to max,
// then loses up to jitterFraction of itself; r is a random number in [0, 1).
// Doubling outgrows the jitter, so delays strictly grow until the cap.
func backoffDelay(initial, max time.Duration, failures int, r float64) time.Duration {
	d := initial
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return time.Duration(float64(d) * (1 - jitterFraction*r))
}

// action is what the supervisor does after an unexpected exit.
type action int

const (
	actRestart   action = iota // back off, then launch again
	actGiveUp                  // too many fast failures in a row
	actPermanent               // the router refused its configuration: restarting cannot help
)

// verdict is the policy's answer for one unexpected exit.
type verdict struct {
	action   action
	failures int           // consecutive fast failures including this exit
	delay    time.Duration // before the next launch (actRestart only)
	reason   string
}

// decide applies the restart policy to an unexpected exit. failures is the
// count of consecutive fast failures before this exit.
func decide(c Config, e Exit, failures int, r float64) verdict {
	if reason, ok := permanentFailure(e); ok {
		return verdict{action: actPermanent, failures: failures + 1, reason: "the router refused its configuration: " + reason}
	}
	if e.Uptime >= c.ResetAfter {
		// A healthy run: forget earlier failures and restart after the initial delay.
		return verdict{action: actRestart, failures: 0, delay: backoffDelay(c.BackoffInitial, c.BackoffMax, 0, r),
			reason: "the router exited after a healthy run"}
	}
	failures++
	if failures >= c.MaxFastFailures {
		return verdict{action: actGiveUp, failures: failures,
			reason: "the router failed " + strconv.Itoa(failures) + " times in a row, each within supervisor.reset_after"}
	}
	return verdict{action: actRestart, failures: failures, delay: backoffDelay(c.BackoffInitial, c.BackoffMax, failures, r),
		reason: "the router exited unexpectedly"}
}

// permanentFailure recognises a configuration refusal: exit code 1 within
// the first second, last stderr line "skrouterd: <reason>".
func permanentFailure(e Exit) (string, bool) {
	if e.Code != 1 || e.SignalNumber != 0 || e.Uptime >= permanentWithin || len(e.LastLogs) == 0 {
		return "", false
	}
	last := e.LastLogs[len(e.LastLogs)-1]
	if !strings.HasPrefix(last, "skrouterd:") {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(last, "skrouterd:")), true
}
