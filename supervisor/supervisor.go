package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/notify"
)

// stopPoll is how often a stop checks whether the router's group is empty.
const stopPoll = 10 * time.Millisecond

// killWait bounds the wait for the router's group to vanish after SIGKILL.
const killWait = 2 * time.Second

// Supervisor runs the router: launch, restart with backoff, graceful stop.
// Run drives it; Status may be called from any goroutine.
type Supervisor struct {
	cfg        Config
	logger     *slog.Logger
	environ    []string
	random     func() float64
	hostname   func() (string, error)
	lookupHost func(ctx context.Context, host string) ([]string, error)
	status     atomic.Pointer[Status]
	readyPID   atomic.Int64
	// linkSeen is the last report of an edge link up (MarkReady): which
	// router process, and when. The link watchdog reads it.
	linkSeen atomic.Pointer[linkReport]
	// restarts carries planned restarts (Restart) to Run.
	restarts chan string
	// management is Config.Management, until SetManagement.
	management atomic.Pointer[string]

	changed notify.Broadcast // notified at every status change
}

// Changed returns a channel that is closed at the next change of Status.
// Take it before reading Status, then wait on it: no change is missed.
func (s *Supervisor) Changed() <-chan struct{} { return s.changed.Changed() }

// MarkReady records that the router process pid reached readiness (its edge
// link came up). When that process exits, it is restarted at once instead
// of backing off: a router that was serving is not in a crash loop.
//
// The prober calls it after every probe that found the link up; the link
// watchdog (Config.LinkDownRestartAfter) counts the time since the last call.
func (s *Supervisor) MarkReady(pid int) {
	if pid > 0 {
		s.readyPID.Store(int64(pid))
		s.linkSeen.Store(&linkReport{pid: pid, at: time.Now()})
	}
}

type linkReport struct {
	pid int
	at  time.Time
}

// SetManagement changes the management listener the supervisor watches for
// (Config.Management), before a Restart that moves it.
func (s *Supervisor) SetManagement(hostPort string) { s.management.Store(&hostPort) }

// Restart asks Run for one planned restart of the router (stop as on
// shutdown, start again at once, no backoff), logged with reason: live
// reconfiguration calls it for a change the router cannot make at run time,
// after writing the new configuration file. Requests made while one is
// pending are merged into it. It never blocks.
func (s *Supervisor) Restart(reason string) {
	select {
	case s.restarts <- reason:
	default:
		s.logger.Info("planned router restart already pending", "reason", reason)
	}
}

// Option adjusts a Supervisor.
type Option func(*Supervisor)

// WithEnviron sets the environment the router's is derived from (default:
// os.Environ()); EDGEPROXY_* variables are always removed.
func WithEnviron(environ []string) Option { return func(s *Supervisor) { s.environ = environ } }

// WithRandom sets the jitter source, a function returning [0, 1) (tests).
func WithRandom(f func() float64) Option { return func(s *Supervisor) { s.random = f } }

// WithHostLookup replaces the host name and its resolution for the
// pre-launch host name check (tests).
func WithHostLookup(hostname func() (string, error), lookup func(ctx context.Context, host string) ([]string, error)) Option {
	return func(s *Supervisor) { s.hostname, s.lookupHost = hostname, lookup }
}

// New returns a supervisor for cfg (already validated) that logs to logger.
func New(cfg Config, logger *slog.Logger, opts ...Option) *Supervisor {
	s := &Supervisor{
		cfg:        cfg,
		logger:     logger,
		environ:    os.Environ(),
		random:     rand.Float64,
		hostname:   os.Hostname,
		lookupHost: net.DefaultResolver.LookupHost,
		restarts:   make(chan string, 1),
	}
	for _, o := range opts {
		o(s)
	}
	s.status.Store(&Status{Phase: PhaseStarting})
	s.management.Store(&s.cfg.Management)
	return s
}

// Status returns an immutable snapshot of the supervisor's state.
func (s *Supervisor) Status() Status { return *s.status.Load() }

