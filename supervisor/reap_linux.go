package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper is the process's one wait loop: on every SIGCHLD it calls
// wait4(-1, WNOHANG) until nothing is left to reap, reaps orphans that were
// re-parented to this process (PID 1 or child subreaper) and hands the status
// of a watched pid (a router) to whoever watches it. Nothing else in the
// process may wait for children: os/exec's Wait would race it.
type reaper struct {
	mu       sync.Mutex
	watchers map[int]chan<- syscall.WaitStatus
	logger   *slog.Logger
	sigs     chan os.Signal
}

var (
	theReaper     *reaper
	theReaperOnce sync.Once
	subreaperErr  error
)

// processReaper returns the process-wide reaper, starting it on first use.
// When the process is not PID 1 it first becomes a child subreaper so that
// orphans of the router are re-parented here instead of to the host's init.
func processReaper(logger *slog.Logger) *reaper {
	theReaperOnce.Do(func() {
		if os.Getpid() != 1 {
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				subreaperErr = fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err)
				logger.Warn("cannot become child subreaper; orphans of the router are reaped by the host's init instead", "err", subreaperErr)
			}
		}
		r := &reaper{
			watchers: make(map[int]chan<- syscall.WaitStatus),
			logger:   logger,
			sigs:     make(chan os.Signal, 1),
		}
		signal.Notify(r.sigs, syscall.SIGCHLD)
		go r.loop()
		theReaper = r
	})
	return theReaper
}

// start runs startFn (which forks a child and returns its pid) with the
// watcher table locked and registers the new pid, so that the loop cannot
// reap the child before its watcher exists. The returned channel receives
// the child's wait status exactly once.
func (r *reaper) start(startFn func() (int, error)) (int, <-chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := startFn()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	r.watchers[pid] = ch
	return pid, ch, nil
}

func (r *reaper) loop() {
	for range r.sigs {
		r.reapAll()
	}
}

// reapAll reaps every child that has exited, without blocking.
func (r *reaper) reapAll() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited yet
			return
		}
		r.mu.Lock()
		ch, ok := r.watchers[pid]
		delete(r.watchers, pid)
		r.mu.Unlock()
		if ok {
			ch <- ws
			continue
		}
		r.logger.Debug("reaped orphan", "pid", pid, "exit_code", exitCodeOf(ws), "signal", signalNameOf(ws))
	}
}
