package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/oklog/run"

	"github.com/edgeproxy/edgeproxy/internal/proc"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// runCommand is the container entrypoint: render and write the router's
// config (a config error exits 2 before anything starts), then run the
// actors until a stop signal or until the supervisor gives up.
func runCommand(c *cli, _ []string) error {
	s, err := c.load()
	if err != nil {
		return err
	}
	logger := newLogger(s.Log.Format, s.Log.Level, c.stderr)
	// Subscribe to signals first: a SIGTERM from here on is a clean stop.
	sigs := newSignalActor(logger)
	defer sigs.close()
	data, err := routerconf.Render(s.Router)
	if err != nil {
		return &configError{err}
	}
	if err := preflight(s.Router); err != nil {
		return &configError{err}
	}
	sup := supervisor.New(s.Supervisor, logger, supervisor.WithEnviron(c.environ))
	health, err := newHealth(s, sup, logger) // binds health.listen
	if err != nil {
		return err
	}
	rl, err := newReloader(c, s, logger.With("component", "reload"), sup, health, health.client)
	if err != nil {
		return err
	}
	sigs.hup = func() { rl.request("SIGHUP") }
	if err := routerconf.WriteFile(s.Supervisor.ConfigFile, data); err != nil {
		return fmt.Errorf("write the router configuration: %w", err)
	}
	logger.Info("router configuration written", "file", s.Supervisor.ConfigFile, "bytes", len(data), "pid", os.Getpid())

	var supErr error
	var g run.Group
	{
		// Signals: SIGTERM/SIGINT stop everything; SIGHUP reloads; the rest are logged and ignored.
		add(&g, logger, sigs.actor())
	}
	{
		// Supervisor: launches skrouterd and keeps it running until a stop, or gives up.
		ctx, cancel := context.WithCancel(context.Background())
		add(&g, logger, actor{
			name:      "supervisor",
			execute:   func() error { supErr = sup.Run(ctx); return supErr },
			interrupt: func(error) { cancel() },
		})
	}
	{
		// Health: the router poller and the /livez /readyz /status /metrics server.
		for _, a := range health.actors {
			add(&g, logger, a)
		}
	}
	{
		// Live reconfiguration: SIGHUP and changes of the --config and TLS
		// files reload the configuration; the file watcher.
		for _, a := range rl.actors() {
			add(&g, logger, a)
		}
	}
	return runOutcome(g.Run(), supErr, logger)
}

// add puts a into the group, logging when and why it finished.
func add(g *run.Group, logger *slog.Logger, a actor) {
	g.Add(func() error {
		err := a.execute()
		logger.Debug("actor finished", "actor", a.name, "err", err)
		return err
	}, a.interrupt)
}

// runOutcome maps how the group ended to run's result: the supervisor's
// verdict first (its reason is already logged), then a stop signal (a clean
// stop, exit 0), then whatever other actor failed first.
func runOutcome(groupErr, supErr error, logger *slog.Logger) error {
	var ee *supervisor.ExitError
	var stop stopRequested
	switch {
	case errors.As(supErr, &ee):
		logger.Error("edgeproxy exiting", "exit_code", ee.Code, "reason", ee.Reason)
		return &exitError{code: ee.Code}
	case supErr != nil:
		return supErr
	case errors.As(groupErr, &stop):
		logger.Info("edgeproxy exiting", "exit_code", exitOK, "reason", groupErr.Error())
		return nil
	default:
		return groupErr
	}
}

// stopRequested is the signal actor's result: a stop the engine asked for.
type stopRequested struct{ sig os.Signal }

func (e stopRequested) Error() string { return "stop requested by " + proc.SignalName(e.sig) }

// Signals edgeproxy handles. SIGTERM/SIGINT: graceful stop. SIGHUP: reload
// the configuration, never forwarded (skrouterd ignores SIGTERM after a
// SIGHUP: the supervisor signals the router only with SIGTERM and SIGKILL). SIGUSR1/SIGUSR2/SIGWINCH: logged and ignored
// (skrouterd has no use for them, and SIGUSR1/2 would kill it).
var (
	stopSignals    = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	ignoredSignals = []os.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
)

// signalActor turns signals into a stop. It subscribes at creation, so no
// signal is missed before the group runs, and stays subscribed until close:
// a second SIGTERM during the graceful stop is absorbed instead of killing
// edgeproxy with the router still running.
type signalActor struct {
	logger *slog.Logger
	hup    func() // SIGHUP: a reload; nil: logged and ignored
	ch     chan os.Signal
	done   chan struct{}
}

func newSignalActor(logger *slog.Logger) *signalActor {
	s := &signalActor{logger: logger, ch: make(chan os.Signal, 8), done: make(chan struct{})}
	signal.Notify(s.ch, append(append([]os.Signal(nil), stopSignals...), ignoredSignals...)...)
	return s
}

func (s *signalActor) close() { signal.Stop(s.ch) }

func (s *signalActor) actor() actor {
	return actor{name: "signals", execute: s.execute, interrupt: func(error) { close(s.done) }}
}

func (s *signalActor) execute() error {
	for {
		select {
		case <-s.done:
			return nil
		case sig := <-s.ch:
			switch sig {
			case syscall.SIGTERM, syscall.SIGINT:
				s.logger.Info("stop requested", "signal", proc.SignalName(sig))
				return stopRequested{sig}
			case syscall.SIGHUP:
				if s.hup == nil {
					s.logger.Warn("SIGHUP ignored: no reload yet, and SIGHUP is never forwarded to skrouterd (it would then ignore SIGTERM)", "signal", "SIGHUP")
					continue
				}
				s.logger.Info("SIGHUP: reloading the configuration (never forwarded to skrouterd)", "signal", "SIGHUP")
				s.hup()
			default:
				s.logger.Info("signal ignored: not forwarded to skrouterd", "signal", proc.SignalName(sig))
			}
		}
	}
}