// update publishes a new snapshot and wakes the waiters on Changed; only
// Run's goroutine writes.
func (s *Supervisor) update(f func(*Status)) {
	next := *s.status.Load()
	f(&next)
	s.status.Store(&next)
	s.changed.Notify()
}

// ExitError is Run's error when edgeproxy should exit non-zero: it gave up
// on the router, or the router did not stop cleanly on request. The reason
// has been logged; Code is the exit code to use.
type ExitError struct {
	Code     int
	Reason   string
	Restarts int
	Last     *Exit // the router's last exit, nil when it never ran
}

func (e *ExitError) Error() string {
	if e.Last == nil {
		return fmt.Sprintf("supervisor: %s", e.Reason)
	}
	return fmt.Sprintf("supervisor: %s (last exit: %s, restarts: %d)", e.Reason, e.Last.Describe(), e.Restarts)
}

// Run launches the router and keeps it running until ctx is cancelled (a
// requested stop: nil when the router stopped cleanly) or the restart policy
// gives up (*ExitError). It is meant to run once, as a run.Group actor.
func (s *Supervisor) Run(ctx context.Context) error {
	s.checkHostname(ctx)
	rp := processReaper(s.logger)
	path, err := lookPath(s.cfg.Binary)
	if err != nil {
		return s.fail(err.Error(), 0, nil)
	}
	args := []string{"-c", s.cfg.ConfigFile}
	env := routerEnv(s.environ)
	failures, restarts := 0, 0
	wd := newWatchdog(s.cfg.LinkDownRestartAfter)
	for {
		if ctx.Err() != nil {
			return s.stopped(nil, restarts, 0)
		}
		c, err := startChild(rp, path, s.cfg.Binary, args, env, s.logger)
		if err != nil {
			return s.fail(err.Error(), restarts, nil)
		}
		s.update(func(st *Status) {
			st.Phase, st.PID, st.StartedAt, st.NextStart = PhaseRunning, c.pid, c.started, time.Time{}
		})
		s.logger.Info("router started", "pid", c.pid, "restarts", restarts, "binary", path, "config_file", s.cfg.ConfigFile)

		var e Exit
		var gaveUp, planned string
		var grace <-chan time.Time
		watch := wd.start(c.started)
	wait:
		for {
			select {
			case <-ctx.Done():
				watch.Stop()
				return s.stop(c, restarts)
			case planned = <-s.restarts:
				break wait
			case <-watch.C:
				if why := wd.check(c.pid, c.started, s.linkSeen.Load(), time.Now()); why != "" {
					planned = why
					break wait
				}
				watch.Reset(wd.remaining(c.pid, c.started, s.linkSeen.Load(), time.Now()))
			case ws := <-c.status:
				e = s.exited(c, ws)
				break wait
			case lf := <-c.listenFailed:
				mgmtHP := *s.management.Load()
				if lf[0] != mgmtHP {
					// Another listener (a tcpListener reports its own status):
					// the router runs on without it.
					s.logger.Warn("router reported a listener error", "pid", c.pid, "listener", lf[0], "reason", lf[1])
					continue
				}
				gaveUp = listenFailure(lf[0], lf[1], mgmtHP)
				s.update(func(st *Status) { st.Problem = gaveUp })
				s.logger.Error("router has no management: stopping it and giving up", "pid", c.pid, "reason", gaveUp, "after", ListenerFailGrace)
				grace = time.After(ListenerFailGrace)
			case <-grace:
				if err := s.stop(c, restarts); err != nil {
					return err
				}
				return s.fail(gaveUp, restarts, s.Status().LastExit)
			}
		}
		watch.Stop()
		if planned != "" {
			restarts++
			if err := s.plannedRestart(ctx, c, planned, restarts); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return s.exitedBeforeStop(e, restarts)
		}
		if gaveUp != "" {
			return s.fail(gaveUp, restarts, &e)
		}
		v := decide(s.cfg, e, failures, s.random())
		failures = v.failures
		switch v.action {
		case actPermanent, actGiveUp:
			return s.fail(v.reason, restarts, &e)
		}
		restarts++
		next := time.Now().Add(v.delay)
		s.update(func(st *Status) { st.Phase, st.Restarts, st.NextStart = PhaseBackingOff, restarts, next })
		msg := "router exited unexpectedly; restarting after backoff"
		if v.delay == 0 {
			msg = "router exited unexpectedly; restarting at once"
		}
		s.logger.Warn(msg, "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal,
			"uptime", e.Uptime.Round(time.Millisecond), "restarts", restarts, "fast_failures", failures, "backoff", v.delay.Round(time.Millisecond), "reason", v.reason)
		t := time.NewTimer(v.delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.stopped(nil, restarts, 0)
		case <-t.C:
		}
	}
}

