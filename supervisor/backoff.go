package supervisor

import (
	"fmt"
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
	if reason, ok := permanentFailure(e, c.Binary, c.Management); ok {
		return verdict{action: actPermanent, failures: failures + 1, reason: reason}
	}
	if e.Ready {
		// It came up and served: a kill (OOM, a crash under load) is no
		// crash loop. Restart at once and forget earlier failures.
		return verdict{action: actRestart, failures: 0, reason: "the router exited after it had been ready (an edge link up)"}
	}
	if e.Uptime >= c.ResetAfter {
		// A healthy run: forget earlier failures and restart after the initial delay.
		return verdict{action: actRestart, failures: 0, delay: backoffDelay(c.BackoffInitial, c.BackoffMax, 0, r),
			reason: "the router exited after a healthy run"}
	}
	failures++
	if failures >= c.MaxFastFailures {
		return verdict{action: actGiveUp, failures: failures,
			reason: "the router failed " + strconv.Itoa(failures) + " times in a row, each before it was ready and within supervisor.reset_after"}
	}
	return verdict{action: actRestart, failures: failures, delay: backoffDelay(c.BackoffInitial, c.BackoffMax, failures, r),
		reason: "the router exited unexpectedly before it was ready"}
}

// The lines by which skrouterd says that restarting it cannot help (see
// internal/routertest/testdata/captures/invalid-config).
const (
	// "<time> ROUTER (critical) Router start-up failed: <reason>", then
	// "<argv0>: <reason>", whatever argv0 the router was started with.
	startupFailed = "Router start-up failed: "
	// "<time> SERVER (error) Listener error on <host:port>: <why> - listen on ...",
	// then "<time> SERVER (critical) Shutting down, required listener failed <host:port>".
	listenerError    = "Listener error on "
	requiredListener = "Shutting down, required listener failed "
	// "<time> CONN_MGR (critical) Listen on <host:port> failed during initial config".
	initialListen = " failed during initial config"
)

// permanentFailure recognises an exit that a restart cannot cure, from the
// router's own last lines: a refused configuration (its "Router start-up
// failed: <reason>" line, or the "<argv0>: <reason>" line that follows it,
// whatever argv0 is), or a listener it needs and cannot bind. It returns
// the reason to give up with.
func permanentFailure(e Exit, argv0, management string) (string, bool) {
	if e.Code != 1 || e.SignalNumber != 0 || len(e.LastLogs) == 0 {
		return "", false
	}
	for i := len(e.LastLogs) - 1; i >= 0; i-- {
		line := e.LastLogs[i]
		if _, reason, ok := strings.Cut(line, startupFailed); ok {
			return "the router refused its configuration: " + strings.TrimSpace(reason), true
		}
		if _, hp, ok := strings.Cut(line, requiredListener); ok {
			return listenFailure(strings.TrimSpace(hp), listenWhy(e.LastLogs[:i], strings.TrimSpace(hp)), management), true
		}
		if j := strings.Index(line, " Listen on "); j >= 0 && strings.HasSuffix(line, initialListen) {
			hp := strings.TrimSuffix(line[j+len(" Listen on "):], initialListen)
			return listenFailure(hp, listenWhy(e.LastLogs[:i], hp), management), true
		}
	}
	// Only the "<argv0>: <reason>" line is left (the ring cut the rest):
	// trust it only for an exit at start-up.
	last := e.LastLogs[len(e.LastLogs)-1]
	if reason, ok := strings.CutPrefix(last, argv0+": "); ok && argv0 != "" && e.Uptime < permanentWithin {
		return "the router refused its configuration: " + strings.TrimSpace(reason), true
	}
	return "", false
}

// ListenerFailure parses a "Listener error on <host:port>: <why> - ..." line
// into its address and reason.
func ListenerFailure(line string) (hostPort, why string, ok bool) {
	_, rest, ok := strings.Cut(line, listenerError)
	if !ok {
		return "", "", false
	}
	hostPort, why, ok = strings.Cut(rest, ": ")
	if !ok {
		return "", "", false
	}
	why, _, _ = strings.Cut(why, " - ")
	return hostPort, strings.TrimSpace(why), true
}

// listenWhy finds the reason the router gave for failing to listen on hp.
func listenWhy(lines []string, hp string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if addr, why, ok := ListenerFailure(lines[i]); ok && addr == hp {
			return why
		}
	}
	return "unknown reason"
}

// listenFailure is the reason given for a listener the router could not bind.
func listenFailure(hp, why, management string) string {
	what := "a listener"
	if hp == management {
		what = "its management listener (router.management)"
	}
	msg := fmt.Sprintf("the router cannot open %s on %s: %s", what, hp, why)
	if strings.Contains(why, "in use") {
		msg += "; another process holds that port: free it or choose another"
	}
	return msg
}