// plannedRestart stops the router as a requested stop does and returns so
// that Run starts the next one at once; a stop requested meanwhile wins.
func (s *Supervisor) plannedRestart(ctx context.Context, c *child, reason string, restarts int) error {
	s.logger.Warn("restarting the router as planned", "pid", c.pid, "reason", reason, "restarts", restarts)
	s.update(func(st *Status) { st.Phase, st.Restarts = PhaseStopping, restarts })
	select {
	case ws := <-c.status:
		e := s.exited(c, ws)
		s.logger.Warn("router exited by itself as the planned restart began", "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal)
	default:
		e, took := s.terminate(c)
		s.update(func(st *Status) { st.PID, st.LastExit = 0, e })
		s.logger.Info("router stopped for the planned restart", "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal, "stop_time", took.Round(time.Millisecond))
	}
	if ctx.Err() != nil {
		return s.stopped(nil, restarts, 0)
	}
	return nil
}

// stop is the graceful stop: mark stopping (health turns not-ready), SIGTERM
// the router's group, wait up to StopTimeout for the router and every other
// member of its group, then SIGKILL the group and wait (up to killWait) until
// everything in it has been reaped.
func (s *Supervisor) stop(c *child, restarts int) error {
	s.update(func(st *Status) { st.Phase = PhaseStopping })
	select {
	case ws := <-c.status: // it exited by itself just as the stop began
		return s.exitedBeforeStop(s.exited(c, ws), restarts)
	default:
	}
	e, took := s.terminate(c)
	s.update(func(st *Status) { st.PID, st.LastExit = 0, e })
	return s.stopResult(*e, restarts, took)
}

// terminate is the stop sequence itself: SIGTERM to the group, then
// SIGKILL after StopTimeout; it returns once the group is gone.
func (s *Supervisor) terminate(c *child) (*Exit, time.Duration) {
	began := time.Now()
	s.logger.Info("stopping router: SIGTERM to its process group", "pid", c.pid, "stop_timeout", s.cfg.StopTimeout)
	if err := c.signalGroup(syscall.SIGTERM); err != nil {
		s.logger.Error("cannot signal the router", "pid", c.pid, "err", err)
	}
	deadline := time.NewTimer(s.cfg.StopTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(stopPoll)
	defer poll.Stop()
	status := c.status
	var e *Exit
	killed, abandoned := false, false
	for e == nil || (!abandoned && c.groupAlive()) {
		select {
		case ws := <-status:
			x := c.exit(ws)
			e, status = &x, nil
		case <-poll.C:
		case <-deadline.C:
			if !killed {
				s.logger.Warn("router did not stop within stop_timeout: SIGKILL to its process group", "pid", c.pid, "stop_timeout", s.cfg.StopTimeout, "router_exited", e != nil)
				if err := c.signalGroup(syscall.SIGKILL); err != nil {
					s.logger.Error("cannot kill the router", "pid", c.pid, "err", err)
				}
				killed = true
				deadline.Reset(killWait)
				continue
			}
			// Only a process stuck in the kernel survives SIGKILL this long.
			s.logger.Error("processes of the router's group survive SIGKILL; leaving them", "pid", c.pid, "router_exited", e != nil)
			abandoned = true
			if e == nil {
				e = &Exit{PID: c.pid, Code: -1, Signal: "SIGKILL", SignalNumber: int(syscall.SIGKILL), At: time.Now(), Uptime: time.Since(c.started), LastLogs: c.tail.snapshot()}
			}
		}
	}
	return e, time.Since(began)
}

// stopResult ends a requested stop: nil when the router exited 0 (its
// answer to SIGTERM) or died of the SIGTERM itself (sent before its handlers
// existed); otherwise an ExitError carrying the router's exit status.
func (s *Supervisor) stopResult(e Exit, restarts int, took time.Duration) error {
	if (e.SignalNumber == 0 && e.Code == 0) || e.SignalNumber == int(syscall.SIGTERM) {
		return s.stopped(&e, restarts, took)
	}
	s.update(func(st *Status) { st.Phase = PhaseStopped })
	s.logger.Error("router did not stop cleanly", "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal, "restarts", restarts,
		"uptime", e.Uptime.Round(time.Millisecond), "stop_time", took.Round(time.Millisecond), "last_stderr", e.LastLogs)
	return &ExitError{Code: e.ExitStatus(), Reason: "the router did not stop cleanly", Restarts: restarts, Last: &e}
}

// exitedBeforeStop ends a requested stop when the router had exited by
// itself before it was signalled: its exit is logged, and the stop counts as
// clean, as when a stop finds the router backing off.
func (s *Supervisor) exitedBeforeStop(e Exit, restarts int) error {
	s.logger.Warn("router exited by itself as the stop began", "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal,
		"uptime", e.Uptime.Round(time.Millisecond), "restarts", restarts)
	return s.stopped(nil, restarts, 0)
}

// stopped ends a requested stop that went well.
func (s *Supervisor) stopped(e *Exit, restarts int, took time.Duration) error {
	s.update(func(st *Status) { st.Phase, st.PID, st.NextStart = PhaseStopped, 0, time.Time{} })
	if e == nil {
		s.logger.Info("supervisor stopped; no router was running", "restarts", restarts)
		return nil
	}
	s.logger.Info("router stopped", "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal, "restarts", restarts,
		"stop_time", took.Round(time.Millisecond))
	return nil
}

// fail gives up: the reason, the last exit and the router's last lines are logged once.
func (s *Supervisor) fail(reason string, restarts int, e *Exit) error {
	s.update(func(st *Status) { st.Phase, st.PID, st.NextStart = PhaseFailed, 0, time.Time{} })
	if e == nil {
		s.logger.Error("giving up: cannot launch the router", "restarts", restarts, "reason", reason)
		return &ExitError{Code: 1, Reason: reason, Restarts: restarts}
	}
	s.logger.Error("giving up on the router", "pid", e.PID, "exit_code", e.ExitStatus(), "signal", e.Signal, "restarts", restarts,
		"uptime", e.Uptime.Round(time.Millisecond), "reason", reason, "last_stderr", e.LastLogs)
	return &ExitError{Code: 1, Reason: reason, Restarts: restarts, Last: e}
}

// exited records an exit the router made by itself: what it left in its
// group is killed and the status shows no router, with this last exit.
func (s *Supervisor) exited(c *child, ws syscall.WaitStatus) Exit {
	e := c.exit(ws)
	e.Ready = s.readyPID.Load() == int64(e.PID)
	s.clearGroup(c)
	s.update(func(st *Status) { st.PID, st.LastExit = 0, &e })
	return e
}

// clearGroup kills what the router left behind in its process group after
// an unexpected exit, so that a restarted router starts alone.
func (s *Supervisor) clearGroup(c *child) {
	if !c.groupAlive() {
		return
	}
	s.logger.Warn("killing processes the router left in its process group", "pid", c.pid)
	if err := c.signalGroup(syscall.SIGKILL); err != nil {
		s.logger.Error("cannot kill the router's process group", "pid", c.pid, "err", err)
	}
}
